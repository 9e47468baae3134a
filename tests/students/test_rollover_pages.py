"""The roll-over through the API and the pages: who may do what, and what each answers (issue 13)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from students.models import Enrollment, Rollover, RolloverConfirmation, Student, school_year_of
from tests.factories import StudentFactory
from tests.refusals import nothing_written

pytestmark = pytest.mark.django_db

URL = "/api/students/rollover/"


@pytest.fixture
def year() -> int:
    return school_year_of()


@pytest.fixture
def pupils(year, school_a, school_b):
    last_year = date(year - 1, 9, 1)
    return [
        StudentFactory(school=school_a, grade=2, enrolled_on=last_year),
        StudentFactory(school=school_a, grade=6, enrolled_on=last_year),
        StudentFactory(school=school_b, grade=4, enrolled_on=last_year),
    ]


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def on(day: date, students) -> list[tuple[int, str]]:
    return [
        (e.grade, e.status)
        for e in Enrollment.objects.on(day).filter(student__in=students).order_by("student_id")
    ]


# --- API ----------------------------------------------------------------------------------------------------


def test_api_previews_then_applies(bureau, pupils, year):
    client = api_for(bureau)
    with nothing_written():
        preview = client.post(URL, {"school_year": year, "apply": False}, format="json")
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert body["totals"] == {"moves_up": 2, "continues": 0, "graduates": 1, "expected": 1, "decisions": 0}
    assert body["expected"] == [
        {"from_stage": "primary", "to": "junior", "to_display": "初中一年级", "count": 1}
    ]

    applied = client.post(
        URL, {"school_year": year, "apply": True, "fingerprint": body["fingerprint"]}, format="json"
    )
    assert applied.status_code == 201, applied.content
    assert applied.json()["rolled"] == 3 and applied.json()["summary"]["totals"] == body["totals"]
    first = date(year, 9, 1)
    assert on(first - timedelta(days=1), pupils) == [(2, "enrolled"), (6, "enrolled"), (4, "enrolled")]
    assert on(first, pupils) == [(3, "enrolled"), (6, "graduated"), (5, "enrolled")]
    listed = client.get(URL).json()
    assert [(r["school_year"], r["status"], r["rolled"]) for r in listed] == [(year, "applied", 3)]


def test_api_refuses_a_roll_over_applied_twice(bureau, pupils, year):
    client = api_for(bureau)
    assert client.post(URL, {"school_year": year, "apply": True}, format="json").status_code == 201
    with nothing_written():
        again = client.post(URL, {"school_year": year, "apply": True}, format="json")
    assert again.status_code == 400
    assert "已经升级" in again.json()["detail"][0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"school_year": 1999, "apply": True}, "school_year"),
        ({"apply": True}, "school_year"),
        ({"school_year": "next", "apply": False}, "school_year"),
    ],
)
def test_api_refuses_bad_input_with_a_400(bureau, pupils, body, field):
    with nothing_written():
        response = api_for(bureau).post(URL, body, format="json")
    assert response.status_code == 400 and field in response.json()


def test_api_refuses_a_closed_or_future_school_year(bureau, pupils, year):
    client = api_for(bureau)
    for school_year, words in ((year - 1, "已结束"), (year + 1, "尚未开始")):
        with nothing_written():
            response = client.post(URL, {"school_year": school_year, "apply": True}, format="json")
        assert response.status_code == 400 and words in response.json()["detail"][0]
    # Next September can be looked at ahead.
    assert client.post(URL, {"school_year": year + 1}, format="json").status_code == 200


def test_api_refuses_an_apply_on_a_stale_preview(bureau, pupils, year, school_a):
    client = api_for(bureau)
    fingerprint = client.post(URL, {"school_year": year}, format="json").json()["fingerprint"]
    StudentFactory(school=school_a, grade=1, enrolled_on=date(year - 1, 9, 1))
    with nothing_written():
        response = client.post(
            URL, {"school_year": year, "apply": True, "fingerprint": fingerprint}, format="json"
        )
    assert response.status_code == 400 and "预览" in response.json()["detail"][0]


@pytest.mark.parametrize("role", ["principal_a", "township_officer", "official"])
def test_only_bureau_staff_preview_apply_or_undo_through_the_api(request, role, pupils, year):
    client = api_for(request.getfixturevalue(role))
    for url, body in (
        (URL, {"school_year": year, "apply": False}),
        (URL, {"school_year": year, "apply": True}),
        (URL + "undo/", {"school_year": year}),
    ):
        with nothing_written():
            response = client.post(url, body, format="json")
        assert response.status_code == 403, (url, body, response.status_code)


def test_the_list_gives_each_role_the_counts_of_its_own_schools(
    bureau, official, township_officer, principal_a, principal_b, pupils, year
):
    """A principal or a township officer reads which years were opened, with their own schools' counts only:
    not the county's (school_a: grade 2 moves up, grade 6 graduates; school_b: grade 4 moves up)."""
    api_for(bureau).post(URL, {"school_year": year, "apply": True}, format="json")
    county = {"moves_up": 2, "continues": 0, "graduates": 1, "expected": 1, "decisions": 0}
    school_a = {"moves_up": 1, "continues": 0, "graduates": 1, "expected": 1, "decisions": 0}
    school_b = {"moves_up": 1, "continues": 0, "graduates": 0, "expected": 0, "decisions": 0}
    for user, totals, rolled in (
        (bureau, county, 3),
        (official, county, 3),
        (township_officer, school_a, 2),
        (principal_a, school_a, 2),
        (principal_b, school_b, 1),
    ):
        client = api_for(user)
        (listed,) = client.get(URL).json()
        assert (listed["totals"], listed["rolled"]) == (totals, rolled), user.username
        one = client.get(f"{URL}{listed['id']}/").json()
        assert (one["totals"], one["rolled"]) == (totals, rolled), user.username


def test_api_undo_gives_back_the_old_year_and_is_refused_after_a_change(bureau, pupils, year):
    client = api_for(bureau)
    client.post(URL, {"school_year": year, "apply": True}, format="json")
    undone = client.post(URL + "undo/", {"school_year": year}, format="json")
    assert undone.status_code == 200 and undone.json()["status"] == "undone"
    assert on(date(year, 9, 1), pupils) == [(2, "enrolled"), (6, "enrolled"), (4, "enrolled")]
    assert client.post(URL, {"school_year": year, "apply": True}, format="json").status_code == 201
    student = Student.objects.get(pk=pupils[0].pk)
    student.is_boarding = True
    student.save()
    with nothing_written():
        refused = client.post(URL + "undo/", {"school_year": year}, format="json")
    assert refused.status_code == 400 and "不能再撤销" in refused.json()["detail"][0]


def test_a_principal_confirms_the_own_list_through_the_api(
    bureau, principal_a, principal_b, pupils, year, school_a, school_b
):
    api_for(bureau).post(URL, {"school_year": year, "apply": True}, format="json")
    client = api_for(principal_a)
    with nothing_written():
        other = client.post(URL + "confirm/", {"school_year": year, "school": school_b.pk}, format="json")
    assert other.status_code == 404
    with nothing_written():
        by_bureau = api_for(bureau).post(
            URL + "confirm/", {"school_year": year, "school": school_a.pk}, format="json"
        )
    assert by_bureau.status_code == 403
    own = client.post(URL + "confirm/", {"school_year": year, "school": school_a.pk}, format="json")
    assert own.status_code == 201, own.content
    assert own.json()["pupils"] == 1  # the grade 6 leaver graduated
    assert (
        client.post(URL + "confirm/", {"school_year": year, "school": school_a.pk}, format="json").status_code
        == 400
    )
    seen = api_for(principal_b).get(URL + "confirmations/", {"school_year": year}).json()
    assert seen == [] and api_for(principal_b).get(URL + "confirmations/").json() == []
    assert [r["school"] for r in client.get(URL + "confirmations/").json()] == [school_a.pk]
    assert [
        r["school"] for r in api_for(bureau).get(URL + "confirmations/", {"school_year": year}).json()
    ] == [school_a.pk]


def test_the_schema_documents_the_roll_over(bureau):
    schema = api_for(bureau).get("/api/schema/", {"format": "json"}).json()
    post = schema["paths"]["/api/students/rollover/"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("RolloverRequest")
    assert set(post["responses"]) >= {"200", "201"}
    assert post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "RolloverPreview"
    )
    for path in ("undo/", "confirm/"):
        operation = schema["paths"][f"/api/students/rollover/{path}"]["post"]
        assert "requestBody" in operation and operation["responses"]
    preview = schema["components"]["schemas"]["RolloverPreview"]["properties"]
    assert {"totals", "schools", "decisions", "expected", "fingerprint"} <= set(preview)


# --- Pages --------------------------------------------------------------------------------------------------


def test_the_bureau_page_previews_and_applies_after_the_box_is_ticked(bureau_client, pupils, year):
    page = bureau_client.get(reverse("students:rollover"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="rollover-schools"' in html and "初中一年级: 1" in html
    fingerprint = page.context["preview"]["fingerprint"]
    apply_url = reverse("students:rollover_apply", args=[year])
    with nothing_written():
        unticked = bureau_client.post(apply_url, {"fingerprint": fingerprint}, follow=True)
    assert "我已核对预览" in unticked.content.decode()
    done = bureau_client.post(apply_url, {"fingerprint": fingerprint, "confirm": "on"}, follow=True)
    assert "3名学生完成升级/毕业" in done.content.decode()
    assert on(date(year, 9, 1), pupils) == [(3, "enrolled"), (6, "graduated"), (5, "enrolled")]
    assert (
        'id="rollover-undo"' in done.content.decode()
        and 'id="rollover-confirmations"' in done.content.decode()
    )
    with nothing_written():
        twice = bureau_client.post(apply_url, {"fingerprint": fingerprint, "confirm": "on"}, follow=True)
    assert "已经升级" in twice.content.decode()


def test_the_bureau_page_undoes(bureau_client, bureau, pupils, year):
    bureau_client.post(reverse("students:rollover_apply", args=[year]), {"confirm": "on"})
    response = bureau_client.post(reverse("students:rollover_undo", args=[year]), follow=True)
    assert "升级已撤销" in response.content.decode()
    assert Rollover.objects.get().status == "undone"
    assert on(date(year, 9, 1), pupils) == [(2, "enrolled"), (6, "enrolled"), (4, "enrolled")]


def test_undo_after_a_confirmation_is_refused_through_the_api_and_the_page(
    bureau, bureau_client, principal_a, pupils, year, school_a
):
    assert api_for(bureau).post(URL, {"school_year": year, "apply": True}, format="json").status_code == 201
    confirmed = api_for(principal_a).post(
        URL + "confirm/", {"school_year": year, "school": school_a.pk}, format="json"
    )
    assert confirmed.status_code == 201
    with nothing_written():
        refused = api_for(bureau).post(URL + "undo/", {"school_year": year}, format="json")
    assert refused.status_code == 400 and "确认" in refused.json()["detail"][0]
    with nothing_written():
        page = bureau_client.post(reverse("students:rollover_undo", args=[year]), follow=True)
    assert "确认" in page.content.decode() and Rollover.objects.get().status == "applied"


def test_a_large_county_through_the_api_on_the_real_celery_worker(
    celery_worker_real, settings, bureau, pupils, year
):
    """The apply answers 202 with the roll-over to follow (Location); the worker writes it."""
    import time

    settings.ROLLOVER_ASYNC_THRESHOLD_STUDENTS = 1
    client = api_for(bureau)
    accepted = client.post(URL, {"school_year": year, "apply": True}, format="json")
    assert accepted.status_code == 202, accepted.content
    body = accepted.json()
    assert body["status"] in ("applying", "applied") and body["rolled"] == 3
    follow = accepted["Location"]
    assert follow.endswith(f"{URL}{body['id']}/")
    deadline = time.monotonic() + 60
    while (state := client.get(follow).json())["status"] == "applying" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (state["status"], state["message"]) == ("applied", "")
    assert on(date(year, 9, 1), pupils) == [(3, "enrolled"), (6, "graduated"), (5, "enrolled")]


def test_the_page_shows_a_running_roll_over_then_its_failure(
    settings, bureau, bureau_client, pupils, year, school_a, django_capture_on_commit_callbacks
):
    settings.ROLLOVER_ASYNC_THRESHOLD_STUDENTS = 0
    with django_capture_on_commit_callbacks():
        response = bureau_client.post(
            reverse("students:rollover_apply", args=[year]), {"confirm": "on"}, follow=True
        )
    html = response.content.decode()
    assert (
        'id="rollover-running"' in html
        and 'http-equiv="refresh"' in html
        and 'id="rollover-apply"' not in html
    )
    # A pupil recorded before the task ran: the task refuses, and the page says why.
    StudentFactory(school=school_a, grade=1, enrolled_on=date(year - 1, 9, 1))
    from students import tasks

    tasks.apply_rollover(Rollover.objects.get().pk)
    html = bureau_client.get(reverse("students:rollover"), {"year": year}).content.decode()
    assert 'id="rollover-failed"' in html and "预览" in html and 'id="rollover-running"' not in html
    assert 'id="rollover-apply"' in html  # a new preview to apply


def test_the_api_follows_a_roll_over_by_its_id(bureau, official, pupils, year):
    applied = api_for(bureau).post(URL, {"school_year": year, "apply": True}, format="json").json()
    state = api_for(official).get(f"{URL}{applied['id']}/")
    assert state.status_code == 200 and state.json()["status"] == "applied"
    assert api_for(official).get(f"{URL}999999/").status_code == 404


def test_a_closed_year_page_says_why(bureau_client, pupils, year):
    html = bureau_client.get(reverse("students:rollover"), {"year": year - 1}).content.decode()
    assert 'id="rollover-refusal"' in html and "已结束" in html and 'id="rollover-apply"' not in html


def test_other_roles_may_not_open_the_roll_over_page_or_post_to_it(
    principal_a_client, official_client, township_client, pupils, year
):
    for client in (principal_a_client, official_client, township_client):
        assert client.get(reverse("students:rollover")).status_code == 403
        with nothing_written():
            response = client.post(reverse("students:rollover_apply", args=[year]), {"confirm": "on"})
        assert response.status_code == 403
        with nothing_written():
            assert client.post(reverse("students:rollover_undo", args=[year])).status_code == 403


def test_a_principal_confirms_the_own_school_list_on_its_page(
    bureau, principal_a_client, pupils, year, school_a, school_b
):
    from students import rollover

    rollover.rollover_apply(school_year=year, by=bureau)
    mine = principal_a_client.get(reverse("students:rollover_mine"))
    own_url = reverse("students:rollover_school", args=[year, school_a.pk])
    assert mine.status_code == 200 and f'action="{own_url}"' in mine.content.decode()
    assert pupils[0].name in mine.content.decode()  # the menu's link opens the own school's list itself
    page = principal_a_client.get(own_url).content.decode()
    assert pupils[0].name in page and pupils[1].name not in page  # the leaver is not on the new list
    other_url = reverse("students:rollover_school", args=[year, school_b.pk])
    assert principal_a_client.get(other_url).status_code == 404
    with nothing_written():
        assert principal_a_client.post(other_url).status_code == 404
    done = principal_a_client.post(own_url, {"note": "已核对"}, follow=True).content.decode()
    assert 'id="rollover-confirmed"' in done
    confirmation = RolloverConfirmation.objects.get()
    assert (confirmation.school, confirmation.pupils, confirmation.note) == (school_a, 1, "已核对")


def test_the_bureau_sees_which_schools_confirmed(bureau, bureau_client, principal_a, pupils, year, school_a):
    from students import rollover

    rollover.rollover_apply(school_year=year, by=bureau)
    rollover.rollover_confirm(school_year=year, school=school_a, by=principal_a)
    html = bureau_client.get(reverse("students:rollover")).content.decode()
    table = html.split('id="rollover-confirmations"')[1]
    assert table.count('class="badge ok"') == 1 and table.count('class="badge warn"') == 1
    # The bureau reads a school's list but does not confirm it for the principal.
    school_page = bureau_client.get(reverse("students:rollover_school", args=[year, school_a.pk]))
    assert school_page.status_code == 200
    with nothing_written():
        assert (
            bureau_client.post(reverse("students:rollover_school", args=[year, school_a.pk])).status_code
            == 403
        )


def test_the_menu_shows_each_role_its_roll_over_page(bureau_client, principal_a_client, official_client):
    rollover_url, mine_url = reverse("students:rollover"), reverse("students:rollover_mine")
    bureau_home = bureau_client.get("/").content.decode()
    principal_home = principal_a_client.get("/").content.decode()
    official_home = official_client.get("/").content.decode()
    assert f'href="{rollover_url}"' in bureau_home and f'href="{mine_url}"' not in bureau_home
    assert f'href="{mine_url}"' in principal_home and f'href="{rollover_url}"' not in principal_home
    assert rollover_url not in official_home


def test_before_any_roll_over_the_principal_is_told_there_is_nothing_to_confirm(principal_a_client):
    response = principal_a_client.get(reverse("students:rollover_mine"))
    assert response.status_code == 200 and 'id="rollover-none"' in response.content.decode()


def test_the_school_list_and_the_bureau_page_take_a_bounded_number_of_queries(
    bureau, bureau_client, principal_a_client, pupils, year, school_a, django_assert_max_num_queries
):
    from students import rollover

    StudentFactory.create_batch(30, school=school_a, grade=3, enrolled_on=date(year - 1, 9, 1))
    rollover.rollover_apply(school_year=year, by=bureau)
    with django_assert_max_num_queries(20):
        page = principal_a_client.get(reverse("students:rollover_school", args=[year, school_a.pk]))
    assert len(page.context["pupils"]) == 31
    with django_assert_max_num_queries(20):
        assert bureau_client.get(reverse("students:rollover")).status_code == 200
