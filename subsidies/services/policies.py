"""Writes of the policy table and the quotas."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from portal.services import bureau_service
from subsidies.models import (
    AidPolicy,
    AidQuota,
    DisbursementBatch,
    term_start,
)

Status = DisbursementBatch.Status

# --- Policy table -------------------------------------------------------------------------------------

POLICY_FIELDS = (
    "aid_type",
    "stage",
    "tier",
    "categories",
    "levels",
    "excluded_categories",
    "boarding",
    "rural_only",
    "inclusive_only",
    "agricultural_only",
    "grade_min",
    "grade_max",
    "unit",
    "amount",
    "fee_capped",
    "days_per_year",
    "payee",
    "max_terms",
    "supersedes",
    "valid_from",
    "valid_to",
    "note",
    "source",
)
# What may still change on a row that money was paid from: closing it, and its notes.
PAID_ROW_MUTABLE = ("valid_to", "note", "source")


def _clean_policy(policy: AidPolicy) -> None:
    errors: dict[str, list[str]] = {}
    if policy.amount is not None and policy.amount < 0:
        errors["amount"] = [_("The amount may not be negative.")]
    if policy.valid_from and policy.valid_to and policy.valid_to < policy.valid_from:
        errors["valid_to"] = [_("The end date is before the start date.")]
    if policy.grade_min and policy.grade_max and policy.grade_max < policy.grade_min:
        errors["grade_max"] = [_("The last grade is before the first grade.")]
    if errors:
        raise ValidationError(errors)
    overlapping = AidPolicy.objects.filter(
        aid_type=policy.aid_type, stage=policy.stage, tier=policy.tier
    ).exclude(pk=policy.pk)
    overlapping = overlapping.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=policy.valid_from))
    if policy.valid_to:
        overlapping = overlapping.filter(valid_from__lte=policy.valid_to)
    # Rows for disjoint grades of one stage do not overlap (special education: grades 1-6 and 7-9).
    if policy.grade_max:
        overlapping = overlapping.filter(Q(grade_min__isnull=True) | Q(grade_min__lte=policy.grade_max))
    if policy.grade_min:
        overlapping = overlapping.filter(Q(grade_max__isnull=True) | Q(grade_max__gte=policy.grade_min))
    if overlapping.exists():
        raise ValidationError(
            {
                "valid_from": _(
                    "Another standard for the same aid, stage and tier applies on some of these dates: "
                    "close it (end date) before adding the new one."
                )
            }
        )
    policy.full_clean()


@bureau_service
def policy_create(*, by, **fields: Any) -> AidPolicy:
    policy = AidPolicy(**{k: v for k, v in fields.items() if k in POLICY_FIELDS})
    _clean_policy(policy)
    policy.save()
    return policy


@bureau_service
def policy_update(*, policy: AidPolicy, by, **fields: Any) -> AidPolicy:
    """Edit a row. A row that money was paid from keeps its standard: close it and add a new row, so that
    changing next year's standard never changes what was paid last year."""
    policy = AidPolicy.objects.select_for_update().get(pk=policy.pk)
    changed = {k: v for k, v in fields.items() if k in POLICY_FIELDS and getattr(policy, k) != v}
    if policy.payments.exists():
        frozen = sorted(set(changed) - set(PAID_ROW_MUTABLE))
        if frozen:
            raise ValidationError(
                _(
                    "Aid has been paid under this standard, so it cannot be changed (%(fields)s). "
                    "Give it an end date and add a new row for the new standard."
                )
                % {"fields": ", ".join(str(AidPolicy._meta.get_field(f).verbose_name) for f in frozen)}
            )
        last_paid = policy.payments.order_by("-school_year", "-term").values("school_year", "term").first()
        new_end = changed.get("valid_to")
        if last_paid and new_end and new_end < term_start(last_paid["school_year"], last_paid["term"]):
            raise ValidationError(
                {"valid_to": _("Aid was paid under this standard after that date; choose a later end date.")}
            )
    for key, value in changed.items():
        setattr(policy, key, value)
    _clean_policy(policy)
    policy.save()
    return policy


@bureau_service
def quota_set(*, aid_type: str, school_year: int, term: str, amount: Decimal, by, note: str = "") -> AidQuota:
    quota = AidQuota.objects.filter(
        aid_type=aid_type, school_year=school_year, term=term
    ).first() or AidQuota(aid_type=aid_type, school_year=school_year, term=term)
    quota.amount = amount
    quota.note = note
    quota.full_clean()
    quota.save()
    return quota
