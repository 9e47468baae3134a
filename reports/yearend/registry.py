"""Sections read from the registry: schools, students, teachers, registered-poor students, retention."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from reports import figures, rates
from reports.yearend.base import (
    RATE,
    TEXT,
    Builder,
    Measure,
    Period,
    Section,
    Table,
    county_register,
    county_schools,
    grouped,
    grouped2,
    register_students,
    school_types,
    stages,
)
from students.models import School, Stage, StudentCategory, TeacherCount
from subsidies.models import OutOfCountyStudent

# --- Registry sections -----------------------------------------------------------------------------------


def schools_section(period: Period) -> dict:
    """Schools by each of the eleven types (Ningdu 2022: 406 in all), each split public / private (Jianshi
    2019: 幼儿园 70 所，含公办 9 所)."""
    b = Builder()
    schools = figures.schools_as_of(
        figures.active_schools(county_schools(period), period), period, school="pk"
    )
    split = grouped(schools, figures.SCHOOL_TYPE, **figures.school_counts())
    counts = {k: v["schools"] for k, v in split.items()}
    b.table(
        "by_type",
        [{"key": t, **split.get(t, {"schools": 0})} for t in School.Type.values],
        measures=SCHOOLS_TYPE_M,
    )
    # The papers' way: "77 所小学（含教学点 9 所）" counts teaching points inside primary schools.
    points = counts.get(School.Type.TEACHING_POINT, 0)
    b.table(
        "primary_with_points",
        [
            {"key": "primary_with_points", "schools": counts.get(School.Type.PRIMARY, 0) + points},
            {"key": "teaching_points", "schools": points},
        ],
        measures=SCHOOLS_M,
        totals=False,
    )
    b.total = {"schools": sum(counts.values())}
    for township_id, by_type in grouped2(
        schools, figures.TOWNSHIP, figures.SCHOOL_TYPE, "n", Count("pk")
    ).items():
        b.breakdown("township", township_id, {"schools": sum(by_type.values())})
    for school_id in schools.values_list("pk", flat=True):
        b.breakdown("school", school_id, {"schools": 1})
    return b.as_dict()


def students_section(period: Period) -> dict:
    """Students by stage (Ningdu: 145,057 = 20,250 preschool + 57,550 primary + ...)."""
    b = Builder()
    students = register_students(period)
    by_stage = grouped(
        students, "stage", students=Count("pk"), boarders=Count("pk", filter=Q(is_boarding=True))
    )
    b.table("by_stage", [{"key": s, **by_stage.get(s, {})} for s in Stage.values], measures=STUDENTS_M)
    b.total = {"students": sum(v["students"] for v in by_stage.values())}
    for level, rows, group in figures.by_township_and_school(students, period):
        for key, per_stage in grouped2(rows, group, "stage", "n", Count("pk")).items():
            b.breakdown(level, key, {"students": sum(per_stage.values()), **per_stage})
    return b.as_dict()


def teachers_section(period: Period) -> dict:
    """Teachers (Ningdu 7,563) from each school's headcount for the school year, and of them those on the
    establishment (Jianshi 在编 3,632)."""
    b = Builder()
    counts = figures.schools_as_of(
        figures.teacher_counts(
            TeacherCount.objects.filter(school__township__county__code=period.county_code), period
        ),
        period,
        figures.TOWNSHIP,
        figures.SCHOOL_TYPE,
    )
    by_type = grouped(counts, figures.SCHOOL_TYPE, **figures.teacher_sums())
    b.table(
        "by_type",
        [
            {
                "key": t,
                "teachers": by_type.get(t, {}).get("teachers") or 0,
                # Blank (None) where no school of the type has said how many are 在编: not zero.
                "on_staff": by_type.get(t, {}).get("on_staff"),
            }
            for t in School.Type.values
        ],
        measures=TEACHERS_M,
    )
    b.total = {
        "teachers": sum(v["teachers"] or 0 for v in by_type.values()),
        "on_staff": sum(v["on_staff"] for v in by_type.values() if v["on_staff"] is not None)
        if any(v["on_staff"] is not None for v in by_type.values())
        else None,
    }
    for level, group in (("township", figures.TOWNSHIP), ("school", "school_id")):
        for key, values in grouped(counts, group, **figures.teacher_sums()).items():
            b.breakdown(level, key, values)
    return b.as_dict()


POOR = StudentCategory.Category.POVERTY_ALLEVIATED


def poor_students(period: Period):
    """Registered-poor (脱贫户) students on the register, by their category on the reference date."""
    return figures.poor_students(county_register(period), period)


def out_of_county_poor(period: Period) -> dict[str, int]:
    """County-registered poor students studying outside the county, from the aid centre's out-of-county
    ledger (县外就读台账) of the school year. A division code's first four digits name its prefecture."""

    if period.is_future:
        return {"out_in_prefecture": 0, "out_of_prefecture": 0}
    prefecture = period.county_code[:4]
    return OutOfCountyStudent.objects.filter(category=POOR, school_year=period.school_year).aggregate(
        out_in_prefecture=Count("pk", filter=Q(destination_county_code__startswith=prefecture)),
        out_of_prefecture=Count("pk", filter=~Q(destination_county_code__startswith=prefecture)),
    )


def out_of_county_letters(period: Period) -> int:
    """Of those, the students whose letter (发函) had gone out by the reference date (Jianshi 2019: 1,587)."""
    return figures.letters_sent(OutOfCountyStudent.objects.filter(category=POOR), period).count()


def poverty_section(period: Period) -> dict:
    """Registered-poor students split as Jianshi's paper splits them: studying here (of whom registered
    elsewhere), and registered here (studying here / elsewhere in the prefecture / outside it)."""
    b = Builder()
    here = settings.HOME_COUNTY_CODE
    poor = poor_students(period)
    # The household county is the child's, not the register's: it is read from the student.
    local = Q(student__household_county_code=here)
    found = poor.aggregate(
        studying_here=Count("pk"),
        registered_elsewhere=Count("pk", filter=~local),
        registered_here_in_county=Count("pk", filter=local),
    )
    outside = out_of_county_poor(period)
    registered_here = found["registered_here_in_county"] + sum(outside.values())
    letters = out_of_county_letters(period)
    lines = [
        {"key": "studying_here", "students": found["studying_here"]},
        {"key": "registered_elsewhere", "students": found["registered_elsewhere"]},
        {"key": "registered_here", "students": registered_here},
        {"key": "registered_here_in_county", "students": found["registered_here_in_county"]},
        {"key": "out_in_prefecture", "students": outside["out_in_prefecture"]},
        {"key": "out_of_prefecture", "students": outside["out_of_prefecture"]},
        {"key": "letters_sent", "students": letters},
    ]
    b.table("split", lines, measures=POOR_M, totals=False)
    per_stage = grouped(poor, "stage", students=Count("pk"))
    b.table("by_stage", [{"key": s, **per_stage.get(s, {})} for s in Stage.values], measures=POOR_M)
    b.total = {**found, "registered_here": registered_here, **outside, "letters_sent": letters}
    for level, rows, group in figures.by_township_and_school(poor, period):
        for key, values in grouped(
            rows, group, studying_here=Count("pk"), registered_elsewhere=Count("pk", filter=~local)
        ).items():
            b.breakdown(level, key, values)
    return b.as_dict()


def rates_section(period: Period) -> dict:
    """The rates the papers print, from `reports.rates`: retention (巩固率) of the primary, junior and
    nine-year cohorts, with their size, exclusions and losses, and the gross enrolment rates over the age
    groups' populations, with the population's source. A rate without a denominator is None, with the
    reason beside it ("缺人口数据"), never 100%. Per township and school: the nine-year cohort's retention,
    by the school where it entered grade 1."""
    b = Builder()
    cohorts = rates.retention(period)
    # Names of their own (not the "retention" table and headline of the by-register rate that snapshots built
    # before them hold): an older snapshot prints none of these rather than its figures under these labels.
    b.table(
        "cohorts",
        [
            {"key": key, "entry_year": str(data["entry_year"]), **data["total"]}
            for key, data in cohorts.items()
        ],
        measures=RETENTION_M,
        totals=False,
    )
    gross = rates.gross_enrolment(period)
    b.table("gross", [{"key": key, **line} for key, line in gross.items()], measures=GROSS_M, totals=False)
    nine_year = cohorts["nine_year"]
    b.total = {
        "nine_year_retention": nine_year["total"]["retention"],
        "primary_retention": cohorts["primary"]["total"]["retention"],
        "junior_retention": cohorts["junior"]["total"]["retention"],
        "preschool_gross": gross["preschool"]["rate"],
        "senior_stage_gross": gross["senior_stage"]["rate"],
    }
    for level in ("township", "school"):
        for key, line in nine_year[f"by_{level}"].items():
            b.breakdown(level, key, {"nine_year_retention": line["retention"]})
    return b.as_dict()


SCHOOLS_M = (Measure("schools", _("Schools")),)
SCHOOLS_TYPE_M = (
    Measure("schools", _("Schools")),
    Measure("public", _("of which public")),
    Measure("private", _("of which private")),
)
STUDENTS_M = (Measure("students", _("Students")), Measure("boarders", _("Boarders")))
TEACHERS_M = (
    Measure("teachers", _("Teachers")),
    Measure("on_staff", _("of which on the establishment"), optional=True),
)
POOR_M = (Measure("students", _("Students")),)
RETENTION_M = (
    Measure("entry_year", _("Entered grade 1 in school year"), TEXT),
    Measure("cohort", _("Children who entered")),
    Measure("transferred_out", _("Transferred out of county")),
    Measure("deceased", _("Deceased")),
    Measure("base", _("Cohort less transfers and deaths")),
    Measure("retained", _("Retained")),
    Measure("open_case", _("Lost: open dropout case")),
    Measure("suspended", _("Lost: suspended")),
    Measure("other_lost", _("Lost: dropped out or off the roll")),
    Measure("retention", _("Retention rate"), RATE),
)
GROSS_M = (
    Measure("enrolled", _("On the register")),
    Measure("population", _("Population of the age group"), optional=True),
    Measure("rate", _("Gross enrolment rate"), RATE),
    Measure("source", _("Population source"), TEXT, choices=rates.source_labels),
)


def poverty_lines() -> dict[str, str]:
    return {
        "studying_here": _("Registered-poor students studying in the county"),
        "registered_elsewhere": _("  of whom registered in another county"),
        "registered_here": _("Registered-poor students registered in the county"),
        "registered_here_in_county": _("  studying in the county"),
        "out_in_prefecture": _("  studying elsewhere in the prefecture"),
        "out_of_prefecture": _("  studying outside the prefecture"),
        "letters_sent": _("  studying outside the county, letter sent to where they study"),
    }


def primary_lines() -> dict[str, str]:
    return {
        "primary_with_points": _("Primary schools, teaching points included"),
        "teaching_points": _("  of which teaching points"),
    }


def retention_lines() -> dict[str, str]:
    return {
        "primary": _("Primary school retention"),
        "junior": _("Junior middle school retention"),
        "nine_year": _("Nine-year compulsory education retention"),
    }


def gross_lines() -> dict[str, str]:
    return {
        "preschool": _("Preschool gross enrolment rate (aged 3–5)"),
        "senior_stage": _("Senior secondary gross enrolment rate (aged 15–17)"),
    }


REGISTRY_SECTIONS: tuple[Section, ...] = (
    Section(
        "schools",
        _("Schools by type"),
        schools_section,
        (
            Table("by_type", _("Schools by type"), _("School type"), school_types, SCHOOLS_TYPE_M),
            Table(
                "primary_with_points",
                _("Primary schools counted with their teaching points (as the papers count them)"),
                _("Item"),
                primary_lines,
                SCHOOLS_M,
                totals=False,
            ),
        ),
        (Measure("schools", _("Number of schools")),),
        list_url=("students:school_list", {}),
    ),
    Section(
        "students",
        _("Students by stage"),
        students_section,
        (Table("by_stage", _("Students by stage"), _("Stage"), stages, STUDENTS_M),),
        (Measure("students", _("Enrolled students")),),
        list_url=("students:student_list", {"status": "enrolled"}),
    ),
    Section(
        "teachers",
        _("Teachers"),
        teachers_section,
        (Table("by_type", _("Teachers by school type"), _("School type"), school_types, TEACHERS_M),),
        (Measure("teachers", _("Number of teachers")),),
    ),
    Section(
        "poverty",
        _("Registered-poor students"),
        poverty_section,
        (
            Table(
                "split",
                _("Where registered-poor students study"),
                _("Item"),
                poverty_lines,
                POOR_M,
                totals=False,
            ),
            Table(
                "by_stage",
                _("Registered-poor students studying in the county, by stage"),
                _("Stage"),
                stages,
                POOR_M,
            ),
        ),
        (
            Measure("studying_here", _("Registered-poor students studying here")),
            Measure("registered_elsewhere", _("of whom registered elsewhere")),
        ),
        note=_(
            "Registered-poor: students whose family is a poverty-alleviated household on the reference date. "
            "County-registered students studying outside the county come from the aid centre's out-of-county "
            "ledger."
        ),
        list_url=("students:student_list", {"category": "poverty_alleviated"}),
    ),
    Section(
        "rates",
        _("Retention and enrolment rates"),
        rates_section,
        (
            Table(
                "cohorts",
                _("Retention by cohort"),
                _("Rate"),
                retention_lines,
                RETENTION_M,
                totals=False,
            ),
            Table(
                "gross",
                _("Gross enrolment rates"),
                _("Rate"),
                gross_lines,
                GROSS_M,
                totals=False,
            ),
        ),
        (Measure("nine_year_retention", _("Nine-year retention rate"), RATE),),
        note=_(
            "Retention: the children who entered grade 1 of primary (or junior) school in the county in the "
            "cohort's first school year, read on the reference date; those transferred out of the county or "
            "deceased leave the cohort; the others are retained while on a roll (or graduated from the stage) "
            "and without an open dropout case. By township and school: the nine-year cohort, by the school "
            "where it entered grade 1. Gross enrolment: children on the register in the stages over the "
            "population of the age group, entered by the bureau or counted from the household-register list; "
            "without a population the rate is not computed."
        ),
    ),
)
