"""Writes of dropout control, one module per part of the work; every one is a `portal.services.service`.

- `cases`: a case's life, from opened to closed (销号) and reopened, closing requests and their confirmation;
- `watch`: the return to school, the watch that follows and its monthly confirmations;
- `suspects`: deciding on the suspected dropouts of the household-register comparison;
- `pupils`: long absences and care records;
- `zero_reports`: the monthly zero report of a school or township with no case.
"""

from dropout_control.services.cases import (
    CASE_EDITABLE_FIELDS,
    case_add_visit,
    case_close,
    case_close_confirm,
    case_close_reject,
    case_close_request,
    case_open,
    case_reopen,
    case_set_team,
    case_update,
    home_teaching_log_add,
)
from dropout_control.services.pupils import care_record_add, long_absence_end, long_absence_mark
from dropout_control.services.suspects import suspect_clear, suspect_confirm
from dropout_control.services.watch import case_return, watch_confirm_month, watch_policy_set, watches_check
from dropout_control.services.zero_reports import zero_report_file

__all__ = [
    "CASE_EDITABLE_FIELDS",
    "care_record_add",
    "case_add_visit",
    "case_close",
    "case_close_confirm",
    "case_close_reject",
    "case_close_request",
    "case_open",
    "case_reopen",
    "case_return",
    "case_set_team",
    "case_update",
    "home_teaching_log_add",
    "long_absence_end",
    "long_absence_mark",
    "suspect_clear",
    "suspect_confirm",
    "watch_confirm_month",
    "watch_policy_set",
    "watches_check",
    "zero_report_file",
]
