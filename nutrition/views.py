"""Nutrition-plan pages. Thin: scoping in portal.access, rules in nutrition.services and nutrition.rules."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from nutrition import forms, importing, rules, services
from nutrition.filters import PilotFilter
from nutrition.models import MealImport, NutritionTerm, PilotSchool, Purchase, TermHoliday
from nutrition.selectors import county_figures
from portal import lists
from portal.access import can_record_nutrition, is_bureau_staff
from portal.decorators import bureau_required, scoped_login_required
from portal.forms import add_service_errors, flash_errors
from portal.history import history_for
from portal.params import parse_int
from students.models import Stage

PILOT_SORTS = {
    "school": ["school__code"],
    "township": ["school__township__code", "school__code"],
    "supply": ["supply_mode", "school__code"],
    "received": ["total_received", "school__code"],
    "spent": ["total_spent", "school__code"],
    # The column counts the days *without* one: ascending is the most days with one first.
    "accompanied": ["-accompanied_days", "school__code"],
}


def _terms_and_current(request) -> tuple[list[NutritionTerm], NutritionTerm | None]:
    """Every term the user may pick (each with its holidays, as `holiday_days`), and the one shown: the
    term asked for (404 if not one of them), else the running term, else between terms the last one that
    began (not a term set up ahead for next spring), else the newest. One query for the list and the pick."""
    terms = list(
        NutritionTerm.objects.visible_to(request.user)
        .annotate(
            holiday_days=ArraySubquery(
                TermHoliday.objects.filter(term=OuterRef("pk")).order_by("day").values("day")
            )
        )
        .order_by("-start")
    )
    term_id = parse_int(request.GET.get("term"))
    if term_id is not None:
        chosen = next((t for t in terms if t.pk == term_id), None)
        if chosen is None:
            raise Http404
        return terms, chosen
    today = timezone.localdate()
    begun = [t for t in terms if t.start <= today]
    running = [t for t in begun if t.end >= today]
    return terms, next(iter(running or begun or terms), None)


@scoped_login_required
def index(request):
    """The dashboard: the county's (or the user's school's) accounts and figures for a term."""
    terms, term = _terms_and_current(request)
    today = timezone.localdate()
    pilots = (
        PilotSchool.objects.visible_to(request.user)
        .filter(term=term)
        .select_related("school__township", "term")
        .with_totals()
    )
    school_days = len(rules.school_days(term, term.holiday_days, until=today)) if term else 0
    filterset = PilotFilter(request.GET, queryset=pilots, request=request)
    result = lists.listing(
        request, filterset.qs.with_accompanied_days(today), sorts=PILOT_SORTS, default="township"
    )
    page = result.page
    rows = [(pilot, rules.reconcile(pilot), school_days - pilot.accompanied_days) for pilot in page]
    context = {
        "term": term,
        "term_running": term is not None and term.contains(today),
        "today": today,
        "terms": terms,
        **lists.context(result, filter=filterset),
        "rows": rows,
        "school_days": school_days,
        "total": rules.reconcile_all(pilots) if term else None,
        "figures": county_figures(term, request.user) if term else None,
        "can_record": can_record_nutrition(request.user),
    }
    return render(request, "nutrition/index.html", context)


def _pilot_context(request, pilot: PilotSchool, **forms_in_error) -> dict:
    today = timezone.localdate()
    holidays = set(pilot.term.holidays.values_list("day", flat=True))
    accompanied_days = set(pilot.accompanied.values_list("day", flat=True))
    school_days = rules.school_days(pilot.term, holidays, until=today)
    can_record = can_record_nutrition(request.user) and not pilot.term.is_closed
    context = {
        "pilot": pilot,
        "rec": rules.reconcile(pilot),
        "covered": [
            (Stage.PRIMARY.label, pilot.covered_primary),
            (Stage.JUNIOR.label, pilot.covered_junior),
            *([(Stage.PRESCHOOL.label, pilot.covered_preschool)] if pilot.preschool_plan else []),
        ],
        "preschool_standard": rules.preschool_daily_standard(pilot),
        "meals": pilot.meals.order_by("-day", "stage")[:60],
        "purchases": pilot.purchases.all()[:100],
        "forbidden": Purchase.FORBIDDEN_CATEGORIES,
        "receipts": pilot.receipts.all(),
        "accompanied": pilot.accompanied.all()[:60],
        "checks": pilot.safety_checks.all()[:60],
        "school_days_so_far": len(school_days),
        "days_without_accompanied": [d for d in school_days if d not in accompanied_days][-30:],
        "missing_accompanied": sum(1 for d in school_days if d not in accompanied_days),
        "can_record": can_record,
        "is_bureau": is_bureau_staff(request.user),
        "meal_form": forms.MealForm(),
        "accompanied_form": forms.AccompaniedForm(),
        "purchase_form": forms.PurchaseForm(),
        "receipt_form": forms.ReceiptForm(),
        "check_form": forms.SafetyCheckForm(),
        "history": history_for(
            pilot,
            *pilot.meals.order_by("-updated_at")[:10],
            *pilot.purchases.all()[:10],
            *pilot.receipts.all()[:5],
            limit=100,
        ),
    }
    context.update(forms_in_error)
    return context


def _visible_pilot(request, pk: int) -> PilotSchool:
    return get_object_or_404(
        PilotSchool.objects.visible_to(request.user).select_related("school__township", "term"), pk=pk
    )


@scoped_login_required
def pilot_detail(request, pk: int):
    pilot = _visible_pilot(request, pk)
    return render(request, "nutrition/pilot_detail.html", _pilot_context(request, pilot))


def _record(request, pk: int, form_class, context_name: str, service, success: str, **extra):
    """Shared POST handling of the pilot page's forms: a refusal re-shows the page with the message."""
    if not can_record_nutrition(request.user):
        raise PermissionDenied
    pilot = get_object_or_404(
        PilotSchool.objects.editable_by(request.user).select_related("term", "school"), pk=pk
    )
    form = form_class(request.POST)
    if form.is_valid():
        try:
            service(pilot=pilot, by=request.user, **form.cleaned_data, **extra)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, success)
            return redirect("nutrition:pilot_detail", pk=pk)
    context = _pilot_context(request, _visible_pilot(request, pk), **{context_name: form})
    return render(request, "nutrition/pilot_detail.html", context, status=400)


@scoped_login_required
@require_POST
def meal_add(request, pk: int):
    return _record(
        request, pk, forms.MealForm, "meal_form", services.meal_record, _("The meals were recorded.")
    )


@scoped_login_required
@require_POST
def accompanied_add(request, pk: int):
    return _record(
        request,
        pk,
        forms.AccompaniedForm,
        "accompanied_form",
        services.accompanied_add,
        _("The accompanied meal was recorded."),
    )


@scoped_login_required
@require_POST
def purchase_add(request, pk: int):
    return _record(
        request,
        pk,
        forms.PurchaseForm,
        "purchase_form",
        services.purchase_add,
        _("The purchase was recorded."),
    )


@bureau_required
@require_POST
def receipt_add(request, pk: int):
    return _record(
        request, pk, forms.ReceiptForm, "receipt_form", services.receipt_add, _("The receipt was recorded.")
    )


@scoped_login_required
@require_POST
def check_add(request, pk: int):
    return _record(
        request,
        pk,
        forms.SafetyCheckForm,
        "check_form",
        services.safety_check_add,
        _("The food-safety check was recorded."),
    )


@scoped_login_required
@require_http_methods(["GET", "POST"])
def meals_import(request):
    if not can_record_nutrition(request.user):
        raise PermissionDenied
    form = forms.MealImportForm(request.POST or None, request.FILES or None)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            job = importing.meal_import_start(
                file=form.cleaned_data["file"],
                term=form.cleaned_data["term"],
                month=form.cleaned_data["month"],
                by=request.user,
            )
        except ValidationError as exc:
            errors = exc.messages
        else:
            if job.status != MealImport.Status.REJECTED:
                return redirect("nutrition:meal_import_detail", pk=job.pk)
            # A small file refused in this request: its rows are listed above the form, to fix and retry.
            errors = job.errors
    status = 400 if errors or form.errors else 200
    jobs = MealImport.objects.visible_to(request.user).select_related("term", "uploaded_by")[:10]
    return render(
        request,
        "nutrition/meals_import.html",
        {"form": form, "errors": errors, "header": importing.HEADER, "jobs": jobs},
        status=status,
    )


@scoped_login_required
def meal_import_detail(request, pk: int):
    """An import's progress (the page reloads itself until the job ends) and its result."""
    job = get_object_or_404(MealImport.objects.visible_to(request.user).select_related("term"), pk=pk)
    return render(request, "nutrition/meal_import_detail.html", {"job": job})


@bureau_required
@require_http_methods(["GET", "POST"])
def terms(request):
    """The nutrition office sets up terms, their holidays and pilot schools."""
    form = forms.TermForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            term = services.term_create(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The term %(term)s was created.") % {"term": term})
            return redirect("nutrition:term_detail", pk=term.pk)
    context = {"form": form, "terms": NutritionTerm.objects.all(), "today": timezone.localdate()}
    return render(request, "nutrition/terms.html", context)


@bureau_required
@require_http_methods(["GET", "POST"])
def term_detail(request, pk: int):
    term = get_object_or_404(NutritionTerm, pk=pk)
    holiday_form = forms.HolidayForm(request.POST if request.POST.get("action") == "holiday" else None)
    enrol_form = forms.EnrolForm(request.POST if request.POST.get("action") == "enrol" else None, term=term)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "holiday" and holiday_form.is_valid():
                services.holiday_add(term=term, by=request.user, **holiday_form.cleaned_data)
                messages.success(request, _("The holiday was added."))
                return redirect("nutrition:term_detail", pk=pk)
            if action == "enrol" and enrol_form.is_valid():
                pilot = services.pilot_enrol(term=term, by=request.user, **enrol_form.cleaned_data)
                messages.success(request, _("%(school)s joined the plan.") % {"school": pilot.school})
                return redirect("nutrition:term_detail", pk=pk)
            if action == "close":
                services.term_close(term=term, by=request.user)
                messages.success(request, _("The term was closed."))
                return redirect("nutrition:term_detail", pk=pk)
        except ValidationError as exc:
            flash_errors(request, exc)
    context = {
        "term": term,
        "holiday_form": holiday_form,
        "enrol_form": enrol_form,
        "pilots": term.pilots.select_related("school__township").order_by("school__code"),
        "holidays": term.holidays.all(),
    }
    return render(request, "nutrition/term_detail.html", context)
