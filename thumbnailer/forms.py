from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from ops import reasons
from ops.forms import FirstErrorFocused

from . import imaging


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """One or more files; each is checked by the form, which can name it in its message."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        super().__init__(allow_empty_file=True, **kwargs)

    def clean(self, data, initial=None):
        files = [file for file in (data if isinstance(data, list | tuple) else [data]) if file]
        if not files:
            super().clean(None, initial)  # raises "required"
        return [super(MultipleFileField, self).clean(file, initial) for file in files]


def checked_upload(upload: UploadedFile) -> imaging.ImageInfo:
    """Refuse an upload that is empty, too big, or not a whole allowed image within the pixel
    limit; the byte size is known before anything is read, the pixel count from the header."""
    name = upload.name
    if upload.size == 0:
        raise ValidationError(_("“%(name)s” is empty."), code="empty", params={"name": name})
    if upload.size > settings.MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("“%(name)s” is %(size)s; each file may be at most %(limit)s."),
            code="too_large",
            params={
                "name": name,
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(settings.MAX_UPLOAD_BYTES),
            },
        )
    try:
        info = imaging.inspect(upload, max_pixels=settings.MAX_IMAGE_PIXELS)
    except imaging.ImageError as exc:
        raise ValidationError(
            _("“%(name)s”: %(reason)s"),
            code="invalid_image",
            params={"name": name, "reason": reasons.translated(exc.text, exc.params)},
        ) from exc
    finally:
        upload.seek(0)
    return info


class UploadForm(FirstErrorFocused, forms.Form):
    images = MultipleFileField(
        label=_("Images"),
        error_messages={"required": _("Choose at least one image.")},
    )
    sizes = forms.TypedMultipleChoiceField(
        label=_("Thumbnail sizes"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("%(value)s is not one of the sizes on offer.")},
    )
    # A browser sends no `sizes` at all when every box is unticked, just like a script that
    # leaves the optional field out (docs/FEATURES.md, for scripts). This marker, present only in
    # the rendered form, tells the two apart: the person is asked, the script gets every size.
    sizes_offered = forms.BooleanField(required=False, initial=True, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        sizes = sorted(settings.THUMBNAIL_SIZES)
        self.fields["sizes"].choices = [(size, f"{size} px") for size in sizes]
        self.fields["sizes"].initial = sizes
        formats = gettext("%(names)s or %(last)s.") % imaging.FORMAT_NAMES
        choose = gettext("Choose several at once, or drop them here.")
        self.fields["images"].help_text = f"{formats} {choose}"
        not_an_image = reasons.translated(imaging.NOT_AN_IMAGE, imaging.FORMAT_NAMES)
        # upload.js names a file of another kind with the form's own words.
        self.fields["images"].widget.attrs.update(
            {
                "accept": imaging.FILE_CHOOSER_ACCEPTS,
                "data-not-an-image": not_an_image,
            }
        )

    def clean_sizes(self) -> list[int]:
        if self.cleaned_data["sizes"]:
            return self.cleaned_data["sizes"]
        if self.data.get("sizes_offered"):
            raise ValidationError(_("Choose at least one size."), code="required")
        return sorted(settings.THUMBNAIL_SIZES)

    def clean_images(self) -> list[tuple[UploadedFile, imaging.ImageInfo]]:
        """The uploads, each with what its header says (format, size)."""
        uploads = self.cleaned_data["images"]
        if len(uploads) > settings.MAX_FILES_PER_JOB:
            raise ValidationError(
                ngettext_lazy(
                    "Upload at most %(limit)d file at once (you chose %(count)d).",
                    "Upload at most %(limit)d files at once (you chose %(count)d).",
                    "limit",
                ),
                code="too_many_files",
                params={"limit": settings.MAX_FILES_PER_JOB, "count": len(uploads)},
            )
        checked, errors = [], []
        for upload in uploads:
            try:
                checked.append((upload, checked_upload(upload)))
            except ValidationError as error:
                errors.append(error)
        if errors:
            raise ValidationError(errors)
        return checked
