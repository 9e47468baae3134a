"""Writes of the out-of-county ledger and its letters."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.access import can_keep_out_of_county_ledger, scope_of
from portal.services import bureau_service, service
from subsidies.models import (
    DisbursementBatch,
    OutOfCountyStudent,
)

Status = DisbursementBatch.Status


# --- Out-of-county ledger -----------------------------------------------------------------------------


@service(
    allowed=can_keep_out_of_county_ledger,
    refusal=gettext_lazy("Only bureau staff and township officers keep this ledger."),
)
def out_of_county_add(*, by, **fields: Any) -> OutOfCountyStudent:
    line = OutOfCountyStudent(**fields)
    line.full_clean()
    township_id = scope_of(by).township_id
    if township_id is not None and line.home_township_id != township_id:
        raise PermissionDenied(_("You may only record children of your own township."))
    line.save()
    return line


@bureau_service
def out_of_county_letters_sent(*, destination_county_code: str, school_year: int, on: date, by) -> int:
    """The letter to a county went out: its pending lines are marked sent."""
    return OutOfCountyStudent.objects.filter(
        destination_county_code=destination_county_code,
        school_year=school_year,
        follow_up=OutOfCountyStudent.FollowUp.PENDING,
    ).update(follow_up=OutOfCountyStudent.FollowUp.SENT, letter_sent_on=on)


@service(
    allowed=can_keep_out_of_county_ledger,
    refusal=gettext_lazy("Only bureau staff and township officers keep this ledger."),
)
def out_of_county_follow_up(
    *, line: OutOfCountyStudent, follow_up: str, by, note: str = ""
) -> OutOfCountyStudent:
    if not OutOfCountyStudent.objects.editable_by(by).filter(pk=line.pk).exists():
        raise PermissionDenied(_("You may not change this line."))
    order = list(OutOfCountyStudent.FollowUp.values)
    if order.index(follow_up) < order.index(line.follow_up):
        raise ValidationError(_("The follow-up status only moves forward."))
    line.follow_up = follow_up
    if note:
        line.note = note
    line.full_clean()
    line.save()
    return line
