"""The credit-loan register."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal import lists
from portal.access import is_bureau_staff
from portal.decorators import scoped_login_required
from portal.forms import add_service_errors
from subsidies import selectors, services
from subsidies.filters import (
    LoanFilter,
)
from subsidies.forms import (
    LoanForm,
)
from subsidies.models import (
    CreditLoan,
)

# --- Credit loans -------------------------------------------------------------------------------------


LOAN_SORTS = {
    "name": ["name"],
    "university": ["university", "name"],
    "year": ["-school_year", "name"],
    "contract": ["contract_date", "name"],
    "amount": ["amount", "name"],
    "top_up": ["top_up", "name"],
}


@scoped_login_required
@require_http_methods(["GET", "POST"])
def loan_list(request):
    form = LoanForm(request.POST or None) if is_bureau_staff(request.user) else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.loan_create(by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The loan contract was recorded."))
                return redirect("subsidies:loan_list")
    loans = CreditLoan.objects.visible_to(request.user).select_related("home_township")
    filterset = LoanFilter(request.GET, queryset=loans, request=request)
    result = lists.listing(request, filterset.qs, sorts=LOAN_SORTS, default="year")
    return render(
        request,
        "subsidies/loan_list.html",
        lists.context(result, filter=filterset, totals=selectors.loan_totals(loans), form=form),
    )
