"""The year-end workbook: a sheet per section, a sheet by township and one by school.

Written once per snapshot, publication state and language in openpyxl's write-only mode straight to a file
under MEDIA_ROOT, then streamed from that file: a snapshot's figures never change once ready, so a second
download reuses the file instead of building the workbook again. Every sheet says whether the version is
the year's published one (定稿, with its date) or a draft (草稿): publishing or replacing it names a new file. The file is written under a temporary name and renamed into place,
so two first downloads at once each see a whole file.
"""

from __future__ import annotations

import os
import tempfile
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.http import FileResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font

from portal.excel import (
    HEADER_FILL,
    HEADER_FONT,
    MONEY_FORMAT,
    PERCENT_FORMAT,
    TITLE_FONT,
    WAN_FORMAT,
    XLSX_CONTENT_TYPE,
    safe_cell,
)
from reports import yearend
from reports.models import PUBLISHED, SUPERSEDED, SnapshotPublication, YearEndSnapshot
from students.models import County

TEN_THOUSAND = Decimal(10000)
TOTAL_FONT = Font(bold=True)
NOTE_FONT = Font(italic=True, color="666666")


def workbook_path(snapshot: YearEndSnapshot) -> Path:
    """The snapshot's workbook in its present publication state, built on first download."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    directory = Path(settings.MEDIA_ROOT) / "reports"
    directory.mkdir(parents=True, exist_ok=True)
    # The finish time is part of the name: a snapshot id reused after a database restore never serves an
    # older workbook.
    stamp = snapshot.finished_at.strftime("%Y%m%d%H%M%S%f")
    state, publication = snapshot.publication_state()
    version = f"{state}{publication.pk}" if publication is not None else state
    path = directory / f"yearend-{snapshot.pk}-{stamp}-{version}-{language}.xlsx"
    if not path.exists():
        handle, temporary = tempfile.mkstemp(dir=directory, suffix=".xlsx.part")
        os.close(handle)
        try:
            write_workbook(snapshot, temporary, state=(state, publication))
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    return path


def download_name(snapshot: YearEndSnapshot) -> str:
    name = _("%(county)s year-end summary %(period)s") % {
        "county": county_name(snapshot.figures),
        "period": snapshot.period_label,
    }
    if snapshot.publication == PUBLISHED:
        return f"{name}.xlsx"
    return _("%(name)s (draft).xlsx") % {"name": name}


def version_line(state: str, publication: SnapshotPublication | None) -> str:
    """Which version a workbook is: the year's published one (定稿) with its date, one replaced since, or a
    draft whose figures may change."""
    if state == PUBLISHED:
        return _("Published version (final), published %(date)s") % {
            "date": timezone.localtime(publication.published_at).strftime("%Y-%m-%d")
        }
    if state == SUPERSEDED:
        return _("Superseded: published %(date)s, since replaced by another version") % {
            "date": timezone.localtime(publication.published_at).strftime("%Y-%m-%d")
        }
    return _("Draft: not published, its figures may change when the report is rebuilt")


def county_name(figures: dict) -> str:
    """The county's name as it was at build time (snapshots built before it was stored: as it is now)."""
    if figures.get("county_name"):
        return figures["county_name"]
    county = County.objects.filter(code=figures.get("county_code")).first()
    return county.name if county is not None else figures.get("county_code", "")


def _print_layout(ws, title_rows: str) -> None:
    """As a bureau files it: A4 landscape, fitted to the page width, the title and header rows repeated on
    every page, page numbers in the footer."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as it takes
    ws.print_title_rows = title_rows
    ws.oddFooter.center.text = _("Page &P of &N")
    ws.oddFooter.left.text = "&A"


def _title(figures: dict, title) -> str:
    return f"{county_name(figures)} {title}"


def xlsx_response(snapshot: YearEndSnapshot) -> FileResponse:
    """The snapshot's workbook as a download (the page and the API both serve it)."""
    return FileResponse(
        open(workbook_path(snapshot), "rb"),  # noqa: SIM115 - FileResponse streams and closes it
        as_attachment=True,
        filename=download_name(snapshot),
        content_type=XLSX_CONTENT_TYPE,
    )


def write_workbook(snapshot: YearEndSnapshot, path: str, *, state=None) -> None:
    figures = snapshot.figures
    workbook = Workbook(write_only=True)
    version = version_line(*(state or snapshot.publication_state()))
    stamp = f"{version} · {_stamp(snapshot)}"
    _cover(workbook, snapshot, stamp, version)
    for section in yearend.sections():
        data = figures["sections"].get(section.key)
        if data is not None:
            _section_sheet(workbook, section, data, stamp, figures)
    _by_township(workbook, figures, stamp)
    _by_school(workbook, figures, stamp)
    workbook.save(path)


def _stamp(snapshot: YearEndSnapshot) -> str:
    return _("Built %(built)s · data as of %(cutoff)s · reference date %(reference)s") % {
        "built": timezone.localtime(snapshot.finished_at).strftime("%Y-%m-%d %H:%M"),
        "cutoff": timezone.localtime(snapshot.data_cutoff).strftime("%Y-%m-%d %H:%M"),
        "reference": snapshot.figures["period"]["reference"],
    }


def _cell(ws, value, *, font=None, number_format=None, fill=None, wrap=False):
    cell = WriteOnlyCell(ws, value=safe_cell(value))
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if number_format is not None:
        cell.number_format = number_format
    if wrap:
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    return cell


def _header(ws, labels: list[str]):
    return [_cell(ws, label, font=HEADER_FONT, fill=HEADER_FILL, wrap=True) for label in labels]


def _widths(ws, widths: list[int]) -> None:
    from openpyxl.utils import get_column_letter

    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width


def _measure_headers(measures) -> list[str]:
    labels = []
    for m in measures:
        if m.kind == yearend.MONEY:
            labels += [
                _("%(label)s (yuan)") % {"label": m.label},
                _("%(label)s (10,000 yuan)") % {"label": m.label},
            ]
        elif m.kind == yearend.RATE:
            labels.append(str(m.label))
        else:
            labels.append(str(m.label))
    return labels


def _measure_cells(ws, measures, values: dict | None, *, font=None) -> list:
    values = values or {}
    cells = []
    for m in measures:
        if m.key not in values:
            # A figure the snapshot was built without (an older build, before the figure existed): blank,
            # never a 0 it did not count.
            cells += [_cell(ws, None, font=font)] * (2 if m.kind == yearend.MONEY else 1)
            continue
        value = values.get(m.key)
        words = yearend.cell_text(m, values)
        if words is not None:
            # A text measure, or a figure that could not be computed: the words, never a 0 or a 100%.
            cells.append(_cell(ws, words, font=font))
        elif m.kind == yearend.MONEY:
            amount = Decimal(value or 0)
            cells.append(_cell(ws, amount, font=font, number_format=MONEY_FORMAT))
            cells.append(_cell(ws, amount / TEN_THOUSAND, font=font, number_format=WAN_FORMAT))
        elif m.kind == yearend.RATE:
            cells.append(
                _cell(
                    ws, Decimal(value) if value is not None else None, font=font, number_format=PERCENT_FORMAT
                )
            )
        else:
            cells.append(_cell(ws, int(value or 0), font=font, number_format="#,##0"))
    return cells


def _measure_width(measures) -> list[int]:
    widths = []
    for m in measures:
        widths += [18, 18] if m.kind == yearend.MONEY else [30] if m.kind == yearend.TEXT else [14]
    return widths


def _cover(workbook, snapshot: YearEndSnapshot, stamp: str, version: str) -> None:
    ws = workbook.create_sheet(_("Basic figures"))
    # In write-only mode the sheet view is written with the first row: freeze panes before any append.
    ws.freeze_panes = "A4"
    _print_layout(ws, "1:2")
    _widths(ws, [28, 60])
    figures = snapshot.figures
    ws.append([_cell(ws, _title(figures, _("Year-end summary: basic figures")), font=TITLE_FONT)])
    ws.append([_cell(ws, stamp, font=NOTE_FONT)])
    ws.append([])
    rows = [
        (_("Version"), version),
        (_("Period"), snapshot.period_label),
        (_("Period starts"), figures["period"]["start"]),
        (_("Period ends"), figures["period"]["end"]),
        (_("Reference date of the register"), figures["period"]["reference"]),
        (_("Built at"), timezone.localtime(snapshot.finished_at).strftime("%Y-%m-%d %H:%M:%S")),
        (_("Data cut-off"), timezone.localtime(snapshot.data_cutoff).strftime("%Y-%m-%d %H:%M:%S")),
        (_("Build time (seconds)"), snapshot.seconds),
    ]
    for label, value in rows:
        ws.append([_cell(ws, label, font=HEADER_FONT), _cell(ws, value)])
    ws.append([])
    if not figures.get("has_data"):
        ws.append(
            [
                _cell(
                    ws,
                    _("There are no records for this period: every figure below is zero."),
                    font=TOTAL_FONT,
                )
            ]
        )
    for line in yearend.summary_lines(figures):
        ws.append([_cell(ws, line)])
    ws.append([])
    ws.append([_cell(ws, _("Computed from"), font=TOTAL_FONT)])
    labels = yearend.source_labels()
    for key, count in figures.get("sources", {}).items():
        ws.append([_cell(ws, str(labels.get(key, key))), _cell(ws, count, number_format="#,##0")])


def _section_sheet(workbook, section: yearend.Section, data: dict, stamp: str, figures: dict) -> None:
    ws = workbook.create_sheet(str(section.title)[:31])
    widest = max(len(_measure_width(t.measures)) for t in section.tables)
    _widths(ws, [36, *([18] * widest)])
    # Title, stamp, the first table's title and header stay in view while scrolling.
    ws.freeze_panes = "B5"
    _print_layout(ws, "1:2")
    ws.append([_cell(ws, _title(figures, section.title), font=TITLE_FONT)])
    ws.append([_cell(ws, stamp, font=NOTE_FONT)])
    for table in section.tables:
        stored = data["tables"].get(table.name)
        if stored is None:
            continue
        ws.append([_cell(ws, str(table.title), font=TOTAL_FONT)])
        ws.append(_header(ws, [str(table.dimension), *_measure_headers(table.measures)]))
        labels = table.labels()
        for row in stored["rows"]:
            ws.append(
                [_cell(ws, str(labels.get(row["key"], row["key"]))), *_measure_cells(ws, table.measures, row)]
            )
        if stored.get("total") is not None:
            ws.append(
                [
                    _cell(ws, _("Total"), font=TOTAL_FONT),
                    *_measure_cells(ws, table.measures, stored["total"], font=TOTAL_FONT),
                ]
            )
        ws.append([])
    if section.note:
        ws.append([_cell(ws, str(section.note), font=NOTE_FONT)])


def _headline_columns() -> list[tuple[yearend.Section, yearend.Measure]]:
    return [(section, measure) for section in yearend.sections() for measure in section.headline]


def _headline_values(figures: dict, level: str, key: str) -> list[tuple[yearend.Measure, object]]:
    out = []
    for section, measure in _headline_columns():
        data = figures["sections"].get(section.key, {})
        out.append((measure, data.get(level, {}).get(key, {}).get(measure.key)))
    return out


def _headline_header(columns) -> list[str]:
    labels = []
    for _section, measure in columns:
        labels += _measure_headers([measure])
    return labels


def _headline_total(figures: dict, columns) -> dict:
    return {
        (section.key, measure.key): figures["sections"].get(section.key, {}).get("total", {}).get(measure.key)
        for section, measure in columns
    }


def _headline_cells(ws, pairs, *, font=None) -> list:
    cells = []
    for measure, value in pairs:
        cells += _measure_cells(ws, [measure], {measure.key: value}, font=font)
    return cells


def _by_township(workbook, figures: dict, stamp: str) -> None:
    ws = workbook.create_sheet(_("By township"))
    ws.freeze_panes = "C4"
    _print_layout(ws, "1:3")
    columns = _headline_columns()
    _widths(ws, [14, 20, *[w for _s, m in columns for w in _measure_width([m])]])
    ws.append([_cell(ws, _title(figures, _("Figures by township")), font=TITLE_FONT)])
    ws.append([_cell(ws, stamp, font=NOTE_FONT)])
    ws.append(_header(ws, [_("Township code"), _("Township"), *_headline_header(columns)]))
    for township in figures["townships"]:
        pairs = _headline_values(figures, "by_township", str(township["id"]))
        ws.append([_cell(ws, township["code"]), _cell(ws, township["name"]), *_headline_cells(ws, pairs)])
    pairs = _headline_values(figures, "by_township", yearend.UNASSIGNED)
    if any(v not in (None, 0, "0.00") for _m, v in pairs):
        ws.append([_cell(ws, ""), _cell(ws, _("No township recorded")), *_headline_cells(ws, pairs)])
    totals = _headline_total(figures, columns)
    pairs = [(m, totals[(s.key, m.key)]) for s, m in columns]
    ws.append(
        [_cell(ws, _("Total"), font=TOTAL_FONT), _cell(ws, ""), *_headline_cells(ws, pairs, font=TOTAL_FONT)]
    )


def _by_school(workbook, figures: dict, stamp: str) -> None:
    ws = workbook.create_sheet(_("By school"))
    ws.freeze_panes = "C4"
    _print_layout(ws, "1:3")
    columns = _headline_columns()
    _widths(ws, [14, 30, 14, 16, *[w for _s, m in columns for w in _measure_width([m])]])
    ws.append([_cell(ws, _title(figures, _("Figures by school")), font=TITLE_FONT)])
    ws.append([_cell(ws, stamp, font=NOTE_FONT)])
    ws.append(
        _header(
            ws, [_("School code"), _("School"), _("Township"), _("School type"), *_headline_header(columns)]
        )
    )
    townships = {t["id"]: t["name"] for t in figures["townships"]}
    types = yearend.school_types()
    for school in figures["schools"]:
        pairs = _headline_values(figures, "by_school", str(school["id"]))
        if not school["active"] and not any(v not in (None, 0, "0.00") for _m, v in pairs):
            continue
        ws.append(
            [
                _cell(ws, school["code"]),
                _cell(
                    ws,
                    _("%(name)s (not on the year's school list)") % {"name": school["name"]}
                    if school.get("not_on_list")
                    else school["name"],
                ),
                _cell(ws, townships.get(school["township_id"], "")),
                _cell(ws, str(types.get(school["type"], school["type"]))),
                *_headline_cells(ws, pairs),
            ]
        )
    # Loans of university students and dropout cases without a responsible school are at no school: a
    # line of their own, so that the school lines and it add up to the total line.
    pairs = _headline_values(figures, "by_school", yearend.UNASSIGNED)
    if any(v not in (None, 0, "0.00") for _m, v in pairs):
        ws.append(
            [
                _cell(ws, ""),
                _cell(ws, _("Not at a school (university students, cases without a school)")),
                _cell(ws, ""),
                _cell(ws, ""),
                *_headline_cells(ws, pairs),
            ]
        )
    totals = _headline_total(figures, columns)
    pairs = [(m, totals[(s.key, m.key)]) for s, m in columns]
    ws.append(
        [
            _cell(ws, _("Total"), font=TOTAL_FONT),
            _cell(ws, ""),
            _cell(ws, ""),
            _cell(ws, ""),
            *_headline_cells(ws, pairs, font=TOTAL_FONT),
        ]
    )
