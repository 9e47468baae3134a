"""The import's write through COPY and set-based SQL (issue 19): the change history still names the import,
transfers and updates go through the staging table, and the set-based checks keep the clerk's messages."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.utils import timezone

from students import services
from students.models import (
    ImportJob,
    School,
    Student,
    StudentCategory,
    StudentCategoryEvent,
    StudentEvent,
    Transfer,
)
from tests.factories import CategoryFactory, SchoolFactory, StudentFactory, make_id_number
from tests.portal.test_database_roles import runtime  # noqa: F401 (a fixture)
from tests.students.test_importing import row, upload, xlsx


def import_rows(rows, by):
    return services.import_start(upload=upload(xlsx(rows)), by=by)


def import_and_confirm(rows, by):
    """An import that changes registered students waits at its preview: confirmed here, as the clerk would."""
    job = import_rows(rows, by)
    assert job.status == "preview", job.message
    return services.import_confirm(job=job, by=by)


def events_of(model, job):
    return model.objects.filter(pgh_context__metadata__import_job=job.pk)


def test_history_records_every_created_and_updated_row_with_the_import_as_context(bureau, school_a):
    known = StudentFactory(school=school_a, grade=2)
    same = StudentFactory(school=school_a, grade=3)
    rows = [row(school_a, name=f"学生{i}", categories="低保、留守儿童" if i < 2 else "") for i in range(3)]
    rows += [
        row(school_a, number=known.id_number, name=known.name, grade=3),  # updated
        row(school_a, number=same.id_number, name=same.name, grade=3),  # unchanged: no history row
    ]
    job = import_and_confirm(rows, bureau)
    assert (job.status, job.created_count, job.updated_count, job.unchanged_count) == ("done", 3, 1, 1)
    students = events_of(StudentEvent, job)
    assert students.filter(pgh_label="insert").count() == 3
    assert list(students.filter(pgh_label="update").values_list("pgh_obj_id", "grade")) == [(known.pk, 3)]
    assert not StudentEvent.objects.filter(pgh_obj=same, pgh_label="update").exists()
    assert events_of(StudentCategoryEvent, job).filter(pgh_label="insert").count() == 4
    context = students.first().pgh_context
    assert int(context.metadata["user"]) == bureau.pk


def test_transfer_goes_through_the_set_based_write(bureau, school_a, township_a):
    other = SchoolFactory(township=township_a)
    student = StudentFactory(school=school_a, grade=2, guardian_name="张大山", village="上坪村")
    job = import_and_confirm([row(other, number=student.id_number, name=student.name, grade=2)], bureau)
    assert (job.status, job.updated_count) == ("done", 1)
    transfer = Transfer.objects.get(student=student)
    assert (transfer.from_school, transfer.to_school, transfer.on, transfer.by) == (
        school_a,
        other,
        date.today(),
        bureau,
    )
    assert transfer.reason == "Excel 导入"
    student.refresh_from_db()
    # The move is written; blank optional cells leave what the register holds.
    assert (student.school, student.guardian_name, student.village) == (other, "张大山", "上坪村")
    assert job.results == [
        {
            "row": 2,
            "student": student.pk,
            "action": "updated",
            "changes": [["学校", school_a.name, other.name]],
        }
    ]
    update = events_of(StudentEvent, job).get(pgh_label="update")
    assert update.school_id == other.pk


def test_same_id_number_in_the_file_is_refused_with_the_first_row_named(bureau, school_a):
    number = make_id_number()
    rows = [
        row(school_a, number=number),
        row(school_a),
        row(school_a, number=number),
        row(school_a, number=number),
    ]
    job = import_rows(rows, bureau)
    assert job.status == ImportJob.Status.REJECTED
    assert [(e["row"], e["errors"]) for e in job.errors] == [
        (4, ["该身份证号与本文件第 2 行重复。"]),
        (5, ["该身份证号与本文件第 2 行重复。"]),
    ]
    assert not Student.objects.exists()


def test_messages_of_one_row_keep_the_order_of_its_cells(bureau, school_a):
    bad = make_id_number()
    bad = bad[:17] + ("0" if bad[17] != "0" else "1")
    rows = [
        [bad, "张三", "NOPE", "小学", 2, "", "否", "有钱户", "", "", "", ""],
        [bad, "", "NOPE", "学前班", 2, "", "也许", "", "无名镇", "", "", ""],
    ]
    job = import_rows(rows, bureau)
    first, second = (e["errors"] for e in job.errors)
    assert first == [
        "身份证号校验码错误，请逐位核对。",
        "学校代码“NOPE”不存在。",
        "困难类型“有钱户”无法识别。",
    ]
    assert second == [
        "身份证号校验码错误，请逐位核对。",
        "该身份证号与本文件第 2 行重复。",
        "姓名为空。",
        "学校代码“NOPE”不存在。",
        "学段“学前班”无法识别，请填写学前、小学、初中、高中、中职或特教。",
        "是否寄宿只能填“是”或“否”。",
        "乡镇“无名镇”不存在。",
    ]


def test_a_huge_grade_with_an_unknown_stage_is_refused_not_a_database_error(bureau, school_a):
    job = import_rows([row(school_a, stage="大学", grade=99999999)], bureau)
    assert job.status == ImportJob.Status.REJECTED
    assert "大学" in job.errors[0]["errors"][0]


def test_stage_the_school_does_not_teach_names_the_school_and_its_type(bureau, db):
    kindergarten = SchoolFactory(school_type=School.Type.KINDERGARTEN, name="红星幼儿园")
    job = import_rows([row(kindergarten, stage="小学", grade=1)], bureau)
    assert job.errors[0]["errors"] == ["红星幼儿园（幼儿园）不招收小学学生。"]


def test_principal_is_refused_another_school_with_its_name(principal_a, school_a, school_b):
    job = import_rows([row(school_b)], principal_a)
    assert job.errors[0]["errors"] == ["您无权向乙镇中心小学导入学生。"]


def test_current_category_is_not_opened_again_and_a_new_one_is(bureau, school_a):
    student = StudentFactory(school=school_a)
    CategoryFactory(student=student, category="dibao", valid_from=date(2020, 1, 1))
    job = import_and_confirm(
        [row(school_a, number=student.id_number, name=student.name, categories="低保、孤儿")], bureau
    )
    assert job.status == "done"
    assert sorted(StudentCategory.objects.filter(student=student).values_list("category", "source")) == [
        ("dibao", ""),
        ("orphan", "Excel 导入"),
    ]


def test_possible_duplicates_within_the_file_list_their_rows(bureau, school_a):
    birth = date(2013, 5, 1)
    rows = [
        row(school_a, number=make_id_number(birth), name="王芳"),
        row(school_a, name="李雷"),
        row(school_a, number=make_id_number(birth), name="王芳"),
    ]
    job = import_rows(rows, bureau)
    assert job.status == "done"
    assert job.duplicates == [{"name": "王芳", "birth_date": "2013-05-01", "rows": [2, 4], "students": []}]


@pytest.mark.parametrize("clean", [True, False])
def test_the_staging_table_is_gone_after_the_import(bureau, school_a, clean):
    rows = [row(school_a)] if clean else [row(school_a, categories="有钱户")]
    import_rows(rows, bureau)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('pg_temp.student_import_rows')")
        assert cursor.fetchone() == (None,)


def test_principal_sees_possible_duplicates_of_own_school_only(principal_a, school_a, school_b):
    birth = date(2014, 3, 15)
    mine = StudentFactory(school=school_a, name="刘洋", birth=birth)
    StudentFactory(school=school_b, name="刘洋", birth=birth, home_township=school_b.township)
    job = import_rows([row(school_a, number=make_id_number(birth), name="刘洋")], principal_a)
    assert job.status == "done"
    assert job.duplicates == [
        {"name": "刘洋", "birth_date": "2014-03-15", "rows": [2], "students": [mine.pk]}
    ]


@pytest.mark.django_db(transaction=True)
def test_the_runtime_role_may_stage_and_write_an_import(runtime, bureau, school_a):  # noqa: F811
    # The staging table is a temporary one: the runtime role, which may create nothing in the schema, can.
    with runtime.django():
        job = import_rows([row(school_a, name="赵六", categories="低保")], bureau)
        assert (job.status, job.created_count) == ("done", 1), job.message
        assert events_of(StudentEvent, job).filter(pgh_label="insert").count() == 1


def test_transfer_by_import_closes_the_spell_at_the_old_school_and_opens_one_at_the_new(
    bureau, school_a, township_a
):
    from datetime import timedelta

    from students.models import Enrollment

    other = SchoolFactory(township=township_a)
    student = StudentFactory(school=school_a, grade=2)
    Enrollment.objects.filter(student=student).update(valid_from=date(2024, 9, 1))
    job = import_and_confirm(
        [row(other, number=student.id_number, name=student.name, grade=2), row(school_a, name="新生")], bureau
    )
    assert (job.status, job.created_count, job.updated_count) == ("done", 1, 1), job.message
    today = timezone.localdate()
    spells = list(
        Enrollment.objects.filter(student=student)
        .order_by("valid_from")
        .values_list("school_id", "valid_from", "valid_to", "source")
    )
    assert spells[0][:3] == (school_a.pk, date(2024, 9, 1), today - timedelta(days=1))
    assert spells[1] == (other.pk, today, None, "import")
    new = Student.objects.get(name="新生")
    assert list(
        Enrollment.objects.filter(student=new).values_list("school_id", "valid_from", "valid_to", "source")
    ) == [(school_a.pk, today, None, "import")]
