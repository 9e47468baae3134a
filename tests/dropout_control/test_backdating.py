"""Back-dating (issue 18, second outside attack): a case cannot be walked from found to closed in one sitting.

A found date or a return date older than the limit needs a written reason from a school or township (kept
on the case and its history); a month of the watch is confirmed only once it has ended by the real clock and
the watch's months run in real time from the day it was recorded; the bureau's confirmation screen shows
what each date claims against when it was recorded, and flags the back-dated ones.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from dropout_control import services
from dropout_control.models import DropoutCase, ReturnWatch
from dropout_control.services.common import BACKDATE_LIMIT_DAYS, first_of_month, watch_months
from tests.dropout_control.conftest import WATCH_MONTHS, YEAR_START, api_for, whole_watch_ran
from tests.dropout_control.factories import open_case
from tests.factories import make_id_number
from tests.refusals import nothing_written


def today():
    return timezone.localdate()


def long_ago(days: int = 200):
    return today() - timedelta(days=days)


# A back-dated return is still dated in the running school year (an ended year's register changes only through
# its roll): the year's first day, once it is more than the limit ago.
backdated_return_possible = pytest.mark.skipif(
    (today() - YEAR_START).days <= BACKDATE_LIMIT_DAYS,
    reason="The running school year is too young for a return in it to be back-dated.",
)


def case_fields(**kw):
    fields = {
        "id_number": make_id_number(long_ago(365 * 10)),
        "name": "李小三",
        "found_by": DropoutCase.FoundBy.SCHOOL_REPORT,
        "reason": DropoutCase.Reason.FAMILY_HARDSHIP,
    }
    fields.update(kw)
    return fields


# --- a found date older than the limit ---------------------------------------------------------------


def test_a_school_backdating_the_found_date_must_say_why(principal_a, school_a):
    old = today() - timedelta(days=BACKDATE_LIMIT_DAYS + 1)
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.case_open(
            by=principal_a, township=school_a.township, school=school_a, found_on=old, **case_fields()
        )
    assert "found_late_reason" in exc.value.message_dict
    case = services.case_open(
        by=principal_a,
        township=school_a.township,
        school=school_a,
        found_on=old,
        found_late_reason="寒假期间家访发现，开学后补录",
        **case_fields(),
    )
    assert case.found_late_reason == "寒假期间家访发现，开学后补录"
    assert case.events.filter(found_late_reason="寒假期间家访发现，开学后补录").exists()


def test_a_found_date_within_the_limit_needs_no_reason(principal_a, school_a):
    case = services.case_open(
        by=principal_a,
        township=school_a.township,
        school=school_a,
        found_on=today() - timedelta(days=BACKDATE_LIMIT_DAYS),
        **case_fields(),
    )
    assert case.found_late_reason == ""


def test_the_api_refuses_a_backdated_case_without_a_reason(township_officer, township_a):
    body = {
        **case_fields(),
        "township": township_a.pk,
        "found_on": str(long_ago()),
    }
    with nothing_written():
        response = api_for(township_officer).post("/api/dropout/cases/", body, format="json")
    assert response.status_code == 400
    assert "found_late_reason" in response.json()
    response = api_for(township_officer).post(
        "/api/dropout/cases/", {**body, "found_late_reason": "外出务工返乡后补录"}, format="json"
    )
    assert response.status_code == 201, response.content


def test_the_case_form_refuses_a_backdated_case_without_a_reason(township_client, township_a):
    body = {**case_fields(), "township": township_a.pk, "found_on": str(long_ago())}
    with nothing_written():
        response = township_client.post(reverse("dropout:case_create"), body)
    assert response.status_code == 200
    assert "found_late_reason" in response.context["form"].errors


# --- a return date older than the limit ---------------------------------------------------------------


@backdated_return_possible
def test_a_township_backdating_the_return_must_say_why(township_officer, school_a):
    case = open_case(township=school_a.township, school=school_a, found_on=long_ago(300))
    with nothing_written(case), pytest.raises(ValidationError) as exc:
        services.case_return(
            case=case, school=school_a, on=YEAR_START, stage="primary", grade=3, by=township_officer
        )
    assert "late_reason" in exc.value.message_dict
    watch = services.case_return(
        case=case,
        school=school_a,
        on=YEAR_START,
        stage="primary",
        grade=3,
        late_reason="复学证明今日才送到乡镇",
        by=township_officer,
    )
    assert watch.late_reason == "复学证明今日才送到乡镇"
    assert watch.events.filter(late_reason="复学证明今日才送到乡镇").exists()


@backdated_return_possible
def test_the_api_refuses_a_backdated_return_without_a_reason(township_officer, school_a):
    case = open_case(township=school_a.township, school=school_a, found_on=long_ago(300))
    body = {"school": school_a.pk, "on": str(YEAR_START), "stage": "primary", "grade": 3}
    with nothing_written(case):
        response = api_for(township_officer).post(
            f"/api/dropout/cases/{case.pk}/return/", body, format="json"
        )
    assert response.status_code == 400
    assert "late_reason" in response.json()


# --- the watch runs in real time ----------------------------------------------------------------------


def test_a_month_is_confirmed_only_once_it_has_ended(principal_a, school_a):
    case = open_case(township=school_a.township, school=school_a, found_on=today())
    services.case_return(case=case, school=school_a, on=today(), stage="primary", grade=3, by=principal_a)
    case.refresh_from_db()
    with nothing_written(case), pytest.raises(ValidationError) as exc:
        services.watch_confirm_month(case=case, month=first_of_month(today()), by=principal_a)
    assert "month" in exc.value.message_dict


@backdated_return_possible
def test_a_backdated_watch_cannot_be_completed_the_day_it_is_recorded(bureau, school_a):
    """The attack: found and returned months ago, five months confirmed and the closing asked in one sitting."""
    case = open_case(township=school_a.township, school=school_a, found_on=long_ago(300))
    watch = services.case_return(
        case=case, school=school_a, on=YEAR_START, stage="primary", grade=3, late_reason="补录", by=bureau
    )
    case.refresh_from_db()
    months = watch_months(watch)
    # The first month of the watch may be confirmed on the day it is recorded; the others one a month after.
    services.watch_confirm_month(case=case, month=months[0], by=bureau)
    for month in months[1:]:
        with nothing_written(case), pytest.raises(ValidationError) as exc:
            services.watch_confirm_month(case=case, month=month, by=bureau)
        assert "month" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.case_close_request(case=case, outcome="returned", proof="复学证明", by=bureau)
    assert ReturnWatch.objects.get(pk=watch.pk).status == ReturnWatch.Status.WATCHING


@backdated_return_possible
def test_the_months_of_a_backdated_watch_come_due_one_a_month_after_it_was_recorded(bureau, school_a):
    case = open_case(township=school_a.township, school=school_a, found_on=long_ago(300))
    watch = services.case_return(
        case=case, school=school_a, on=YEAR_START, stage="primary", grade=3, late_reason="补录", by=bureau
    )
    # Recorded a month ago: the second month of the watch can be confirmed now, the third not yet.
    ReturnWatch.objects.filter(pk=watch.pk).update(created_at=timezone.now() - timedelta(days=32))
    months = watch_months(watch)
    services.watch_confirm_month(case=case, month=months[0], by=bureau)
    services.watch_confirm_month(case=case, month=months[1], by=bureau)
    with pytest.raises(ValidationError):
        services.watch_confirm_month(case=case, month=months[2], by=bureau)


# --- the bureau sees when each date was recorded ------------------------------------------------------


@pytest.fixture
def backdated_request(principal_a, school_a, short_watch):
    """A case walked to its closing request with a found date and a return entered long after the fact (the
    return on the running school year's first day, watched two months)."""
    found, returned = long_ago(330), YEAR_START
    case = services.case_open(
        by=principal_a,
        township=school_a.township,
        school=school_a,
        found_on=found,
        found_late_reason="补录去年的案",
        **case_fields(id_number=make_id_number(long_ago(365 * 11))),
    )
    watch = services.case_return(
        case=case,
        school=school_a,
        on=returned,
        stage="primary",
        grade=3,
        late_reason="复学证明补交",
        by=principal_a,
    )
    # The watch recorded long enough ago for every month to come due (as if the school confirmed for months),
    # and still more than the limit after the return.
    ReturnWatch.objects.filter(pk=watch.pk).update(created_at=timezone.now() - timedelta(days=32))
    for month in watch_months(watch):
        services.watch_confirm_month(case=case, month=month, by=principal_a)
    return services.case_close_request(case=case, outcome="returned", proof="复学证明", by=principal_a)


@backdated_return_possible
@whole_watch_ran
def test_the_bureaus_confirmation_screen_flags_backdated_dates(bureau_client, backdated_request):
    page = bureau_client.get(
        reverse("dropout:case_detail", args=[backdated_request.case_id])
    ).content.decode()
    assert 'id="closing-dates"' in page
    assert page.count('class="backdated"') >= 2  # the found date and the return
    assert "补录去年的案" in page and "复学证明补交" in page


@backdated_return_possible
@whole_watch_ran
def test_the_api_shows_each_date_claimed_and_recorded(bureau, backdated_request):
    response = api_for(bureau).get(f"/api/dropout/closing-requests/{backdated_request.pk}/")
    assert response.status_code == 200
    dates = {row["what"]: row for row in response.json()["dates"]}
    found = dates["found_on"]
    assert found["claimed"] == str(long_ago(330))
    assert found["recorded"] == str(today())
    assert found["backdated"] is True
    assert found["reason"] == "补录去年的案"
    assert dates["returned_on"]["backdated"] is True
    assert dates["closing_on"]["backdated"] is False
    months = [row for row in response.json()["dates"] if row["what"] == "watch_month"]
    assert len(months) == WATCH_MONTHS
    assert all(row["recorded"] == str(today()) for row in months)
