"""The access log as staff read it: people and records by name, file names decoded, actions in words,
filters by user, action and date in the URL, in at most 10 queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.audit import readable_detail
from portal.models import AccessLog
from tests.factories import StudentFactory


@pytest.fixture
def admin_client(client_for, bureau):
    bureau.is_staff = True
    bureau.first_name, bureau.last_name = "小红", "李"
    bureau.save()
    return client_for(bureau)


def test_records_and_people_are_named_not_numbered(admin_client, bureau, student_a):
    AccessLog.objects.create(
        user=bureau,
        username=bureau.username,
        action=AccessLog.Action.VIEW_RECORD,
        object_type="students.student",
        object_id=str(student_a.pk),
    )
    body = admin_client.get(reverse("access_log")).content.decode()
    assert f">students.student:{student_a.pk}" not in body
    assert student_a.name in body and student_a.masked_id_number in body
    assert student_a.id_number not in body
    assert "李小红（bureau_clerk）" in body
    assert "查看记录" in body


def test_downloaded_file_names_are_decoded():
    detail = "/students/export/ attachment; filename*=utf-8''%E5%AD%A6%E7%94%9F%E5%90%8D%E5%8D%95.xlsx"
    assert readable_detail(detail) == "/students/export/ 学生名单.xlsx"
    assert readable_detail('/x/ attachment; filename="a.xlsx"') == "/x/ a.xlsx"
    assert readable_detail("students x12 masked") == "学生 12 人，身份证号已遮蔽"
    assert (
        readable_detail("bank payroll file, batch 3, file 2 again") == "代发文件，批次 3，第 2 号文件重新下载"
    )


def test_a_deleted_record_reads_as_its_kind_and_id(admin_client, bureau):
    AccessLog.objects.create(
        username=bureau.username,
        action=AccessLog.Action.VIEW_RECORD,
        object_type="students.student",
        object_id="999999",
    )
    AccessLog.objects.create(
        username="x", action=AccessLog.Action.VIEW_RECORD, object_type="no.such", object_id="1"
    )
    assert admin_client.get(reverse("access_log")).status_code == 200


def test_filters_by_user_action_and_date(admin_client, bureau, principal_a):
    AccessLog.objects.create(
        user=principal_a, username=principal_a.username, action=AccessLog.Action.EXPORT, detail="mine"
    )
    AccessLog.objects.create(
        user=bureau, username=bureau.username, action=AccessLog.Action.LOGIN, detail="theirs"
    )
    by_user = admin_client.get(reverse("access_log"), {"username": principal_a.username}).content.decode()
    assert "mine" in by_user and "theirs" not in by_user
    by_action = admin_client.get(reverse("access_log"), {"action": "login"}).content.decode()
    assert "theirs" in by_action and "mine" not in by_action
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    by_date = admin_client.get(reverse("access_log"), {"since": tomorrow}).content.decode()
    assert "mine" not in by_date and "theirs" not in by_date


def test_the_page_needs_at_most_10_queries_whatever_it_lists(admin_client, bureau, school_a):
    students = [StudentFactory(school=school_a) for _ in range(5)]
    for s in students:
        AccessLog.objects.create(
            user=bureau,
            username=bureau.username,
            action=AccessLog.Action.VIEW_RECORD,
            object_type="students.student",
            object_id=str(s.pk),
        )
    AccessLog.objects.create(
        user=bureau,
        username=bureau.username,
        action=AccessLog.Action.PASSWORD_CHANGED,
        object_type="portal.user",
        object_id=str(bureau.pk),
    )
    AccessLog.objects.create(
        user=bureau,
        username=bureau.username,
        action=AccessLog.Action.DOWNLOAD,
        object_type="students.school",
        object_id=str(school_a.pk),
    )
    admin_client.get(reverse("access_log"))  # the session's first use
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse("access_log"))
    assert response.status_code == 200
    assert len(queries) <= 10, "\n".join(q["sql"][:200] for q in queries.captured_queries)
    assert school_a.name in response.content.decode()


def test_the_access_log_stays_closed_to_other_roles(client_for, principal_a, official):
    for user in (principal_a, official):
        assert client_for(user).get(reverse("access_log")).status_code == 403
