from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ConfirmPasswordForm(forms.Form):
    """Asks for the password again before a sensitive action (a bulk file with whole ID numbers)."""

    password = forms.CharField(
        label=_("Your password"), widget=forms.PasswordInput(attrs={"autofocus": True})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("The password is wrong."))
        return password
