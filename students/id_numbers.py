"""National ID numbers (居民身份证号码), GB 11643-1999.

18 characters: 6-digit administrative division code, 8-digit birth date, 3-digit sequence (odd for men,
even for women) and a check character computed with ISO 7064 MOD 11-2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
SHAPE = re.compile(r"^\d{17}[\dX]$")


@dataclass(frozen=True)
class IdNumber:
    value: str
    division_code: str
    birth_date: date
    sex: str  # "M" or "F"


# Each position's weight times each ASCII digit, looked up rather than computed: an import checks 150,000
# numbers in one go.
_WEIGHTED = tuple({str(d): d * w for d in range(10)} for w in WEIGHTS)


def check_char(first17: str) -> str:
    try:
        if len(first17) != len(WEIGHTS):
            raise KeyError(first17)
        total = sum(map(dict.__getitem__, _WEIGHTED, first17))
    except KeyError:  # another length, or a digit int() reads but the table lacks (any Unicode digit)
        total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalize(raw: object) -> str:
    return str(raw or "").strip().replace(" ", "").upper()


def parse(raw: object, *, today: date | None = None) -> IdNumber:
    """Return the parsed number or raise ValidationError with a message a clerk understands."""
    value = normalize(raw)
    if len(value) != 18:
        raise ValidationError(_("The ID number must have 18 characters."), code="length")
    if not SHAPE.match(value):
        raise ValidationError(
            _("The ID number may contain only digits, with X allowed as the last character."), code="shape"
        )
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValidationError(
            _("The birth date inside the ID number is not a real date."), code="birth"
        ) from None
    today = today or date.today()
    if birth > today:
        raise ValidationError(_("The birth date inside the ID number is in the future."), code="future")
    if birth.year < 1900:
        raise ValidationError(_("The birth date inside the ID number is before 1900."), code="birth")
    if check_char(value[:17]) != value[17]:
        raise ValidationError(
            _("The ID number's check digit is wrong: please check each digit."), code="check"
        )
    sex = "M" if int(value[16]) % 2 == 1 else "F"
    return IdNumber(value=value, division_code=value[:6], birth_date=birth, sex=sex)


def validate_id_number(value: str) -> None:
    parse(value)


def mask(value: str | None) -> str:
    """`360730201001011234` -> `3607**********1234`: enough to tell records apart, not to use."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


class MaskedIdNumberMixin:
    """For a model with an `id_number` field: `masked_id_number`, the form lists, exports and logs show."""

    id_number: str

    @property
    def masked_id_number(self) -> str:
        return mask(self.id_number)


def make(division_code: str, birth: date, sequence: int) -> str:
    """Build a valid number (demo data and tests): the sequence's parity decides the sex."""
    first17 = f"{division_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)


def whole(raw: object) -> str | None:
    """The number if `raw` is a whole, valid ID number, else None.

    Searches match a whole valid number exactly and nothing else: a prefix search (`3607302014`) would let
    anyone narrow a masked number down to the one child.
    """
    try:
        return parse(raw).value
    except ValidationError:
        return None
