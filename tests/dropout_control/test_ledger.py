"""The monthly ledger: counts by township and school that reconcile, and the Excel a bureau files."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from dropout_control import services
from dropout_control.ledger import ledger_workbook, monthly_ledger
from dropout_control.models import DropoutCase
from tests.dropout_control.factories import close_case, open_case

Outcome = DropoutCase.Outcome


@pytest.fixture
def march_cases(township_a, township_b, school_a, school_b, bureau):
    """February carries 2 open cases into March; March sees 3 new, 3 closed, one reopened."""

    def close(case, day):
        return close_case(case, on=day, by=bureau)

    carried = open_case(township=township_a, school=school_a, found_on=date(2025, 2, 10), name="甲一")
    closed_first_day = open_case(
        township=township_a, school=school_a, found_on=date(2025, 2, 20), name="甲二"
    )
    close(closed_first_day, date(2025, 3, 1))
    new_open = open_case(township=township_b, school=school_b, found_on=date(2025, 3, 5), name="乙一")
    new_closed = open_case(township=township_b, school=school_b, found_on=date(2025, 3, 6), name="乙二")
    close(new_closed, date(2025, 3, 20))
    # Closed in January, reopened in March: new again in March.
    reopened = open_case(township=township_a, school=None, found_on=date(2025, 1, 6), name="甲三")
    close(reopened, date(2025, 1, 20))
    services.case_reopen(case=reopened, on=date(2025, 3, 10), reason="再次辍学", by=bureau)
    # Closed in February: not in March's ledger at all.
    gone = open_case(township=township_a, school=school_a, found_on=date(2025, 2, 1), name="甲四")
    close(gone, date(2025, 2, 28))
    # Found in April: not yet in March.
    open_case(township=township_a, school=school_a, found_on=date(2025, 4, 2), name="甲五")
    return {"carried": carried, "new_open": new_open, "reopened": reopened}


def test_march_counts(march_cases, bureau):
    ledger = monthly_ledger(year=2025, month=3, user=bureau)
    t = ledger.total
    assert (t.open_at_start, t.new, t.closed, t.open_at_end) == (2, 3, 2, 3)
    rows = {(r.township, r.school): (r.open_at_start, r.new, r.closed, r.open_at_end) for r in ledger.rows}
    assert rows == {
        ("甲镇", "甲镇中心小学"): (2, 0, 1, 1),
        ("甲镇", "（无学校）"): (0, 1, 0, 1),
        ("乙镇", "乙镇中心小学"): (0, 2, 1, 1),
    }


@pytest.mark.parametrize("month", [1, 2, 3, 4, 5])
def test_every_month_reconciles_row_by_row_and_in_total(march_cases, bureau, month):
    ledger = monthly_ledger(year=2025, month=month, user=bureau)
    assert all(row.reconciles for row in ledger.rows)
    assert ledger.total.reconciles


def test_end_of_one_month_is_the_start_of_the_next(march_cases, bureau):
    for month in (1, 2, 3, 4):
        this = monthly_ledger(year=2025, month=month, user=bureau).total
        following = monthly_ledger(year=2025, month=month + 1, user=bureau).total
        assert this.open_at_end == following.open_at_start


def test_township_officer_ledger_has_only_the_township(march_cases, township_officer):
    ledger = monthly_ledger(year=2025, month=3, user=township_officer)
    assert {r.township for r in ledger.rows} == {"甲镇"}
    assert (ledger.total.open_at_start, ledger.total.new, ledger.total.closed, ledger.total.open_at_end) == (
        2,
        1,
        1,
        2,
    )


def test_principal_ledger_has_only_the_school(march_cases, principal_b):
    ledger = monthly_ledger(year=2025, month=3, user=principal_b)
    assert [(r.school, r.new, r.closed) for r in ledger.rows] == [("乙镇中心小学", 2, 1)]


def test_excel_export_reads_back(march_cases, bureau):
    buffer = io.BytesIO()
    ledger_workbook(year=2025, month=3, user=bureau).save(buffer)
    wb = load_workbook(io.BytesIO(buffer.getvalue()))
    summary = wb.worksheets[0]
    rows = list(summary.iter_rows(values_only=True))
    assert "2025-03" in rows[0][0]
    assert rows[1] == ("乡镇", "学校", "月初在册", "本月新增", "本月销号", "月末在册")
    assert summary.freeze_panes == "A3"
    assert rows[-1] == ("合计", None, 2, 3, 2, 3)
    detail = list(wb.worksheets[1].iter_rows(values_only=True))
    assert len(detail) == 1 + 5  # header + five periods in March
    names = {r[2] for r in detail[1:]}
    assert names == {"甲一", "甲二", "甲三", "乙一", "乙二"}
    for row in detail[1:]:
        assert march_cases["carried"].id_number not in row  # ID numbers masked


def test_export_escapes_formula_like_text(township_a, bureau):
    open_case(township=township_a, name="=HYPERLINK(1)", found_on=date(2025, 3, 3))
    buffer = io.BytesIO()
    ledger_workbook(year=2025, month=3, user=bureau).save(buffer)
    detail = load_workbook(io.BytesIO(buffer.getvalue())).worksheets[1]
    assert detail.cell(row=2, column=3).value == "'=HYPERLINK(1)"
