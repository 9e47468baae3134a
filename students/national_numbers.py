"""National student numbers (全国学籍号), as the national student-register system (全国中小学生学籍信息管理系统)
gives them: 19 characters, a type letter and 18 characters.

- `G` + the child's 18-character ID number (正式学籍号, the usual case);
- `J` + 18 digits built like an ID number, with its check digit (正式学籍号 of a child without a usable ID
  number): 6-digit division code of the school, 8-digit birth date, 3-digit sequence, check character;
- `L` + 18 digits (临时学籍号, until the national check gives the G number): 6-digit division code, 8-digit
  birth date, 4 random digits, so no check digit.

The number is lifelong, but a temporary L number is replaced by a G number, and a G number keeps the ID
number the child had when it was given: it need not equal the ID number on the register today.
"""

from __future__ import annotations

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from students import id_numbers

LENGTH = 19
_DIGITS_18 = re.compile(r"^\d{18}$")


def normalize(raw: object) -> str:
    return id_numbers.normalize(raw)


def _birth_date_ok(digits: str) -> bool:
    try:
        birth = date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    return birth.year >= 1900 and birth <= date.today()


def parse(raw: object) -> str:
    """The normalized number, or ValidationError with a message a clerk understands."""
    value = normalize(raw)
    if len(value) != LENGTH or value[0] not in "GJL":
        raise ValidationError(
            _(
                "The national student number must have 19 characters: G followed by the ID number, "
                "or J or L followed by 18 digits."
            ),
            code="shape",
        )
    kind, rest = value[0], value[1:]
    if kind == "G":
        try:
            id_numbers.parse(rest)
        except ValidationError:
            raise ValidationError(
                _("A national student number starting with G must be G followed by a valid ID number."),
                code="g_number",
            ) from None
        return value
    if not _DIGITS_18.match(rest) or not _birth_date_ok(rest):
        raise ValidationError(
            _(
                "A national student number starting with J or L must be followed by 18 digits: a division "
                "code, a real birth date and 4 more digits."
            ),
            code="digits",
        )
    if kind == "J" and id_numbers.check_char(rest[:17]) != rest[17]:
        raise ValidationError(
            _("The national student number's check digit is wrong: please check each digit."), code="check"
        )
    return value


def validate_national_student_number(value: str) -> None:
    if value:
        parse(value)


def mask(value: str | None) -> str:
    """Masked as the ID number it holds: `G3607**********1234`."""
    if not value:
        return ""
    return value[0] + id_numbers.mask(value[1:])


def whole(raw: object) -> str | None:
    try:
        return parse(raw)
    except ValidationError:
        return None
