"""The period a figure covers: a school year (1 September to 31 August) or a calendar year, read on a
reference date. The year-end report and the dashboards (the running school year, read on today) share it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Q
from django.utils import timezone

# --- The period a report covers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    county_code: str
    year: int
    basis: str  # "school" | "calendar"
    start: date
    end: date
    today: date

    @classmethod
    def of(cls, *, county_code: str, year: int, basis: str, today: date | None = None) -> Period:
        if basis == "school":
            start, end = date(year, 9, 1), date(year + 1, 8, 31)
        elif basis == "calendar":
            start, end = date(year, 1, 1), date(year, 12, 31)
        else:
            raise ValueError(f"unknown basis {basis!r}")
        return cls(county_code, year, basis, start, end, today or timezone.localdate())

    @property
    def reference(self) -> date:
        """The day the register is read for: the period's end, or today while the period runs."""
        return min(self.end, self.today)

    @property
    def is_future(self) -> bool:
        return self.start > self.today

    @property
    def school_year(self) -> int:
        """Teacher counts and nutrition terms are kept by school year: a calendar year ends in the one it opens."""
        return self.year

    @property
    def terms(self) -> list[tuple[int, str]]:
        """(school year, term) pairs of the period: a school year's two terms, or a calendar year's spring
        (of the school year before) and autumn."""
        if self.basis == "school":
            return [(self.year, "autumn"), (self.year, "spring")]
        return [(self.year - 1, "spring"), (self.year, "autumn")]


def terms_q(period: Period, *, year_field: str = "school_year", term_field: str = "term") -> Q:
    condition = Q(pk__in=[])
    for school_year, term in period.terms:
        condition |= Q(**{year_field: school_year, term_field: term})
    return condition
