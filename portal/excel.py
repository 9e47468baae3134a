"""Excel in and out, safely: every upload and export of the portal goes through here.

Uploads: only a real .xlsx (a zip holding xl/workbook.xml, whatever the file is called), bounded in bytes,
in unpacked size (zip bombs), in rows, and free of formulas; read with python-calamine, the fastest reader
we have. Exports: openpyxl, with text cells that a spreadsheet would run as a formula escaped.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import IO, Any

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# An honest workbook compresses text about 10:1; far beyond that is a zip bomb.
MAX_COMPRESSION_RATIO = 200
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[ >/]")


class ExcelError(ValueError):
    """A file the portal refuses, with a message a clerk understands."""


def _max_unpacked() -> int:
    return getattr(settings, "IMPORT_MAX_UNPACKED_BYTES", 400 * 1024 * 1024)


def read_rows(
    upload: IO[bytes], *, max_rows: int | None = None, max_bytes: int | None = None
) -> list[list[Any]]:
    """All rows of the first sheet as Python values (header included), or ExcelError."""
    max_rows = max_rows or settings.IMPORT_MAX_ROWS
    max_bytes = max_bytes or settings.IMPORT_MAX_BYTES
    data = upload.read(max_bytes + 1)
    if not data:
        raise ExcelError(_("The file is empty."))
    if len(data) > max_bytes:
        raise ExcelError(_("The file is larger than %(mb)s MB.") % {"mb": max_bytes // (1024 * 1024)})
    if not data.startswith(b"PK\x03\x04"):
        raise ExcelError(
            _("This is not an Excel .xlsx file. Save it as .xlsx (Excel workbook) and upload again.")
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
        if "xl/workbook.xml" not in names:
            raise ExcelError(
                _("This is not an Excel .xlsx file. Save it as .xlsx (Excel workbook) and upload again.")
            )
        unpacked = 0
        for info in archive.infolist():
            unpacked += info.file_size
            if info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO:
                raise ExcelError(
                    _("The file is damaged or crafted to overload the server (it unpacks far too much).")
                )
        if unpacked > _max_unpacked():
            raise ExcelError(
                _("The file is damaged or crafted to overload the server (it unpacks far too much).")
            )
        for name in names:
            if name.startswith("xl/worksheets/") and name.endswith(".xml") and _has_formula(archive, name):
                raise ExcelError(
                    _(
                        "The file contains formulas. Copy the cells and paste them as values only, then upload again."
                    )
                )
    except zipfile.BadZipFile as exc:
        raise ExcelError(_("The file is damaged and cannot be opened as an Excel workbook.")) from exc
    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
        # total_height is the last row's 0-based index, i.e. the rows below the header; checked before the
        # cells are read, so that a 300,000-row sheet costs next to nothing.
        if sheet.total_height > max_rows:
            raise ExcelError(
                _(
                    "The file has %(rows)s rows; at most %(max)s can be imported at once. Split it into smaller files."
                )
                % {"rows": sheet.total_height, "max": max_rows}
            )
        rows = sheet.to_python(skip_empty_area=False)
    except ExcelError:
        raise
    except Exception as exc:  # calamine raises several error types for broken workbooks
        raise ExcelError(_("The file is damaged and cannot be opened as an Excel workbook.")) from exc
    rows = [row for row in rows if any(cell not in ("", None) for cell in row)]
    if len(rows) > max_rows + 1:
        raise ExcelError(
            _(
                "The file has %(rows)s rows; at most %(max)s can be imported at once. Split it into smaller files."
            )
            % {"rows": len(rows) - 1, "max": max_rows}
        )
    return rows


def _has_formula(archive: zipfile.ZipFile, name: str) -> bool:
    tail = b""
    with archive.open(name) as stream:
        while chunk := stream.read(1 << 20):
            if _FORMULA_TAG.search(tail + chunk):
                return True
            tail = chunk[-8:]
    return False


def cell_text(value: Any) -> str:
    """A cell as the text a clerk typed: 1.0 -> "1", None -> ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is written as plain text (formula injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="F0F2F5")
TITLE_FONT = Font(bold=True, size=14)
MONEY_FORMAT = "#,##0.00"
WAN_FORMAT = "#,##0.00000"
PERCENT_FORMAT = "0.0%"


def write_sheet(
    ws,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    widths: Sequence[int] | None = None,
    formats: dict[int, str] | None = None,
) -> int:
    """Write a titled table with a frozen, bold header; returns the number of data rows written.

    `formats` maps a 0-based column index to a number format (money, percentages).
    """
    offset = 0
    if title:
        ws.append([title])
        ws.cell(row=1, column=1).font = TITLE_FONT
        offset = 1
    ws.append(list(headers))
    for col, _header in enumerate(headers, start=1):
        cell = ws.cell(row=offset + 1, column=col)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    count = 0
    for row in rows:
        ws.append([safe_cell(v) for v in row])
        count += 1
        if formats:
            r = ws.max_row
            for index, fmt in formats.items():
                ws.cell(row=r, column=index + 1).number_format = fmt
    ws.freeze_panes = ws.cell(row=offset + 2, column=1)
    for col, header in enumerate(headers, start=1):
        width = (
            widths[col - 1]
            if widths and col - 1 < len(widths)
            else max(10, min(40, len(str(header)) * 2 + 4))
        )
        ws.column_dimensions[get_column_letter(col)].width = width
    return count


def workbook_response(workbook: Workbook, filename: str) -> HttpResponse:
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(filename)}"
    return response


def _quote(filename: str) -> str:
    from urllib.parse import quote

    return quote(filename)
