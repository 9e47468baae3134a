"""Issue 14: every figure once. The dashboards, the home page, the snapshot, its API and its workbook print
the same figure the same way, each sheet agrees with itself, and each red light lists what it counts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from reports import yearend
from tests.factories import make_id_number
from tests.reports.helpers import built_snapshot, line, read_workbook, rows_of

pytestmark = pytest.mark.django_db

JSON = reverse("reports:dashboard_json")


def _snapshot_value(figures: dict, level: str, unit_id, section: str, key: str):
    data = figures["sections"][section]
    if level == "county":
        return data["total"].get(key)
    return data[f"by_{level}"].get(str(unit_id), {}).get(key) or ("0.00" if key.endswith("amount") else 0)


def _open_case(key, township, school=None, *, found_on, student=None):
    from dropout_control.models import CasePeriod, DropoutCase

    case = DropoutCase.objects.create(
        id_number=student.id_number if student else make_id_number(date(2013, 3, 1)),
        name=key,
        student=student,
        township=township,
        school=school,
        found_on=found_on,
        found_by=DropoutCase.FoundBy.SCHOOL_REPORT,
        reason=DropoutCase.Reason.OTHER,
    )
    CasePeriod.objects.create(case=case, opened_on=found_on)
    return case


@pytest.fixture
def busy(county, areas, township_a, township_b, school_a, school_b):
    """More of everything, so that every light is lit: fifteen open cases (one found this week), a pilot
    that spent on staff meals, one that served many meals and spent and received little, a preschool pilot."""
    from nutrition.models import FundReceipt, MealRecord, PilotSchool, Purchase

    today = timezone.localdate()
    for n in range(13):
        _open_case(
            f"long{n}", township_a if n % 2 else township_b, school_a, found_on=today - timedelta(days=45)
        )
    Purchase.objects.create(
        pilot=areas.pilots[0],
        purchased_on=today,
        supplier="酒店",
        category="staff_meals",
        amount=Decimal("10.00"),
    )
    MealRecord.objects.create(pilot=areas.pilots[1], day=today, stage="primary", meals=1000)
    FundReceipt.objects.create(pilot=areas.pilots[1], received_on=today, amount=Decimal("100.00"))
    kindergarten = next(s for s in county.schools if s.school_type == "kindergarten")
    PilotSchool.objects.create(
        term=areas.pilots[0].term,
        school=kindergarten,
        supply_mode="canteen",
        preschool_plan=True,
        covered_preschool=30,
    )
    return areas


@pytest.mark.parametrize(
    ("who", "level"),
    [("bureau_client", "county"), ("township_client", "township"), ("principal_a_client", "school")],
)
def test_every_dashboard_tile_is_the_snapshots_figure_for_the_same_date(
    county, busy, bureau, who, level, request, township_a, school_a
):
    snapshot = built_snapshot(county.year, bureau)
    client = request.getfixturevalue(who)
    data = client.get(JSON).json()
    unit = {"county": None, "township": township_a.pk, "school": school_a.pk}[level]
    assert data["tiles"]
    for tile in data["tiles"]:
        section, key = tile["figure"]
        expected = _snapshot_value(snapshot.figures, level, unit, section, key)
        assert str(tile["value"]) == str(expected), (tile["key"], tile["value"], expected)
    # The home page shows the same tiles.
    home = client.get(reverse("home"))
    assert [t["value"] for t in home.context["dashboard"]["tiles"]] == [t["value"] for t in data["tiles"]]


def test_the_snapshot_api_serves_the_figures_the_workbook_prints(county, busy, bureau, bureau_client):
    snapshot = built_snapshot(county.year, bureau)
    api = bureau_client.get(reverse("reports-snapshot-current"), {"year": county.year}).json()
    assert api["figures"] == snapshot.figures
    workbook = read_workbook(bureau_client.get(reverse("reports:snapshot_download", args=[snapshot.pk])))
    nutrition = snapshot.figures["sections"]["nutrition"]["total"]
    assert line(workbook["营养改善计划"], "合计")[1] == nutrition["pilot_schools"]


def test_each_red_light_opens_exactly_the_rows_it_counts(
    county, busy, bureau_client, township_client, township_a
):
    for client, params in (
        (bureau_client, {}),
        (bureau_client, {"township": township_a.pk}),
        (township_client, {}),
    ):
        lights = client.get(JSON, params).json()["red_lights"]
        keys = {light["key"] for light in lights}
        if client is bureau_client and not params:
            assert keys == {
                "dropout_overdue",
                "aid_unpaid",
                "nutrition_overspend",
                "nutrition_underspend",
                "nutrition_diversion",
                "nutrition_short_funded",
                "nutrition_negative_balance",
            }
        for light in lights:
            page = client.get(light["url"])
            assert page.status_code == 200
            assert page.context["page"].paginator.count == light["count"], (params, light)


def test_a_case_found_this_week_is_open_but_not_a_red_light(county, busy, bureau_client):
    data = bureau_client.get(JSON).json()
    tiles = {t["key"]: t["value"] for t in data["tiles"]}
    lights = {light["key"]: light["count"] for light in data["red_lights"]}
    assert tiles["dropout_open"] == 15 and lights["dropout_overdue"] == 14


def test_preschool_pilots_are_counted_on_their_own_line_and_in_the_shares(
    county, busy, bureau, bureau_client
):
    nutrition = yearend.build_figures(county_code="360730", year=county.year, basis="school")["sections"][
        "nutrition"
    ]
    pilots = nutrition["tables"]["pilots"]
    assert pilots["total"]["schools"] == nutrition["total"]["pilot_schools"] == 4
    assert pilots["total"]["canteen_schools"] == nutrition["total"]["canteen_schools"] == 3
    assert {r["key"]: r["pupils"] for r in pilots["rows"]} == {"preschool": 30, "primary": 200, "junior": 60}
    assert nutrition["total"]["pupils"] == pilots["total"]["pupils"] == 290
    assert nutrition["total"]["canteen_pupil_share"] == str((Decimal(210) / 290).quantize(Decimal("0.0001")))


def test_nutrition_funds_used_show_food_and_diverted_apart(county, busy):
    funds = yearend.build_figures(county_code="360730", year=county.year, basis="school")["sections"][
        "nutrition"
    ]
    lines = {r["key"]: r["amount"] for r in funds["tables"]["funds"]["rows"]}
    assert lines == {"received": "30100.00", "used": "14355.67", "food": "14345.67", "diverted": "10.00"}


def test_nutrition_plan_payments_are_their_own_line_not_aid(county, areas, bureau):
    from subsidies.models import AidType, DisbursementBatch, Payment

    first = areas.payments[0]
    batch = DisbursementBatch.objects.create(
        aid_type=AidType.NUTRITION_PLAN,
        school_year=county.year,
        term="autumn",
        eligibility_date=date(county.year, 9, 1),
        status=DisbursementBatch.Status.PAID,
        created_by=bureau,
    )
    Payment.objects.create(
        batch=batch,
        student=first.student,
        aid_type=AidType.NUTRITION_PLAN,
        school_year=county.year,
        term="autumn",
        school=first.school,
        stage=first.stage,
        policy=first.policy,
        amount=Decimal("400.00"),
        payee="school",
        status=Payment.Status.PAID,
    )
    aid = yearend.build_figures(county_code="360730", year=county.year, basis="school")["sections"]["aid"]
    assert (aid["total"]["person_times"], aid["total"]["amount"]) == (5, "2766.58")
    assert (aid["total"]["nutrition_person_times"], aid["total"]["nutrition_amount"]) == (1, "400.00")
    assert "nutrition_plan" not in {r["key"] for r in aid["tables"]["by_aid_type"]["rows"]}
    from django.utils import translation

    with translation.override("zh-hans"):
        text = "\n".join(
            yearend.summary_lines(
                yearend.build_figures(county_code="360730", year=county.year, basis="school")
            )
        )
    assert "营养改善计划发放（不计入资助）1 人次，0.04000 万元。" in text


def test_aid_by_family_category_and_by_stage_and_type(county, areas):
    from subsidies.models import Payment

    Payment.objects.filter(pk__in=[p.pk for p in areas.payments]).update(category="poverty_alleviated")
    aid = yearend.build_figures(county_code="360730", year=county.year, basis="school")["sections"]["aid"]
    by_category = {r["key"]: r for r in aid["tables"]["by_category"]["rows"]}
    assert by_category["poverty_alleviated"]["person_times"] == 5
    assert by_category["poverty_alleviated"]["amount"] == "2766.58"
    pairs = {r["key"]: r["person_times"] for r in aid["tables"]["by_stage_and_type"]["rows"]}
    assert pairs == {"primary:boarder_allowance": 4, "senior:tuition_waiver": 1}


def test_home_teaching_counts_children_served_in_the_period(county, areas):
    from dropout_control.models import HomeTeachingVisit

    dropout = yearend.build_figures(county_code="360730", year=county.year, basis="school")["sections"][
        "dropout"
    ]
    assert dropout["total"]["home_teaching"] == 0  # placed last year, not visited since
    HomeTeachingVisit.objects.create(
        case=areas.cases["home"],
        visited_on=timezone.localdate(),
        teacher="王老师",
        hours=Decimal("2"),
        content="识字",
    )
    dropout = yearend.build_figures(county_code="360730", year=county.year, basis="school")["sections"][
        "dropout"
    ]
    assert dropout["total"]["home_teaching"] == 1


def test_by_school_and_by_township_lines_add_up_to_the_total(county, busy, bureau, bureau_client):
    snapshot = built_snapshot(county.year, bureau)
    workbook = read_workbook(bureau_client.get(reverse("reports:snapshot_download", args=[snapshot.pk])))
    for name, first in (("按学校", 4), ("按乡镇", 2)):
        rows = rows_of(workbook[name])
        header, body, total = rows[2], rows[3:-1], rows[-1]
        for column in range(first, len(header)):
            if "率" in str(header[column]):
                continue
            assert sum(Decimal(str(r[column] or 0)) for r in body) == Decimal(str(total[column] or 0)), (
                header[column]
            )
    contracts = rows_of(workbook["按学校"])[2].index("合同数")
    assert rows_of(workbook["按学校"])[-1][contracts] == 4


def test_every_sheet_names_the_county_and_prints_on_a4_landscape(county, bureau, bureau_client):
    snapshot = built_snapshot(county.year, bureau)
    response = bureau_client.get(reverse("reports:snapshot_download", args=[snapshot.pk]))
    county_name = snapshot.figures["county_name"]
    workbook = read_workbook(response)
    for ws in workbook.worksheets:
        assert str(ws["A1"].value).startswith(county_name), ws.title
        assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
        assert ws.print_title_rows and "&P" in ws.oddFooter.center.text


def test_the_download_name_carries_the_county(county, bureau):
    from reports import excel

    snapshot = built_snapshot(county.year, bureau)
    assert excel.download_name(snapshot).startswith(snapshot.figures["county_name"])


def test_primary_schools_counted_with_teaching_points_as_the_papers_do(
    county, township_a, bureau, bureau_client
):
    from tests.factories import SchoolFactory

    SchoolFactory(township=township_a, school_type="teaching_point", name="甲村教学点")
    snapshot = built_snapshot(county.year, bureau)
    workbook = read_workbook(bureau_client.get(reverse("reports:snapshot_download", args=[snapshot.pk])))
    ws = workbook["分类型学校数"]
    assert line(ws, "小学（含教学点）")[1] == 3
    assert line(ws, "  其中：教学点")[1] == 1


def test_aid_paid_at_a_school_not_on_the_years_list_is_on_a_school_line(county, areas, bureau, bureau_client):
    """Outside attack: aid recorded at a school that opened after the report's date was in the total and on no
    line of 按学校. The school is listed, marked as not on the year's list, and the lines add up again."""
    from students.models import School
    from subsidies.models import Payment
    from tests.factories import SchoolFactory

    later = SchoolFactory(
        township=county.schools[0].township,
        school_type=School.Type.PRIMARY,
        name="后开办小学",
        opened_on=date(county.year + 1, 9, 1),
    )
    paid = next(p for p in areas.payments if p.status == Payment.Status.PAID)
    Payment.objects.filter(pk=paid.pk).update(school=later)
    snapshot = built_snapshot(county.year, bureau)
    workbook = read_workbook(bureau_client.get(reverse("reports:snapshot_download", args=[snapshot.pk])))
    rows = rows_of(workbook["按学校"])
    header, body, total = rows[2], rows[3:-1], rows[-1]
    assert any(str(r[1]).startswith("后开办小学") and "不在当年学校名单" in str(r[1]) for r in body)
    amount = next(i for i, h in enumerate(header) if "资助金额" in str(h))
    assert sum(Decimal(str(r[amount] or 0)) for r in body) == Decimal(str(total[amount])) > 0
