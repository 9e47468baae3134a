"""Whole numbers from a query string, read one way everywhere.

`str.isdigit()` accepts "²" (which int() refuses) and `int()` accepts any length: a year of 99999999999
reached `date()` and answered 500. Here a number is ASCII digits within a range, or nothing.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

YEARS = (2000, 2100)
# PostgreSQL's integer: the largest id a lookup can hold.
MAX_ID = 2_147_483_647
_DIGITS = re.compile(r"[0-9]{1,10}")


def parse_int(text: str | None, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """The number `text` writes if it is one from `low` to `high`, else None."""
    if text is None or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def query_int(params, name: str, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """An API's number parameter: None when absent, a 400 naming the range when it is not one."""
    text = params.get(name)
    if text in (None, ""):
        return None
    value = parse_int(text, low=low, high=high)
    if value is None:
        raise ValidationError(
            {name: [_("Enter a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}]}
        )
    return value


def query_year(params, name: str = "year") -> int | None:
    return query_int(params, name, low=YEARS[0], high=YEARS[1])
