"""An import row matched by its national student number that corrects the child's ID number (and so the sex
and birth date), or brings a national student number, changes the student: the import stops at a preview
showing it (masked), and the stale-preview check covers those fields (issue 15)."""

from __future__ import annotations

from datetime import date

from students import id_numbers, services
from students.models import ImportJob, Student
from tests.factories import StudentFactory, make_id_number
from tests.students.test_importing import row, upload, xlsx


def _row(school, *, number, name, nsn):
    r = row(school, number=number, name=name, stage="小学", grade=3)
    return r + [nsn]


def test_an_id_number_correction_is_previewed_before_it_is_written(bureau, school_a):
    old_number = make_id_number(date(2014, 3, 15), female=False)
    student = StudentFactory(
        school=school_a,
        grade=3,
        stage="primary",
        id_number=old_number,
        name="张小明",
        national_student_number="G" + old_number,
    )
    # The corrected ID number: another birth date and sex.
    new_number = make_id_number(date(2013, 7, 1), female=True)
    content = xlsx([_row(school_a, number=new_number, name="张小明", nsn="G" + old_number)])
    job = services.import_start(upload=upload(content), by=bureau)
    student.refresh_from_db()
    assert job.status == ImportJob.Status.PREVIEW, (job.status, job.message, student.id_number)
    assert student.id_number == old_number
    (changed,) = job.preview["changed"]
    shown = {label: (old, new) for label, old, new in changed["changes"]}
    assert shown["身份证号"] == (id_numbers.mask(old_number), id_numbers.mask(new_number))
    assert shown["性别"] == ("男", "女")
    assert shown["出生日期"] == ("2014-03-15", "2013-07-01")
    assert old_number not in str(job.preview) and new_number not in str(job.preview)
    assert job.preview["counts"]["unchanged"] == 0
    job = services.import_confirm(job=job, by=bureau)
    student.refresh_from_db()
    assert (job.status, job.updated_count) == (ImportJob.Status.DONE, 1), job.message
    assert (student.id_number, student.sex, student.birth_date) == (new_number, "F", date(2013, 7, 1))


def test_a_preview_is_stale_when_the_id_number_changed_meanwhile(bureau, school_a):
    student = StudentFactory(school=school_a, grade=3, stage="primary", name="王小刚")
    content = xlsx([_row(school_a, number=student.id_number, name="王小刚", nsn="G" + student.id_number)])
    job = services.import_start(upload=upload(content), by=bureau)
    assert job.status == ImportJob.Status.PREVIEW
    # Another clerk sets the national student number meanwhile: what the preview showed is no longer so.
    Student.objects.filter(pk=student.pk).update(national_student_number="L12345678901234567")
    job = services.import_confirm(job=job, by=bureau)
    assert job.status == ImportJob.Status.REJECTED, job.message
    student.refresh_from_db()
    assert student.national_student_number == "L12345678901234567"


def test_the_api_answers_201_for_a_checked_import_stopping_at_its_preview(bureau, school_a):
    from rest_framework.test import APIClient

    student = StudentFactory(school=school_a, grade=3, stage="primary", name="赵小军")
    client = APIClient()
    client.force_authenticate(bureau)
    content = xlsx([_row(school_a, number=student.id_number, name="赵小军", nsn="G" + student.id_number)])
    response = client.post("/api/students/import/", {"file": upload(content)}, format="multipart")
    assert response.status_code == 201, response.content[:300]
    assert response.json()["status"] == "preview"


def test_a_new_national_student_number_is_previewed(bureau, school_a):
    student = StudentFactory(
        school=school_a, grade=3, stage="primary", name="李小红", national_student_number=""
    )
    content = xlsx([_row(school_a, number=student.id_number, name="李小红", nsn="G" + student.id_number)])
    job = services.import_start(upload=upload(content), by=bureau)
    student.refresh_from_db()
    assert job.status == ImportJob.Status.PREVIEW or job.updated_count == 1, (
        job.status,
        job.message,
        job.updated_count,
        job.unchanged_count,
        student.national_student_number,
    )
