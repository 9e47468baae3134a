"""Issue 13, beyond the attacker's tests: the refusals read in Chinese, on the pages and the admin as well."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from django.utils.translation import override
from rest_framework.test import APIClient

from students import services
from students.models import School, SchoolSpell, Stage, Student, school_year_of
from tests.conftest import verify_second_factor
from tests.factories import StudentFactory, make_id_number

pytestmark = pytest.mark.django_db

YEAR = school_year_of(timezone.localdate())


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def admin_post(client, user, school, **changes):
    user.is_superuser = True
    user.save()
    client.force_login(user)
    verify_second_factor(client, user)
    url = f"/admin/students/school/{school.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = "" if value is None else getattr(value, "pk", value)
    data.update(changes)
    return client.post(url, data)


def test_a_type_change_under_pupils_names_how_many_of_which_stage(bureau, school_a):
    StudentFactory(school=school_a, stage=Stage.PRIMARY, grade=3)
    StudentFactory(school=school_a, stage=Stage.PRIMARY, grade=4)
    with override("zh-hans"):
        response = api_for(bureau).patch(
            f"/api/schools/{school_a.pk}/",
            {"school_type": "junior"},
            format="json",
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
    assert response.status_code == 400
    message = response.json()["school_type"][0]
    assert "2" in message and "小学" in message
    school_a.refresh_from_db()
    assert school_a.school_type == School.Type.PRIMARY


def test_a_type_change_that_keeps_its_pupils_is_accepted(bureau, school_a):
    StudentFactory(school=school_a, stage=Stage.PRIMARY, grade=3)
    response = api_for(bureau).patch(
        f"/api/schools/{school_a.pk}/", {"school_type": "nine_year"}, format="json"
    )
    assert response.status_code == 200, response.json()


def test_the_admin_refuses_a_type_change_under_pupils_as_a_form_error(bureau, school_a, client):
    StudentFactory(school=school_a, stage=Stage.PRIMARY, grade=3)
    client.raise_request_exception = False
    response = admin_post(client, bureau, school_a, school_type="junior")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["school_type"]
    school_a.refresh_from_db()
    assert school_a.school_type == School.Type.PRIMARY


def test_the_admin_refuses_a_move_into_a_merged_township(bureau, township_a, township_b, school_b, client):
    services.township_merge(township=township_a, into=township_b, on=date(YEAR, 9, 1), by=bureau)
    township_a.refresh_from_db()
    client.raise_request_exception = False
    response = admin_post(client, bureau, school_b, township=township_a.pk)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["township"]
    school_b.refresh_from_db()
    assert school_b.township_id == township_b.pk


def test_a_back_dated_merger_writes_nothing(bureau, township_a, township_b, school_a):
    spells = SchoolSpell.objects.count()
    with pytest.raises(Exception) as refused:
        services.township_merge(township=township_a, into=township_b, on=date(YEAR - 1, 10, 1), by=bureau)
    assert "on" in refused.value.message_dict
    township_a.refresh_from_db()
    school_a.refresh_from_db()
    assert township_a.closed_on is None and school_a.township_id == township_a.pk
    assert SchoolSpell.objects.count() == spells


def test_the_api_answers_a_future_enrolment_date_with_the_message(bureau, school_a):
    response = api_for(bureau).post(
        "/api/students/",
        {
            "id_number": make_id_number(date(2016, 5, 3)),
            "name": "未来生三",
            "school": school_a.pk,
            "stage": "primary",
            "grade": 2,
            "enrolled_on": (timezone.localdate() + timedelta(days=3)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400
    assert "enrolled_on" in response.json()
    assert not Student.objects.filter(name="未来生三").exists()


def test_an_edit_keeping_an_enrolment_date_is_not_refused(bureau, school_a):
    pupil = StudentFactory(school=school_a, stage=Stage.PRIMARY, grade=3)
    services.student_update(student=pupil, by=bureau, enrolled_on=pupil.enrolled_on, name="改名生")
    pupil.refresh_from_db()
    assert pupil.name == "改名生"
