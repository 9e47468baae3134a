"""The one scoping mechanism, for each role."""

import pytest

from portal.models import User
from students.models import School, Student, Township
from tests.factories import StudentFactory, UserFactory


@pytest.fixture
def both(student_a, student_b):
    return student_a, student_b


def test_bureau_and_official_see_the_whole_county(bureau, official, both):
    assert Student.objects.visible_to(bureau).count() == 2
    assert Student.objects.visible_to(official).count() == 2


def test_official_can_edit_nothing(official, both):
    assert not Student.objects.editable_by(official).exists()
    assert not School.objects.editable_by(official).exists()


def test_principal_sees_only_own_school(principal_a, both, school_a):
    assert list(Student.objects.visible_to(principal_a)) == [both[0]]
    assert list(School.objects.visible_to(principal_a)) == [school_a]


def test_township_officer_sees_township_schools_and_resident_children(
    township_officer, both, school_b, township_a
):
    living_in_a = StudentFactory(school=school_b, home_township=township_a)
    visible = set(Student.objects.visible_to(township_officer))
    assert visible == {both[0], living_in_a}
    assert list(Township.objects.visible_to(township_officer)) == [township_a]


def test_user_without_unit_or_inactive_sees_nothing(db, both):
    inactive = UserFactory(role=User.Role.BUREAU, is_active=False)
    assert not Student.objects.visible_to(inactive).exists()
    from django.contrib.auth.models import AnonymousUser

    assert not Student.objects.visible_to(AnonymousUser()).exists()


def test_admin_student_list_is_scoped_and_masked(client_for, bureau, student_a):
    from django.urls import reverse

    bureau.is_staff = True
    bureau.is_superuser = False
    bureau.save()
    from django.contrib.auth.models import Permission

    bureau.user_permissions.add(*Permission.objects.filter(codename__in=["view_student", "change_student"]))
    body = client_for(bureau).get(reverse("admin:students_student_changelist")).content.decode()
    assert student_a.masked_id_number in body
    assert student_a.id_number not in body
