"""After a child returns (劝返复学): the place on the register, the watch, the school's monthly word.

The return puts the child back on the register at the school they return to (a new record, or the old one
enrolled again, moved there), so that the next household-register comparison finds the child enrolled. The
case stays open on the ledger while the child is watched (a term by default, `WatchPolicy`); a month not
confirmed in time, a month not attended or a new long absence raises the case again, the same case.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dropout_control.models import DropoutCase, LongAbsence, ReturnWatch, WatchConfirmation, WatchPolicy
from dropout_control.services import common
from dropout_control.services.common import (
    add_months,
    backdating_errors,
    before_current_opening,
    case_service,
    check_case,
    confirmable_from,
    first_of_month,
    locked,
    recorded_on,
    today,
    watch_months,
)
from dropout_control.services.zero_reports import withdraw_contradicted
from portal.access import is_bureau_staff
from portal.services import service
from students import id_numbers, register
from students.models import School, Stage, Student, Transfer

# A month is confirmed by the 10th of the next one; after that the nightly check raises the case.
CONFIRMATION_GRACE_DAYS = 10
# The stages a child of compulsory age returns to.
RETURN_STAGES = (Stage.PRIMARY, Stage.JUNIOR, Stage.SPECIAL)


def _register(case: DropoutCase, *, school: School, on: date, stage: str, grade: int | None, by) -> Student:
    """Create the child's place on the register, or enrol the old one again at the school returned to."""
    student = case.student or Student.objects.filter(id_number=case.id_number).first()
    # A record of another school or township (registered after the case was opened) is not moved by someone
    # who could not see it; the refusal names nothing ("ask the bureau"), as when opening a case.
    if student is not None and not Student.objects.editable_by(by).filter(pk=student.pk).exists():
        raise ValidationError({"school": [_("This ID number cannot be used here; ask the bureau.")]})
    errors: dict[str, list[str]] = {}
    if stage and stage not in school.stages:
        errors["stage"] = [_("%(school)s does not teach this stage.") % {"school": school.name}]
    if student is None:
        if not stage or stage not in RETURN_STAGES:
            errors["stage"] = [_("Give the stage the child returns to (primary, junior or special).")]
        if not grade:
            errors["grade"] = [_("Give the grade the child returns to.")]
        if errors:
            raise ValidationError(errors)
        parsed = id_numbers.parse(case.id_number)
        student = Student(
            id_number=case.id_number,
            name=case.name,
            sex=parsed.sex,
            birth_date=parsed.birth_date,
            school=school,
            stage=stage,
            grade=grade,
            household_county_code=case.township.county.code,
            home_township=case.township,
            village=case.village,
            guardian_name=case.guardian_name,
            guardian_phone=case.guardian_phone,
            enrolled_on=on,
        )
        student.full_clean()
        student.save()
        return student
    if errors:
        raise ValidationError(errors)
    if student.school_id != school.pk:
        Transfer.objects.create(
            student=student,
            from_school_id=student.school_id,
            to_school=school,
            on=on,
            reason=str(_("Returned to school (dropout case)")),
            by=by,
        )
        student.school = school
    # The return starts a new spell on the roll: enrolled from the day of the return, whatever the record said
    # before (a long-absent child was often never taken off the roll, and kept the old date).
    student.status = Student.Status.ENROLLED
    student.enrolled_on = on
    if stage:
        student.stage = stage
    if grade:
        student.grade = grade
    student.full_clean()
    with register.effective(on, source="return"):
        student.save()
    LongAbsence.objects.current().filter(student=student).update(ended_on=on)
    return student


@case_service
def case_return(
    *,
    case: DropoutCase,
    school: School,
    by,
    on: date | None = None,
    stage: str = "",
    grade: int | None = None,
    late_reason: str = "",
    today: date | None = None,
) -> ReturnWatch:
    """The child is back at school: on the register there, and watched from that day (劝返复学).

    A return dated more than BACKDATE_LIMIT_DAYS ago needs `late_reason` from a school or township. It is dated
    in the running school year of `today`: the county's today, unless a caller building past years as they
    happened (the demo) names another; the API and the pages never do.
    """
    now = min(today or common.today(), common.today())
    check_case(case, by)
    case = locked(case)
    on = on or now
    if not case.is_open:
        raise ValidationError(_("The case is closed: reopen it before recording a return."))
    running = ReturnWatch.objects.watching().filter(case=case).first()
    if running is not None:
        raise ValidationError(
            _("The child returned on %(date)s and is watched until %(until)s.")
            % {"date": running.returned_on.isoformat(), "until": running.watch_until.isoformat()}
        )
    errors = backdating_errors(on, reason=late_reason, field="late_reason", by=by)
    if on < case.found_on:
        errors["on"] = [_("The return cannot be dated before the case was found.")]
    elif early := before_current_opening(case, on):
        errors["on"] = early
    elif on > now:
        errors["on"] = [_("The return cannot be dated in the future.")]
    else:
        # The return writes the register from its date: a school year that has ended changes only through
        # that year's roll (students.register), so the return is dated in the running one.
        try:
            register.check_effective(on, today=now)
        except ValidationError as refused:
            errors.update(refused.message_dict)
    if not school.is_active or not set(school.stages) & set(RETURN_STAGES):
        errors["school"] = [_("Choose a school in operation that teaches compulsory education.")]
    elif not School.objects.editable_by(by).filter(pk=school.pk).exists():
        # The return writes the child onto that school's register: a principal only on his own, a township
        # officer only in his township; a return elsewhere goes through the bureau.
        errors["school"] = [
            _("You may record a return only to a school you work for; ask the bureau to record this one.")
        ]
    if errors:
        raise ValidationError(errors)
    # Closing a watched case needs the return's school; the ledger shows the school now responsible.
    student = _register(case, school=school, on=on, stage=stage, grade=grade, by=by)
    case.student = student
    case.school = school
    case.full_clean()
    case.save(update_fields=["student", "school", "updated_at"])
    watch = ReturnWatch(
        case=case,
        student=student,
        school=school,
        returned_on=on,
        late_reason=late_reason.strip(),
        watch_until=add_months(on, WatchPolicy.current_months()),
        created_by=by,
    )
    watch.full_clean()
    watch.save()
    withdraw_contradicted(case)  # the school returned to said "无辍学" for this month
    return watch


def _raise(watch: ReturnWatch, *, on: date, reason: str) -> ReturnWatch:
    """The child is out of class again: the watch ends and the case is followed as before (still open)."""
    watch.status = ReturnWatch.Status.RAISED
    watch.ended_on = max(on, watch.returned_on)
    watch.end_reason = reason[:300]
    watch.save(update_fields=["status", "ended_on", "end_reason"])
    return watch


@case_service
def watch_confirm_month(
    *, case: DropoutCase, month: date, by, attended: bool = True, note: str = ""
) -> WatchConfirmation:
    """The school's word on a returned child's month; a month not attended raises the case again."""
    check_case(case, by)
    case = locked(case)
    watch = ReturnWatch.objects.watching().filter(case=case).first()
    if watch is None:
        raise ValidationError(
            _("This child is not in a watch period: only a returned child's attendance is confirmed.")
        )
    if not School.objects.editable_by(by).filter(pk=watch.school_id).exists():
        # The school the child returned to confirms (or the bureau, or that school's township), not the
        # township the child lives in.
        raise PermissionDenied(_("The school the child returned to confirms the month's attendance."))
    month = first_of_month(month)
    months = watch_months(watch)
    if month not in months:
        raise ValidationError(
            {
                "month": [
                    _("The watch covers %(first)s to %(last)s.")
                    % {"first": f"{months[0]:%Y-%m}", "last": f"{months[-1]:%Y-%m}"}
                ]
            }
        )
    due = confirmable_from(watch, month)
    if due > today():
        # By the real clock: once the month has ended, and a watch recorded late runs its months from then.
        raise ValidationError(
            {
                "month": [
                    _("%(month)s can be confirmed from %(date)s.")
                    % {"month": f"{month:%Y-%m}", "date": due.isoformat()}
                ]
            }
        )
    if watch.confirmations.filter(month=month).exists():
        raise ValidationError({"month": [_("This month is already confirmed.")]})
    if not attended and not note.strip():
        raise ValidationError({"note": [_("Say what happened: the case is raised again.")]})
    confirmation = WatchConfirmation(
        watch=watch, month=month, attended=attended, note=note.strip(), confirmed_by=by
    )
    confirmation.full_clean()
    confirmation.save()
    if not attended:
        _raise(
            watch,
            on=today(),
            reason=_("Not in class in %(month)s: %(note)s")
            % {"month": f"{month:%Y-%m}", "note": note.strip()},
        )
    return confirmation


def raise_watches_of(student: Student, *, on: date, reason: str) -> int:
    """A new long absence of a watched child: the case is raised again (called inside a service)."""
    watches = list(ReturnWatch.objects.watching().filter(case__id_number=student.id_number))
    for watch in watches:
        _raise(watch, on=on, reason=reason)
    return len(watches)


def _missed_month(watch: ReturnWatch, on: date) -> date | None:
    confirmed = {c.month for c in watch.confirmations.all()}
    # A watch recorded late (a return entered weeks after the day) gets the grace from when each month could
    # first be confirmed (its months run from the recording).
    for month in watch_months(watch):
        due = max(confirmable_from(watch, month) - timedelta(days=1), recorded_on(watch)) + timedelta(
            days=CONFIRMATION_GRACE_DAYS
        )
        if month not in confirmed and due < on:
            return month
    return None


@service  # the nightly check: no acting user
def watches_check(*, on: date | None = None) -> int:
    """Raise the cases whose school let a month of the watch pass unconfirmed; returns how many."""
    on = on or today()
    raised = 0
    for watch in ReturnWatch.objects.watching().select_for_update().prefetch_related("confirmations"):
        missed = _missed_month(watch, on)
        if missed is not None:
            _raise(
                watch,
                on=on,
                reason=_("Attendance in %(month)s was not confirmed.") % {"month": f"{missed:%Y-%m}"},
            )
            raised += 1
    return raised


@service(allowed=is_bureau_staff, refusal=gettext_lazy("Only bureau staff set the watch period."))
def watch_policy_set(*, months: int, by) -> WatchPolicy:
    """The county's watch period after a return, in months; running watches keep theirs."""
    policy = WatchPolicy.objects.order_by("pk").first() or WatchPolicy()
    policy.watch_months = months
    policy.updated_by = by
    policy.full_clean()
    policy.save()
    return policy
