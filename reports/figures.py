"""One function per figure: the rows behind each number the portal prints.

The year-end snapshot (`reports.yearend`), and through it the workbook and the snapshot API, and the
dashboards (`reports.selectors`, the home page) count every figure they share with these functions, so the
same figure cannot differ between them. Each function takes the rows it may count (the county's for a
snapshot; `Model.objects.visible_to(user)` narrowed to a township or school for a dashboard) and the
`Period` (a dashboard's is the running school year, read on today), and returns a queryset; the callers
count it, group it by township and school, or list it.

Figures a casework app owns are defined there and only called from here: the nutrition plan's
reconciliation flags (`nutrition.selectors.flagged`), the dropout cases open too long
(`dropout_control.selectors.open_longer_than`), the aid awaiting payment (`subsidies.selectors.awaiting_payment`).
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db.models import Case, Count, F, Q, Sum, Value, When

from dropout_control.models import CasePeriod, DropoutCase, HomeTeachingVisit
from nutrition.models import NutritionTerm
from reports.periods import Period, terms_q
from students.models import School, StudentCategory, school_spell_on, school_year_of
from subsidies.models import AidType, Payment

POOR = StudentCategory.Category.POVERTY_ALLEVIATED

# Payments of the nutrition plans are the plan's money, not student aid: the papers print them apart
# (Jianshi 2019: aid 2644.2375 万元; nutrition plan 2375.07 万元 on a line of its own).
NUTRITION_AID_TYPES = (AidType.NUTRITION_PLAN, AidType.PRESCHOOL_NUTRITION)


def running_period(today: date | None = None) -> Period:
    """The period a dashboard shows: the running school year, read on today."""
    from django.utils import timezone

    today = today or timezone.localdate()
    return Period.of(
        county_code=settings.HOME_COUNTY_CODE, year=school_year_of(today), basis="school", today=today
    )


# --- The register ---------------------------------------------------------------------------------------
#
# Students are counted from the register on the period's reference date (`Enrollment.objects.on(D)`), never
# from today's Student row: a child who graduates, moves or changes stage later keeps the school, stage and
# grade they had on that day, and a child recorded later is not there at all. The functions below take and
# return register spells (Enrollment rows; one per student on a given day), so callers group them by the
# spell's own school, township, stage and grade.


def active_schools(schools, period: Period):
    """The schools open on the reference date (none for a future year): the county's school list as of it."""
    return schools.none() if period.is_future else schools.open_on(period.reference)


def register_students(spells, period: Period):
    """The students enrolled on the register on the reference date: their spells that day."""
    if period.is_future:
        return spells.none()
    return spells.on(period.reference).enrolled()


def poor_students(spells, period: Period):
    """Registered-poor (脱贫户) students on the register, by their category on the reference date."""
    poor = StudentCategory.objects.filter(category=POOR).on(period.reference).values("student_id")
    return register_students(spells, period).filter(student_id__in=poor)


def teacher_counts(counts, period: Period):
    """The schools' teacher headcounts of the period's school year."""
    return counts.filter(school_year=period.school_year)


# --- Schools as they were on the reference date -----------------------------------------------------------
#
# A school's name, township, type, ownership and rural flag are dated (`students.models.SchoolSpell`): a
# township merger, a school changing type or ownership or a renamed school leaves the years before as they
# were. Every figure grouped or filtered by them reads them here, as of the period's reference date (a
# dashboard's: today, the open spell), never from today's School row (`school__township_id`).
#
# The rows (up to the whole register, 145,057 spells at Ningdu) are joined once to the spells of that day
# (`students.models.school_spell_on`): the database hashes the few hundred spells and groups the rows by them,
# where a subquery per attribute looked one spell up for every row.

NAME = "name_then"
TOWNSHIP = "township_then"
SCHOOL_TYPE = "school_type_then"
OWNERSHIP = "ownership_then"
RURAL = "is_rural_then"
TOWNSHIP_CODE = "township_code_then"  # to list schools in their township's order
TOWNSHIP_NAME = "township_name_then"
_SCHOOL_FIELDS = {
    TOWNSHIP: "township_id",
    SCHOOL_TYPE: "school_type",
    OWNERSHIP: "ownership",
    RURAL: "is_rural",
    TOWNSHIP_CODE: "township__code",
    TOWNSHIP_NAME: "township__name",
    NAME: "name",
}
_DEFAULT_ATTRIBUTES = (TOWNSHIP, SCHOOL_TYPE, OWNERSHIP, RURAL)
_SPELL = "school_spell_then"


def schools_as_of(rows, period: Period, *attributes: str, school: str = "school"):
    """`rows` with their school's attributes (`TOWNSHIP`, `SCHOOL_TYPE`, `OWNERSHIP`, `RURAL` by default;
    `TOWNSHIP_CODE`, `TOWNSHIP_NAME`, `NAME` when asked) on the reference date, annotated under those names.
    `school`: the path to the school from the rows ("school", "pilot__school"; "pk" for School rows). A row
    whose school had no spell that day (or has no school) gets None, as before."""
    spell = f"{_SPELL}_{school.replace('__', '_')}"
    if spell not in rows.query._filtered_relations:
        rows = rows.alias(**{spell: school_spell_on(period.reference, school)})
    return rows.annotate(
        **{name: F(f"{spell}__{_SCHOOL_FIELDS[name]}") for name in attributes or _DEFAULT_ATTRIBUTES}
    )


def by_township_and_school(rows, period: Period, school: str = "school") -> tuple:
    """The two breakdowns of a figure: (level, rows, the field to group by), by the township of the rows'
    school on the reference date and by the school."""
    return (
        ("township", schools_as_of(rows, period, TOWNSHIP, school=school), TOWNSHIP),
        ("school", rows, f"{school}_id"),
    )


# --- Schools and teachers, as the papers split them --------------------------------------------------------


def school_counts() -> dict:
    """How `active_schools` (with their `OWNERSHIP` of `schools_as_of`) are counted, as aggregates for
    `.aggregate()` / `.annotate()`: every school, and the public (公办) and private (民办) ones (the papers'
    "幼儿园 70 所（含公办 9 所）"), by their ownership on the reference date."""
    return {
        "schools": Count("pk"),
        "public": Count("pk", filter=Q(**{OWNERSHIP: School.Ownership.PUBLIC})),
        "private": Count("pk", filter=Q(**{OWNERSHIP: School.Ownership.PRIVATE})),
    }


def teacher_sums() -> dict:
    """How `teacher_counts` are counted, as aggregates: the headcount (教师数) and, of it, the teachers on
    the establishment (在编, the papers' "在编教师 3632 人"; a school that has not said adds nothing)."""
    return {"teachers": Sum("headcount"), "on_staff": Sum("on_staff")}


def letters_sent(lines, period: Period):
    """Out-of-county ledger lines (县外就读台账) of the period's school year whose letter (发函) went out by
    the reference date (Jianshi 2019: 发函 1,587). Dated: a letter sent after the period is not counted, a
    line marked sent without a date is not either."""
    if period.is_future:
        return lines.none()
    return lines.filter(
        school_year=period.school_year, letter_sent_on__isnull=False, letter_sent_on__lte=period.reference
    )


# --- Dropout control -------------------------------------------------------------------------------------


def open_cases(cases, period: Period):
    """Cases open on the reference date (by their ledger periods, so a past year reads its own state)."""
    if period.is_future:
        return cases.none()
    ref = period.reference
    open_ids = (
        CasePeriod.objects.filter(opened_on__lte=ref)
        .filter(Q(closed_on__isnull=True) | Q(closed_on__gt=ref))
        .values("case_id")
    )
    return cases.filter(pk__in=open_ids)


def home_teaching_children(cases, period: Period):
    """Children taught at home (送教上门) in the period: cases in home teaching with a visit logged in it.
    A child served in an earlier year, or placed in home teaching and never visited, is not served now."""
    if period.is_future:
        return cases.none()
    visited = HomeTeachingVisit.objects.filter(
        visited_on__gte=period.start, visited_on__lte=period.reference
    ).values("case_id")
    return cases.filter(outcome=DropoutCase.Outcome.HOME_TEACHING, pk__in=visited)


def out_of_school_students(cases, period: Period):
    """Students on the register whose dropout case is open on the reference date: out of school whatever
    the register says, so the retention rate counts them as not retained."""
    return open_cases(cases, period).exclude(student=None).values("student_id")


# --- Student aid -----------------------------------------------------------------------------------------


def paid_payments(payments, period: Period):
    """Payments paid for the period's terms (pending, sent or failed money is not aid received)."""
    return payments.filter(status=Payment.Status.PAID).filter(terms_q(period))


def student_aid(payments, period: Period):
    """Student aid paid for the period's terms, without the nutrition plans' payments."""
    return paid_payments(payments, period).exclude(aid_type__in=NUTRITION_AID_TYPES)


def unpaid_student_aid(payments, period: Period):
    """Student aid drawn for the period's terms and not (yet) received: failed, at the bank, or not sent (no
    bank account), in batches past their draft. Printed apart, never added to aid received."""
    return payments.owed().filter(terms_q(period)).exclude(aid_type__in=NUTRITION_AID_TYPES)


def nutrition_plan_aid(payments, period: Period):
    """Nutrition-plan payments paid for the period's terms (their own line beside student aid)."""
    return paid_payments(payments, period).filter(aid_type__in=NUTRITION_AID_TYPES)


# --- University students and social aid (their own lines, never added to student aid) ----------------------
#
# Both are dated grants read by their own date within the period (up to the reference date), so a past year
# rebuilt later counts what was paid in it. University students are on no school's roll; social aid is the
# donors' money, not the government's (Jianshi 2019 prints 2644.2375 万元 of aid and, apart, 社会资助 80 万元,
# 滋蕙计划 38.8 万元, 泛海助学 136.5 万元).


def _dated(records, field: str, period: Period):
    if period.is_future:
        return records.none()
    return records.filter(**{f"{field}__gte": period.start, f"{field}__lte": period.reference})


def university_aid(aid, period: Period):
    """Grants to the county's university students (新生入学路费, 大学生学费资助, other) paid in the period."""
    return _dated(aid, "paid_on", period)


def social_aid(grants, period: Period):
    """Social-aid grants (donors' and charities' programmes) made in the period."""
    return _dated(grants, "granted_on", period)


# --- Nutrition plan --------------------------------------------------------------------------------------


def nutrition_terms(period: Period):
    """The candidates for `nutrition_term`, the one it picks first: the autumn term of the period once it has
    begun by the reference date, else the term before it. One query, or a subquery of `pilot_schools` (the
    dashboards keep to 10 queries a page)."""
    terms = NutritionTerm.objects.filter(start__lte=period.reference)
    autumn = NutritionTerm.Season.AUTUMN
    if period.basis == "school":
        terms = terms.filter(school_year=period.year)
    else:
        terms = terms.filter(
            Q(school_year=period.year, season=autumn)
            | Q(school_year=period.year - 1, season=NutritionTerm.Season.SPRING)
        )
    return terms.order_by(Case(When(season=autumn, then=Value(0)), default=Value(1)), "-start")


def nutrition_term(period: Period) -> NutritionTerm | None:
    """The term whose pilot schools and pupils the period's figures are (the papers count "2022年秋季学期"):
    the autumn term of the period once it has begun by the reference date, else the term before it (a
    calendar year read before September: its spring term). None for a year without a recorded term."""
    return nutrition_terms(period).first()


def pilot_schools(pilots, period: Period):
    return pilots.filter(term__in=nutrition_terms(period).values("pk")[:1])


def meals_served(meals, period: Period):
    """Meal records of the period (up to its reference date: a running year has no later meals)."""
    if period.is_future:
        return meals.none()
    return meals.filter(day__gte=period.start, day__lte=period.reference)
