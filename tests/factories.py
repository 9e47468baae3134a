"""Factories for the registry and users. Area apps keep theirs in tests/<app>/factories.py."""

from __future__ import annotations

from datetime import date

import factory
from django.conf import settings

from portal.models import User
from students import id_numbers
from students.models import County, School, Stage, Student, StudentCategory, Township


class CountyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = County
        django_get_or_create = ("code",)

    code = settings.HOME_COUNTY_CODE
    name = "宁都县"
    prefecture = "赣州市"


class TownshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Township

    county = factory.SubFactory(CountyFactory)
    code = factory.Sequence(lambda n: f"360730{n:03d}")
    name = factory.Sequence(lambda n: f"测试{n}镇")


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School

    township = factory.SubFactory(TownshipFactory)
    code = factory.Sequence(lambda n: f"S{n:05d}")
    name = factory.Sequence(lambda n: f"测试第{n}小学")
    school_type = School.Type.PRIMARY
    is_rural = True
    has_canteen = True
    is_inclusive = True
    closed_on = None
    # In operation exactly while not closed (a database constraint keeps the two in step).
    is_active = factory.LazyAttribute(lambda o: o.closed_on is None)


_sequence = iter(range(1, 10_000_000))


def make_id_number(
    birth: date = date(2014, 3, 15), division: str | None = None, female: bool | None = None
) -> str:
    seq = next(_sequence) % 1000
    if female is not None and (seq % 2 == 0) != female:
        seq = (seq + 1) % 1000
    return id_numbers.make(division or settings.HOME_COUNTY_CODE, birth, seq)


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Student

    class Params:
        birth = date(2014, 3, 15)

    id_number = factory.LazyAttribute(lambda o: make_id_number(o.birth))
    name = factory.Sequence(lambda n: f"学生{n}")
    sex = factory.LazyAttribute(lambda o: id_numbers.parse(o.id_number).sex)
    birth_date = factory.LazyAttribute(lambda o: id_numbers.parse(o.id_number).birth_date)
    school = factory.SubFactory(SchoolFactory)
    stage = Stage.PRIMARY
    grade = 3
    household_county_code = factory.LazyAttribute(lambda o: o.id_number[:6])
    home_township = factory.LazyAttribute(lambda o: o.school.township)
    # On the register (students.models.Enrollment) from autumn 2019, so that the past years tests report on
    # have their students; a test of a child recorded today passes enrolled_on=None.
    enrolled_on = date(2019, 9, 1)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StudentCategory

    student = factory.SubFactory(StudentFactory)
    category = StudentCategory.Category.POVERTY_ALLEVIATED
    valid_from = date(2020, 1, 1)
    valid_to = None


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = User.Role.BUREAU
    must_change_password = False
    password = factory.django.Password("correct-horse-battery-staple")


def move_on(student: Student, school: School, on: date) -> Student:
    """The register's record of a move dated `on`, written as the database takes it (a clerk's transfer is
    refused outside the running school year; tests of past years build those years' register this way)."""
    from django.db import transaction

    from students import register

    with transaction.atomic(), register.effective(on, source="transfer"):
        student.school = school
        student.save()
    return student
