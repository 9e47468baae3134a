"""What every dropout-control service shares: the capability decorators, the row checks and the clock."""

from __future__ import annotations

import calendar
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dropout_control.models import CasePeriod, DropoutCase
from portal.access import can_write_in_scope, is_bureau_staff
from portal.services import service
from students.models import Student

# A role that writes (not an official); the message is the one the row check gives outside the scope.
case_service = service(
    allowed=can_write_in_scope, refusal=gettext_lazy("You may not change this dropout case.")
)
suspect_service = service(
    allowed=can_write_in_scope, refusal=gettext_lazy("You may not decide on this child.")
)
student_service = service(
    allowed=can_write_in_scope, refusal=gettext_lazy("You may not change records of this student.")
)


def today() -> date:
    return timezone.localdate()


# A found date or a return date further back than this is back-dated: a school or township says why in
# writing (kept on the case and its history); the bureau's confirmation screen flags every such date.
BACKDATE_LIMIT_DAYS = 30


def is_backdated(claimed: date, recorded: date) -> bool:
    return (recorded - claimed).days > BACKDATE_LIMIT_DAYS


def backdating_errors(claimed: date | None, *, reason: str, field: str, by) -> dict[str, list[str]]:
    """A date older than the limit needs a written reason, unless the bureau enters it."""
    if claimed is None or not is_backdated(claimed, today()) or reason.strip() or is_bureau_staff(by):
        return {}
    return {
        field: [
            _(
                "The date is more than %(days)s days ago: say in writing why it is recorded only now "
                "(or ask the bureau to record it)."
            )
            % {"days": BACKDATE_LIMIT_DAYS}
        ]
    }


def before_current_opening(case: DropoutCase, on: date) -> list[str]:
    """A closing or a return belongs to the case's current period: not before it was (re)opened."""
    opened = (
        CasePeriod.objects.filter(case=case, closed_on__isnull=True)
        .values_list("opened_on", flat=True)
        .first()
    )
    if opened is None or on >= opened:
        return []
    return [
        _("The date cannot be before this opening or reopening of the case, %(date)s.")
        % {"date": opened.isoformat()}
    ]


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the 31st becomes the month's last day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def check_case(case: DropoutCase, by) -> None:
    if not DropoutCase.objects.editable_by(by).filter(pk=case.pk).exists():
        raise PermissionDenied(_("You may not change this dropout case."))


def locked(case: DropoutCase) -> DropoutCase:
    # Two clerks closing, returning or reopening the same case at once must not both succeed.
    return DropoutCase.objects.select_for_update().get(pk=case.pk)


def check_student(student: Student, by) -> None:
    if not Student.objects.editable_by(by).filter(pk=student.pk).exists():
        raise PermissionDenied(_("You may not change records of this student."))


def merge_errors(errors: dict[str, list[str]], exc: ValidationError) -> None:
    for field, messages in exc.message_dict.items():
        errors.setdefault(field, []).extend(m for m in messages if m not in errors.get(field, []))


def recorded_on(row) -> date:
    """The day a row was written (its `created_at`), by the county's clock."""
    return timezone.localdate(row.created_at) if row.created_at else today()


def confirmable_from(watch, month: date) -> date:
    """The first day the school may confirm a month of the watch, by the real clock.

    Once the month has ended, and never faster than the watch runs from the day it was recorded: the k-th
    month (from 0) not before k months after the recording. A return entered months late cannot have its
    whole watch confirmed, and the case closed, the day it is recorded.
    """
    index = (month.year - watch.returned_on.year) * 12 + month.month - watch.returned_on.month
    return max(add_months(month, 1), add_months(recorded_on(watch), index))


def watch_months(watch) -> list[date]:
    """The months the school confirms: from the month of the return, one for each month watched."""
    start = first_of_month(watch.returned_on)
    count = (watch.watch_until.year - start.year) * 12 + watch.watch_until.month - start.month
    return [add_months(start, k) for k in range(max(count, 1))]
