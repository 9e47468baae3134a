"""The API of issue 18: return, monthly confirmations, closing request and confirmation, zero reports.

Each refusal the issue names is sent with an otherwise valid body, answers one status code and writes nothing.
"""

from __future__ import annotations

from datetime import date

import pytest

from dropout_control.models import ClosingRequest, DropoutCase, ReturnWatch, ZeroReport
from tests.dropout_control.conftest import MONTHS, RETURNED, WATCH_END, api_for, whole_watch_ran
from tests.dropout_control.factories import open_case, recorded_on_the_day, return_and_watch
from tests.refusals import nothing_written

FOUND = date(2025, 3, 3)
# Returns are dated in the running school year, watched two months (tests/dropout_control/conftest.py).
pytestmark = pytest.mark.usefixtures("short_watch")


HOME_TEACHING_REQUEST = {
    "outcome": "home_teaching",
    "on": "2025-03-20",
    "home_teacher": "刘老师",
    "home_schedule": "每月两次",
    "home_visits_per_month": 2,
    "home_hours_per_term": "40",
    "proof": "送教上门协议",
}


# --- the four refusals of the issue ---------------------------------------------------------------


@whole_watch_ran
def test_closing_without_the_bureaus_confirmation_is_refused(township_officer, case_a, school_a):
    return_and_watch(case_a, school=school_a, on=RETURNED)
    body = {"outcome": "returned", "outcome_school": school_a.pk, "on": WATCH_END.isoformat()}
    with nothing_written(case_a):
        response = api_for(township_officer).post(
            f"/api/dropout/cases/{case_a.pk}/close/", body, format="json"
        )
    assert response.status_code == 403


def test_home_teaching_plan_without_the_committees_decision_is_refused(principal_a, case_a):
    with nothing_written(case_a):
        response = api_for(principal_a).post(
            f"/api/dropout/cases/{case_a.pk}/closing-request/", HOME_TEACHING_REQUEST, format="json"
        )
    assert response.status_code == 400
    assert "committee_decision" in response.json()
    decided = {
        **HOME_TEACHING_REQUEST,
        "committee_decided_on": "2025-03-15",
        "committee_decision": "重度残疾，送教上门",
        "committee_document": "县残评〔2025〕3号",
    }
    response = api_for(principal_a).post(
        f"/api/dropout/cases/{case_a.pk}/closing-request/", decided, format="json"
    )
    assert response.status_code == 201, response.content


def test_zero_report_for_a_month_with_an_open_case_is_refused(principal_a, case_a, school_a):
    with nothing_written():
        response = api_for(principal_a).post(
            "/api/dropout/zero-reports/", {"month": "2025-03-01", "school": school_a.pk}, format="json"
        )
    assert response.status_code == 400
    assert "month" in response.json()


def test_confirmation_for_a_child_not_in_a_watch_is_refused(principal_a, case_a):
    with nothing_written(case_a):
        response = api_for(principal_a).post(
            f"/api/dropout/cases/{case_a.pk}/confirmations/",
            {"month": "2025-03-01", "attended": True},
            format="json",
        )
    assert response.status_code == 400


# --- the walk, found → returned → watched → closed, with the right roles ---------------------------


@whole_watch_ran
def test_walk_found_returned_watched_closed(township_officer, principal_a, bureau, case_a, school_a):
    officer, principal, clerk = api_for(township_officer), api_for(principal_a), api_for(bureau)
    url = f"/api/dropout/cases/{case_a.pk}/"
    response = officer.post(
        f"{url}return/",
        {
            "school": school_a.pk,
            "on": RETURNED.isoformat(),
            "stage": "primary",
            "grade": 3,
            "late_reason": "补录",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["case_stage"], body["status"], body["watches"][0]["watch_until"]) == (
        "watched",
        "open",
        WATCH_END.isoformat(),
    )
    assert body["student"] is not None
    recorded_on_the_day(ReturnWatch.objects.get(case=case_a))  # confirmed month by month since
    # Each month on its first day, the last one in the middle of the month.
    for month in [m.isoformat() for m in MONTHS[:-1]] + [MONTHS[-1].replace(day=15).isoformat()]:
        response = principal.post(f"{url}confirmations/", {"month": month, "attended": True}, format="json")
        assert response.status_code == 201, response.content
    response = officer.post(
        f"{url}closing-request/",
        {"outcome": "returned", "on": WATCH_END.isoformat(), "proof": "复学登记表"},
        format="json",
    )
    assert response.status_code == 201, response.content
    request_id = response.json()["id"]
    assert (
        officer.post(f"/api/dropout/closing-requests/{request_id}/confirm/", {}, format="json").status_code
        == 403
    )
    pending = clerk.get("/api/dropout/closing-requests/", {"status": "pending"}).json()
    assert [r["id"] for r in pending["results"]] == [request_id]
    response = clerk.post(
        f"/api/dropout/closing-requests/{request_id}/confirm/", {"note": "材料齐全"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["case_stage"], body["status"], body["outcome"], body["outcome_on"]) == (
        "closed",
        "closed",
        "returned",
        WATCH_END.isoformat(),
    )
    assert [p["closed_on"] for p in body["periods"]] == [WATCH_END.isoformat()]
    assert ClosingRequest.objects.get().status == "confirmed"


def test_bureau_sends_a_closing_back(principal_a, bureau, case_a):
    response = api_for(principal_a).post(
        f"/api/dropout/cases/{case_a.pk}/closing-request/",
        {"outcome": "transferred_out", "outcome_note": "广东", "on": "2025-03-20", "proof": "转学证明"},
        format="json",
    )
    request_id = response.json()["id"]
    response = api_for(bureau).post(
        f"/api/dropout/closing-requests/{request_id}/reject/", {"note": "缺回执"}, format="json"
    )
    assert (response.status_code, response.json()["status"]) == (200, "rejected")
    assert DropoutCase.objects.get().status == "open"


def test_case_stage_filter(bureau, case_a, school_a, township_a):
    other = open_case(township=township_a, name="乙案")
    return_and_watch(other, school=school_a, on=RETURNED, confirm=False)
    client = api_for(bureau)
    names = {
        s: [r["name"] for r in client.get("/api/dropout/cases/", {"stage": s}).json()["results"]]
        for s in ("found", "watched")
    }
    assert names == {"found": ["甲案"], "watched": ["乙案"]}


# --- zero reports --------------------------------------------------------------------------------


def test_zero_reports_filed_and_who_has_not_reported(
    principal_a, principal_b, township_officer, bureau, school_a, school_b, township_a, township_b
):
    assert (
        api_for(principal_b)
        .post("/api/dropout/zero-reports/", {"month": "2025-04-01", "school": school_b.pk}, format="json")
        .status_code
        == 201
    )
    # school A has a case in April: it is in the ledger, not a zero report.
    open_case(township=township_a, school=school_a, found_on=date(2025, 4, 2))
    rows = api_for(bureau).get("/api/dropout/zero-reports/status/", {"month": "2025-04"}).json()
    states = {(r["kind"], r["name"]): r["state"] for r in rows}
    assert states[("school", school_b.name)] == "reported"
    assert states[("school", school_a.name)] == "has_cases"
    assert states[("township", township_b.name)] == "missing"
    assert states[("township", township_a.name)] == "has_cases"
    listed = api_for(bureau).get("/api/dropout/zero-reports/", {"month": "2025-04"}).json()["results"]
    assert [r["school_name"] for r in listed] == [school_b.name]


def test_zero_report_only_for_the_users_own_school_or_township(
    principal_a, township_officer, bureau, school_b, township_b
):
    with nothing_written():
        other_school = api_for(principal_a).post(
            "/api/dropout/zero-reports/", {"month": "2025-04-01", "school": school_b.pk}, format="json"
        )
        other_township = api_for(township_officer).post(
            "/api/dropout/zero-reports/", {"month": "2025-04-01", "township": township_b.pk}, format="json"
        )
        by_bureau = api_for(bureau).post(
            "/api/dropout/zero-reports/", {"month": "2025-04-01", "township": township_b.pk}, format="json"
        )
    assert (other_school.status_code, other_township.status_code, by_bureau.status_code) == (403, 403, 403)


def test_zero_report_twice_or_for_a_future_month_is_refused(township_officer, township_a):
    client = api_for(township_officer)
    assert (
        client.post(
            "/api/dropout/zero-reports/", {"month": "2025-04-01", "township": township_a.pk}, format="json"
        ).status_code
        == 201
    )
    with nothing_written():
        again = client.post(
            "/api/dropout/zero-reports/", {"month": "2025-04-20", "township": township_a.pk}, format="json"
        )
        future = client.post(
            "/api/dropout/zero-reports/", {"month": "2099-01-01", "township": township_a.pk}, format="json"
        )
    assert (again.status_code, future.status_code) == (400, 400)
    assert ZeroReport.objects.count() == 1


# --- documented ----------------------------------------------------------------------------------


def test_new_actions_are_in_the_openapi_schema(bureau):
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path in (
        "/api/dropout/zero-reports/",
        "/api/dropout/zero-reports/status/",
        "/api/dropout/cases/{id}/return/",
        "/api/dropout/cases/{id}/confirmations/",
        "/api/dropout/cases/{id}/closing-request/",
        "/api/dropout/closing-requests/",
        "/api/dropout/closing-requests/{id}/confirm/",
        "/api/dropout/closing-requests/{id}/reject/",
    ):
        assert path in paths, path


def test_a_principal_cannot_return_a_child_onto_another_schools_register(principal_a, case_a, school_b):
    """An attacker moved his own school's cases onto another school's register (and then filed zero reports
    for months his school had a case). A return writes the register: only to a school the user works for."""
    body = {
        "school": school_b.pk,
        "on": RETURNED.isoformat(),
        "stage": "primary",
        "grade": 3,
        "late_reason": "补录",
    }
    with nothing_written(case_a):
        response = api_for(principal_a).post(f"/api/dropout/cases/{case_a.pk}/return/", body, format="json")
    assert response.status_code == 400
    assert "school" in response.json()
    # the same return to his own school is recorded
    body["school"] = case_a.school_id
    assert api_for(principal_a).post(
        f"/api/dropout/cases/{case_a.pk}/return/", body, format="json"
    ).status_code in {
        200,
        201,
    }


def test_a_month_out_of_range_is_a_400_not_a_500(bureau):
    response = api_for(bureau).get("/api/dropout/zero-reports/status/", {"month": "9999-12"})
    assert response.status_code == 400


def test_a_principal_does_not_file_his_townships_zero_report(principal_a, township_officer, township_a):
    body = {"month": "2025-04-01", "township": township_a.pk}
    with nothing_written():
        response = api_for(principal_a).post("/api/dropout/zero-reports/", body, format="json")
    assert response.status_code == 403
    assert (
        api_for(township_officer).post("/api/dropout/zero-reports/", body, format="json").status_code == 201
    )


def test_a_case_at_one_of_the_townships_schools_refuses_its_zero_report(
    township_officer, township_a, school_a
):
    """The child lives in another township but is at a school of this one: the township has a case."""
    from tests.factories import TownshipFactory

    elsewhere = TownshipFactory(county=township_a.county)
    open_case(township=elsewhere, school=school_a, name="外乡案")
    assert school_a.township_id == township_a.pk
    with nothing_written():
        response = api_for(township_officer).post(
            "/api/dropout/zero-reports/",
            {"month": FOUND.replace(day=1).isoformat(), "township": township_a.pk},
            format="json",
        )
    assert response.status_code == 400


def test_the_school_the_child_returned_to_confirms_not_the_home_township(
    township_officer, principal_b, bureau, township_a, school_b
):
    """The child lives in the officer's township and returned to a school of another township."""
    case = open_case(township=township_a, name="跨乡复学")
    return_and_watch(case, school=school_b, on=RETURNED, by=bureau, confirm=False)
    body = {"month": MONTHS[0].isoformat(), "attended": True}
    url = f"/api/dropout/cases/{case.pk}/confirmations/"
    with nothing_written(case):
        response = api_for(township_officer).post(url, body, format="json")
    assert response.status_code == 403
    assert api_for(principal_b).post(url, body, format="json").status_code == 201
