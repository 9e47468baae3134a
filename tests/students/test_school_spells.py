"""A school's township, type, ownership and rural flag through time (students.SchoolSpell): the spells the
database keeps from the School row, the dated change, the township merger (乡镇合并) through the service, the
page and the API, its refusals and who may do it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from students import services
from students.models import School, SchoolSpell, Township, school_as_of, school_year_of
from tests.factories import SchoolFactory, TownshipFactory
from tests.refusals import nothing_written

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
YEAR = school_year_of(TODAY)
FIRST_DAY = date(YEAR, 9, 1)


def spells(school) -> list[tuple]:
    rows = SchoolSpell.objects.filter(school=school).order_by(F("valid_from").asc(nulls_first=True))
    return [(s.township_id, s.school_type, s.ownership, s.valid_from, s.valid_to) for s in rows]


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def attribute_on(school, day: date, field: str):
    return School.objects.filter(pk=school.pk).annotate(v=school_as_of(day, field, "pk")).get().v


def test_a_new_school_has_one_spell_from_the_beginning(school_a, township_a):
    assert spells(school_a) == [(township_a.pk, "primary", "public", None, None)]


def test_a_change_without_a_date_takes_effect_today_and_one_not_of_a_dated_field_opens_no_spell(
    school_a, township_a
):
    # A phone number is not dated (a name is: tests/reports/test_school_names_through_time.py).
    school_a.phone = "0797-6831234"
    school_a.save()
    assert len(spells(school_a)) == 1
    with transaction.atomic():
        school_a.ownership = School.Ownership.PRIVATE
        services.save_school(school_a)
    assert spells(school_a) == [
        (township_a.pk, "primary", "public", None, TODAY - timedelta(days=1)),
        (township_a.pk, "primary", "private", TODAY, None),
    ]
    assert attribute_on(school_a, TODAY - timedelta(days=1), "ownership") == "public"
    assert attribute_on(school_a, TODAY, "ownership") == "private"


def test_a_later_change_on_the_same_day_keeps_one_spell_per_day(school_a, township_a, township_b):
    with transaction.atomic():
        school_a.school_type = School.Type.NINE_YEAR
        services.save_school(school_a, on=FIRST_DAY)
        school_a.township = township_b
        services.save_school(school_a, on=FIRST_DAY)
    assert spells(school_a) == [
        (township_a.pk, "primary", "public", None, FIRST_DAY - timedelta(days=1)),
        (township_b.pk, "nine_year", "public", FIRST_DAY, None),
    ]


def test_two_spells_of_a_school_never_overlap(school_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        SchoolSpell.objects.create(
            school=school_a,
            township=school_a.township,
            school_type=school_a.school_type,
            ownership=school_a.ownership,
            is_rural=True,
            valid_from=FIRST_DAY,
        )


def test_a_change_dated_after_the_running_school_year_or_before_the_last_change_is_refused(school_a):
    with nothing_written(school_a), pytest.raises(ValidationError) as refused, transaction.atomic():
        school_a.school_type = School.Type.NINE_YEAR
        services.save_school(school_a, on=date(YEAR + 1, 9, 1))
    assert "effective_on" in refused.value.message_dict
    with transaction.atomic():
        school_a.school_type = School.Type.NINE_YEAR
        services.save_school(school_a, on=FIRST_DAY)
    school_a.refresh_from_db()
    with nothing_written(school_a), pytest.raises(ValidationError) as refused, transaction.atomic():
        school_a.ownership = School.Ownership.PRIVATE
        services.save_school(school_a, on=FIRST_DAY - timedelta(days=1))
    assert FIRST_DAY.isoformat() in refused.value.message_dict["effective_on"][0]


def test_the_merger_moves_every_school_and_closes_the_township(bureau, township_a, township_b, school_a):
    second = SchoolFactory(township=township_a)
    services.township_merge(township=township_a, into=township_b, on=FIRST_DAY, by=bureau)
    assert set(School.objects.filter(township=township_b)) >= {school_a, second}
    for school in (school_a, second):
        assert attribute_on(school, FIRST_DAY - timedelta(days=1), "township_id") == township_a.pk
        assert attribute_on(school, FIRST_DAY, "township_id") == township_b.pk
    township_a.refresh_from_db()
    assert (township_a.closed_on, township_a.merged_into_id) == (FIRST_DAY, township_b.pk)
    # In the change history, by the clerk.
    event = township_a.events.order_by("-pgh_id").first()
    assert event.closed_on == FIRST_DAY


@pytest.mark.parametrize(
    "case",
    ["itself", "future", "other_county", "already_merged", "before_last_change"],
)
def test_merger_refusals_write_nothing(case, bureau, township_a, township_b, school_a):
    into, on = township_b, FIRST_DAY
    if case == "itself":
        into = township_a
    elif case == "future":
        on = date(YEAR + 1, 9, 1)
    elif case == "other_county":
        into = TownshipFactory(county__code="360800", county__name="别县")
    elif case == "already_merged":
        Township.objects.filter(pk=township_a.pk).update(closed_on=FIRST_DAY, merged_into=township_b)
    elif case == "before_last_change":
        with transaction.atomic():
            school_a.school_type = School.Type.NINE_YEAR
            services.save_school(school_a, on=FIRST_DAY)
        on = FIRST_DAY - timedelta(days=1)
    school_a.refresh_from_db()
    township_a.refresh_from_db()
    with nothing_written(school_a, township_a), pytest.raises(ValidationError) as refused:
        services.township_merge(township=township_a, into=into, on=on, by=bureau)
    assert refused.value.messages


def test_only_bureau_staff_may_merge(
    township_officer, principal_a, official, township_a, township_b, school_a
):
    for user in (township_officer, principal_a, official):
        with nothing_written(school_a, township_a), pytest.raises(PermissionDenied):
            services.township_merge(township=township_a, into=township_b, on=FIRST_DAY, by=user)


def test_the_merge_page(bureau_client, township_officer, client_for, township_a, township_b, school_a):
    url = reverse("students:township_merge")
    assert bureau_client.get(url).status_code == 200
    refused = bureau_client.post(url, {"township": township_a.pk, "into": township_a.pk, "on": FIRST_DAY})
    assert refused.status_code == 200
    assert "不能合并到它自己" in refused.content.decode()
    response = bureau_client.post(url, {"township": township_a.pk, "into": township_b.pk, "on": FIRST_DAY})
    assert response.status_code == 302
    school_a.refresh_from_db()
    assert school_a.township_id == township_b.pk
    assert client_for(township_officer).get(url).status_code == 403


def test_the_merge_api(bureau, township_officer, township_a, township_b, school_a):
    url = f"/api/townships/{township_a.pk}/merge/"
    with nothing_written(school_a, township_a):
        officer = api_for(township_officer).post(url, {"into": township_b.pk, "on": FIRST_DAY}, format="json")
        itself = api_for(bureau).post(url, {"into": township_a.pk, "on": FIRST_DAY}, format="json")
        late = api_for(bureau).post(url, {"into": township_b.pk, "on": date(YEAR + 1, 9, 1)}, format="json")
    assert officer.status_code in (403, 400)
    assert itself.status_code == 400 and "into" in itself.json()
    assert late.status_code == 400 and "on" in late.json()
    done = api_for(bureau).post(url, {"into": township_b.pk, "on": FIRST_DAY}, format="json")
    assert done.status_code == 200, done.json()
    assert done.json()["closed_on"] == FIRST_DAY.isoformat()
    assert done.json()["merged_into"] == township_b.pk


def test_the_school_api_dates_a_change(bureau, school_a, township_a):
    url = f"/api/schools/{school_a.pk}/"
    with nothing_written(school_a):
        late = api_for(bureau).patch(
            url, {"school_type": "nine_year", "effective_on": date(YEAR + 1, 9, 1).isoformat()}, format="json"
        )
    assert late.status_code == 400 and "effective_on" in late.json()
    done = api_for(bureau).patch(
        url, {"school_type": "nine_year", "effective_on": FIRST_DAY.isoformat()}, format="json"
    )
    assert done.status_code == 200, done.json()
    assert spells(school_a)[-1] == (township_a.pk, "nine_year", "public", FIRST_DAY, None)
    assert attribute_on(school_a, FIRST_DAY - timedelta(days=1), "school_type") == "primary"
