"""Browser pages through the test client, in Chinese, for each role."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from dropout_control import selectors, services
from dropout_control.models import DropoutCase, SuspectedDropout
from tests.dropout_control.conftest import RETURNED
from tests.dropout_control.factories import open_case
from tests.factories import CategoryFactory, StudentFactory, make_id_number
from tests.refusals import nothing_written

PAGES = ["index", "case_list", "ledger", "register", "suspect_list", "absence_list", "care_roster"]


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("who", ["bureau_client", "official_client", "township_client", "principal_a_client"])
def test_pages_open_for_every_role(request, name, who, case_a):
    response = request.getfixturevalue(who).get(reverse(f"dropout:{name}"))
    assert response.status_code == 200
    assert "控辍保学" in response.content.decode()


def test_anonymous_is_sent_to_login(client):
    assert client.get(reverse("dropout:index")).status_code == 302


def test_dashboard_shows_open_cases_by_township_and_flags_overdue(bureau_client, case_a, case_b, bureau):
    recent = open_case(
        township=case_a.township, name="新案", found_on=timezone.localdate() - timedelta(days=3)
    )
    body = bureau_client.get(reverse("dropout:index")).content.decode()
    assert "甲镇" in body and "乙镇" in body
    overdue = body[body.index('id="overdue"') :]
    assert "甲案" in overdue and "乙案" in overdue and "新案" not in overdue
    services.case_add_visit(case=case_a, visited_on=timezone.localdate(), visitors="x", result="y", by=bureau)
    names = [item.case.name for item in selectors.dashboard_figures(bureau).overdue]
    assert names == ["乙案"]
    days = {
        item.case.name: item.days for g in selectors.dashboard_figures(bureau).by_township for item in g.cases
    }
    assert days["新案"] == 3
    assert recent.pk


def test_dashboard_figures_are_scoped(township_officer, principal_b, case_a, case_b):
    assert [g.township for g in selectors.dashboard_figures(township_officer).by_township] == ["甲镇"]
    assert selectors.dashboard_figures(principal_b).open_total == 1


def test_dashboard_figures_query_count_is_fixed(bureau, township_a, django_assert_num_queries):
    for _ in range(10):
        open_case(township=township_a)
    with django_assert_num_queries(3):
        selectors.dashboard_figures(bureau)


def test_case_list_query_count_does_not_grow(bureau_client, township_a, django_assert_max_num_queries):
    for _ in range(25):
        open_case(township=township_a)
    with django_assert_max_num_queries(14):
        response = bureau_client.get(reverse("dropout:case_list"))
    assert response.content.decode().count("王小二") == 25


def test_principal_cannot_open_another_schools_case_page(principal_a_client, case_b):
    response = principal_a_client.get(reverse("dropout:case_detail", args=[case_b.pk]))
    assert response.status_code == 404
    assert case_b.id_number not in response.content.decode()


def test_principal_cannot_post_to_another_schools_case(
    principal_a_client, principal_b_client, case_b, school_b
):
    posts = [
        ("case_add_visit", {"visited_on": "2025-03-05", "visitors": "班主任", "result": "同意返校"}),
        ("case_set_team", {"teacher_name": "王老师", "teacher_phone": "13800000000"}),
        (
            "case_closing_request",
            {
                "outcome": "transferred_out",
                "outcome_note": "广东东莞",
                "on": "2025-03-06",
                "proof": "转学证明",
            },
        ),
        (
            "case_return",
            {
                "school": school_b.pk,
                "on": RETURNED.isoformat(),
                "stage": "primary",
                "grade": "3",
                "late_reason": "补录",
            },
        ),
    ]
    with nothing_written(case_b):
        for name, data in posts:
            response = principal_a_client.post(reverse(f"dropout:{name}", args=[case_b.pk]), data)
            assert response.status_code == 404, name
    for name, data in posts:  # the same forms from the case's own school are taken
        principal_b_client.post(reverse(f"dropout:{name}", args=[case_b.pk]), data)
    case_b.refresh_from_db()
    assert case_b.visits.exists() and case_b.team.exists()
    assert case_b.closing_requests.get().status == "pending" and case_b.watches.get().is_watching


def test_official_sees_the_case_without_forms_and_cannot_post(official_client, case_a, school_a, township_a):
    body = official_client.get(reverse("dropout:case_detail", args=[case_a.pk])).content.decode()
    assert "甲案" in body and 'id="close-form"' not in body and case_a.id_number not in body
    assert official_client.get(reverse("dropout:case_create")).status_code == 403
    new_case = {
        "id_number": make_id_number(date(2013, 6, 1)),
        "name": "赵六",
        "township": township_a.pk,
        "found_on": "2025-03-03",
        "found_by": "township_survey",
        "reason": "work",
    }
    with nothing_written(case_a):
        closed = official_client.post(
            reverse("dropout:case_close", args=[case_a.pk]),
            {"outcome": "returned", "outcome_school": school_a.pk, "on": "2025-03-06"},
        )
        visited = official_client.post(
            reverse("dropout:case_add_visit", args=[case_a.pk]),
            {"visited_on": "2025-03-05", "visitors": "班主任", "result": "同意返校"},
        )
        opened = official_client.post(reverse("dropout:case_create"), new_case)
    assert (closed.status_code, visited.status_code, opened.status_code) == (403, 403, 403)


def test_township_officer_opens_a_case_through_the_form(township_client, township_a):
    number = make_id_number(date(2013, 6, 1))
    data = {
        "id_number": number,
        "name": "赵六",
        "township": township_a.pk,
        "village": "上坪村",
        "found_on": "2025-03-03",
        "found_late_reason": "补录",
        "found_by": "township_survey",
        "reason": "work",
    }
    response = township_client.post(reverse("dropout:case_create"), data)
    case = DropoutCase.objects.get()
    assert response.status_code == 302 and response.url == reverse("dropout:case_detail", args=[case.pk])


def test_form_links_a_registered_student(bureau_client, student_a, township_a):
    data = {
        "id_number": student_a.id_number,
        "name": student_a.name,
        "township": township_a.pk,
        "found_on": "2025-03-03",
        "found_by": "school_report",
        "reason": "illness",
    }
    bureau_client.post(reverse("dropout:case_create"), data)
    assert DropoutCase.objects.get().student == student_a


def test_out_of_age_child_without_reason_is_refused_in_chinese(township_client, township_a):
    data = {
        "id_number": make_id_number(date(2005, 1, 1)),
        "name": "大孩子",
        "township": township_a.pk,
        "found_on": "2025-03-03",
        "found_late_reason": "补录",
        "found_by": "township_survey",
        "reason": "work",
    }
    response = township_client.post(reverse("dropout:case_create"), data)
    assert response.status_code == 200
    assert "义务教育年龄" in response.content.decode()
    assert not DropoutCase.objects.exists()


def test_close_without_outcome_shows_a_message_and_keeps_the_case_open(bureau_client, case_a):
    response = bureau_client.post(
        reverse("dropout:case_close", args=[case_a.pk]), {"on": "2025-03-05"}, follow=True
    )
    assert "结案必须选择去向" in response.content.decode()
    case_a.refresh_from_db()
    assert case_a.status == "open"


def test_full_walk_in_pages(township_client, bureau_client, case_a, school_a):
    url = reverse("dropout:case_detail", args=[case_a.pk])
    township_client.post(
        reverse("dropout:case_add_visit", args=[case_a.pk]),
        {"visited_on": "2025-03-05", "visitors": "镇干部", "result": "家长同意返校"},
    )
    township_client.post(
        reverse("dropout:case_set_team", args=[case_a.pk]),
        {"township_leader_name": "刘镇长", "township_leader_phone": "13800000000"},
    )
    bureau_client.post(
        reverse("dropout:case_close", args=[case_a.pk]),
        {"outcome": "transferred_out", "outcome_note": "广东东莞", "on": "2025-03-10", "proof": "转学联系函"},
    )
    body = bureau_client.get(url).content.decode()
    assert "转出县外" in body or "广东东莞" in body
    assert "家长同意返校" in body and "刘镇长" in body
    assert "变更记录" in body and "bureau_clerk" in body
    bureau_client.post(
        reverse("dropout:case_reopen", args=[case_a.pk]), {"on": "2025-04-01", "reason": "再次辍学"}
    )
    case_a.refresh_from_db()
    assert case_a.status == "open"


def test_ledger_page_and_export(bureau_client, case_a, case_b):
    body = bureau_client.get(reverse("dropout:ledger"), {"month": "2025-03"}).content.decode()
    assert "甲镇中心小学" in body and "合计" in body
    response = bureau_client.get(reverse("dropout:ledger_export"), {"month": "2025-03"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(response.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[-1] == ("合计", None, 0, 2, 0, 2)


def test_principal_ledger_export_holds_only_own_school(principal_a_client, case_a, case_b):
    response = principal_a_client.get(reverse("dropout:ledger_export"), {"month": "2025-03"})
    detail = list(load_workbook(io.BytesIO(response.content)).worksheets[1].iter_rows(values_only=True))
    assert [r[2] for r in detail[1:]] == ["甲案"]


def _xlsx(rows) -> io.BytesIO:
    wb = Workbook()
    wb.active.append(["身份证号", "姓名", "乡镇", "村"])
    for row in rows:
        wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = "户籍.xlsx"
    return buffer


def test_register_upload_confirm_and_clear_in_pages(bureau_client, township_client, township_a):
    rows = [
        [make_id_number(date(2014, 1, 1)), "赵六", "甲镇", "上坪村"],
        [make_id_number(date(2013, 1, 1)), "钱七", "甲镇", ""],
    ]
    response = bureau_client.post(reverse("dropout:register"), {"file": _xlsx(rows), "as_of": "2025-09-01"})
    assert response.status_code == 302
    body = township_client.get(reverse("dropout:suspect_list")).content.decode()
    assert "赵六" in body and "钱七" in body
    zhao, qian = SuspectedDropout.objects.get(name="赵六"), SuspectedDropout.objects.get(name="钱七")
    response = township_client.post(
        reverse("dropout:suspect_confirm", args=[zhao.pk]),
        {"reason": "work", "found_on": "2025-09-02", "found_late_reason": "补录"},
    )
    case = DropoutCase.objects.get()
    assert response.url == reverse("dropout:case_detail", args=[case.pk])
    township_client.post(
        reverse("dropout:suspect_clear", args=[qian.pk]), {"clear_reason": "studies_outside"}
    )
    qian.refresh_from_db()
    assert qian.status == "cleared"
    export = bureau_client.get(reverse("dropout:upload_export", args=[zhao.row.upload_id]))
    assert load_workbook(io.BytesIO(export.content)).sheetnames == ["适龄儿童", "疑似辍学", "确认辍学"]


def test_township_officer_cannot_upload(township_client, bureau_client, township_a):
    rows = [[make_id_number(date(2014, 1, 1)), "赵六", "甲镇", "上坪村"]]
    with nothing_written():
        response = township_client.post(
            reverse("dropout:register"), {"file": _xlsx(rows), "as_of": "2025-09-01"}
        )
    assert response.status_code == 403
    bureau_client.post(reverse("dropout:register"), {"file": _xlsx(rows), "as_of": "2025-09-01"})
    assert SuspectedDropout.objects.filter(name="赵六").exists()  # the same file from the bureau is taken


def test_bad_upload_shows_the_rows_in_chinese(bureau_client, township_a):
    rows = [[make_id_number(date(2014, 1, 1)), "赵六", "甲镇", "上坪村"], ["123", "x", "火星镇", ""]]
    with nothing_written():
        response = bureau_client.post(
            reverse("dropout:register"), {"file": _xlsx(rows), "as_of": "2025-09-01"}
        )
    assert response.status_code == 200
    assert "第 3 行" in response.content.decode()


def test_long_absence_page_marks_own_pupil_only(principal_a_client, school_a, school_b):
    own, other = StudentFactory(school=school_a, name="缺课生"), StudentFactory(school=school_b)
    principal_a_client.post(
        reverse("dropout:absence_list"), {"id_number": own.id_number, "since": "2025-03-01"}
    )
    with nothing_written(other):
        response = principal_a_client.post(
            reverse("dropout:absence_list"), {"id_number": other.id_number, "since": "2025-03-01"}
        )
    assert response.status_code == 200 and "没有" in response.content.decode()
    assert "缺课生" in principal_a_client.get(reverse("dropout:absence_list")).content.decode()


def test_care_roster_and_record(principal_a_client, principal_b_client, school_a):
    child = StudentFactory(school=school_a, name="留守娃")
    CategoryFactory(student=child, category="left_behind")
    body = principal_a_client.get(reverse("dropout:care_roster")).content.decode()
    assert "留守娃" in body and "留守儿童" in body
    assert "留守娃" not in principal_b_client.get(reverse("dropout:care_roster")).content.decode()
    principal_a_client.post(
        reverse("dropout:care_student", args=[child.pk]),
        {"visited_on": "2025-03-01", "teacher": "王老师", "kind": "home_visit", "content": "万师访万家家访"},
    )
    assert child.care_records.count() == 1
    assert principal_b_client.get(reverse("dropout:care_student", args=[child.pk])).status_code == 404


def test_principal_corrects_own_case_but_not_another_schools(principal_a_client, case_a, case_b, school_a):
    data = {
        "name": "甲案改",
        "township": case_a.township_id,
        "village": "下坊村",
        "school": school_a.pk,
        "found_by": "school_report",
        "reason": "illness",
    }
    response = principal_a_client.post(reverse("dropout:case_edit", args=[case_a.pk]), data)
    assert response.status_code == 302
    case_a.refresh_from_db()
    assert (case_a.name, case_a.reason) == ("甲案改", "illness")
    with nothing_written(case_b):
        response = principal_a_client.post(reverse("dropout:case_edit", args=[case_b.pk]), data)
    assert response.status_code == 404


def test_principal_cannot_move_a_case_to_another_school_in_the_form(principal_a_client, case_a, school_b):
    data = {
        "name": "甲案",
        "township": case_a.township_id,
        "school": school_b.pk,
        "found_by": "school_report",
        "reason": "other",
    }
    response = principal_a_client.post(reverse("dropout:case_edit", args=[case_a.pk]), data)
    assert response.status_code == 200  # school B is not among the choices
    case_a.refresh_from_db()
    assert case_a.school_id != school_b.pk
