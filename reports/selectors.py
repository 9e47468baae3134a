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

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q, Sum
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from dropout_control.models import DropoutCase
from nutrition import rules as nutrition_rules
from nutrition.models import MealRecord, NutritionTerm, PilotSchool, Purchase
from portal.access import Scope, scope_of
from reports.models import YearEndSnapshot
from reports.yearend import money
from students.models import School, Stage, Student, StudentCategory, TeacherCount, Township, school_year_of
from subsidies.models import DisbursementBatch, Payment, term_of

COUNTY, TOWNSHIP, SCHOOL = "county", "township", "school"
OVERDUE_DAYS = 30
# How long dashboard figures are reused before they are counted again (the page says "as of HH:MM").
CACHE_SECONDS = 5 * 60
# Bump when the shape of the figures changes, so that a deployment never serves the old shape.
CACHE_VERSION = 1


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
    students = Student.objects.visible_to(user).filter(school=school).enrolled()
    stage_labels = dict(Stage.choices)
    by_stage = list(students.values("stage").annotate(n=Count("pk")).order_by("stage"))
    category_labels = dict(StudentCategory.Category.choices)
    by_category = list(
        StudentCategory.objects.visible_to(user)
        .filter(student__school=school, student__status=Student.Status.ENROLLED)
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
    today = timezone.localdate()
    schools = School.objects.visible_to(user).filter(is_active=True)
    students = Student.objects.visible_to(user).enrolled()
    if township is not None:
        schools = schools.filter(township=township)
        students = students.filter(school__township=township)
    poor = StudentCategory.objects.filter(category=StudentCategory.Category.POVERTY_ALLEVIATED).on(today)
    totals = students.aggregate(
        students=Count("pk"), poor=Count("pk", filter=Q(pk__in=poor.values("student_id")))
    )
    teachers = (
        TeacherCount.objects.visible_to(user)
        .filter(school__in=schools, school_year=current_school_year(today))
        .aggregate(n=Sum("headcount"))["n"]
        or 0
    )
    type_labels = dict(School.Type.choices)
    by_type = list(schools.values("school_type").annotate(n=Count("pk")).order_by("school_type"))
    if township is None:
        # Students per township, by the school's township.
        area_rows = list(
            students.values("school__township_id", "school__township__name")
            .annotate(n=Count("pk"), poor=Count("pk", filter=Q(pk__in=poor.values("student_id"))))
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
            .annotate(n=Count("pk"), poor=Count("pk", filter=Q(pk__in=poor.values("student_id"))))
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
            _tile("schools", _("Schools"), schools.count(), reverse("students:school_list")),
            _tile("students", _("Enrolled students"), totals["students"], _students_url()),
            _tile("teachers", _("Teachers"), teachers, None),
            _tile(
                "poor",
                _("Registered-poor students"),
                totals["poor"],
                _students_url(category="poverty_alleviated"),
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
    snapshot = (
        YearEndSnapshot.objects.visible_to(user)
        .ready()
        .filter(county_code=settings.HOME_COUNTY_CODE)
        .order_by("-finished_at")
        .first()
    )
    if snapshot is None:
        return None
    return {
        "id": snapshot.pk,
        "period": snapshot.period_label,
        "finished_at": timezone.localtime(snapshot.finished_at).strftime("%Y-%m-%d %H:%M"),
        "url": reverse("reports:snapshot_detail", args=[snapshot.pk]),
        "download": reverse("reports:snapshot_download", args=[snapshot.pk]),
    }


def _year_over_year(user) -> dict:
    """Headline figures of the newest ready school-year snapshot of each year (one query)."""
    latest: dict[int, YearEndSnapshot] = {}
    for snapshot in (
        YearEndSnapshot.objects.visible_to(user)
        .ready()
        .filter(county_code=settings.HOME_COUNTY_CODE, basis=YearEndSnapshot.Basis.SCHOOL)
        .only("year", "figures", "finished_at")
        .order_by("year", "finished_at")
    ):
        latest[snapshot.year] = snapshot
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


def _tile(key: str, label: str, value, url: str | None, *, state: str = "") -> dict:
    return {"key": key, "label": label, "value": value, "url": url, "state": state}


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


def current_nutrition_term(today=None):
    today = today or timezone.localdate()
    terms = NutritionTerm.objects.order_by("-start")
    return terms.filter(start__lte=today, end__gte=today).first() or terms.filter(start__lte=today).first()


def _url(name: str, query: str = "") -> str | None:
    try:
        url = reverse(name)
    except NoReverseMatch:
        return None
    return f"{url}?{query}" if query else url


def _overdue_open_cases(cases, today):
    """Open cases open for more than 30 days (since the current ledger period opened)."""
    cutoff = today - timedelta(days=OVERDUE_DAYS)
    return cases.annotate(
        open_since=Max("periods__opened_on", filter=Q(periods__closed_on__isnull=True))
    ).filter(Q(open_since__lt=cutoff) | Q(open_since__isnull=True, found_on__lt=cutoff))


def school_aid(user, school, data) -> None:
    school_year, term = current_aid_term()
    paid = Payment.objects.visible_to(user).filter(school=school, school_year=school_year, term=term)
    figures = paid.aggregate(
        person_times=Count("pk", filter=Q(status=Payment.Status.PAID)),
        amount=Sum("amount", filter=Q(status=Payment.Status.PAID), default=Decimal("0")),
        failed=Count("pk", filter=Q(status=Payment.Status.FAILED)),
    )
    data["aid"] = {"person_times": figures["person_times"], "amount": money(figures["amount"])}
    data["tiles"].append(
        _tile("aid", _("Aid received this term (yuan)"), money(figures["amount"]), _url("subsidies:index"))
    )
    if figures["failed"]:
        data["actions"].append(
            {
                "label": _("Payments that failed at the bank: check the accounts"),
                "count": figures["failed"],
                "url": _url("subsidies:index"),
            }
        )


def school_dropout(user, school, data) -> None:
    today = timezone.localdate()
    cases = DropoutCase.objects.visible_to(user).open().filter(school=school)
    figures = cases.aggregate(open=Count("pk"))
    overdue = _overdue_open_cases(cases, today).count()
    data["dropout"] = {"open": figures["open"], "overdue": overdue}
    data["tiles"].append(
        _tile(
            "dropout_open",
            _("Open dropout cases"),
            figures["open"],
            _url("dropout:case_list", "status=open"),
            state="bad" if figures["open"] else "",
        )
    )
    if overdue:
        data["actions"].append(
            {
                "label": _("Dropout cases open for more than 30 days"),
                "count": overdue,
                "url": _url("dropout:case_list", "status=open"),
            }
        )


def school_nutrition(user, school, data) -> None:
    today = timezone.localdate()
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
    data["tiles"].append(_tile("meals", _("Meals served this term"), meals, _url("nutrition:index")))
    data["tiles"].append(
        _tile(
            "accompanied_gaps",
            _("School days without an accompanied meal"),
            gaps,
            _url("nutrition:index"),
            state="warn" if gaps else "",
        )
    )
    if gaps:
        data["actions"].append(
            {
                "label": _("Record the principal's accompanied meals"),
                "count": gaps,
                "url": _url("nutrition:index"),
            }
        )


def area_red_lights(user, township, data) -> None:
    """The red-light list: open dropout cases over 30 days, approved aid not yet paid, nutrition flags."""
    today = timezone.localdate()
    cases = DropoutCase.objects.visible_to(user).open()
    # Not yet paid: not yet sent, or at the bank without its result (failed ones have their own count).
    payments = Payment.objects.visible_to(user).filter(
        batch__status=DisbursementBatch.Status.APPROVED,
        status__in=[Payment.Status.PENDING, Payment.Status.SENT],
    )
    term = current_nutrition_term(today)
    pilots = PilotSchool.objects.visible_to(user).filter(term=term) if term else PilotSchool.objects.none()
    if township is not None:
        cases = cases.filter(township=township)
        payments = payments.filter(school__township=township)
        pilots = pilots.filter(school__township=township)
    open_cases = cases.count()
    overdue = _overdue_open_cases(cases, today).count()
    unpaid = payments.aggregate(n=Count("pk"), amount=Sum("amount", default=Decimal("0")))
    diverted = pilots.filter(
        pk__in=Purchase.objects.filter(category__in=Purchase.FORBIDDEN_CATEGORIES).values("pilot_id")
    ).count()
    pilot_count = pilots.count()
    data["tiles"].append(
        _tile(
            "dropout_open",
            _("Open dropout cases"),
            open_cases,
            _url("dropout:case_list", "status=open"),
            state="bad" if open_cases else "",
        )
    )
    data["tiles"].append(
        _tile("pilot_schools", _("Nutrition pilot schools"), pilot_count, _url("nutrition:index"))
    )
    lights = [
        (
            "dropout_overdue",
            _("Dropout cases open for more than 30 days"),
            overdue,
            _url("dropout:case_list", "status=open"),
        ),
        ("aid_unpaid", _("Approved aid not yet paid"), unpaid["n"], _url("subsidies:index")),
        (
            "nutrition_diverted",
            _("Nutrition pilots with money spent on non-food items"),
            diverted,
            _url("nutrition:index"),
        ),
    ]
    data["red_lights"] = [
        {"key": key, "label": label, "count": count, "url": url} for key, label, count, url in lights if count
    ]
    data["unpaid_aid_amount"] = money(unpaid["amount"])


SCHOOL_EXTRAS: list = [school_aid, school_dropout, school_nutrition]
AREA_EXTRAS: list = [area_red_lights]
