"""The named rules of dropout control: who is of compulsory age, and whether a case is in a user's scope."""

from __future__ import annotations

from datetime import date

from portal.access import scope_of
from students.models import School, Stage

# Compulsory education covers ages 6 to 15; a child is followed until reaching 16 (义务教育法).
COMPULSORY_AGE_MIN = 6
COMPULSORY_AGE_MAX = 15
# A case with no persuasion visit for this long is flagged on the dashboard.
VISIT_OVERDUE_DAYS = 30
# Schools that teach compulsory education: they report each month, a case or "无辍学" (a kindergarten or a
# senior high school does not).
ZERO_REPORT_TYPES = [
    kind for kind, stages in School.TYPE_STAGES.items() if {Stage.PRIMARY, Stage.JUNIOR} & set(stages)
]


def age_on(birth: date, on: date) -> int:
    """Age in whole years on a day (a child born on 29 February has a birthday on 1 March)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def is_compulsory_age(birth: date, on: date) -> bool:
    return COMPULSORY_AGE_MIN <= age_on(birth, on) <= COMPULSORY_AGE_MAX


def case_in_scope(*, township_id: int | None, school_id: int | None, user) -> bool:
    """Whether a case (saved or not) with this township and school lies in the user's writable scope.

    The same rule as DropoutCaseQuerySet.editable_by, for a case about to be created or moved.
    """
    scope = scope_of(user)
    if not scope.writable:
        return False
    if scope.county:
        return True
    if scope.township_id is not None:
        return township_id == scope.township_id
    if scope.school_id is not None:
        return school_id == scope.school_id
    return False
