"""The policy table and the quotas."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal import lists
from portal.access import is_bureau_staff
from portal.decorators import bureau_required, scoped_login_required
from portal.forms import add_service_errors, flash_errors
from portal.history import history_for
from subsidies import selectors, services
from subsidies.filters import (
    PolicyFilter,
)
from subsidies.forms import (
    PolicyForm,
    QuotaForm,
)
from subsidies.models import (
    AidExclusionGroup,
    AidPolicy,
    AidQuota,
)

# --- Policies and quotas ------------------------------------------------------------------------------


POLICY_SORTS = {
    "stage": ["stage", "aid_type", "tier", "valid_from"],
    "aid_type": ["aid_type", "stage", "tier", "valid_from"],
    "standard": ["amount", "stage", "aid_type"],
    "valid": ["valid_from", "stage", "aid_type"],
}


@scoped_login_required
def policy_list(request):
    policies = AidPolicy.objects.visible_to(request.user).annotate(paid_count=Count("payments"))
    filterset = PolicyFilter(request.GET, queryset=policies, request=request)
    result = lists.listing(request, filterset.qs, sorts=POLICY_SORTS, default="stage", per_page=100)
    return render(
        request,
        "subsidies/policy_list.html",
        {
            **lists.context(result, filter=filterset),
            "policies": result.page,
            "groups": AidExclusionGroup.objects.visible_to(request.user),
            "can_edit": is_bureau_staff(request.user),
        },
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
            add_service_errors(form, exc)
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
    form = QuotaForm(request.POST or None) if is_bureau_staff(request.user) else None
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
    rows = [{"quota": quota, "status": selectors.quota_status_of(quota)} for quota in quotas]
    return render(request, "subsidies/quota_list.html", {"rows": rows, "form": form})
