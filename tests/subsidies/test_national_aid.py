"""The national student-aid system (全国学生资助管理信息系统): the term's report in its columns, and its
export reconciled with what the portal paid; the export round-trips through the reconciliation (issue 17)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook
from rest_framework.test import APIClient

from portal.models import AccessLog
from students.models import Stage, Student
from subsidies import national_aid, selectors, services
from subsidies.models import AidType, Identification
from tests.factories import CategoryFactory, StudentFactory
from tests.refusals import nothing_written
from tests.subsidies.banking import pay_through_the_bank
from tests.subsidies.past import ENROLLED, roll_student

PA = "poverty_alleviated"


@pytest.fixture
def paid(bureau, make_student, school_a):
    """Three boarders of 脱贫户 families paid the 2022 autumn boarder allowance through the bank."""
    students = [
        make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, name=f"学生{i}")
        for i in range(3)
    ]
    batch = services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    pay_through_the_bank(batch, bureau)
    return students


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _export(user) -> bytes:
    response = _api(user).get("/api/subsidies/national-aid/export/", {"school_year": 2022, "term": "autumn"})
    assert response.status_code == 200
    return response.content


def _reconcile(user, content: bytes, url="/api/subsidies/national-aid/reconcile/"):
    upload = io.BytesIO(content)
    upload.name = "export.xlsx"
    return _api(user).post(url, {"file": upload}, format="multipart")


def _saved(wb) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_the_export_has_the_templates_headers_and_the_terms_paid_payments(bureau, paid):
    wb = load_workbook(io.BytesIO(_export(bureau)))
    payments = [list(r) for r in wb[national_aid.PAYMENTS_SHEET].iter_rows(values_only=True)]
    assert payments[0] == list(national_aid.PAYMENT_COLUMNS.values())
    assert sorted(r[3] for r in payments[1:]) == sorted(s.id_number for s in paid)
    assert {r[6] for r in payments[1:]} == {"寄宿生生活补助"}
    students = [list(r) for r in wb[national_aid.STUDENTS_SHEET].iter_rows(values_only=True)]
    assert students[0] == list(national_aid.STUDENT_COLUMNS.values())
    assert {r[3] for r in students[1:]} >= {s.id_number for s in paid}
    assert AccessLog.objects.filter(action=AccessLog.Action.EXPORT).exists()


def test_the_export_round_trips_through_the_reconciliation(bureau, paid):
    response = _reconcile(bureau, _export(bureau))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["reported"], body["paid"], body["matched"], body["differences"]) == (3, 3, 3, [])


def test_the_differences_are_listed(bureau, paid, school_a):
    wb = load_workbook(io.BytesIO(_export(bureau)))
    sheet = wb[national_aid.PAYMENTS_SHEET]
    rows = {row[3].value: row for row in sheet.iter_rows(min_row=2)}
    rows[paid[0].id_number][9].value = Decimal("600.00")  # amount differs
    sheet.delete_rows(list(rows[paid[1].id_number])[0].row)  # paid here, not reported there
    stranger = StudentFactory(school=school_a)
    sheet.append(
        [
            "甲镇中心小学",
            "",
            stranger.name,
            stranger.id_number,
            "小学",
            3,
            "寄宿生生活补助",
            "2022-2023",
            "秋季学期",
            500,
            date(2022, 10, 8),
        ]
    )
    body = _reconcile(bureau, _saved(wb)).json()
    kinds = {(d["kind"], d["name"]) for d in body["differences"]}
    assert kinds == {
        ("amount_differs", paid[0].name),
        ("paid_not_reported", paid[1].name),
        ("reported_not_paid", stranger.name),
    }
    assert all("*" in d["id_number_masked"] for d in body["differences"])


def test_identified_students_on_one_side_only_are_listed(bureau, paid, school_a):
    wb = load_workbook(io.BytesIO(_export(bureau)))
    sheet = wb[national_aid.STUDENTS_SHEET]
    first = next(r for r in sheet.iter_rows(min_row=2) if r[3].value == paid[0].id_number)
    sheet.delete_rows(first[0].row)
    stranger = StudentFactory(school=school_a)
    sheet.append(
        ["甲镇中心小学", "", stranger.name, stranger.id_number, "小学", 3, "2022-2023", "秋季学期", "低保"]
    )
    kinds = {(d["kind"], d["name"]) for d in _reconcile(bureau, _saved(wb)).json()["differences"]}
    assert kinds == {("identified_here_only", paid[0].name), ("identified_there_only", stranger.name)}


def test_a_header_not_the_templates_is_refused_naming_the_columns(bureau, paid):
    wb = Workbook()
    ws = wb.active
    ws.title = national_aid.PAYMENTS_SHEET
    header = [t for t in national_aid.PAYMENT_COLUMNS.values() if t != "资助金额"] + ["金额（元）"]
    ws.append(header)
    with nothing_written():
        response = _reconcile(bureau, _saved(wb))
    assert response.status_code == 400
    text = str(response.json())
    assert "资助金额" in text and "金额（元）" in text


def test_a_bad_row_is_refused_with_its_row_number(bureau, paid):
    wb = load_workbook(io.BytesIO(_export(bureau)))
    wb[national_aid.PAYMENTS_SHEET]["G3"] = "不存在的资助"
    response = _reconcile(bureau, _saved(wb))
    assert response.status_code == 400
    assert "3" in str(response.json()) and "不存在的资助" in str(response.json())


def test_only_bureau_staff_reach_the_national_files(principal_a, township_officer, official, paid):
    for user in (principal_a, township_officer, official):
        client = _api(user)
        assert (
            client.get(
                "/api/subsidies/national-aid/export/", {"school_year": 2022, "term": "autumn"}
            ).status_code
            == 403
        )
        assert _reconcile(user, b"x").status_code == 403


def test_the_page_exports_reconciles_and_downloads_the_differences(bureau, bureau_client, paid):
    url = reverse("subsidies:national_aid")
    assert bureau_client.get(url).status_code == 200
    exported = bureau_client.get(url, {"school_year": 2022, "term": "autumn"})
    assert exported["Content-Type"].startswith("application/vnd.openxmlformats")
    content = b"".join(exported.streaming_content) if exported.streaming else exported.content
    wb = load_workbook(io.BytesIO(content))
    wb[national_aid.PAYMENTS_SHEET]["J2"] = 1
    changed = _saved(wb)
    page = bureau_client.post(url, {"file": io.BytesIO(changed)}).content.decode()
    assert "金额不符" in page
    upload = io.BytesIO(changed)
    upload.name = "x.xlsx"
    response = bureau_client.post(url, {"file": upload, "xlsx": "1"})
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert any(r[0] == "金额不符" for r in rows)


def test_principals_cannot_open_the_page(principal_a_client):
    assert principal_a_client.get(reverse("subsidies:national_aid")).status_code in (403, 404)


def test_identified_students_come_from_the_difficulty_categories(paid, school_a):
    other = StudentFactory(school=school_a)
    found = set(
        selectors.identified_students(2022, students=Student.objects.all()).values_list("pk", flat=True)
    )
    assert {s.pk for s in paid} <= found
    assert other.pk not in found


def _confirmed(student, effective_from, level, *, kind="in_year"):
    return Identification.objects.create(
        student=student,
        school=student.school,
        school_year=2022,
        kind=kind,
        effective_from=effective_from,
        status=Identification.Status.CONFIRMED,
        applied_on=effective_from,
        family_members=3,
        family_income=Decimal("0"),
        hardship_reasons="突发困难",
        guardian_name="家长",
        guardian_declared=True,
        review_members="班主任、家长代表",
        review_result=level or "not_difficult",
        reviewed_on=effective_from,
        confirmed_level=level,
        confirmed_on=effective_from,
    )


def _identified_sheet(user, term) -> dict[str, list]:
    response = _api(user).get("/api/subsidies/national-aid/export/", {"school_year": 2022, "term": term})
    assert response.status_code == 200
    rows = list(
        load_workbook(io.BytesIO(response.content))[national_aid.STUDENTS_SHEET].iter_rows(values_only=True)
    )
    at = rows[0].index("身份证件号")
    return {row[at]: list(row) for row in rows[1:]}


def test_a_terms_report_lists_the_students_identified_during_that_term(bureau, school_a):
    """The autumn report lists a level withdrawn in December, not one that takes effect in March; the spring
    report the other way round; a category of the spring term only is on the spring report; the year's list
    has them all. Each term's report reconciles with no difference."""
    withdrawn = StudentFactory(school=school_a, name="十二月撤销", enrolled_on=date(2020, 9, 1))
    _confirmed(withdrawn, date(2022, 9, 1), "difficult", kind="annual")
    _confirmed(withdrawn, date(2022, 12, 10), "")
    spring = StudentFactory(school=school_a, name="三月认定", enrolled_on=date(2020, 9, 1))
    _confirmed(spring, date(2023, 3, 15), "special")
    listed = StudentFactory(school=school_a, name="春季低保", enrolled_on=date(2020, 9, 1))
    CategoryFactory(student=listed, category="dibao", valid_from=date(2023, 4, 1))
    autumn_rows, spring_rows = _identified_sheet(bureau, "autumn"), _identified_sheet(bureau, "spring")
    assert set(autumn_rows) == {withdrawn.id_number}
    assert set(spring_rows) == {spring.id_number, listed.id_number}
    assert {row[7] for row in spring_rows.values()} == {"春季学期"}
    year = selectors.identified_students(2022, students=Student.objects.all())
    assert set(year.values_list("pk", flat=True)) == {withdrawn.pk, spring.pk, listed.pk}
    for term in ("autumn", "spring"):
        response = _api(bureau).get(
            "/api/subsidies/national-aid/export/", {"school_year": 2022, "term": term}
        )
        body = _reconcile(bureau, response.content).json()
        assert body["differences"] == [], (term, body)


def test_an_identified_list_without_its_term_column_is_refused_naming_it(bureau, paid):
    wb = load_workbook(io.BytesIO(_export(bureau)))
    wb[national_aid.STUDENTS_SHEET].delete_cols(list(national_aid.STUDENT_COLUMNS).index("term") + 1)
    with nothing_written():
        response = _reconcile(bureau, _saved(wb))
    assert response.status_code == 400
    assert "学期" in str(response.json())


# --- The upload size limit of every other upload -------------------------------------------------------------


def _oversized(settings) -> bytes:
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    return b"PK\x03\x04" + b"\0" * (1024 * 1024)


@pytest.mark.parametrize(
    "url", ["/api/subsidies/national-aid/reconcile/", "/api/subsidies/national-aid/reconcile-xlsx/"]
)
def test_an_oversized_export_is_refused_through_the_api(bureau, paid, settings, url):
    content = _oversized(settings)
    with nothing_written():
        response = _reconcile(bureau, content, url=url)
    assert response.status_code == 400
    assert "文件超过 1 MB" in str(response.json())


def test_an_oversized_export_is_refused_on_the_page(bureau_client, paid, settings):
    upload = io.BytesIO(_oversized(settings))
    upload.name = "export.xlsx"
    with nothing_written():
        response = bureau_client.post(reverse("subsidies:national_aid"), {"file": upload})
    assert response.status_code == 200
    assert "文件超过 1 MB" in response.content.decode()


# --- The grade of the term, not today's ------------------------------------------------------------------------


def test_a_student_promoted_after_the_term_is_exported_in_the_terms_grade(bureau, school_a):
    child = roll_student(
        school_a,
        spells=[(date(2022, 9, 1), date(2023, 8, 31), 3, ENROLLED), (date(2023, 9, 1), None, 4, ENROLLED)],
        name="升级娃",
    )
    CategoryFactory(student=child, category="dibao", valid_from=date(2020, 1, 1))
    batch = services.batch_generate(
        aid_type=AidType.NON_BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    pay_through_the_bank(batch, bureau)
    child.refresh_from_db()
    assert child.grade == 4  # today
    wb = load_workbook(io.BytesIO(_export(bureau)))
    for sheet, grade_at in ((national_aid.PAYMENTS_SHEET, 5), (national_aid.STUDENTS_SHEET, 5)):
        row = next(r for r in wb[sheet].iter_rows(min_row=2, values_only=True) if r[3] == child.id_number)
        assert row[grade_at] == 3, sheet
