"""Notification letters (告知书) and a student's aid page."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

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
from subsidies import eligibility, services
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
    batch = visible_batch(request, pk)
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
