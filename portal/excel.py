"""Excel in and out, safely: every upload and export of the portal goes through here.

Uploads: only a real .xlsx (a zip holding xl/workbook.xml, whatever the file is called), bounded in bytes,
in unpacked size (zip bombs), in rows, and free of formulas; read with python-calamine, the fastest reader
we have. Exports: openpyxl, with text cells that a spreadsheet would run as a formula escaped.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import IO, Any
from xml.parsers import expat

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
# The widest list we import has a few dozen columns; 200 leaves room for other offices' lists.
MAX_COLUMNS = 200
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# An XML element name's optional prefix ("x:"), as a byte pattern.
_PREFIX = rb"(?:[^\s/>:<!?=\"']+:)?"
# Any formula element: <f>, <f t="shared" ...>, <f/>, <f\n>, <x:f ...>; not <fill>, <font>, <family>.
_FORMULA_TAG = re.compile(rb"<" + _PREFIX + rb"f[\s/>]")
_CELL_TAG = re.compile(rb"<" + _PREFIX + rb"c[\s/>]")
# The form every spreadsheet program writes: the coordinate first, in double quotes.
_CELL_WITH_REF = re.compile(rb'<c r="([A-Za-z]{1,3})([0-9]{1,7})"')
# A cell written <c r="..." whose coordinate is not plain letters and digits (the XML pass reads those).
_ODD_CELL_REF = re.compile(rb'<c r="(?![A-Za-z]{1,3}[0-9]{1,7}")')
_PREFIXED_CELL_TAG = re.compile(rb"<[^\s/>:<!?=\"']+:c[\s/>]")
_DIMENSION_REF = re.compile(rb"""<""" + _PREFIX + rb"""dimension\s(?:[^>]*?\s)?ref\s*=\s*["']([^"']*)["']""")
_COORDINATE = re.compile(r"([A-Za-z]*)([0-9]+)")
# How python-calamine finds the first sheet (raw attribute bytes, as it reads them).
_SHEET_TAG = re.compile(rb"<" + _PREFIX + rb"sheet\s[^>]*>")
_SHEET_RID = re.compile(rb"""\s(?:r|relationships):id\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_RELATIONSHIP_TAG = re.compile(rb"<" + _PREFIX + rb"Relationship\s[^>]*>")
_REL_ID = re.compile(rb"""\sId\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REL_TARGET = re.compile(rb"""\sTarget\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CHUNK = 1 << 20
_SMALL_PART = 10 * 1024 * 1024
# Parts that make python-calamine read the file as another format than .xlsx (xlsb, ods).
_OTHER_FORMAT_PARTS = {"xl/workbook.bin", "content.xml"}


class ExcelError(ValueError):
    """A file the portal refuses, with a message a clerk understands."""


def _max_unpacked() -> int:
    return getattr(settings, "IMPORT_MAX_UNPACKED_BYTES", 400 * 1024 * 1024)


def _not_xlsx() -> ExcelError:
    return ExcelError(
        _("This is not an Excel .xlsx file. Save it as .xlsx (Excel workbook) and upload again.")
    )


def _damaged() -> ExcelError:
    return ExcelError(_("The file is damaged and cannot be opened as an Excel workbook."))


def _too_many_rows(rows: int, max_rows: int) -> ExcelError:
    return ExcelError(
        _("The file has %(rows)s rows; at most %(max)s can be imported at once. Split it into smaller files.")
        % {"rows": rows, "max": max_rows}
    )


def read_capped(upload: IO[bytes], *, max_bytes: int | None = None) -> bytes:
    """The upload's bytes, or ExcelError when it is empty or larger than the import limit
    (`IMPORT_MAX_BYTES`): at most one byte past the limit is read, whatever the file's size."""
    max_bytes = max_bytes or settings.IMPORT_MAX_BYTES
    data = upload.read(max_bytes + 1)
    if not data:
        raise ExcelError(_("The file is empty."))
    if len(data) > max_bytes:
        raise ExcelError(_("The file is larger than %(mb)s MB.") % {"mb": max_bytes // (1024 * 1024)})
    return data


def read_rows(
    upload: IO[bytes], *, max_rows: int | None = None, max_bytes: int | None = None
) -> list[list[Any]]:
    """All rows of the first sheet as Python values (header included, blank rows skipped), or ExcelError."""
    return [row for _number, row in read_numbered_rows(upload, max_rows=max_rows, max_bytes=max_bytes)]


def read_numbered_rows(
    upload: IO[bytes], *, max_rows: int | None = None, max_bytes: int | None = None
) -> list[tuple[int, list[Any]]]:
    """The filled rows of the first sheet, each with its Excel row number (blank rows skipped but counted,
    so that a refusal names the row the clerk sees in the spreadsheet), or ExcelError.

    Everything that could make the reader allocate without bound is checked on the raw XML first, in a
    streaming pass: python-calamine builds the sheet as one rectangle from A1 to the farthest cell, so a
    1.5 KB file with one cell at XFD150000 would ask for 79 GB and abort the process.
    """
    max_rows = max_rows or settings.IMPORT_MAX_ROWS
    data = read_capped(upload, max_bytes=max_bytes)
    if not data.startswith(b"PK\x03\x04"):
        raise _not_xlsx()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        _check_archive(archive)
        sheet = _first_sheet_part(archive)
        limits = _Extent(max_row=max_rows + 1, max_cells=_max_cells())
        _check_shared_strings(archive, limits)
        for info in archive.infolist():
            if (
                _is_sheet_part(info.filename)
                and info.filename != sheet
                and _has_formula(archive, info.filename)
            ):
                raise _formulas()
        _check_sheet(archive, sheet, limits)
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as exc:
        raise _damaged() from exc
    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises several error types for broken workbooks
        raise _damaged() from exc
    # skip_empty_area=False: the rectangle starts at A1, so the n-th row is Excel row n.
    rows = [
        (number, row)
        for number, row in enumerate(rows, start=1)
        if any(cell not in ("", None) for cell in row)
    ]
    if len(rows) > max_rows + 1:
        raise _too_many_rows(len(rows) - 1, max_rows)
    return rows


def read_numbered_sheets(
    upload: IO[bytes], sheets: Sequence[str], *, max_rows: int | None = None, max_bytes: int | None = None
) -> dict[str, list[tuple[int, list[Any]]]]:
    """`read_numbered_rows` for a workbook of several named sheets (a national system's export): the filled
    rows of each sheet named in `sheets` that the workbook has, by its name, each row with its Excel row
    number; a sheet the workbook lacks is left out (the caller says whether it was needed). The same checks,
    on the raw XML first, before a cell is read: the size limit, zip bombs, formulas in any sheet, and each
    sheet read bounded in rows, columns and cells (the refusal names the sheet and the cell)."""
    max_rows = max_rows or settings.IMPORT_MAX_ROWS
    data = read_capped(upload, max_bytes=max_bytes)
    if not data.startswith(b"PK\x03\x04"):
        raise _not_xlsx()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        _check_archive(archive)
        _check_shared_strings(archive, _Extent(max_row=max_rows + 1, max_cells=_max_cells()))
        for info in archive.infolist():
            if _is_sheet_part(info.filename) and _has_formula(archive, info.filename):
                raise _formulas()
        parts = _sheet_parts(archive)
        wanted = [(index, name) for index, (name, _part_name) in enumerate(parts) if name in sheets]
        for _index, name in wanted:
            limits = _Extent(max_row=max_rows + 1, max_cells=_max_cells(), sheet=name)
            _check_sheet(archive, dict(parts)[name], limits)
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as exc:
        raise _damaged() from exc
    found = {}
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if list(book.sheet_names) != [name for name, _part_name in parts]:
            raise _damaged()  # calamine would read other sheets than the ones checked
        for index, name in wanted:
            found[name] = book.get_sheet_by_index(index).to_python(skip_empty_area=False)
    except ExcelError:
        raise
    except Exception as exc:  # calamine raises several error types for broken workbooks
        raise _damaged() from exc
    for name, rows in found.items():
        # skip_empty_area=False: the rectangle starts at A1, so the n-th row is Excel row n.
        found[name] = [
            (number, row)
            for number, row in enumerate(rows, start=1)
            if any(cell not in ("", None) for cell in row)
        ]
        if len(found[name]) > max_rows + 1:
            raise _too_many_rows(len(found[name]) - 1, max_rows)
    return found


_SHEET_NAME = re.compile(rb"""\sname\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _sheet_parts(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """Every sheet of the workbook in its order, (name, part), as `_first_sheet_part` resolves the first."""
    workbook, targets = _workbook_sheets(archive)
    parts = []
    for sheet in _SHEET_TAG.finditer(workbook):
        rid, name = _attribute(_SHEET_RID, sheet.group(0)), _attribute(_SHEET_NAME, sheet.group(0))
        if rid is None or name is None:
            raise _damaged()
        parts.append(
            (html.unescape(name.decode("utf-8", "replace")), _sheet_part_of(archive, targets.get(rid)))
        )
    return parts


def _max_cells() -> int:
    return settings.IMPORT_MAX_CELLS


def _ascii_lower(name: str) -> bytes:
    # python-calamine finds a part by a name equal but for ASCII case; so do we.
    return name.encode("utf-8", "surrogateescape").lower()


def _check_archive(archive: zipfile.ZipFile) -> None:
    names = [_ascii_lower(info.filename) for info in archive.infolist()]
    if b"xl/workbook.xml" not in names:
        raise _not_xlsx()
    if len(set(names)) != len(names) or any(
        n.decode("utf-8", "replace") in _OTHER_FORMAT_PARTS for n in names
    ):
        # Two parts of one name (calamine and we could read different ones), or the parts of an .xlsb
        # or .ods that calamine would read instead of the .xlsx we checked.
        raise _damaged()
    unpacked = 0
    for info in archive.infolist():
        unpacked += info.file_size
        if info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO:
            raise _bomb()
    if unpacked > _max_unpacked():
        raise _bomb()


def _bomb() -> ExcelError:
    return ExcelError(_("The file is damaged or crafted to overload the server (it unpacks far too much)."))


def _formulas() -> ExcelError:
    return ExcelError(
        _("The file contains formulas. Copy the cells and paste them as values only, then upload again.")
    )


def _part(archive: zipfile.ZipFile, name: str) -> str | None:
    wanted = _ascii_lower(name)
    for info in archive.infolist():
        if _ascii_lower(info.filename) == wanted:
            return info.filename
    return None


def _is_sheet_part(name: str) -> bool:
    return _ascii_lower(name).startswith((b"xl/worksheets/", b"xl/chartsheets/", b"xl/dialogsheets/"))


def _small_part(archive: zipfile.ZipFile, name: str) -> bytes:
    # The workbook and its relationships are a few KB; a huge one is not a workbook we read.
    with archive.open(name) as stream:
        data = stream.read(_SMALL_PART + 1)
    if len(data) > _SMALL_PART:
        raise _damaged()
    return data


def _attribute(pattern: re.Pattern, tag: bytes) -> bytes | None:
    matches = list(pattern.finditer(tag))
    if not matches:
        return None
    last = matches[-1]  # calamine keeps the last value it reads
    return last.group(1) if last.group(1) is not None else last.group(2)


def _first_sheet_part(archive: zipfile.ZipFile) -> str:
    """The part python-calamine reads as the first sheet: xl/workbook.xml's first <sheet>, through the
    workbook's relationships; resolved from the raw attribute bytes, as calamine does."""
    workbook, targets = _workbook_sheets(archive)
    first = _SHEET_TAG.search(workbook)
    rid = _attribute(_SHEET_RID, first.group(0)) if first else None
    if rid is None:
        raise _damaged()
    return _sheet_part_of(archive, targets.get(rid))


def _workbook_sheets(archive: zipfile.ZipFile) -> tuple[bytes, dict[bytes | None, bytes | None]]:
    """xl/workbook.xml (its <sheet> tags name the sheets in order) and its relationships, id -> target."""
    workbook = _small_part(archive, _part(archive, "xl/workbook.xml"))
    rels_name = _part(archive, "xl/_rels/workbook.xml.rels")
    if rels_name is None:
        raise _damaged()
    targets = {}
    for tag in _RELATIONSHIP_TAG.finditer(_small_part(archive, rels_name)):
        targets[_attribute(_REL_ID, tag.group(0))] = _attribute(_REL_TARGET, tag.group(0))
    return workbook, targets


def _sheet_part_of(archive: zipfile.ZipFile, target: bytes | None) -> str:
    """The worksheet part a relationship's target names (relative to xl/, or absolute), as calamine opens it."""
    if not target:
        raise _damaged()
    if target.startswith(b"/xl/"):
        path = target[1:]
    elif target.startswith(b"xl/"):
        path = target
    else:
        path = b"xl/" + target
    name = _part(archive, path.decode("utf-8", "surrogateescape"))
    if name is None or not _is_sheet_part(name):
        raise _damaged()
    return name


def _check_shared_strings(archive: zipfile.ZipFile, limits: _Extent) -> None:
    """calamine reserves room for the declared number of shared strings before reading one.

    The declaration is an attribute of the root element, wherever that starts: after a comment or
    processing instruction of any length, with attributes of any length before it. So the part is parsed
    (streamed, by expat) up to its root element's start, not searched in a first window of bytes.
    """
    name = _part(archive, "xl/sharedStrings.xml")
    if name is None:
        return
    declared = 0
    for key, value in _root_attributes(archive, name).items():
        if key.rpartition(":")[2] == "uniqueCount":
            text = value.strip()
            if not text.isascii() or not text.isdigit():
                raise _damaged()
            declared = max(declared, int(text))
    if declared > limits.max_cells:
        raise limits.too_many_cells(declared)


class _RootFound(Exception):
    pass


def _root_attributes(archive: zipfile.ZipFile, name: str) -> dict[str, str]:
    """The attributes of a part's root element, read without reading the rest of the part.

    A document type declaration (entities: "billion laughs") is refused; so is a part whose root does not
    start within its first megabyte, which no spreadsheet program writes.
    """
    found: dict[str, str] = {}

    def start(tag, attributes):
        found.update(attributes)
        raise _RootFound

    def doctype(*args):
        raise _damaged()

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    read = 0
    with archive.open(name) as stream:
        try:
            while read <= _ROOT_WITHIN:
                chunk = stream.read(64 * 1024)
                read += len(chunk)
                parser.Parse(chunk, not chunk)
                if not chunk:
                    break
        except _RootFound:
            return found
        except expat.ExpatError as exc:
            raise _damaged() from exc
    raise _damaged()


_ROOT_WITHIN = 1024 * 1024


class _Extent:
    """How far a sheet reaches, checked against the limits as it is read."""

    def __init__(self, *, max_row: int, max_cells: int, sheet: str | None = None) -> None:
        self.max_row, self.max_cells = max_row, max_cells
        self.sheet = sheet  # its name, when a sheet other than the first is read
        self.rows = self.columns = self.cells = 0

    def reach(self, row: int, column: int, *, cells: int = 0) -> None:
        """Row and column are 1-based; `cells` counts cell elements seen."""
        self.cells += cells
        if column > MAX_COLUMNS or row > self.max_row:
            if column <= MAX_COLUMNS:
                raise _too_many_rows(row - 1, self.max_row - 1)
            if self.sheet:
                raise ExcelError(
                    _(
                        "Sheet %(sheet)s reaches cell %(cell)s; at most %(columns)s columns and %(rows)s rows "
                        "can be imported. Delete the rows and columns beyond your list (or copy the list into a "
                        "new workbook) and upload again."
                    )
                    % {
                        "sheet": self.sheet,
                        "cell": _cell_name(row, column),
                        "columns": MAX_COLUMNS,
                        "rows": self.max_row,
                    }
                )
            raise ExcelError(
                _(
                    "The first sheet reaches cell %(cell)s; at most %(columns)s columns and %(rows)s rows can be "
                    "imported. Delete the rows and columns beyond your list (or copy the list into a new "
                    "workbook) and upload again."
                )
                % {"cell": _cell_name(row, column), "columns": MAX_COLUMNS, "rows": self.max_row}
            )
        self.rows, self.columns = max(self.rows, row), max(self.columns, column)
        if self.rows * self.columns > self.max_cells:
            raise self.too_many_cells(self.rows * self.columns)
        if self.cells > self.max_cells:
            raise self.too_many_cells(self.cells)

    def too_many_cells(self, cells: int) -> ExcelError:
        if self.sheet:
            return ExcelError(
                _(
                    "Sheet %(sheet)s spans %(cells)s cells; at most %(max)s can be imported at once. Delete "
                    "empty rows and columns beyond your list, or split it into smaller files."
                )
                % {"sheet": self.sheet, "cells": cells, "max": self.max_cells}
            )
        return ExcelError(
            _(
                "The first sheet spans %(cells)s cells; at most %(max)s can be imported at once. Delete empty "
                "rows and columns beyond your list, or split it into smaller files."
            )
            % {"cells": cells, "max": self.max_cells}
        )


def _cell_name(row: int, column: int) -> str:
    letters = ""
    while column > 0 and len(letters) < 8:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}" if column == 0 else f"{letters}…{row}"


def _coordinate(text: bytes) -> tuple[int, int]:
    """(row, column), 1-based; column 0 when the text has none. Refuses what calamine could not read."""
    match = _COORDINATE.fullmatch(text.decode("ascii", "replace"))
    if match is None or int(match.group(2)) == 0:
        raise _damaged()
    column = 0
    for letter in match.group(1).upper():
        column = column * 26 + ord(letter) - 64
    return int(match.group(2)), column


def _tag_chunks(stream: IO[bytes]) -> Iterable[bytes]:
    """The part in pieces of about a MB, each ending before a tag, so that no tag is cut in two."""
    tail = b""
    while chunk := stream.read(_CHUNK):
        buffer = tail + chunk
        cut = buffer.rfind(b"<")
        if cut <= 0:
            tail = buffer
            continue
        yield buffer[:cut]
        tail = buffer[cut:]
    if tail:
        yield tail


def _has_formula(archive: zipfile.ZipFile, name: str) -> bool:
    with archive.open(name) as stream:
        return any(_formula_in(part) for part in _tag_chunks(stream))


def _formula_in(part: bytes) -> bool:
    # The substring tests are a fast filter: the pattern itself tries every "<" of the part.
    return (b"<f" in part or b":f" in part) and _FORMULA_TAG.search(part) is not None


def _check_sheet(archive: zipfile.ZipFile, name: str, limits: _Extent) -> None:
    """Refuse formulas and any cell, row or declared dimension beyond the limits, before calamine reads."""
    if not _check_sheet_plain(archive, name, limits):
        _check_sheet_xml(
            archive, name, _Extent(max_row=limits.max_row, max_cells=limits.max_cells, sheet=limits.sheet)
        )


def _check_sheet_plain(archive: zipfile.ZipFile, name: str, extent: _Extent) -> bool:
    """The fast pass, for sheets whose every cell starts <c r="B7": their coordinates are the cells' places.

    It looks for what would be new rather than reading every coordinate (1.9 million in a full student
    file): one search per piece for a cell beyond the widest column seen so far (Z at first) or below
    the last row that column count allows. Only a piece that has one is read cell by cell. False when a
    cell is written otherwise (no coordinate, a prefix, ...): the XML pass decides then.
    """
    row_above = re.compile(rb'<row r="0*(' + _greater_than(extent.max_row) + rb')"')
    columns = 26
    beyond = _beyond(extent, columns)
    with archive.open(name) as stream:
        for part in _tag_chunks(stream):
            if _formula_in(part):
                raise _formulas()
            for ref in _DIMENSION_REF.findall(part) if b"dimension" in part else ():
                for corner in ref.split(b":"):
                    extent.reach(*_coordinate(corner))
            if row := row_above.search(part):
                extent.reach(int(row.group(1)), 1)
            cells = part.count(b'<c r="')
            if part.count(b"<c") != cells and len(_CELL_TAG.findall(part)) != cells:
                return False
            if b":c" in part and _PREFIXED_CELL_TAG.search(part):
                return False
            if not beyond.search(part):
                # Every cell of the piece lies within the columns seen and the rows they allow.
                extent.reach(1, 1, cells=cells)
                continue
            if _ODD_CELL_REF.search(part):
                return False
            letters, digits = zip(*_CELL_WITH_REF.findall(part), strict=True)
            column = max(_coordinate(letter + b"1")[1] for letter in set(letters))
            extent.reach(max(map(int, digits)), column, cells=cells)
            if extent.columns > columns:
                columns = extent.columns
                beyond = _beyond(extent, columns)
    return True


def _beyond(extent: _Extent, columns: int) -> re.Pattern:
    """A cell right of column `columns`, or below the rows the limits allow with that many columns.

    calamine reads a coordinate only as letters then digits (anything else is an error, not a place),
    so a cell this does not match lies within the rectangle the limits allow.
    """
    rows = min(extent.max_row, extent.max_cells // columns)
    letters = _cell_name(1, columns)[:-1]
    wider = [rb"[A-Z]{%d,}" % (len(letters) + 1)]
    for index, letter in enumerate(letters):
        if letter != "Z":
            rest = len(letters) - index - 1
            wider.append(
                b"%s[%s-Z][A-Z]{%d}" % (letters[:index].encode(), chr(ord(letter) + 1).encode(), rest)
            )
    return re.compile(
        rb'<c r="(?:(?:' + b"|".join(wider) + rb")[0-9]|[A-Z]{1,3}0*" + _greater_than(rows) + rb'")',
        re.IGNORECASE,
    )


def _greater_than(limit: int) -> bytes:
    """A pattern for the decimal numbers (without leading zeros) above `limit`."""
    digits = str(limit)
    options = [rb"[1-9][0-9]{%d,}" % len(digits)]
    for index, digit in enumerate(digits):
        if digit != "9":
            rest = len(digits) - index - 1
            options.append(b"%s[%d-9][0-9]{%d}" % (digits[:index].encode(), int(digit) + 1, rest))
    return b"(?:" + b"|".join(options) + b")"


def _check_sheet_xml(archive: zipfile.ZipFile, name: str, extent: _Extent) -> None:
    """The exact pass: follow rows and cells as calamine does, including cells without a coordinate
    (placed after the previous one) and rows without a number (after the previous row)."""
    parser = expat.ParserCreate()
    parser.ordered_attributes = True
    place = {"row": 0, "column": 0}  # 0-based, as calamine keeps them

    def doctype(*_args) -> None:
        raise _damaged()  # no workbook declares entities; refusing them rules out entity expansion

    def start(tag: str, attributes: list[str]) -> None:
        local = tag.rpartition(":")[2]
        values = dict(zip(attributes[::2], attributes[1::2], strict=True))
        if local == "f":
            raise _formulas()
        if local == "dimension" and "ref" in values:
            for corner in values["ref"].encode().split(b":"):
                extent.reach(*_coordinate(corner))
        elif local == "row":
            if "r" in values:
                place["row"] = _coordinate(values["r"].encode())[0] - 1
            extent.reach(place["row"] + 1, 1)
        elif local == "c":
            row = place["row"] + 1
            if "r" in values:
                row, column = _coordinate(values["r"].encode())
                if column == 0:
                    raise _damaged()
                place["column"] = column - 1
            extent.reach(row, place["column"] + 1, cells=1)
            place["column"] += 1

    def end(tag: str) -> None:
        if tag.rpartition(":")[2] == "row":
            place["row"] += 1
            place["column"] = 0

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        with archive.open(name) as stream:
            while chunk := stream.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise _damaged() from exc


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
    # The header's row, read once: `ws.max_row` scans every cell, so reading it per row made a large export
    # quadratic (110,000 children: an hour).
    header_row = ws.max_row
    for row in rows:
        ws.append([safe_cell(v) for v in row])
        count += 1
        if formats:
            for index, fmt in formats.items():
                ws.cell(row=header_row + count, column=index + 1).number_format = fmt
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
