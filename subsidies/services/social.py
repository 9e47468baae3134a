"""Writes of social aid (社会资助): programmes and their grants (issue 14), bureau staff only."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from portal.services import bureau_service
from portal.text import required_text
from students.models import Enrollment, Student
from subsidies.models import SocialAidGrant, SocialAidProgramme, UniversityStudent
from subsidies.services.university import check_amount, check_past_date, whole_id_number


@bureau_service
def social_programme_add(*, by, name, donor, target="", note="") -> SocialAidProgramme:
    name = required_text(name)
    if SocialAidProgramme.objects.filter(name=name).exists():
        raise ValidationError({"name": [_("A programme of this name is already recorded.")]})
    programme = SocialAidProgramme(
        name=name, donor=required_text(donor), target=target or "", note=note or ""
    )
    programme.full_clean()
    try:
        with transaction.atomic():
            programme.save()
    except IntegrityError as exc:
        raise ValidationError({"name": [_("A programme of this name is already recorded.")]}) from exc
    return programme


@bureau_service
def social_grant_add(*, by, programme, id_number, amount, granted_on, note="") -> SocialAidGrant:
    """A programme's grant to one student: a child of the register on the grant's date (counted at the school
    the register had them at that day) or a university student of the roster (counted in their home township).
    Refused: a wrong ID number, a number neither on the register that day nor on the roster, an amount that is
    not positive to the fen, a date in the future, the same programme's grant to the same student that day."""
    number = whole_id_number(id_number)
    amount = check_amount(amount)
    check_past_date(granted_on, "granted_on")
    fields = {"programme": programme, "amount": amount, "granted_on": granted_on, "note": note or ""}
    spell = (
        Enrollment.objects.filter(student__in=Student.objects.editable_by(by).filter(id_number=number))
        .on(granted_on)
        .enrolled()
        .select_related("school")
        .first()
    )
    if spell is not None:
        fields |= {
            "student_id": spell.student_id,
            "school": spell.school,
            "township_id": spell.school.township_id,
        }
        duplicate = SocialAidGrant.objects.filter(
            programme=programme, student_id=spell.student_id, granted_on=granted_on
        )
    else:
        university = UniversityStudent.objects.editable_by(by).filter(id_number=number).first()
        if university is None:
            raise ValidationError(
                {
                    "id_number": [
                        _(
                            "No student with this ID number was on a school's roll in the county on that day, "
                            "nor is one on the university roster."
                        )
                    ]
                }
            )
        fields |= {"university_student": university, "township_id": university.home_township_id}
        duplicate = SocialAidGrant.objects.filter(
            programme=programme, university_student=university, granted_on=granted_on
        )
    if duplicate.exists():
        raise ValidationError(_("This programme's grant to this student on this day is already recorded."))
    grant = SocialAidGrant(**fields)
    grant.full_clean()
    try:
        with transaction.atomic():
            grant.save()
    except IntegrityError as exc:
        raise ValidationError(
            _("This programme's grant to this student on this day is already recorded.")
        ) from exc
    return grant
