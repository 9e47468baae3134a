"""Attack, issue 13: the school list through time."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from reports import yearend
from students import services
from students.models import Stage, TeacherCount, Township, school_year_of
from tests.conftest import verify_second_factor
from tests.factories import StudentFactory
from tests.reports.helpers import built_snapshot

pytestmark = pytest.mark.django_db

YEAR = school_year_of(timezone.localdate())
LAST = YEAR - 1


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def figures(year: int) -> dict:
    return yearend.build_figures(county_code=settings.HOME_COUNTY_CODE, year=year, basis="school")


@pytest.fixture
def county(township_a, township_b, school_a, school_b):
    since = date(LAST - 1, 9, 1)
    for school, grade in ((school_a, 2), (school_a, 3), (school_b, 4)):
        StudentFactory(school=school, stage=Stage.PRIMARY, grade=grade, enrolled_on=since)
    for school in (school_a, school_b):
        for year in (LAST, YEAR):
            TeacherCount.objects.create(school=school, school_year=year, headcount=5)


def test_a_merger_back_dated_into_an_ended_year_does_not_move_that_years_rebuild(
    county, bureau, township_a, township_b
):
    """Last year's report is built; a township merger is then recorded dated inside last year. Expected: the
    merger is refused (an ended year changes only through its roll, as a student's change is), or last year's
    rebuild keeps every figure. Actual: accepted, and rebuilding last year moves township A's pupils to B."""
    built_snapshot(LAST, bureau)
    first = figures(LAST)
    try:
        services.township_merge(township=township_a, into=township_b, on=date(LAST, 10, 1), by=bureau)
    except ValidationError:
        return  # refused: held
    again = figures(LAST)
    assert again["sections"] == first["sections"]


def test_a_school_type_change_back_dated_into_an_ended_year_through_the_api(county, bureau, school_b):
    built_snapshot(LAST, bureau)
    first = figures(LAST)
    response = api_for(bureau).patch(
        f"/api/schools/{school_b.pk}/",
        {"school_type": "nine_year", "effective_on": date(LAST, 10, 1).isoformat()},
        format="json",
    )
    if response.status_code == 400:
        return
    assert figures(LAST)["sections"] == first["sections"]


def test_after_a_future_dated_merger_a_schools_phone_can_still_be_edited(
    bureau, township_a, township_b, school_a
):
    """A merger recorded ahead (effective later this school year) is accepted; afterwards editing a field that
    is not dated (the phone) is refused because the school's 'last change' lies in the future."""
    today = timezone.localdate()
    future = date(YEAR + 1, 8, 1)
    assert future > today
    services.township_merge(township=township_a, into=township_b, on=future, by=bureau)
    response = api_for(bureau).patch(f"/api/schools/{school_a.pk}/", {"phone": "0797-1234567"}, format="json")
    assert response.status_code == 200, response.json()


def test_after_a_future_dated_merger_the_admin_saves_a_schools_phone(
    bureau, township_a, township_b, school_a, client
):
    future = date(YEAR + 1, 8, 1)
    services.township_merge(township=township_a, into=township_b, on=future, by=bureau)
    bureau.is_superuser = True
    bureau.save()
    client.force_login(bureau)
    verify_second_factor(client, bureau)
    url = f"/admin/students/school/{school_a.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            value = ""
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = getattr(value, "pk", value)
    data["phone"] = "0797-7654321"
    client.raise_request_exception = False
    response = client.post(url, data)
    assert response.status_code in (200, 302)
    assert response.status_code != 500


def test_a_school_cannot_be_moved_into_a_merged_township(bureau, township_a, township_b, school_b):
    """Township A merged into B: it has no schools of its own from then. Moving a school into A afterwards."""
    services.township_merge(township=township_a, into=township_b, on=date(YEAR, 9, 1), by=bureau)
    township_a.refresh_from_db()
    assert township_a.closed_on is not None
    response = api_for(bureau).patch(
        f"/api/schools/{school_b.pk}/", {"township": township_a.pk}, format="json"
    )
    assert response.status_code == 400, response.json()


def test_a_new_school_cannot_be_created_in_a_merged_township(bureau, township_a, township_b):
    services.township_merge(township=township_a, into=township_b, on=date(YEAR, 9, 1), by=bureau)
    response = api_for(bureau).post(
        "/api/schools/",
        {
            "code": "ATT13NEW1",
            "name": "新校",
            "township": township_a.pk,
            "school_type": "primary",
            "ownership": "public",
            "is_rural": True,
        },
        format="json",
    )
    assert response.status_code == 400, response.json()


def test_a_merger_into_a_township_merged_meanwhile_is_refused(bureau, township_a, township_b, school_a):
    """Two mergers at once: A into B (the clerk's form loaded B while it was open) and B into C. township_merge
    locks A but checks `into.closed_on` on the instance it was given, never re-read or locked: the second
    merger goes through and A's schools end in B, a township closed that day."""
    from tests.factories import TownshipFactory

    township_c = TownshipFactory(name="丙镇")
    on = date(YEAR, 9, 1)
    b_as_loaded = Township.objects.get(pk=township_b.pk)  # loaded by the other request, still open
    services.township_merge(township=township_b, into=township_c, on=on, by=bureau)
    with pytest.raises(ValidationError):
        services.township_merge(township=township_a, into=b_as_loaded, on=on, by=bureau)


def test_renaming_a_school_leaves_last_years_rebuilt_workbook_as_it_was(county, bureau, township_a, school_a):
    """A school renamed this year (the API takes the name): names are not dated, so last year's rebuild prints
    the new name in its 'By school' sheet (the figures' schools list the workbook writes)."""
    built_snapshot(LAST, bureau)
    first = figures(LAST)
    client = api_for(bureau)
    assert (
        client.patch(f"/api/schools/{school_a.pk}/", {"name": "甲镇第一小学"}, format="json").status_code
        == 200
    )
    again = figures(LAST)
    assert again["schools"] == first["schools"]
