"""The one service shape (portal.services.service): capability, one transaction, the acting user in history."""

import pghistory.models
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portal.access import is_bureau_staff
from portal.services import service
from students.models import Student
from tests.factories import SchoolFactory, StudentFactory, UserFactory

pytestmark = pytest.mark.django_db


@service(allowed=is_bureau_staff)
def rename_then_fail(*, student, name, by, fail=False):
    Student.objects.filter(pk=student.pk).update(name=name)
    if fail:
        raise ValidationError("refused half way")
    return Student.objects.get(pk=student.pk)


def test_refused_without_the_capability_and_nothing_written():
    school = SchoolFactory()
    student = StudentFactory(school=school, name="张三")
    principal = UserFactory(role="principal", school=school)
    with pytest.raises(PermissionDenied):
        rename_then_fail(student=student, name="李四", by=principal)
    with pytest.raises(PermissionDenied):
        rename_then_fail(student=student, name="李四", by=None)
    student.refresh_from_db()
    assert student.name == "张三"


def test_an_error_half_way_writes_nothing():
    student = StudentFactory(name="张三")
    with pytest.raises(ValidationError):
        rename_then_fail(student=student, name="李四", by=UserFactory(role="bureau"), fail=True)
    student.refresh_from_db()
    assert student.name == "张三"


def test_history_names_the_acting_user_outside_a_request():
    bureau = UserFactory(role="bureau")
    student = StudentFactory(name="张三")
    rename_then_fail(student=student, name="李四", by=bureau)
    update = [e for e in pghistory.models.Events.objects.tracks(student) if e.pgh_label == "update"][-1]
    assert int(update.pgh_context["user"]) == bureau.pk
