"""The dropout API, for each role: bureau, official (read only), township officer, principals A and B."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook
from rest_framework.test import APIClient

from dropout_control.models import DropoutCase, SuspectedDropout
from tests.dropout_control.conftest import RETURNED, api_for
from tests.dropout_control.factories import HOME_TEACHING, close_case, open_case
from tests.factories import StudentFactory, make_id_number
from tests.refusals import nothing_written

FOUND = date(2025, 3, 3)


def new_case(township, **overrides) -> dict:
    body = {
        "id_number": make_id_number(date(2013, 4, 1)),
        "name": "赵六",
        "township": township.pk,
        "found_on": "2025-03-03",
        "found_late_reason": "补录",
        "found_by": "township_survey",
        "reason": "other",
    }
    body.update(overrides)
    return body


MOVED_AWAY = {
    "outcome": "transferred_out",
    "outcome_note": "随父母迁往广东东莞",
    "on": "2025-03-10",
    "proof": "转学联系函",
}
VISIT = {
    "visited_on": "2025-03-05",
    "visitors": "镇干部、班主任",
    "result": "家长同意返校",
    "next_step": "核实到校",
    "next_on": "2025-03-10",
}


def test_anonymous_gets_nothing(client, case_a):
    # 401, not 403: the token scheme answers "WWW-Authenticate: Token", i.e. "sign in first".
    assert client.get("/api/dropout/cases/").status_code == 401


def test_anonymous_writes_nothing(case_a, township_a):
    client = APIClient()
    with nothing_written(case_a):
        opened = client.post("/api/dropout/cases/", new_case(township_a), format="json")
        visited = client.post(f"/api/dropout/cases/{case_a.pk}/visits/", VISIT, format="json")
    assert (opened.status_code, visited.status_code) == (401, 401)


def test_endpoints_are_in_the_openapi_schema(bureau):
    schema = api_for(bureau).get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for path in (
        "/api/dropout/cases/",
        "/api/dropout/cases/{id}/close/",
        "/api/dropout/cases/{id}/reopen/",
        "/api/dropout/cases/{id}/visits/",
        "/api/dropout/cases/{id}/team/",
        "/api/dropout/cases/{id}/home-visits/",
        "/api/dropout/suspects/{id}/confirm/",
        "/api/dropout/suspects/{id}/clear/",
        "/api/dropout/uploads/",
        "/api/dropout/ledger/",
        "/api/dropout/dashboard/",
        "/api/dropout/long-absences/",
        "/api/dropout/care-records/",
        "/api/dropout/care-roster/",
    ):
        assert path in paths, path


@pytest.mark.parametrize(
    ("who", "names"),
    [
        ("bureau", {"甲案", "乙案"}),
        ("official", {"甲案", "乙案"}),
        ("township_officer", {"甲案"}),
        ("principal_a", {"甲案"}),
        ("principal_b", {"乙案"}),
    ],
)
def test_list_is_scoped(request, case_a, case_b, who, names):
    body = api_for(request.getfixturevalue(who)).get("/api/dropout/cases/").json()
    assert {row["name"] for row in body["results"]} == names


def test_list_masks_the_id_number(bureau, case_a):
    row = api_for(bureau).get("/api/dropout/cases/").json()["results"][0]
    assert row["id_number_masked"] == case_a.masked_id_number
    assert case_a.id_number not in str(row)


def test_detail_full_id_for_writers_only_when_asked_and_logged(bureau, official, case_a):
    from portal.models import AccessLog

    url = f"/api/dropout/cases/{case_a.pk}/"
    assert api_for(bureau).get(url).json()["id_number_full"] is None
    assert api_for(bureau).get(url, {"reveal": "id"}).json()["id_number_full"] == case_a.id_number
    assert (
        AccessLog.objects.filter(
            user=bureau, action=AccessLog.Action.REVEAL_ID, object_id=str(case_a.pk)
        ).count()
        == 1
    )
    body = api_for(official).get(url, {"reveal": "id"}).json()
    assert body["id_number_full"] is None
    assert case_a.id_number not in str(body)


def test_filters(bureau, case_a, case_b, school_a):
    close_case(case_b, on=FOUND, by=bureau)
    client = api_for(bureau)
    assert [r["name"] for r in client.get("/api/dropout/cases/", {"status": "open"}).json()["results"]] == [
        "甲案"
    ]
    assert [
        r["name"] for r in client.get("/api/dropout/cases/", {"outcome": "transferred_out"}).json()["results"]
    ] == ["乙案"]
    assert [
        r["name"] for r in client.get("/api/dropout/cases/", {"q": case_a.id_number}).json()["results"]
    ] == ["甲案"]
    assert (
        client.get("/api/dropout/cases/", {"overdue": "true"}).json()["count"] == 1
    )  # found in 2025, never visited


def test_principal_cannot_read_or_change_another_schools_case(principal_a, principal_b, case_b, school_b):
    url = f"/api/dropout/cases/{case_b.pk}/"
    writes = [
        ("patch", url, {"reason_detail": "家长外出务工"}),
        ("post", f"{url}visits/", VISIT),
        ("post", f"{url}closing-request/", {**MOVED_AWAY, "proof": "转学证明"}),
        (
            "post",
            f"{url}return/",
            {
                "school": school_b.pk,
                "on": RETURNED.isoformat(),
                "stage": "primary",
                "grade": 3,
                "late_reason": "补录",
            },
        ),
    ]
    client = api_for(principal_a)
    assert client.get(url).status_code == 404
    with nothing_written(case_b):
        for method, path, body in writes:
            assert getattr(client, method)(path, body, format="json").status_code == 404, path
    own = api_for(principal_b)  # the same requests from the case's own school go through
    assert [getattr(own, m)(p, b, format="json").status_code for m, p, b in writes] == [200, 201, 201, 200]


def test_official_reads_but_cannot_write(official, bureau, case_a, township_a, school_a):
    client = api_for(official)
    assert client.get(f"/api/dropout/cases/{case_a.pk}/").status_code == 200
    url = f"/api/dropout/cases/{case_a.pk}/"
    team = {"members": [{"role": "township_leader", "name": "刘镇长", "phone": "13800000000"}]}
    writes = [
        ("post", "/api/dropout/cases/", new_case(township_a), 201),
        ("patch", url, {"reason_detail": "家长外出务工"}, 200),
        ("post", f"{url}visits/", VISIT, 201),
        ("put", f"{url}team/", team, 200),
        ("post", f"{url}close/", MOVED_AWAY, 200),
        ("post", f"{url}reopen/", {"reason": "再次辍学", "on": "2025-04-01"}, 200),
    ]
    with nothing_written(case_a):
        for method, path, body, _ in writes:
            assert getattr(client, method)(path, body, format="json").status_code == 403, path
    for method, path, body, allowed in writes:  # the same requests go through for the bureau
        assert getattr(api_for(bureau), method)(path, body, format="json").status_code == allowed, path


def test_township_officer_opens_a_case_for_an_unregistered_child(township_officer, township_a):
    number = make_id_number(date(2013, 4, 1))
    response = api_for(township_officer).post(
        "/api/dropout/cases/",
        {
            "id_number": number,
            "name": "赵六",
            "township": township_a.pk,
            "village": "上坪村",
            "found_on": "2025-03-03",
            "found_late_reason": "补录",
            "found_by": "township_survey",
            "reason": "work",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert DropoutCase.objects.get().id_number == number


def test_case_for_a_registered_student(principal_a, school_a):
    student = StudentFactory(school=school_a)
    response = api_for(principal_a).post(
        "/api/dropout/cases/",
        {
            "student": student.pk,
            "found_on": "2025-03-03",
            "found_late_reason": "补录",
            "found_by": "school_report",
            "reason": "study_difficulty",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    case = DropoutCase.objects.get()
    assert (case.student, case.school, case.name) == (student, school_a, student.name)


def test_principal_cannot_open_a_case_for_another_schools_student(principal_a, principal_b, student_b):
    body = {
        "student": student_b.pk,
        "found_on": "2025-03-03",
        "found_late_reason": "补录",
        "found_by": "school_report",
        "reason": "other",
    }
    with nothing_written(student_b):
        response = api_for(principal_a).post("/api/dropout/cases/", body, format="json")
    assert response.status_code == 400  # not a choice: the student is outside the principal's scope
    assert "student" in response.json()
    assert api_for(principal_b).post("/api/dropout/cases/", body, format="json").status_code == 201


def test_township_officer_cannot_open_in_another_township(township_officer, bureau, township_b):
    body = new_case(township_b)
    with nothing_written():
        response = api_for(township_officer).post("/api/dropout/cases/", body, format="json")
    assert response.status_code == 403
    assert api_for(bureau).post("/api/dropout/cases/", body, format="json").status_code == 201


def test_township_officer_cannot_change_a_case_of_another_township(township_officer, case_b):
    client = api_for(township_officer)
    url = f"/api/dropout/cases/{case_b.pk}/"
    with nothing_written(case_b):
        changed = client.patch(url, {"reason_detail": "家长外出务工"}, format="json")
        visited = client.post(f"{url}visits/", VISIT, format="json")
    assert (changed.status_code, visited.status_code) == (404, 404)


def test_out_of_age_without_reason_is_a_400_with_the_message(bureau, township_a):
    with nothing_written():
        response = api_for(bureau).post(
            "/api/dropout/cases/",
            new_case(township_a, id_number=make_id_number(date(2005, 1, 1))),
            format="json",
        )
    assert response.status_code == 400
    assert "age_exception" in response.json()


def test_second_open_case_is_a_400(bureau, case_a, township_a):
    with nothing_written(case_a):
        response = api_for(bureau).post(
            "/api/dropout/cases/",
            new_case(township_a, id_number=case_a.id_number, found_on="2025-03-04"),
            format="json",
        )
    assert response.status_code == 400


def test_walk_a_case_from_found_to_closed_and_reopened(township_officer, bureau, case_a, school_a):
    officer = api_for(township_officer)
    response = officer.post(
        f"/api/dropout/cases/{case_a.pk}/visits/",
        {
            "visited_on": "2025-03-05",
            "visitors": "镇干部、班主任",
            "result": "家长同意返校",
            "next_step": "核实到校",
            "next_on": "2025-03-10",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    team = {
        "members": [
            {"role": "township_leader", "name": "刘镇长", "phone": "13800000000"},
            {"role": "school_leader", "name": "陈校长", "phone": "13900000000"},
        ]
    }
    assert officer.put(f"/api/dropout/cases/{case_a.pk}/team/", team, format="json").status_code == 200
    with nothing_written(case_a):  # no outcome: nothing closes
        assert (
            api_for(bureau).post(f"/api/dropout/cases/{case_a.pk}/close/", {}, format="json").status_code
            == 400
        )
    with nothing_written(case_a):  # the township asks for the closing; only the bureau closes
        assert (
            officer.post(f"/api/dropout/cases/{case_a.pk}/close/", MOVED_AWAY, format="json").status_code
            == 403
        )
    response = api_for(bureau).post(f"/api/dropout/cases/{case_a.pk}/close/", MOVED_AWAY, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["outcome"], len(body["visits"]), len(body["team"])) == (
        "closed",
        "transferred_out",
        1,
        2,
    )
    response = api_for(bureau).post(
        f"/api/dropout/cases/{case_a.pk}/reopen/", {"reason": "再次辍学", "on": "2025-04-01"}, format="json"
    )
    assert response.status_code == 200
    assert [p["closed_on"] for p in response.json()["periods"]] == ["2025-03-10", None]


def test_visit_before_found_is_a_400(bureau, case_a):
    with nothing_written(case_a):
        response = api_for(bureau).post(
            f"/api/dropout/cases/{case_a.pk}/visits/", {**VISIT, "visited_on": "2025-03-01"}, format="json"
        )
    assert response.status_code == 400
    assert "visited_on" in response.json()


def test_home_visit_log_only_for_home_teaching(bureau, case_a):
    client = api_for(bureau)
    visit = {"visited_on": "2025-03-12", "teacher": "刘老师", "hours": "2.0", "content": "识字"}
    with nothing_written(case_a):
        refused = client.post(f"/api/dropout/cases/{case_a.pk}/home-visits/", visit, format="json")
    assert refused.status_code == 400
    closed = client.post(
        f"/api/dropout/cases/{case_a.pk}/close/",
        {
            **HOME_TEACHING,
            "home_hours_per_term": "40",
            "committee_decided_on": "2025-03-03",
            "on": "2025-03-05",
            "proof": "县残评决定书",
        },
        format="json",
    )
    assert closed.status_code == 200, closed.content
    assert (
        client.post(f"/api/dropout/cases/{case_a.pk}/home-visits/", visit, format="json").status_code == 201
    )


def test_ledger_endpoint_reconciles(bureau, case_a, case_b, school_a):
    close_case(case_b, on=date(2025, 3, 20), by=bureau)
    body = api_for(bureau).get("/api/dropout/ledger/", {"year": 2025, "month": 3}).json()
    t = body["total"]
    assert (t["open_at_start"], t["new"], t["closed"], t["open_at_end"]) == (0, 2, 1, 1)
    assert api_for(bureau).get("/api/dropout/ledger/", {"year": 2025, "month": 13}).status_code == 400


def test_dashboard_endpoint(township_officer, case_a, case_b):
    body = api_for(township_officer).get("/api/dropout/dashboard/").json()
    assert body["open_total"] == 1
    assert body["by_township"][0]["cases"][0]["name"] == "甲案"
    assert body["overdue"][0]["name"] == "甲案"


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


def test_upload_then_confirm_and_clear_suspects(bureau, township_officer, township_a):
    rows = [
        [make_id_number(date(2014, 1, 1)), "赵六", "甲镇", "上坪村"],
        [make_id_number(date(2013, 1, 1)), "钱七", "甲镇", "下坊村"],
    ]
    response = api_for(bureau).post(
        "/api/dropout/uploads/", {"file": _xlsx(rows), "as_of": "2025-09-01"}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert response.json()["suspect_count"] == 2
    officer = api_for(township_officer)
    suspects = officer.get("/api/dropout/suspects/").json()["results"]
    assert {s["name"] for s in suspects} == {"赵六", "钱七"}
    first, second = (s["id"] for s in sorted(suspects, key=lambda s: s["name"]))
    response = officer.post(
        f"/api/dropout/suspects/{first}/confirm/",
        {"reason": "work", "found_on": "2025-09-02", "found_late_reason": "补录"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["found_by"] == "data_comparison"
    with nothing_written(SuspectedDropout.objects.get(pk=second)):  # no reason: nothing is cleared
        refused = officer.post(f"/api/dropout/suspects/{second}/clear/", {"note": "x"}, format="json")
    assert refused.status_code == 400
    response = officer.post(
        f"/api/dropout/suspects/{second}/clear/", {"clear_reason": "moved_away"}, format="json"
    )
    assert response.status_code == 200
    assert set(SuspectedDropout.objects.values_list("status", flat=True)) == {"confirmed", "cleared"}


@pytest.mark.parametrize("who", ["township_officer", "principal_a", "official"])
def test_only_bureau_uploads_the_register(request, who, bureau, township_a):
    rows = [[make_id_number(date(2014, 1, 1)), "赵六", "甲镇", "上坪村"]]
    client = api_for(request.getfixturevalue(who))
    with nothing_written():
        response = client.post(
            "/api/dropout/uploads/", {"file": _xlsx(rows), "as_of": "2025-09-01"}, format="multipart"
        )
    assert response.status_code == 403
    allowed = api_for(bureau).post(
        "/api/dropout/uploads/", {"file": _xlsx(rows), "as_of": "2025-09-01"}, format="multipart"
    )
    assert allowed.status_code == 201


def test_bad_upload_is_a_400_and_writes_nothing(bureau, township_a):
    """One bad number among good rows: no upload, no row, no suspect."""
    rows = [[make_id_number(date(2014, 1, 1)), "赵六", "甲镇", "上坪村"], ["123", "x", "甲镇", ""]]
    with nothing_written():
        response = api_for(bureau).post(
            "/api/dropout/uploads/", {"file": _xlsx(rows), "as_of": "2025-09-01"}, format="multipart"
        )
    assert response.status_code == 400


def test_principal_sees_no_suspects_or_uploads(principal_a, bureau, township_a):
    api_for(bureau).post(
        "/api/dropout/uploads/",
        {"file": _xlsx([[make_id_number(), "赵六", "甲镇", ""]]), "as_of": "2025-09-01"},
        format="multipart",
    )
    client = api_for(principal_a)
    assert client.get("/api/dropout/suspects/").json()["count"] == 0
    assert client.get("/api/dropout/uploads/").json()["count"] == 0


def test_long_absence_marked_by_own_school_only(principal_a, principal_b, school_a, school_b):
    own, other = StudentFactory(school=school_a), StudentFactory(school=school_b)
    client = api_for(principal_a)
    assert (
        client.post(
            "/api/dropout/long-absences/", {"student": own.pk, "since": "2025-03-01"}, format="json"
        ).status_code
        == 201
    )
    with nothing_written(own, other):
        refused_other = client.post(
            "/api/dropout/long-absences/", {"student": other.pk, "since": "2025-03-01"}, format="json"
        )
        refused_twice = client.post(
            "/api/dropout/long-absences/", {"student": own.pk, "since": "2025-03-02"}, format="json"
        )
    assert (refused_other.status_code, refused_twice.status_code) == (400, 400)
    assert "student" in refused_other.json()
    assert (
        api_for(principal_b)
        .post("/api/dropout/long-absences/", {"student": other.pk, "since": "2025-03-01"}, format="json")
        .status_code
        == 201
    )


def test_care_roster_and_records(principal_a, principal_b, school_a):
    from tests.factories import CategoryFactory

    child = StudentFactory(school=school_a, name="留守娃")
    CategoryFactory(student=child, category="left_behind")
    StudentFactory(school=school_a, name="普通娃")
    client = api_for(principal_a)
    roster = client.get("/api/dropout/care-roster/").json()["results"]
    assert [(r["name"], r["care_flags"]) for r in roster] == [("留守娃", ["left_behind"])]
    record = {
        "student": child.pk,
        "visited_on": "2025-03-01",
        "teacher": "王老师",
        "kind": "home_visit",
        "content": "家访",
    }
    with nothing_written(child):
        refused = api_for(principal_b).post("/api/dropout/care-records/", record, format="json")
    assert refused.status_code == 400  # the child is not among principal B's choices
    assert client.post("/api/dropout/care-records/", record, format="json").status_code == 201
    assert api_for(principal_b).get("/api/dropout/care-records/").json()["count"] == 0


def test_case_list_query_count_does_not_grow(bureau, township_a, django_assert_max_num_queries):
    for _ in range(20):
        open_case(township=township_a)
    with django_assert_max_num_queries(8):
        assert api_for(bureau).get("/api/dropout/cases/").json()["count"] == 20


def test_far_cell_register_is_a_400_and_writes_nothing(bureau, bureau_client, township_a):
    """Issue 11: the 1.5 KB file with one cell at XFD150000 (79 GB for the reader) is refused."""
    from tests import xlsx_attacks

    def attack_file():
        data = io.BytesIO(xlsx_attacks.far_cell())
        data.name = "户籍.xlsx"
        return data

    with nothing_written():
        response = api_for(bureau).post(
            "/api/dropout/uploads/", {"file": attack_file(), "as_of": "2025-09-01"}, format="multipart"
        )
        page = bureau_client.post("/dropout/register/", {"file": attack_file(), "as_of": "2025-09-01"})
    assert response.status_code == 400
    assert "XFD150000" in str(response.json())
    assert "XFD150000" in page.content.decode()
