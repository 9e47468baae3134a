"""The year-end summary ("基本情况"): every figure computed from records, never typed in.

`build_figures` returns a JSON-serialisable dict (ints; money as strings with two decimals; rates as strings
with four decimals) laid out as sections. Each section is computed by its own function from a `Period` and
gives, besides its tables, the same headline figures per township and per school, so that every number can
be drilled down to the schools behind it and from there to the record lists.

Students are counted from the register on the period's reference date (`students.models.Enrollment`: the
school, stage, grade, boarding and status each child had that day), schools from the county's school list as
of that date (their opening and closing dates); dated records (categories, teacher counts of the school year,
payments, meals, dropout cases) are read for the period itself. So a past year's report rebuilt later gives
the same figures, whatever happened to its children and schools since.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from dropout_control.models import DropoutCase
from nutrition.models import PilotSchool, Purchase
from reports import figures as figures_of
from reports.yearend.aid import (
    AID_SECTION,
    LOANS_SECTION,
    TUITION_SECTION,
    aid_payments,
    loans_of,
    social_aid_of,
    university_aid_kinds,
    university_aid_of,
)
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
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """All sections of the year-end summary for a county and a school or calendar year.

    `progress(done, total)` is called before the first section and after each one."""
    period = Period.of(county_code=county_code, year=year, basis=basis, today=today)
    townships = Township.objects.filter(county__code=county_code).order_by("code")
    # The schools that had opened by the reference date (a school founded later is not in this year's
    # report); "active" is whether it was open on that date.
    schools = (
        figures_of.schools_as_of(
            county_schools(period).opened_by(period.reference),
            period,
            figures_of.TOWNSHIP,
            figures_of.SCHOOL_TYPE,
            figures_of.TOWNSHIP_CODE,
            figures_of.NAME,
            school="pk",
        )
        .annotate(
            open_then=ExpressionWrapper(
                Q(closed_on__isnull=True) | Q(closed_on__gt=period.reference), output_field=BooleanField()
            ),
        )
        .order_by(figures_of.TOWNSHIP_CODE, "code")
    )
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
                # Its name on the reference date: a school renamed since keeps its old name in a rebuild.
                "name": getattr(s, figures_of.NAME),
                # Their township and type on the reference date: a township merged since keeps its schools.
                "township_id": getattr(s, figures_of.TOWNSHIP),
                "type": getattr(s, figures_of.SCHOOL_TYPE),
                "active": s.open_then,
            }
            for s in schools
        ],
        "sections": {},
    }
    all_sections = sections()
    if progress is not None:
        progress(0, len(all_sections))
    for done, section in enumerate(all_sections, start=1):
        figures["sections"][section.key] = section.compute(period)
        if progress is not None:
            progress(done, len(all_sections))
    # A record of a school not on the year's list (aid paid at a school before its recorded opening) still
    # counts in the totals: the school is listed too, so that the school lines add up to the total line.
    listed = {str(s["id"]) for s in figures["schools"]}
    others = {
        key
        for section in figures["sections"].values()
        if isinstance(section, dict)
        for key in (section.get("by_school") or {})
        if key not in listed and key != UNASSIGNED
    }
    if others:
        for s in figures_of.schools_as_of(
            county_schools(period).filter(pk__in=[int(k) for k in others if k.isdigit()]).order_by("code"),
            period,
            figures_of.TOWNSHIP,
            figures_of.SCHOOL_TYPE,
            school="pk",
        ):
            figures["schools"].append(
                {
                    "id": s.pk,
                    "code": s.code,
                    "name": s.name,
                    "township_id": getattr(s, figures_of.TOWNSHIP),
                    "type": getattr(s, figures_of.SCHOOL_TYPE),
                    "active": False,
                    "not_on_list": True,
                }
            )
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
        "university_aid": university_aid_of(period).count(),
        "social_aid": social_aid_of(period).count(),
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
        "university_aid": _("University students' aid grants"),
        "social_aid": _("Social aid grants"),
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
        lines += _university_and_social_lines(sections_["aid"]["tables"])
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


def _university_and_social_lines(tables: dict) -> list[str]:
    """The papers' sentences on university students' aid (新生入学路费 17 万元, 292 人) and on each social-aid
    programme (滋蕙计划 38.8 万元, 194 人), each apart from student aid."""
    lines = []
    kinds = university_aid_kinds()
    for row in (tables.get("university_aid") or {}).get("rows", []):
        if row["person_times"]:
            lines.append(
                _("University students, %(aid)s: %(wan)s (10,000 yuan), %(students)s students.")
                % {
                    "aid": kinds.get(row["key"], row["key"]),
                    "wan": wan(row["amount"]),
                    "students": row["students"],
                }
            )
    for row in (tables.get("social_aid") or {}).get("rows", []):
        lines.append(
            _(
                "Social aid, %(programme)s (%(donor)s): %(wan)s (10,000 yuan), %(times)s person-times, "
                "%(students)s students."
            )
            % {
                "programme": row["key"],
                "donor": row["donor"],
                "wan": wan(row["amount"]),
                "times": row["person_times"],
                "students": row["recipients"],
            }
        )
    return lines


def wan(amount: str) -> str:
    """Yuan as 万元 with the papers' five decimals (48,498,382.50 yuan = 4849.83825 万元)."""
    return f"{Decimal(amount) / 10000:.5f}"


def percent(value: str | None) -> str:
    return "—" if value is None else f"{Decimal(value) * 100:.1f}%"


# --- Two builds of one year compared ---------------------------------------------------------------------


def differences(published: dict, draft: dict) -> list[dict]:
    """Every printed figure whose value differs between two builds of a year (the published version and a
    later draft), in the workbook's order: each section's tables (rows and total), then its headline figures
    for the county, by township and by school, then the record counts the build read.

    Each difference: {"key": a stable path, "figure": the figure's name as printed ("分学段学生数 · 小学 ·
    学生"), "kind": int / money / rate, "published": value, "draft": value}; a value is None where
    the build has no such row (a school opened since)."""
    out: list[dict] = []

    def compare(key: str, label_parts, measure: Measure, old, new) -> None:
        if _comparable(measure, old) != _comparable(measure, new):
            # A table named as its section (分学段学生数) is not named twice.
            label_parts = [p for i, p in enumerate(label_parts) if i == 0 or str(p) != str(label_parts[0])]
            out.append(
                {
                    "key": key,
                    "figure": " · ".join(str(part) for part in label_parts),
                    "kind": measure.kind,
                    "published": old,
                    "draft": new,
                }
            )

    names = {
        "township": _names(published.get("townships", []), draft.get("townships", [])),
        "school": _names(published.get("schools", []), draft.get("schools", [])),
    }
    for section in sections():
        old = published.get("sections", {}).get(section.key, {})
        new = draft.get("sections", {}).get(section.key, {})
        for table in section.tables:
            old_table = old.get("tables", {}).get(table.name) or {}
            new_table = new.get("tables", {}).get(table.name) or {}
            old_rows = {r["key"]: r for r in old_table.get("rows", [])}
            new_rows = {r["key"]: r for r in new_table.get("rows", [])}
            labels = table.labels()
            for row_key in [*old_rows, *(k for k in new_rows if k not in old_rows)]:
                for m in table.measures:
                    compare(
                        f"{section.key}.{table.name}.{row_key}.{m.key}",
                        (section.title, table.title, labels.get(row_key, row_key), m.label),
                        m,
                        old_rows.get(row_key, {}).get(m.key),
                        new_rows.get(row_key, {}).get(m.key),
                    )
            for m in table.measures:
                old_total, new_total = old_table.get("total") or {}, new_table.get("total") or {}
                if m.key in old_total or m.key in new_total:
                    compare(
                        f"{section.key}.{table.name}.total.{m.key}",
                        (section.title, table.title, _("Total"), m.label),
                        m,
                        old_total.get(m.key),
                        new_total.get(m.key),
                    )
        for m in section.headline:
            compare(
                f"{section.key}.total.{m.key}",
                (section.title, _("Whole county"), m.label),
                m,
                old.get("total", {}).get(m.key),
                new.get("total", {}).get(m.key),
            )
        for level, field_name in (("township", "by_township"), ("school", "by_school")):
            old_level, new_level = old.get(field_name, {}), new.get(field_name, {})
            for unit in [*old_level, *(k for k in new_level if k not in old_level)]:
                name = (
                    _("Not at a school or township") if unit == UNASSIGNED else names[level].get(unit, unit)
                )
                for m in section.headline:
                    compare(
                        f"{section.key}.{field_name}.{unit}.{m.key}",
                        (section.title, name, m.label),
                        m,
                        old_level.get(unit, {}).get(m.key),
                        new_level.get(unit, {}).get(m.key),
                    )
    source_names = source_labels()
    old_sources, new_sources = published.get("sources", {}), draft.get("sources", {})
    for key in [*old_sources, *(k for k in new_sources if k not in old_sources)]:
        compare(
            f"sources.{key}",
            (_("Computed from"), source_names.get(key, key)),
            Measure(key, "", INT),
            old_sources.get(key),
            new_sources.get(key),
        )
    return out


def _comparable(measure: Measure, value):
    """A missing count or amount is zero (a school without a row has no students); a missing rate is not."""
    if measure.kind == MONEY:
        return Decimal(value or 0)
    if measure.kind == INT:
        return int(value or 0)
    return value


def _names(*lists) -> dict[str, str]:
    """{id as a string: name} of townships or schools, the later build's name winning."""
    return {str(item["id"]): item["name"] for items in lists for item in items}
