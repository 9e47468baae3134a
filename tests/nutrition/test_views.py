"""The browser pages, through the test client (Chinese is the default language)."""

from datetime import date
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from nutrition import services
from nutrition.importing import HEADER
from nutrition.models import MealImport, MealRecord, NutritionTerm, PilotSchool
from students.models import Stage
from tests.factories import SchoolFactory, StudentFactory
from tests.nutrition.conftest import HOLIDAY, SCHOOL_DAY
from tests.refusals import nothing_written


def url(pilot, what=""):
    return f"/nutrition/pilots/{pilot.pk}/{what + '/' if what else ''}"


def test_dashboard_shows_own_school_only(principal_a_client, pilot_a, pilot_b, term):
    page = principal_a_client.get(f"/nutrition/?term={term.pk}").content.decode()
    assert pilot_a.school.name in page
    assert pilot_b.school.name not in page


def test_dashboard_shows_county_figures_and_flags(official_client, pilot_a, pilot_b, term, bureau):
    services.purchase_add(
        pilot=pilot_a,
        purchased_on=SCHOOL_DAY,
        supplier="电器城",
        category="equipment",
        amount="10",
        by=bureau,
    )
    page = official_client.get(f"/nutrition/?term={term.pk}").content.decode()
    assert "50.0%" in page  # one of two schools supplies from a canteen
    assert "挤占挪用" in page and "超支" in page


def test_dashboard_query_count_does_not_grow(bureau_client, term, bureau, django_assert_max_num_queries):
    for _ in range(8):
        services.pilot_enrol(term=term, school=SchoolFactory(), supply_mode="canteen", by=bureau)
    with django_assert_max_num_queries(20):
        assert bureau_client.get(f"/nutrition/?term={term.pk}").status_code == 200


def test_principal_opening_another_school_sees_no_data(principal_a_client, pilot_b):
    response = principal_a_client.get(url(pilot_b))
    assert response.status_code == 404
    assert pilot_b.school.name not in response.content.decode()


def test_principal_records_meals_in_the_browser(principal_a_client, pilot_a):
    response = principal_a_client.post(
        url(pilot_a, "meals"), {"day": SCHOOL_DAY, "stage": "primary", "meals": 6}
    )
    assert response.status_code == 302
    assert MealRecord.objects.get().meals == 6
    page = principal_a_client.get(url(pilot_a)).content.decode()
    assert "30.00" in page  # entitled: 6 meals × 5 yuan


def test_meals_above_covered_show_a_chinese_message_and_write_nothing(principal_a_client, pilot_a):
    with nothing_written(pilot_a):
        response = principal_a_client.post(
            url(pilot_a, "meals"), {"day": SCHOOL_DAY, "stage": "junior", "meals": 4}
        )
    assert response.status_code == 400
    assert "超过了受益初中学生数 3 人" in response.content.decode()


def test_meals_on_a_holiday_show_a_chinese_message(principal_a_client, pilot_a):
    with nothing_written(pilot_a):
        response = principal_a_client.post(
            url(pilot_a, "meals"), {"day": HOLIDAY, "stage": "primary", "meals": 1}
        )
    assert response.status_code == 400
    assert "是节假日" in response.content.decode()


@pytest.mark.parametrize(
    ("amount", "message"), [("-5", "金额必须大于零"), ("十元", "金额必须是以元为单位的数字")]
)
def test_bad_purchase_amount_shows_a_chinese_message(principal_a_client, pilot_a, amount, message):
    body = {"purchased_on": SCHOOL_DAY, "supplier": "菜场", "category": "vegetables", "amount": amount}
    with nothing_written(pilot_a):
        response = principal_a_client.post(url(pilot_a, "purchases"), body)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_purchase_dated_in_a_closed_term_is_refused(principal_a_client, pilot_a, bureau):
    spring = services.term_create(
        school_year=2022, season="spring", start=date(2022, 2, 14), end=date(2022, 6, 30), by=bureau
    )
    services.term_close(term=spring, by=bureau)
    body = {"purchased_on": "2022-06-01", "supplier": "菜场", "category": "vegetables", "amount": "10"}
    with nothing_written(pilot_a, spring):
        response = principal_a_client.post(url(pilot_a, "purchases"), body)
    assert response.status_code == 400
    assert "属于已关闭的学期" in response.content.decode()


def test_principal_posting_for_another_school_gets_404(principal_a_client, principal_b_client, pilot_b):
    posts = [
        ("meals", {"day": SCHOOL_DAY, "stage": "primary", "meals": 1}),
        (
            "purchases",
            {"purchased_on": SCHOOL_DAY, "supplier": "菜场", "category": "vegetables", "amount": "10"},
        ),
        ("accompanied", {"day": SCHOOL_DAY, "person": "张校长", "remark": "好"}),
    ]
    with nothing_written(pilot_b):
        for what, data in posts:
            assert principal_a_client.post(url(pilot_b, what), data).status_code == 404, what
    for what, data in posts:  # the same forms from the pilot's own school are taken
        assert principal_b_client.post(url(pilot_b, what), data).status_code == 302, what


@pytest.mark.parametrize("who", ["official_client", "township_client"])
def test_reading_roles_cannot_post(who, pilot_a, principal_a_client, request):
    client = request.getfixturevalue(who)
    data = {"day": SCHOOL_DAY, "stage": "primary", "meals": 1}
    with nothing_written(pilot_a):
        response = client.post(url(pilot_a, "meals"), data)
    assert response.status_code == 403
    page = client.get(url(pilot_a)).content.decode()
    assert "录入供餐" not in page
    assert principal_a_client.post(url(pilot_a, "meals"), data).status_code == 302


def test_principal_cannot_record_receipts(principal_a_client, bureau_client, pilot_a):
    data = {"received_on": SCHOOL_DAY, "amount": "10"}
    with nothing_written(pilot_a):
        response = principal_a_client.post(url(pilot_a, "receipts"), data)
    assert response.status_code == 403
    assert bureau_client.post(url(pilot_a, "receipts"), data).status_code == 302


def test_accompanied_meal_and_days_without_it(principal_a_client, pilot_a):
    response = principal_a_client.post(
        url(pilot_a, "accompanied"), {"day": SCHOOL_DAY, "person": "张校长", "remark": "好"}
    )
    assert response.status_code == 302
    page = principal_a_client.get(url(pilot_a)).content.decode()
    assert "张校长" in page
    # The autumn 2022 term is over: every school day but one lacks an accompanied meal.
    assert "天无人陪餐" in page


def test_failed_check_without_follow_up_is_refused(principal_a_client, pilot_a):
    body = {"kind": "storage", "day": SCHOOL_DAY, "checked_by": "李师傅", "passed": "0"}
    response = principal_a_client.post(url(pilot_a, "checks"), body)
    assert "检查不合格时必须填写整改情况" in response.content.decode()


def test_history_is_shown(principal_a_client, pilot_a, principal_a):
    services.meal_record(pilot=pilot_a, day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=6, by=principal_a)
    services.meal_record(pilot=pilot_a, day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=5, by=principal_a)
    page = principal_a_client.get(url(pilot_a)).content.decode()
    from nutrition.models import MealRecord

    assert "变更记录" in page and f"{MealRecord._meta.verbose_name} · 修改" in page


def xlsx(rows) -> SimpleUploadedFile:
    book = Workbook()
    book.active.append(HEADER)
    for row in rows:
        book.active.append(row)
    out = BytesIO()
    book.save(out)
    return SimpleUploadedFile("meals.xlsx", out.getvalue())


def test_import_page_lists_every_bad_row_and_writes_nothing(principal_a_client, pilot_a, school_a, term):
    rows = [
        [school_a.code, "2022-10-14", "小学", 6],
        [school_a.code, "2022-10-17", "小学", 60],
        [school_a.code, "2022-10-03", "小学", 1],
    ]
    with nothing_written(pilot_a, besides=(MealImport,)):  # not even the good row 2
        response = principal_a_client.post(
            "/nutrition/meals/import/", {"term": term.pk, "month": "2022-10", "file": xlsx(rows)}
        )
    assert response.status_code == 400
    page = response.content.decode()
    assert "第3行" in page and "第4行" in page and "第2行" not in page


def test_import_page_imports_a_good_month(principal_a_client, pilot_a, school_a, term):
    rows = [[school_a.code, "2022-10-14", "小学", 6], [school_a.code, "2022-10-14", "初中", 3]]
    response = principal_a_client.post(
        "/nutrition/meals/import/", {"term": term.pk, "month": "2022-10", "file": xlsx(rows)}
    )
    assert response.status_code == 302
    assert MealRecord.objects.count() == 2
    page = principal_a_client.get(response["Location"]).content.decode()
    assert "已导入 2 条供餐记录" in page


def test_officials_cannot_import(official_client, pilot_a, school_a, term):
    assert official_client.get("/nutrition/meals/import/").status_code == 403
    rows = [[school_a.code, "2022-10-14", "小学", 6]]
    with nothing_written(pilot_a):
        response = official_client.post(
            "/nutrition/meals/import/", {"term": term.pk, "month": "2022-10", "file": xlsx(rows)}
        )
    assert response.status_code == 403


def test_bureau_sets_up_a_term_and_enrols_a_school(bureau_client, school_a):
    StudentFactory.create_batch(3, school=school_a)
    response = bureau_client.post(
        "/nutrition/terms/",
        {"school_year": 2023, "season": "spring", "start": "2023-02-13", "end": "2023-06-30"},
    )
    term = NutritionTerm.objects.get()
    assert response.status_code == 302
    bureau_client.post(
        f"/nutrition/terms/{term.pk}/", {"action": "holiday", "day": "2023-04-05", "reason": "清明节"}
    )
    bureau_client.post(
        f"/nutrition/terms/{term.pk}/",
        {"action": "enrol", "school": school_a.pk, "supply_mode": "canteen", "planned_days": 100},
    )
    pilot = PilotSchool.objects.get()
    assert pilot.covered_primary == 3
    assert term.holidays.get().reason == "清明节"
    bureau_client.post(f"/nutrition/terms/{term.pk}/", {"action": "close"})
    term.refresh_from_db()
    assert term.is_closed


@pytest.mark.parametrize("who", ["principal_a_client", "official_client", "township_client"])
def test_only_the_bureau_manages_terms(who, request, bureau_client):
    client = request.getfixturevalue(who)
    assert client.get("/nutrition/terms/").status_code == 403
    data = {"school_year": 2023, "season": "spring", "start": "2023-02-13", "end": "2023-06-30"}
    with nothing_written():
        assert client.post("/nutrition/terms/", data).status_code == 403
    assert bureau_client.post("/nutrition/terms/", data).status_code == 302


def test_dashboard_counts_days_without_accompanied_meal(bureau_client, pilot_a, principal_a, term):
    services.accompanied_add(pilot=pilot_a, day=SCHOOL_DAY, person="张校长", by=principal_a)
    services.accompanied_add(pilot=pilot_a, day=SCHOOL_DAY, person="李副校长", by=principal_a)
    response = bureau_client.get(f"/nutrition/?term={term.pk}")
    school_days = response.context["school_days"]
    # Hand count: 2022-09-01..2023-01-13 has 97 weekdays, less the 3 October holiday.
    assert school_days == 96
    (row,) = response.context["rows"]
    assert row[2] == school_days - 1  # two people on one day count as one day
