"""Attack (a17m): the bank payroll layout kept as data — a file downloaded again after the bank's layout was
edited is not the file the bank was sent; a layout the bank file cannot be made in is accepted."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from subsidies import bank
from subsidies.models import BankPayrollLayout
from tests.subsidies.banking import sent_rows
from tests.subsidies.test_bank_layouts import approved  # noqa: F401

pytestmark = pytest.mark.django_db

COLUMNS = [
    ["holder_name", "户名"],
    ["holder_id_number", "身份证号"],
    ["account_number", "卡号"],
    ["amount", "金额"],
    ["reference", "参考号"],
]


def test_a_bank_file_downloaded_again_is_the_file_that_was_sent(bureau, approved):  # noqa: F811
    """bank_file_workbook promises "the same file": but it re-renders in the layout as it is now, so after the
    county edits the bank's layout the second download has other columns (here the amount column moved and
    renamed) than the file the bank holds — a clerk re-sending it sends a different file."""
    batch, _students = approved
    layout = bank.payroll_layout_create(by=bureau, bank="农商银行", columns=COLUMNS)
    first = sent_rows(bank.payroll_workbook(batch=batch, by=bureau, layout=layout))
    bank.payroll_layout_update(
        layout=layout,
        by=bureau,
        columns=[["amount", "发放金额"], *[c for c in COLUMNS if c[0] != "amount"]],
    )
    again = sent_rows(bank.bank_file_workbook(batch=batch, number=1))
    assert again == first


@pytest.mark.parametrize("title", ["代发/2025秋", "代发[1]", "代发:秋季", "代发?"])
def test_a_sheet_title_excel_refuses_is_refused_with_the_layout(bureau, approved, title):  # noqa: F811
    """Excel forbids / \\ ? * : [ ] in a sheet name: the layout is saved, and every bank file made in it
    crashes (a server error, not a clear message) instead of the layout being refused when entered."""
    batch, _students = approved
    try:
        layout = bank.payroll_layout_create(by=bureau, bank="农商银行", columns=COLUMNS, sheet_title=title)
    except ValidationError:
        return  # refused with a message: held
    assert BankPayrollLayout.objects.filter(pk=layout.pk).exists()
    try:
        bank.payroll_workbook(batch=batch, by=bureau, layout=layout)
    except ValidationError:
        return
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"the layout with sheet title {title!r} was saved; making its bank file crashes: {exc!r}")
