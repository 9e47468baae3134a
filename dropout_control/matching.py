"""四查三比对: the household register (户籍) compared with the student registry (学籍), attendance and the
脱贫户 children, producing the county's three ledgers: school-age children, suspected and confirmed dropouts.

A suspected dropout is a child on the list, of compulsory age on the list's date, who is not enrolled in any
school of the registry (or is enrolled but marked long absent), and has neither an open case nor a closed case
that placed the child. The whole file is checked first; one bad row refuses the upload and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import IO

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from dropout_control import rules
from dropout_control.models import (
    DropoutCase,
    HouseholdRegisterRow,
    HouseholdRegisterUpload,
    LongAbsence,
    SuspectedDropout,
)
from portal.access import can_reveal_personal, can_run_data_matching
from portal.excel import ExcelError, cell_text, read_rows, write_sheet
from portal.services import service
from students import id_numbers
from students.models import Student, StudentCategory, Township

# Accepted headers of each column, as public-security and township clerks write them.
COLUMNS = {
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "ID number"),
    "name": ("姓名", "Name"),
    "township": ("乡镇", "乡镇（街道）", "乡（镇）", "Township"),
    "village": ("村", "村（居）", "村（社区）", "村（居委会）", "Village"),
    "poverty": ("脱贫户", "是否脱贫户", "Poverty-alleviated household"),
}
REQUIRED = ("id_number", "name", "township")
YES = {"是", "1", "Y", "YES", "TRUE", "√"}
MAX_ERRORS_SHOWN = 20

Finding = HouseholdRegisterRow.Finding
SUSPECT_FINDINGS = (Finding.NOT_ENROLLED, Finding.LONG_ABSENCE)


@dataclass
class ParsedRow:
    line: int
    id_number: str
    name: str
    township: Township
    village: str
    birth_date: date
    poverty: bool


def _header_map(header: list) -> dict[str, int]:
    texts = [cell_text(h).replace(" ", "") for h in header]
    found = {}
    for key, names in COLUMNS.items():
        for index, text in enumerate(texts):
            if text in names:
                found[key] = index
                break
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in found]
    if missing:
        raise ValidationError(
            _("The first row must name the columns; missing: %(cols)s.") % {"cols": "、".join(missing)}
        )
    return found


def parse_rows(rows: list[list], *, as_of: date) -> list[ParsedRow]:
    if len(rows) < 2:
        raise ValidationError(_("The file has no children listed."))
    cols = _header_map(rows[0])
    townships = {}
    for t in Township.objects.all():
        townships[t.name] = t
        townships[t.code] = t
    errors: list[str] = []
    parsed: list[ParsedRow] = []
    seen: dict[str, int] = {}

    def cell(row, key):
        index = cols.get(key)
        return cell_text(row[index]) if index is not None and index < len(row) else ""

    for line, row in enumerate(rows[1:], start=2):
        try:
            number = id_numbers.parse(cell(row, "id_number"), today=as_of)
        except ValidationError as exc:
            errors.append(_("Row %(line)s: %(msg)s") % {"line": line, "msg": exc.messages[0]})
            continue
        name = cell(row, "name")
        township = townships.get(cell(row, "township"))
        if not name:
            errors.append(_("Row %(line)s: the name is empty.") % {"line": line})
        if township is None:
            errors.append(
                _("Row %(line)s: unknown township “%(name)s”.")
                % {"line": line, "name": cell(row, "township")}
            )
        if number.value in seen:
            errors.append(
                _("Row %(line)s: the same ID number as row %(other)s.")
                % {"line": line, "other": seen[number.value]}
            )
        seen.setdefault(number.value, line)
        if name and township is not None:
            parsed.append(
                ParsedRow(
                    line=line,
                    id_number=number.value,
                    name=name,
                    township=township,
                    village=cell(row, "village"),
                    birth_date=number.birth_date,
                    poverty=cell(row, "poverty").upper() in YES,
                )
            )
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        if len(errors) > MAX_ERRORS_SHOWN:
            shown.append(_("… and %(n)s more.") % {"n": len(errors) - MAX_ERRORS_SHOWN})
        raise ValidationError(shown)
    return parsed


# Matching the county's children against other departments' lists is the bureau's work.
matching_service = service(
    allowed=can_run_data_matching, refusal=gettext_lazy("Only bureau staff upload the household register.")
)


@matching_service
def household_register_upload(*, file: IO[bytes], file_name: str, as_of: date, by) -> HouseholdRegisterUpload:
    """Read, compare and store a household-register list; refuse the whole file on any bad row."""
    try:
        rows = read_rows(file)
    except ExcelError as exc:
        raise ValidationError(str(exc)) from exc
    return household_register_store(
        parsed=parse_rows(rows, as_of=as_of), file_name=file_name, as_of=as_of, by=by
    )


@matching_service
def household_register_store(
    *, parsed: list[ParsedRow], file_name: str, as_of: date, by
) -> HouseholdRegisterUpload:
    """Store checked rows with their findings and suspects, in one transaction."""
    upload = HouseholdRegisterUpload.objects.create(file_name=file_name[:200], as_of=as_of, uploaded_by=by)
    register_rows, suspects = compare(upload, parsed)
    upload.row_count = len(register_rows)
    upload.of_age_count = sum(1 for r in register_rows if r.finding != Finding.NOT_OF_AGE)
    upload.suspect_count = len(suspects)
    upload.save(update_fields=["row_count", "of_age_count", "suspect_count"])
    return upload


def compare(upload: HouseholdRegisterUpload, parsed: list[ParsedRow]):
    """Decide each child's finding with a fixed number of queries, and write rows and suspects in bulk."""
    as_of = upload.as_of
    numbers = [p.id_number for p in parsed]
    students = {s.id_number: s for s in Student.objects.filter(id_number__in=numbers)}
    absent = set(
        LongAbsence.objects.current()
        .filter(student__id_number__in=numbers)
        .values_list("student__id_number", flat=True)
    )
    open_cases = set(
        DropoutCase.objects.open().filter(id_number__in=numbers).values_list("id_number", flat=True)
    )
    placed = set(
        DropoutCase.objects.closed()
        .filter(id_number__in=numbers, outcome__in=DropoutCase.PLACED_OUTCOMES)
        .values_list("id_number", flat=True)
    )
    poor = set(
        StudentCategory.objects.filter(
            category=StudentCategory.Category.POVERTY_ALLEVIATED, student__id_number__in=numbers
        )
        .on(as_of)
        .values_list("student__id_number", flat=True)
    )
    register_rows = []
    for p in parsed:
        student = students.get(p.id_number)
        enrolled = student is not None and student.status == Student.Status.ENROLLED
        if not rules.is_compulsory_age(p.birth_date, as_of):
            finding = Finding.NOT_OF_AGE
        elif p.id_number in open_cases:
            finding = Finding.OPEN_CASE
        elif enrolled and p.id_number in absent:
            finding = Finding.LONG_ABSENCE
        elif enrolled:
            finding = Finding.ENROLLED
        elif p.id_number in placed:
            finding = Finding.PLACED
        else:
            finding = Finding.NOT_ENROLLED
        register_rows.append(
            HouseholdRegisterRow(
                upload=upload,
                id_number=p.id_number,
                name=p.name,
                township=p.township,
                village=p.village,
                birth_date=p.birth_date,
                is_poverty_family=p.poverty or p.id_number in poor,
                finding=finding,
                student=student,
            )
        )
    register_rows = HouseholdRegisterRow.objects.bulk_create(register_rows)
    suspects = SuspectedDropout.objects.bulk_create(
        SuspectedDropout(
            row=r,
            id_number=r.id_number,
            name=r.name,
            township=r.township,
            village=r.village,
            birth_date=r.birth_date,
            is_poverty_family=r.is_poverty_family,
            long_absent_student=r.student if r.finding == Finding.LONG_ABSENCE else None,
        )
        for r in register_rows
        if r.finding in SUSPECT_FINDINGS
    )
    return register_rows, suspects


def ledgers_workbook(*, upload: HouseholdRegisterUpload, user) -> Workbook:
    """The county's three ledgers: school-age children, suspected dropouts, confirmed dropouts (open cases).

    The birth date goes only to a user who may reveal the children's numbers; others get the birth year
    (a masked number and a birth date rebuild the whole number).
    """
    personal = can_reveal_personal(user)

    def born(day: date):
        return day if personal else day.year

    birth_title = _("Birth date") if personal else _("Birth year")
    birth_format = {4: "yyyy-mm-dd"} if personal else {}
    wb = Workbook()
    ws = wb.active
    ws.title = _("School-age children")
    rows = (
        HouseholdRegisterRow.objects.visible_to(user)
        .filter(upload=upload)
        .exclude(finding=Finding.NOT_OF_AGE)
        .select_related("township", "student__school")
        .order_by("township__code", "village", "name")
    )
    write_sheet(
        ws,
        [
            _("Township"),
            _("Village"),
            _("Name"),
            _("ID number"),
            birth_title,
            _("Poverty-alleviated household"),
            _("Finding"),
            _("School"),
        ],
        (
            [
                r.township.name if r.township else "",
                r.village,
                r.name,
                r.masked_id_number,
                born(r.birth_date),
                _("Yes") if r.is_poverty_family else "",
                r.get_finding_display(),
                r.student.school.name if r.student else "",
            ]
            for r in rows
        ),
        title=_("School-age children (household register of %(date)s)") % {"date": upload.as_of.isoformat()},
        formats=birth_format,
    )
    ws = wb.create_sheet(_("Suspected dropouts"))
    suspects = (
        SuspectedDropout.objects.visible_to(user)
        .filter(row__upload=upload)
        .select_related("township", "long_absent_student__school")
        .order_by("township__code", "village", "name")
    )
    write_sheet(
        ws,
        [
            _("Township"),
            _("Village"),
            _("Name"),
            _("ID number"),
            birth_title,
            _("Poverty-alleviated household"),
            _("Finding"),
            _("Status"),
            _("Reason cleared"),
        ],
        (
            [
                s.township.name if s.township else "",
                s.village,
                s.name,
                s.masked_id_number,
                born(s.birth_date),
                _("Yes") if s.is_poverty_family else "",
                str(Finding.LONG_ABSENCE.label if s.long_absent_student_id else Finding.NOT_ENROLLED.label),
                s.get_status_display(),
                s.get_clear_reason_display(),
            ]
            for s in suspects
        ),
        formats=birth_format,
    )
    ws = wb.create_sheet(_("Confirmed dropouts"))
    cases = (
        DropoutCase.objects.visible_to(user)
        .open()
        .select_related("township", "school")
        .order_by("township__code", "name")
    )
    write_sheet(
        ws,
        [_("Township"), _("Village"), _("Name"), _("ID number"), _("School"), _("Date found"), _("Reason")],
        (
            [
                c.township.name,
                c.village,
                c.name,
                c.masked_id_number,
                c.school.name if c.school else "",
                c.found_on,
                c.get_reason_display(),
            ]
            for c in cases
        ),
        formats={5: "yyyy-mm-dd"},
    )
    return wb
