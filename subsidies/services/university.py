"""Writes of the university students' roster (生源地大学生) and their aid (issue 14): bureau staff only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.services import bureau_service
from portal.text import required_text
from students import id_numbers
from students.models import Student, school_year_of
from subsidies.models import FEN, UniversityAid, UniversityStudent

# The youngest age at which a county's child enters university (in the calendar year of enrolment).
UNIVERSITY_MIN_AGE = 15


def whole_id_number(raw) -> str:
    """The ID number as stored, or the clerk's refusal of a wrong one (checksum, date, length)."""
    try:
        return id_numbers.parse(raw).value
    except ValidationError as exc:
        raise ValidationError({"id_number": exc.messages}) from exc


def check_amount(amount) -> Decimal:
    """A positive amount in yuan, to the fen."""
    if amount is None or not isinstance(amount, Decimal | int):
        raise ValidationError({"amount": [_("Give the amount in yuan, to the fen.")]})
    amount = Decimal(amount)
    if amount <= 0:
        raise ValidationError({"amount": [_("The amount must be more than zero.")]})
    if amount != amount.quantize(FEN):
        raise ValidationError({"amount": [_("The amount is in yuan to the fen (two decimals at most).")]})
    return amount


def check_past_date(day: date | None, field: str) -> date:
    if day is None:
        raise ValidationError({field: [_("Give the date.")]})
    if day > timezone.localdate():
        raise ValidationError({field: [_("The date is in the future: record money once it is paid.")]})
    return day


@bureau_service
def university_student_add(
    *, by, id_number, name, university, enrolment_year, home_township, category="", note=""
) -> UniversityStudent:
    """A county-registered university student on the roster. Refused: a wrong ID number, a person already on
    the roster, a child on a school's roll now (aid at school is paid through the register)."""
    number = whole_id_number(id_number)
    if UniversityStudent.objects.filter(id_number=number).exists():
        raise ValidationError({"id_number": [_("This university student is already on the roster.")]})
    if Student.objects.filter(id_number=number, status=Student.Status.ENROLLED).exists():
        raise ValidationError(
            {
                "id_number": [
                    _(
                        "This ID number is on a school's roll in the county: the child's aid is paid through "
                        "the register, not the university roster."
                    )
                ]
            }
        )
    current = school_year_of(timezone.localdate())
    if enrolment_year is None or enrolment_year > current:
        raise ValidationError(
            {
                "enrolment_year": [
                    _("The year of enrolment cannot be after the running school year (%(year)s).")
                    % {"year": current}
                ]
            }
        )
    born = id_numbers.parse(number).birth_date
    if born is not None and enrolment_year - born.year < UNIVERSITY_MIN_AGE:
        raise ValidationError(
            {
                "id_number": [
                    _(
                        "By this ID number the student was born in %(year)s: too young to enter university in %(enrolled)s."
                    )
                    % {"year": born.year, "enrolled": enrolment_year}
                ]
            }
        )
    student = UniversityStudent(
        id_number=number,
        name=required_text(name),
        university=(university or "").strip(),
        enrolment_year=enrolment_year,
        home_township=home_township,
        category=category or "",
        note=note or "",
    )
    student.full_clean()
    try:
        with transaction.atomic():
            student.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"id_number": [_("This university student is already on the roster.")]}
        ) from exc
    return student


@bureau_service
def university_aid_add(*, by, id_number, kind, school_year, amount, paid_on, note="") -> UniversityAid:
    """One grant paid to a student of the roster. Refused: a number not on the roster (or outside the user's
    scope), an amount that is not positive to the fen, a date in the future, a second grant of the kind for
    the school year, a travel grant outside the student's freshman year or a second one."""
    number = whole_id_number(id_number)
    student = UniversityStudent.objects.editable_by(by).filter(id_number=number).first()
    if student is None:
        raise ValidationError(
            {"id_number": [_("No university student with this ID number is on the roster: add them first.")]}
        )
    amount = check_amount(amount)
    check_past_date(paid_on, "paid_on")
    if school_year is None or school_year < student.enrolment_year:
        raise ValidationError(
            {
                "school_year": [
                    _("Aid is for a school year of the student's studies, from %(year)s-%(next)s on.")
                    % {"year": student.enrolment_year, "next": student.enrolment_year + 1}
                ]
            }
        )
    # The freshman travel grant is paid in the summer before the student leaves for university (from June of
    # the year of enrolment); other aid within its school year.
    opens = date(school_year, 6, 1) if kind == UniversityAid.Kind.FRESHMAN_TRAVEL else date(school_year, 9, 1)
    if not opens <= paid_on <= date(school_year + 1, 8, 31):
        raise ValidationError(
            {
                "paid_on": [
                    _(
                        "The payment date falls outside the %(year)s-%(next)s school year (1 September to 31 August)."
                    )
                    % {"year": school_year, "next": school_year + 1}
                ]
            }
        )
    if kind == UniversityAid.Kind.FRESHMAN_TRAVEL and school_year != student.enrolment_year:
        raise ValidationError(
            {
                "school_year": [
                    _("The freshman travel grant is for the year of enrolment (%(year)s-%(next)s) only.")
                    % {"year": student.enrolment_year, "next": student.enrolment_year + 1}
                ]
            }
        )
    if UniversityAid.objects.filter(student=student, kind=kind, school_year=school_year).exists():
        raise ValidationError(
            _("This student already has this aid for the %(year)s-%(next)s school year.")
            % {"year": school_year, "next": school_year + 1}
        )
    aid = UniversityAid(
        student=student, kind=kind, school_year=school_year, amount=amount, paid_on=paid_on, note=note or ""
    )
    aid.full_clean()
    try:
        with transaction.atomic():
            aid.save()
    except IntegrityError as exc:
        raise ValidationError(_("This student already has this aid for this school year.")) from exc
    return aid
