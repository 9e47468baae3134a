"""Writes of the credit-loan register."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from portal.services import bureau_service
from subsidies.models import (
    CreditLoan,
    DisbursementBatch,
)

Status = DisbursementBatch.Status


# --- Credit loans -------------------------------------------------------------------------------------


@bureau_service
def loan_create(*, by, **fields: Any) -> CreditLoan:
    loan = CreditLoan(**fields)
    errors: dict[str, list[str]] = {}
    if loan.amount is not None and loan.amount > Decimal("12000"):
        errors["amount"] = [_("The national loan is at most 12,000 yuan a year.")]
    if loan.top_up and loan.top_up > Decimal("8000"):
        errors["top_up"] = [_("The municipal top-up is at most 8,000 yuan a year.")]
    if loan.top_up and not loan.poverty_alleviated:
        errors.setdefault("top_up", []).append(
            _("Only students of poverty-alleviated households may have the municipal top-up.")
        )
    if errors:
        raise ValidationError(errors)
    loan.full_clean()
    try:
        with transaction.atomic():
            loan.save()
    except IntegrityError as exc:
        raise ValidationError(_("This student already has a loan contract for this school year.")) from exc
    return loan
