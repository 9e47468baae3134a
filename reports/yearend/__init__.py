"""The year-end summary ("基本情况"): every figure computed from records, never typed in.

`build_figures` returns a JSON-serialisable dict (ints; money as strings with two decimals; rates as strings
with four decimals) laid out as sections. Each section is computed by its own function from a `Period` and
gives, besides its tables, the same headline figures per township and per school, so that every number can
be drilled down to the schools behind it and from there to the record lists.

The registry has no history of schools and students, so the register counts are those of the register at
the data cut-off (students who had enrolled by the period's reference date); dated records (categories,
teacher counts, payments, meals, dropout cases) are read for the period itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from dropout_control.models import DropoutCase
from nutrition.models import PilotSchool, Purchase
from reports.yearend.aid import AID_SECTION, LOANS_SECTION, TUITION_SECTION, aid_payments, loans_of
from reports.yearend.base import (  # noqa: F401 - the package's public names
    INT,
    MONEY,
    RATE,
    TEXT,
    UNASSIGNED,
    Measure,
    Period,
    Section,
    Table,
    cell_text,
    county_schools,
    money,
    rate,
    register_students,
    school_types,
    stages,
)
from reports.yearend.dropout import DROPOUT_SECTION
from reports.yearend.nutrition import NUTRITION_SECTION
from reports.yearend.registry import REGISTRY_SECTIONS, poor_students
from students.models import County, TeacherCount, Township
from subsidies.models import OutOfCountyStudent


def sections() -> tuple[Section, ...]:
    """The report's sections in the papers' order."""
    schools, students, teachers, poverty, rates = REGISTRY_SECTIONS
    return (
        schools,
        students,
        teachers,
        AID_SECTION,
        LOANS_SECTION,
        poverty,
        TUITION_SECTION,
        NUTRITION_SECTION,
        DROPOUT_SECTION,
        rates,
    )


def section_by_key(key: str) -> Section | None:
    return next((s for s in sections() if s.key == key), None)


# --- The whole report ------------------------------------------------------------------------------------


def build_figures(
    *,
    county_code: str,
    year: int,
    basis: str,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """All sections of the year-end summary for a county and a school or calendar year."""
    period = Period.of(county_code=county_code, year=year, basis=basis, today=today)
    townships = Township.objects.filter(county__code=county_code).order_by("code")
    schools = county_schools(period).select_related("township").order_by("township__code", "code")
    county = County.objects.filter(code=county_code).first()
    figures: dict = {
        "county_code": county_code,
        "county_name": county.name if county is not None else county_code,
        "year": year,
        "basis": basis,
        "period": {
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "reference": period.reference.isoformat(),
        },
        # Names as they were at build time, so that a renamed school does not change an old report.
        "townships": [{"id": t.pk, "code": t.code, "name": t.name} for t in townships],
        "schools": [
            {
                "id": s.pk,
                "code": s.code,
                "name": s.name,
                "township_id": s.township_id,
                "type": s.school_type,
                "active": s.is_active,
            }
            for s in schools
        ],
        "sections": {},
    }
    all_sections = sections()
    for done, section in enumerate(all_sections, start=1):
        figures["sections"][section.key] = section.compute(period)
        if progress is not None:
            progress(int(done * 95 / len(all_sections)))
    figures["sources"] = sources(period)
    figures["has_data"] = has_data(figures)
    return figures


def sources(period: Period) -> dict[str, int]:
    """What the figures were computed from: how many records of each kind the build read."""
    county = period.county_code
    return {
        "students": register_students(period).count(),
        "poor_students": poor_students(period).count(),
        "teacher_counts": TeacherCount.objects.filter(
            school__township__county__code=county, school_year=period.school_year
        ).count(),
        "payments": aid_payments(period).count(),
        "loans": loans_of(period).count(),
        "out_of_county": OutOfCountyStudent.objects.filter(school_year=period.school_year).count(),
        "dropout_cases": DropoutCase.objects.filter(township__county__code=county).count(),
        "pilot_schools": PilotSchool.objects.filter(school__township__county__code=county).count(),
        "purchases": Purchase.objects.filter(
            pilot__school__township__county__code=county,
            purchased_on__gte=period.start,
            purchased_on__lte=period.end,
        ).count(),
    }


def source_labels() -> dict[str, str]:
    return {
        "students": _("Students on the register"),
        "poor_students": _("Registered-poor students on the register"),
        "teacher_counts": _("School teacher headcounts"),
        "payments": _("Aid payments paid"),
        "loans": _("Credit-loan contracts"),
        "out_of_county": _("Out-of-county ledger lines"),
        "dropout_cases": _("Dropout cases"),
        "pilot_schools": _("Nutrition pilot schools (all terms)"),
        "purchases": _("Nutrition purchases"),
    }


def has_data(figures: dict) -> bool:
    """A year with no data: no section has a single non-zero headline figure."""
    for section in figures["sections"].values():
        for value in section["total"].values():
            if value not in (None, 0, "0.00"):
                return True
    return False


def summary_lines(figures: dict) -> list[str]:
    """The "basic situation" paragraph of the papers, sentence by sentence, from the figures."""
    sections_ = figures["sections"]
    # Chinese lists items with the enumeration comma (幼儿园 134、教学点 143), English with a comma.
    separator = "、" if (get_language() or "").startswith("zh") else ", "
    lines = []
    if "schools" in sections_:
        data = sections_["schools"]
        labels = school_types()
        parts = separator.join(
            f"{labels[row['key']]} {row['schools']}"
            for row in data["tables"]["by_type"]["rows"]
            if row["schools"]
        )
        lines.append(
            _("Schools: %(total)s (%(parts)s).") % {"total": data["total"]["schools"], "parts": parts or "—"}
        )
    if "students" in sections_:
        data = sections_["students"]
        labels = stages()
        parts = separator.join(
            f"{labels[row['key']]} {row['students']}"
            for row in data["tables"]["by_stage"]["rows"]
            if row["students"]
        )
        lines.append(
            _("Students: %(total)s (%(parts)s).")
            % {"total": data["total"]["students"], "parts": parts or "—"}
        )
    if "teachers" in sections_:
        lines.append(_("Teachers: %(total)s.") % {"total": sections_["teachers"]["total"]["teachers"]})
    if "poverty" in sections_:
        total = sections_["poverty"]["total"]
        lines.append(
            _(
                "Registered-poor students studying in the county: %(here)s (%(elsewhere)s registered in another "
                "county); registered in the county: %(registered)s (%(in_county)s studying in the county, "
                "%(in_prefecture)s elsewhere in the prefecture, %(outside)s outside it)."
            )
            % {
                "here": total["studying_here"],
                "elsewhere": total["registered_elsewhere"],
                "registered": total["registered_here"],
                "in_county": total["registered_here_in_county"],
                "in_prefecture": total["out_in_prefecture"],
                "outside": total["out_of_prefecture"],
            }
        )
    if "aid" in sections_:
        total = sections_["aid"]["total"]
        lines.append(
            _("Aid: %(times)s person-times, %(wan)s (10,000 yuan).")
            % {"times": total["person_times"], "wan": wan(total["amount"])}
        )
        if total.get("nutrition_person_times"):
            lines.append(
                _("Nutrition-plan payments (apart from aid): %(times)s person-times, %(wan)s (10,000 yuan).")
                % {"times": total["nutrition_person_times"], "wan": wan(total["nutrition_amount"])}
            )
    if "loans" in sections_:
        total = sections_["loans"]["total"]
        lines.append(
            _("Credit loans: %(contracts)s contracts, %(wan)s (10,000 yuan).")
            % {"contracts": total["contracts"], "wan": wan(total["amount"])}
        )
    if "tuition" in sections_:
        total = sections_["tuition"]["total"]
        lines.append(
            _("Tuition waivers: %(wan)s (10,000 yuan), %(times)s person-times.")
            % {"times": total["person_times"], "wan": wan(total["amount"])}
        )
    if "nutrition" in sections_:
        total = sections_["nutrition"]["total"]
        lines.append(
            _(
                "Nutrition plan: %(schools)s pilot schools, %(pupils)s pupils; canteen supply in "
                "%(canteen_schools)s schools with %(canteen_pupils)s pupils (%(school_share)s of schools, "
                "%(pupil_share)s of pupils); %(wan)s (10,000 yuan) of central funds used."
            )
            % {
                "schools": total["pilot_schools"],
                "pupils": total["pupils"],
                "canteen_schools": total["canteen_schools"],
                "canteen_pupils": total["canteen_pupils"],
                "school_share": percent(total["canteen_school_share"]),
                "pupil_share": percent(total["canteen_pupil_share"]),
                "wan": wan(total["funds_used"]),
            }
        )
    if "dropout" in sections_:
        total = sections_["dropout"]["total"]
        lines.append(
            _(
                "Dropout control: %(found)s cases found, %(returned)s returned to school, %(open)s open; "
                "%(home)s children taught at home."
            )
            % {
                "found": total["found"],
                "returned": total["returned"],
                "open": total["open"],
                "home": total["home_teaching"],
            }
        )
    if "rates" in sections_ and "primary_retention" in sections_["rates"]["total"]:
        from reports.rates import NO_COHORT, NO_POPULATION, missing_labels

        total = sections_["rates"]["total"]
        words = missing_labels()

        def shown(value, reason):
            return percent(value) if value is not None else str(words[reason])

        lines.append(
            _(
                "Retention: primary %(primary)s, junior middle %(junior)s, nine-year compulsory %(nine_year)s; "
                "gross enrolment: preschool %(preschool)s, senior secondary %(senior)s."
            )
            % {
                "primary": shown(total["primary_retention"], NO_COHORT),
                "junior": shown(total["junior_retention"], NO_COHORT),
                "nine_year": shown(total["nine_year_retention"], NO_COHORT),
                "preschool": shown(total["preschool_gross"], NO_POPULATION),
                "senior": shown(total["senior_stage_gross"], NO_POPULATION),
            }
        )
    return lines


def wan(amount: str) -> str:
    """Yuan as 万元 with the papers' five decimals (48,498,382.50 yuan = 4849.83825 万元)."""
    return f"{Decimal(amount) / 10000:.5f}"


def percent(value: str | None) -> str:
    return "—" if value is None else f"{Decimal(value) * 100:.1f}%"
