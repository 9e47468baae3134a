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

from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, Sum
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from dropout_control import selectors as dropout_selectors
from dropout_control.models import DropoutCase
from nutrition import rules as nutrition_rules
from nutrition import selectors as nutrition_selectors
from nutrition.models import MealRecord, NutritionTerm, PilotSchool
from portal.access import Scope, scope_of
from reports import figures
from reports.models import PUBLISHED, YearEndSnapshot
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
from subsidies import selectors as subsidies_selectors
from subsidies.models import DisbursementBatch, Payment, term_of

COUNTY, TOWNSHIP, SCHOOL = "county", "township", "school"
# How long dashboard figures are reused before they are counted again (the page says "as of HH:MM").
CACHE_SECONDS = 5 * 60
# Bump when the shape of the figures changes, so that a deployment never serves the old shape.
CACHE_VERSION = 2


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
    data = cache.get(key)
    if data is None:
        data = school_dashboard(user, unit) if level == SCHOOL else area_dashboard(user, unit)
        data["as_of"] = timezone.localtime().strftime("%H:%M")
        cache.set(key, data, CACHE_SECONDS)
    return data


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
    today = timezone.localdate()
    period = figures.running_period(today)
    students = figures.register_students(Enrollment.objects.visible_to(user).filter(school=school), period)
    stage_labels = dict(Stage.choices)
    by_stage = list(students.values("stage").annotate(n=Count("pk")).order_by("stage"))
    category_labels = dict(StudentCategory.Category.choices)
    by_category = list(
        StudentCategory.objects.visible_to(user)
        .filter(student__in=students.values("student_id"))
        .on(today)
        .values("category")
        .annotate(n=Count("student", distinct=True))
        .order_by("category")
    )
    data = {
        "level": SCHOOL,
        "title": school.name,
        "school": {"id": school.pk, "name": school.name, "township": school.township.name},
        "tiles": [
            _tile(
                "students",
                _("Enrolled students"),
                sum(r["n"] for r in by_stage),
                _students_url(school=school.pk),
                figure=("students", "students"),
            ),
        ],
        "by_stage": [
            {"key": r["stage"], "label": stage_labels.get(r["stage"]), "value": r["n"]} for r in by_stage
        ],
        "by_category": [
            {"key": r["category"], "label": category_labels.get(r["category"]), "value": r["n"]}
            for r in by_category
        ],
        "charts": {
            "by_stage": _chart(
                [stage_labels.get(r["stage"]) for r in by_stage],
                [(_("Students"), [r["n"] for r in by_stage])],
            ),
        },
        "actions": [],
        "red_lights": [],
    }
    for extra in SCHOOL_EXTRAS:
        extra(user, school, data)
    return data


# --- A township or the county ----------------------------------------------------------------------------


def area_dashboard(user, township: Township | None) -> dict:
    period = figures.running_period()
    schools = School.objects.visible_to(user)
    students = Enrollment.objects.visible_to(user)
    teacher_counts = TeacherCount.objects.visible_to(user)
    if township is not None:
        schools = schools.filter(township=township)
        students = students.filter(school__township=township)
        teacher_counts = teacher_counts.filter(school__township=township)
    schools = figures.active_schools(schools, period)
    poor = figures.poor_students(students, period).values("pk")
    # Today's register: each student's spell, at the school (and township) it is at.
    students = figures.register_students(students, period)
    totals = students.aggregate(students=Count("pk"), poor=Count("pk", filter=Q(pk__in=poor)))
    teachers = figures.teacher_counts(teacher_counts, period).aggregate(n=Sum("headcount", default=0))["n"]
    type_labels = dict(School.Type.choices)
    by_type = list(schools.values("school_type").annotate(n=Count("pk")).order_by("school_type"))
    if township is None:
        # Students per township, by the school's township.
        area_rows = list(
            students.values("school__township_id", "school__township__name")
            .annotate(n=Count("pk"), poor=Count("pk", filter=Q(pk__in=poor)))
            .order_by("school__township__code")
        )
        areas = [
            {
                "id": r["school__township_id"],
                "label": r["school__township__name"],
                "students": r["n"],
                "poor": r["poor"],
            }
            for r in area_rows
        ]
    else:
        area_rows = list(
            students.values("school_id", "school__name")
            .annotate(n=Count("pk"), poor=Count("pk", filter=Q(pk__in=poor)))
            .order_by("school__code")
        )
        areas = [
            {"id": r["school_id"], "label": r["school__name"], "students": r["n"], "poor": r["poor"]}
            for r in area_rows
        ]
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
            _tile("teachers", _("Teachers"), teachers, None, figure=("teachers", "teachers")),
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
        "by_type": [
            {"key": r["school_type"], "label": type_labels.get(r["school_type"]), "value": r["n"]}
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
                [r["label"] for r in _labelled(by_type, type_labels)],
                [(_("Schools"), [r["n"] for r in by_type])],
            ),
        },
        "red_lights": [],
        "snapshot": None,
    }
    if scope_of(user).county and township is None:
        data["snapshot"] = _latest_snapshot(user)
        data["charts"]["by_year"] = _year_over_year(user)
    for extra in AREA_EXTRAS:
        extra(user, township, data)
    return data


def _labelled(rows, labels):
    return [{**r, "label": labels.get(r["school_type"])} for r in rows]


def _latest_snapshot(user) -> dict | None:
    """The year of the newest complete build, as readers get it: its published version (定稿) when there is
    one, else that build (a draft)."""
    newest = (
        YearEndSnapshot.objects.visible_to(user)
        .ready()
        .filter(county_code=settings.HOME_COUNTY_CODE)
        .only("year", "basis")
        .order_by("-finished_at")
        .first()
    )
    if newest is None:
        return None
    snapshot = YearEndSnapshot.objects.visible_to(user).current(year=newest.year, basis=newest.basis)
    published = snapshot.pk != newest.pk or snapshot.publication == PUBLISHED
    return {
        "id": snapshot.pk,
        "period": snapshot.period_label,
        "finished_at": timezone.localtime(snapshot.finished_at).strftime("%Y-%m-%d %H:%M"),
        "published": published,
        "url": reverse("reports:snapshot_year", args=[snapshot.year, snapshot.basis]),
        "download": reverse("reports:snapshot_download", args=[snapshot.pk]),
    }


def _year_over_year(user) -> dict:
    """Headline figures of each year as readers get it: its published version (定稿), else its newest ready
    school-year snapshot (one query)."""
    latest: dict[int, YearEndSnapshot] = {}
    published: set[int] = set()
    for snapshot in (
        YearEndSnapshot.objects.visible_to(user)
        .ready()
        .with_publication()
        .filter(county_code=settings.HOME_COUNTY_CODE, basis=YearEndSnapshot.Basis.SCHOOL)
        .only("year", "figures", "finished_at")
        .order_by("year", "finished_at")
    ):
        if snapshot.year in published:
            continue
        latest[snapshot.year] = snapshot
        if snapshot.year_published_id == snapshot.pk:
            published.add(snapshot.year)
    years = sorted(latest)

    def figure(snapshot, section, key):
        return snapshot.figures.get("sections", {}).get(section, {}).get("total", {}).get(key) or 0

    return _chart(
        [f"{y}-{y + 1}" for y in years],
        [
            (_("Students"), [figure(latest[y], "students", "students") for y in years]),
            (_("Registered-poor students"), [figure(latest[y], "poverty", "studying_here") for y in years]),
            (_("Aid person-times"), [figure(latest[y], "aid", "person_times") for y in years]),
        ],
    )


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
    period = figures.running_period()
    payments = Payment.objects.visible_to(user).filter(school=school)
    figures_ = figures.student_aid(payments, period).aggregate(
        person_times=Count("pk"), amount=Sum("amount", default=Decimal("0"))
    )
    school_year, term = current_aid_term()
    failed = payments.filter(school_year=school_year, term=term, status=Payment.Status.FAILED).count()
    data["aid"] = {"person_times": figures_["person_times"], "amount": money(figures_["amount"])}
    data["tiles"].append(
        _tile(
            "aid",
            _("Aid paid this school year (yuan)"),
            money(figures_["amount"]),
            _url("subsidies:index"),
            figure=("aid", "amount"),
        )
    )
    if failed:
        data["actions"].append(
            {
                "label": _("Payments that failed at the bank: check the accounts"),
                "count": failed,
                "url": _url("subsidies:index"),
            }
        )


def school_dropout(user, school, data) -> None:
    period = figures.running_period()
    cases = DropoutCase.objects.visible_to(user).filter(school=school)
    open_count = figures.open_cases(cases, period).count()
    overdue = dropout_selectors.open_longer_than(cases, period.today).count()
    data["dropout"] = {"open": open_count, "overdue": overdue}
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


def school_nutrition(user, school, data) -> None:
    today = timezone.localdate()
    period = figures.running_period(today)
    meals_in_year = figures.meals_served(
        MealRecord.objects.visible_to(user).filter(pilot__school=school), period
    )
    data["tiles"].append(
        _tile(
            "meals",
            _("Meals served this school year"),
            meals_in_year.aggregate(n=Sum("meals", default=0))["n"],
            _url("nutrition:index"),
            figure=("nutrition", "meals"),
        )
    )
    term = current_nutrition_term(today)
    pilot = (
        PilotSchool.objects.visible_to(user)
        .filter(school=school, term=term)
        .with_accompanied_days(today)
        .first()
        if term is not None
        else None
    )
    if pilot is None:
        data["nutrition"] = None
        return
    school_days = len(
        nutrition_rules.school_days(term, term.holidays.values_list("day", flat=True), until=today)
    )
    meals = MealRecord.objects.filter(pilot=pilot).aggregate(n=Sum("meals", default=0))["n"]
    gaps = max(0, school_days - pilot.accompanied_days)
    data["nutrition"] = {
        "term": str(term),
        "meals": meals,
        "school_days": school_days,
        "accompanied_gaps": gaps,
    }
    if gaps:
        data["actions"].append(
            {
                "label": _("Record the principal's accompanied meals"),
                "count": gaps,
                "url": _url("nutrition:index"),
            }
        )


def current_nutrition_term(today=None):
    """The term a principal records meals in: the one running today, else the last one begun."""
    today = today or timezone.localdate()
    terms = NutritionTerm.objects.order_by("-start")
    return terms.filter(start__lte=today, end__gte=today).first() or terms.filter(start__lte=today).first()


def area_red_lights(user, township, data) -> None:
    """The red-light list. Each light counts rows with the function its list page filters by, and links to
    that list narrowed to the same unit, so "查看名单" opens exactly the rows counted: dropout cases open more
    than 30 days, approved batches not yet paid, and the nutrition pilots of the year's term with each
    reconciliation flag (overspend, underspend, diversion, short funding, a negative balance)."""
    period = figures.running_period()
    cases = DropoutCase.objects.visible_to(user)
    payments = Payment.objects.visible_to(user)
    pilots = PilotSchool.objects.visible_to(user)
    if township is not None:
        cases = cases.filter(township=township)
        payments = payments.filter(school__township=township)
        pilots = pilots.filter(school__township=township)
    unit = {"township": township.pk if township is not None else None}
    open_count = figures.open_cases(cases, period).count()
    overdue = dropout_selectors.open_longer_than(cases, period.today).count()
    batches = subsidies_selectors.batches_awaiting_payment(
        DisbursementBatch.objects.visible_to(user), payments
    )
    unpaid = subsidies_selectors.awaiting_payment(payments).aggregate(
        amount=Sum("amount", default=Decimal("0"))
    )
    term = figures.nutrition_term(period)
    pilots = figures.pilot_schools(pilots, period)
    flags = nutrition_selectors.flag_counts(pilots) if term is not None else {}
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
            pilots.count(),
            _url("nutrition:index", term=term.pk if term else None, **unit),
            figure=("nutrition", "pilot_schools"),
        )
    )
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
            batches.count(),
            _url("subsidies:index", awaiting_payment="true", **unit),
        ),
    ]
    labels = nutrition_flag_labels()
    for flag in nutrition_selectors.FLAGS:
        lights.append(
            (
                f"nutrition_{flag}",
                labels[flag],
                flags.get(flag, 0),
                _url("nutrition:index", term=term.pk if term else None, flag=flag, **unit),
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
