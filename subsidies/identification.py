"""The 公示 of needy-student identification (issue 17) as a workbook: what a school posts, and nothing more.

The 公示 names the child, the class (grade) and the proposed level, and the period; never the ID number, the
family's income or the reasons for the difficulty (an illness, a disability). The printable page and this
workbook print the same columns (`PUBLICITY_COLUMNS`).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook

from portal.excel import write_sheet


def publicity_columns() -> list[str]:
    return [
        _("No."),
        _("Name"),
        _("Grade"),
        _("Proposed level"),
        pgettext("identification", "Kind"),
        _("Publicity period"),
    ]


def publicity_rows(identifications) -> list[list]:
    return [
        [
            n,
            i.student.name,
            getattr(i, "publicity_grade", None) or i.student.grade,
            # The level as the 公示 showed it (a level decided since is on the next 公示, not this one).
            str(i.ReviewResult(i.publicity_level or i.review_result).label),
            i.get_kind_display(),
            f"{i.publicity_from:%Y-%m-%d} — {i.publicity_to:%Y-%m-%d}",
        ]
        for n, i in enumerate(identifications, start=1)
    ]


def publicity_workbook(school, school_year: int, identifications) -> Workbook:
    rows = publicity_rows(identifications)
    wb = Workbook()
    ws = wb.active
    ws.title = _("公示")
    write_sheet(
        ws,
        publicity_columns(),
        rows,
        title=_("%(school)s %(year)s school year: needy-student identification 公示")
        % {"school": school.name, "year": f"{school_year}-{school_year + 1}"},
        widths=[6, 14, 8, 14, 16, 26],
    )
    return wb
