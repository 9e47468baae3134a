"""Batch pages: the list, generate, review, approve, the bank file and the bank results, release and re-pay."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal import lists
from portal.access import is_bureau_staff, scope_of
from portal.audit import log_access
from portal.decorators import bureau_required, scoped_login_required
from portal.excel import workbook_response
from portal.forms import ConfirmPasswordForm, flash_errors
from portal.history import history_for
from portal.models import AccessLog
from students.models import Student
from subsidies import bank, selectors, services
from subsidies.filters import (
    BatchFilter,
    PaymentFilter,
)
from subsidies.forms import (
    AddStudentForm,
    ApproveForm,
    GenerateForm,
    PaidByHandForm,
    PaidForm,
    PayrollLayoutChoiceForm,
    ReasonForm,
    ResultUploadForm,
)
from subsidies.models import (
    BatchEvent,
    DisbursementBatch,
    PayeeKind,
    Payment,
)
from subsidies.models.batches import attach_totals, totals_by_batch
from subsidies.views.common import visible_batch

BATCH_SORTS = {
    "aid_type": ["aid_type", "-school_year", "term"],
    "term": ["-school_year", "term", "aid_type"],
    "status": ["status", "-school_year", "term", "aid_type"],
    "eligibility": ["eligibility_date"],
}
PAYMENT_SORTS = {
    "student": ["student__name"],
    "school": ["school__code", "student__name"],
    "stage": ["stage", "school__code", "student__name"],
    "amount": ["amount", "student__name"],
    "status": ["status", "school__code", "student__name"],
}

# --- Batches ------------------------------------------------------------------------------------------


@scoped_login_required
def index(request):
    """The batches, each with the person-times and amount the user may see: drawn, and paid apart."""
    batches = DisbursementBatch.objects.visible_to(request.user)
    filterset = BatchFilter(request.GET, queryset=batches, request=request)
    result = lists.listing(request, filterset.qs, sorts=BATCH_SORTS, default="term")
    page = result.page
    # One grouped read of the batches' totals by school (not their payments) gives each row's figures and the
    # totals above them.
    by_batch = totals_by_batch(request.user, filterset.qs)
    attach_totals(page, by_batch)
    figures = by_batch.values()
    totals = {
        "n": sum(f["person_times"] for f in figures),
        "paid_n": sum(f["paid_person_times"] for f in figures),
        "amount": sum(f["amount"] or 0 for f in figures),
        "paid_amount": sum(f["paid_amount"] or 0 for f in figures),
    }
    return render(
        request,
        "subsidies/index.html",
        lists.context(
            result,
            filter=filterset,
            totals=totals,
            generate_form=GenerateForm() if is_bureau_staff(request.user) else None,
        ),
    )


@bureau_required
@require_POST
def batch_generate(request):
    form = GenerateForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect("subsidies:index")
    try:
        batch = services.batch_generate(by=request.user, **form.cleaned_data)
    except ValidationError as exc:
        flash_errors(request, exc)
        return redirect("subsidies:index")
    if not batch.is_drawn:
        # A county-wide draw runs in a Celery task; the page shows the batch as being drawn until it is done.
        messages.info(request, _("The batch is being drawn; refresh the page in a minute."))
        return redirect("subsidies:batch_detail", pk=batch.pk)
    messages.success(request, _("Batch generated: %(n)s students.") % {"n": batch.payments.count()})
    quota = selectors.quota_status(aid_type=batch.aid_type, school_year=batch.school_year, term=batch.term)
    if quota.exceeded:
        messages.warning(
            request,
            _("The batch exceeds the quota: allocated %(allocated)s, drawn %(drawn)s.")
            % {"allocated": quota.allocated, "drawn": quota.drawn},
        )
    return redirect("subsidies:batch_detail", pk=batch.pk)


@scoped_login_required
def batch_detail(request, pk: int):
    batch = get_object_or_404(DisbursementBatch.objects.visible_to(request.user), pk=pk)
    payments = Payment.objects.visible_to(request.user).filter(batch=batch)
    filterset = PaymentFilter(
        request.GET, queryset=payments.select_related("student", "school"), request=request
    )
    listed = filterset.qs.annotate(has_account=selectors.has_account())
    result = lists.listing(request, listed, sorts=PAYMENT_SORTS, default="school")
    is_bureau = is_bureau_staff(request.user)
    bank_files = list(selectors.bank_files(batch)) if is_bureau else []
    downloaded = request.GET.get("downloaded", "")
    downloaded = next((f for f in bank_files if str(f.number) == downloaded), None)
    no_account = bank.without_account(bank.due_payments(batch).filter(pk__in=payments.values("pk")))
    context = {
        "batch": batch,
        **lists.context(result, filter=filterset),
        "totals": selectors.payment_totals(payments),
        "reconciliation": selectors.reconciliation(payments),
        "bank_files": bank_files,
        # After a bank file's download (the confirm page's script comes back here): what the file held.
        "downloaded": downloaded,
        "bank_file_name": selectors.bank_file_name(batch, downloaded.number if downloaded else None),
        # Family payments that cannot go in a bank file: listed, with a warning, before the file is made.
        "no_account": no_account[:200],
        "no_account_count": no_account.count(),
        "transfers_due": payments.filter(status=Payment.Status.PENDING)
        .exclude(payee=PayeeKind.PERSON)
        .exists(),
        "held": payments.filter(status=Payment.Status.HELD).count(),
        "failed": payments.filter(status=Payment.Status.FAILED).count(),
        "quota": selectors.quota_status(
            aid_type=batch.aid_type, school_year=batch.school_year, term=batch.term
        ),
        "steps": BatchEvent.objects.visible_to(request.user)
        .filter(batch=batch)
        .select_related("by", "student"),
        "drawing": not batch.is_drawn,
        "is_bureau": is_bureau,
        "can_review": batch.status == DisbursementBatch.Status.DRAFT and scope_of(request.user).writable,
        "add_form": AddStudentForm(),
        "paid_form": PaidForm(),
        "paid_by_hand_form": PaidByHandForm(),
        "result_form": ResultUploadForm(),
        "history": history_for(batch) if is_bureau else None,
    }
    return render(request, "subsidies/batch_detail.html", context)


@bureau_required
@require_POST
def batch_draw(request, pk: int):
    """Draw now a batch whose background draw did not finish (the task is idempotent, so is this)."""
    batch = visible_batch(request, pk)
    if batch.is_drawn:
        return redirect("subsidies:batch_detail", pk=pk)
    try:
        n = services.batch_draw(batch=batch, by=request.user)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, _("Batch generated: %(n)s students.") % {"n": n})
    return redirect("subsidies:batch_detail", pk=pk)


@bureau_required
@require_http_methods(["GET", "POST"])
def batch_approve(request, pk: int):
    """审批通过: the page states how many students and how much it approves and asks; the POST carries those
    figures back, and the approval is refused if the batch no longer has them."""
    batch = visible_batch(request, pk)
    if batch.status != DisbursementBatch.Status.DRAFT:
        return redirect("subsidies:batch_detail", pk=pk)
    if request.method == "POST":
        form = ApproveForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Confirm the number of students and the amount before approving."))
            return redirect("subsidies:batch_approve", pk=pk)
        try:
            batch = services.batch_approve(batch=batch, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            flash_errors(request, exc)
            return redirect("subsidies:batch_approve", pk=pk)
        held = batch.payments.filter(status=Payment.Status.HELD).count()
        messages.success(request, _("The batch was approved."))
        if held:
            messages.warning(
                request, _("%(n)s students no longer qualify and are held, not paid.") % {"n": held}
            )
        return redirect("subsidies:batch_detail", pk=pk)
    count, amount = selectors.approval_figures(batch)
    context = {
        "batch": batch,
        "count": count,
        "amount": amount,
        "form": ApproveForm(
            initial={
                "expected_count": count,
                "expected_amount": amount,
                "expected_fingerprint": selectors.approval_fingerprint(batch),
            }
        ),
        "quota": selectors.quota_status(
            aid_type=batch.aid_type, school_year=batch.school_year, term=batch.term
        ),
    }
    return render(request, "subsidies/batch_approve_confirm.html", context)


@bureau_required
@require_POST
def batch_mark_paid(request, pk: int):
    batch = visible_batch(request, pk)
    form = PaidForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect("subsidies:batch_detail", pk=pk)
    try:
        services.batch_mark_paid(batch=batch, by=request.user, **form.cleaned_data)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, _("The transfer to schools and canteens was recorded."))
    return redirect("subsidies:batch_detail", pk=pk)


@scoped_login_required
@require_POST
def batch_add_student(request, pk: int):
    batch = visible_batch(request, pk)
    form = AddStudentForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect("subsidies:batch_detail", pk=pk)
    student = (
        Student.objects.visible_to(request.user).filter(id_number=form.cleaned_data["id_number"]).first()
    )
    if student is None:
        messages.error(request, _("No student with this ID number among your students."))
        return redirect("subsidies:batch_detail", pk=pk)
    try:
        services.batch_add_student(
            batch=batch, student=student, reason=form.cleaned_data["reason"], by=request.user
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    except PermissionDenied:
        messages.error(request, _("You may not change this student's aid."))
    else:
        messages.success(request, _("%(name)s was added to the batch.") % {"name": student.name})
    return redirect("subsidies:batch_detail", pk=pk)


@scoped_login_required
@require_POST
def batch_remove_student(request, pk: int, student_pk: int):
    batch = visible_batch(request, pk)
    student = get_object_or_404(Student.objects.visible_to(request.user), pk=student_pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect("subsidies:batch_detail", pk=pk)
    try:
        services.batch_remove_student(
            batch=batch, student=student, reason=form.cleaned_data["reason"], by=request.user
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, _("%(name)s was removed from the batch.") % {"name": student.name})
    return redirect("subsidies:batch_detail", pk=pk)


def _payment_action(request, pk: int, form_class, service, done: str | None = None):
    """One bureau action on one payment: the form, the service, its refusal or `done`, back to the batch."""
    payment = get_object_or_404(Payment.objects.visible_to(request.user), pk=pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            service(payment=payment, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            if done:
                messages.success(request, done)
    else:
        flash_errors(request, form)
    return redirect("subsidies:batch_detail", pk=payment.batch_id)


@bureau_required
@require_POST
def payment_release(request, pk: int):
    return _payment_action(request, pk, ReasonForm, services.payment_release)


@bureau_required
@require_POST
def payment_repay(request, pk: int):
    """A failed payment goes in the next bank file."""
    return _payment_action(
        request, pk, ReasonForm, services.payment_repay, _("The payment will be in the next bank file.")
    )


@bureau_required
@require_POST
def payment_withdraw(request, pk: int):
    """A failed or unsent payment the family will not receive this term, taken out with the reason."""
    return _payment_action(
        request, pk, ReasonForm, services.payment_withdraw, _("The payment was withdrawn.")
    )


@bureau_required
@require_POST
def payment_mark_paid(request, pk: int):
    """One failed payment (the bank has answered), marked paid by hand with the reason."""
    return _payment_action(
        request, pk, PaidByHandForm, services.payment_mark_paid, _("The payment was marked paid.")
    )


@bureau_required
@require_http_methods(["GET", "POST"])
def batch_bank_file(request, pk: int):
    """The payroll file carries whole account numbers: the password is asked again and the export logged.
    Without `number`, the batch's next file (its due payments become sent); with it, that file again."""
    batch = visible_batch(request, pk)
    number = request.POST.get("number") or request.GET.get("number") or ""
    number = int(number) if number.isdigit() else None
    form = ConfirmPasswordForm(request.POST or None, request=request)
    layout_form = PayrollLayoutChoiceForm(request.POST or None)
    if request.method != "POST" or not form.is_valid() or not layout_form.is_valid():
        due = bank.due_payments(batch)
        return render(
            request,
            "subsidies/bank_file_confirm.html",
            {
                "form": form,
                "layout_form": layout_form,
                "batch": batch,
                "number": number,
                "due": due.count(),
                "no_account": list(bank.without_account(due)[:200]),
            },
        )
    try:
        if number is None:
            workbook = bank.payroll_workbook(
                batch=batch, by=request.user, layout=layout_form.cleaned_data.get("layout")
            )
        else:
            workbook = bank.bank_file_workbook(batch=batch, number=number)
    except ValidationError as exc:
        flash_errors(request, exc)
        return redirect("subsidies:batch_detail", pk=pk)
    detail = f"bank payroll file, batch {batch.pk}" + (f", file {number} again" if number else "")
    log_access(request, AccessLog.Action.EXPORT, batch, detail=detail)
    made = number or batch.bank_files.order_by("-number").values_list("number", flat=True).first()
    response = workbook_response(workbook, selectors.bank_file_name(batch, made))
    # The page's script (static/js/portal.js) waits for this cookie to know the download arrived: it then
    # clears the password and opens the batch page, which says what the file held (?downloaded=<number>).
    response.set_cookie(f"bank-file-{batch.pk}", str(made), max_age=120, samesite="Strict")
    return response


@bureau_required
@require_POST
def batch_bank_result(request, pk: int):
    batch = visible_batch(request, pk)
    form = ResultUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect("subsidies:batch_detail", pk=pk)
    try:
        report = bank.result_import(
            batch=batch,
            upload=form.cleaned_data["file"],
            paid_on=form.cleaned_data["paid_on"],
            result_format=form.cleaned_data.get("result_format"),
            by=request.user,
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(
            request,
            _("Bank results imported: %(paid)s paid, %(failed)s failed.")
            % {"paid": report.paid, "failed": report.failed},
        )
    return redirect("subsidies:batch_detail", pk=pk)
