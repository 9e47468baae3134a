"""Hand-built .xlsx files that attack the reader, zipped part by part so that every byte is ours.

`far_cell()` is the 1.5 KB file of issue 11: one cell at XFD150000, inside the row limit, which made
python-calamine ask for 79 GB (one cell for every place from A1) and abort the process.
"""

from __future__ import annotations

import io
import zipfile

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>'
)
PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="名单" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
HEADER_ROW = '<row r="1"><c r="A1" t="inlineStr"><is><t>身份证号</t></is></c></row>'


def workbook_rels(target: str = "worksheets/sheet1.xml") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        f'worksheet" Target="{target}"/></Relationships>'
    )


def sheet(body: str, *, before: str = "") -> str:
    return f"{SHEET_HEAD}{before}<sheetData>{body}</sheetData></worksheet>"


def xlsx(
    sheet_xml: str,
    *,
    sheet_part: str = "xl/worksheets/sheet1.xml",
    target: str = "worksheets/sheet1.xml",
    extra: dict[str, str | bytes] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """`compression=zipfile.ZIP_STORED` for a repetitive sheet that would otherwise look like a zip bomb."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", PACKAGE_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels(target))
        archive.writestr(sheet_part, sheet_xml)
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def far_cell(ref: str = "XFD150000") -> bytes:
    row = "".join(ch for ch in ref if ch.isdigit())
    return xlsx(sheet(f'{HEADER_ROW}<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>x</t></is></c></row>'))
