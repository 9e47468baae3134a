"""The public lookup by ID number (no sign-in; rate-limited and logged)."""

from __future__ import annotations

from django.contrib import messages
from django.core.cache import cache
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.audit import client_ip, log_access
from portal.models import AccessLog
from students import id_numbers
from students.models import Student
from subsidies import selectors
from subsidies.forms import (
    LookupForm,
)
from subsidies.models import (
    LookupLog,
    Payment,
)

LOOKUP_LIMIT = 10
LOOKUP_WINDOW_SECONDS = 3600

# --- Public lookup by ID number -----------------------------------------------------------------------


def _client(request) -> str:
    return (client_ip(request) or "")[:64]


def _log_lookup(request, client: str, masked: str, outcome: str) -> None:
    LookupLog.objects.create(client=client, id_number_masked=masked, outcome=outcome)
    log_access(request, AccessLog.Action.LOOKUP, detail=f"{masked} {outcome}")


@require_http_methods(["GET", "POST"])
def lookup(request):
    """No login: a parent enters the ID number and name and sees the aid paid, by term, and apart from it the
    aid granted but not yet received (failed, at the bank, unsent), with what it waits for — nothing else."""
    form = LookupForm(request.POST or None)
    results = not_received = None
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
                not_received = [
                    {
                        "term": p.term_label,
                        "aid": p.get_aid_type_display(),
                        "amount": p.amount,
                        "status": selectors.not_received_label(p),
                    }
                    for p in Payment.objects.payable()
                    .exclude(status=Payment.Status.PAID)
                    .filter(student=student)
                    .annotate(has_account=selectors.has_account())
                    .order_by("-school_year", "term", "aid_type")
                ]
    return render(
        request,
        "subsidies/lookup.html",
        {"form": form, "results": results, "not_received": not_received},
        status=status,
    )
