"""Attack (issue 15): an import row matched by its national student number that corrects the child's ID
number (and so the sex and birth date) changes the student, yet the preview does not show it: the file is
written without any confirmation and the results call the row 未变更/unchanged."""

from __future__ import annotations

from datetime import date

from students import services
from students.models import ImportJob
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
    # Expected: the import stops at a preview showing 身份证号 old → new (and nothing written yet).
    # Actual: the job is DONE at once, the ID number, sex and birth date rewritten, and the row counted unchanged.
    assert job.status == ImportJob.Status.PREVIEW, (job.status, job.message, student.id_number)
    assert student.id_number == old_number


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
