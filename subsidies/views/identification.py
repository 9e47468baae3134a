"""Pages of needy-student identification (家庭经济困难学生认定, issue 17): the year's identifications, one
family's identification step by step, the school's 公示 (printable, and as .xlsx), and the one list of the
year's identified students (school identification and other departments' lists together).

Principals run their school's identification, bureau staff confirm and set the 公示 period, township
officers and officials read (portal.access: `can_run_identification`, `can_confirm_identification`)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal import lists
from portal.access import can_confirm_identification, can_reveal_personal, can_run_identification, scope_of
from portal.audit import log_access
from portal.decorators import scoped_login_required
from portal.excel import workbook_response
from portal.forms import add_service_errors, flash_errors
from portal.history import history_for
from portal.models import AccessLog
from portal.params import parse_int
from students.models import School, school_year_of
from subsidies import selectors, services
from subsidies.filters import IdentificationFilter, IdentifiedFilter
from subsidies.forms import (
    IdentificationApplyForm,
    IdentificationConfirmForm,
    IdentificationDecideForm,
    IdentificationObjectionForm,
    IdentificationPublicityForm,
    IdentificationResolveForm,
    IdentificationReviewForm,
    IdentificationRoundForm,
)
from subsidies.identification import publicity_columns, publicity_rows, publicity_workbook
from subsidies.models import (
    Identification,
    IdentificationLevel,
    IdentificationObjection,
    IdentificationRound,
    publicity_days_of,
)
from subsidies.models.common import Category
from subsidies.services.identification import is_withdrawal

IDENTIFICATION_SORTS = {
    "name": ["student__name"],
    "school": ["school__name", "student__name"],
    "year": ["-school_year", "school__name", "student__name"],
    "status": ["status", "student__name"],
}
IDENTIFIED_SORTS = {
    "name": ["name"],
    "school": ["school__name", "name"],
    "level": [F("identified_level").asc(nulls_last=True), "name"],
}


def _year(request) -> int:
    return parse_int(request.GET.get("school_year"), low=2000, high=2100) or school_year_of()


@scoped_login_required
@require_http_methods(["GET", "POST"])
def identification_list(request):
    data = request.POST if request.method == "POST" else None
    name = data.get("form_name") if data else None
    apply_form = (
        # Own ids: the filter form above has fields of the same names.
        IdentificationApplyForm(data if name == "apply" else None, auto_id="apply_%s")
        if can_run_identification(request.user)
        else None
    )
    round_form = (
        IdentificationRoundForm(
            data if name == "round" else None, initial={"school_year": school_year_of()}, auto_id="round_%s"
        )
        if can_confirm_identification(request.user)
        else None
    )
    if request.method == "POST":
        form = {"apply": apply_form, "round": round_form}.get(name)
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                if name == "apply":
                    done = services.identification_apply(by=request.user, **form.service_fields())
                else:
                    fields = {k: v for k, v in form.cleaned_data.items() if k != "form_name"}
                    services.identification_round_set(by=request.user, **fields)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Recorded."))
                if name == "apply":
                    return redirect("subsidies:identification_detail", pk=done.pk)
                return redirect("subsidies:identification_list")
    rows = Identification.objects.visible_to(request.user).select_related("student", "school")
    params = lists.with_default(request.GET, school_year=str(school_year_of()))
    filterset = IdentificationFilter(params, queryset=rows, request=request)
    result = lists.listing(request, filterset.qs, sorts=IDENTIFICATION_SORTS, default="school", params=params)
    return render(
        request,
        "subsidies/identification_list.html",
        lists.context(
            result,
            filter=filterset,
            apply_form=apply_form,
            round_form=round_form,
            rounds=IdentificationRound.objects.visible_to(request.user)[:5],
        ),
    )


FORMS = {
    "review": (IdentificationReviewForm, can_run_identification),
    "decide": (IdentificationDecideForm, can_run_identification),
    "objection": (IdentificationObjectionForm, can_run_identification),
    "resolve": (IdentificationResolveForm, can_run_identification),
    "confirm": (IdentificationConfirmForm, can_confirm_identification),
}


def _act(request, identification: Identification, name: str, fields: dict):
    if name == "review":
        return services.identification_review(by=request.user, identification=identification, **fields)
    if name == "decide":
        return services.identification_decide(by=request.user, identification=identification, **fields)
    if name == "objection":
        return services.identification_objection_add(by=request.user, identification=identification, **fields)
    if name == "resolve":
        objection = get_object_or_404(
            IdentificationObjection.objects.visible_to(request.user).filter(identification=identification),
            pk=fields.pop("objection"),
        )
        return services.identification_objection_resolve(by=request.user, objection=objection, **fields)
    return services.identification_confirm(by=request.user, identification=identification, **fields)


@scoped_login_required
@require_http_methods(["GET", "POST"])
def identification_detail(request, pk: int):
    identification = get_object_or_404(
        Identification.objects.visible_to(request.user).select_related("student", "school"), pk=pk
    )
    if request.method == "POST":
        name = request.POST.get("form_name")
        if name not in FORMS:
            raise PermissionDenied
        form_class, allowed = FORMS[name]
        if not allowed(request.user):
            raise PermissionDenied
        form = form_class(request.POST)
        if form.is_valid():
            fields = {k: v for k, v in form.cleaned_data.items() if k != "form_name"}
            try:
                _act(request, identification, name, fields)
            except ValidationError as exc:
                flash_errors(request, exc)
            else:
                messages.success(request, _("Recorded."))
        else:
            flash_errors(request, form)
        return redirect("subsidies:identification_detail", pk=pk)
    log_access(request, AccessLog.Action.VIEW_RECORD, identification.student, detail="identification")
    run = can_run_identification(request.user) and identification.status != Identification.Status.CONFIRMED
    objections = list(identification.objections.all())
    # Every step in the change history; its diffs carry the family's reasons: the working roles only.
    reveal = can_reveal_personal(request.user)
    return render(
        request,
        "subsidies/identification_detail.html",
        {
            "i": identification,
            # The family's reasons may name an illness or a disability: not for the read-only roles.
            "show_reasons": reveal,
            "objections": objections,
            "history": history_for(identification, *objections) if reveal else None,
            "publicity_days": publicity_days_of(identification.school_year),
            "forms": {
                "review": IdentificationReviewForm() if run else None,
                "decide": IdentificationDecideForm() if run else None,
                "objection": IdentificationObjectionForm() if run else None,
                "resolve": IdentificationResolveForm(auto_id="resolve_%s") if run else None,
                "confirm": IdentificationConfirmForm(auto_id="confirm_%s")
                if can_confirm_identification(request.user)
                and (identification.status == Identification.Status.DECIDED or is_withdrawal(identification))
                else None,
            },
        },
    )


def _publicity_school(request):
    """The school whose 公示 is asked for: the principal's own, or the one the URL names (in scope)."""
    own = scope_of(request.user).school_id
    pk = parse_int(request.GET.get("school")) or own
    if not pk:
        return None
    return get_object_or_404(School.objects.visible_to(request.user), pk=pk)


@scoped_login_required
@require_http_methods(["GET", "POST"])
def identification_publicity(request):
    year = _year(request)
    form = None
    if can_run_identification(request.user):
        form = IdentificationPublicityForm(
            request.POST if request.method == "POST" else None,
            user=request.user,
            initial={"school_year": year, "school": scope_of(request.user).school_id},
        )
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                n = services.identification_publicise(by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("%(n)s identifications are on the 公示.") % {"n": n})
                school, year = form.cleaned_data["school"], form.cleaned_data["school_year"]
                return redirect(f"{request.path}?school={school.pk}&school_year={year}")
    school = _publicity_school(request)
    rows = list(selectors.publicity_list(year, school, user=request.user)) if school else []
    if school is not None and request.GET.get("format") == "xlsx":
        log_access(request, AccessLog.Action.EXPORT, school, detail=f"identification publicity {year}")
        return workbook_response(
            publicity_workbook(school, year, rows), f"认定公示_{school.name}_{year}.xlsx"
        )
    return render(
        request,
        "subsidies/identification_publicity.html",
        {
            "school": school,
            "school_year": year,
            "schools": School.objects.visible_to(request.user).order_by("name"),
            "columns": publicity_columns(),
            "rows": publicity_rows(rows),
            "publicity_days": publicity_days_of(year),
            "form": form,
        },
    )


@scoped_login_required
def identified_list(request):
    year = _year(request)
    students = selectors.identified_students(year, user=request.user)
    filterset = IdentifiedFilter(request.GET, queryset=students, request=request)
    result = lists.listing(request, filterset.qs, sorts=IDENTIFIED_SORTS, default="school")
    for student in result.page:
        level = student.identified_level
        student.identified_level_label = IdentificationLevel(level).label if level else ""
        student.identified_category_labels = [Category(c).label for c in student.identified_categories]
    return render(
        request,
        "subsidies/identified_list.html",
        lists.context(result, filter=filterset, school_year=year),
    )
