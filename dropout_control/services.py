"""Writes of dropout control. `@service` checks the capability (a role that writes), each service then the
row (inside the acting user's scope) and the rules, and writes atomically.

A refused write raises ValidationError (a clerk's message, nothing written) or PermissionDenied (outside the
user's scope). Each runs inside a pghistory context naming the user, so the change history says who.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dropout_control import rules
from dropout_control.models import (
    CareRecord,
    CasePeriod,
    DropoutCase,
    HomeTeachingVisit,
    LongAbsence,
    PersuasionVisit,
    SuspectedDropout,
    TeamMember,
)
from portal.access import can_write_in_scope
from portal.services import service
from students import id_numbers
from students.models import School, Student, Township

Outcome = DropoutCase.Outcome

# A role that writes (not an official); the message is the one the row check gives outside the scope.
case_service = service(
    allowed=can_write_in_scope, refusal=gettext_lazy("You may not change this dropout case.")
)
suspect_service = service(
    allowed=can_write_in_scope, refusal=gettext_lazy("You may not decide on this child.")
)
student_service = service(
    allowed=can_write_in_scope, refusal=gettext_lazy("You may not change records of this student.")
)


def _today() -> date:
    return timezone.localdate()


def _check_case(case: DropoutCase, by) -> None:
    if not DropoutCase.objects.editable_by(by).filter(pk=case.pk).exists():
        raise PermissionDenied(_("You may not change this dropout case."))


def _locked(case: DropoutCase) -> DropoutCase:
    # Two clerks closing or reopening the same case at once must not both succeed.
    return DropoutCase.objects.select_for_update().get(pk=case.pk)


@service(
    allowed=can_write_in_scope,
    refusal=gettext_lazy("You may not open a case for this township or school."),
)
def case_open(
    *,
    by,
    found_on: date,
    found_by: str,
    reason: str,
    student: Student | None = None,
    id_number: str = "",
    name: str = "",
    township: Township | None = None,
    village: str = "",
    school: School | None = None,
    reason_detail: str = "",
    age_exception: str = "",
) -> DropoutCase:
    """Open a case for a registered student, or for a child known only by ID number, name and township."""
    if student is not None:
        id_number = student.id_number
        name = name or student.name
        township = township or student.home_township or student.school.township
        village = village or student.village
        school = school or student.school
    case = DropoutCase(
        student=student,
        id_number=id_numbers.normalize(id_number),
        name=name,
        township=township,
        village=village,
        school=school,
        found_on=found_on,
        found_by=found_by,
        reason=reason,
        reason_detail=reason_detail,
        age_exception=age_exception.strip(),
        created_by=by,
    )
    if not rules.case_in_scope(
        township_id=getattr(township, "pk", None), school_id=getattr(school, "pk", None), user=by
    ):
        raise PermissionDenied(_("You may not open a case for this township or school."))
    _validate_case(case, by=by)
    case.save()
    CasePeriod.objects.create(case=case, opened_on=found_on, opened_by=by)
    return case


def _refuse_if_open_elsewhere(case: DropoutCase, by) -> None:
    """Another open case of the same child that `by` may not see: a neutral refusal.

    One open case per child is a constraint, so the refusal itself cannot be avoided; but it names no
    township, school or child, and does not even say that a case exists ("ask the bureau").
    """
    others = DropoutCase.objects.open().filter(id_number=case.id_number).exclude(pk=case.pk)
    if by is not None and others.exists() and not others.visible_to(by).exists():
        raise ValidationError({"id_number": [_("This ID number cannot be used here; ask the bureau.")]})
    # A child registered at a school outside `by`'s scope: an unlinked case of theirs would take the one open
    # case the child may have, and the child's own school or township could then open none.
    if by is not None and case.student_id is None:
        registered = Student.objects.filter(id_number=case.id_number)
        if registered.exists() and not registered.visible_to(by).exists():
            raise ValidationError({"id_number": [_("This ID number cannot be used here; ask the bureau.")]})


def _validate_case(case: DropoutCase, *, by=None) -> None:
    if case.id_number:
        _refuse_if_open_elsewhere(case, by)
    errors: dict[str, list[str]] = {}
    if case.found_on and case.found_on > _today():
        errors["found_on"] = [_("The date found cannot be in the future.")]
    try:
        parsed = id_numbers.parse(case.id_number)
    except ValidationError:
        parsed = None  # reported by full_clean below
    out_of_age = parsed and case.found_on and not rules.is_compulsory_age(parsed.birth_date, case.found_on)
    if out_of_age and not case.age_exception:
        errors["age_exception"] = [
            _(
                "The child is %(age)s on the date found, outside compulsory age (6 to 15): "
                "say why a case is opened."
            )
            % {"age": rules.age_on(parsed.birth_date, case.found_on)}
        ]
    if (
        case.id_number
        and DropoutCase.objects.open().filter(id_number=case.id_number).exclude(pk=case.pk).exists()
    ):
        errors["id_number"] = [_("This child already has an open dropout case.")]
    try:
        case.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(m for m in messages if m not in errors.get(field, []))
    if errors:
        raise ValidationError(errors)


CASE_EDITABLE_FIELDS = (
    "name",
    "village",
    "school",
    "township",
    "found_by",
    "reason",
    "reason_detail",
    "age_exception",
)


@case_service
def case_update(*, case: DropoutCase, by, **fields) -> DropoutCase:
    """Correct the description of a case; its outcome changes only through case_close and case_reopen."""
    _check_case(case, by)
    case = _locked(case)
    for key, value in fields.items():
        if key not in CASE_EDITABLE_FIELDS:
            raise ValueError(f"case_update cannot change {key}")
        setattr(case, key, value)
    if not rules.case_in_scope(township_id=case.township_id, school_id=case.school_id, user=by):
        raise PermissionDenied(_("You may not move a case out of your township or school."))
    _validate_case(case, by=by)
    case.save()
    return case


@case_service
def case_set_team(*, case: DropoutCase, members: Mapping[str, tuple[str, str]], by) -> list[TeamMember]:
    """Set the 六对一 team: {role: (name, phone)}; a role left out or with an empty name is removed."""
    _check_case(case, by)
    errors: dict[str, list[str]] = {}
    team = []
    for role, (name, phone) in members.items():
        if role not in TeamMember.Role.values:
            raise ValueError(f"unknown team role {role}")
        name, phone = (name or "").strip(), (phone or "").strip()
        if not name and not phone:
            continue
        member = TeamMember(case=case, role=role, name=name, phone=phone)
        try:
            member.full_clean(exclude=["case"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            label = TeamMember.Role(role).label
            for messages in exc.message_dict.values():
                errors.setdefault(role, []).extend(f"{label}: {m}" for m in messages)
        team.append(member)
    if errors:
        raise ValidationError(errors)
    # Changed in place rather than replaced, so that the history shows who replaced whom in each role.
    current = {m.role: m for m in case.team.all()}
    case.team.exclude(role__in=[m.role for m in team]).delete()
    saved = []
    for member in team:
        existing = current.get(member.role)
        if existing is None:
            member.save()
            saved.append(member)
            continue
        if (existing.name, existing.phone) != (member.name, member.phone):
            existing.name, existing.phone = member.name, member.phone
            existing.save(update_fields=["name", "phone"])
        saved.append(existing)
    return saved


@case_service
def case_add_visit(
    *,
    case: DropoutCase,
    visited_on: date,
    visitors: str,
    result: str,
    by,
    next_step: str = "",
    next_on: date | None = None,
) -> PersuasionVisit:
    _check_case(case, by)
    case = DropoutCase.objects.get(pk=case.pk)  # the status as stored, not as the caller last saw it
    errors: dict[str, list[str]] = {}
    if visited_on < case.found_on:
        errors["visited_on"] = [
            _("The visit is dated before the case was found (%(date)s).")
            % {"date": case.found_on.isoformat()}
        ]
    elif visited_on > _today():
        errors["visited_on"] = [_("A visit cannot be dated in the future.")]
    if next_on and next_on < visited_on:
        errors["next_on"] = [_("The next step cannot come before the visit.")]
    if not case.is_open:
        errors["__all__"] = [_("The case is closed: reopen it before recording a persuasion visit.")]
    visit = PersuasionVisit(
        case=case,
        visited_on=visited_on,
        visitors=visitors,
        result=result,
        next_step=next_step,
        next_on=next_on,
        created_by=by,
    )
    try:
        visit.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    visit.save()
    return visit


@case_service
def case_close(
    *,
    case: DropoutCase,
    outcome: str,
    by,
    on: date | None = None,
    outcome_school: School | None = None,
    outcome_note: str = "",
    home_teacher: str = "",
    home_schedule: str = "",
) -> DropoutCase:
    """Close a case (销号) with its outcome; the ledger line of the current period closes on that date."""
    _check_case(case, by)
    case = _locked(case)
    on = on or _today()
    errors: dict[str, list[str]] = {}
    if not case.is_open:
        raise ValidationError(_("The case is already closed."))
    if not outcome:
        raise ValidationError({"outcome": [_("A case is closed only with an outcome.")]})
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": [_("Unknown outcome.")]})
    if on < case.found_on:
        errors["outcome_on"] = [_("The outcome cannot be dated before the case was found.")]
    elif on > _today():
        errors["outcome_on"] = [_("The outcome cannot be dated in the future.")]
    if outcome in DropoutCase.SCHOOL_OUTCOMES and outcome_school is None:
        errors["outcome_school"] = [_("Name the school the child now attends.")]
    if (
        outcome == Outcome.SPECIAL_SCHOOL
        and outcome_school
        and outcome_school.school_type != School.Type.SPECIAL
    ):
        errors["outcome_school"] = [_("This is not a special education school.")]
    if outcome == Outcome.EXEMPTED and not outcome_note.strip():
        errors["outcome_note"] = [_("Note the evidence for the exemption or deferral (medical certificate).")]
    if outcome == Outcome.TRANSFERRED_OUT and not outcome_note.strip():
        errors["outcome_note"] = [_("Note where the child went.")]
    if outcome == Outcome.HOME_TEACHING:
        if not home_teacher.strip():
            errors["home_teacher"] = [_("Name the teacher who delivers the teaching at home.")]
        if not home_schedule.strip():
            errors["home_schedule"] = [_("Give the visit schedule of the home teaching.")]
    if outcome == Outcome.REACHED_16:
        birth = id_numbers.parse(case.id_number).birth_date
        if rules.age_on(birth, on) <= rules.COMPULSORY_AGE_MAX:
            errors["outcome"] = [_("The child is not 16 yet on this date.")]
    if errors:
        raise ValidationError(errors)
    case.status = DropoutCase.Status.CLOSED
    case.outcome = outcome
    case.outcome_on = on
    case.outcome_school = outcome_school if outcome in DropoutCase.SCHOOL_OUTCOMES else None
    case.outcome_note = outcome_note.strip()
    case.home_teacher = home_teacher.strip() if outcome == Outcome.HOME_TEACHING else ""
    case.home_schedule = home_schedule.strip() if outcome == Outcome.HOME_TEACHING else ""
    case.full_clean()
    case.save()
    CasePeriod.objects.filter(case=case, closed_on__isnull=True).update(
        closed_on=on, outcome=outcome, closed_by=by
    )
    return case


@case_service
def case_reopen(*, case: DropoutCase, reason: str, by, on: date | None = None) -> DropoutCase:
    """Reopen a closed case (the child left school again): a new ledger period, the old outcome kept in it."""
    _check_case(case, by)
    case = _locked(case)
    on = on or _today()
    if case.is_open:
        raise ValidationError(_("The case is already open."))
    errors: dict[str, list[str]] = {}
    if not reason.strip():
        errors["reason"] = [_("Say why the case is reopened.")]
    if case.outcome_on and on < case.outcome_on:
        errors["on"] = [_("A case cannot be reopened before the date it was closed.")]
    elif on > _today():
        errors["on"] = [_("The reopening cannot be dated in the future.")]
    _refuse_if_open_elsewhere(case, by)
    if DropoutCase.objects.open().filter(id_number=case.id_number).exclude(pk=case.pk).exists():
        errors["__all__"] = [_("This child already has an open dropout case.")]
    if errors:
        raise ValidationError(errors)
    case.status = DropoutCase.Status.OPEN
    case.outcome = ""
    case.outcome_on = None
    case.outcome_school = None
    case.outcome_note = ""
    case.home_teacher = ""
    case.home_schedule = ""
    case.full_clean()
    case.save()
    CasePeriod.objects.create(case=case, opened_on=on, reopen_reason=reason.strip(), opened_by=by)
    return case


@case_service
def home_teaching_log_add(
    *, case: DropoutCase, visited_on: date, teacher: str, hours: Decimal, content: str, by
) -> HomeTeachingVisit:
    """Log one 送教上门 visit: only for a case placed in home-delivered teaching."""
    _check_case(case, by)
    case = DropoutCase.objects.get(pk=case.pk)
    if case.outcome != Outcome.HOME_TEACHING:
        raise ValidationError(_("This case is not in home-delivered teaching: its visits cannot be logged."))
    errors: dict[str, list[str]] = {}
    if visited_on > _today():
        errors["visited_on"] = [_("A visit cannot be dated in the future.")]
    elif case.outcome_on and visited_on < case.outcome_on:
        errors["visited_on"] = [_("The visit is dated before home teaching started.")]
    visit = HomeTeachingVisit(
        case=case, visited_on=visited_on, teacher=teacher, hours=hours, content=content, created_by=by
    )
    try:
        visit.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    visit.save()
    return visit


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
) -> DropoutCase:
    """Confirm a suspected dropout: it becomes an open case found by data comparison, in one step."""
    _check_suspect(suspect, by)
    student = suspect.long_absent_student
    if suspect.township is None and student is None:
        raise ValidationError(_("The township of this child is unknown: correct the household list first."))
    case = case_open(
        by=by,
        found_on=found_on or _today(),
        found_by=DropoutCase.FoundBy.DATA_COMPARISON,
        reason=reason,
        student=student,
        id_number=suspect.id_number,
        name=suspect.name,
        township=suspect.township,
        village=suspect.village,
        school=school,
        reason_detail=reason_detail,
    )
    suspect.status = SuspectedDropout.Status.CONFIRMED
    suspect.case = case
    suspect.decided_by = by
    suspect.decided_on = _today()
    suspect.save()
    return case


@suspect_service
def suspect_clear(*, suspect: SuspectedDropout, clear_reason: str, by, note: str = "") -> SuspectedDropout:
    """Clear a suspected dropout with the reason (studies outside the county, already placed, moved away)."""
    _check_suspect(suspect, by)
    if clear_reason not in SuspectedDropout.ClearReason.values:
        raise ValidationError({"clear_reason": [_("Choose why the child is cleared.")]})
    suspect.status = SuspectedDropout.Status.CLEARED
    suspect.clear_reason = clear_reason
    suspect.note = note.strip()
    suspect.decided_by = by
    suspect.decided_on = _today()
    suspect.full_clean()
    suspect.save()
    return suspect


def _check_student(student: Student, by) -> None:
    if not Student.objects.editable_by(by).filter(pk=student.pk).exists():
        raise PermissionDenied(_("You may not change records of this student."))


@student_service
def long_absence_mark(*, student: Student, since: date, by, note: str = "") -> LongAbsence:
    """A school marks a pupil on its roll who has stopped attending."""
    _check_student(student, by)
    if since > _today():
        raise ValidationError({"since": [_("The absence cannot start in the future.")]})
    if LongAbsence.objects.current().filter(student=student).exists():
        raise ValidationError(_("This pupil is already marked as long absent."))
    absence = LongAbsence(student=student, since=since, note=note, reported_by=by)
    absence.full_clean()
    absence.save()
    return absence


@student_service
def long_absence_end(*, absence: LongAbsence, on: date, by) -> LongAbsence:
    _check_student(absence.student, by)
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
    _check_student(student, by)
    if visited_on > _today():
        raise ValidationError({"visited_on": [_("A visit cannot be dated in the future.")]})
    record = CareRecord(
        student=student, visited_on=visited_on, teacher=teacher, kind=kind, content=content, created_by=by
    )
    record.full_clean()
    record.save()
    return record
