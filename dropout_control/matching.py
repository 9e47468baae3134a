"""四查三比对: the household register (户籍) compared with the student registry (学籍), attendance and the
脱贫户 children, producing the county's three ledgers: school-age children, suspected and confirmed dropouts.

A suspected dropout is a child on the list, of compulsory age on the list's date, who is not enrolled in any
school of the registry (or is enrolled but marked long absent), and has neither an open case nor a closed case
that placed the child. The comparison remembers what was decided before:

- a child still pending from an earlier list is the same suspect (carried, `last_seen` moves on), not a new one;
- a child cleared earlier (studies outside the county, already placed, moved away) stays cleared: the child is
  matched by ID number, and a list placing the child in another village or township is noted on the row;
- a child in the out-of-county ledger (subsidies) is cleared by it, the letter named.

The whole file is checked first; a bad ID number or an empty name refuses the upload and nothing is written.
A township the county does not know does not: the row is kept without a township, and the upload names it; a
child listed twice is compared on the first row, and the upload names the others. A list above IMPORT_ASYNC_THRESHOLD_BYTES is compared by a Celery task with progress.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import IO

import pghistory
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
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
from students.models import Enrollment, Student, StudentCategory, Township, school_year_of

# The out-of-county ledger is kept by the aid office (subsidies) and names the county where the child
# studies and the letter sent there: the comparison's rule crosses into it because a child it accounts for is
# not a dropout. Read only.
from subsidies.models import OutOfCountyStudent, term_of

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
PROGRESS_EVERY = 5000
BATCH = 5000

Finding = HouseholdRegisterRow.Finding
SUSPECT_FINDINGS = (Finding.NOT_ENROLLED, Finding.LONG_ABSENCE)


@dataclass
class ParsedRow:
    line: int
    id_number: str
    name: str
    township: Township | None
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


def parse_rows(rows: list[list], *, as_of: date, on_progress=None) -> tuple[list[ParsedRow], list[dict]]:
    """The checked rows and the problems that do not refuse the file (an unknown township, named by row)."""
    if len(rows) < 2:
        raise ValidationError(_("The file has no children listed."))
    cols = _header_map(rows[0])
    townships = {}
    for t in Township.objects.all():
        townships[t.name] = t
        townships[t.code] = t
    errors: list[str] = []
    problems: list[dict] = []
    parsed: list[ParsedRow] = []
    seen: dict[str, int] = {}

    def cell(row, key):
        index = cols.get(key)
        return cell_text(row[index]) if index is not None and index < len(row) else ""

    for line, row in enumerate(rows[1:], start=2):
        if on_progress and line % PROGRESS_EVERY == 0:
            on_progress(line - 1)
        try:
            number = id_numbers.parse(cell(row, "id_number"), today=as_of)
        except ValidationError as exc:
            errors.append(_("Row %(line)s: %(msg)s") % {"line": line, "msg": exc.messages[0]})
            continue
        if number.value in seen:
            # One child listed twice: the first row is compared, the others are named (not the whole file refused).
            problems.append(
                {
                    "row": line,
                    "message": _(
                        "Row %(line)s: the same ID number as row %(other)s; only row %(other)s is compared."
                    )
                    % {"line": line, "other": seen[number.value]},
                }
            )
            continue
        seen[number.value] = line
        name = cell(row, "name")
        township_name = cell(row, "township")
        township = townships.get(township_name)
        if not name:
            errors.append(_("Row %(line)s: the name is empty.") % {"line": line})
        if township is None:
            problems.append(
                {
                    "row": line,
                    "message": _(
                        "Row %(line)s: unknown township “%(name)s”; the child is kept without a township."
                    )
                    % {"line": line, "name": township_name},
                }
            )
        if name:
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
    return parsed, problems


# Matching the county's children against other departments' lists is the bureau's work.
matching_service = service(
    allowed=can_run_data_matching, refusal=gettext_lazy("Only bureau staff upload the household register.")
)


@matching_service
def household_register_start(*, file: IO[bytes], file_name: str, as_of: date, by) -> HouseholdRegisterUpload:
    """A small list is compared in the request (a refused file writes nothing); a large one is stored and
    compared by a Celery task, whose progress the upload's page shows."""
    if getattr(file, "size", 0) <= settings.IMPORT_ASYNC_THRESHOLD_BYTES:
        return household_register_upload(file=file, file_name=file_name, as_of=as_of, by=by)
    from dropout_control.tasks import compare_household_register

    upload = HouseholdRegisterUpload.objects.create(
        file_name=file_name[:200],
        file=file,
        as_of=as_of,
        uploaded_by=by,
        status=HouseholdRegisterUpload.Status.PENDING,
    )
    transaction.on_commit(lambda: compare_household_register.delay(upload.pk))
    return upload


@matching_service
def household_register_upload(*, file: IO[bytes], file_name: str, as_of: date, by) -> HouseholdRegisterUpload:
    """Read, compare and store a household-register list; refuse the whole file on any bad row."""
    try:
        rows = read_rows(file)
    except ExcelError as exc:
        raise ValidationError(str(exc)) from exc
    parsed, problems = parse_rows(rows, as_of=as_of)
    return household_register_store(parsed=parsed, problems=problems, file_name=file_name, as_of=as_of, by=by)


@matching_service
def household_register_store(
    *, parsed: list[ParsedRow], file_name: str, as_of: date, by, problems: list[dict] | None = None
) -> HouseholdRegisterUpload:
    """Store checked rows with their findings and suspects, in one transaction."""
    upload = HouseholdRegisterUpload.objects.create(file_name=file_name[:200], as_of=as_of, uploaded_by=by)
    _store(upload, parsed, problems or [])
    return upload


def _store(upload: HouseholdRegisterUpload, parsed: list[ParsedRow], problems: list[dict]) -> None:
    # Two lists compared at once would both find a child not pending yet and both add a suspect (refused by
    # one_pending_suspect_per_child): comparisons take turns, the second sees the first's suspects and carries them.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('dropout_control.household_register'))")
    register_rows, new, kept = compare(upload, parsed)
    upload.problems = problems
    upload.row_count = len(register_rows)
    upload.of_age_count = sum(1 for r in register_rows if r.finding != Finding.NOT_OF_AGE)
    upload.suspect_count = new
    upload.kept_count = kept
    upload.save(update_fields=["problems", "row_count", "of_age_count", "suspect_count", "kept_count"])


def run(upload: HouseholdRegisterUpload) -> HouseholdRegisterUpload:
    """The Celery task's work: read, check (progress saved as it goes), then compare and write in one
    transaction. A refused file ends the upload as refused, with the reasons; nothing else is written."""
    started = time.monotonic()
    user = upload.uploaded_by

    def progress(done: int) -> None:
        HouseholdRegisterUpload.objects.filter(pk=upload.pk).update(processed_rows=done)

    try:
        with upload.file.open("rb") as handle:
            rows = read_rows(handle)
        upload.total_rows = max(0, len(rows) - 1)
        upload.status = HouseholdRegisterUpload.Status.CHECKING
        upload.save(update_fields=["total_rows", "status"])
        parsed, problems = parse_rows(rows, as_of=upload.as_of, on_progress=progress)
    except ExcelError as exc:
        return _finish(upload, started, status=HouseholdRegisterUpload.Status.REJECTED, message=str(exc))
    except ValidationError as exc:
        return _finish(
            upload, started, status=HouseholdRegisterUpload.Status.REJECTED, message="\n".join(exc.messages)
        )
    HouseholdRegisterUpload.objects.filter(pk=upload.pk).update(
        status=HouseholdRegisterUpload.Status.COMPARING, processed_rows=upload.total_rows
    )
    try:
        with transaction.atomic(), pghistory.context(user=getattr(user, "pk", None)):
            _store(upload, parsed, problems)
    except Exception as exc:
        return _finish(
            upload,
            started,
            status=HouseholdRegisterUpload.Status.FAILED,
            message=_("The comparison failed: %(error)s") % {"error": exc},
        )
    return _finish(
        upload,
        started,
        status=HouseholdRegisterUpload.Status.DONE,
        message=_("%(rows)s children compared: %(suspects)s new suspected dropouts, %(kept)s kept.")
        % {"rows": upload.row_count, "suspects": upload.suspect_count, "kept": upload.kept_count},
    )


@service  # the system's nightly work: no acting user
def register_files_purge(*, now: datetime | None = None) -> int:
    """Delete the household lists' files (every child's ID number) that outlived their comparison.

    A comparison deletes its file when it ends; a list whose task never ran or lost its worker keeps it. After
    IMPORT_FILE_RETENTION_DAYS such an upload is ended as failed and its file goes; a file a finished
    upload still names goes at once, and a file no upload names goes after that time.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.IMPORT_FILE_RETENTION_DAYS)
    deleted = 0
    for upload in HouseholdRegisterUpload.objects.exclude(file="").select_for_update().iterator():
        if upload.status not in HouseholdRegisterUpload.FINISHED:
            if upload.uploaded_at >= cutoff:
                continue
            upload.status = HouseholdRegisterUpload.Status.FAILED
            upload.message = _(
                "The comparison did not finish within %(days)s days; nothing was compared. Upload the list again."
            ) % {"days": settings.IMPORT_FILE_RETENTION_DAYS}
        upload.file.delete(save=False)
        upload.save(update_fields=["file", "status", "message"])
        deleted += 1
    named = set(HouseholdRegisterUpload.objects.exclude(file="").values_list("file", flat=True))
    for name in _stored_files(default_storage, "register"):
        if name not in named and default_storage.get_modified_time(name) < cutoff:
            default_storage.delete(name)
            deleted += 1
    return deleted


def _stored_files(storage, folder: str):
    if not storage.exists(folder):
        return
    folders, files = storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}"
    for sub in folders:
        yield from _stored_files(storage, f"{folder}/{sub}")


def _finish(upload: HouseholdRegisterUpload, started: float, *, status: str, message: str):
    upload.status = status
    upload.message = message
    upload.processed_rows = upload.total_rows
    upload.seconds = round(time.monotonic() - started, 3)
    # The list holds every child's ID number: the stored file goes as soon as it has been read.
    if upload.file:
        upload.file.delete(save=False)
    upload.save()
    return upload


def _ledger_note(line: OutOfCountyStudent) -> str:
    where = f"{line.destination_county} {line.destination_school}".strip()
    if line.letter_sent_on:
        letter = _("letter sent %(date)s") % {"date": line.letter_sent_on.isoformat()}
    else:
        letter = _("letter not yet sent")
    return _("Out-of-county ledger %(year)s: %(where)s; %(letter)s") % {
        "year": line.school_year,
        "where": where,
        "letter": letter,
    }


def _decision_note(suspect: SuspectedDropout) -> str:
    return _("Cleared on %(date)s: %(reason)s") % {
        "date": suspect.decided_on.isoformat() if suspect.decided_on else "",
        "reason": suspect.get_clear_reason_display(),
    }


def compare(upload: HouseholdRegisterUpload, parsed: list[ParsedRow]):
    """Decide each child's finding with a fixed number of queries, and write rows and suspects in bulk.

    Returns the rows, how many new suspects were created and how many earlier suspects or decisions held.
    """
    as_of = upload.as_of
    numbers = [p.id_number for p in parsed]
    students = dict(Student.objects.filter(id_number__in=numbers).values_list("id_number", "pk"))
    enrolled = set(
        Student.objects.filter(id_number__in=numbers, status=Student.Status.ENROLLED).values_list(
            "id_number", flat=True
        )
    )
    # Children the registry knows from a past year's roll only: not enrolled, the row says where they were last.
    last_roll = {
        number: (school_year_of(valid_to), school)
        for number, valid_to, school in Enrollment.objects.filter(
            student__id_number__in=numbers, student__status=Student.Status.OFF_ROLL, valid_to__isnull=False
        )
        .order_by("student_id", "-valid_from")
        .distinct("student_id")
        .values_list("student__id_number", "valid_to", "school__name")
    }
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
    school_year = term_of(as_of)[0]
    out_of_county = {
        line.id_number: line
        for line in OutOfCountyStudent.objects.filter(
            id_number__in=numbers, school_year__in=(school_year - 1, school_year)
        ).order_by("school_year")  # the later year wins
    }
    pending = {
        s.id_number: s
        for s in SuspectedDropout.objects.pending().filter(id_number__in=numbers).only("pk", "id_number")
    }
    cleared: dict[str, SuspectedDropout] = {}
    for s in (
        SuspectedDropout.objects.filter(id_number__in=numbers, status=SuspectedDropout.Status.CLEARED)
        # The registry's "enrolled since" is no decision to keep: a child off the roll again is suspected again.
        .exclude(clear_reason=SuspectedDropout.ClearReason.ENROLLED)
        .select_related("row")
        .order_by("decided_on", "pk")  # the latest decision wins
    ):
        cleared[s.id_number] = s

    register_rows = []
    carried: list[int] = []
    for p in parsed:
        student_id = students.get(p.id_number)
        note = ""
        if not rules.is_compulsory_age(p.birth_date, as_of):
            finding = Finding.NOT_OF_AGE
        elif p.id_number in open_cases:
            finding = Finding.OPEN_CASE
        elif p.id_number in enrolled and p.id_number in absent:
            finding = Finding.LONG_ABSENCE
        elif p.id_number in enrolled:
            finding = Finding.ENROLLED
        elif p.id_number in placed:
            finding = Finding.PLACED
        elif p.id_number in out_of_county:
            finding = Finding.OUT_OF_COUNTY
            note = _ledger_note(out_of_county[p.id_number])
        else:
            finding = Finding.NOT_ENROLLED
            if p.id_number in last_roll:
                year, school = last_roll[p.id_number]
                note = _("Not on this school year's roll: last on the %(year)s roll at %(school)s.") % {
                    "year": f"{year}–{year + 1}",
                    "school": school,
                }
        decision = cleared.get(p.id_number)
        if (
            finding in SUSPECT_FINDINGS
            and p.id_number not in pending
            and decision is not None
            and (decision.long_absent_student_id is not None) == (finding == Finding.LONG_ABSENCE)
        ):
            # The child is matched by ID number: listed in another village or township, a cleared child stays
            # cleared (one child, one decision), and the row says where the list now places the child.
            finding = Finding.CLEARED
            note = _decision_note(decision)
            if (
                decision.row.township_id != getattr(p.township, "pk", None)
                or decision.row.village != p.village
            ):
                note += _("; now listed in %(place)s") % {
                    "place": f"{p.township.name if p.township else ''} {p.village}".strip() or "—"
                }
        if finding in SUSPECT_FINDINGS and p.id_number in pending:
            carried.append(pending[p.id_number].pk)
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
                note=note[:300],
                student_id=student_id,
            )
        )
    register_rows = HouseholdRegisterRow.objects.bulk_create(register_rows, batch_size=BATCH)
    suspects = SuspectedDropout.objects.bulk_create(
        (
            SuspectedDropout(
                row=r,
                id_number=r.id_number,
                name=r.name,
                township=r.township,
                village=r.village,
                birth_date=r.birth_date,
                is_poverty_family=r.is_poverty_family,
                long_absent_student_id=r.student_id if r.finding == Finding.LONG_ABSENCE else None,
                last_seen=upload,
            )
            for r in register_rows
            if r.finding in SUSPECT_FINDINGS and r.id_number not in pending
        ),
        batch_size=BATCH,
    )
    SuspectedDropout.objects.filter(pk__in=carried).update(last_seen=upload)
    kept = len(carried) + sum(1 for r in register_rows if r.finding == Finding.CLEARED)
    return register_rows, len(suspects), kept


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
            _("Note"),
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
                r.note,
            ]
            for r in rows
        ),
        title=_("School-age children (household register of %(date)s)") % {"date": upload.as_of.isoformat()},
        formats=birth_format,
    )
    ws = wb.create_sheet(_("Suspected dropouts"))
    suspects = (
        SuspectedDropout.objects.visible_to(user)
        .filter(Q(row__upload=upload) | Q(last_seen=upload))
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
        [
            _("Township"),
            _("Village"),
            _("Name"),
            _("ID number"),
            _("School"),
            _("Date found"),
            pgettext("dropout", "Reason"),
        ],
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
