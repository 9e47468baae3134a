"""The attendance side of dropout control: long absences that schools mark, and care records."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from dropout_control.models import CareRecord, LongAbsence
from dropout_control.services.common import check_student, student_service, today
from dropout_control.services.watch import raise_watches_of
from students.models import Student


@student_service
def long_absence_mark(*, student: Student, since: date, by, note: str = "") -> LongAbsence:
    """A school marks a pupil on its roll who has stopped attending."""
    check_student(student, by)
    if since > today():
        raise ValidationError({"since": [_("The absence cannot start in the future.")]})
    if LongAbsence.objects.current().filter(student=student).exists():
        raise ValidationError(_("This pupil is already marked as long absent."))
    absence = LongAbsence(student=student, since=since, note=note, reported_by=by)
    absence.full_clean()
    absence.save()
    # A returned child absent again: the watched case is raised, never a second case opened.
    raise_watches_of(student, on=since, reason=_("Long absent since %(date)s.") % {"date": since.isoformat()})
    return absence


@student_service
def long_absence_end(*, absence: LongAbsence, on: date, by) -> LongAbsence:
    check_student(absence.student, by)
    if on < absence.since:
        raise ValidationError({"ended_on": [_("The pupil cannot be back before the absence started.")]})
    absence.ended_on = on
    absence.full_clean()
    absence.save()
    return absence


@student_service
def care_record_add(
    *,
    student: Student,
    visited_on: date,
    teacher: str,
    content: str,
    by,
    kind: str = CareRecord.Kind.HOME_VISIT,
) -> CareRecord:
    check_student(student, by)
    if visited_on > today():
        raise ValidationError({"visited_on": [_("A visit cannot be dated in the future.")]})
    record = CareRecord(
        student=student, visited_on=visited_on, teacher=teacher, kind=kind, content=content, created_by=by
    )
    record.full_clean()
    record.save()
    return record
