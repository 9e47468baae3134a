"""Report pages: the home page and the dashboards, the year-end snapshots with their drill-down, the workbook
download."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal import lists
from portal.access import is_bureau_staff, scope_of
from portal.decorators import scoped_login_required
from portal.forms import flash_errors
from portal.history import history_for
from portal.params import parse_int
from reports import excel, selectors, services, yearend
from reports.filters import SnapshotFilter
from reports.forms import PopulationForm, PublishForm, RebuildForm
from reports.models import AgePopulation, SnapshotPublication, YearEndSnapshot
from students.models import Stage, Student

SNAPSHOT_SORTS = {
    "period": ["year", "basis"],
    "status": ["status"],
    "started_at": ["started_at"],
    "finished_at": [F("finished_at").asc(nulls_last=True)],
    "seconds": [F("seconds").asc(nulls_last=True)],
}


@login_required
def home(request):
    """The portal's landing page of each role: what the user is responsible for, at a glance, with the
    dashboard panel (routed at the root by portal/urls.py through reports.home_urls). Its tables of students
    by stage and schools by type are the dashboard's figures (counted with them, cached with them)."""
    context = {"scope": scope_of(request.user)}
    context.update(selectors.home_context(request.user))
    return render(request, "portal/home.html", context)


@scoped_login_required
@require_GET
def unaided(request):
    """The children of a school (the principal's own; `?school=` for the township and the bureau) that the
    eligibility rule grants an aid this term without a payment of it: the rows the home page counts."""
    level, school = selectors.resolve(request.user, school_id=request.GET.get("school"))
    if level != selectors.SCHOOL:
        raise Http404
    term, lines = selectors.school_unaided(request.user, school)
    names = dict(
        Student.objects.visible_to(request.user)
        .filter(pk__in=[line.student_id for line in lines])
        .values_list("pk", "name")
    )
    stages = dict(Stage.choices)
    rows = [
        {
            "student_id": line.student_id,
            "name": names.get(line.student_id, "—"),
            "stage": stages.get(line.decision.state.stage),
            "grade": line.decision.state.grade,
            "aid": line.decision.policy.get_aid_type_display(),
            "reason": line.decision.reason,
        }
        for line in lines
    ]
    return render(request, "reports/unaided.html", {"school": school, "term": term, "rows": rows})


def county_required(view):
    """Year-end snapshots are county figures: bureau staff and officials only."""

    @scoped_login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not scope_of(request.user).county:
            raise PermissionDenied(_("The year-end report is for bureau staff and officials."))
        return view(request, *args, **kwargs)

    return wrapper


@scoped_login_required
@require_GET
def index(request):
    data = selectors.dashboard_for(
        request.user,
        school_id=request.GET.get("school"),
        township_id=request.GET.get("township"),
    )
    return render(
        request,
        "reports/index.html",
        {
            "dashboard": data,
            "json_query": request.GET.urlencode(),
            "is_county": scope_of(request.user).county,
        },
    )


@scoped_login_required
@require_GET
def dashboard_json(request):
    data = selectors.dashboard_for(
        request.user,
        level=request.GET.get("level"),
        school_id=request.GET.get("school"),
        township_id=request.GET.get("township"),
    )
    return JsonResponse(data)


@county_required
@require_GET
def snapshot_list(request):
    snapshots = (
        YearEndSnapshot.objects.visible_to(request.user)
        .with_publication()
        .select_related("built_by")
        .defer("figures")
    )
    filterset = SnapshotFilter(request.GET, queryset=snapshots, request=request)
    result = lists.listing(request, filterset.qs, sorts=SNAPSHOT_SORTS, default="-started_at")
    form = RebuildForm() if is_bureau_staff(request.user) else None
    # While a rebuild runs the page refreshes itself, so that its progress moves (no script needed).
    building = any(s.status == YearEndSnapshot.Status.BUILDING for s in result.page)
    context = lists.context(result, filter=filterset, snapshots=result.page, form=form, building=building)
    return render(request, "reports/snapshot_list.html", context)


@county_required
@require_POST
def snapshot_rebuild(request):
    if not is_bureau_staff(request.user):
        raise PermissionDenied(
            _("Only bureau staff rebuild the year-end report; officials read and download it.")
        )
    form = RebuildForm(request.POST)
    if form.is_valid():
        try:
            snapshot = services.snapshot_request(
                year=form.cleaned_data["year"], basis=form.cleaned_data["basis"], by=request.user
            )
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(
                request, _("The rebuild has started. The previous report stays available until it is done.")
            )
            return redirect("reports:snapshot_detail", pk=snapshot.pk)
    else:
        flash_errors(request, form)
    return redirect("reports:snapshot_list")


@county_required
@require_http_methods(["GET", "POST"])
def populations(request):
    """The age groups' populations the gross enrolment rates divide by: listed for bureau staff and officials,
    entered and corrected by bureau staff, with the history of every figure."""
    entries = AgePopulation.objects.visible_to(request.user).select_related("county", "entered_by")
    may_enter = is_bureau_staff(request.user)
    form = PopulationForm(request.POST or None) if may_enter else None
    if request.method == "POST":
        if not may_enter:
            raise PermissionDenied(_("Only bureau staff enter the populations of the age groups."))
        if form.is_valid():
            try:
                entry = services.population_set(**form.cleaned_data, by=request.user)
            except ValidationError as exc:
                flash_errors(request, exc)
            else:
                messages.success(
                    request,
                    _("Population of %(band)s for %(year)s saved.")
                    % {"band": entry.get_band_display(), "year": entry.school_year},
                )
                return redirect("reports:populations")
        else:
            flash_errors(request, form)
    return render(
        request,
        "reports/populations.html",
        {"populations": entries, "form": form, "history": history_for(*entries)},
    )


def _snapshot(request, pk: int) -> YearEndSnapshot:
    return get_object_or_404(
        YearEndSnapshot.objects.visible_to(request.user).select_related("built_by"), pk=pk
    )


def _figures_context(snapshot: YearEndSnapshot) -> dict:
    """The figures of a ready snapshot as the report page shows them."""
    if not snapshot.is_ready:
        return {}
    labels = yearend.source_labels()
    return {
        "sections": _presented(snapshot.figures),
        "summary": yearend.summary_lines(snapshot.figures),
        "sources": [(labels.get(k, k), n) for k, n in snapshot.figures.get("sources", {}).items()],
    }


@county_required
@require_GET
def snapshot_detail(request, pk: int):
    snapshot = _snapshot(request, pk)
    state, publication = snapshot.publication_state() if snapshot.is_ready else (None, None)
    context = {"snapshot": snapshot, "state": state, "publication": publication, **_figures_context(snapshot)}
    if state in ("draft", "superseded") and is_bureau_staff(request.user):
        context["publish_form"] = PublishForm()
        context["replaces"] = SnapshotPublication.objects.latest_of(
            year=snapshot.year, basis=snapshot.basis, county_code=snapshot.county_code
        )
    return render(request, "reports/snapshot_detail.html", context)


@county_required
@require_GET
def snapshot_year(request, year: int, basis: str):
    """The report of a year as readers get it: the published version (定稿) once there is one, with the
    newest later build beside it as a draft (草稿) and every figure that differs; the publication log."""
    if basis not in YearEndSnapshot.Basis.values:
        raise Http404
    snapshots = YearEndSnapshot.objects.visible_to(request.user).select_related("built_by")
    published = snapshots.published(year=year, basis=basis)
    draft = snapshots.draft_beside(published) if published else snapshots.newest_ready(year=year, basis=basis)
    shown = published or draft
    publications = (
        SnapshotPublication.objects.visible_to(request.user)
        .of_year(year=year, basis=basis)
        .select_related("published_by", "snapshot")
        .order_by("-published_at", "-pk")
    )
    context = {
        "year": year,
        "basis": basis,
        "period": YearEndSnapshot(year=year, basis=basis).period_label,
        "snapshot": shown,
        "published": published,
        "publication": publications[0] if published else None,
        "draft": draft,
        "differences": yearend.differences(published.figures, draft.figures) if published and draft else None,
        "publications": publications,
        "publish_form": PublishForm() if draft is not None and is_bureau_staff(request.user) else None,
    }
    if shown is not None:
        context.update(_figures_context(shown))
    return render(request, "reports/snapshot_year.html", context)


@county_required
@require_POST
def snapshot_publish(request, pk: int):
    if not is_bureau_staff(request.user):
        raise PermissionDenied(_("Only bureau staff can publish the year-end report."))
    snapshot = _snapshot(request, pk)
    form = PublishForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect("reports:snapshot_detail", pk=snapshot.pk)
    try:
        services.snapshot_publish(snapshot=snapshot, reason=form.cleaned_data["reason"], by=request.user)
    except ValidationError as exc:
        flash_errors(request, exc)
        return redirect("reports:snapshot_detail", pk=snapshot.pk)
    messages.success(
        request,
        _("Published: this version is now the year's report, and later rebuilds will not replace it."),
    )
    return redirect("reports:snapshot_year", year=snapshot.year, basis=snapshot.basis)


@county_required
@require_GET
def snapshot_section(request, pk: int, section: str):
    """Drill-down: a section's headline figures by township, then a township's schools, then the records."""
    snapshot = _snapshot(request, pk)
    spec = yearend.section_by_key(section)
    if spec is None or not snapshot.is_ready or section not in snapshot.figures["sections"]:
        raise Http404
    data = snapshot.figures["sections"][section]
    township_id = request.GET.get("township")
    townships = {t["id"]: t for t in snapshot.figures["townships"]}
    if township_id:
        township = townships.get(parse_int(township_id))
        if township is None:
            raise Http404
        rows = [
            {
                "label": s["name"],
                "code": s["code"],
                "values": _values(spec.headline, data["by_school"].get(str(s["id"]), {})),
                "list_url": _list_url(spec, school=s["id"]),
            }
            for s in snapshot.figures["schools"]
            if s["township_id"] == township["id"] and (s["active"] or str(s["id"]) in data["by_school"])
        ]
    else:
        township = None
        rows = [
            {
                "label": t["name"],
                "code": t["code"],
                "values": _values(spec.headline, data["by_township"].get(str(t["id"]), {})),
                "drill": f"?township={t['id']}",
                "list_url": _list_url(spec, township=t["id"]),
            }
            for t in snapshot.figures["townships"]
        ]
    context = {
        "snapshot": snapshot,
        "section": spec,
        "township": township,
        "headline": spec.headline,
        "rows": rows,
        "total": _values(spec.headline, data["total"]),
    }
    return render(request, "reports/snapshot_section.html", context)


@county_required
@require_GET
def snapshot_download(request, pk: int):
    snapshot = _snapshot(request, pk)
    if not snapshot.is_ready:
        messages.error(
            request, _("This report is still being built or failed; download it once it is ready.")
        )
        return redirect("reports:snapshot_detail", pk=snapshot.pk)
    return excel.xlsx_response(snapshot)


def _list_url(spec: yearend.Section, **filters) -> str | None:
    if spec.list_url is None:
        return None
    from urllib.parse import urlencode

    from django.urls import NoReverseMatch, reverse

    name, params = spec.list_url
    try:
        url = reverse(name)
    except NoReverseMatch:
        return None
    return f"{url}?{urlencode({**params, **filters})}"


def _values(measures, values: dict) -> list[dict]:
    return [
        {"kind": m.kind, "value": values.get(m.key), "text": yearend.cell_text(m, values)} for m in measures
    ]


def _presented(figures: dict) -> list[dict]:
    """Sections with their tables as rows of labelled cells, for the snapshot page."""
    out = []
    for spec in yearend.sections():
        data = figures["sections"].get(spec.key)
        if data is None:
            continue
        tables = []
        for table in spec.tables:
            stored = data["tables"].get(table.name)
            if stored is None:
                continue
            labels = table.labels()
            tables.append(
                {
                    "title": table.title,
                    "dimension": table.dimension,
                    "measures": table.measures,
                    "rows": [
                        {"label": labels.get(r["key"], r["key"]), "values": _values(table.measures, r)}
                        for r in stored["rows"]
                    ],
                    "total": _values(table.measures, stored["total"]) if stored.get("total") else None,
                }
            )
        out.append({"spec": spec, "tables": tables})
    return out
