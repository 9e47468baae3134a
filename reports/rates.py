"""The rates the papers print (巩固率, 毛入园率, 高中阶段毛入学率), computed from the register through time.

The year-end build (`reports.yearend.registry.rates_section`) calls these, and through it the snapshot, its
workbook, its pages and the snapshot API print them; nothing else computes a rate. Definitions (see
reports/README.md, "The rates"):

- **Retention (巩固率)** of a cohort: the children who entered grade 1 of a stage on the county's register in
  the school year the cohort entered, read on the period's reference date. Those transferred out of the
  county or deceased by then leave the denominator; of the others, a child still on a roll (在读, or 毕业 once
  the stage is completed) is retained unless a dropout case of theirs is open on that day; everyone else
  (suspended, dropped out, an open case, no longer on any roll) is lost.
- **Gross enrolment (毛入园率, 高中阶段毛入学率)**: children on the register in the stages, whatever their
  age, over the population of the age group. The population is the one bureau staff entered for the county,
  school year and age group (`AgePopulation`), else the count of the household-register list uploaded for
  四查三比对 in the period, when that list covers every age of the group. Without either the rate is None
  with the reason `NO_POPULATION` ("缺人口数据"), never 100%.

Each function takes the `Period` and returns plain dicts; the register is read with
`Enrollment.objects.on(day)` only, never today's Student row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils.translation import gettext_lazy as _

from dropout_control.models import DropoutCase, HouseholdRegisterRow, HouseholdRegisterUpload
from reports import figures
from reports.models import AgePopulation
from reports.periods import Period
from students.models import Enrollment, Stage, Student, school_year_of

# Why a rate has no value: the words the workbook and the pages print in its place.
NO_POPULATION = "no_population"
NO_COHORT = "no_cohort"

# Where a population came from.
ENTERED = "entered"
HOUSEHOLD_REGISTER = "household_register"


def missing_labels() -> dict[str, str]:
    return {NO_POPULATION: _("No population data"), NO_COHORT: _("No cohort on the register")}


def source_labels() -> dict[str, str]:
    return {
        ENTERED: _("Entered by the bureau"),
        HOUSEHOLD_REGISTER: _("Household-register list"),
        "": _("None"),
    }


# --- Retention (巩固率) ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cohort:
    key: str
    stage: str  # the stage whose grade 1 the cohort entered
    years: int  # school years from entry to the reported year's end, both counted
    completed: tuple[str, ...]  # a child who graduated (毕业) from one of these stages is retained


COHORTS = (
    Cohort("primary", Stage.PRIMARY, 6, (Stage.PRIMARY, Stage.JUNIOR)),
    Cohort("junior", Stage.JUNIOR, 3, (Stage.JUNIOR,)),
    # 九年义务教育巩固率 as the papers print it: junior graduates over those who entered primary grade 1.
    Cohort("nine_year", Stage.PRIMARY, 9, (Stage.JUNIOR,)),
)

RETENTION_MEASURES = (
    "cohort",
    "transferred_out",
    "deceased",
    "base",
    "retained",
    "open_case",
    "suspended",
    "other_lost",
)


def entry_year(period: Period, cohort: Cohort) -> int:
    """The school year the cohort entered grade 1: the one whose last year the reference date falls in (for
    2024-2025, primary 2019, junior 2022, nine-year 2016)."""
    return school_year_of(period.reference) - (cohort.years - 1)


def _entries(period: Period, cohort: Cohort):
    """The queryset of the cohort's first grade-1 spells (one per child), or None before its entry year."""
    year = entry_year(period, cohort)
    start, end = date(year, 9, 1), date(year + 1, 8, 31)
    if period.is_future or start > period.reference:
        return None
    grade_one = Enrollment.objects.filter(
        stage=cohort.stage,
        grade=1,
        status=Student.Status.ENROLLED,
        school__township__county__code=period.county_code,
    )
    earlier = grade_one.filter(student_id=OuterRef("student_id"), valid_from__lt=start)
    # The township: the entry school's on the reference date, as every figure's breakdown by township.
    return (
        figures.schools_as_of(
            grade_one.filter(valid_from__gte=start, valid_from__lte=end), period, figures.TOWNSHIP
        )
        .exclude(Exists(earlier))
        .order_by("student_id", "valid_from")
        .distinct("student_id")
    )


def cohort_entries(period: Period, cohort: Cohort) -> dict[int, tuple[int, int]]:
    """{student id: (school id, township id)} of the children who entered grade 1 of the cohort's stage at a
    school of the county in its entry year: their first grade-1 spell on the register (在读) began in that
    school year. A child repeating grade 1 belongs to the year they first entered; a child who joined in a
    later grade is in no cohort of this stage."""
    rows = _entries(period, cohort)
    if rows is None:
        return {}
    return {
        student: (school, township)
        for student, school, township in rows.values_list("student_id", "school_id", figures.TOWNSHIP)
    }


def _outcome(cohort: Cohort, spell: tuple[str, str] | None, open_case: bool) -> str:
    """What became of one child of the cohort by the reference date."""
    status, stage = spell if spell is not None else (None, None)
    if status == Student.Status.TRANSFERRED_OUT:
        return "transferred_out"
    if status == Student.Status.DECEASED:
        return "deceased"
    if open_case:
        return "open_case"
    if status == Student.Status.ENROLLED:
        return "retained"
    if status == Student.Status.GRADUATED and stage in cohort.completed:
        return "retained"
    if status == Student.Status.SUSPENDED:
        return "suspended"
    return "other_lost"


def retention_line(counts: Counter) -> dict:
    """One line of the retention table: the counts, the base (cohort less exclusions) and the rate."""
    line = {key: counts.get(key, 0) for key in RETENTION_MEASURES}
    line["cohort"] = sum(counts.values())
    line["base"] = line["cohort"] - line["transferred_out"] - line["deceased"]
    line["retention"] = rate(line["retained"], line["base"])
    if line["retention"] is None:
        line["missing"] = NO_COHORT
    return line


def retention(period: Period, *, only: tuple[str, ...] | None = None) -> dict[str, dict]:
    """Each cohort's retention (or those named in `only`): {"entry_year": y, "total": line, "by_township":
    {id: line}, "by_school": {id: line}}. One query a cohort."""
    cohorts = [c for c in COHORTS if only is None or c.key in only]
    # Each child's spell on the reference date and open case are read in the cohort's own query (a dashboard
    # reads one cohort within its page's query budget).
    then = Enrollment.objects.on(period.reference).filter(student_id=OuterRef("student_id"))
    cases = DropoutCase.objects.filter(township__county__code=period.county_code)
    open_case = figures.out_of_school_students(cases, period).filter(student_id=OuterRef("student_id"))
    entries = {}
    for cohort in cohorts:
        rows = _entries(period, cohort)
        entries[cohort.key] = (
            []
            if rows is None
            else rows.annotate(
                then_status=Subquery(then.values("status")[:1]),
                then_stage=Subquery(then.values("stage")[:1]),
                open_case=Exists(open_case),
            ).values_list("school_id", figures.TOWNSHIP, "then_status", "then_stage", "open_case")
        )
    out = {}
    for cohort in cohorts:
        total, by_township, by_school = Counter(), {}, {}
        for school, township, status, stage, has_case in entries[cohort.key]:
            spell = (status, stage) if status is not None else None
            outcome = _outcome(cohort, spell, has_case)
            total[outcome] += 1
            by_township.setdefault(township, Counter())[outcome] += 1
            by_school.setdefault(school, Counter())[outcome] += 1
        out[cohort.key] = {
            "entry_year": entry_year(period, cohort),
            "total": retention_line(total),
            "by_township": {k: retention_line(v) for k, v in by_township.items()},
            "by_school": {k: retention_line(v) for k, v in by_school.items()},
        }
    return out


# --- Gross enrolment (毛入园率, 高中阶段毛入学率) ----------------------------------------------------------


@dataclass(frozen=True)
class Gross:
    key: str
    stages: tuple[str, ...]
    band: str


GROSS = (
    Gross("preschool", (Stage.PRESCHOOL,), AgePopulation.Band.PRESCHOOL),
    Gross("senior_stage", (Stage.SENIOR, Stage.VOCATIONAL), AgePopulation.Band.SENIOR),
)


def _years_before(day: date, years: int) -> date:
    """The same day `years` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _born_aged(age: int, on: date) -> Q:
    """Born so as to be `age` (whole years) on `on`, as dropout_control.rules.age_on counts it."""
    return Q(birth_date__lte=_years_before(on, age), birth_date__gt=_years_before(on, age + 1))


def household_population(period: Period, band: str) -> tuple[int, HouseholdRegisterUpload] | None:
    """The age group's count in the newest compared household-register list of the period (ages on the
    list's date), when the list covers every age of the group: a list of compulsory-age children says
    nothing of 3-year-olds and is not used for them."""
    if period.county_code != settings.HOME_COUNTY_CODE:
        return None  # the lists are the home county's
    upload = (
        HouseholdRegisterUpload.objects.filter(
            status=HouseholdRegisterUpload.Status.DONE,
            as_of__gte=period.start,
            as_of__lte=period.reference,
        )
        .order_by("-as_of", "-pk")
        .first()
    )
    if upload is None:
        return None
    low, high = AgePopulation.AGES[band]
    counts = HouseholdRegisterRow.objects.filter(upload=upload).aggregate(
        **{f"age{age}": Count("pk", filter=_born_aged(age, upload.as_of)) for age in range(low, high + 1)}
    )
    if not all(counts.values()):
        return None
    return sum(counts.values()), upload


def population(period: Period, band: str) -> tuple[int | None, str, str]:
    """(population, source, detail) of an age group for the period's school year; (None, "", "") without."""
    entered = (
        AgePopulation.objects.filter(
            county__code=period.county_code, school_year=period.school_year, band=band
        )
        .only("population", "note")
        .first()
    )
    if entered is not None:
        return entered.population, ENTERED, entered.note
    listed = household_population(period, band)
    if listed is not None:
        count, upload = listed
        return count, HOUSEHOLD_REGISTER, f"{upload.file_name} · {upload.as_of.isoformat()}"
    return None, "", ""


def gross_enrolment(period: Period) -> dict[str, dict]:
    """{key: {"enrolled", "population", "rate", "source", "source_detail", ["missing"]}} of each gross rate."""
    out = {}
    register = Enrollment.objects.on(period.reference).enrolled()
    register = register.filter(school__township__county__code=period.county_code)
    if period.is_future:
        register = register.none()
    counts = register.aggregate(**{g.key: Count("pk", filter=Q(stage__in=g.stages)) for g in GROSS})
    for g in GROSS:
        enrolled = counts.get(g.key) or 0
        people, source, detail = population(period, g.band)
        line = {
            "enrolled": enrolled,
            "population": people,
            "rate": rate(enrolled, people) if people else None,
            "source": source,
            "source_detail": detail,
        }
        if people is None:
            line["missing"] = NO_POPULATION
        out[g.key] = line
    return out


def rate(numerator: int, denominator: int | None) -> str | None:
    from reports.yearend.base import rate as as_rate

    return as_rate(numerator, denominator or 0)
