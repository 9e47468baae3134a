"""Reads of the reports app: the dashboards, what a principal, a township officer and the bureau look at every
day, and the home page's panel of them.

One entry point, `dashboard_for(user, school=..., township=..., level=...)`, decides from the user's scope
which dashboard they may see (a principal only their school's, a township officer their township's or one
of its schools', bureau staff and officials any) and returns JSON-ready figures; the page, the home-page
panel and the JSON endpoint all render that. Every queryset goes through `visible_to(user)`.

The figures are aggregates over the whole unit (at Ningdu scale the county's take ~400 ms and 15 queries),
so they are cached for `CACHE_SECONDS` in Django's cache (Redis in production). The access check
(`resolve`) always runs live; the cache key names the viewer's scope, the unit, the day and the language,
so that figures computed for one scope are never served to another.
"""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, JSONObject
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from dropout_control import selectors as dropout_selectors
from dropout_control.models import DropoutCase
from nutrition import rules as nutrition_rules
from nutrition import selectors as nutrition_selectors
from nutrition.models import AccompaniedMeal, MealRecord, NutritionTerm, PilotSchool, SafetyCheck, TermHoliday
from portal.access import Scope, scope_of
from reports import figures
from reports.models import YearEndSnapshot
from reports.periods import terms_q
from reports.yearend import money
from students.models import (
    Enrollment,
    School,
    Stage,
    StudentCategory,
    TeacherCount,
    Township,
    school_year_of,
)
from subsidies import facts as facts_module
from subsidies import selectors as subsidies_selectors
from subsidies.models import AidType, Payment, SocialAidGrant, Term, UniversityAid, term_of

COUNTY, TOWNSHIP, SCHOOL = "county", "township", "school"
# How long dashboard figures are reused before they are counted again (the page says "as of HH:MM").
CACHE_SECONDS = 5 * 60
# Bump when the shape of the figures changes, so that a deployment never serves the old shape.
CACHE_VERSION = 4


def current_school_year(today=None) -> int:
    return school_year_of(today)


def resolve(user, *, level: str | None = None, school_id=None, township_id=None) -> tuple[str, object]:
    """Which dashboard the user asked for and may see: (level, unit). 403 for a level above the user's scope,
    404 for a unit outside it (never another unit's data)."""
    scope = scope_of(user)
    if school_id not in (None, ""):
        school = School.objects.visible_to(user).select_related("township").filter(pk=_int(school_id)).first()
        if school is None:
            raise Http404
        return SCHOOL, school
    if township_id not in (None, ""):
        if scope.school_id is not None:
            raise PermissionDenied(_("A principal sees only their own school's dashboard."))
        township = Township.objects.visible_to(user).filter(pk=_int(township_id)).first()
        if township is None:
            raise Http404
        return TOWNSHIP, township
    if level == COUNTY and not scope.county:
        raise PermissionDenied(_("County figures are for bureau staff and officials."))
    if level == TOWNSHIP and scope.school_id is not None:
        raise PermissionDenied(_("A principal sees only their own school's dashboard."))
    if scope.county:
        return COUNTY, None
    if scope.township_id is not None:
        return TOWNSHIP, Township.objects.get(pk=scope.township_id)
    if scope.school_id is not None:
        return SCHOOL, School.objects.select_related("township").get(pk=scope.school_id)
    raise PermissionDenied


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc


def dashboard_for(user, *, level: str | None = None, school_id=None, township_id=None) -> dict:
    level, unit = resolve(user, level=level, school_id=school_id, township_id=township_id)
    key = cache_key(scope_of(user), level, unit)
    found = cache.get_many([key, READERS_KEY])
    data = found.get(key)
    seconds = None
    if data is None:
        data, seconds = _count_and_keep(user, level, unit, key)
    _remember_reader(found.get(READERS_KEY) or {}, key, user, level, unit, seconds)
    return data


def _count_and_keep(user, level: str, unit, key: str) -> tuple[dict, float]:
    """The figures counted now and kept for `CACHE_SECONDS`, and how long counting them took."""
    started = time.perf_counter()
    data = school_dashboard(user, unit) if level == SCHOOL else area_dashboard(user, unit)
    data["as_of"] = timezone.localtime().strftime("%H:%M")
    cache.set(key, data, CACHE_SECONDS)
    return data, time.perf_counter() - started


# --- Warming: the dashboards read lately are counted again by Celery beat before their entry expires ------
#
# `reports.tasks.warm_dashboards` runs every `WARM_EVERY_SECONDS` (less than `CACHE_SECONDS`) and counts again
# each dashboard someone read in the last `WARM_WINDOW_SECONDS` whose last count took `WARM_FROM_SECONDS` or
# more (at Ningdu scale the county's 3-5 s; a school's or a township's 0.3-0.4 s, which its reader pays
# once per window rather than the worker counting 224 schools every 4 minutes), as that reader (so through their
# `visible_to`), replacing its cache entry: a reader finds the figures already counted, the day's first
# look included (the task runs after midnight with the new day's key), and no figure shown is older than
# `CACHE_SECONDS`, as before (an entry still expires `CACHE_SECONDS` after it was counted, so a write shows
# within at most five minutes, whether the task runs or not).
WARM_EVERY_SECONDS = 4 * 60
WARM_WINDOW_SECONDS = 24 * 3600
WARM_FROM_SECONDS = 1.0
READERS_KEY = f"reports:dashboard:v{CACHE_VERSION}:readers"


def _reader_key(key: str) -> str:
    """The cache key without its day: one dashboard of one scope in one language, whatever the day."""
    head, _day, language = key.rsplit(":", 2)
    return f"{head}:{language}"


def _remember_reader(readers: dict, key: str, user, level: str, unit, seconds: float | None = None) -> None:
    """Note who read this dashboard, when, and how long its last count took (`seconds`, when this request
    counted it): at most once per half warming interval unless counted, so one cache write per dashboard
    every few minutes, not per request. Two requests noting at once may lose one note: that reader's
    dashboard is warmed from its next read."""
    now = timezone.now().timestamp()
    name = _reader_key(key)
    seen = readers.get(name)
    if seconds is None and seen is not None and now - seen["at"] < WARM_EVERY_SECONDS / 2:
        return
    if seconds is None:
        seconds = seen["seconds"] if seen is not None else 0.0
    readers = {k: v for k, v in readers.items() if now - v["at"] < WARM_WINDOW_SECONDS}
    readers[name] = {
        "user": user.pk,
        "level": level,
        "unit": None if unit is None else unit.pk,
        "language": get_language() or "",
        "at": now,
        "seconds": seconds,
    }
    cache.set(READERS_KEY, readers, WARM_WINDOW_SECONDS)


def warm_dashboards() -> int:
    """Count again every dashboard read in the last `WARM_WINDOW_SECONDS` whose last count took
    `WARM_FROM_SECONDS` or more, and keep it in the cache (the Celery beat task). Returns how many were
    counted. A reader who is gone, or whose scope no longer reaches the unit, is skipped (and forgotten when
    their note expires)."""
    from django.contrib.auth import get_user_model
    from django.utils import translation

    now = timezone.now().timestamp()
    readers = cache.get(READERS_KEY) or {}
    users = get_user_model().objects.in_bulk({r["user"] for r in readers.values()})
    counted = 0
    for reader in readers.values():
        user = users.get(reader["user"])
        if user is None or now - reader["at"] >= WARM_WINDOW_SECONDS:
            continue
        if reader.get("seconds", 0.0) < WARM_FROM_SECONDS:
            continue
        unit = reader["unit"]
        try:
            level, unit = resolve(
                user,
                level=reader["level"],
                school_id=unit if reader["level"] == SCHOOL else None,
                township_id=unit if reader["level"] == TOWNSHIP else None,
            )
        except (PermissionDenied, Http404):
            continue
        with translation.override(reader["language"] or None):
            _data, reader["seconds"] = _count_and_keep(
                user, level, unit, cache_key(scope_of(user), level, unit)
            )
        counted += 1
    if counted:
        # The counts' new durations (a dashboard that became cheap stops being warmed); notes made meanwhile
        # by readers are kept.
        latest = cache.get(READERS_KEY) or {}
        for name, reader in readers.items():
            if name in latest:
                latest[name]["seconds"] = reader["seconds"]
        cache.set(READERS_KEY, latest, WARM_WINDOW_SECONDS)
    return counted


def cache_key(scope: Scope, level: str, unit, today=None) -> str:
    """One entry per (viewer's scope, unit shown, day, language).

    The viewer's scope is part of the key although `resolve` already refused units outside it: every query
    goes through `visible_to(user)`, so the figures are a function of the scope, and a key without it could
    hand one scope's figures to another. The day keeps date-dependent figures (categories valid today,
    overdue cases) from outliving midnight; the language, the translated labels.
    """
    if scope.county:
        viewer = "county"
    elif scope.township_id is not None:
        viewer = f"township-{scope.township_id}"
    elif scope.school_id is not None:
        viewer = f"school-{scope.school_id}"
    else:
        raise PermissionDenied
    unit_id = "all" if unit is None else unit.pk
    day = (today or timezone.localdate()).isoformat()
    return f"reports:dashboard:v{CACHE_VERSION}:{viewer}:{level}-{unit_id}:{day}:{get_language() or ''}"


# --- A school ------------------------------------------------------------------------------------------


def school_dashboard(user, school: School) -> dict:
    """A school's dashboard: the principal's home page. Each figure is one query or a share of one (the page
    keeps to ten): the register today and at the start of the school year (students by stage and grade, their
    categories, and the facts the eligibility rule reads), the payments (aid of the year and of this term by
    aid type, what each child has had), the rule book, the dropout cases and meals, the nutrition pilot."""
    today = timezone.localdate()
    period = figures.running_period(today)
    rows = school_register(user, school, period)
    current = [r for r in rows if r["is_now"]]
    stage_labels = dict(Stage.choices)
    stage_order = {stage: n for n, stage in enumerate(stage_labels)}
    by_stage: dict[str, int] = {}
    grades: dict[tuple[str, int], dict] = {}
    for r in rows:
        if r["is_now"]:
            by_stage[r["stage"]] = by_stage.get(r["stage"], 0) + 1
            line = grades.setdefault((r["stage"], r["grade"]), {"now": 0, "start": 0})
            line["now"] += 1
    for r in rows:
        if r["at_start"]:
            line = grades.setdefault((r["stage"], r["grade"]), {"now": 0, "start": 0})
            line["start"] += 1
    category_labels = dict(StudentCategory.Category.choices)
    by_category: dict[str, int] = {}
    for r in current:
        for category in set(r["categories"]):
            by_category[category] = by_category.get(category, 0) + 1
    data = {
        "level": SCHOOL,
        "title": school.name,
        "school": {"id": school.pk, "name": school.name, "township": school.township.name},
        "schools_by_type": [
            {"key": school.school_type, "label": school.get_school_type_display(), "value": 1}
        ],
        "tiles": [
            _tile(
                "students",
                _("Enrolled students"),
                len(current),
                _students_url(school=school.pk),
                figure=("students", "students"),
            ),
        ],
        "by_stage": [
            {"key": stage, "label": stage_labels.get(stage), "value": n}
            for stage, n in sorted(by_stage.items(), key=lambda item: stage_order.get(item[0], 99))
        ],
        "by_grade": [
            {
                "stage": stage,
                "stage_label": stage_labels.get(stage),
                "grade": grade,
                "label": _("%(stage)s grade %(grade)s") % {"stage": stage_labels.get(stage), "grade": grade},
                "now": line["now"],
                "start": line["start"],
                "change": line["now"] - line["start"],
                "url": _students_url(school=school.pk, stage=stage, grade=grade, status="enrolled"),
            }
            for (stage, grade), line in sorted(
                grades.items(), key=lambda i: (stage_order.get(i[0][0], 99), i[0][1])
            )
        ],
        "students_at_start": sum(1 for r in rows if r["at_start"]),
        "year_start": period.start.isoformat(),
        "by_category": [
            {"key": key, "label": category_labels.get(key), "value": n}
            for key, n in sorted(by_category.items())
        ],
        "charts": {
            "by_stage": _chart(
                [stage_labels.get(stage) for stage in by_stage],
                [(_("Students"), list(by_stage.values()))],
            ),
        },
        "actions": [],
        "red_lights": [],
    }
    data["_register"] = {r["student_id"]: r for r in current}
    for extra in SCHOOL_EXTRAS:
        extra(user, school, data)
    data.pop("_register")
    return data


def school_register(user, school: School, period) -> list[dict]:
    """The school's register on the period's reference date (`is_now`) and on the first day of its school
    year (`at_start`), one row per spell with the columns eligibility reads, the student's categories valid
    on the reference date and their confirmed identification level then (`level`, "" or None without one;
    `subsidies.facts.confirmed_levels`) (one query)."""
    spells = Enrollment.objects.visible_to(user).filter(school=school)
    now = figures.register_students(spells, period)
    then = figures.register_students(spells, replace(period, today=period.start))
    categories = (
        StudentCategory.objects.visible_to(user)
        .filter(student=OuterRef("student_id"))
        .on(period.reference)
        .values("category")
    )
    return list(
        spells.filter(Q(pk__in=now.values("pk")) | Q(pk__in=then.values("pk")))
        .annotate(
            is_now=ExpressionWrapper(Q(pk__in=now.values("pk")), output_field=BooleanField()),
            at_start=ExpressionWrapper(Q(pk__in=then.values("pk")), output_field=BooleanField()),
            categories=ArraySubquery(categories),
            # A fact of the child like the categories (the eligibility rule's): read whatever school
            # identified them; only the level of a child on this register is read.
            level=Subquery(
                facts_module.confirmed_levels(period.reference)
                .filter(student=OuterRef("student_id"))
                .values("confirmed_level")[:1]
            ),
        )
        .values("student_id", "is_now", "at_start", "categories", "level", *facts_module.DECIDING)
    )


def school_payments(user, school: School, period, register: dict) -> list[dict]:
    """The payments (not held) of the school in the period's terms and of the children on its register now,
    grouped by student, aid, term, status and school, with those counted as student aid received
    (`figures.student_aid`) apart (one query)."""
    visible = Payment.objects.visible_to(user)
    aid = figures.student_aid(visible.filter(school=school), period).values("pk")
    return list(
        visible.filter((Q(school=school) & terms_q(period)) | Q(student_id__in=list(register)))
        .exclude(status=Payment.Status.HELD)
        .values("student_id", "aid_type", "school_year", "term", "status", "school_id")
        .annotate(
            n=Count("pk"),
            counted=Count("pk", filter=Q(pk__in=aid)),
            counted_amount=Sum("amount", filter=Q(pk__in=aid), default=Decimal("0")),
        )
        .order_by()
    )


def taken_and_received(rows: list[dict], register: dict, school_year: int, term: str) -> tuple[dict, dict]:
    """Per child on the register: the aid types the term has a payment of, and the earlier terms aided per aid
    type (what the eligibility rule's duration limits read)."""
    taken: dict[int, set[str]] = {}
    received: dict[int, dict[str, int]] = {}
    for r in rows:
        if r["student_id"] not in register:
            continue
        if (r["school_year"], r["term"]) == (school_year, term):
            taken.setdefault(r["student_id"], set()).add(r["aid_type"])
        else:
            kinds = received.setdefault(r["student_id"], {})
            kinds[r["aid_type"]] = kinds.get(r["aid_type"], 0) + r["n"]
    return taken, received


def unaided_on_register(school: School, register: dict, on, taken: dict, received: dict) -> list:
    """`subsidies.selectors.eligible_unaided` for the children on the school's register (two queries: the
    rule book and the exclusion groups), with their categories and confirmed identification level as the
    register read them (`school_register`: the facts the eligibility rule reads)."""
    return subsidies_selectors.eligible_unaided(
        {pk: {k: r[k] for k in facts_module.DECIDING} for pk, r in register.items()},
        {school.pk: school},
        {pk: set(r["categories"]) for pk, r in register.items()},
        on,
        taken=taken,
        received=received,
        levels={pk: r["level"] for pk, r in register.items() if r.get("level")},
    )


def school_unaided(user, school: School) -> tuple[str, list]:
    """The children of the school the eligibility rule grants an aid this term that the term has not aided:
    the rows the home page's count opens (the same functions, on the same day). (term name, lines)"""
    today = timezone.localdate()
    period = figures.running_period(today)
    school_year, term = current_aid_term(today)
    register = {r["student_id"]: r for r in school_register(user, school, period) if r["is_now"]}
    rows = school_payments(user, school, period, register)
    taken, received = taken_and_received(rows, register, school_year, term)
    return term_name(school_year, term), unaided_on_register(school, register, today, taken, received)


def term_name(school_year: int, term: str) -> str:
    """A term as a principal names it: "2026年秋季学期" (the autumn of the school year 2026-2027), "2027年春季学期"
    (its spring), never "this term"."""
    year = school_year if term == Term.AUTUMN else school_year + 1
    return _("%(year)s %(term)s") % {"year": year, "term": Term(term).label}


# --- A township or the county ----------------------------------------------------------------------------


def area_dashboard(user, township: Township | None) -> dict:
    period = figures.running_period()
    schools = School.objects.visible_to(user)
    # The register: each student's spell, at the school (and township) it is at on the day.
    students = Enrollment.objects.visible_to(user)
    if township is not None:
        schools = schools.filter(township=township)
        students = students.filter(school__township=township)
    # One query for the students (by area and stage) and one for the schools (by type, with the open ones
    # and their teachers): the tiles, the charts and the home page's tables are sums of these rows.
    poor = figures.poor_students(students, period).values("pk")
    register = figures.register_students(students, period)
    if township is None:
        # By the township of each school on the reference date (today: the open spell).
        register = figures.schools_as_of(
            register, period, figures.TOWNSHIP, figures.TOWNSHIP_NAME, figures.TOWNSHIP_CODE
        )
        area_id, area_label, area_order = figures.TOWNSHIP, figures.TOWNSHIP_NAME, figures.TOWNSHIP_CODE
    else:
        area_id, area_label, area_order = "school_id", "school__name", "school__code"
    rows = list(
        register.values(area_id, area_label, area_order, "stage")
        .annotate(n=Count("pk"), poor=Count("pk", filter=Q(pk__in=poor)))
        .order_by(area_order, "stage")
    )
    areas: dict = {}
    by_stage: dict = {}
    for r in rows:
        area = areas.setdefault(
            r[area_id], {"id": r[area_id], "label": r[area_label], "students": 0, "poor": 0}
        )
        area["students"] += r["n"]
        area["poor"] += r["poor"]
        by_stage[r["stage"]] = by_stage.get(r["stage"], 0) + r["n"]
    areas = list(areas.values())
    totals = {"students": sum(a["students"] for a in areas), "poor": sum(a["poor"] for a in areas)}
    by_type = schools_by_type(user, schools, period)
    stage_labels = dict(Stage.choices)
    type_labels = dict(School.Type.choices)
    data = {
        "level": TOWNSHIP if township is not None else COUNTY,
        "title": township.name if township is not None else _("Whole county"),
        "township": {"id": township.pk, "name": township.name} if township is not None else None,
        "tiles": [
            _tile(
                "schools",
                _("Schools"),
                sum(r["n"] for r in by_type),
                reverse("students:school_list"),
                figure=("schools", "schools"),
            ),
            _tile(
                "students",
                _("Enrolled students"),
                totals["students"],
                _students_url(),
                figure=("students", "students"),
            ),
            _tile(
                "teachers",
                _("Teachers"),
                sum(r["teachers"] for r in by_type),
                None,
                figure=("teachers", "teachers"),
            ),
            _tile(
                "poor",
                _("Registered-poor students"),
                totals["poor"],
                _students_url(category="poverty_alleviated"),
                figure=("poverty", "studying_here"),
            ),
        ],
        "areas": areas,
        "area_kind": "school" if township is not None else "township",
        "by_stage": [
            {"key": stage, "label": stage_labels.get(stage), "value": n}
            for stage, n in sorted(by_stage.items())
        ],
        "by_type": [
            {"key": r["school_type"], "label": type_labels.get(r["school_type"]), "value": r["n"]}
            for r in by_type
            if r["n"]
        ],
        # Every school of the unit by type, closed ones included (the home page's table, which links to the
        # school list of that type).
        "schools_by_type": [
            {"key": r["school_type"], "label": type_labels.get(r["school_type"]), "value": r["all"]}
            for r in by_type
        ],
        "charts": {
            "by_area": _chart(
                [a["label"] for a in areas],
                [
                    (_("Enrolled students"), [a["students"] for a in areas]),
                    (_("Registered-poor students"), [a["poor"] for a in areas]),
                ],
            ),
            "by_type": _chart(
                [type_labels.get(r["school_type"]) for r in by_type if r["n"]],
                [(_("Schools"), [r["n"] for r in by_type if r["n"]])],
            ),
        },
        "red_lights": [],
        "snapshot": None,
    }
    if scope_of(user).county and township is None:
        data["snapshot"], data["charts"]["by_year"] = _snapshots(user)
    for extra in AREA_EXTRAS:
        extra(user, township, data)
    return data


def schools_by_type(user, schools, period) -> list[dict]:
    """Per school type: every school (`all`), the open ones (`n`, the figure `active_schools`) and their
    teachers of the period's school year (`teachers`, the figure `teacher_counts`, of every school as the
    year-end report counts them), in one query."""
    teachers = (
        figures.teacher_counts(TeacherCount.objects.visible_to(user), period)
        .filter(school=OuterRef("pk"))
        .order_by()
        .values("school")
        .annotate(total=Sum("headcount"))
        .values("total")
    )
    active = figures.active_schools(schools, period).values("pk")
    # Each school's type on the reference date (today's for the running year: the open spell).
    rows = (
        figures.schools_as_of(schools, period, figures.SCHOOL_TYPE, school="pk")
        .annotate(headcount=Coalesce(Subquery(teachers), 0))
        .values(figures.SCHOOL_TYPE)
        .annotate(all=Count("pk"), n=Count("pk", filter=Q(pk__in=active)), teachers=Sum("headcount"))
        .order_by(figures.SCHOOL_TYPE)
    )
    return [{"school_type": row.pop(figures.SCHOOL_TYPE), **row} for row in rows]


def _snapshots(user) -> tuple[dict | None, dict]:
    """The latest year's report and the year-over-year chart, each year as readers get it: its published
    version (定稿) when there is one, else its newest ready build (a draft). One query, which reads only the
    headline figures out of each snapshot's JSON (a snapshot's figures run to megabytes at Ningdu scale)."""
    headline = {
        "students": ("students", "students"),
        "poor": ("poverty", "studying_here"),
        "aid": ("aid", "person_times"),
    }
    rows = list(
        YearEndSnapshot.objects.visible_to(user)
        .ready()
        .with_publication()
        .filter(county_code=settings.HOME_COUNTY_CODE)
        .order_by("finished_at", "pk")
        .values(
            "pk",
            "year",
            "basis",
            "finished_at",
            "year_published_id",
            **{
                key: KT(f"figures__sections__{section}__total__{figure}")
                for key, (section, figure) in headline.items()
            },
        )
    )
    # Per year and basis: the published build, else the newest ready one.
    shown: dict[tuple[int, str], dict] = {}
    for row in rows:
        key = (row["year"], row["basis"])
        if row["year_published_id"] is None or row["pk"] == row["year_published_id"]:
            shown[key] = row
    latest = None
    if rows:
        newest = rows[-1]
        row = shown.get((newest["year"], newest["basis"]), newest)
        snapshot = YearEndSnapshot(pk=row["pk"], year=row["year"], basis=row["basis"])
        latest = {
            "id": row["pk"],
            "period": snapshot.period_label,
            "finished_at": timezone.localtime(row["finished_at"]).strftime("%Y-%m-%d %H:%M"),
            "published": row["pk"] == row["year_published_id"],
            "url": reverse("reports:snapshot_year", args=[row["year"], row["basis"]]),
            "download": reverse("reports:snapshot_download", args=[row["pk"]]),
        }
    by_year = {year: r for (year, basis), r in shown.items() if basis == YearEndSnapshot.Basis.SCHOOL}
    years = sorted(by_year)

    def figure(year, key):
        return _number(by_year[year][key])

    chart = _chart(
        [f"{y}-{y + 1}" for y in years],
        [
            (_("Students"), [figure(y, "students") for y in years]),
            (_("Registered-poor students"), [figure(y, "poor") for y in years]),
            (_("Aid person-times"), [figure(y, "aid") for y in years]),
        ],
    )
    return latest, chart


def _number(text: str | None):
    """A headline figure read out of the JSON as text: an int, else a Decimal (money), 0 when missing."""
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        return float(Decimal(text))


# --- Helpers ---------------------------------------------------------------------------------------------


def _tile(key: str, label: str, value, url: str | None, *, figure: tuple[str, str], state: str = "") -> dict:
    """A dashboard tile. `figure` names the same figure in the year-end snapshot (section, headline key):
    the tile is that figure for the running school year on today, counted by the same function."""
    return {"key": key, "label": label, "value": value, "url": url, "state": state, "figure": list(figure)}


def _chart(labels: list, datasets: list[tuple[str, list]]) -> dict:
    return {
        "labels": [str(label) for label in labels],
        "datasets": [{"label": str(n), "data": d} for n, d in datasets],
    }


def _students_url(**params) -> str:
    from urllib.parse import urlencode

    url = reverse("students:student_list")
    return f"{url}?{urlencode(params)}" if params else url


def home_context(user) -> dict:
    """For the portal home page: `{% include "reports/dashboard_panel.html" %}` with this context."""
    if scope_of(user).school_id is None and scope_of(user).township_id is None and not scope_of(user).county:
        return {"dashboard": None}
    return {"dashboard": dashboard_for(user)}


# --- The casework areas: aid, dropout control, nutrition --------------------------------------------------


def current_aid_term(today=None) -> tuple[int, str]:
    """(school year, term) of today."""
    return term_of(today or timezone.localdate())


def _url(name: str, **params) -> str | None:
    from urllib.parse import urlencode

    try:
        url = reverse(name)
    except NoReverseMatch:
        return None
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{url}?{query}" if query else url


def school_aid(user, school, data) -> None:
    """The school's aid: the year's aid paid (the tile), this term's by aid type, failed transfers, and the
    children the eligibility rule grants an aid this term that the term has not paid or drawn (one query for
    the payments, one for the rule book, one for the exclusion groups)."""
    today = timezone.localdate()
    period = figures.running_period(today)
    school_year, term = current_aid_term(today)
    register = data["_register"]
    rows = school_payments(user, school, period, register)
    person_times = sum(r["counted"] for r in rows)
    amount = sum((r["counted_amount"] for r in rows), Decimal("0"))
    failed = sum(
        r["n"]
        for r in rows
        if r["school_id"] == school.pk
        and (r["school_year"], r["term"]) == (school_year, term)
        and r["status"] == Payment.Status.FAILED
    )
    by_type: dict[str, dict] = {}
    for r in rows:
        if (r["school_year"], r["term"]) == (school_year, term) and r["counted"]:
            line = by_type.setdefault(r["aid_type"], {"person_times": 0, "amount": Decimal("0")})
            line["person_times"] += r["counted"]
            line["amount"] += r["counted_amount"]
    taken, received = taken_and_received(rows, register, school_year, term)
    aid_labels = dict(AidType.choices)
    data["aid"] = {"person_times": person_times, "amount": money(amount)}
    data["term_name"] = term_name(school_year, term)
    data["aid_term"] = {
        "name": data["term_name"],
        "rows": [
            {
                "key": key,
                "label": aid_labels.get(key, key),
                "person_times": line["person_times"],
                "amount": money(line["amount"]),
                "url": _url(
                    "subsidies:index", school_year=school_year, term=term, aid_type=key, school=school.pk
                ),
            }
            for key, line in sorted(by_type.items())
        ],
        "person_times": sum(line["person_times"] for line in by_type.values()),
        "amount": money(sum((line["amount"] for line in by_type.values()), Decimal("0"))),
    }
    unaided = unaided_on_register(school, register, today, taken, received)
    unaided_types: dict[str, int] = {}
    for line in unaided:
        unaided_types[line.aid_type] = unaided_types.get(line.aid_type, 0) + 1
    data["unaided"] = {
        "children": len({line.student_id for line in unaided}),
        "by_aid_type": [
            {"key": key, "label": aid_labels.get(key, key), "value": n}
            for key, n in sorted(unaided_types.items())
        ],
        "url": _url("reports:unaided", school=school.pk),
    }
    data["tiles"].append(
        _tile(
            "aid",
            _("Aid paid this school year (yuan)"),
            money(amount),
            _url("subsidies:index"),
            figure=("aid", "amount"),
        )
    )
    # The school's page keeps to ten queries: social aid to its children is on the township's and county's
    # dashboards and in the snapshot (aid · 社会资助), not among a principal's tiles.
    if failed:
        data["actions"].append(
            {
                "label": _("Payments that failed at the bank: check the accounts"),
                "count": failed,
                "url": _url("subsidies:index"),
            }
        )


class _Beside(Subquery):
    """A figure of another table read in the same query as an aggregate (the pages keep to 10 queries): an
    uncorrelated subquery, a constant of the aggregate's one row, so PostgreSQL takes it beside the sums."""

    contains_aggregate = True


def _sum_of(records):
    return _Beside(
        records.order_by().annotate(one=Value(1)).values("one").annotate(total=Sum("amount")).values("total")
    )


def university_and_social_sums(user, *, township=None, school=None) -> dict:
    """The running school year's aid to university students and social aid of a unit (the snapshot's
    `university_amount` and `social_amount`, each apart from student aid), as expressions to read beside
    another aggregate. A school has no university students."""
    period = figures.running_period()
    grants = SocialAidGrant.objects.visible_to(user)
    sums = {}
    if school is not None:
        grants = grants.filter(school=school)
    else:
        aid = UniversityAid.objects.visible_to(user)
        if township is not None:
            aid = aid.filter(student__home_township=township)
            grants = grants.filter(township=township)
        sums["university_amount"] = _sum_of(figures.university_aid(aid, period))
    sums["social_amount"] = _sum_of(figures.social_aid(grants, period))
    return sums


def university_and_social_tiles(data, values: dict) -> None:
    if "university_amount" in values:
        data["tiles"].append(
            _tile(
                "university_aid",
                _("Aid to university students this school year (yuan)"),
                money(values["university_amount"]),
                _url("subsidies:university_students"),
                figure=("aid", "university_amount"),
            )
        )
    data["tiles"].append(
        _tile(
            "social_aid",
            _("Social aid this school year (yuan)"),
            money(values["social_amount"]),
            _url("subsidies:social_aid"),
            figure=("aid", "social_amount"),
        )
    )


def case_counts(cases, period) -> dict[str, int]:
    """Open cases (the figure `open_cases`) and those open too long (`open_longer_than`), in one query."""
    return cases.aggregate(
        open=Count("pk", filter=Q(pk__in=figures.open_cases(cases, period).values("pk"))),
        overdue=Count(
            "pk", filter=Q(pk__in=dropout_selectors.open_longer_than(cases, period.today).values("pk"))
        ),
    )


def _count(queryset):
    """COUNT(*) of a queryset as a scalar subquery (several figures of unrelated tables in one query)."""
    return Coalesce(
        Subquery(queryset.order_by().annotate(c=Func(F("pk"), function="COUNT")).values("c")[:1]), 0
    )


def school_dropout(user, school, data) -> None:
    """Open dropout cases, those open more than 30 days, those whose persuasion visit is due (no visit in
    30 days: the case list's "overdue" filter), and the school year's meals, in one query."""
    period = figures.running_period()
    cases = DropoutCase.objects.visible_to(user).filter(school=school)
    visits_due = dropout_selectors.visits_due(cases, period.today).values("pk")
    meals = figures.meals_served(MealRecord.objects.visible_to(user).filter(pilot__school=school), period)
    counts = (
        School.objects.filter(pk=school.pk)
        .values(
            open=_count(figures.open_cases(cases, period)),
            overdue=_count(
                cases.filter(pk__in=dropout_selectors.open_longer_than(cases, period.today).values("pk"))
            ),
            visits_due=_count(cases.filter(pk__in=visits_due)),
            meals=Coalesce(
                Subquery(meals.order_by().annotate(s=Func(F("meals"), function="SUM")).values("s")[:1]),
                0,
            ),
        )
        .get()
    )
    open_count, overdue = counts["open"], counts["overdue"]
    data["meals_year"] = counts["meals"]
    data["dropout"] = {
        "open": open_count,
        "overdue": overdue,
        "visits_due": counts["visits_due"],
        "open_url": _url("dropout:case_list", status="open", school=school.pk),
        "visits_due_url": _url("dropout:case_list", status="open", overdue="true", school=school.pk),
    }
    data["tiles"].append(
        _tile(
            "dropout_open",
            _("Open dropout cases"),
            open_count,
            _url("dropout:case_list", status="open", school=school.pk),
            figure=("dropout", "open"),
            state="bad" if open_count else "",
        )
    )
    if overdue:
        data["actions"].append(
            {
                "label": _("Dropout cases open for more than 30 days"),
                "count": overdue,
                "url": _url("dropout:case_list", status="open", open_too_long="true", school=school.pk),
            }
        )
    if counts["visits_due"]:
        data["actions"].append(
            {
                "label": _("Dropout cases due a persuasion visit (none in 30 days)"),
                "count": counts["visits_due"],
                "url": data["dropout"]["visits_due_url"],
            }
        )


def school_nutrition(user, school, data) -> None:
    """The school's nutrition pilot of the term running today (none: `nutrition_idle_on` is today when no term
    runs), in one query: its meals, money received, entitled
    and spent with the reconciliation flags (the conditions of the pilot list's flag filter), the school
    days without a meal entry or without 陪餐, and the failed food-safety checks that no later passed check
    of the same kind has followed up."""
    today = timezone.localdate()
    failed_checks = (
        SafetyCheck.objects.filter(pilot=OuterRef("pk"), passed=False, day__lte=today)
        .filter(
            ~Exists(
                SafetyCheck.objects.filter(
                    pilot=OuterRef("pilot"), kind=OuterRef("kind"), passed=True, day__gt=OuterRef("day")
                )
            )
        )
        .order_by("day", "pk")
        .values(json=JSONObject(id="pk", day="day", kind="kind", follow_up="follow_up"))
    )
    # The running term only: a term that ended (or is yet to begin) asks for no meals, 陪餐 or checks.
    pilots = (
        PilotSchool.objects.visible_to(user)
        .filter(school=school, term__start__lte=today, term__end__gte=today)
        .select_related("term")
        .with_accompanied_days(today)
    )
    pilots = nutrition_selectors.with_entitlement(pilots).annotate(
        food_spent=F("total_spent") - F("total_forbidden"),
        **{
            f"flag_{flag}": ExpressionWrapper(
                nutrition_selectors.flag_condition(flag), output_field=BooleanField()
            )
            for flag in nutrition_selectors.FLAGS
        },
    )
    pilot = pilots.annotate(
        holidays=ArraySubquery(TermHoliday.objects.filter(term=OuterRef("term")).values("day")),
        meal_days=ArraySubquery(
            MealRecord.objects.filter(pilot=OuterRef("pk"), meals__gt=0).order_by().values("day").distinct()
        ),
        accompanied_on=ArraySubquery(
            AccompaniedMeal.objects.filter(pilot=OuterRef("pk"), day__lte=today)
            .order_by()
            .values("day")
            .distinct()
        ),
        failed_checks=ArraySubquery(failed_checks),
    ).first()
    data["tiles"].append(
        _tile(
            "meals",
            _("Meals served this school year"),
            data.pop("meals_year"),
            _url("nutrition:index"),
            figure=("nutrition", "meals"),
        )
    )
    if pilot is None:
        data["nutrition"] = None
        # As the nutrition page says it: nothing to record because no term runs (not because the school
        # has no pilot this term).
        running = NutritionTerm.objects.filter(start__lte=today, end__gte=today)
        data["nutrition_idle_on"] = None if running.exists() else today.isoformat()
        return
    term = pilot.term
    days = nutrition_rules.school_days(term, pilot.holidays, until=today)
    no_meals = [day for day in days if day not in set(pilot.meal_days)]
    no_companion = [day for day in days if day not in set(pilot.accompanied_on)]
    gaps = max(0, len(days) - pilot.accompanied_days)
    labels = nutrition_flag_labels()
    kinds = dict(SafetyCheck.Kind.choices)
    pilot_url = reverse("nutrition:pilot_detail", args=[pilot.pk])
    data["nutrition"] = {
        "term": str(term),
        "term_name": term_name(term.school_year, term.season),
        "pilot": pilot.pk,
        "url": pilot_url,
        "meals": pilot.compulsory_meals + pilot.preschool_meals,
        "school_days": len(days),
        "accompanied_gaps": gaps,
        "received": money(pilot.total_received),
        "entitled": money(pilot.entitled),
        "spent": money(pilot.total_spent),
        "balance": money(pilot.total_received - pilot.total_spent),
        "flags": [
            {
                "key": flag,
                "label": labels[flag],
                "url": _url("nutrition:index", term=term.pk, school=school.pk, flag=flag),
            }
            for flag in nutrition_selectors.FLAGS
            if getattr(pilot, f"flag_{flag}")
        ],
        "days_without_meals": [day.isoformat() for day in no_meals],
        "days_without_companion": [day.isoformat() for day in no_companion],
        "failed_checks": [
            {
                **check,
                "kind_label": str(kinds.get(check["kind"], check["kind"])),
                "url": f"{pilot_url}#checks",
            }
            for check in pilot.failed_checks
        ],
    }
    if gaps:
        data["actions"].append(
            {
                "label": _("Record the principal's accompanied meals"),
                "count": gaps,
                "url": pilot_url,
            }
        )
    if no_meals:
        data["actions"].append(
            {"label": _("School days without a meal entry"), "count": len(no_meals), "url": pilot_url}
        )
    if pilot.failed_checks:
        data["actions"].append(
            {
                "label": _("Failed food-safety checks not yet followed by a passed check"),
                "count": len(pilot.failed_checks),
                "url": f"{pilot_url}#checks",
            }
        )


def current_nutrition_terms(today=None):
    """The term a principal records meals in first: the one running today, else the last one begun."""
    today = today or timezone.localdate()
    running = Q(end__gte=today)
    return NutritionTerm.objects.filter(start__lte=today).order_by(
        Case(When(running, then=Value(0)), default=Value(1)), "-start"
    )


def current_nutrition_term(today=None):
    return current_nutrition_terms(today).first()


def area_red_lights(user, township, data) -> None:
    """The red-light list. Each light counts rows with the function its list page filters by, and links to
    that list narrowed to the same unit, so "查看名单" opens exactly the rows counted: dropout cases open more
    than 30 days, approved batches not yet paid, and the nutrition pilots of the year's term with each
    reconciliation flag (overspend, underspend, diversion, short funding, a negative balance). One query
    each for the cases, the aid and the pilots."""
    period = figures.running_period()
    cases = DropoutCase.objects.visible_to(user)
    payments = Payment.objects.visible_to(user)
    pilots = PilotSchool.objects.visible_to(user)
    if township is not None:
        cases = cases.filter(township=township)
        payments = payments.filter(school__township=township)
        pilots = pilots.filter(school__township=township)
    unit = {"township": township.pk if township is not None else None}
    counts = case_counts(cases, period)
    open_count, overdue = counts["open"], counts["overdue"]
    # Every batch header is visible to every role, so the approved batches holding a payment of the user's
    # awaiting payment are those payments' distinct batches (`batches_awaiting_payment`).
    # The same query reads the aid to university students and social aid (their own tiles).
    unpaid = subsidies_selectors.awaiting_payment(payments).aggregate(
        amount=Sum("amount", default=Decimal("0")),
        batches=Count("batch", distinct=True),
        **university_and_social_sums(user, township=township),
    )
    pilot_counts = nutrition_selectors.flag_counts(
        figures.pilot_schools(pilots, period), schools=Count("pk"), term=Max("term_id")
    )
    term_id = pilot_counts["term"]
    data["tiles"].append(
        _tile(
            "dropout_open",
            _("Open dropout cases"),
            open_count,
            _url("dropout:case_list", status="open", **unit),
            figure=("dropout", "open"),
            state="bad" if open_count else "",
        )
    )
    data["tiles"].append(
        _tile(
            "pilot_schools",
            _("Nutrition pilot schools"),
            pilot_counts["schools"],
            _url("nutrition:index", term=term_id, **unit),
            figure=("nutrition", "pilot_schools"),
        )
    )
    university_and_social_tiles(data, unpaid)
    lights = [
        (
            "dropout_overdue",
            _("Dropout cases open for more than 30 days"),
            overdue,
            _url("dropout:case_list", status="open", open_too_long="true", **unit),
        ),
        (
            "aid_unpaid",
            _("Approved aid batches not yet paid"),
            unpaid["batches"],
            _url("subsidies:index", awaiting_payment="true", **unit),
        ),
    ]
    labels = nutrition_flag_labels()
    for flag in nutrition_selectors.FLAGS:
        lights.append(
            (
                f"nutrition_{flag}",
                labels[flag],
                pilot_counts.get(flag) or 0,
                _url("nutrition:index", term=term_id, flag=flag, **unit),
            )
        )
    data["red_lights"] = [
        {"key": key, "label": label, "count": count, "url": url} for key, label, count, url in lights if count
    ]
    data["unpaid_aid_amount"] = money(unpaid["amount"])


def nutrition_flag_labels() -> dict[str, str]:
    return {
        nutrition_rules.OVERSPEND: _("Nutrition pilots that spent more than their meals entitle them to"),
        nutrition_rules.UNDERSPEND: _("Nutrition pilots that spent too little on food for the meals served"),
        nutrition_rules.DIVERSION: _("Nutrition pilots with money spent on non-food items"),
        nutrition_rules.SHORT_FUNDED: _(
            "Nutrition pilots that received less than their meals entitle them to"
        ),
        nutrition_selectors.NEGATIVE_BALANCE: _("Nutrition pilots that spent more than they received"),
    }


def county_rates(user, township, data) -> None:
    """The county's dashboard shows the running school year's nine-year retention rate, computed by
    `reports.rates` as the snapshot's section computes it (a rate without a cohort reads as its reason,
    never 100%)."""
    if township is not None or not scope_of(user).county:
        return
    from reports import rates

    line = rates.retention(figures.running_period(), only=("nine_year",))["nine_year"]["total"]
    tile = _tile(
        "retention",
        _("Nine-year retention rate"),
        line["retention"],
        None,
        figure=("rates", "nine_year_retention"),
    )
    tile["display"] = (
        f"{Decimal(line['retention']) * 100:.1f}%"
        if line["retention"] is not None
        else str(rates.missing_labels()[line["missing"]])
    )
    data["tiles"].append(tile)


SCHOOL_EXTRAS: list = [school_aid, school_dropout, school_nutrition]
AREA_EXTRAS: list = [area_red_lights, county_rates]
