"""Dropout-control pages. Thin: scoping in portal.access, rules in dropout_control.services."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Max
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dropout_control import ledger as ledger_module
from dropout_control import matching, selectors, services
from dropout_control.filters import CaseFilter, SuspectFilter, WatchFilter
from dropout_control.forms import (
    CareRecordForm,
    CaseEditForm,
    CaseForm,
    ClearForm,
    CloseForm,
    ClosingRequestForm,
    ConfirmForm,
    ConfirmMonthForm,
    DecisionForm,
    HomeVisitForm,
    LongAbsenceForm,
    ReopenForm,
    ReturnForm,
    TeamForm,
    UploadForm,
    VisitForm,
    WatchPolicyForm,
    ZeroReportForm,
)
from dropout_control.models import (
    ClosingRequest,
    DropoutCase,
    HouseholdRegisterRow,
    HouseholdRegisterUpload,
    LongAbsence,
    ReturnWatch,
    SuspectedDropout,
    WatchPolicy,
)
from dropout_control.services.common import watch_months
from portal import lists
from portal.access import (
    can_confirm_case_closing,
    can_file_zero_report,
    can_reveal_personal,
    can_run_data_matching,
    is_bureau_staff,
    scope_of,
)
from portal.audit import log_access, log_reveals
from portal.decorators import scoped_login_required, write_required
from portal.excel import workbook_response
from portal.forms import ConfirmPasswordForm, add_service_errors, flash_errors
from portal.history import history_for
from portal.models import AccessLog
from students import id_numbers
from students.models import School, Student, Township

CASE_SORTS = {
    "name": ["name"],
    "township": ["township__code", "village", "name"],
    "village": ["village", "name"],
    "school": [F("school__code").asc(nulls_last=True), "name"],
    "found_on": ["found_on"],
    "reason": ["reason", "-found_on"],
    "last_visit": [F("last_visit").asc(nulls_first=True), "-found_on"],
    "status": ["status", "watching", "outcome", "-found_on"],
}
SUSPECT_SORTS = {
    "name": ["name"],
    "township": ["-is_poverty_family", "township__code", "village", "name"],
    "village": ["village", "name"],
    "status": ["status", "township__code", "name"],
}
ABSENCE_SORTS = {
    "name": ["student__name"],
    "school": ["student__school__code", "student__name"],
    "since": ["since"],
}
CLOSING_SORTS = {
    "name": ["case__name"],
    "township": ["case__township__code", "case__name"],
    "asked": ["requested_at"],
    "outcome": ["outcome", "requested_at"],
}
WATCH_SORTS = {
    "name": ["case__name"],
    "school": ["school__code", "case__name"],
    "returned_on": ["returned_on"],
    "watch_until": ["watch_until"],
}
CARE_SORTS = {
    "school": ["school__code", "grade", "name"],
    "name": ["name"],
    "grade": ["grade", "school__code", "name"],
}


@scoped_login_required
def index(request):
    watch_length = WatchPolicy.current_months()
    pending_suspects, missing_from_roll = selectors.pending_suspect_counts(request.user)
    context = {
        "figures": selectors.dashboard_figures(request.user),
        "can_write": scope_of(request.user).writable,
        "pending_suspects": pending_suspects,
        "missing_from_roll": missing_from_roll,
        "pending_closings": selectors.pending_closings(request.user).count(),
        "watched": ReturnWatch.objects.visible_to(request.user).watching().count(),
        "watch_months": watch_length,
        "policy_form": WatchPolicyForm(initial={"months": watch_length})
        if is_bureau_staff(request.user)
        else None,
    }
    return render(request, "dropout_control/index.html", context)


@scoped_login_required
def case_list(request):
    cases = (
        DropoutCase.objects.visible_to(request.user)
        .select_related("township", "school")
        .with_stage()
        .annotate(last_visit=Max("visits__visited_on"))
    )
    filterset = CaseFilter(request.GET, queryset=cases, request=request)
    result = lists.listing(request, filterset.qs, sorts=CASE_SORTS, default="-found_on")
    context = lists.context(result, filter=filterset, can_write=scope_of(request.user).writable)
    return render(request, "dropout_control/case_list.html", context)


@write_required
@require_http_methods(["GET", "POST"])
def case_create(request):
    form = CaseForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        # A child in the registry whom the user may see is linked to the registry's record. Another school's
        # (or township's) pupil is not looked up at all: the case is opened as for a child not in the
        # registry, so that the form tells nothing about children outside the user's scope.
        data["student"] = (
            Student.objects.visible_to(request.user)
            .filter(id_number=id_numbers.normalize(data["id_number"]))
            .first()
        )
        try:
            case = services.case_open(by=request.user, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or _("You may not open a case for this township or school."))
        else:
            messages.success(request, _("The case of %(name)s was opened.") % {"name": case.name})
            return redirect("dropout:case_detail", pk=case.pk)
    return render(request, "dropout_control/case_form.html", {"form": form})


@write_required
@require_http_methods(["GET", "POST"])
def case_edit(request, pk: int):
    case = get_object_or_404(DropoutCase.objects.editable_by(request.user), pk=pk)
    form = CaseEditForm(request.POST or None, instance=case, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.case_update(case=case, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The changes were saved."))
            return redirect("dropout:case_detail", pk=pk)
    return render(request, "dropout_control/case_form.html", {"form": form, "case": case})


def _case_or_404(request, pk: int) -> DropoutCase:
    return get_object_or_404(
        DropoutCase.objects.visible_to(request.user).select_related(
            "township", "school", "student", "outcome_school", "created_by"
        ),
        pk=pk,
    )


@scoped_login_required
@require_http_methods(["GET", "POST"])
def case_detail(request, pk: int):
    case = _case_or_404(request, pk)
    can_edit = DropoutCase.objects.editable_by(request.user).filter(pk=pk).exists()
    # The whole ID number only through the explicit, logged reveal (POST reveal=id), as on a student's page.
    can_reveal = can_reveal_personal(request.user, case)
    reveal = request.method == "POST" and request.POST.get("reveal") == "id" and can_reveal
    log_access(request, AccessLog.Action.REVEAL_ID if reveal else AccessLog.Action.VIEW_RECORD, case)
    team = list(case.team.all())
    visits = list(case.visits.select_related("created_by"))
    home_visits = list(case.home_visits.all())
    periods = list(case.periods.all())
    watches = list(case.watches.select_related("school").prefetch_related("confirmations"))
    running = next((w for w in watches if w.is_watching), None)
    if running is not None:
        confirmed = {c.month for c in running.confirmations.all()}
        running.months = [(m, m in confirmed) for m in watch_months(running)]
    closings = list(case.closing_requests.select_related("outcome_school", "requested_by", "decided_by"))
    confirmations = [c for w in watches for c in w.confirmations.all()]
    pending_closing = next((c for c in closings if c.status == ClosingRequest.Status.PENDING), None)
    if pending_closing is not None:
        pending_closing.case = case
    today = timezone.localdate()
    context = {
        "case": case,
        "stage": DropoutCase.Stage.WATCHED if running is not None else DropoutCase.Stage.FOUND,
        "watches": watches,
        "running_watch": running,
        "closings": closings,
        "pending_closing": pending_closing,
        "closing_dates": selectors.closing_dates(pending_closing, watches) if pending_closing else [],
        "can_confirm_closing": can_confirm_case_closing(request.user),
        "return_form": ReturnForm(initial={"on": today, "school": case.school_id}),
        "confirm_month_form": ConfirmMonthForm(initial={"month": today.replace(day=1)}),
        "request_form": ClosingRequestForm(
            initial={"outcome": "returned", "outcome_school": running.school_id}
            if running is not None
            else None
        ),
        "decision_form": DecisionForm(),
        "can_edit": can_edit,
        "show_full_id": reveal,
        "can_reveal": can_reveal,
        "team": team,
        "visits": visits,
        "home_visits": home_visits,
        "home_hours": sum((v.hours for v in home_visits), start=0),
        "periods": periods,
        "visit_form": VisitForm(initial={"visited_on": timezone.localdate()}),
        "team_form": TeamForm(case=case),
        "close_form": CloseForm(),
        "reopen_form": ReopenForm(),
        "home_visit_form": HomeVisitForm(
            initial={"visited_on": timezone.localdate(), "teacher": case.home_teacher}
        ),
        "history": history_for(
            case,
            *team,
            *visits,
            *home_visits,
            *periods,
            *watches,
            *confirmations,
            *closings,
            personal=can_reveal,
        ),
    }
    return render(request, "dropout_control/case_detail.html", context)


def _editable_case_or_404(request, pk: int) -> DropoutCase:
    return get_object_or_404(DropoutCase.objects.editable_by(request.user), pk=pk)


@write_required
@require_POST
def case_add_visit(request, pk: int):
    case = _editable_case_or_404(request, pk)
    form = VisitForm(request.POST)
    if form.is_valid():
        try:
            services.case_add_visit(case=case, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, _("The visit was recorded."))
    else:
        flash_errors(request, form)
    return redirect("dropout:case_detail", pk=pk)


@write_required
@require_POST
def case_set_team(request, pk: int):
    case = _editable_case_or_404(request, pk)
    form = TeamForm(request.POST, case=case)
    if form.is_valid():
        try:
            services.case_set_team(case=case, members=form.members(), by=request.user)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, _("The responsibility team was saved."))
    return redirect("dropout:case_detail", pk=pk)


@write_required
@require_POST
def case_close(request, pk: int):
    case = _editable_case_or_404(request, pk)
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            services.case_close(case=case, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, _("The case was closed."))
    else:
        flash_errors(request, form)
    return redirect("dropout:case_detail", pk=pk)


def _post_to_service(request, form, call, success: str) -> bool:
    """Run a case action's service from a posted form; a refusal is flashed on the case's page."""
    if not form.is_valid():
        flash_errors(request, ValidationError(form.errors))
        return False
    try:
        call(**form.cleaned_data)
    except ValidationError as exc:
        flash_errors(request, exc)
        return False
    messages.success(request, success)
    return True


@write_required
@require_POST
def case_closing_request(request, pk: int):
    case = _editable_case_or_404(request, pk)
    _post_to_service(
        request,
        ClosingRequestForm(request.POST),
        lambda **data: services.case_close_request(case=case, by=request.user, **data),
        _("The closing was asked for: the bureau confirms it."),
    )
    return redirect("dropout:case_detail", pk=pk)


@write_required
@require_POST
def case_return(request, pk: int):
    case = _editable_case_or_404(request, pk)
    _post_to_service(
        request,
        ReturnForm(request.POST),
        lambda **data: services.case_return(
            case=case, by=request.user, **{**data, "stage": data.get("stage") or ""}
        ),
        _("The return was recorded: the child is on the register and watched."),
    )
    return redirect("dropout:case_detail", pk=pk)


@write_required
@require_POST
def watch_confirm(request, pk: int):
    case = _editable_case_or_404(request, pk)
    _post_to_service(
        request,
        ConfirmMonthForm(request.POST),
        lambda **data: services.watch_confirm_month(case=case, by=request.user, **data),
        _("The month was confirmed."),
    )
    # The list of watched children confirms in a row; the case's page comes back to the case.
    if request.POST.get("back") == "watches":
        return redirect("dropout:watch_list")
    return redirect("dropout:case_detail", pk=pk)


def _closing_or_404(request, pk: int) -> ClosingRequest:
    return get_object_or_404(ClosingRequest.objects.editable_by(request.user).select_related("case"), pk=pk)


@write_required
@require_POST
def closing_confirm(request, pk: int):
    if not can_confirm_case_closing(request.user):
        raise PermissionDenied
    closing = _closing_or_404(request, pk)
    _post_to_service(
        request,
        DecisionForm(request.POST),
        lambda **data: services.case_close_confirm(request=closing, by=request.user, **data),
        _("The case was closed."),
    )
    return redirect("dropout:case_detail", pk=closing.case_id)


@write_required
@require_POST
def closing_reject(request, pk: int):
    if not can_confirm_case_closing(request.user):
        raise PermissionDenied
    closing = _closing_or_404(request, pk)
    _post_to_service(
        request,
        DecisionForm(request.POST),
        lambda **data: services.case_close_reject(request=closing, by=request.user, **data),
        _("The closing was sent back."),
    )
    return redirect("dropout:case_detail", pk=closing.case_id)


@scoped_login_required
def closing_list(request):
    """Closing requests waiting for the bureau (销号申请)."""
    result = lists.listing(
        request, selectors.pending_closings(request.user), sorts=CLOSING_SORTS, default="asked"
    )
    context = {
        **lists.context(result),
        "closings": result.page,
        "can_confirm_closing": can_confirm_case_closing(request.user),
    }
    return render(request, "dropout_control/closing_list.html", context)


@scoped_login_required
def watch_list(request):
    """Children watched after their return, with the months the school still has to confirm."""
    filterset = WatchFilter(request.GET, queryset=selectors.watches(request.user), request=request)
    result = lists.listing(request, filterset.qs, sorts=WATCH_SORTS, default="watch_until")
    result.page.object_list = selectors.with_months_due(result.page.object_list)
    context = lists.context(
        result,
        filter=filterset,
        watches=result.page.object_list,
        can_write=scope_of(request.user).writable,
        confirm_month_form=ConfirmMonthForm(),
    )
    return render(request, "dropout_control/watch_list.html", context)


@write_required
@require_POST
def watch_policy(request):
    if not is_bureau_staff(request.user):
        raise PermissionDenied
    _post_to_service(
        request,
        WatchPolicyForm(request.POST),
        lambda **data: services.watch_policy_set(by=request.user, **data),
        _("The watch period was saved."),
    )
    return redirect("dropout:index")


@scoped_login_required
def home_teaching(request):
    """送教上门 this term: visits due by each child's schedule, overdue ones flagged, hours against the plan."""
    return render(
        request,
        "dropout_control/home_teaching.html",
        {"lines": selectors.home_teaching_monitor(request.user)},
    )


@scoped_login_required
@require_http_methods(["GET", "POST"])
def zero_reports(request):
    """零报告: a school or township with no case confirms the month; everyone sees the month's state."""
    month = _month_start(request)
    form = ZeroReportForm(request.POST or None, initial={"month": month})
    user_scope = scope_of(request.user)
    if request.method == "POST":
        if not can_file_zero_report(request.user):
            raise PermissionDenied
        if form.is_valid():
            target = (
                {"school": get_object_or_404(School, pk=user_scope.school_id)}
                if user_scope.school_id
                else {"township": get_object_or_404(Township, pk=user_scope.township_id)}
            )
            try:
                services.zero_report_file(month=form.cleaned_data["month"], by=request.user, **target)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The zero report was filed."))
                return redirect(f"{request.path}?month={form.cleaned_data['month']:%Y-%m}")
    rows = selectors.zero_report_status(request.user, month)
    context = {
        "form": form,
        "month_value": f"{month:%Y-%m}",
        "rows": rows,
        "missing": sum(1 for r in rows if r["state"] == "missing"),
        "can_file": can_file_zero_report(request.user),
    }
    return render(request, "dropout_control/zero_reports.html", context)


@write_required
@require_POST
def case_reopen(request, pk: int):
    case = _editable_case_or_404(request, pk)
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            services.case_reopen(case=case, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, _("The case was reopened."))
    else:
        flash_errors(request, form)
    return redirect("dropout:case_detail", pk=pk)


@write_required
@require_POST
def home_visit_add(request, pk: int):
    case = _editable_case_or_404(request, pk)
    form = HomeVisitForm(request.POST)
    if form.is_valid():
        try:
            services.home_teaching_log_add(case=case, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, _("The home-teaching visit was logged."))
    else:
        flash_errors(request, form)
    return redirect("dropout:case_detail", pk=pk)


def _month(request) -> tuple[int, int]:
    today = timezone.localdate()
    try:
        year, month = (int(x) for x in request.GET.get("month", "").split("-"))
        if not (2000 <= year <= 2100 and 1 <= month <= 12):
            raise ValueError
    except ValueError:
        year, month = today.year, today.month
    return year, month


@scoped_login_required
def ledger(request):
    year, month = _month(request)
    result = ledger_module.monthly_ledger(year=year, month=month, user=request.user)
    context = {
        "ledger": result,
        "month_value": f"{year}-{month:02d}",
        "can_reveal": can_reveal_personal(request.user),
    }
    return render(request, "dropout_control/ledger.html", context)


def _month_start(request):
    year, month = _month(request)
    return timezone.localdate().replace(year=year, month=month, day=1)


def _full_ids(request, template_query: str):
    """Whole ID numbers for the ledger: a role that works the cases, after typing the password again (POST).

    Returns (full_ids, confirm page or None). The numbers then cover only the cases the user works on.
    """
    if request.method == "POST":
        if not can_reveal_personal(request.user):
            raise PermissionDenied
        form = ConfirmPasswordForm(request.POST, request=request)
        if form.is_valid():
            return True, None
        return False, render(request, "students/export_confirm.html", {"form": form, "query": template_query})
    if request.GET.get("full") == "1" and can_reveal_personal(request.user):
        form = ConfirmPasswordForm(request=request)
        return False, render(request, "students/export_confirm.html", {"form": form, "query": template_query})
    return False, None


def _log_ledger_reveals(request, lines, full_ids: bool, detail: str) -> list[DropoutCase]:
    """The cases whose whole ID number the ledger shows, each logged as revealed (one entry per child)."""
    if not full_ids:
        return []
    revealed = ledger_module.revealable_cases(lines, request.user)
    log_reveals(request, revealed, detail=detail)
    return revealed


@scoped_login_required
@require_http_methods(["GET", "POST"])
def ledger_export(request):
    """The ledger as .xlsx in the province's columns, ID numbers masked unless revealed (logged)."""
    year, month = _month(request)
    full_ids, confirm = _full_ids(request, request.GET.urlencode())
    if confirm is not None:
        return confirm
    lines = ledger_module.ledger_lines(year=year, month=month, user=request.user)
    revealed = _log_ledger_reveals(request, lines, full_ids, f"dropout ledger {year}-{month:02d} exported")
    log_access(
        request,
        AccessLog.Action.EXPORT,
        detail=f"dropout ledger {year}-{month:02d}"
        + (f" full ID numbers of {len(revealed)} children" if full_ids else " masked"),
    )
    workbook = ledger_module.ledger_workbook(
        year=year, month=month, user=request.user, full_ids=full_ids, lines=lines, revealed=revealed
    )
    return workbook_response(
        workbook, _("Dropout ledger %(year)s-%(month)02d.xlsx") % {"year": year, "month": month}
    )


@scoped_login_required
@require_http_methods(["GET", "POST"])
def ledger_print(request):
    """The province's ledger as a page to print (A4 landscape), the same lines as the .xlsx."""
    year, month = _month(request)
    full_ids, confirm = _full_ids(request, request.GET.urlencode())
    if confirm is not None:
        return confirm
    lines = ledger_module.ledger_lines(year=year, month=month, user=request.user)
    revealed = _log_ledger_reveals(request, lines, full_ids, f"dropout ledger {year}-{month:02d} printed")
    context = {
        "headers": [str(h) for h in ledger_module.PROVINCE_HEADERS],
        "rows": ledger_module.province_rows(
            year=year, month=month, user=request.user, full_ids=full_ids, lines=lines, revealed=revealed
        ),
        "ledger": ledger_module.monthly_ledger(year=year, month=month, user=request.user, lines=lines),
        "month_value": f"{year}-{month:02d}",
        "can_reveal": can_reveal_personal(request.user),
        "full_ids": full_ids,
    }
    return render(request, "dropout_control/ledger_print.html", context)


@scoped_login_required
@require_http_methods(["GET", "POST"])
def register(request):
    """四查三比对: uploads of the household register (bureau), and the suspects to decide."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not can_run_data_matching(request.user):
            raise PermissionDenied
        if form.is_valid():
            try:
                upload = matching.household_register_start(
                    file=form.cleaned_data["file"],
                    file_name=form.cleaned_data["file"].name,
                    as_of=form.cleaned_data["as_of"],
                    by=request.user,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if upload.is_finished:
                    messages.success(
                        request,
                        _("%(rows)s children compared: %(suspects)s new suspected dropouts, %(kept)s kept.")
                        % {
                            "rows": upload.row_count,
                            "suspects": upload.suspect_count,
                            "kept": upload.kept_count,
                        },
                    )
                return redirect("dropout:upload_detail", pk=upload.pk)
    context = {
        "form": form,
        "uploads": HouseholdRegisterUpload.objects.visible_to(request.user).select_related("uploaded_by")[
            :20
        ],
        "is_bureau": can_run_data_matching(request.user),
    }
    return render(request, "dropout_control/register.html", context)


@scoped_login_required
def upload_detail(request, pk: int):
    upload = get_object_or_404(HouseholdRegisterUpload.objects.visible_to(request.user), pk=pk)
    rows = HouseholdRegisterRow.objects.visible_to(request.user).filter(upload=upload)
    by_township = (
        rows.exclude(finding=HouseholdRegisterRow.Finding.NOT_OF_AGE)
        .values("township__name", "finding")
        .annotate(n=Count("pk"))
        .order_by("township__name", "finding")
    )
    labels = dict(HouseholdRegisterRow.Finding.choices)
    context = {
        "upload": upload,
        "by_township": [{**r, "finding_label": labels[r["finding"]]} for r in by_township],
    }
    return render(request, "dropout_control/upload_detail.html", context)


@scoped_login_required
def upload_export(request, pk: int):
    upload = get_object_or_404(HouseholdRegisterUpload.objects.visible_to(request.user), pk=pk)
    workbook = matching.ledgers_workbook(upload=upload, user=request.user)
    return workbook_response(workbook, _("Three ledgers %(date)s.xlsx") % {"date": upload.as_of.isoformat()})


@scoped_login_required
def suspect_list(request):
    suspects = SuspectedDropout.objects.visible_to(request.user).select_related(
        "township", "case", "row__upload"
    )
    data = lists.with_default(request.GET, status=SuspectedDropout.Status.PENDING)  # still to decide
    filterset = SuspectFilter(data, queryset=suspects, request=request)
    result = lists.listing(request, filterset.qs, sorts=SUSPECT_SORTS, default="township")
    context = {
        **lists.context(result, filter=filterset),
        "can_write": scope_of(request.user).writable,
        # One pair of forms per row: no ids (they would repeat); each control sits in its <label>.
        "confirm_form": ConfirmForm(auto_id=False),
        "clear_form": ClearForm(auto_id=False),
        **_missing_from_roll(request.user),
    }
    return render(request, "dropout_control/suspect_list.html", context)


MISSING_SHOWN = 50


def _missing_from_roll(user) -> dict:
    """The first of the compulsory-age children missing from the roll, and how many there are (counted only
    when more than the page shows)."""
    missing = list(selectors.missing_from_roll(user)[: MISSING_SHOWN + 1])
    count = len(missing) if len(missing) <= MISSING_SHOWN else selectors.missing_from_roll(user).count()
    return {"missing": missing[:MISSING_SHOWN], "missing_count": count}


@write_required
@require_POST
def suspect_confirm(request, pk: int):
    suspect = get_object_or_404(SuspectedDropout.objects.editable_by(request.user), pk=pk)
    form = ConfirmForm(request.POST)
    if form.is_valid():
        try:
            case = services.suspect_confirm(suspect=suspect, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, _("%(name)s was confirmed as a dropout case.") % {"name": case.name})
            return redirect("dropout:case_detail", pk=case.pk)
    else:
        flash_errors(request, form)
    return redirect("dropout:suspect_list")


@write_required
@require_POST
def suspect_clear(request, pk: int):
    suspect = get_object_or_404(SuspectedDropout.objects.editable_by(request.user), pk=pk)
    form = ClearForm(request.POST)
    if form.is_valid():
        try:
            services.suspect_clear(suspect=suspect, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, _("%(name)s was cleared.") % {"name": suspect.name})
    else:
        flash_errors(request, form)
    return redirect("dropout:suspect_list")


@scoped_login_required
@require_http_methods(["GET", "POST"])
def absence_list(request):
    """Long absences that schools mark: the attendance side of the comparison."""
    form = LongAbsenceForm(request.POST or None)
    if request.method == "POST":
        if not scope_of(request.user).writable:
            raise PermissionDenied
        if form.is_valid():
            number = id_numbers.normalize(form.cleaned_data["id_number"])
            student = Student.objects.editable_by(request.user).filter(id_number=number).first()
            if student is None:
                form.add_error("id_number", _("No pupil of your schools has this ID number."))
            else:
                try:
                    services.long_absence_mark(
                        student=student,
                        since=form.cleaned_data["since"],
                        note=form.cleaned_data["note"],
                        by=request.user,
                    )
                except ValidationError as exc:
                    add_service_errors(form, exc)
                else:
                    messages.success(request, _("The long absence was recorded."))
                    return redirect("dropout:absence_list")
    absences = LongAbsence.objects.visible_to(request.user).current().select_related("student__school")
    result = lists.listing(request, absences, sorts=ABSENCE_SORTS, default="since")
    return render(
        request,
        "dropout_control/absence_list.html",
        lists.context(result, form=form, can_write=scope_of(request.user).writable),
    )


@write_required
@require_POST
def absence_end(request, pk: int):
    absence = get_object_or_404(LongAbsence.objects.editable_by(request.user), pk=pk)
    try:
        services.long_absence_end(absence=absence, on=timezone.localdate(), by=request.user)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, _("The pupil is back at school."))
    return redirect("dropout:absence_list")


@scoped_login_required
def care_roster(request):
    """Page the plain roster first, then count care records for that page only; the paginator's count is
    the roster's total (no second count)."""
    today = timezone.localdate()
    result = lists.listing(
        request, selectors.care_roster(request.user, today), sorts=CARE_SORTS, default="school"
    )
    page = result.page
    page.object_list = selectors.care_roster_rows(page.object_list, today)
    for student in page.object_list:
        student.care_flags = sorted({c.get_category_display() for c in student.care_categories})
    visits = selectors.care_records(request.user).aggregate(
        n=Count("pk"), teachers=Count("teacher", distinct=True)
    )
    totals = {"children": page.paginator.count}
    return render(
        request, "dropout_control/care_roster.html", lists.context(result, totals=totals, visits=visits)
    )


@scoped_login_required
@require_http_methods(["GET", "POST"])
def care_student(request, pk: int):
    student = get_object_or_404(Student.objects.visible_to(request.user).select_related("school"), pk=pk)
    log_access(request, AccessLog.Action.VIEW_RECORD, student, detail="care records")
    can_write = Student.objects.editable_by(request.user).filter(pk=pk).exists()
    form = CareRecordForm(request.POST or None, initial={"visited_on": timezone.localdate()})
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.care_record_add(student=student, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The care record was added."))
                return redirect("dropout:care_student", pk=pk)
    records = student.care_records.all()
    context = {
        "student": student,
        "records": records,
        "form": form,
        "can_write": can_write,
    }
    return render(request, "dropout_control/care_student.html", context)
