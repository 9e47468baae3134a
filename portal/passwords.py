"""Password strength beyond length: zxcvbn's estimate of how many guesses a password takes."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from zxcvbn import zxcvbn


class StrengthValidator:
    """Refuses passwords zxcvbn scores below `min_score` (0-4): repeats, keyboard rows, a word plus digits.

    Django's validators count characters and look words up in a list; `Aaaaaaaaaaaa` or `Password1234`
    passes them and falls to a guesser in seconds.
    """

    def __init__(self, min_score: int = 3):
        self.min_score = min_score

    def validate(self, password: str, user=None) -> None:
        # zxcvbn's time grows with length; nobody types a password this long, and it is refused elsewhere.
        inputs = [v for v in (getattr(user, "username", ""), getattr(user, "first_name", "")) if v]
        if zxcvbn(password[:128], user_inputs=inputs)["score"] < self.min_score:
            raise ValidationError(
                _(
                    "This password is too easy to guess (repeated characters, a keyboard row, or a common word "
                    "with digits). Use a longer phrase of several unrelated words, digits and signs."
                ),
                code="password_too_weak",
            )

    def get_help_text(self) -> str:
        return _("Your password must not be easy to guess: use a phrase of several unrelated words.")
