"""What every form of the site's own pages shares."""


class FirstErrorFocused:
    """A refused form's page opens on its first field in error (autofocus), as GOV.UK's
    forms do, also without JavaScript; its error summary links to every field in error."""

    def full_clean(self):
        super().full_clean()
        first = next((name for name in self.errors if name in self.fields), None)
        if first is not None:
            self.fields[first].widget.attrs["autofocus"] = True
