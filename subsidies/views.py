"""Aid pages. Thin: scoping in portal.access, rules in subsidies.eligibility, writes in subsidies.services."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.access import can_keep_out_of_county_ledger, scope_of
from portal.audit import client_ip, log_access
from portal.decorators import bureau_required, scoped_login_required
from portal.excel import workbook_response
from portal.forms import ConfirmPasswordForm, flash_errors
from portal.history import history_for
from portal.models import AccessLog
from portal.params import query_without_page
from students import id_numbers
from students.models import Student
from subsidies import bank, eligibility, matching, services, tasks
from subsidies.filters import (
    BatchFilter,
    LoanFilter,
    MatchResultFilter,
    OutOfCountyFilter,
    PaymentFilter,
    PolicyFilter,
)
from subsidies.forms import (
    AddStudentForm,
    ApproveForm,
    BankAccountForm,
    FollowUpForm,
    GenerateForm,
    LoanForm,
    LookupForm,
    MatchApplyForm,
    MatchUploadForm,
    OutOfCountyForm,
    PaidForm,
    PolicyForm,
    QuotaForm,
    ReasonForm,
    ResultUploadForm,
)
from subsidies.models import (
    AidPolicy,
    AidQuota,
    BankAccount,
    BatchEvent,
    CreditLoan,
    DisbursementBatch,
    LookupLog,
    MatchRun,
    OutOfCountyStudent,
    Payment,
    Term,
    term_label,
    term_start,
)

PAGE_SIZE = 50
# Above this many candidate students a batch is drawn by a Celery task rather than in the request.
ASYNC_DRAW_ABOVE = 20_000
LOOKUP_LIMIT = 10
LOOKUP_WINDOW_SECONDS = 3600


# --- Batches ------------------------------------------------------------------------------------------


@scoped_login_required
def index(request):
    """The batches, each with the person-times and amount the user may see."""
    visible = Payment.objects.visible_to(request.user)
    batches = (
        DisbursementBatch.objects.visible_to(request.user)
        .with_totals(visible)
        .order_by("-school_year", "term", "aid_type")
    )
    filterset = BatchFilter(request.GET, queryset=batches, request=request)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    totals = (
        visible.payable()
        .filter(batch__in=filterset.qs.values("pk"))
        .aggregate(n=Count("pk"), amount=Sum("amount"))
    )
    return render(
        request,
        "subsidies/index.html",
        {
            "filter": filterset,
            "page": page,
            "totals": totals,
            "generate_form": GenerateForm() if request.user.is_bureau else None,
            "query": query_without_page(request),
        },
    )


@bureau_required
@require_POST
def batch_generate(request):
    form = GenerateForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect("subsidies:index")
    data = form.cleaned_data
    on = term_start(data["school_year"], data["term"])
    try:
        if services.draw_candidates(aid_type=data["aid_type"], on=on) > ASYNC_DRAW_ABOVE:
            # A county-wide draw over tens of thousands of students runs in the background; the page shows
            # the batch as being drawn until it is done.
            batch = services.batch_create(by=request.user, **data)
            user_pk = request.user.pk
            transaction.on_commit(lambda: tasks.draw_batch.delay(batch.pk, user_pk))
            messages.info(request, _("The batch is being drawn; refresh the page in a minute."))
            return redirect("subsidies:batch_detail", pk=batch.pk)
        batch = services.batch_generate(by=request.user, **data)
    except ValidationError as exc:
        flash_errors(request, exc)
        return redirect("subsidies:index")
    messages.success(request, _("Batch generated: %(n)s students.") % {"n": batch.payments.count()})
    quota = services.quota_status(aid_type=batch.aid_type, school_year=batch.school_year, term=batch.term)
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
    page = Paginator(filterset.qs.order_by("school__code", "student__name", "pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    is_bureau = request.user.is_bureau
    context = {
        "batch": batch,
        "filter": filterset,
        "page": page,
        "query": query_without_page(request),
        "totals": services.payment_totals(payments),
        "held": payments.filter(status=Payment.Status.HELD).count(),
        "failed": payments.filter(status=Payment.Status.FAILED).count(),
        "quota": services.quota_status(
            aid_type=batch.aid_type, school_year=batch.school_year, term=batch.term
        ),
        "steps": BatchEvent.objects.visible_to(request.user)
        .filter(batch=batch)
        .select_related("by", "student"),
        "drawing": not batch.steps.filter(action=BatchEvent.Action.GENERATED).exists(),
        "is_bureau": is_bureau,
        "can_review": batch.status == DisbursementBatch.Status.DRAFT and scope_of(request.user).writable,
        "add_form": AddStudentForm(),
        "approve_form": ApproveForm(),
        "paid_form": PaidForm(),
        "result_form": ResultUploadForm(),
        "history": history_for(batch) if is_bureau else None,
    }
    return render(request, "subsidies/batch_detail.html", context)


def _visible_batch(request, pk: int) -> DisbursementBatch:
    return get_object_or_404(DisbursementBatch.objects.visible_to(request.user), pk=pk)


@bureau_required
@require_POST
def batch_draw(request, pk: int):
    """Draw now a batch whose background draw did not finish (the task is idempotent, so is this)."""
    batch = _visible_batch(request, pk)
    if batch.steps.filter(action=BatchEvent.Action.GENERATED).exists():
        return redirect("subsidies:batch_detail", pk=pk)
    try:
        n = services.batch_draw(batch=batch, by=request.user)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, _("Batch generated: %(n)s students.") % {"n": n})
    return redirect("subsidies:batch_detail", pk=pk)


@bureau_required
@require_POST
def batch_approve(request, pk: int):
    batch = _visible_batch(request, pk)
    form = ApproveForm(request.POST)
    form.is_valid()
    try:
        batch = services.batch_approve(
            batch=batch, by=request.user, allow_over_quota=form.cleaned_data.get("allow_over_quota", False)
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        held = batch.payments.filter(status=Payment.Status.HELD).count()
        messages.success(request, _("The batch was approved."))
        if held:
            messages.warning(
                request, _("%(n)s students no longer qualify and are held, not paid.") % {"n": held}
            )
    return redirect("subsidies:batch_detail", pk=pk)


@bureau_required
@require_POST
def batch_mark_paid(request, pk: int):
    batch = _visible_batch(request, pk)
    form = PaidForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect("subsidies:batch_detail", pk=pk)
    try:
        services.batch_mark_paid(batch=batch, by=request.user, **form.cleaned_data)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, _("The batch was marked paid."))
    return redirect("subsidies:batch_detail", pk=pk)


@scoped_login_required
@require_POST
def batch_add_student(request, pk: int):
    batch = _visible_batch(request, pk)
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
    batch = _visible_batch(request, pk)
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


@bureau_required
@require_POST
def payment_release(request, pk: int):
    payment = get_object_or_404(Payment.objects.visible_to(request.user), pk=pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.payment_release(payment=payment, reason=form.cleaned_data["reason"], by=request.user)
        except ValidationError as exc:
            flash_errors(request, exc)
    else:
        flash_errors(request, form)
    return redirect("subsidies:batch_detail", pk=payment.batch_id)


@bureau_required
@require_POST
def payment_repay(request, pk: int):
    payment = get_object_or_404(Payment.objects.visible_to(request.user), pk=pk)
    form = PaidForm(request.POST)
    if form.is_valid():
        try:
            services.payment_repay(payment=payment, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            flash_errors(request, exc)
    else:
        flash_errors(request, form)
    return redirect("subsidies:batch_detail", pk=payment.batch_id)


@bureau_required
@require_http_methods(["GET", "POST"])
def batch_bank_file(request, pk: int):
    """The payroll file carries whole account numbers: the password is asked again and the export logged."""
    batch = _visible_batch(request, pk)
    form = ConfirmPasswordForm(request.POST or None, request=request)
    if request.method != "POST" or not form.is_valid():
        return render(request, "subsidies/bank_file_confirm.html", {"form": form, "batch": batch})
    try:
        workbook = bank.payroll_workbook(batch=batch, by=request.user)
    except ValidationError as exc:
        flash_errors(request, exc)
        return redirect("subsidies:batch_detail", pk=pk)
    log_access(request, AccessLog.Action.EXPORT, batch, detail=f"bank payroll file, batch {batch.pk}")
    return workbook_response(workbook, f"代发_{batch}.xlsx")


@bureau_required
@require_POST
def batch_bank_result(request, pk: int):
    batch = _visible_batch(request, pk)
    form = ResultUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect("subsidies:batch_detail", pk=pk)
    try:
        report = bank.result_import(
            batch=batch,
            upload=form.cleaned_data["file"],
            paid_on=form.cleaned_data["paid_on"],
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


# --- Notification letters (告知书) ---------------------------------------------------------------------


def _letters(payments) -> list[dict]:
    """One letter per student and term: the aid received, for the parent to sign."""
    grouped: dict[tuple, list[Payment]] = defaultdict(list)
    for p in payments.select_related("student", "school").order_by(
        "school__code", "student__name", "aid_type"
    ):
        grouped[(p.student_id, p.school_year, p.term)].append(p)
    letters = []
    for (_student, year, term), items in grouped.items():
        letters.append(
            {
                "student": items[0].student,
                "school": items[0].school,
                "term_label": term_label(year, term),
                "payments": items,
                "total": sum((p.amount for p in items), start=Decimal("0.00")),
            }
        )
    return letters


@scoped_login_required
def student_letter(request, pk: int, school_year: int, term: str):
    student = get_object_or_404(Student.objects.visible_to(request.user), pk=pk)
    if term not in Term.values:
        raise Http404
    log_access(request, AccessLog.Action.VIEW_RECORD, student, detail=f"aid letter {school_year} {term}")
    payments = (
        Payment.objects.visible_to(request.user)
        .payable()
        .filter(student=student, school_year=school_year, term=term)
    )
    return render(
        request, "subsidies/letters.html", {"letters": _letters(payments), "today": timezone.localdate()}
    )


@scoped_login_required
def batch_letters(request, pk: int):
    batch = _visible_batch(request, pk)
    students = Payment.objects.visible_to(request.user).payable().filter(batch=batch).values("student_id")
    payments = (
        Payment.objects.visible_to(request.user)
        .payable()
        .filter(student_id__in=students, school_year=batch.school_year, term=batch.term)
    )
    return render(
        request, "subsidies/letters.html", {"letters": _letters(payments), "today": timezone.localdate()}
    )


# --- A student's aid ----------------------------------------------------------------------------------


@scoped_login_required
@require_http_methods(["GET", "POST"])
def student_aid(request, pk: int):
    student = get_object_or_404(
        Student.objects.visible_to(request.user).select_related("school__township"), pk=pk
    )
    log_access(request, AccessLog.Action.VIEW_RECORD, student, detail="aid received")
    can_write = Student.objects.editable_by(request.user).filter(pk=pk).exists()
    account_form = BankAccountForm(request.POST or None) if can_write else None
    if request.method == "POST":
        if account_form is None:
            raise PermissionDenied
        if account_form.is_valid():
            try:
                services.bank_account_set(student=student, by=request.user, **account_form.cleaned_data)
            except ValidationError as exc:
                flash_errors(request, exc)
            else:
                messages.success(request, _("The bank account was saved."))
                return redirect("subsidies:student_aid", pk=pk)
    today = timezone.localdate()
    payments = (
        Payment.objects.visible_to(request.user)
        .filter(student=student)
        .select_related("batch", "school")
        .order_by("-school_year", "term", "aid_type")
    )
    terms = sorted({(p.school_year, p.term) for p in payments}, reverse=True)
    context = {
        "student": student,
        "payments": payments,
        "terms": [{"school_year": y, "term": t, "label": term_label(y, t)} for y, t in terms],
        "decisions": eligibility.evaluate(student, today),
        "today": today,
        "account": BankAccount.objects.filter(student=student, is_active=True).first(),
        "account_form": account_form,
        "can_write": can_write,
    }
    return render(request, "subsidies/student_aid.html", context)


# --- Policies and quotas ------------------------------------------------------------------------------


@scoped_login_required
def policy_list(request):
    policies = AidPolicy.objects.visible_to(request.user).annotate(paid_count=Count("payments"))
    filterset = PolicyFilter(request.GET, queryset=policies, request=request)
    return render(
        request,
        "subsidies/policy_list.html",
        {"filter": filterset, "policies": filterset.qs, "can_edit": request.user.is_bureau},
    )


@bureau_required
@require_http_methods(["GET", "POST"])
def policy_edit(request, pk: int | None = None):
    policy = get_object_or_404(AidPolicy.objects.editable_by(request.user), pk=pk) if pk else None
    form = PolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        try:
            if policy is None:
                services.policy_create(by=request.user, **form.cleaned_data)
            else:
                services.policy_update(policy=policy, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        else:
            messages.success(request, _("The policy row was saved."))
            return redirect("subsidies:policy_list")
    return render(
        request,
        "subsidies/policy_form.html",
        {"form": form, "policy": policy, "history": history_for(policy) if policy else None},
    )


@scoped_login_required
@require_http_methods(["GET", "POST"])
def quota_list(request):
    form = QuotaForm(request.POST or None) if request.user.is_bureau else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.quota_set(by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                flash_errors(request, exc)
            else:
                messages.success(request, _("The quota was saved."))
                return redirect("subsidies:quota_list")
    quotas = (
        AidQuota.objects.visible_to(request.user).with_drawn().order_by("-school_year", "term", "aid_type")
    )
    rows = [{"quota": quota, "status": services.quota_status_of(quota)} for quota in quotas]
    return render(request, "subsidies/quota_list.html", {"rows": rows, "form": form})


# --- Data matching ------------------------------------------------------------------------------------


@bureau_required
@require_http_methods(["GET", "POST"])
def match_list(request):
    form = MatchUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        upload = data.pop("file")
        try:
            run = matching.match_upload(upload=upload, by=request.user, file_name=upload.name, **data)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            return redirect("subsidies:match_detail", pk=run.pk)
    runs = MatchRun.objects.visible_to(request.user).select_related("by").with_counts().order_by("-at", "-pk")
    return render(request, "subsidies/match_list.html", {"form": form, "runs": runs[:100]})


@bureau_required
def match_detail(request, pk: int):
    run = get_object_or_404(MatchRun.objects.visible_to(request.user), pk=pk)
    filterset = MatchResultFilter(request.GET, queryset=run.results.select_related("student__school"))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = dict(run.results.values_list("kind").annotate(n=Count("pk")))
    return render(
        request,
        "subsidies/match_detail.html",
        {
            "run": run,
            "filter": filterset,
            "page": page,
            "counts": counts,
            "query": query_without_page(request),
            "apply_form": MatchApplyForm(),
        },
    )


@bureau_required
def match_export(request, pk: int):
    run = get_object_or_404(MatchRun.objects.visible_to(request.user), pk=pk)
    log_access(request, AccessLog.Action.EXPORT, run, detail=f"data matching results, run {run.pk}")
    return workbook_response(matching.match_workbook(run), f"数据比对_{run.pk}.xlsx")


@bureau_required
@require_POST
def match_apply(request, pk: int):
    run = get_object_or_404(MatchRun.objects.visible_to(request.user), pk=pk)
    form = MatchApplyForm(request.POST)
    ids = [int(v) for v in request.POST.getlist("result") if v.isdigit()]
    if form.is_valid():
        try:
            added = matching.match_apply(
                run=run, result_ids=ids, valid_from=form.cleaned_data["valid_from"], by=request.user
            )
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, _("Category added to %(n)s students.") % {"n": added})
    else:
        flash_errors(request, form)
    return redirect("subsidies:match_detail", pk=pk)


# --- Out-of-county ledger -----------------------------------------------------------------------------


@scoped_login_required
@require_http_methods(["GET", "POST"])
def out_of_county(request):
    writable = can_keep_out_of_county_ledger(request.user)
    form = OutOfCountyForm(request.POST or None) if writable else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.out_of_county_add(by=request.user, **form.cleaned_data)
            except (ValidationError, PermissionDenied) as exc:
                messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
            else:
                messages.success(request, _("The student was added to the ledger."))
                return redirect("subsidies:out_of_county")
    lines = OutOfCountyStudent.objects.visible_to(request.user).select_related("home_township")
    filterset = OutOfCountyFilter(request.GET, queryset=lines, request=request)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    destinations = (
        filterset.qs.values("destination_county_code", "destination_county", "school_year")
        .annotate(n=Count("pk"), pending=Count("pk", filter=Q(follow_up="pending")))
        .order_by("-school_year", "destination_county_code")
    )
    return render(
        request,
        "subsidies/out_of_county.html",
        {
            "filter": filterset,
            "page": page,
            "destinations": destinations,
            "form": form,
            "follow_up_form": FollowUpForm(),
            "query": query_without_page(request),
            "is_bureau": request.user.is_bureau,
        },
    )


@scoped_login_required
@require_POST
def out_of_county_follow_up(request, pk: int):
    line = get_object_or_404(OutOfCountyStudent.objects.visible_to(request.user), pk=pk)
    form = FollowUpForm(request.POST)
    if form.is_valid():
        try:
            services.out_of_county_follow_up(
                line=line, follow_up=form.cleaned_data["follow_up"], by=request.user
            )
        except ValidationError as exc:
            flash_errors(request, exc)
    return redirect("subsidies:out_of_county")


@bureau_required
@require_http_methods(["GET", "POST"])
def out_of_county_letter(request, code: str, school_year: int):
    lines = OutOfCountyStudent.objects.visible_to(request.user).filter(
        destination_county_code=code, school_year=school_year
    )
    if not lines.exists():
        raise Http404
    if request.method == "POST":
        n = services.out_of_county_letters_sent(
            destination_county_code=code, school_year=school_year, on=timezone.localdate(), by=request.user
        )
        messages.success(request, _("%(n)s lines marked as letter sent.") % {"n": n})
        return redirect("subsidies:out_of_county")
    first = lines.first()
    # The letter names each child by the whole ID number, as the other county needs it.
    log_access(request, AccessLog.Action.REVEAL_ID, detail=f"out-of-county letter {code} {school_year}")
    return render(
        request,
        "subsidies/out_of_county_letter.html",
        {
            "lines": lines.order_by("name"),
            "county": first.destination_county,
            "school_year": school_year,
            "today": timezone.localdate(),
        },
    )


# --- Credit loans -------------------------------------------------------------------------------------


@scoped_login_required
@require_http_methods(["GET", "POST"])
def loan_list(request):
    form = LoanForm(request.POST or None) if request.user.is_bureau else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.loan_create(by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc.messages)
            else:
                messages.success(request, _("The loan contract was recorded."))
                return redirect("subsidies:loan_list")
    loans = CreditLoan.objects.visible_to(request.user).select_related("home_township")
    filterset = LoanFilter(request.GET, queryset=loans, request=request)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "subsidies/loan_list.html",
        {
            "filter": filterset,
            "page": page,
            "totals": services.loan_totals(loans),
            "form": form,
            "query": query_without_page(request),
        },
    )


# --- Public lookup by ID number -----------------------------------------------------------------------


def _client(request) -> str:
    return (client_ip(request) or "")[:64]


def _log_lookup(request, client: str, masked: str, outcome: str) -> None:
    LookupLog.objects.create(client=client, id_number_masked=masked, outcome=outcome)
    log_access(request, AccessLog.Action.LOOKUP, detail=f"{masked} {outcome}")


@require_http_methods(["GET", "POST"])
def lookup(request):
    """No login: a parent enters the ID number and name and sees the aid paid, by term — nothing else."""
    form = LookupForm(request.POST or None)
    results = None
    status = 200
    if request.method == "POST":
        client = _client(request)
        key = f"subsidies:lookup:{client}"
        cache.add(key, 0, LOOKUP_WINDOW_SECONDS)
        count = cache.incr(key)
        masked = id_numbers.mask(id_numbers.normalize(request.POST.get("id_number", ""))[:18])
        if count > LOOKUP_LIMIT:
            _log_lookup(request, client, masked, LookupLog.Outcome.LIMITED)
            form = LookupForm()
            messages.error(request, _("Too many lookups from this device. Please try again in an hour."))
            status = 429
        elif not form.is_valid():
            _log_lookup(request, client, masked, LookupLog.Outcome.INVALID)
        else:
            number = id_numbers.normalize(form.cleaned_data["id_number"])
            student = Student.objects.filter(id_number=number, name=form.cleaned_data["name"].strip()).first()
            if student is None:
                _log_lookup(request, client, masked, LookupLog.Outcome.NO_MATCH)
                messages.error(request, _("No aid record matches this ID number and name."))
            else:
                _log_lookup(request, client, masked, LookupLog.Outcome.SHOWN)
                results = [
                    {"term": p.term_label, "aid": p.get_aid_type_display(), "amount": p.amount}
                    for p in Payment.objects.paid()
                    .filter(student=student)
                    .order_by("-school_year", "term", "aid_type")
                ]
    return render(request, "subsidies/lookup.html", {"form": form, "results": results}, status=status)
