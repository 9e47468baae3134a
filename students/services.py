"""Writes to the registry. `@service` checks the capability; each then checks the row (the acting user's
scope) and the rules, and writes atomically."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.access import can_import_students, can_write_in_scope, is_bureau_staff, scope_of
from portal.services import service
from students import importing, register, roll
from students.models import (
    Enrollment,
    ImportJob,
    MissingFromRoll,
    School,
    SchoolSpell,
    Stage,
    Student,
    StudentCategory,
    Township,
    Transfer,
    school_year_of,
)
from students.tasks import apply_roll, import_students

STUDENT_FIELDS = (
    "id_number",
    "national_student_number",
    "name",
    "sex",
    "birth_date",
    "school",
    "stage",
    "grade",
    "household_county_code",
    "home_township",
    "village",
    "is_boarding",
    "major",
    "is_agricultural_major",
    "guardian_name",
    "guardian_phone",
    "status",
    "enrolled_on",
)


# A role that writes (not an official); the message is the one the row check gives outside the scope.
student_service = service(
    allowed=can_write_in_scope, refusal=gettext_lazy("You may not change this student.")
)


def _check_school(*, school: School, by) -> None:
    if not School.objects.editable_by(by).filter(pk=school.pk).exists():
        raise PermissionDenied(_("You may not change records of this school."))


def check_status_by_hand(status: str | None, *, was: str | None = None) -> None:
    """The status “not on this school year's roll” is what the rolls say of a child, not a clerk's choice."""
    if status == Student.Status.OFF_ROLL and was != Student.Status.OFF_ROLL:
        raise ValidationError(
            {
                "status": [
                    _(
                        "“Not on this school year's roll” is set by the roll imports only: record why the child "
                        "left (transferred out, dropped out …) instead."
                    )
                ]
            }
        )


def check_enrolled_on(enrolled_on: date | None) -> None:
    """A child is recorded once enrolled: an enrolment date to come would put an enrolled child on no register."""
    if enrolled_on is not None and enrolled_on > timezone.localdate():
        raise ValidationError(
            {
                "enrolled_on": [
                    _("The enrolment date cannot be in the future: record the child once enrolled.")
                ]
            }
        )


# --- Schools through time ---------------------------------------------------------------------------------

# A school's name, township, type, ownership and rural flag are dated (SchoolSpell): the past keeps the old
# value.


# The School fields a SchoolSpell dates (SCHOOL_SPELL_COLUMNS, by field name).
SCHOOL_DATED_FIELDS = ("name", "township", "school_type", "ownership", "is_rural")


def school_change_errors(
    *, school: School | None, new: dict, on: date | None = None, field: str = "effective_on"
) -> dict:
    """What is wrong with giving `school` (as stored; None for a new school) the values `new` (any of its fields),
    a change of name, township, type, ownership or rural flag taking effect on `on` (today by default).

    An edit that changes none of those is not dated and is not checked here. A changed one: not into a township
    merged into another; not before the first day of the running school year (an ended year's reports must not
    move: the rule of a student's change, register.ended_year_errors) nor after its last day; not before the
    school's latest spell began (it would rewrite it); and a new type must teach the pupils on the register."""
    township = new.get("township")
    if school is None:
        if township is not None and township.closed_on is not None:
            return _merged_township_errors(township)
        return {}
    changed = {name for name in SCHOOL_DATED_FIELDS if name in new and new[name] != getattr(school, name)}
    if not changed:
        return {}
    if "township" in changed and township is not None and township.closed_on is not None:
        return _merged_township_errors(township)
    on = on or timezone.localdate()
    errors = school_date_errors(on, field=field)
    if errors:
        return errors
    last = (
        SchoolSpell.objects.filter(school=school, valid_from__isnull=False)
        .order_by("-valid_from")
        .values_list("valid_from", flat=True)
        .first()
    )
    if last is not None and on < last:
        return {
            field: [
                _(
                    "This school's name, township, type or ownership last changed on %(last)s: a change "
                    "takes effect on or after that day."
                )
                % {"last": last.isoformat()}
            ]
        }
    if "school_type" in changed:
        return _pupils_untaught_errors(school=school, school_type=new["school_type"], on=on)
    return {}


def school_date_errors(on: date, *, field: str = "effective_on") -> dict:
    """A change of a school's dated attributes takes effect within the running school year."""
    today = timezone.localdate()
    year_end = date(school_year_of(today) + 1, 8, 31)
    if on > year_end:
        return {
            field: [
                _("The change takes effect by %(end)s, the last day of this school year: record it then.")
                % {"end": year_end.isoformat()}
            ]
        }
    return register.ended_year_errors(on, field=field, today=today)


def _merged_township_errors(township: Township) -> dict:
    return {
        "township": [
            _("%(township)s was merged into another township on %(on)s: choose the township it joined.")
            % {"township": township.name, "on": township.closed_on.isoformat()}
        ]
    }


def _pupils_untaught_errors(*, school: School, school_type: str, on: date) -> dict:
    """A school cannot become a type that does not teach the pupils on its register from `on`."""
    stages = School.TYPE_STAGES[school_type]
    untaught = (
        Enrollment.objects.during(on, date.max)
        .enrolled()
        .filter(school=school)
        .exclude(stage__in=stages)
        .values("stage")
        .annotate(pupils=Count("student", distinct=True))
        .order_by("stage")
    )
    if not untaught:
        return {}
    labels = dict(Stage.choices)
    counts = "; ".join(
        _("%(count)s %(stage)s pupils") % {"count": row["pupils"], "stage": labels[row["stage"]]}
        for row in untaught
    )
    return {
        "school_type": [
            _(
                "A %(type)s does not enrol the pupils on this school's register from %(on)s (%(counts)s): "
                "transfer them or record why they left first."
            )
            % {"type": School.Type(school_type).label, "on": on.isoformat(), "counts": counts}
        ]
    }


def save_school(school: School, *, on: date | None = None, field: str = "effective_on") -> School:
    """Save a school whose name, township, type, ownership or rural flag may have changed, the change taking
    effect on `on` (today by default): the database dates the school's spells from it. Call inside a
    transaction."""
    on = on or timezone.localdate()
    stored = School.objects.select_for_update().filter(pk=school.pk).first() if school.pk else None
    errors = school_change_errors(
        school=stored, new={name: getattr(school, name) for name in SCHOOL_DATED_FIELDS}, on=on, field=field
    )
    if errors:
        raise ValidationError(errors)
    with register.effective(on, source="school"):
        school.save()
    return school


@service(allowed=is_bureau_staff, refusal=gettext_lazy("Only education bureau staff may merge townships."))
def township_merge(*, township: Township, into: Township, on: date, by) -> Township:
    """乡镇合并: from `on`, every school of `township` belongs to `into`; `township` is closed on that day and
    stays, with its schools' past spells, in the reports of the years before."""
    visible = Township.objects.visible_to(by)
    if not visible.filter(pk=township.pk).exists() or not visible.filter(pk=into.pk).exists():
        raise PermissionDenied(_("You may not change records of this township."))
    township = Township.objects.select_for_update().get(pk=township.pk)
    if township.pk == into.pk:
        raise ValidationError({"into": [_("A township cannot be merged into itself.")]})
    if township.county_id != into.county_id:
        raise ValidationError({"into": [_("Both townships must be in the same county.")]})
    if township.closed_on is not None:
        raise ValidationError(
            {"township": [_("This township was already merged on %(on)s.") % {"on": township.closed_on}]}
        )
    # Read `into` again under a lock: a merger of it that committed meanwhile closed it.
    into = Township.objects.select_for_update().get(pk=into.pk)
    if into.closed_on is not None:
        raise ValidationError({"into": [_("That township has itself been merged into another.")]})
    schools = list(School.objects.select_for_update().filter(township=township).order_by("code"))
    errors = school_date_errors(on, field="on")
    for school in schools:
        errors = errors or school_change_errors(school=school, new={"township": into}, on=on, field="on")
    if errors:
        raise ValidationError(errors)
    for school in schools:
        school.township = into
        save_school(school, on=on, field="on")
    township.closed_on = on
    township.merged_into = into
    township.save(update_fields=["closed_on", "merged_into"])
    return township


@service(allowed=can_write_in_scope, refusal=gettext_lazy("You may not change records of this school."))
def student_create(*, by, **fields: Any) -> Student:
    check_status_by_hand(fields.get("status"))
    check_enrolled_on(fields.get("enrolled_on"))
    student = Student(**{k: v for k, v in fields.items() if k in STUDENT_FIELDS})
    _check_school(school=student.school, by=by)
    student.full_clean()
    # A child recorded now is on the register from the start of the running school year at the earliest, whatever
    # their enrolment date: a past year's register comes from that year's roll, not from today's grade.
    today = timezone.localdate()
    starts = (
        today if student.enrolled_on is None else max(student.enrolled_on, date(school_year_of(today), 9, 1))
    )
    with register.effective(starts, source="new"):
        student.save()
    return student


@student_service
def student_update(*, student: Student, by, **fields: Any) -> Student:
    """Update fields; a change of school goes through student_transfer so that the move is recorded."""
    if not Student.objects.editable_by(by).filter(pk=student.pk).exists():
        raise PermissionDenied(_("You may not change this student."))
    if "status" in fields:
        check_status_by_hand(fields["status"], was=Student.objects.get(pk=student.pk).status)
    if "enrolled_on" in fields and fields["enrolled_on"] != student.enrolled_on:
        check_enrolled_on(fields["enrolled_on"])
    new_school = fields.pop("school", None)
    for key, value in fields.items():
        if key in STUDENT_FIELDS:
            setattr(student, key, value)
    if new_school is not None and new_school.pk != student.school_id:
        return student_transfer(
            student=student, to_school=new_school, on=date.today(), by=by, extra_validated=True
        )
    student.full_clean()
    student.save()
    return student


@student_service
def student_transfer(
    *, student: Student, to_school: School, on: date, by, reason: str = "", extra_validated: bool = False
) -> Student:
    if not extra_validated and not Student.objects.editable_by(by).filter(pk=student.pk).exists():
        raise PermissionDenied(_("You may not change this student."))
    # A principal hands a pupil over to another school; bureau staff may move anyone anywhere.
    register.check_effective(on)
    from_school = School.objects.get(pk=student.school_id)
    if to_school.pk == from_school.pk:
        raise ValidationError({"school": _("The student is already at this school.")})
    Transfer.objects.create(
        student=student, from_school=from_school, to_school=to_school, on=on, reason=reason, by=by
    )
    student.school = to_school
    student.full_clean()
    with register.effective(on, source="transfer"):
        student.save()
    return student


@student_service
def category_add(
    *, student: Student, category: str, valid_from: date, by, valid_to: date | None = None, source: str = ""
) -> StudentCategory:
    if not Student.objects.editable_by(by).filter(pk=student.pk).exists():
        raise PermissionDenied(_("You may not change this student."))
    item = StudentCategory(
        student=student, category=category, valid_from=valid_from, valid_to=valid_to, source=source
    )
    item.full_clean()
    overlapping = StudentCategory.objects.filter(student=student, category=category).exclude(
        valid_to__lt=valid_from
    )
    if valid_to is not None:
        overlapping = overlapping.exclude(valid_from__gt=valid_to)
    if overlapping.exists():
        raise ValidationError(
            {"valid_from": _("This category already applies to the student for part of these dates.")}
        )
    item.save()
    return item


@service  # the system's nightly work: no acting user
def import_files_purge(*, now: datetime | None = None) -> int:
    """Delete the uploaded files that outlived their import; returns how many were deleted.

    A finished import's file is deleted at once (the import deletes it itself; this catches files from
    before it did). A job still unfinished after IMPORT_FILE_RETENTION_DAYS lost its worker (a crash,
    a restart): it is ended as failed, so that it does not stay "waiting" for ever, and its file goes.
    A file no job names (the request died between storing it and saving the job) goes after that time.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.IMPORT_FILE_RETENTION_DAYS)
    deleted = 0
    for job in ImportJob.objects.exclude(file="").iterator():
        if not job.is_finished:
            if job.created_at >= cutoff:
                continue
            lapsed = job.status == ImportJob.Status.PREVIEW
            job.status = ImportJob.Status.FAILED
            job.message = (
                (
                    _("The import was not confirmed in time; nothing was imported. Upload it again.")
                    if job.kind == ImportJob.Kind.STUDENTS
                    else _("The roll was not applied in time; nothing was imported. Upload it again.")
                )
                if lapsed
                else _("The import stopped before it finished; nothing was imported. Upload the file again.")
            )
            job.finished_at = now
        job.file.delete(save=False)
        job.save(update_fields=["file", "status", "message", "finished_at"])
        deleted += 1
    named = set(ImportJob.objects.exclude(file="").values_list("file", flat=True))
    for name in _stored_files(default_storage, "imports"):
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


@service(
    allowed=can_import_students,
    refusal=gettext_lazy("Only bureau staff and principals may import students."),
)
def import_start(*, upload, by) -> ImportJob:
    """Store the upload and run it: in this request when small, as a Celery task when large.

    The size in bytes decides (reading the rows to count them would cost as much as the import's own read).
    """
    job = ImportJob.objects.create(
        uploaded_by=by,
        school_id=scope_of(by).school_id,
        file=upload,
        filename=getattr(upload, "name", "upload.xlsx")[:200],
    )
    if getattr(upload, "size", 0) > settings.IMPORT_ASYNC_THRESHOLD_BYTES:
        transaction.on_commit(lambda: import_students.delay(job.pk))
        return job
    return importing.run(job)


@service(
    allowed=can_import_students,
    refusal=gettext_lazy("Only bureau staff and principals may import students."),
)
def import_confirm(*, job: ImportJob, by, fingerprint: str | None = None) -> ImportJob:
    """Write a student import waiting at its preview (it would change students already registered).

    The file is checked again and refused if any student it names changed since the preview (`fingerprint`,
    when given, must be the preview's: a caller confirms what it was shown). In this request when small, as a
    Celery task when large."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.kind != ImportJob.Kind.STUDENTS or job.status != ImportJob.Status.PREVIEW:
        raise ValidationError(_("Only a checked import waiting for confirmation can be confirmed."))
    if not ImportJob.objects.visible_to(by).filter(pk=job.pk).exists():
        # The rule: an import the user may see (ImportJob.visible_to): a principal their own, bureau staff any
        # import of their area (a principal's preview too).
        raise PermissionDenied(
            _("You may confirm only your own imports; bureau staff may confirm any import of their area.")
        )
    if fingerprint is not None and fingerprint != job.preview.get("fingerprint"):
        raise ValidationError(
            {
                "fingerprint": [
                    _("This is not the preview of this import: reload the import and check it again.")
                ]
            }
        )
    job.status = ImportJob.Status.WRITING
    job.save(update_fields=["status"])
    if job.file.size > settings.IMPORT_ASYNC_THRESHOLD_BYTES:
        transaction.on_commit(lambda: apply_roll.delay(job.pk))
        return job
    return importing.confirm(job)


roll_service = service(
    allowed=is_bureau_staff, refusal=gettext_lazy("Only bureau staff import a school year's roll.")
)


@roll_service
def roll_import_start(
    *, upload, kind: str, school_year: int, by, roll_date: date | None = None, today: date | None = None
) -> ImportJob:
    """Store a roll (students.roll) and check it into a preview: nothing is written to the register until
    `roll_import_apply`. A school year closed to this kind of roll is refused before anything is stored."""
    today = today or timezone.localdate()
    if kind == ImportJob.Kind.PAST_ROLL:
        roll_date = roll.year_bounds(school_year)[0]
    roll.check_year(kind=kind, school_year=school_year, roll_date=roll_date or today, today=today)
    job = ImportJob.objects.create(
        uploaded_by=by,
        kind=kind,
        school_year=school_year,
        roll_date=roll_date or today,
        file=upload,
        filename=getattr(upload, "name", "upload.xlsx")[:200],
    )
    if getattr(upload, "size", 0) > settings.IMPORT_ASYNC_THRESHOLD_BYTES:
        transaction.on_commit(lambda: import_students.delay(job.pk))
        return job
    return roll.preview(job)


@roll_service
def roll_import_apply(*, job: ImportJob, by, today: date | None = None) -> ImportJob:
    """Write a previewed roll: checked again against the register as it is now (all or nothing)."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.kind not in roll.ROLL_KINDS or job.status != ImportJob.Status.PREVIEW:
        raise ValidationError(_("Only a checked roll waiting to be applied can be applied."))
    roll.check_year(kind=job.kind, school_year=job.school_year, roll_date=job.roll_date, today=today)
    job.status = ImportJob.Status.WRITING
    job.save(update_fields=["status"])
    if job.file.size > settings.IMPORT_ASYNC_THRESHOLD_BYTES:
        transaction.on_commit(lambda: apply_roll.delay(job.pk))
        return job
    return roll.apply(job)


@student_service
def roll_missing_resolve(
    *, missing: MissingFromRoll, reason: str, on: date, by, note: str = "", today: date | None = None
) -> MissingFromRoll:
    """Say why a child is missing from the roll; the reason sets the child's status from `on`."""
    today = today or timezone.localdate()
    if not MissingFromRoll.objects.editable_by(by).filter(pk=missing.pk).exists():
        raise PermissionDenied(_("You may not change this student."))
    missing = MissingFromRoll.objects.select_for_update().get(pk=missing.pk)
    if missing.status != MissingFromRoll.Status.PENDING:
        raise ValidationError(_("This child's absence from the roll was already resolved."))
    if reason not in MissingFromRoll.Reason.values or reason == MissingFromRoll.Reason.ON_LATER_ROLL:
        raise ValidationError({"reason": [_("Choose why the child is not on the roll.")]})
    register.check_effective(on, today=today)
    status = MissingFromRoll.REASON_STATUS[MissingFromRoll.Reason(reason)]
    student = Student.objects.select_for_update().get(pk=missing.student_id)
    if status is not None and student.status != status:
        student.status = status
        with register.effective(on, source="roll missing"):
            student.save(update_fields=["status", "updated_at"])
    missing.status = MissingFromRoll.Status.RESOLVED
    missing.reason = reason
    missing.resolved_on = on
    missing.resolved_by = by
    missing.note = note.strip()[:300]
    missing.full_clean()
    missing.save()
    return missing
