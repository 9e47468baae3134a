"""Outside-attack findings on issue 18: dates before the current opening, withdrawn and repeated zero reports."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from dropout_control import services
from dropout_control.models import ClosingRequest, DropoutCase, ZeroReport
from tests.dropout_control.factories import LATE, open_case
from tests.refusals import nothing_written

Outcome = DropoutCase.Outcome
CLOSED = date(2025, 3, 10)
REOPENED = date(2025, 4, 2)
BEFORE_REOPENING = date(2025, 3, 20)  # after the case was found and closed, before it was reopened


@pytest.fixture
def reopened(township_a, bureau):
    case = open_case(township=township_a)
    services.case_close(
        proof="证明材料",
        case=case,
        outcome=Outcome.TRANSFERRED_OUT,
        outcome_note="广东",
        on=CLOSED,
        by=bureau,
    )
    services.case_reopen(case=case, on=REOPENED, reason="再次辍学", by=bureau)
    case.refresh_from_db()
    return case


def refusal_text(exc) -> str:
    with translation.override("zh-hans"):
        return " ".join(str(m) for m in exc.value.messages)


def test_a_closing_request_dated_before_the_reopening_is_refused(reopened, township_officer):
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.case_close_request(
            case=reopened,
            outcome=Outcome.TRANSFERRED_OUT,
            outcome_note="浙江",
            on=BEFORE_REOPENING,
            proof="证明",
            by=township_officer,
        )
    assert "outcome_on" in exc.value.message_dict
    assert REOPENED.isoformat() in " ".join(exc.value.message_dict["outcome_on"])


def test_the_bureau_cannot_close_before_the_reopening(reopened, bureau):
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.case_close(
            case=reopened,
            outcome=Outcome.TRANSFERRED_OUT,
            outcome_note="浙江",
            on=BEFORE_REOPENING,
            proof="证明",
            by=bureau,
        )
    assert REOPENED.isoformat() in " ".join(exc.value.message_dict["outcome_on"])


def test_the_confirm_of_a_request_dated_before_the_reopening_is_a_refusal(reopened, township_officer, bureau):
    # A request left from before the fix: confirming it is a clear refusal, not a database error.
    request = ClosingRequest.objects.create(
        case=reopened,
        outcome=Outcome.TRANSFERRED_OUT,
        outcome_note="浙江",
        on=BEFORE_REOPENING,
        proof="证明",
        requested_by=township_officer,
    )
    with nothing_written(reopened), pytest.raises(ValidationError) as exc:
        services.case_close_confirm(request=request, by=bureau)
    assert REOPENED.isoformat() in " ".join(exc.value.message_dict["outcome_on"])


def test_a_return_dated_before_the_reopening_is_refused(reopened, school_a, bureau):
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.case_return(
            case=reopened,
            school=school_a,
            on=BEFORE_REOPENING,
            stage="primary",
            grade=3,
            late_reason=LATE,
            by=bureau,
        )
    assert REOPENED.isoformat() in " ".join(exc.value.message_dict["on"])


def test_the_api_refuses_a_closing_before_the_reopening_with_a_chinese_message(
    reopened, township_officer, bureau
):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(township_officer)
    response = client.post(
        f"/api/dropout/cases/{reopened.pk}/closing-request/",
        {
            "outcome": Outcome.TRANSFERRED_OUT,
            "outcome_note": "浙江",
            "on": BEFORE_REOPENING.isoformat(),
            "proof": "证明",
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "不能早于本次立案/重新立案日期" in response.content.decode()


# --- zero reports: a withdrawn one does not count, a repeated one is the same clear refusal -----------------


def this_month():
    from dropout_control.services.common import first_of_month

    return first_of_month(timezone.localdate())


def withdraw(report):
    ZeroReport.objects.filter(pk=report.pk).update(withdrawn_at=timezone.now(), withdrawn_reason="测试撤回")


def test_a_withdrawn_zero_report_does_not_block_filing_again(
    principal_a, school_a, township_officer, township_a
):
    withdraw(services.zero_report_file(month=this_month(), school=school_a, by=principal_a))
    withdraw(services.zero_report_file(month=this_month(), township=township_a, by=township_officer))
    again = services.zero_report_file(month=this_month(), school=school_a, by=principal_a)
    township_again = services.zero_report_file(month=this_month(), township=township_a, by=township_officer)
    assert again.withdrawn_at is None and township_again.withdrawn_at is None
    assert ZeroReport.objects.filter(month=this_month()).count() == 4
    with nothing_written(), pytest.raises(ValidationError):
        services.zero_report_file(month=this_month(), school=school_a, by=principal_a)


@pytest.mark.django_db(transaction=True)
def test_six_simultaneous_zero_reports_file_one_and_refuse_the_rest_clearly(principal_a, school_a):
    """A double click (or six): one report, the others the same clear refusal as the duplicate check."""
    import threading

    from django.db import connection

    month = this_month()
    barrier = threading.Barrier(6)
    refusals, errors = [], []

    def file():
        try:
            barrier.wait()
            services.zero_report_file(month=month, school=school_a, by=principal_a)
        except ValidationError as exc:
            refusals.append(exc.message_dict)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=file) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert ZeroReport.objects.filter(month=month, school=school_a).count() == 1
    assert len(refusals) == 5
    with translation.override("zh-hans"):
        assert all("已填报" in " ".join(map(str, r["month"])) for r in refusals), refusals


# --- a reopening dated more than 30 days back needs a written reason, as found and return dates do ---------


def closed_case(township, bureau):
    case = open_case(township=township)
    services.case_close(
        proof="证明材料",
        case=case,
        outcome=Outcome.TRANSFERRED_OUT,
        outcome_note="广东",
        on=CLOSED,
        by=bureau,
    )
    case.refresh_from_db()
    return case


def test_a_backdated_reopening_needs_a_written_reason_from_a_township(township_a, township_officer, bureau):
    case = closed_case(township_a, bureau)
    with nothing_written(case), pytest.raises(ValidationError) as exc:
        services.case_reopen(case=case, on=REOPENED, reason="再次辍学", by=township_officer)
    assert "late_reason" in exc.value.message_dict
    services.case_reopen(
        case=case, on=REOPENED, reason="再次辍学", late_reason="纸质台账补录", by=township_officer
    )
    assert case.periods.get(closed_on__isnull=True).late_reason == "纸质台账补录"


def test_the_bureau_reopens_a_backdated_case_without_a_late_reason(township_a, bureau):
    case = closed_case(township_a, bureau)
    services.case_reopen(case=case, on=REOPENED, reason="再次辍学", by=bureau)
    assert case.periods.count() == 2


def test_the_api_takes_the_late_reason_of_a_reopening(township_a, township_officer, bureau):
    from rest_framework.test import APIClient

    case = closed_case(township_a, bureau)
    client = APIClient()
    client.force_authenticate(township_officer)
    url = f"/api/dropout/cases/{case.pk}/reopen/"
    refused = client.post(url, {"reason": "再次辍学", "on": REOPENED.isoformat()}, format="json")
    assert refused.status_code == 400 and "late_reason" in refused.json()
    done = client.post(
        url, {"reason": "再次辍学", "on": REOPENED.isoformat(), "late_reason": "纸质台账补录"}, format="json"
    )
    assert done.status_code == 200, done.content
    assert done.json()["periods"][-1]["late_reason"] == "纸质台账补录"


@pytest.mark.django_db(transaction=True)
def test_uploads_at_once_of_the_same_children_make_one_pending_suspect_each(township_a, bureau):
    """Household lists compared at once: the second waits for the first and carries its suspect."""
    import threading

    from django.db import connection

    from dropout_control import matching
    from dropout_control.models import SuspectedDropout
    from tests.dropout_control.test_matching import AS_OF, xlsx
    from tests.factories import make_id_number

    rows = [(make_id_number(date(2013, 10, 1)), f"李{i}", "甲镇", "上坪村", "") for i in range(20)]
    barrier = threading.Barrier(6)
    errors = []

    def upload():
        try:
            barrier.wait()
            matching.household_register_upload(file=xlsx(rows), file_name="户籍.xlsx", as_of=AS_OF, by=bureau)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert SuspectedDropout.objects.pending().count() == 20
