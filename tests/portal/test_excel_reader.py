"""The one safe reader of uploads (portal.excel.read_rows) against files crafted to exhaust it.

Each attack here made python-calamine allocate without bound (or was a way round a check): the reader
must refuse it with a message, quickly, before calamine reads the sheet.
"""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from portal.excel import ExcelError, read_rows
from tests import xlsx_attacks as attack


def read(data: bytes):
    return read_rows(io.BytesIO(data))


def test_one_far_cell_is_refused_before_it_is_read():
    data = attack.far_cell("XFD150000")
    assert len(data) < 2048
    started = time.monotonic()
    with pytest.raises(ExcelError) as refused:
        read(data)
    assert time.monotonic() - started < 2
    assert "XFD150000" in str(refused.value)


def test_a_far_row_is_refused_with_the_row_count(settings):
    settings.IMPORT_MAX_ROWS = 1000
    with pytest.raises(ExcelError, match="1001"):
        read(attack.far_cell("A1002"))


def test_a_far_cell_in_a_sheet_part_of_another_name_is_found_through_the_workbook():
    body = f'{attack.HEADER_ROW}<row r="150000"><c r="XFD150000"><v>1</v></c></row>'
    data = attack.xlsx(
        attack.sheet(body),
        sheet_part="xl/worksheets/名单.bin",
        target="/xl/worksheets/名单.bin",
        extra={"xl/worksheets/sheet1.xml": attack.sheet(attack.HEADER_ROW)},
    )
    with pytest.raises(ExcelError, match="XFD150000"):
        read(data)


def test_cells_without_coordinates_are_placed_as_the_reader_places_them():
    # The far cell again, without a single coordinate: rows without a number count on from the last one,
    # cells without one from the cell before. Stored uncompressed, so that the zip-bomb check passes.
    body = "<row/>" * 149_999 + "<row>" + "<c><v>1</v></c>" * 16_384 + "</row>"
    data = attack.xlsx(attack.sheet(body), compression=zipfile.ZIP_STORED)
    with pytest.raises(ExcelError):  # at the 34th cell: 150,000 rows x 34 columns pass the cell limit
        read(data)


def test_prefixed_cells_are_checked_too():
    body = (
        '<x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c></x:row>'
        '<x:row r="150000"><x:c r="XFD150000"><x:v>1</x:v></x:c></x:row>'
    )
    xml = attack.sheet(body).replace(
        "<worksheet ", '<worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    )
    with pytest.raises(ExcelError, match="XFD150000"):
        read(attack.xlsx(xml))


@pytest.mark.parametrize(
    "before, body",
    [
        ('<dimension ref="A1:XFD1048576"/>', attack.HEADER_ROW),
        ("", attack.HEADER_ROW + '<row r="1048576"></row>'),
    ],
    ids=["declared dimension", "row number"],
)
def test_a_declared_extent_beyond_the_limits_is_refused(before, body):
    with pytest.raises(ExcelError):
        read(attack.xlsx(attack.sheet(body, before=before)))


def test_an_area_beyond_the_cell_limit_is_refused(settings):
    settings.IMPORT_MAX_CELLS = 10_000
    with pytest.raises(ExcelError, match="10000"):
        read(attack.far_cell("AZ1000"))


@pytest.mark.parametrize(
    "before, attributes",
    [
        ("", ""),
        # A second outside attack: padding in front of the declaration hid it from a check that read only
        # the first 4 KB of the part, and the server died again.
        ("<!--" + "x" * 5000 + "-->", ""),
        ("", 'xmlns:p="' + "p" * 5000 + '" '),
        ("<?pad " + "y" * 70_000 + "?>", ""),
        ("", 'uniqueCount="1" '),  # a repeated attribute: not well-formed, refused as damaged
    ],
    ids=["plain", "comment before", "long attribute before", "processing instruction", "repeated"],
)
def test_shared_strings_declaring_billions_are_refused(before, attributes):
    # calamine reserves room for uniqueCount strings before reading one: 96 GB for this 1.8 KB file.
    strings = (
        f'<?xml version="1.0" encoding="UTF-8"?>{before}<sst {attributes}xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main" count="1" uniqueCount="4000000000"><si><t>x</t></si></sst>'
    )
    data = attack.xlsx(
        attack.sheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'),
        extra={"xl/sharedStrings.xml": strings},
    )
    with pytest.raises(ExcelError):
        read(data)


def test_shared_strings_with_a_document_type_are_refused():
    strings = (
        '<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">]><sst xmlns="http://schemas.'
        'openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>&a;</t></si></sst>'
    )
    data = attack.xlsx(
        attack.sheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'),
        extra={"xl/sharedStrings.xml": strings},
    )
    with pytest.raises(ExcelError):
        read(data)


@pytest.mark.parametrize(
    "name", ["xl/workbook.bin", "content.xml", "XL/worksheets/SHEET1.xml"], ids=["xlsb", "ods", "twin"]
)
def test_parts_that_would_make_the_reader_read_something_else_are_refused(name):
    with pytest.raises(ExcelError):
        read(attack.xlsx(attack.sheet(attack.HEADER_ROW), extra={name: "x"}))


@pytest.mark.parametrize(
    "formula",
    ["<f>1+1</f>", "<f\n>1+1</f>", '<f t="shared" si="0"/>', "<f/>", '<x:f\n xmlns:x="urn:x">1</x:f>'],
    ids=["plain", "newline", "shared", "empty", "prefixed"],
)
def test_formulas_are_refused_however_they_are_written(formula):
    body = f'{attack.HEADER_ROW}<row r="2"><c r="A2">{formula}<v>2</v></c></row>'
    with pytest.raises(ExcelError, match="公式|formula"):
        read(attack.xlsx(attack.sheet(body)))


def test_styles_with_fills_fonts_and_families_are_not_formulas():
    wb = Workbook()
    wb.active.append(["身份证号", "姓名"])
    wb.active.append(["360730201401010016", "王小二"])
    wb.active["A1"].font = Font(name="宋体", family=3, bold=True)
    wb.active["B1"].fill = PatternFill("solid", fgColor="FFFF00")
    buffer = io.BytesIO()
    wb.save(buffer)
    assert read(buffer.getvalue())[1] == ["360730201401010016", "王小二"]


def test_a_wide_honest_list_is_read():
    wb = Workbook()
    for r in range(5):
        wb.active.append([f"{r}-{c}" for c in range(60)])
    buffer = io.BytesIO()
    wb.save(buffer)
    rows = read(buffer.getvalue())
    assert (len(rows), len(rows[0]), rows[4][59]) == (5, 60, "4-59")


def test_cells_without_coordinates_within_the_limits_are_read():
    body = '<row><c t="inlineStr"><is><t>身份证号</t></is></c><c t="inlineStr"><is><t>姓名</t></is></c></row>'
    body += '<row><c t="inlineStr"><is><t>1</t></is></c><c t="inlineStr"><is><t>王</t></is></c></row>'
    assert read(attack.xlsx(attack.sheet(body))) == [["身份证号", "姓名"], ["1", "王"]]


def test_a_far_row_after_a_megabyte_of_wide_rows_is_refused(settings):
    # The fast pass learns the widest column from the first piece of the sheet (40 columns: AN), then
    # looks only for cells beyond it or below the rows that 40 columns allow: 10,000 here.
    settings.IMPORT_MAX_CELLS = 400_000
    columns = [_column(c) for c in range(40)]
    rows = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{col}{r}"><v>{r}</v></c>' for col in columns) + "</row>"
        for r in range(1, 9_001)
    )
    body = rows + '<row r="12000"><c r="A12000"><v>1</v></c></row>'
    with pytest.raises(ExcelError, match="400000"):
        read(attack.xlsx(attack.sheet(body)))


def _column(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def test_write_sheet_formats_every_data_row_and_only_those():
    """The number formats land on each data row (counted as written, not by scanning the sheet per row, which
    made a county-size export quadratic), with or without a title line."""
    from openpyxl import Workbook

    from portal.excel import write_sheet

    for title, first in ((None, 2), ("标题", 3)):
        ws = Workbook().active
        assert (
            write_sheet(
                ws, ["序号", "金额"], ([i, i * 2] for i in range(1, 51)), title=title, formats={1: "0.00"}
            )
            == 50
        )
        assert ws.cell(row=first - 1, column=2).number_format == "General"  # the header
        assert [ws.cell(row=r, column=2).number_format for r in range(first, first + 50)] == ["0.00"] * 50
        assert ws.cell(row=first + 49, column=2).value == 100
