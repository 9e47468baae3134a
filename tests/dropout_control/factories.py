"""Factories of dropout control: cases are written through the service so that their ledger period exists."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from dropout_control import services
from dropout_control.models import DropoutCase
from portal.models import User
from tests.factories import UserFactory, make_id_number


def bureau_user():
    # Looked up first: building a UserFactory hashes its password, which is slow on purpose.
    return User.objects.filter(username="dropout_factory_bureau").first() or UserFactory(
        username="dropout_factory_bureau", role=User.Role.BUREAU
    )


# The written reason a school or township gives for a date more than 30 days back.
LATE = "补录（测试数据）"


def open_case(*, township, school=None, by=None, found_on=date(2025, 3, 3), birth=date(2014, 5, 1), **kw):
    fields = {
        "id_number": make_id_number(birth),
        "name": "王小二",
        "village": "上坪村",
        "found_by": DropoutCase.FoundBy.TOWNSHIP_SURVEY,
        "reason": DropoutCase.Reason.FAMILY_HARDSHIP,
    }
    if (date.today() - found_on).days > 30:
        fields["found_late_reason"] = LATE  # the tests' cases are of past dates, entered by any role
    fields.update(kw)
    return services.case_open(
        by=by or bureau_user(), township=township, school=school, found_on=found_on, **fields
    )


# What the bureau gives when it places a child in home-delivered teaching (送教上门): the teacher and the
# schedule, the plan, and the county disability assessment committee's decision.
HOME_TEACHING = {
    "outcome": DropoutCase.Outcome.HOME_TEACHING,
    "home_teacher": "刘老师",
    "home_schedule": "每月两次，每次2小时",
    "home_visits_per_month": 2,
    "home_hours_per_term": Decimal("40"),
    "committee_decided_on": date(2025, 3, 3),
    "committee_decision": "重度残疾，送教上门",
    "committee_document": "县残评〔2025〕3号",
}


def close_case(case, *, on, by=None):
    """A closing whose outcome does not matter to the test: the child moved out of the county."""
    return services.case_close(
        proof="证明材料",
        case=case,
        outcome=DropoutCase.Outcome.TRANSFERRED_OUT,
        outcome_note="随父母迁往广东东莞",
        on=on,
        by=by or bureau_user(),
    )


def return_and_watch(case, *, school, on, by=None, confirm=True, stage="primary", grade=3):
    """The child returns to `school` on `on`; with `confirm`, the school confirms every month of the watch."""
    from dropout_control.services.common import watch_months

    by = by or bureau_user()
    late_reason = LATE if (date.today() - on).days > 30 else ""
    watch = services.case_return(
        case=case, school=school, on=on, stage=stage, grade=grade, late_reason=late_reason, by=by
    )
    recorded_on_the_day(watch)
    if confirm:
        for month in watch_months(watch):
            services.watch_confirm_month(case=case, month=month, by=by)
    case.refresh_from_db()  # the return linked the student and the school
    return watch


def recorded_on_the_day(watch):
    """A watch as if the return had been entered on the day it happened: its months come due by the calendar.

    The watch runs in real time from its recording (a return entered late cannot be completed at once); the
    tests walk watches of past dates, so they date the recording back to the return.
    """
    from datetime import datetime, time

    from django.utils import timezone

    from dropout_control.models import ReturnWatch

    recorded = timezone.make_aware(datetime.combine(watch.returned_on, time(9)))
    ReturnWatch.objects.filter(pk=watch.pk).update(created_at=recorded)
    watch.created_at = recorded
    return watch
