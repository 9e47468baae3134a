"""Writes of the aid area, one module per sub-area: `policies` (policy table, quotas), `batches` (term batches,
payments, bank accounts), `loans`, `ledger` (out of county), `past` (past payments imported from the national aid system), `university` (the university students' roster and aid), `social` (social aid), `identification` (needy-student identification). The bank's files are in `subsidies.bank`, data
matching in `subsidies.matching`; reads in `subsidies.selectors`.

Every write is a `portal.services.service`: the capability is checked, the body is one transaction and the
change history names the acting user. Callers use `from subsidies import services; services.batch_approve(...)`.
"""

from subsidies.services.batches import (
    ASYNC_DRAW_ABOVE,
    bank_account_set,
    batch_add_student,
    batch_approve,
    batch_create,
    batch_draw,
    batch_generate,
    batch_mark_paid,
    batch_remove_student,
    payment_mark_paid,
    payment_release,
    payment_repay,
    payment_withdraw,
    record_event,
    settle_batch,
)
from subsidies.services.identification import (
    identification_apply,
    identification_confirm,
    identification_decide,
    identification_objection_add,
    identification_objection_resolve,
    identification_publicise,
    identification_review,
    identification_round_set,
)
from subsidies.services.ledger import out_of_county_add, out_of_county_follow_up, out_of_county_letters_sent
from subsidies.services.loans import loan_create
from subsidies.services.past import past_payments_import
from subsidies.services.policies import POLICY_FIELDS, policy_create, policy_update, quota_set
from subsidies.services.social import social_grant_add, social_programme_add
from subsidies.services.university import university_aid_add, university_student_add

__all__ = [
    "ASYNC_DRAW_ABOVE",
    "POLICY_FIELDS",
    "bank_account_set",
    "batch_add_student",
    "batch_approve",
    "batch_create",
    "batch_draw",
    "batch_generate",
    "batch_mark_paid",
    "batch_remove_student",
    "identification_apply",
    "identification_confirm",
    "identification_decide",
    "identification_objection_add",
    "identification_objection_resolve",
    "identification_publicise",
    "identification_review",
    "identification_round_set",
    "loan_create",
    "out_of_county_add",
    "out_of_county_follow_up",
    "out_of_county_letters_sent",
    "past_payments_import",
    "payment_mark_paid",
    "payment_release",
    "payment_repay",
    "payment_withdraw",
    "policy_create",
    "policy_update",
    "quota_set",
    "record_event",
    "settle_batch",
    "social_grant_add",
    "social_programme_add",
    "university_aid_add",
    "university_student_add",
]
