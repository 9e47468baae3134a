"""Writes of needy-student identification (家庭经济困难学生认定, issue 17): the school runs each step of a
family's identification, the county sets the 公示 period and confirms the level.

Each step refuses what the policy forbids, with the clerk's message, and writes nothing then: an application
for a child not of the user's school, a level before the class review group (民主评议) has assessed, a 公示
shorter than the county's period, a confirmation while an objection is open or before the 公示 has ended.
The dates keep the steps' order (no 公示 before the class review nor outside its school year, no objection
before the 公示, no level before the review, no school year not yet started, no in-year change after today);
a child the register has off the roll is not identified, and a school's steps stop once the child has left
it. An objection upheld after the school's level sends it back to the school (a new review or level) before
the county confirms. An in-year finding of "no longer in difficulty" is confirmed by the county as a
withdrawal: the level in force ends on its date. The county confirms the level the 公示 showed and no other
(a level decided since is published again first). A child who changes school during the year is identified
by the new school from the day they came (its own annual identification); the former school's unfinished one
ends then, and its confirmed level stays in force until the new school's is confirmed.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.access import can_confirm_identification, can_run_identification
from portal.services import bureau_service, service
from portal.text import required_text
from students.models import School, Student, school_year_of
from subsidies.models import (
    Identification,
    IdentificationLevel,
    IdentificationObjection,
    IdentificationRound,
    publicity_days_of,
    school_year_bounds,
)
from subsidies.models.identification import proposed_level_sql

Status = Identification.Status

run_identification = service(
    allowed=can_run_identification,
    refusal=gettext_lazy("Only a school's principal (or bureau staff) runs its identification."),
)
confirm_identification = service(
    allowed=can_confirm_identification, refusal=gettext_lazy("Only bureau staff confirm identifications.")
)


def _not_future(day: date | None, field: str) -> date:
    if day is None:
        raise ValidationError({field: [_("Give the date.")]})
    if day > timezone.localdate():
        raise ValidationError({field: [_("The date is in the future.")]})
    return day


def _enrolled_on(student: Student, day: date, field: str) -> None:
    """Refuse a step for a child the register has off the roll on `day` (graduated, dropped out, deceased …):
    the register's spell on that day (`subsidies.facts.facts_on`), not today's row."""
    from subsidies.facts import facts_on

    state = facts_on([student.pk], day, categories=False).get(student.pk)
    if state is not None and state.status != Student.Status.ENROLLED:
        raise ValidationError(
            {
                field: [
                    _(
                        "On %(day)s the register has this student as “%(status)s”, not at school: only a child "
                        "on the roll is identified."
                    )
                    % {"day": day.isoformat(), "status": Student.Status(state.status).label}
                ]
            }
        )


def _joined(student: Student, first: date) -> date:
    """The day the child came to their present school, as far as this school year goes: from the day after
    their last spell at another school that ended on or after `first` (else `first`), the first day the register
    has them on the roll at this school (a child new to the county in March came in March)."""
    from students.models import Enrollment

    left = (
        Enrollment.objects.filter(student=student, valid_to__gte=first)
        .exclude(school_id=student.school_id)
        .order_by("-valid_to")
        .values_list("valid_to", flat=True)
        .first()
    )
    start = left + timedelta(days=1) if left else first
    here = (
        Enrollment.objects.filter(
            student=student, school_id=student.school_id, status=Student.Status.ENROLLED
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=start))
        .order_by("valid_from")
        .values_list("valid_from", flat=True)
        .first()
    )
    return max(start, here) if here else start


def _still_at_school(found: Identification) -> None:
    """The school's steps on an identification not yet confirmed stop when the child has left its school
    (transferred, graduated, dropped out): the child's new school runs its own identification."""
    student = found.student
    if student.school_id != found.school_id or student.status != Student.Status.ENROLLED:
        raise ValidationError(
            _(
                "This student is no longer on your school's roll (now: %(school)s, %(status)s): the "
                "identification stops here; the child's school now runs its own."
            )
            % {"school": student.school.name, "status": student.get_status_display()}
        )


def _year_running(school_year: int) -> None:
    """Refuse any step of a school year that has ended (after its 31 August): its identifications are what the
    year's aid, reports and national returns were made on, and stay as they were (as the register of an ended
    year does, `students.register.check_effective`)."""
    running = school_year_of(timezone.localdate())
    if school_year < running:
        raise ValidationError(
            _(
                "The %(year)s school year has ended (%(end)s): its identifications no longer change. Identify "
                "for the running school year (%(running)s)."
            )
            % {
                "year": f"{school_year}-{school_year + 1}",
                "end": school_year_bounds(school_year)[1].isoformat(),
                "running": f"{running}-{running + 1}",
            }
        )


def _editable(identification: Identification, by, *, school_step: bool = True) -> Identification:
    """The identification, locked, if the user may change it; a refusal otherwise (a row outside the user's
    scope never reaches a service through the pages or the API: they answer 404 first). A school's step
    (`school_step`) is refused too once the child has left the school."""
    found = (
        Identification.objects.editable_by(by)
        .select_for_update(of=("self",))
        .select_related("student__school")
        .filter(pk=identification.pk)
        .first()
    )
    if found is None:
        raise ValidationError(_("This identification is not of your school."))
    _year_running(found.school_year)
    if found.status == Status.ENDED:
        raise ValidationError(
            _(
                "This identification ended when the child left the school: the child's school (now: "
                "%(school)s) runs its own."
            )
            % {"school": found.student.school.name}
        )
    if found.status == Status.CONFIRMED:
        raise ValidationError(
            _(
                "The county has confirmed this identification: it no longer changes. A change during the "
                "year is a new in-year identification, effective from its date."
            )
        )
    if school_step:
        _still_at_school(found)
    return found


@run_identification
def identification_apply(
    *,
    by,
    student: Student,
    school_year: int,
    applied_on: date,
    family_members: int,
    family_income,
    hardship_reasons: str,
    guardian_name: str,
    guardian_declared: bool,
    kind: str = Identification.Kind.ANNUAL,
    effective_from: date | None = None,
    note: str = "",
) -> Identification:
    """A family's application (申请表) for a school year: annual (effective from 1 September), or an in-year
    change (a sudden hardship) effective from its date within the year."""
    mine = Student.objects.editable_by(by).filter(pk=getattr(student, "pk", None)).first()
    if mine is None:
        raise ValidationError(
            {"student": [_("This student is not at your school: only the student's own school applies.")]}
        )
    first, last = school_year_bounds(school_year)
    _not_future(applied_on, "applied_on")
    running = school_year_of(timezone.localdate())
    _year_running(school_year)
    if school_year > running:
        raise ValidationError(
            {
                "school_year": [
                    _(
                        "The %(year)s school year has not started: a family applies for the running school "
                        "year (%(running)s)."
                    )
                    % {
                        "year": f"{school_year}-{school_year + 1}",
                        "running": f"{running}-{running + 1}",
                    }
                ]
            }
        )
    if not first <= applied_on <= last:
        raise ValidationError(
            {
                "applied_on": [
                    _(
                        "A family applies for the %(year)s school year during it (%(first)s to %(last)s), not "
                        "on %(day)s: a year that has ended is not identified after the fact."
                    )
                    % {
                        "year": f"{school_year}-{school_year + 1}",
                        "first": first,
                        "last": last,
                        "day": applied_on.isoformat(),
                    }
                ]
            }
        )
    # A child who came from another school during the year applies to this one from the day they came; its
    # annual identification takes effect from then (until then their former school's level is in force).
    joined = _joined(mine, first)
    if applied_on < joined or (
        kind == Identification.Kind.IN_YEAR and effective_from and effective_from < joined
    ):
        raise ValidationError(
            {
                "applied_on" if applied_on < joined else "effective_from": [
                    _(
                        "The child came to your school on %(day)s: your school identifies them from that day "
                        "on (before it, their former school did)."
                    )
                    % {"day": joined.isoformat()}
                ]
            }
        )
    if kind == Identification.Kind.ANNUAL:
        effective_from = joined
    elif effective_from is None or not first <= effective_from <= last:
        raise ValidationError(
            {
                "effective_from": [
                    _("An in-year change takes effect on a date of its school year (%(first)s to %(last)s).")
                    % {"first": first, "last": last}
                ]
            }
        )
    elif effective_from > timezone.localdate():
        raise ValidationError(
            {
                "effective_from": [
                    _(
                        "An in-year change records a hardship that has happened: it takes effect on a day "
                        "up to today, not %(day)s."
                    )
                    % {"day": effective_from.isoformat()}
                ]
            }
        )
    _enrolled_on(mine, effective_from, "effective_from" if kind == Identification.Kind.IN_YEAR else "student")
    _enrolled_on(mine, applied_on, "applied_on")
    if not guardian_declared:
        raise ValidationError(
            {
                "guardian_declared": [
                    _("The guardian's declaration is part of the application: have it signed.")
                ]
            }
        )
    try:
        income = Decimal(str(family_income))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({"family_income": [_("Give the family's income in yuan.")]}) from exc
    if not income.is_finite() or income < 0 or income != income.quantize(Decimal("0.01")):
        raise ValidationError({"family_income": [_("Give the family's income in yuan, to the fen.")]})
    reasons = required_text(hardship_reasons)
    if not reasons:
        raise ValidationError({"hardship_reasons": [_("Say why the family is in difficulty.")]})
    guardian = required_text(guardian_name)
    if not guardian:
        raise ValidationError({"guardian_name": [_("Name the guardian.")]})
    if (
        kind == Identification.Kind.ANNUAL
        and mine.identifications.filter(
            school_year=school_year, kind=Identification.Kind.ANNUAL, school_id=mine.school_id
        ).exists()
    ):
        raise ValidationError(
            _("This student already has this school year's identification: a change is an in-year one.")
        )
    identification = Identification(
        student=mine,
        school_id=mine.school_id,
        school_year=school_year,
        kind=kind,
        effective_from=effective_from,
        applied_on=applied_on,
        family_members=family_members,
        family_income=income,
        hardship_reasons=reasons,
        guardian_name=guardian,
        guardian_declared=True,
        note=note or "",
    )
    identification.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            # The identification the child's former school had not finished ends: it no longer runs it (the
            # change history keeps who ended it and when).
            Identification.objects.filter(student=mine, school_year=school_year).exclude(
                school_id=mine.school_id
            ).filter(status__in=[Status.APPLIED, Status.REVIEWED, Status.DECIDED]).update(status=Status.ENDED)
            identification.save()
    except IntegrityError as exc:
        raise ValidationError(
            _("This student already has an identification of this school year from this date.")
        ) from exc
    return identification


@run_identification
def identification_review(
    *, by, identification: Identification, members: str, result: str, reviewed_on: date
) -> Identification:
    """The class review group's assessment (民主评议): its members and its result."""
    found = _editable(identification, by)
    # After an objection the school upheld, the class reviews again (the level it decided before is void).
    again = (
        found.status == Status.DECIDED
        and found.objections.filter(
            outcome=IdentificationObjection.Outcome.UPHELD, resolved_on__gte=found.decided_on
        ).exists()
    )
    if found.status not in (Status.APPLIED, Status.REVIEWED, Status.NOT_IDENTIFIED) and not again:
        raise ValidationError(_("The school has decided the level: the review can no longer change."))
    members = required_text(members)
    if not members:
        raise ValidationError({"members": [_("Name the members of the review group.")]})
    if result not in Identification.ReviewResult.values:
        raise ValidationError({"result": [_("Choose the review group's result.")]})
    _not_future(reviewed_on, "reviewed_on")
    if reviewed_on < found.applied_on:
        raise ValidationError({"reviewed_on": [_("The review cannot come before the application.")]})
    if again:
        found.school_level, found.decided_on = "", None
    # The 公示 showed the earlier review: a new one is published again before the county confirms a level on it
    # (the row goes on the school's next 公示, with its objections period).
    found.publicity_from = found.publicity_to = None
    found.publicity_level = ""
    found.review_members = members
    found.review_result = result
    found.reviewed_on = reviewed_on
    found.status = (
        Status.NOT_IDENTIFIED if result == Identification.ReviewResult.NOT_DIFFICULT else Status.REVIEWED
    )
    found.save()
    return found


@run_identification
def identification_publicise(*, by, school: School, school_year: int, starts_on: date, ends_on: date) -> int:
    """The school's 公示 of its reviewed identifications of the year (those the review found in difficulty and
    the county has not confirmed yet) not yet published, for at least the county's period: a row already
    published keeps its dates. Returns how many are on it."""
    _year_running(school_year)
    if starts_on is None or ends_on is None:
        raise ValidationError(_("Give the first and the last day of the 公示."))
    if ends_on < starts_on:
        raise ValidationError({"ends_on": [_("The last day is before the first.")]})
    days = (ends_on - starts_on).days + 1
    least = publicity_days_of(school_year)
    if days < least:
        raise ValidationError(
            {
                "ends_on": [
                    _(
                        "The 公示 must last at least %(least)s days (the county's setting for this school "
                        "year); this one lasts %(days)s."
                    )
                    % {"least": least, "days": days}
                ]
            }
        )
    first, last = school_year_bounds(school_year)
    if not first <= starts_on <= last:
        raise ValidationError(
            {
                "starts_on": [
                    _("The 公示 of the %(year)s school year starts on a day of it (%(first)s to %(last)s).")
                    % {"year": f"{school_year}-{school_year + 1}", "first": first, "last": last}
                ]
            }
        )
    if ends_on >= last:
        # The county confirms once the 公示 has ended, and no step is taken after the year's end: a 公示 that
        # runs to its last day or past it could never be confirmed.
        raise ValidationError(
            {
                "ends_on": [
                    _(
                        "The 公示 of the %(year)s school year ends before its last day (%(last)s), so that the "
                        "county can confirm the levels within the year."
                    )
                    % {"year": f"{school_year}-{school_year + 1}", "last": last}
                ]
            }
        )
    # A child who has left the school (transferred, off the roll) is on no 公示 of it.
    rows = Identification.objects.editable_by(by).filter(
        school=school,
        school_year=school_year,
        status__in=[Status.REVIEWED, Status.DECIDED],
        student__school=school,
        student__status=Student.Status.ENROLLED,
    )
    # A row whose 公示 has started keeps its dates: publishing again puts only the rows not yet published on
    # the new 公示 (the period the county checks is the one the families and the class saw), and the rows whose
    # level the school has decided otherwise since (the families saw another level).
    ids = list(
        rows.alias(proposed=proposed_level_sql())
        .filter(Q(publicity_from__isnull=True) | ~Q(publicity_level=F("proposed")))
        .select_for_update()
        .values_list("pk", flat=True)
    )
    if not ids:
        if rows.filter(publicity_from__isnull=False).exists():
            raise ValidationError(
                _(
                    "Every identification of this school and year ready for the 公示 is already on one: a "
                    "公示 that has started keeps its dates. Only applications reviewed since are published."
                )
            )
        raise ValidationError(
            _(
                "No identification of this school and year is ready for the 公示: the class review comes first."
            )
        )
    latest = (
        Identification.objects.filter(pk__in=ids, reviewed_on__gt=starts_on)
        .select_related("student")
        .order_by("-reviewed_on", "pk")
        .first()
    )
    if latest is not None:
        raise ValidationError(
            {
                "starts_on": [
                    _(
                        "The 公示 cannot start before the class review (民主评议) it publishes: %(name)s's was "
                        "on %(day)s."
                    )
                    % {"name": latest.student.name, "day": latest.reviewed_on}
                ]
            }
        )
    decided = (
        Identification.objects.filter(pk__in=ids, decided_on__gt=starts_on)
        .select_related("student")
        .order_by("-decided_on", "pk")
        .first()
    )
    if decided is not None:
        raise ValidationError(
            {
                "starts_on": [
                    _(
                        "The 公示 cannot start before the school's level it publishes: %(name)s's was decided "
                        "on %(day)s."
                    )
                    % {"name": decided.student.name, "day": decided.decided_on}
                ]
            }
        )
    Identification.objects.filter(pk__in=ids).update(
        publicity_from=starts_on, publicity_to=ends_on, publicity_level=proposed_level_sql()
    )
    return len(ids)


@run_identification
def identification_objection_add(
    *, by, identification: Identification, raised_on: date, content: str
) -> IdentificationObjection:
    found = _editable(identification, by)
    if found.publicity_from is None:
        raise ValidationError(
            _("This identification has not been publicised: objections come during the 公示.")
        )
    content = required_text(content)
    if not content:
        raise ValidationError({"content": [_("Say what the objection is.")]})
    _not_future(raised_on, "raised_on")
    if raised_on < found.publicity_from:
        raise ValidationError(
            {
                "raised_on": [
                    _("Objections come during the 公示, which started on %(day)s: this one is dated before.")
                    % {"day": found.publicity_from}
                ]
            }
        )
    if raised_on > found.publicity_to:
        raise ValidationError(
            {
                "raised_on": [
                    _(
                        "Objections come during the 公示, which ended on %(day)s: a family's situation found "
                        "out later is recorded as an in-year change (学年中变化), not as an objection."
                    )
                    % {"day": found.publicity_to}
                ]
            }
        )
    objection = IdentificationObjection(identification=found, raised_on=raised_on, content=content)
    objection.full_clean()
    objection.save()
    return objection


@run_identification
def identification_objection_resolve(
    *, by, objection: IdentificationObjection, outcome: str, finding: str, resolved_on: date
) -> IdentificationObjection:
    found = (
        IdentificationObjection.objects.editable_by(by).select_for_update().filter(pk=objection.pk).first()
    )
    if found is None:
        raise ValidationError(_("This objection is not of your school."))
    _editable(found.identification, by)
    if found.outcome != IdentificationObjection.Outcome.OPEN:
        raise ValidationError(_("This objection's outcome is already recorded."))
    if outcome not in (IdentificationObjection.Outcome.UPHELD, IdentificationObjection.Outcome.DISMISSED):
        raise ValidationError({"outcome": [_("Choose the outcome: upheld or dismissed.")]})
    finding = required_text(finding)
    if not finding:
        raise ValidationError({"finding": [_("Say what the school found.")]})
    _not_future(resolved_on, "resolved_on")
    if resolved_on < found.raised_on:
        raise ValidationError({"resolved_on": [_("The outcome cannot come before the objection.")]})
    found.outcome, found.outcome_note, found.resolved_on = outcome, finding, resolved_on
    found.save()
    return found


@run_identification
def identification_decide(
    *, by, identification: Identification, level: str, decided_on: date
) -> Identification:
    """The school's level (特别困难 / 困难 / 一般困难), once the class review group has assessed."""
    found = _editable(identification, by)
    if found.reviewed_on is None or not found.review_members:
        raise ValidationError(
            _(
                "The class review group (民主评议) has not assessed this application: record its members and "
                "result before deciding a level."
            )
        )
    if found.review_result == Identification.ReviewResult.NOT_DIFFICULT:
        raise ValidationError(
            _("The review group found the family not in difficulty: record a new review before a level.")
        )
    if level not in IdentificationLevel.values:
        raise ValidationError({"level": [_("Choose a level.")]})
    _not_future(decided_on, "decided_on")
    if decided_on < found.reviewed_on:
        raise ValidationError(
            {
                "decided_on": [
                    _("The school's level cannot come before the class review (民主评议) of %(day)s.")
                    % {"day": found.reviewed_on}
                ]
            }
        )
    found.school_level, found.decided_on, found.status = level, decided_on, Status.DECIDED
    found.save()
    return found


@confirm_identification
def identification_confirm(*, by, identification: Identification, level: str = "") -> Identification:
    """The county's review and confirmation of the school's level (or of the level the county sets instead);
    or of an in-year finding that a family identified this year is no longer in difficulty (a withdrawal: the
    level in force ends on the change's date, with no 公示, which lists only the families proposed)."""
    found = _editable(identification, by, school_step=False)
    if is_withdrawal(found):
        if level:
            raise ValidationError(
                {
                    "level": [
                        _(
                            "The class review found the family no longer in difficulty: the county confirms "
                            "the withdrawal, with no level."
                        )
                    ]
                }
            )
        found.confirmed_level, found.confirmed_on, found.status = "", timezone.localdate(), Status.CONFIRMED
        found.save()
        return found
    if found.status != Status.DECIDED:
        raise ValidationError(_("The school has not decided a level: there is nothing to confirm yet."))
    today = timezone.localdate()
    if found.publicity_from is None:
        raise ValidationError(_("The school has not publicised this identification (公示) yet."))
    if found.reviewed_on is not None and found.reviewed_on > found.publicity_from:
        raise ValidationError(
            _(
                "The class review (民主评议) of %(day)s came after the 公示 started (%(start)s): publish it "
                "again before the county confirms."
            )
            % {"day": found.reviewed_on, "start": found.publicity_from}
        )
    if found.publicity_to >= today:
        raise ValidationError(
            _("The 公示 runs until %(day)s: confirm once it has ended.") % {"day": found.publicity_to}
        )
    if found.objections.open().exists():
        raise ValidationError(
            _("An objection to this identification is still open: the school records its outcome first.")
        )
    upheld = (
        found.objections.filter(
            outcome=IdentificationObjection.Outcome.UPHELD, resolved_on__gt=found.decided_on
        )
        .order_by("-resolved_on")
        .first()
    )
    if upheld is not None:
        raise ValidationError(
            _(
                "The school upheld an objection on %(day)s, after it decided the level (%(decided)s): the "
                "school decides the level again in the light of it before the county confirms."
            )
            % {"day": upheld.resolved_on, "decided": found.decided_on}
        )
    level = level or found.school_level
    if level not in IdentificationLevel.values:
        raise ValidationError({"level": [_("Choose a level.")]})
    # The families saw one level on the 公示: the county confirms that one. Another level is the school's to
    # decide and to publish again (重新公示) first.
    shown = IdentificationLevel(found.publicity_level).label if found.publicity_level else "—"
    if level != found.school_level:
        raise ValidationError(
            {
                "level": [
                    _(
                        "The county confirms the level the school decided and publicised (%(shown)s). For "
                        "%(level)s, send it back: the school decides that level and publishes it again "
                        "(重新公示) before the county confirms."
                    )
                    % {"shown": shown, "level": IdentificationLevel(level).label}
                ]
            }
        )
    if found.publicity_level != level:
        raise ValidationError(
            _(
                "The 公示 showed %(shown)s, the school has since decided %(level)s: the school publishes the "
                "new level again (重新公示) before the county confirms."
            )
            % {"shown": shown, "level": IdentificationLevel(level).label}
        )
    found.confirmed_level, found.confirmed_on, found.status = level, today, Status.CONFIRMED
    found.save()
    return found


def is_withdrawal(found: Identification) -> bool:
    """An identification whose class review found the family no longer in difficulty, while a level the county
    confirmed for the year is in force before its date: an in-year change, or the annual identification of a
    child's new school (from the day the child came) after the former school's confirmed level."""
    if not (
        found.status == Status.NOT_IDENTIFIED
        and found.review_result == Identification.ReviewResult.NOT_DIFFICULT
    ):
        return False
    latest = (
        Identification.objects.filter(
            student_id=found.student_id,
            school_year=found.school_year,
        )
        # The findings before this one: of an earlier day, or of the same day and made before it (a moved
        # child's former school's, when the move dates from the day it took effect).
        .filter(
            Q(effective_from__lt=found.effective_from)
            | Q(effective_from=found.effective_from, pk__lt=found.pk)
        )
        .confirmed()
        .order_by("-effective_from", "-pk")
        .values_list("confirmed_level", flat=True)
        .first()
    )
    return bool(latest)


@bureau_service
def identification_round_set(
    *, by, school_year: int, publicity_days: int, note: str = ""
) -> IdentificationRound:
    """The county's setting of a school year's identification: the 公示's least number of days."""
    _year_running(school_year)
    found = IdentificationRound.objects.select_for_update().filter(school_year=school_year).first()
    setting = found or IdentificationRound(school_year=school_year)
    setting.publicity_days = publicity_days
    setting.note = note or ""
    setting.full_clean(validate_unique=False)
    setting.save()
    return setting
