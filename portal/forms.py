from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class DateInput(forms.DateInput):
    """A browser date picker. Its value must be ISO (2026-11-26) whatever the page's language: Chinese formats a
    date 2026/11/26, which <input type=date> rejects, and the default would show blank."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


CHOOSE = _("Choose…")
_DASHES = "---------"  # Django's empty choice (BLANK_CHOICE_DASH, ModelChoiceField.empty_label)


class ChooseLabelMixin:
    """A form whose selects offer "请选择…" rather than Django's "---------" as the empty choice."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField):
                if field.empty_label == _DASHES:
                    field.empty_label = CHOOSE
            elif isinstance(field, forms.ChoiceField) and not callable(field.choices):
                choices = list(field.choices)
                if any(value == "" and label == _DASHES for value, label in choices):
                    field.choices = [(v, CHOOSE if v == "" and lbl == _DASHES else lbl) for v, lbl in choices]


# A count a clerk types: plain ASCII digits. Python's int() (and so Django's and DRF's IntegerField) also takes
# "1_000", full-width "１０００", "1000.0" and " +1000", which a clerk never means as a count and a checker
# never sees as one.
PLAIN_DIGITS = re.compile(r"[0-9]{1,10}", re.ASCII)
NOT_PLAIN_DIGITS = _(
    "Enter the number in plain digits 0-9: no decimal point, separator, sign or full-width digits."
)


class WholeNumberField(forms.IntegerField):
    """An IntegerField that takes only plain ASCII digits (surrounding spaces aside)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not PLAIN_DIGITS.fullmatch(text):
            raise ValidationError(NOT_PLAIN_DIGITS, code="invalid")
        return int(text)


class ConfirmPasswordForm(forms.Form):
    """Asks for the password again before a sensitive action (a bulk file with whole ID numbers).

    A wrong answer counts towards the log-in lock-out and is in the access log (portal.security).
    """

    password = forms.CharField(
        label=_("Your password"), widget=forms.PasswordInput(attrs={"autofocus": True})
    )

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_password(self):
        from portal.security import password_confirmed  # portal.security shows this form too

        password = self.cleaned_data["password"]
        if not password_confirmed(self.request, password):
            raise forms.ValidationError(_("The password is wrong."))
        return password


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's refusal on the form: on its field when the form has one, else above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def flash_errors(request, errors: ValidationError | forms.Form) -> None:
    """A refusal shown as messages above the page, for forms posted from a page that has several of them."""
    if isinstance(errors, forms.BaseForm):
        # Away from its form, "This field is required." must say which field.
        texts = [
            f"{errors.fields[name].label}：{text}" if name in errors.fields else text
            for name, field_errors in errors.errors.items()
            for text in field_errors
        ]
    else:
        texts = errors.messages
    for text in texts:
        messages.error(request, text)
