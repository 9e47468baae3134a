"""The life of a case: opened, described, visited, its team set, closed (销号) with an outcome, reopened.

`@service` checks the capability (a role that writes; the bureau for a closing), each service then the row
(inside the acting user's scope) and the rules, and writes atomically. A refused write raises
ValidationError (a clerk's message, nothing written) or PermissionDenied (outside the user's scope).

A case is closed by the bureau: the township or the school asks for the closing with the proof
(`case_close_request`), the bureau confirms it (`case_close_confirm`) or closes at once itself
(`case_close`). A child who returned to school is watched first (dropout_control.services.watch): the
case closes as returned only once the watch has run its months, each confirmed.
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
    CasePeriod,
    ClosingRequest,
    DropoutCase,
    HomeTeachingVisit,
    PersuasionVisit,
    ReturnWatch,
    TeamMember,
)
from dropout_control.services.common import (
    backdating_errors,
    before_current_opening,
    case_service,
    check_case,
    locked,
    today,
    watch_months,
)
from dropout_control.services.zero_reports import withdraw_contradicted
from portal.access import can_confirm_case_closing, can_write_in_scope
from portal.services import service
from students import id_numbers
from students.models import School, Student, Township

Outcome = DropoutCase.Outcome


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
    guardian_name: str = "",
    guardian_phone: str = "",
    found_late_reason: str = "",
) -> DropoutCase:
    """Open a case for a registered student, or for a child known only by ID number, name and township.

    A date found more than BACKDATE_LIMIT_DAYS ago needs `found_late_reason` from a school or township.
    """
    if student is not None:
        id_number = student.id_number
        name = name or student.name
        township = township or student.home_township or student.school.township
        village = village or student.village
        school = school or student.school
        guardian_name = guardian_name or student.guardian_name
        guardian_phone = guardian_phone or student.guardian_phone
    case = DropoutCase(
        student=student,
        id_number=id_numbers.normalize(id_number),
        name=name,
        township=township,
        village=village,
        school=school,
        found_on=found_on,
        found_by=found_by,
        found_late_reason=found_late_reason.strip(),
        reason=reason,
        reason_detail=reason_detail,
        age_exception=age_exception.strip(),
        guardian_name=guardian_name.strip(),
        guardian_phone=guardian_phone.strip(),
        created_by=by,
    )
    if not rules.case_in_scope(
        township_id=getattr(township, "pk", None), school_id=getattr(school, "pk", None), user=by
    ):
        raise PermissionDenied(_("You may not open a case for this township or school."))
    _validate_case(
        case,
        by=by,
        extra=backdating_errors(found_on, reason=found_late_reason, field="found_late_reason", by=by),
    )
    case.save()
    CasePeriod.objects.create(case=case, opened_on=found_on, opened_by=by)
    withdraw_contradicted(case)
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


def _validate_case(case: DropoutCase, *, by=None, extra: dict[str, list[str]] | None = None) -> None:
    if case.id_number:
        _refuse_if_open_elsewhere(case, by)
    errors: dict[str, list[str]] = dict(extra or {})
    if case.found_on and case.found_on > today():
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
    "guardian_name",
    "guardian_phone",
)


@case_service
def case_update(*, case: DropoutCase, by, **fields) -> DropoutCase:
    """Correct the description of a case; its outcome changes only through case_close and case_reopen."""
    check_case(case, by)
    case = locked(case)
    for key, value in fields.items():
        if key not in CASE_EDITABLE_FIELDS:
            raise ValueError(f"case_update cannot change {key}")
        setattr(case, key, value)
    if not rules.case_in_scope(township_id=case.township_id, school_id=case.school_id, user=by):
        raise PermissionDenied(_("You may not move a case out of your township or school."))
    _validate_case(case, by=by)
    case.save()
    withdraw_contradicted(case)  # moved to a school or township that said "无辍学" for a month it is open in
    return case


@case_service
def case_set_team(*, case: DropoutCase, members: Mapping[str, tuple[str, str]], by) -> list[TeamMember]:
    """Set the 六对一 team: {role: (name, phone)}; a role left out or with an empty name is removed."""
    check_case(case, by)
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
    check_case(case, by)
    case = DropoutCase.objects.get(pk=case.pk)  # the status as stored, not as the caller last saw it
    errors: dict[str, list[str]] = {}
    if visited_on < case.found_on:
        errors["visited_on"] = [
            _("The visit is dated before the case was found (%(date)s).")
            % {"date": case.found_on.isoformat()}
        ]
    elif visited_on > today():
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


# What a closing says besides its outcome and date; a closing request carries the same.
CLOSING_DETAILS = (
    "outcome_school",
    "outcome_note",
    "home_teacher",
    "home_schedule",
    "home_visits_per_month",
    "home_hours_per_term",
    "committee_decided_on",
    "committee_decision",
    "committee_document",
)
# Outcomes that rest on the county disability assessment committee's decision (残疾人教育专家委员会).
COMMITTEE_OUTCOMES = (Outcome.HOME_TEACHING, Outcome.EXEMPTED)


def _details(**given) -> dict:
    """The closing details, stripped, each defaulted; an unknown one is a programming error."""
    for key in given:
        if key not in CLOSING_DETAILS:
            raise ValueError(f"unknown closing detail {key}")
    details = {
        "outcome_school": None,
        "outcome_note": "",
        "home_teacher": "",
        "home_schedule": "",
        "home_visits_per_month": None,
        "home_hours_per_term": None,
        "committee_decided_on": None,
        "committee_decision": "",
        "committee_document": "",
    }
    details.update({k: v for k, v in given.items() if v is not None})
    return {k: v.strip() if isinstance(v, str) else v for k, v in details.items()}


def running_watch(case: DropoutCase) -> ReturnWatch | None:
    return ReturnWatch.objects.watching().filter(case=case).first()


def unconfirmed_months(watch: ReturnWatch) -> list[date]:
    """The months of the watch with no confirmation that the child attended."""
    attended = set(watch.confirmations.filter(attended=True).values_list("month", flat=True))
    return [m for m in watch_months(watch) if m not in attended]


def _with_return_school(case: DropoutCase, outcome: str, details: dict) -> dict:
    """A returned child's school is the one of the return, unless the closing names it."""
    if outcome == Outcome.RETURNED and details["outcome_school"] is None:
        watch = running_watch(case)
        if watch is not None:
            return {**details, "outcome_school": watch.school}
    return details


def _closing_errors(case: DropoutCase, outcome: str, on: date, details: dict) -> dict[str, list[str]]:
    """Whether a case may close with this outcome on this date: the same rules for the bureau's own
    closing, a closing request and its confirmation (which checks again: the watch may have been raised)."""
    if not case.is_open:
        raise ValidationError(_("The case is already closed."))
    if not outcome:
        raise ValidationError({"outcome": [_("A case is closed only with an outcome.")]})
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": [_("Unknown outcome.")]})
    errors: dict[str, list[str]] = {}
    school = details["outcome_school"]
    if on < case.found_on:
        errors["outcome_on"] = [_("The outcome cannot be dated before the case was found.")]
    elif early := before_current_opening(case, on):
        errors["outcome_on"] = early
    elif on > today():
        errors["outcome_on"] = [_("The outcome cannot be dated in the future.")]
    if outcome in DropoutCase.SCHOOL_OUTCOMES and school is None:
        errors["outcome_school"] = [_("Name the school the child now attends.")]
    if outcome == Outcome.SPECIAL_SCHOOL and school and school.school_type != School.Type.SPECIAL:
        errors["outcome_school"] = [_("This is not a special education school.")]
    if outcome == Outcome.EXEMPTED and not details["outcome_note"]:
        errors["outcome_note"] = [_("Note the evidence for the exemption or deferral (medical certificate).")]
    if outcome == Outcome.TRANSFERRED_OUT and not details["outcome_note"]:
        errors["outcome_note"] = [_("Note where the child went.")]
    if outcome == Outcome.HOME_TEACHING:
        if not details["home_teacher"]:
            errors["home_teacher"] = [_("Name the teacher who delivers the teaching at home.")]
        if not details["home_schedule"]:
            errors["home_schedule"] = [_("Give the visit schedule of the home teaching.")]
        if not details["home_visits_per_month"]:
            errors["home_visits_per_month"] = [_("Give how many home-teaching visits are due each month.")]
        hours = details["home_hours_per_term"]
        if hours is None or Decimal(hours) <= 0:
            errors["home_hours_per_term"] = [_("Give the planned home-teaching hours of a term.")]
    if outcome in COMMITTEE_OUTCOMES:
        if not (
            details["committee_decided_on"]
            and details["committee_decision"]
            and details["committee_document"]
        ):
            errors["committee_decision"] = [
                _(
                    "Home teaching and an exemption need the county disability assessment committee's "
                    "decision: its date, what it decided and the number of its paper."
                )
            ]
        elif details["committee_decided_on"] > on:
            errors["committee_decided_on"] = [_("The committee's decision comes before the outcome.")]
    if outcome == Outcome.REACHED_16:
        birth = id_numbers.parse(case.id_number).birth_date
        if rules.age_on(birth, on) <= rules.COMPULSORY_AGE_MAX:
            errors["outcome"] = [_("The child is not 16 yet on this date.")]
    if outcome == Outcome.RETURNED:
        errors.update(_return_errors(case, on, school))
    return errors


def _return_errors(case: DropoutCase, on: date, school: School | None) -> dict[str, list[str]]:
    """Found → returned → watched → closed: a returned child's case closes after a full, confirmed watch."""
    watch = running_watch(case)
    if watch is None:
        return {
            "outcome": [
                _(
                    "A child who returned is watched first: record the return, have the school confirm "
                    "attendance each month, then close the case."
                )
            ]
        }
    errors: dict[str, list[str]] = {}
    if on < watch.watch_until:
        errors["outcome_on"] = [
            _("The child is watched until %(date)s: the case can be closed from that day.")
            % {"date": watch.watch_until.isoformat()}
        ]
    missing = unconfirmed_months(watch)
    if missing:
        errors["outcome"] = [
            _("The school has not confirmed attendance for %(months)s.")
            % {"months": "、".join(f"{m:%Y-%m}" for m in missing)}
        ]
    if school is not None and school.pk != watch.school_id:
        errors["outcome_school"] = [_("The child returned to %(school)s.") % {"school": watch.school.name}]
    return errors


def _apply_close(case: DropoutCase, outcome: str, on: date, details: dict, by) -> DropoutCase:
    case.status = DropoutCase.Status.CLOSED
    case.outcome = outcome
    case.outcome_on = on
    home = outcome == Outcome.HOME_TEACHING
    committee = outcome in COMMITTEE_OUTCOMES
    case.outcome_school = details["outcome_school"] if outcome in DropoutCase.SCHOOL_OUTCOMES else None
    case.outcome_note = details["outcome_note"]
    case.home_teacher = details["home_teacher"] if home else ""
    case.home_schedule = details["home_schedule"] if home else ""
    case.home_visits_per_month = details["home_visits_per_month"] if home else None
    case.home_hours_per_term = details["home_hours_per_term"] if home else None
    case.committee_decided_on = details["committee_decided_on"] if committee else None
    case.committee_decision = details["committee_decision"] if committee else ""
    case.committee_document = details["committee_document"] if committee else ""
    case.full_clean()
    case.save()
    CasePeriod.objects.filter(case=case, closed_on__isnull=True).update(
        closed_on=on, outcome=outcome, closed_by=by
    )
    # The watch ends with the case, whatever the outcome (a watched child may also move away).
    ReturnWatch.objects.watching().filter(case=case).update(
        status=ReturnWatch.Status.COMPLETED, ended_on=on, end_reason=str(Outcome(outcome).label)
    )
    return case


@service(
    allowed=can_confirm_case_closing,
    refusal=gettext_lazy(
        "Only the bureau closes a case (销号): ask for the closing with the proof, the bureau confirms it."
    ),
)
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
    home_visits_per_month: int | None = None,
    home_hours_per_term: Decimal | None = None,
    committee_decided_on: date | None = None,
    committee_decision: str = "",
    committee_document: str = "",
    proof: str = "",
) -> DropoutCase:
    """The bureau closes a case (销号) with its outcome; the ledger line of the current period closes then.

    Without a request from the township or the school, the bureau names the proof as a request does; the
    closing is kept as a closing request the bureau made and confirmed itself (who, when, the proof).
    """
    check_case(case, by)
    case = locked(case)
    on = on or today()
    details = _details(
        outcome_school=outcome_school,
        outcome_note=outcome_note,
        home_teacher=home_teacher,
        home_schedule=home_schedule,
        home_visits_per_month=home_visits_per_month,
        home_hours_per_term=home_hours_per_term,
        committee_decided_on=committee_decided_on,
        committee_decision=committee_decision,
        committee_document=committee_document,
    )
    details = _with_return_school(case, outcome, details)
    errors = _closing_errors(case, outcome, on, details)
    if not proof.strip():
        errors["proof"] = [_("Name the proof of the outcome (the return certificate, the placement letter).")]
    if errors:
        raise ValidationError(errors)
    pending = ClosingRequest.objects.pending().filter(case=case).first()
    if pending is not None:
        # The bureau's own closing settles a request still waiting: it is sent back, saying why.
        pending.status = ClosingRequest.Status.REJECTED
        pending.decided_by = by
        pending.decided_at = timezone.now()
        pending.decision_note = _("The bureau closed the case itself.")
        pending.save()
    ClosingRequest.objects.create(
        case=case,
        outcome=outcome,
        on=on,
        proof=proof.strip(),
        status=ClosingRequest.Status.CONFIRMED,
        requested_by=by,
        decided_by=by,
        decided_at=timezone.now(),
        decision_note=_("Closed by the bureau without a request."),
        **details,
    )
    return _apply_close(case, outcome, on, details, by)


@case_service
def case_close_request(
    *,
    case: DropoutCase,
    outcome: str,
    proof: str,
    by,
    on: date | None = None,
    outcome_school: School | None = None,
    outcome_note: str = "",
    home_teacher: str = "",
    home_schedule: str = "",
    home_visits_per_month: int | None = None,
    home_hours_per_term: Decimal | None = None,
    committee_decided_on: date | None = None,
    committee_decision: str = "",
    committee_document: str = "",
) -> ClosingRequest:
    """The township or the school asks the bureau to close a case, with the proof of the outcome."""
    check_case(case, by)
    case = locked(case)
    on = on or today()
    details = _details(
        outcome_school=outcome_school,
        outcome_note=outcome_note,
        home_teacher=home_teacher,
        home_schedule=home_schedule,
        home_visits_per_month=home_visits_per_month,
        home_hours_per_term=home_hours_per_term,
        committee_decided_on=committee_decided_on,
        committee_decision=committee_decision,
        committee_document=committee_document,
    )
    details = _with_return_school(case, outcome, details)
    errors = _closing_errors(case, outcome, on, details)
    if not proof.strip():
        errors["proof"] = [_("Name the proof of the outcome (the return certificate, the placement letter).")]
    if ClosingRequest.objects.pending().filter(case=case).exists():
        errors["__all__"] = [_("A closing was already asked for: the bureau has not decided on it yet.")]
    if errors:
        raise ValidationError(errors)
    request = ClosingRequest(
        case=case, outcome=outcome, on=on, proof=proof.strip(), requested_by=by, **details
    )
    request.full_clean()
    request.save()
    return request


def _check_request(request: ClosingRequest, by) -> ClosingRequest:
    if not ClosingRequest.objects.editable_by(by).filter(pk=request.pk).exists():
        raise PermissionDenied(_("You may not change this dropout case."))
    request = ClosingRequest.objects.select_for_update().select_related("case").get(pk=request.pk)
    if request.status != ClosingRequest.Status.PENDING:
        raise ValidationError(_("The bureau has already decided on this closing."))
    return request


@service(allowed=can_confirm_case_closing, refusal=gettext_lazy("Only the bureau confirms a closing."))
def case_close_confirm(*, request: ClosingRequest, by, note: str = "") -> DropoutCase:
    """The bureau confirms a closing request: the case closes with the outcome asked for, on its date."""
    request = _check_request(request, by)
    case = locked(request.case)
    details = {field: getattr(request, field) for field in CLOSING_DETAILS}
    errors = _closing_errors(case, request.outcome, request.on, details)
    if errors:
        raise ValidationError(errors)
    request.status = ClosingRequest.Status.CONFIRMED
    request.decided_by = by
    request.decided_at = timezone.now()
    request.decision_note = note.strip()
    request.save()
    return _apply_close(case, request.outcome, request.on, details, by)


@service(allowed=can_confirm_case_closing, refusal=gettext_lazy("Only the bureau confirms a closing."))
def case_close_reject(*, request: ClosingRequest, note: str, by) -> ClosingRequest:
    """The bureau sends a closing request back, saying why; the case stays open."""
    request = _check_request(request, by)
    if not note.strip():
        raise ValidationError({"note": [_("Say why the closing is sent back.")]})
    request.status = ClosingRequest.Status.REJECTED
    request.decided_by = by
    request.decided_at = timezone.now()
    request.decision_note = note.strip()
    request.save()
    return request


@case_service
def case_reopen(
    *, case: DropoutCase, reason: str, by, on: date | None = None, late_reason: str = ""
) -> DropoutCase:
    """Reopen a closed case (the child left school again): a new ledger period, the old outcome kept in it.

    A reopening dated more than BACKDATE_LIMIT_DAYS ago needs `late_reason` from a school or township.
    """
    check_case(case, by)
    case = locked(case)
    on = on or today()
    if case.is_open:
        raise ValidationError(_("The case is already open."))
    errors = backdating_errors(on, reason=late_reason, field="late_reason", by=by)
    if not reason.strip():
        errors["reason"] = [_("Say why the case is reopened.")]
    if case.outcome_on and on < case.outcome_on:
        errors["on"] = [_("A case cannot be reopened before the date it was closed.")]
    elif on > today():
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
    case.home_visits_per_month = None
    case.home_hours_per_term = None
    case.committee_decided_on = None
    case.committee_decision = ""
    case.committee_document = ""
    case.full_clean()
    case.save()
    CasePeriod.objects.create(
        case=case, opened_on=on, reopen_reason=reason.strip(), late_reason=late_reason.strip(), opened_by=by
    )
    withdraw_contradicted(case)
    return case


@case_service
def home_teaching_log_add(
    *, case: DropoutCase, visited_on: date, teacher: str, hours: Decimal, content: str, by
) -> HomeTeachingVisit:
    """Log one 送教上门 visit: only for a case placed in home-delivered teaching."""
    check_case(case, by)
    case = DropoutCase.objects.get(pk=case.pk)
    if case.outcome != Outcome.HOME_TEACHING:
        raise ValidationError(_("This case is not in home-delivered teaching: its visits cannot be logged."))
    errors: dict[str, list[str]] = {}
    if visited_on > today():
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
