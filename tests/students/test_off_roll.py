"""A child known only from a past year's roll is not on today's roll (不在本学年学籍名册): the Student row, which
every "today" reader uses, says so; a later roll, the full roll or the autumn roll-over puts the child back on
the register of a later year and enrolls them again (issue 13)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from dropout_control import matching
from dropout_control.models import HouseholdRegisterRow, SuspectedDropout
from dropout_control.services.suspects import suspects_resolve_enrolled
from nutrition.selectors import count_covered
from students import rollover, services
from students.models import Enrollment, ImportJob, Stage, Student, school_year_of
from tests.factories import StudentFactory, make_id_number
from tests.refusals import nothing_written
from tests.students.test_roll import full_roll, line, of, past_roll

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
YEAR = school_year_of(TODAY)
OFF_ROLL = Student.Status.OFF_ROLL


def apply_past(bureau, rows, year) -> ImportJob:
    job = past_roll(bureau, rows, year)
    assert job.status == ImportJob.Status.PREVIEW, (job.message, job.errors)
    job = services.roll_import_apply(job=job, by=bureau)
    assert job.status == ImportJob.Status.DONE, job.message
    return job


def children(school, year, n=3, *, grade=1, born=2015):
    return [
        line(school, number=make_id_number(date(born, 1, i + 1)), name=f"往{year}{i}", grade=grade, year=year)
        for i in range(n)
    ]


def household_list(rows) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.append(["身份证号", "姓名", "乡镇", "村", "脱贫户"])
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    return buffer


def test_a_2022_roll_into_an_empty_county_counts_nobody_today(bureau, bureau_client, school_a, school_b):
    apply_past(bureau, children(school_a, 2022) + children(school_b, 2022, 2, grade=3, born=2013), 2022)
    assert set(Student.objects.values_list("status", flat=True)) == {OFF_ROLL}
    # The register of 2022 is what the roll says; nobody is on today's.
    assert Enrollment.objects.on(date(2022, 10, 1)).enrolled().count() == 5
    assert not Enrollment.objects.on(TODAY).exists()
    # Today's readers: the enrolled students, the school list, a school's page, the nutrition counts.
    assert not Student.objects.enrolled().exists()
    page = bureau_client.get(reverse("students:school_list"))
    assert [row.student_count for row in page.context["page"]] == [0, 0]
    detail = bureau_client.get(reverse("students:school_detail", args=[school_a.pk]))
    assert detail.context["by_stage"] == []
    assert count_covered(school=school_a, preschool_plan=True)[Stage.PRIMARY] == 0
    # The list filters by the status and says it in Chinese.
    listed = bureau_client.get(reverse("students:student_list"), {"status": "off_roll"})
    assert [s.pk for s in listed.context["page"]] == list(
        Student.objects.order_by("school__code", "stage", "grade", "name", "pk").values_list("pk", flat=True)
    )
    assert "不在本学年学籍名册" in listed.content.decode()


def test_a_known_child_whose_latest_spell_becomes_the_past_years_is_off_the_roll(bureau, school_a):
    # Known only from the 2021 roll; the 2023 roll is now the latest year the child is known in.
    number = make_id_number(date(2014, 3, 3))
    apply_past(bureau, [line(school_a, number=number, grade=2, year=2021)], 2021)
    apply_past(bureau, [line(school_a, number=number, grade=4, year=2023)], 2023)
    child = Student.objects.get(id_number=number)
    assert (child.grade, child.status) == (4, OFF_ROLL)
    # A child on today's register keeps the row (its latest spell is today's).
    current = StudentFactory(school=school_a, grade=5, enrolled_on=date(YEAR, 9, 1))
    apply_past(bureau, [of(current, grade=2, year=2022)], 2022)
    current.refresh_from_db()
    assert (current.grade, current.status) == (5, Student.Status.ENROLLED)


def test_the_household_comparison_suspects_a_child_off_the_roll(bureau, school_a, township_a):
    rows = children(school_a, 2022, 1, born=2014)
    apply_past(bureau, rows, 2022)
    child = Student.objects.get()
    upload = matching.household_register_upload(
        file=household_list([(child.id_number, child.name, township_a.name, "上坪村", "")]),
        file_name="户籍.xlsx",
        as_of=TODAY,
        by=bureau,
    )
    row = HouseholdRegisterRow.objects.get(upload=upload)
    assert row.finding == HouseholdRegisterRow.Finding.NOT_ENROLLED
    assert row.student_id == child.pk
    assert row.note == f"不在本学年学籍名册：最后见于2022–2023学年{school_a.name}的学籍名册。"
    # The nightly clearing of suspects now on a roll leaves the child suspected.
    assert suspects_resolve_enrolled() == 0
    assert SuspectedDropout.objects.pending().filter(id_number=child.id_number).exists()


def test_a_2025_roll_and_the_roll_over_of_2026_enroll_the_children_a_grade_up(bureau, school_a):
    apply_past(bureau, children(school_a, YEAR - 1, grade=2), YEAR - 1)
    assert set(Student.objects.values_list("status", flat=True)) == {OFF_ROLL}
    preview = rollover.preview(school_year=YEAR)
    assert (preview["totals"]["moves_up"], preview["totals"]["decisions"]) == (3, 0)
    before = list(Enrollment.objects.order_by("pk").values()), list(Student.objects.order_by("pk").values())
    rollover.rollover_apply(school_year=YEAR, by=bureau)
    assert set(Student.objects.values_list("status", "grade")) == {(Student.Status.ENROLLED, 3)}
    assert Enrollment.objects.on(TODAY).enrolled().filter(grade=3).count() == 3
    assert Enrollment.objects.on(date(YEAR, 8, 31)).enrolled().filter(grade=2).count() == 3
    # Undone, the children are off the roll again and the past year's spells end where the roll ended them.
    rollover.rollover_undo(school_year=YEAR, by=bureau)
    after = list(Enrollment.objects.order_by("pk").values()), list(Student.objects.order_by("pk").values())
    assert after == before


def test_the_full_roll_puts_a_child_off_the_roll_back_on_it(bureau, school_a):
    number = make_id_number(date(2015, 4, 4))
    apply_past(bureau, [line(school_a, number=number, grade=2, year=2023)], 2023)
    on = date(YEAR, 9, 1)
    job = services.roll_import_apply(
        job=full_roll(bureau, [line(school_a, number=number, grade=5)], on=on), by=bureau
    )
    assert job.status == ImportJob.Status.DONE, job.message
    child = Student.objects.get(id_number=number)
    assert (child.status, child.grade) == (Student.Status.ENROLLED, 5)
    assert Enrollment.objects.on(on).get(student=child).status == Student.Status.ENROLLED


def test_a_clerk_cannot_set_off_the_roll_by_hand(bureau, school_a):
    student = StudentFactory(school=school_a)
    with nothing_written(student), pytest.raises(ValidationError) as refused:
        services.student_update(student=student, by=bureau, status=OFF_ROLL)
    assert "status" in refused.value.message_dict


def test_a_change_to_a_child_off_the_roll_writes_no_spell_for_today(bureau, school_a):
    apply_past(bureau, children(school_a, 2022, 1), 2022)
    child = Student.objects.get()
    services.student_update(student=child, by=bureau, is_boarding=True, guardian_phone="13800000000")
    assert not Enrollment.objects.on(TODAY).filter(student=child).exists()
    # Put back on the roll by hand (the child is at school again): on today's register from today.
    services.student_update(student=child, by=bureau, status=Student.Status.ENROLLED, grade=5)
    assert Enrollment.objects.on(TODAY).get(student=child).grade == 5
