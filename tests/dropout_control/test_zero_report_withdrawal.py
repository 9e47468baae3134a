"""A zero report filed before a case opened in the same month does not stand (issue 18, outside attack).

Opening (or reopening, or moving) a case into a month for which its school or township already said "无辍学"
withdraws that zero report: kept, marked withdrawn with the reason, in its history, and shown as such.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from dropout_control import services
from dropout_control.models import ZeroReport
from dropout_control.selectors import zero_report_status
from dropout_control.services.common import add_months, first_of_month
from portal.models import User
from students.models import School
from tests.dropout_control.conftest import api_for
from tests.dropout_control.factories import open_case
from tests.factories import SchoolFactory, UserFactory
from tests.refusals import nothing_written


def this_month():
    return first_of_month(timezone.localdate())


def test_opening_a_case_withdraws_the_schools_zero_report_of_the_month(principal_a, school_a, bureau):
    report = services.zero_report_file(month=this_month(), school=school_a, by=principal_a)
    case = open_case(
        township=school_a.township, school=school_a, found_on=timezone.localdate(), by=principal_a
    )
    report.refresh_from_db()
    assert report.withdrawn_at is not None
    assert report.withdrawn_case == case
    assert this_month().strftime("%Y-%m") in report.withdrawn_reason
    # logged: the change is in the report's history
    assert report.events.filter(pgh_label="update", withdrawn_at__isnull=False).exists()
    row = next(
        r
        for r in zero_report_status(bureau, this_month())
        if r["kind"] == "school" and r["id"] == school_a.pk
    )
    assert (row["state"], row["withdrawn"]) == ("has_cases", True)


def test_the_township_report_is_withdrawn_too(township_officer, township_a, school_a, bureau):
    report = services.zero_report_file(month=this_month(), township=township_a, by=township_officer)
    other = services.zero_report_file(
        month=this_month() - timedelta(days=1), township=township_a, by=township_officer
    )
    open_case(township=township_a, school=school_a, found_on=timezone.localdate(), by=bureau)
    report.refresh_from_db()
    other.refresh_from_db()
    assert report.withdrawn_at is not None
    assert other.withdrawn_at is None  # last month had no case


def test_a_backdated_case_withdraws_every_month_it_was_open(principal_a, school_a, bureau):
    two_ago, last = add_months(this_month(), -2), add_months(this_month(), -1)
    reports = [services.zero_report_file(month=m, school=school_a, by=principal_a) for m in (two_ago, last)]
    open_case(township=school_a.township, school=school_a, found_on=two_ago + timedelta(days=5), by=bureau)
    assert all(r.withdrawn_at for r in ZeroReport.objects.filter(pk__in=[r.pk for r in reports]))


def test_a_return_to_another_school_withdraws_only_the_months_it_was_there(
    principal_a, principal_b, school_a, school_b, bureau
):
    two_ago = add_months(this_month(), -2)
    old = services.zero_report_file(month=two_ago, school=school_b, by=principal_b)
    now = services.zero_report_file(month=this_month(), school=school_b, by=principal_b)
    case = open_case(township=school_a.township, school=school_a, found_on=two_ago, by=bureau)
    services.case_return(
        case=case, school=school_b, on=timezone.localdate(), stage="primary", grade=3, by=bureau
    )
    old.refresh_from_db()
    now.refresh_from_db()
    assert old.withdrawn_at is None  # the case was at school A then
    assert now.withdrawn_at is not None


def test_the_page_and_the_api_show_the_withdrawal(principal_a, school_a, bureau_client, bureau):
    services.zero_report_file(month=this_month(), school=school_a, by=principal_a)
    open_case(township=school_a.township, school=school_a, found_on=timezone.localdate(), by=principal_a)
    page = bureau_client.get(reverse("dropout:zero_reports")).content.decode()
    assert "zero-report-withdrawn" in page
    body = api_for(bureau).get("/api/dropout/zero-reports/").json()
    assert body["results"][0]["withdrawn_at"] is not None
    assert body["results"][0]["withdrawn_reason"]
    status = api_for(bureau).get("/api/dropout/zero-reports/status/").json()
    assert any(r["withdrawn"] for r in status)


# --- the month's bounds and who files (issue 18, outside attack) -------------------------------------


@pytest.mark.parametrize("month", [date(1999, 1, 1), date(2000, 6, 1)])
def test_a_zero_report_before_the_portal_was_adopted_is_refused(principal_a, school_a, month, settings):
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.zero_report_file(month=month, school=school_a, by=principal_a)
    assert "month" in exc.value.message_dict
    floor = settings.DROPOUT_ZERO_REPORTS_FROM
    assert services.zero_report_file(month=floor, school=school_a, by=principal_a).month == floor.replace(
        day=1
    )


def test_a_zero_report_for_a_month_to_come_is_refused(principal_a, school_a):
    with nothing_written(), pytest.raises(ValidationError):
        services.zero_report_file(month=add_months(this_month(), 1), school=school_a, by=principal_a)


def test_the_api_refuses_1999(principal_a, school_a):
    with nothing_written():
        response = api_for(principal_a).post(
            "/api/dropout/zero-reports/", {"month": "1999-01-01", "school": school_a.pk}, format="json"
        )
    assert response.status_code == 400
    assert "month" in response.json()


def test_a_kindergarten_files_no_zero_report(township_a):
    kindergarten = SchoolFactory(township=township_a, school_type=School.Type.KINDERGARTEN)
    head = UserFactory(role=User.Role.PRINCIPAL, school=kindergarten)
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.zero_report_file(month=this_month(), school=kindergarten, by=head)
    assert "school" in exc.value.message_dict
    response = api_for(head).post(
        "/api/dropout/zero-reports/", {"month": str(this_month()), "school": kindergarten.pk}, format="json"
    )
    assert response.status_code == 400
