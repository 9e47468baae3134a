"""The out-of-county ledger and its letters."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal import lists
from portal.access import can_keep_out_of_county_ledger, is_bureau_staff
from portal.audit import log_access
from portal.decorators import bureau_required, scoped_login_required
from portal.forms import flash_errors
from portal.models import AccessLog
from subsidies import services
from subsidies.filters import (
    OutOfCountyFilter,
)
from subsidies.forms import (
    FollowUpForm,
    OutOfCountyForm,
)
from subsidies.models import (
    OutOfCountyStudent,
)

LEDGER_SORTS = {
    "name": ["name"],
    "home": ["home_township__code", "name"],
    "destination": ["destination_county_code", "name"],
    "stage": ["stage", "name"],
    "follow_up": ["follow_up", "destination_county_code", "name"],
}

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
    result = lists.listing(request, filterset.qs, sorts=LEDGER_SORTS, default="destination")
    destinations = (
        filterset.qs.values("destination_county_code", "destination_county", "school_year")
        .annotate(n=Count("pk"), pending=Count("pk", filter=Q(follow_up="pending")))
        .order_by("-school_year", "destination_county_code")
    )
    return render(
        request,
        "subsidies/out_of_county.html",
        {
            **lists.context(result, filter=filterset),
            "destinations": destinations,
            "form": form,
            "follow_up_form": FollowUpForm(),
            "is_bureau": is_bureau_staff(request.user),
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
