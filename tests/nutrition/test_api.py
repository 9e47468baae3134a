"""The API under /api/nutrition/, for each role."""

from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import Workbook
from rest_framework.test import APIClient

from nutrition import services
from nutrition.importing import HEADER
from nutrition.models import AccompaniedMeal, MealImport, MealRecord, PilotSchool, Purchase, SafetyCheck
from students.models import Stage
from tests.factories import SchoolFactory, StudentFactory
from tests.nutrition.conftest import HOLIDAY, SCHOOL_DAY
from tests.refusals import nothing_written


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def meal(pilot, **kw):
    return {"pilot": pilot.pk, "day": str(SCHOOL_DAY), "stage": "primary", "meals": 5, **kw}


@pytest.fixture
def records(pilot_a, pilot_b, bureau):
    for pilot in (pilot_a, pilot_b):
        services.meal_record(pilot=pilot, day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=2, by=bureau)
        services.purchase_add(
            pilot=pilot, purchased_on=SCHOOL_DAY, supplier="供应商", category="meat", amount="10", by=bureau
        )
        services.accompanied_add(pilot=pilot, day=SCHOOL_DAY, person="校长", by=bureau)
        services.receipt_add(pilot=pilot, received_on=SCHOOL_DAY, amount="10", by=bureau)
        services.safety_check_add(
            pilot=pilot,
            kind="storage",
            day=SCHOOL_DAY,
            checked_by="厨师",
            passed=False,
            follow_up="整改",
            by=bureau,
        )


ROW_ENDPOINTS = ["meals", "purchases", "accompanied-meals", "receipts", "safety-checks", "pilots"]


def test_anonymous_gets_nothing(client, records):
    # 401, not 403: the token scheme answers "WWW-Authenticate: Token", i.e. "sign in first".
    assert client.get("/api/nutrition/meals/").status_code == 401


def test_anonymous_writes_nothing(pilot_a):
    with nothing_written(pilot_a):
        response = APIClient().post("/api/nutrition/meals/", meal(pilot_a), format="json")
    assert response.status_code == 401


@pytest.mark.parametrize("endpoint", ROW_ENDPOINTS)
def test_principal_lists_only_own_school(principal_a, school_a, records, endpoint):
    body = api_for(principal_a).get(f"/api/nutrition/{endpoint}/").json()
    assert body["count"] == 1
    assert school_a.name in str(body)


@pytest.mark.parametrize("endpoint", ROW_ENDPOINTS)
def test_township_officer_sees_own_township(township_officer, records, endpoint):
    assert api_for(township_officer).get(f"/api/nutrition/{endpoint}/").json()["count"] == 1


@pytest.mark.parametrize("endpoint", ROW_ENDPOINTS)
def test_bureau_and_official_see_the_county(bureau, official, records, endpoint):
    assert api_for(bureau).get(f"/api/nutrition/{endpoint}/").json()["count"] == 2
    assert api_for(official).get(f"/api/nutrition/{endpoint}/").json()["count"] == 2


@pytest.mark.parametrize(
    ("endpoint", "model"),
    [
        ("meals", MealRecord),
        ("purchases", Purchase),
        ("accompanied-meals", AccompaniedMeal),
        ("safety-checks", SafetyCheck),
    ],
)
def test_principal_cannot_read_another_school_row(principal_a, pilot_b, records, endpoint, model):
    row = model.objects.get(pilot=pilot_b)
    response = api_for(principal_a).get(f"/api/nutrition/{endpoint}/{row.pk}/")
    assert response.status_code == 404
    assert pilot_b.school.name not in response.content.decode()


def test_principal_cannot_read_another_pilot(principal_a, pilot_b):
    assert api_for(principal_a).get(f"/api/nutrition/pilots/{pilot_b.pk}/").status_code == 404


def test_principal_cannot_refresh_a_pilots_coverage(principal_a, bureau, pilot_a, pilot_b):
    """Coverage is the bureau's count: neither another school's pilot nor one's own."""
    StudentFactory(school=pilot_b.school)
    client = api_for(principal_a)
    with nothing_written(pilot_a, pilot_b):
        for pilot in (pilot_a, pilot_b):
            response = client.post(f"/api/nutrition/pilots/{pilot.pk}/refresh-coverage/", {}, format="json")
            assert response.status_code == 403
    response = api_for(bureau).post(
        f"/api/nutrition/pilots/{pilot_b.pk}/refresh-coverage/", {}, format="json"
    )
    assert response.status_code == 200


def test_principal_records_meals(principal_a, pilot_a):
    response = api_for(principal_a).post("/api/nutrition/meals/", meal(pilot_a), format="json")
    assert response.status_code == 201, response.content
    assert MealRecord.objects.get().meals == 5


def test_principal_recording_for_another_school_is_refused(principal_a, principal_b, pilot_b):
    body = meal(pilot_b, meals=4)
    with nothing_written(pilot_b):
        response = api_for(principal_a).post("/api/nutrition/meals/", body, format="json")
    assert response.status_code == 400
    assert "pilot" in response.json()
    assert api_for(principal_b).post("/api/nutrition/meals/", body, format="json").status_code == 201


def test_meals_above_covered_are_refused_with_a_chinese_message(principal_a, pilot_a):
    with nothing_written(pilot_a):
        response = api_for(principal_a).post("/api/nutrition/meals/", meal(pilot_a, meals=7), format="json")
    assert response.status_code == 400
    assert "超过" in str(response.json()["meals"])


def test_meals_on_a_holiday_are_refused(principal_a, pilot_a):
    with nothing_written(pilot_a):
        response = api_for(principal_a).post(
            "/api/nutrition/meals/", meal(pilot_a, day=str(HOLIDAY)), format="json"
        )
    assert response.status_code == 400
    assert "节假日" in str(response.json())


def test_principal_corrects_meals_with_patch_but_not_above_covered(principal_a, pilot_a, records):
    record = MealRecord.objects.get(pilot=pilot_a)
    client = api_for(principal_a)
    assert client.patch(f"/api/nutrition/meals/{record.pk}/", {"meals": 4}, format="json").status_code == 200
    record.refresh_from_db()
    with nothing_written(record):
        response = client.patch(f"/api/nutrition/meals/{record.pk}/", {"meals": 40}, format="json")
    assert response.status_code == 400
    assert record.meals == 4


def test_principal_cannot_patch_another_school(principal_a, principal_b, pilot_b, records):
    record = MealRecord.objects.get(pilot=pilot_b)
    url = f"/api/nutrition/meals/{record.pk}/"
    with nothing_written(record):
        assert api_for(principal_a).patch(url, {"meals": 1}, format="json").status_code == 404
    assert api_for(principal_b).patch(url, {"meals": 1}, format="json").status_code == 200


@pytest.mark.parametrize(
    "endpoint", ["meals", "purchases", "accompanied-meals", "safety-checks", "receipts", "pilots", "terms"]
)
def test_official_cannot_write(official, bureau, endpoint, pilot_a, school_b):
    body = write_bodies(pilot_a, school_b)[endpoint]
    with nothing_written(pilot_a):
        response = api_for(official).post(f"/api/nutrition/{endpoint}/", body, format="json")
    assert response.status_code == 403
    assert api_for(bureau).post(f"/api/nutrition/{endpoint}/", body, format="json").status_code == 201


def write_bodies(pilot, other_school) -> dict[str, dict]:
    """A body for each collection that the bureau may post."""
    day = str(SCHOOL_DAY)
    return {
        "meals": meal(pilot),
        "purchases": {
            "pilot": pilot.pk,
            "purchased_on": day,
            "supplier": "粮油店",
            "category": "meat",
            "amount": "10",
        },
        "accompanied-meals": {"pilot": pilot.pk, "day": day, "person": "校长"},
        "safety-checks": {
            "pilot": pilot.pk,
            "kind": "sample",
            "day": day,
            "checked_by": "厨师",
            "passed": True,
        },
        "receipts": {"pilot": pilot.pk, "received_on": day, "amount": "100"},
        "pilots": {"term": pilot.term_id, "school": other_school.pk, "supply_mode": "canteen"},
        "terms": {"school_year": 2023, "season": "spring", "start": "2023-02-13", "end": "2023-06-30"},
    }


def test_township_officer_cannot_record(township_officer, principal_a, pilot_a):
    with nothing_written(pilot_a):
        response = api_for(township_officer).post("/api/nutrition/meals/", meal(pilot_a), format="json")
    assert response.status_code == 403
    assert api_for(principal_a).post("/api/nutrition/meals/", meal(pilot_a), format="json").status_code == 201


def test_principal_cannot_record_receipts_or_enrol_schools(principal_a, bureau, pilot_a, term, school_b):
    client = api_for(principal_a)
    bodies = write_bodies(pilot_a, school_b)
    with nothing_written(pilot_a, term):
        for endpoint in ("receipts", "pilots", "terms"):
            response = client.post(f"/api/nutrition/{endpoint}/", bodies[endpoint], format="json")
            assert response.status_code == 403, endpoint
    for endpoint in ("receipts", "pilots", "terms"):
        assert (
            api_for(bureau).post(f"/api/nutrition/{endpoint}/", bodies[endpoint], format="json").status_code
            == 201
        )


@pytest.mark.parametrize("amount", ["-10", "abc", "0"])
def test_bad_purchase_amounts_are_refused(principal_a, pilot_a, amount):
    body = {
        "pilot": pilot_a.pk,
        "purchased_on": str(SCHOOL_DAY),
        "supplier": "x",
        "category": "meat",
        "amount": amount,
    }
    with nothing_written(pilot_a):
        response = api_for(principal_a).post("/api/nutrition/purchases/", body, format="json")
    assert response.status_code == 400
    assert "amount" in response.json()


def test_diversion_is_shown_and_filterable(bureau, pilot_a, records):
    services.purchase_add(
        pilot=pilot_a,
        purchased_on=SCHOOL_DAY,
        supplier="电器城",
        category="equipment",
        amount="999",
        by=bureau,
    )
    rows = api_for(bureau).get("/api/nutrition/purchases/?diversion=true").json()["results"]
    assert [(r["category"], r["diversion"]) for r in rows] == [("equipment", True)]
    pilot = api_for(bureau).get(f"/api/nutrition/pilots/{pilot_a.pk}/").json()
    assert "diversion" in pilot["flags"] and pilot["forbidden"] == "999.00"


def test_failed_check_without_follow_up_is_refused(principal_a, pilot_a):
    body = {
        "pilot": pilot_a.pk,
        "kind": "sample",
        "day": str(SCHOOL_DAY),
        "checked_by": "厨师",
        "passed": False,
    }
    with nothing_written(pilot_a):
        response = api_for(principal_a).post("/api/nutrition/safety-checks/", body, format="json")
    assert response.status_code == 400
    assert "follow_up" in response.json()


def test_follow_up_on_another_school_check_is_404(principal_a, principal_b, pilot_b, records):
    check = SafetyCheck.objects.get(pilot=pilot_b)
    url = f"/api/nutrition/safety-checks/{check.pk}/follow-up/"
    with nothing_written(check):
        assert api_for(principal_a).post(url, {"follow_up": "已整改"}).status_code == 404
    assert api_for(principal_b).post(url, {"follow_up": "已整改"}).status_code == 200


def test_bureau_sets_up_a_term_and_a_pilot(bureau, school_a):
    client = api_for(bureau)
    StudentFactory.create_batch(2, school=school_a)
    term = client.post(
        "/api/nutrition/terms/",
        {"school_year": 2023, "season": "spring", "start": "2023-02-13", "end": "2023-06-30"},
        format="json",
    )
    assert term.status_code == 201, term.content
    pilot = client.post(
        "/api/nutrition/pilots/",
        {"term": term.json()["id"], "school": school_a.pk, "supply_mode": "canteen"},
        format="json",
    )
    assert pilot.status_code == 201, pilot.content
    assert pilot.json()["covered_primary"] == 2


def test_covered_pupils_cannot_be_typed(bureau, pilot_a):
    client = api_for(bureau)
    other = SchoolFactory()
    response = client.post(
        "/api/nutrition/pilots/",
        {"term": pilot_a.term_id, "school": other.pk, "supply_mode": "canteen", "covered_primary": 999},
        format="json",
    )
    assert response.status_code == 201
    assert PilotSchool.objects.get(school=other).covered_primary == 0


def test_reconciliation_and_figures(bureau, official, term, records):
    body = api_for(official).get(f"/api/nutrition/pilots/reconciliation/?term={term.pk}").json()
    assert body["schools"] == 2 and body["entitled"] == "20.00" and body["spent"] == "20.00"
    figures = api_for(official).get(f"/api/nutrition/figures/?term={term.pk}").json()
    assert figures["pilot_schools"] == 2 and figures["pupils"] == 13
    assert figures["canteen_school_share"] == "50.0"
    assert api_for(official).get("/api/nutrition/figures/?year=2022").json()["funds_used"] == "20.00"
    assert api_for(official).get("/api/nutrition/figures/").status_code == 400


def test_month_import_over_the_api(principal_a, pilot_a, school_a):
    book = Workbook()
    book.active.append(HEADER)
    book.active.append([school_a.code, "2022-10-14", "小学", 6])
    book.active.append([school_a.code, "2022-10-15", "小学", 6])  # Saturday
    data = BytesIO()
    book.save(data)
    data.seek(0)
    data.name = "meals.xlsx"
    # The good row of 14 October is not written either; the refused job is kept with its reasons.
    with nothing_written(pilot_a, besides=(MealImport,)):
        response = api_for(principal_a).post(
            "/api/nutrition/meals/import/",
            {"term": pilot_a.term_id, "month": "2022-10", "file": data},
            format="multipart",
        )
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "rejected" and body["imported"] == 0
    assert len(body["errors"]) == 1 and "第3行" in body["errors"][0]


def test_list_query_count_is_flat(bureau, term, django_assert_max_num_queries):
    for _ in range(5):
        school = SchoolFactory()
        pilot = services.pilot_enrol(term=term, school=school, supply_mode="canteen", by=bureau)
        services.receipt_add(pilot=pilot, received_on=SCHOOL_DAY, amount="1", by=bureau)
    client = api_for(bureau)
    for endpoint in ("pilots", "receipts"):
        with django_assert_max_num_queries(6):
            assert client.get(f"/api/nutrition/{endpoint}/").json()["count"] == 5


def test_endpoints_appear_in_the_schema(bureau):
    schema = api_for(bureau).get("/api/schema/?format=json").json()
    paths = [p for p in schema["paths"] if p.startswith("/api/nutrition/")]
    for expected in (
        "meals/",
        "meals/import/",
        "meal-imports/",
        "meal-imports/{id}/",
        "purchases/",
        "pilots/reconciliation/",
        "figures/",
        "safety-checks/",
    ):
        assert f"/api/nutrition/{expected}" in paths


def test_amounts_are_exact(bureau, pilot_a):
    body = {"pilot": pilot_a.pk, "received_on": str(SCHOOL_DAY), "amount": "28451573.10"}
    assert api_for(bureau).post("/api/nutrition/receipts/", body, format="json").status_code == 201
    assert pilot_a.receipts.get().amount == Decimal("28451573.10")


def test_far_cell_file_is_a_400_and_writes_nothing(principal_a, principal_a_client, pilot_a):
    """Issue 11: the 1.5 KB file with one cell at XFD150000 (79 GB for the reader) is refused whole."""
    from tests import xlsx_attacks

    def attack_file():
        data = BytesIO(xlsx_attacks.far_cell())
        data.name = "meals.xlsx"
        return data

    with nothing_written(pilot_a, besides=(MealImport,)):
        response = api_for(principal_a).post(
            "/api/nutrition/meals/import/",
            {"term": pilot_a.term_id, "month": "2022-10", "file": attack_file()},
            format="multipart",
        )
        page = principal_a_client.post(
            "/nutrition/meals/import/", {"term": pilot_a.term_id, "month": "2022-10", "file": attack_file()}
        )
    assert response.status_code == 400
    assert "XFD150000" in str(response.json())
    assert page.status_code == 400
    assert "XFD150000" in page.content.decode()
