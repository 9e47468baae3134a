"""Where a case was in a month (issue 18, outside attack): the ledger, the zero-report status and the zero
report's refusal place a case at the school and township its history records for that month, not where the
case is today. A case moved from school A to school B this month stays A's in the months before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from dropout_control import ledger, services
from dropout_control.models import ZeroReport
from dropout_control.selectors import zero_report_status
from dropout_control.services.common import add_months, first_of_month
from tests.dropout_control.factories import open_case
from tests.refusals import nothing_written


def months_ago(n: int):
    return add_months(first_of_month(timezone.localdate()), -n)


@pytest.fixture
def moved_case(school_a, school_b, bureau):
    """Found at school A three months ago; today the case is moved to school B in the other township."""
    case = open_case(
        township=school_a.township, school=school_a, found_on=months_ago(3) + timedelta(days=2), by=bureau
    )
    services.case_update(case=case, school=school_b, township=school_b.township, by=bureau)
    return case


def test_the_ledger_of_a_past_month_counts_the_case_at_its_school_then(moved_case, bureau, school_a):
    month = months_ago(2)
    result = ledger.monthly_ledger(year=month.year, month=month.month, user=bureau)
    assert [(r.school, r.open_at_end) for r in result.rows] == [(school_a.name, 1)]
    rows = ledger.province_rows(year=month.year, month=month.month, user=bureau)
    assert [(r[0], r[1]) for r in rows] == [(school_a.township.name, school_a.name)]


def test_the_ledger_of_this_month_counts_the_case_where_it_is_now(moved_case, bureau, school_b):
    month = months_ago(0)
    result = ledger.monthly_ledger(year=month.year, month=month.month, user=bureau)
    assert [(r.school, r.open_at_end) for r in result.rows] == [(school_b.name, 1)]


def test_the_old_schools_principal_sees_the_case_in_his_past_ledger(moved_case, principal_a, principal_b):
    month = months_ago(2)
    mine = ledger.monthly_ledger(year=month.year, month=month.month, user=principal_a)
    assert mine.total.open_at_end == 1
    theirs = ledger.monthly_ledger(year=month.year, month=month.month, user=principal_b)
    assert theirs.total.open_at_end == 0


def test_the_zero_report_status_of_a_past_month_reads_the_school_then(moved_case, bureau, school_a, school_b):
    states = {(r["kind"], r["id"]): r["state"] for r in zero_report_status(bureau, months_ago(2))}
    assert states[("school", school_a.pk)] == "has_cases"
    assert states[("school", school_b.pk)] == "missing"
    assert states[("township", school_a.township_id)] == "has_cases"
    assert states[("township", school_b.township_id)] == "missing"


def test_a_zero_report_for_a_past_month_is_refused_where_the_case_was(
    moved_case, principal_a, principal_b, school_a, school_b
):
    with nothing_written(), pytest.raises(ValidationError):
        services.zero_report_file(month=months_ago(2), school=school_a, by=principal_a)
    report = services.zero_report_file(month=months_ago(2), school=school_b, by=principal_b)
    assert isinstance(report, ZeroReport)
    # This month the case is at school B.
    with nothing_written(), pytest.raises(ValidationError):
        services.zero_report_file(month=months_ago(0), school=school_b, by=principal_b)


def test_a_case_returned_to_another_school_stays_at_its_first_school_before(bureau, school_a, school_b):
    case = open_case(township=school_a.township, school=school_a, found_on=months_ago(3), by=bureau)
    services.case_return(
        case=case, school=school_b, on=timezone.localdate(), stage="primary", grade=3, by=bureau
    )
    month = months_ago(1)
    result = ledger.monthly_ledger(year=month.year, month=month.month, user=bureau)
    assert [r.school for r in result.rows] == [school_a.name]
