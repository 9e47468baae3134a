"""Notification letters (告知书) and a student's aid page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.audit import log_access
from portal.decorators import scoped_login_required
from portal.forms import flash_errors
from portal.models import AccessLog
from students.models import Student
from subsidies import eligibility, selectors, services
from subsidies.forms import (
    BankAccountForm,
)
from subsidies.models import (
    BankAccount,
    Payment,
    Term,
    term_label,
)
from subsidies.views.common import visible_batch

# --- Notification letters (告知书) ---------------------------------------------------------------------


@scoped_login_required
def student_letter(request, pk: int, school_year: int, term: str):
    student = get_object_or_404(Student.objects.visible_to(request.user), pk=pk)
    if term not in Term.values:
        raise Http404
    log_access(request, AccessLog.Action.VIEW_RECORD, student, detail=f"aid letter {school_year} {term}")
    letters = selectors.student_letters(student, school_year, term, Payment.objects.visible_to(request.user))
    return render(request, "subsidies/letters.html", {"letters": letters, "today": timezone.localdate()})


@scoped_login_required
def batch_letters(request, pk: int):
    batch = visible_batch(request, pk)
    letters = selectors.batch_letters(batch, Payment.objects.visible_to(request.user))
    return render(request, "subsidies/letters.html", {"letters": letters, "today": timezone.localdate()})


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
