"""Needy-student identification (issue 17, after the outside attack): the steps' dates and students refused
alike through the page and the API (nothing written, a Chinese message), the county's confirmation of an
in-year withdrawal, an upheld objection before the confirmation, and a child who left the school."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from students import services as student_services
from students.models import Stage, Student
from subsidies import eligibility, selectors, services
from subsidies.models import Identification
from tests.attack17.helpers import leave
from tests.refusals import nothing_written
from tests.subsidies.test_identification import (
    DIFFICULT,
    SPECIAL,
    YEAR,
    apply,
    decide,
    identified,
    publicise,
    review,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]

API = "/api/subsidies/identifications/"
PUBLICITY = reverse("subsidies:identification_publicity")


def _detail(pk: int) -> str:
    return reverse("subsidies:identification_detail", args=[pk])


def test_a_publicity_before_the_class_review_is_refused_on_the_page_and_the_api(
    make_student, school_a, principal_a, principal_a_client, client_for
):
    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    body = {"school": school_a.pk, "school_year": YEAR, "starts_on": "2025-09-01", "ends_on": "2025-09-07"}
    with nothing_written(found):
        page = principal_a_client.post(PUBLICITY, body)
        api = client_for(principal_a).post(f"{API}publicise/", body, content_type="application/json")
    assert page.status_code == 200 and "不能早于其所公示的民主评议" in page.content.decode()
    assert api.status_code == 400 and "不能早于其所公示的民主评议" in str(api.json())
    last_year = body | {"starts_on": "2024-03-01", "ends_on": "2024-03-07"}
    with nothing_written(found):
        api = client_for(principal_a).post(f"{API}publicise/", last_year, content_type="application/json")
    assert api.status_code == 400 and "须在该学年内开始" in str(api.json())


def test_an_objection_and_a_level_dated_too_early_are_refused_through_the_api(
    make_student, school_a, principal_a, client_for
):
    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    publicise(school_a, principal_a)
    found.refresh_from_db()
    principal = client_for(principal_a)
    with nothing_written(found):
        objection = principal.post(
            f"{API}{found.pk}/objections/",
            {"raised_on": "2025-09-05", "content": "家中有车"},
            content_type="application/json",
        )
        level = principal.post(
            f"{API}{found.pk}/decide/",
            {"level": "special", "decided_on": "2025-09-07"},
            content_type="application/json",
        )
    assert objection.status_code == 400 and "异议应在公示期间提出" in str(objection.json())
    assert level.status_code == 400 and "不能早于" in str(level.json())


def test_an_application_for_a_child_off_the_roll_is_refused_through_the_api(
    make_student, school_a, principal_a, client_for
):
    student = make_student(Stage.SENIOR, school=school_a)
    leave(student, Student.Status.DROPPED_OUT, date(YEAR, 7, 1))
    body = {
        "student": student.pk,
        "school_year": YEAR,
        "applied_on": "2025-09-03",
        "family_members": 4,
        "family_income": "12000.00",
        "hardship_reasons": "父亲务工受伤",
        "guardian_name": "张大山",
        "guardian_declared": True,
    }
    with nothing_written():
        response = client_for(principal_a).post(API, body, content_type="application/json")
    assert response.status_code == 400 and "不在校" in str(response.json())
    ahead = body | {"school_year": 2029, "applied_on": date.today().isoformat()}
    with nothing_written():
        response = client_for(principal_a).post(API, ahead, content_type="application/json")
    assert response.status_code == 400 and "尚未开始" in str(response.json())


def _withdrawal(student, principal):
    change = apply(
        student, principal, kind="in_year", effective_from=date(YEAR, 12, 1), applied_on=date(YEAR, 11, 20)
    )
    return services.identification_review(
        by=principal,
        identification=change,
        members="班主任王老师、家长代表赵某",
        result="not_difficult",
        reviewed_on=date(YEAR, 11, 25),
    )


def test_the_county_confirms_a_withdrawal_on_the_page_and_the_grant_stops_from_its_date(
    make_student, school_a, principal_a, bureau, bureau_client
):
    student = make_student(Stage.SENIOR, school=school_a)
    identified(student, principal_a, bureau, level=SPECIAL)
    change = _withdrawal(student, principal_a)
    # Before the county confirms, the level stands.
    assert eligibility.decide(student, "national_grant", date(YEAR + 1, 3, 1)) is not None
    assert bureau_client.get(_detail(change.pk)).context["forms"]["confirm"] is not None
    assert bureau_client.post(_detail(change.pk), {"form_name": "confirm", "level": ""}).status_code == 302
    change.refresh_from_db()
    assert (change.status, change.confirmed_level) == (Identification.Status.CONFIRMED, "")
    assert eligibility.decide(student, "national_grant", date(YEAR, 10, 1)).amount_per_term == 1500
    assert eligibility.decide(student, "national_grant", date(YEAR + 1, 3, 1)) is None
    # Identified during the year (autumn) with the level confirmed before the withdrawal.
    listed = {s.pk: s.identified_level for s in selectors.identified_students(YEAR, user=bureau)}
    assert listed[student.pk] == SPECIAL
    assert Identification.pgh_event_model.objects.filter(pgh_obj_id=change.pk).count() >= 3


def test_a_withdrawal_through_the_api_takes_no_level_and_a_first_refusal_is_not_confirmed(
    make_student, school_a, principal_a, bureau, client_for
):
    student = make_student(Stage.SENIOR, school=school_a)
    identified(student, principal_a, bureau, level=SPECIAL)
    change = _withdrawal(student, principal_a)
    county = client_for(bureau)
    with nothing_written(change):
        refused = county.post(
            f"{API}{change.pk}/confirm/", {"level": "general"}, content_type="application/json"
        )
    assert refused.status_code == 400 and "取消认定" in str(refused.json())
    confirmed = county.post(f"{API}{change.pk}/confirm/", {}, content_type="application/json")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    # A family found not in difficulty at its first application has no level to withdraw: nothing to confirm.
    other = make_student(Stage.SENIOR, school=school_a)
    first = review(apply(other, principal_a), principal_a, result="not_difficult")
    with nothing_written(first), pytest.raises(ValidationError):
        services.identification_confirm(by=bureau, identification=first)


def test_an_objection_upheld_after_the_level_sends_it_back_to_the_school(
    make_student, school_a, principal_a, bureau, client_for
):
    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    publicise(school_a, principal_a)
    objection = services.identification_objection_add(
        by=principal_a, identification=found, raised_on=date(YEAR, 9, 12), content="家中新购轿车"
    )
    decide(found, principal_a, level=SPECIAL)  # 18 September
    services.identification_objection_resolve(
        by=principal_a, objection=objection, outcome="upheld", finding="属实", resolved_on=date(YEAR, 9, 20)
    )
    found.refresh_from_db()
    with nothing_written(found):
        refused = client_for(bureau).post(f"{API}{found.pk}/confirm/", {}, content_type="application/json")
    assert refused.status_code == 400 and "重新认定档次" in str(refused.json())
    # The class reviews again and the school decides again: then the county confirms.
    services.identification_review(
        by=principal_a,
        identification=found,
        members="班主任、家长代表",
        result=DIFFICULT,
        reviewed_on=date(YEAR, 9, 21),
    )
    services.identification_decide(
        by=principal_a, identification=found, level=DIFFICULT, decided_on=date(YEAR, 9, 22)
    )
    # The new review was not on the first 公示: it is published again before the county confirms.
    found.refresh_from_db()
    assert found.publicity_from is None
    with nothing_written(found):
        refused = client_for(bureau).post(f"{API}{found.pk}/confirm/", {}, content_type="application/json")
    assert refused.status_code == 400 and "公示" in str(refused.json())
    publicise(school_a, principal_a, starts_on=date(YEAR, 9, 22), ends_on=date(YEAR, 9, 28))
    confirmed = services.identification_confirm(by=bureau, identification=found)
    assert confirmed.confirmed_level == DIFFICULT


def test_a_principal_stops_the_identification_of_a_child_who_transferred_out(
    make_student, school_a, school_b, principal_a, bureau, client_for
):
    student = make_student(Stage.PRIMARY, school=school_a, grade=3)
    found = apply(student, principal_a)
    student_services.student_transfer(student=student, to_school=school_b, on=date.today(), by=bureau)
    with nothing_written(found):
        response = client_for(principal_a).post(
            f"{API}{found.pk}/review/",
            {"members": "班主任、家长代表", "result": "special", "reviewed_on": "2025-09-08"},
            content_type="application/json",
        )
    assert response.status_code == 400 and "已不在本校学籍中" in str(response.json())


def test_a_g_number_of_another_childs_id_is_refused_through_the_api(school_a, bureau, client_for):
    from tests.factories import StudentFactory

    first, second = StudentFactory(school=school_a), StudentFactory(school=school_a)
    with nothing_written(second):
        response = client_for(bureau).patch(
            f"/api/students/{second.pk}/",
            {"national_student_number": "G" + first.id_number},
            content_type="application/json",
        )
    assert response.status_code == 400 and "另一名学生" in str(response.json())
    own = client_for(bureau).patch(
        f"/api/students/{second.pk}/",
        {"national_student_number": "G" + second.id_number},
        content_type="application/json",
    )
    assert own.status_code == 200, own.json()


def test_an_application_made_after_its_school_year_ended_is_refused_on_the_page_and_the_api(
    make_student, school_a, principal_a, principal_a_client, client_for
):
    """The 2023-2024 identification applied for long after that year ended would pay its terms after the fact."""
    from tests.subsidies.test_identification_pages import LIST, _application

    student = make_student(Stage.PRIMARY, school=school_a)
    late = _application(student) | {"school_year": 2023, "applied_on": "2026-08-10"}
    body = {
        "student": student.pk,
        "school_year": 2023,
        "applied_on": "2026-08-10",
        "family_members": 4,
        "family_income": "12000.00",
        "hardship_reasons": "父亲务工受伤",
        "guardian_name": "张大山",
        "guardian_declared": True,
    }
    with nothing_written():
        page = principal_a_client.post(LIST, late)
        api = client_for(principal_a).post(API, body, content_type="application/json")
    assert page.status_code == 200 and "（2023-2024）已结束" in page.content.decode()
    assert api.status_code == 400 and "（2023-2024）已结束" in str(api.json())
    early = body | {"school_year": YEAR, "applied_on": "2025-08-20"}
    with nothing_written():
        api = client_for(principal_a).post(API, early, content_type="application/json")
    assert api.status_code == 400 and "须在该学年内" in str(api.json())


def test_a_level_reviewed_again_after_the_publicity_waits_for_a_new_one_through_the_api(
    make_student, school_a, principal_a, bureau, client_for
):
    """A review after the 公示 takes the row off it (kept in the history); the county confirms only once the
    new review has been published."""
    student = make_student(Stage.SENIOR, school=school_a)
    found = review(apply(student, principal_a), principal_a, result=DIFFICULT)
    publicise(school_a, principal_a)
    review_again = {"members": "班主任、家长代表", "result": "special", "reviewed_on": "2025-09-20"}
    response = client_for(principal_a).post(
        f"{API}{found.pk}/review/", review_again, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    services.identification_decide(
        by=principal_a, identification=found, level=SPECIAL, decided_on=date(YEAR, 9, 21)
    )
    found.refresh_from_db()
    assert found.publicity_from is None
    events = apps.get_model("subsidies", "IdentificationEvent").objects.filter(pgh_obj=found)
    assert events.filter(publicity_from=date(YEAR, 9, 10)).exists()  # the first 公示 stays in the history
    with nothing_written(found):
        refused = client_for(bureau).post(f"{API}{found.pk}/confirm/", {}, content_type="application/json")
    assert refused.status_code == 400 and "公示" in str(refused.json())
    assert eligibility.decide(student, "national_grant", date(YEAR, 10, 1)) is None
    publicise(school_a, principal_a, starts_on=date(YEAR, 9, 22), ends_on=date(YEAR, 9, 28))
    confirmed = client_for(bureau).post(f"{API}{found.pk}/confirm/", {}, content_type="application/json")
    assert confirmed.status_code == 200 and confirmed.json()["confirmed_level"] == "special"


def test_no_step_of_a_school_year_that_has_ended_is_taken(
    make_student, school_a, principal_a, bureau, client_for, time_machine
):
    """Once 31 August has passed, the 2025-2026 identifications stay as the year's aid and reports used them:
    no review, 公示, objection, level or confirmation of that year, on the page or through the API."""
    student, other = make_student(Stage.SENIOR, school=school_a), make_student(Stage.SENIOR, school=school_a)
    found = apply(student, principal_a)
    review(found, principal_a)
    publicise(school_a, principal_a)
    time_machine.move_to(datetime(2026, 9, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    found.refresh_from_db()
    steps = [
        lambda: decide(found, principal_a, level=SPECIAL),
        lambda: review(found, principal_a),
        lambda: publicise(school_a, principal_a, starts_on=date(YEAR, 9, 20), ends_on=date(YEAR, 9, 28)),
        lambda: services.identification_objection_add(
            by=principal_a, identification=found, raised_on=date(YEAR, 9, 12), content="有车"
        ),
        lambda: services.identification_confirm(by=bureau, identification=found),
        lambda: apply(other, principal_a),
    ]
    for step in steps:
        with nothing_written(found), pytest.raises(ValidationError) as refused:
            step()
        assert "（2025-2026）已结束" in str(refused.value)
    with nothing_written(found):
        api = client_for(principal_a).post(
            f"{API}{found.pk}/decide/",
            {"level": "special", "decided_on": "2025-09-18"},
            content_type="application/json",
        )
    assert api.status_code == 400 and "已结束" in str(api.json())
