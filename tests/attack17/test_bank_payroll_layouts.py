"""Outside attack on issue 17: the banks' payroll layouts kept as data.

A file downloaded again must be the file the bank was sent (README: "A file downloaded again keeps the layout
it was made in"), and the ID number column banks require for 代发 must be part of every layout."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from openpyxl import load_workbook

from subsidies import bank
from tests.refusals import nothing_written
from tests.subsidies.banking import sent_rows
from tests.subsidies.test_bank_layouts import approved  # noqa: F401

pytestmark = pytest.mark.django_db

COLUMNS = [
    ["holder_name", "户名"],
    ["holder_id_number", "身份证号"],
    ["account_number", "账号"],
    ["amount", "金额"],
    ["reference", "参考号"],
]


def _rows(wb) -> list[list]:
    buffer = io.BytesIO()
    wb.save(buffer)
    return sent_rows(load_workbook(io.BytesIO(buffer.getvalue())))


def test_a_file_downloaded_again_is_the_file_sent_even_after_its_layout_changed(bureau, approved):  # noqa: F811
    batch, _students = approved
    layout = bank.payroll_layout_create(bank="宁都农商银行", columns=COLUMNS, by=bureau)
    sent = _rows(bank.payroll_workbook(batch=batch, by=bureau, layout=layout))
    # The bank asks for another order and other titles next term.
    bank.payroll_layout_update(
        layout=layout, by=bureau, columns=[["reference", "业务编号"], *COLUMNS[:3], ["amount", "发放金额"]]
    )
    again = _rows(bank.bank_file_workbook(batch=batch, number=1))
    assert again == sent


def test_a_layout_without_the_id_number_column_is_refused(bureau):
    """Banks require the ID number column for 代发 (issue 17): a layout leaving it out is refused, like one
    leaving out the account number."""
    without_id = [c for c in COLUMNS if c[0] != "holder_id_number"]
    with nothing_written(), pytest.raises(ValidationError) as refused:
        bank.payroll_layout_create(bank="某银行", columns=without_id, by=bureau)
    assert "columns" in refused.value.message_dict


@pytest.mark.parametrize("title", ["代发/2025秋", "代发:秋季", "[代发]", "代发?"])
def test_a_sheet_title_excel_cannot_hold_is_refused_when_the_layout_is_kept(bureau, approved, title):  # noqa: F811
    """Excel forbids / \\ ? * : [ ] in a sheet's name: the layout is accepted, and every bank file made in it
    then fails (openpyxl raises ValueError: a 500 on the batch page and the API)."""
    batch, _students = approved
    try:
        layout = bank.payroll_layout_create(bank="某银行", columns=COLUMNS, sheet_title=title, by=bureau)
    except ValidationError:
        return  # refused when kept, with a message: fixed
    with pytest.raises(ValidationError):
        bank.payroll_workbook(batch=batch, by=bureau, layout=layout)


def test_a_one_card_layout_names_the_subsidy_item(bureau):
    """The 惠民惠农财政补贴 一卡通 file must say what the money is (补贴项目): a 一卡通 layout without the subsidy
    item column is refused, as it would make a file the 一卡通 system cannot book."""
    with nothing_written(), pytest.raises(ValidationError):
        bank.payroll_layout_create(
            bank="某银行一卡通",
            columns=COLUMNS,
            card_format=bank.BankPayrollLayout.CardFormat.ONE_CARD,
            by=bureau,
        )
