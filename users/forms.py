from django import forms
from django.conf import settings
from django.utils.translation import gettext, gettext_lazy

from ops.forms import FirstErrorFocused


class GenerateUsersForm(FirstErrorFocused, forms.Form):
    total = forms.IntegerField(label=gettext_lazy("How many users"), widget=forms.NumberInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        low, high = settings.USERS_GENERATE_MIN, settings.USERS_GENERATE_MAX
        bounds = {"low": low, "high": high}
        self.bounds_message = gettext("Enter a whole number from %(low)s to %(high)s.") % bounds
        field = self.fields["total"]
        field.help_text = gettext("From %(low)s to %(high)s.") % bounds
        field.widget.attrs.update(min=low, max=high)
        # Every way of getting it wrong gets the same message: it says what is accepted.
        field.error_messages.update(required=self.bounds_message, invalid=self.bounds_message)

    def clean_total(self) -> int:
        total = self.cleaned_data["total"]
        if not settings.USERS_GENERATE_MIN <= total <= settings.USERS_GENERATE_MAX:
            raise forms.ValidationError(self.bounds_message, code="out_of_bounds")
        return total
