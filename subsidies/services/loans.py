"""Writes of the credit-loan register."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from portal.services import bureau_service
from subsidies.models import AidPolicy, AidType, CreditLoan, Term, term_start

# --- Credit loans -------------------------------------------------------------------------------------


def _cap(aid_type: str, level: str, school_year: int) -> AidPolicy | None:
    """The cap row of `aid_type` for a level of study, valid at the start of the school year."""
    return (
        AidPolicy.objects.valid_on(term_start(school_year, Term.AUTUMN))
        .filter(aid_type=aid_type, stage=level, amount__isnull=False)
        .first()
    )


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def loan_errors(loan: CreditLoan) -> dict[str, list[str]]:
    """The caps of the contract's school year and level (policy rows), and the top-up rules of the paper:
    the top-up only beside a national loan at its cap, for fees above it, for a 脱贫户 student."""
    errors: dict[str, list[str]] = {}
    if loan.amount is None or loan.school_year is None:
        return errors
    year = f"{loan.school_year}-{loan.school_year + 1}"
    level = CreditLoan.Level(loan.level).label
    cap = _cap(AidType.CREDIT_LOAN, loan.level, loan.school_year)
    if cap is None:
        errors["amount"] = [
            _("No loan cap for %(level)s in %(year)s is in the policy table: the bureau enters it first.")
            % {"level": level, "year": year}
        ]
        return errors
    if loan.amount > cap.amount:
        errors["amount"] = [
            _("The national loan of %(level)s in %(year)s is at most %(cap)s yuan a year.")
            % {"level": level, "year": year, "cap": _money(cap.amount)}
        ]
    if loan.fees is not None and loan.amount > loan.fees:
        errors.setdefault("amount", []).append(
            _("The national loan is at most the tuition and accommodation fees (%(fees)s yuan).")
            % {"fees": _money(loan.fees)}
        )
    if not loan.top_up:
        return errors
    top_up: list[str] = []
    rule = _cap(AidType.LOAN_TOP_UP, loan.level, loan.school_year)
    if rule is None:
        top_up.append(
            _("No municipal top-up for %(level)s in %(year)s is in the policy table.")
            % {"level": level, "year": year}
        )
    else:
        if rule.categories and not loan.poverty_alleviated:
            top_up.append(_("Only students of poverty-alleviated households may have the municipal top-up."))
        if loan.top_up > rule.amount:
            top_up.append(
                _("The municipal top-up is at most %(cap)s yuan a year.") % {"cap": _money(rule.amount)}
            )
    if loan.amount < cap.amount:
        top_up.append(
            _("The municipal top-up comes only beside a national loan at its cap (%(cap)s yuan).")
            % {"cap": _money(cap.amount)}
        )
    if loan.fees is None:
        top_up.append(_("Give the tuition and accommodation fees: the top-up covers what exceeds the cap."))
    elif loan.top_up > loan.fees - cap.amount:
        top_up.append(
            _("The top-up covers only the fees above the cap: at most %(rest)s yuan.")
            % {"rest": _money(max(loan.fees - cap.amount, Decimal("0")))}
        )
    if top_up:
        errors["top_up"] = top_up
    return errors


@bureau_service
def loan_create(*, by, **fields: Any) -> CreditLoan:
    loan = CreditLoan(**fields)
    errors = loan_errors(loan)
    if errors:
        raise ValidationError(errors)
    loan.full_clean()
    try:
        with transaction.atomic():
            loan.save()
    except IntegrityError as exc:
        raise ValidationError(_("This student already has a loan contract for this school year.")) from exc
    return loan
