"""Student aid models, one module per sub-area: the policy table and quotas (`policies`), term batches,
payments and bank accounts (`batches`), the bank's files and result formats (`bank`), data matching (`matching`), the out-of-county ledger (`ledger`),
credit loans (`loans`), university students and their aid (`university`), social aid (`social`), the public lookup log (`lookup`), needy-student identification (`identification`) and the national aid system's files of past payments
(`past`). Shared vocabulary is in `common`.

Django finds the models through this package; the rest of the code imports them from here.
"""

from subsidies.models.bank import BankFile, BankFileLine, BankPayrollLayout, BankResultFormat
from subsidies.models.batches import (
    BankAccount,
    BatchEvent,
    BatchEventQuerySet,
    BatchQuerySet,
    BatchSchoolTotal,
    DisbursementBatch,
    Payment,
    PaymentQuerySet,
    mask_account,
)
from subsidies.models.common import (
    FEN,
    LOAN_AID_TYPES,
    MONEY,
    AidType,
    IdentificationLevel,
    PayeeKind,
    PolicyStage,
    Term,
    term_end,
    term_label,
    term_of,
    term_share,
    term_start,
)
from subsidies.models.identification import (
    Identification,
    IdentificationObjection,
    IdentificationRound,
    publicity_days_of,
    school_year_bounds,
)
from subsidies.models.ledger import OutOfCountyStudent
from subsidies.models.loans import CreditLoan
from subsidies.models.lookup import LookupLog
from subsidies.models.matching import MatchResult, MatchRun
from subsidies.models.past import PastPaymentImport
from subsidies.models.policies import AidExclusionGroup, AidPolicy, AidQuota
from subsidies.models.social import SocialAidGrant, SocialAidProgramme
from subsidies.models.university import UniversityAid, UniversityStudent

__all__ = [
    "FEN",
    "LOAN_AID_TYPES",
    "MONEY",
    "AidExclusionGroup",
    "AidPolicy",
    "AidQuota",
    "AidType",
    "BankAccount",
    "BankFile",
    "BankFileLine",
    "BatchSchoolTotal",
    "BankPayrollLayout",
    "BankResultFormat",
    "BatchEvent",
    "BatchEventQuerySet",
    "BatchQuerySet",
    "CreditLoan",
    "DisbursementBatch",
    "Identification",
    "IdentificationLevel",
    "IdentificationObjection",
    "IdentificationRound",
    "LookupLog",
    "MatchResult",
    "MatchRun",
    "OutOfCountyStudent",
    "PastPaymentImport",
    "PayeeKind",
    "Payment",
    "PaymentQuerySet",
    "PolicyStage",
    "SocialAidGrant",
    "SocialAidProgramme",
    "Term",
    "UniversityAid",
    "UniversityStudent",
    "publicity_days_of",
    "school_year_bounds",
    "term_end",
    "term_label",
    "mask_account",
    "term_of",
    "term_share",
    "term_start",
]
