"""Errors speak Chinese, in the portal's layout, and say what the user may do instead (issue 15)."""

from __future__ import annotations

from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from tests.refusals import nothing_written


def test_a_missing_page_is_chinese_in_the_layout(bureau_client):
    response = bureau_client.get("/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "页面不存在" in body and 'class="mainnav"' in body
    assert "Not Found" not in body
    assert "返回首页" in body


def test_another_schools_student_is_a_chinese_404(principal_a_client, student_b):
    response = principal_a_client.get(reverse("students:student_detail", args=[student_b.pk]))
    assert response.status_code == 404
    assert "不在您的管辖范围内" in response.content.decode()


def test_a_refusal_is_a_chinese_403_that_says_what_to_do(official_client):
    response = official_client.post(reverse("reports:snapshot_rebuild"), {"year": 2022, "basis": "school"})
    body = response.content.decode()
    assert response.status_code == 403
    assert "无权操作" in body and 'class="mainnav"' in body
    assert "只有教育局工作人员可以重新生成年终统计报表；领导可以查看和下载。" in body
    assert "Forbidden" not in body


def test_an_expired_form_is_a_chinese_page(bureau):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bureau)
    response = client.post(reverse("logout"))
    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()


def test_the_server_error_page_is_chinese(db):
    response = server_error(RequestFactory().get("/"))
    body = response.content.decode()
    assert response.status_code == 500
    assert "服务器出错" in body and "Server Error" not in body


def test_an_api_404_is_chinese_and_names_no_model(principal_a_client, student_b):
    response = principal_a_client.get(f"/api/students/{student_b.pk}/")
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "不在您的管辖范围内" in detail and "matches" not in detail


def test_an_unknown_record_in_an_api_body_says_what_to_do(principal_a_client, student_b):
    account = {
        "student": student_b.pk,
        "holder_name": "李父",
        "bank_name": "农村信用社",
        "account_number": "6228480012345678901",
    }
    with nothing_written(student_b):
        response = principal_a_client.post(
            "/api/subsidies/bank-accounts/", account, content_type="application/json"
        )
    assert response.status_code == 400
    message = response.json()["student"][0]
    assert message.startswith(f"编号为 {student_b.pk} 的记录不存在") and "请核对编号" in message


def test_an_officials_rebuild_refusal_tells_the_truth(official_client):
    with nothing_written():
        response = official_client.post(
            "/api/reports/snapshots/rebuild/",
            {"year": 2022, "basis": "school"},
            content_type="application/json",
        )
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "仅供教育局工作人员和领导查看" not in detail
    assert "领导可以查看和下载" in detail


def test_an_officials_write_refusal_says_who_can(official_client, student_a):
    with nothing_written(student_a):
        response = official_client.patch(
            f"/api/students/{student_a.pk}/", {"name": "改名"}, content_type="application/json"
        )
    assert response.status_code == 403
    assert "请联系教育局工作人员" in response.json()["detail"]
