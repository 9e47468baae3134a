"""Registry pages, for each role: what may be seen and changed, and what may not."""

import pytest
from django.urls import reverse
from django.utils import timezone

from students.models import Student
from tests.factories import make_id_number
from tests.refusals import nothing_written


def test_login_page_is_chinese_by_default(client, db):
    response = client.get(reverse("login"))
    assert "登录" in response.content.decode()


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("students:student_list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_home_renders_for_every_role(client_for, bureau, official, township_officer, principal_a, student_a):
    for user in (bureau, official, township_officer, principal_a):
        response = client_for(user).get(reverse("home"))
        assert response.status_code == 200


def test_student_list_masks_id_numbers(bureau_client, student_a):
    body = bureau_client.get(reverse("students:student_list")).content.decode()
    assert student_a.masked_id_number in body
    assert student_a.id_number not in body


def test_principal_list_shows_only_own_school(principal_a_client, student_a, student_b):
    body = principal_a_client.get(reverse("students:student_list")).content.decode()
    assert student_a.name in body
    assert student_b.name not in body


def test_search_by_full_id_number_keeps_it_out_of_the_url(bureau_client, student_a, student_b):
    response = bureau_client.post(reverse("students:student_list"), {"q": student_a.id_number})
    assert response.status_code == 302 and student_a.id_number not in response["Location"]
    body = bureau_client.get(response["Location"]).content.decode()
    assert student_a.name in body
    assert student_b.name not in body


def test_search_by_name(bureau_client, student_a, student_b):
    body = bureau_client.get(reverse("students:student_list"), {"q": "小红"}).content.decode()
    assert student_b.name in body
    assert student_a.name not in body


@pytest.mark.parametrize(
    "name", ["students:student_detail", "students:student_edit", "students:student_transfer"]
)
def test_principal_cannot_reach_another_school_student(principal_a_client, student_b, name):
    response = principal_a_client.get(reverse(name, args=[student_b.pk]))
    assert response.status_code == 404


def test_official_sees_masked_id_on_detail(official_client, student_a):
    body = official_client.get(reverse("students:student_detail", args=[student_a.pk])).content.decode()
    assert student_a.id_number not in body


def test_principal_reveals_full_id_on_own_student_and_it_is_logged(
    principal_a_client, principal_a, student_a
):
    from portal.models import AccessLog

    url = reverse("students:student_detail", args=[student_a.pk])
    assert student_a.id_number not in principal_a_client.get(url).content.decode()
    assert student_a.id_number in principal_a_client.post(url, {"reveal": "id"}).content.decode()
    entry = AccessLog.objects.about(student_a).get(action=AccessLog.Action.REVEAL_ID)
    assert (entry.user, entry.ip) == (principal_a, "127.0.0.1")


def test_official_cannot_reveal_a_full_id(official_client, student_a):
    url = reverse("students:student_detail", args=[student_a.pk])
    assert student_a.id_number not in official_client.post(url, {"reveal": "id"}).content.decode()


def form_data(school, **overrides):
    data = {
        "id_number": make_id_number(),
        "name": "新同学",
        "school": school.pk,
        "stage": "primary",
        "grade": 1,
        "status": "enrolled",
    }
    data.update(overrides)
    return data


def test_principal_adds_a_student_through_the_form(principal_a_client, school_a):
    response = principal_a_client.post(reverse("students:student_create"), form_data(school_a))
    assert response.status_code == 302
    assert Student.objects.get(name="新同学").school == school_a


def edit_data(student, **overrides):
    """The edit form as its own school sends it: the number left masked keeps it."""
    data = form_data(student.school, id_number=student.masked_id_number, name=student.name)
    data.update(grade=student.grade, stage=student.stage, sex=student.sex, birth_date=student.birth_date)
    data.update(overrides)
    return data


def test_principal_cannot_post_an_edit_to_another_school_student(
    principal_a_client, principal_b_client, student_b
):
    url = reverse("students:student_edit", args=[student_b.pk])
    data = edit_data(student_b, name="改名")
    with nothing_written(student_b):
        assert principal_a_client.post(url, data).status_code == 404
    assert principal_b_client.post(url, data).status_code == 302  # the same form from its own school
    student_b.refresh_from_db()
    assert student_b.name == "改名"


def test_principal_cannot_post_a_transfer_of_another_school_student(
    principal_a_client, principal_b_client, student_b, school_a
):
    url = reverse("students:student_transfer", args=[student_b.pk])
    data = {"to_school": school_a.pk, "on": timezone.localdate().isoformat()}
    with nothing_written(student_b):
        assert principal_a_client.post(url, data).status_code == 404
    assert principal_b_client.post(url, data).status_code == 302  # its own school hands the pupil over
    student_b.refresh_from_db()
    assert student_b.school == school_a


def test_official_reads_but_cannot_edit(official_client, student_a):
    assert official_client.get(reverse("students:student_detail", args=[student_a.pk])).status_code == 200
    assert official_client.get(reverse("students:student_edit", args=[student_a.pk])).status_code == 404
    assert official_client.get(reverse("students:student_create")).status_code == 403


def test_official_cannot_post_an_edit_a_transfer_or_a_new_student(official_client, student_a, school_b):
    with nothing_written(student_a):
        edit = official_client.post(
            reverse("students:student_edit", args=[student_a.pk]), edit_data(student_a, name="改名")
        )
        transfer = official_client.post(
            reverse("students:student_transfer", args=[student_a.pk]),
            {"to_school": school_b.pk, "on": timezone.localdate().isoformat()},
        )
        create = official_client.post(reverse("students:student_create"), form_data(student_a.school))
    assert (edit.status_code, transfer.status_code, create.status_code) == (404, 404, 403)


def test_anonymous_post_is_sent_to_login_and_writes_nothing(client, student_a):
    with nothing_written(student_a):
        create = client.post(reverse("students:student_create"), form_data(student_a.school))
        edit = client.post(
            reverse("students:student_edit", args=[student_a.pk]), edit_data(student_a, name="改名")
        )
    for response in (create, edit):
        assert response.status_code == 302 and reverse("login") in response["Location"]


def test_wrong_check_digit_gets_a_chinese_error_and_writes_nothing(principal_a_client, school_a):
    data = form_data(school_a)
    data["id_number"] = data["id_number"][:17] + ("0" if data["id_number"][17] != "0" else "1")
    with nothing_written():
        response = principal_a_client.post(reverse("students:student_create"), data)
    assert response.status_code == 200
    assert "校验码" in response.content.decode()


def test_principal_cannot_post_a_student_into_another_school(
    principal_a_client, principal_b_client, school_b
):
    data = form_data(school_b)
    with nothing_written():
        response = principal_a_client.post(reverse("students:student_create"), data)
    assert response.status_code == 200  # the form refuses the school: it is not among the choices
    assert "school" in response.context["form"].errors
    assert principal_b_client.post(reverse("students:student_create"), data).status_code == 302


def test_student_list_query_count_does_not_grow(bureau_client, django_assert_max_num_queries, school_a):
    from tests.factories import StudentFactory

    StudentFactory.create_batch(30, school=school_a)
    with django_assert_max_num_queries(12):
        response = bureau_client.get(reverse("students:student_list"))
    assert response.status_code == 200


def test_pages_stay_chinese_for_an_english_browser_until_english_is_chosen(bureau_client):
    body = bureau_client.get(
        reverse("students:student_list"), HTTP_ACCEPT_LANGUAGE="en-US,en"
    ).content.decode()
    assert "学生" in body and "Add a student" not in body
    bureau_client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Add a student" in bureau_client.get(reverse("students:student_list")).content.decode()


@pytest.mark.parametrize("fixture", ["bureau_client", "principal_a_client"])
def test_import_button_for_roles_that_import(request, fixture, db):
    body = request.getfixturevalue(fixture).get(reverse("students:student_list")).content.decode()
    assert reverse("students:student_import") in body


def test_no_import_button_for_officials(official_client):
    assert (
        reverse("students:student_import")
        not in official_client.get(reverse("students:student_list")).content.decode()
    )


def test_history_speaks_the_clerks_language(bureau_client, bureau, student_a):
    from students import services

    services.student_update(student=student_a, by=bureau, name="张大明")
    body = bureau_client.get(reverse("students:student_detail", args=[student_a.pk])).content.decode()
    assert "学生 · 修改" in body and "<b>姓名</b>: 张小明 → 张大明" in body
