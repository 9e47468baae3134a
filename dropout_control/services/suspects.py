"""Deciding on a suspected dropout of the household-register comparison: confirmed into a case, or cleared."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from dropout_control.models import DropoutCase, LongAbsence, SuspectedDropout
from dropout_control.services.cases import case_open
from dropout_control.services.common import suspect_service, today
from portal.services import service
from students.models import School, Student, Township


def _check_suspect(suspect: SuspectedDropout, by) -> None:
    if not SuspectedDropout.objects.editable_by(by).filter(pk=suspect.pk).exists():
        raise PermissionDenied(_("You may not decide on this child."))
    if suspect.status != SuspectedDropout.Status.PENDING:
        raise ValidationError(_("This child was already decided on."))


@suspect_service
def suspect_confirm(
    *,
    suspect: SuspectedDropout,
    reason: str,
    by,
    found_on: date | None = None,
    school: School | None = None,
    reason_detail: str = "",
    found_late_reason: str = "",
    township: Township | None = None,
) -> DropoutCase:
    """Confirm a suspected dropout: it becomes an open case found by data comparison, in one step.

    `township`: where the child lives, for a child the household list placed in a township the county does not
    know (otherwise the list's township is the case's).
    """
    _check_suspect(suspect, by)
    student = suspect.long_absent_student
    township = suspect.township or township
    if township is None and student is None:
        raise ValidationError(
            {
                "township": [
                    _(
                        "The household list names no township the county knows for this child: choose the "
                        "township where the child lives."
                    )
                ]
            }
        )
    case = case_open(
        by=by,
        found_on=found_on or today(),
        found_by=DropoutCase.FoundBy.DATA_COMPARISON,
        reason=reason,
        student=student,
        id_number=suspect.id_number,
        name=suspect.name,
        township=township,
        village=suspect.village,
        school=school,
        reason_detail=reason_detail,
        found_late_reason=found_late_reason,
    )
    suspect.status = SuspectedDropout.Status.CONFIRMED
    suspect.case = case
    suspect.decided_by = by
    suspect.decided_on = today()
    suspect.save()
    return case


@suspect_service
def suspect_clear(*, suspect: SuspectedDropout, clear_reason: str, by, note: str = "") -> SuspectedDropout:
    """Clear a suspected dropout with the reason (studies outside the county, already placed, moved away)."""
    _check_suspect(suspect, by)
    if clear_reason not in dict(SuspectedDropout.ClearReason.given_by_clerks()):
        raise ValidationError({"clear_reason": [_("Choose why the child is cleared.")]})
    suspect.status = SuspectedDropout.Status.CLEARED
    suspect.clear_reason = clear_reason
    suspect.note = note.strip()
    suspect.decided_by = by
    suspect.decided_on = today()
    suspect.full_clean()
    suspect.save()
    return suspect


@service  # the system's nightly work: no acting user
def suspects_resolve_enrolled() -> int:
    """Clear the pending suspects now on a school's roll (enrolled, not long absent), the school named.

    The reason is the registry's (ClearReason.ENROLLED): the next household-register comparison does not keep
    it as a decision, so a child who leaves the roll again is suspected again.
    """
    pending = SuspectedDropout.objects.pending().select_for_update()
    absent = LongAbsence.objects.current().values("student_id")
    on_roll = {
        s.id_number: s
        for s in Student.objects.filter(
            status=Student.Status.ENROLLED, id_number__in=pending.values("id_number")
        )
        .exclude(pk__in=absent)
        .select_related("school")
    }
    resolved = 0
    for suspect in pending.filter(id_number__in=on_roll.keys()):
        student = on_roll[suspect.id_number]
        suspect.status = SuspectedDropout.Status.CLEARED
        suspect.clear_reason = SuspectedDropout.ClearReason.ENROLLED
        suspect.note = (
            _("On the roll of %(school)s since %(date)s.")
            % {
                "school": student.school.name,
                "date": student.enrolled_on.isoformat() if student.enrolled_on else "—",
            }
        )[:300]
        suspect.decided_by = None
        suspect.decided_on = today()
        suspect.save(update_fields=["status", "clear_reason", "note", "decided_by", "decided_on"])
        resolved += 1
    return resolved
