"""The pages of issue 18: zero reports, the watch period, closing confirmation, 送教上门 monitoring."""

from __future__ import annotations

from datetime import date, timedelta

from django.urls import reverse
from django.utils import timezone

from dropout_control import services
from dropout_control.models import ClosingRequest, WatchPolicy, ZeroReport
from tests.dropout_control.factories import HOME_TEACHING, open_case
from tests.refusals import nothing_written

LAST_MONTH = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)


def test_principal_files_the_zero_report_and_the_bureau_sees_who_has_not(
    principal_a_client, bureau_client, school_a, school_b
):
    response = principal_a_client.post(
        reverse("dropout:zero_reports"), {"month": f"{LAST_MONTH:%Y-%m}"}, follow=True
    )
    assert "零报告已提交" in response.content.decode()
    assert ZeroReport.objects.get().school == school_a
    body = bureau_client.get(
        reverse("dropout:zero_reports"), {"month": f"{LAST_MONTH:%Y-%m}"}
    ).content.decode()
    assert "无辍学（已报告）" in body and "未报告" in body
    assert 'id="zero-report-form"' not in body  # the bureau reads, it does not file


def test_zero_report_page_refuses_a_month_with_a_case(township_client, township_a):
    open_case(township=township_a, found_on=LAST_MONTH + timedelta(days=2))
    with nothing_written():
        body = township_client.post(
            reverse("dropout:zero_reports"), {"month": f"{LAST_MONTH:%Y-%m}"}
        ).content.decode()
    assert "不能零报告" in body


def test_bureau_sets_the_watch_period_others_cannot(bureau_client, township_client):
    with nothing_written():
        assert township_client.post(reverse("dropout:watch_policy"), {"months": "3"}).status_code == 403
    bureau_client.post(reverse("dropout:watch_policy"), {"months": "3"})
    assert WatchPolicy.current_months() == 3
    assert "观察 3 个月" in bureau_client.get(reverse("dropout:index")).content.decode()


def test_only_the_bureau_confirms_a_closing_in_the_pages(
    township_client, bureau_client, township_officer, township_a
):
    case = open_case(township=township_a)
    request = services.case_close_request(
        case=case,
        outcome="transferred_out",
        outcome_note="广东",
        on=date(2025, 3, 20),
        proof="转学证明",
        by=township_officer,
    )
    url = reverse("dropout:closing_confirm", args=[request.pk])
    with nothing_written(case, request):
        assert township_client.post(url, {"note": ""}).status_code == 403
    page = township_client.get(reverse("dropout:case_detail", args=[case.pk])).content.decode()
    assert 'id="closing-confirm-form"' not in page and 'id="close-form"' not in page
    bureau_client.post(url, {"note": "同意"})
    request.refresh_from_db()
    case.refresh_from_db()
    assert (request.status, case.status, case.outcome) == (
        ClosingRequest.Status.CONFIRMED,
        "closed",
        "transferred_out",
    )


def test_home_teaching_page_flags_an_overdue_visit(bureau_client, bureau, township_a):
    today = timezone.localdate()
    case = open_case(
        township=township_a, reason="disability", found_on=today - timedelta(days=60), name="送教娃"
    )
    services.case_close(
        proof="证明材料",
        case=case,
        on=today - timedelta(days=50),
        by=bureau,
        **{**HOME_TEACHING, "committee_decided_on": today - timedelta(days=55)},
    )
    body = bureau_client.get(reverse("dropout:home_teaching")).content.decode()
    assert "送教娃" in body and "县残评〔2025〕3号" in body and "逾期" in body
