"""Outside attack on issue 17: the national student-aid system's report and its reconciliation.

The report of a past term gives today's grade instead of the term's; the reconciliation reads any upload whole
with openpyxl, past the portal's upload limits and formula check that every other import applies."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from students import id_numbers
from students.models import Stage
from subsidies import national_aid, services
from subsidies.models import AidType
from tests.attack17.helpers import leave
from tests.refusals import nothing_written
from tests.subsidies.banking import pay_through_the_bank
from tests.subsidies.test_national_aid import _export, _reconcile, _saved, paid  # noqa: F401

pytestmark = pytest.mark.django_db

PA = "poverty_alleviated"


def test_the_report_of_a_past_term_gives_the_grade_the_child_was_in_that_term(bureau, make_student, school_a):
    """Paid in autumn 2022 in grade 1; in grade 4 since September 2025. The 2022 autumn report says grade 1
    on both sheets (the national system checks the grade against its 学籍 of that term)."""
    student = make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, grade=1)
    batch = services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    pay_through_the_bank(batch, bureau)
    leave(student, "", date(2025, 9, 1), grade=4)

    wb = load_workbook(io.BytesIO(_export(bureau)))
    payments = list(wb[national_aid.PAYMENTS_SHEET].iter_rows(min_row=2, values_only=True))
    mine = [r for r in payments if r[3] == student.id_number]
    assert mine and {r[5] for r in mine} == {1}
    students = list(wb[national_aid.STUDENTS_SHEET].iter_rows(min_row=2, values_only=True))
    assert [r[5] for r in students if r[3] == student.id_number] == [1]


def test_the_reconciliation_api_refuses_a_file_above_the_upload_limit(bureau, paid, settings):  # noqa: F811
    """IMPORT_MAX_BYTES bounds every upload; the reconciliation API reads a file of any size."""
    content = _export(bureau)
    settings.IMPORT_MAX_BYTES = len(content) - 1
    with nothing_written():
        response = _reconcile(bureau, content)
    assert response.status_code == 400, response.json()


def test_a_reconciliation_file_with_formulas_is_refused_as_such(bureau, paid):  # noqa: F811
    """Every import of the portal refuses formulas with the message to paste values; the reconciliation reads
    the cell as empty and blames the amount."""
    wb = load_workbook(io.BytesIO(_export(bureau)))
    wb[national_aid.PAYMENTS_SHEET].cell(row=2, column=10).value = "=250*2"
    response = _reconcile(bureau, _saved(wb))
    assert response.status_code == 400
    assert "公式" in str(response.json()), response.json()


def test_the_reconciliation_matches_a_child_on_the_national_student_number_first(bureau, paid):  # noqa: F811
    """学籍号 G + the ID number the child had when it was given: the national system still holds that old ID
    number after the county corrected the child's ID number. The row carries the same 学籍号 as the
    portal, so it is the same child and the same payment: no difference."""
    child = paid[0]
    old_id = id_numbers.make("360730", child.birth_date, 77)
    child.national_student_number = "G" + old_id
    child.save()
    wb = load_workbook(io.BytesIO(_export(bureau)))
    for sheet in (wb[national_aid.PAYMENTS_SHEET], wb[national_aid.STUDENTS_SHEET]):
        for row in sheet.iter_rows(min_row=2):
            if row[3].value == child.id_number:
                assert row[1].value == "G" + old_id
                row[3].value = old_id
    response = _reconcile(bureau, _saved(wb))
    assert response.status_code == 200, response.json()
    assert response.json()["differences"] == []


def test_a_bad_row_is_named_by_its_excel_row_number_past_a_blank_row(bureau, paid):  # noqa: F811
    """Blank rows are skipped but must be counted: the clerk looks for the row number Excel shows. With a
    blank row 2, the bad aid name sits in Excel row 4; the refusal names row 3."""
    wb = load_workbook(io.BytesIO(_export(bureau)))
    sheet = wb[national_aid.PAYMENTS_SHEET]
    sheet.insert_rows(2)
    sheet["G4"] = "不存在的资助"
    with nothing_written():
        response = _reconcile(bureau, _saved(wb))
    assert response.status_code == 400
    text = str(response.json())
    assert "不存在的资助" in text and "第 4 行" in text, text


def test_a_sheet_spanning_excels_last_column_is_refused_before_it_is_read(bureau, paid):  # noqa: F811
    """Every other upload is checked on the raw XML first (portal.excel: at most 200 columns, IMPORT_MAX_CELLS):
    the reconciliation reads rows padded to the farthest cell, so a 5 KB file with one cell at XFD5000 makes it
    test 16,384 cells in every row (6 s for 5,000 rows here; with a cell at A1048576, 1.7e10 cells: a worker's
    CPU for tens of minutes), and only then refuses the row it finds. Refused at once, naming
    the cell, like the other imports."""
    wb = load_workbook(io.BytesIO(_export(bureau)))
    sheet = wb[national_aid.PAYMENTS_SHEET]
    sheet["XFD5000"] = "备注"
    with nothing_written():
        response = _reconcile(bureau, _saved(wb))
    assert response.status_code == 400
    assert "XFD5000" in str(response.json()), response.json()
