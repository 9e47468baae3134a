"""Student import from Excel: all or nothing, every bad row reported, re-import updates, no duplicates."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from students import demo, importing, services
from students.models import ImportJob, School, Student, StudentCategory, Transfer
from tests import xlsx_attacks
from tests.conftest import PASSWORD
from tests.factories import SchoolFactory, StudentFactory, make_id_number
from tests.refusals import nothing_written

HEADER = [c[0] for c in importing.COLUMNS]


def xlsx(rows, header=HEADER) -> bytes:
    wb = Workbook()
    ws = wb.active
    if header:
        ws.append(header)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def upload(content: bytes, name: str = "学生.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def row(school, *, number=None, name="王小二", stage="小学", grade=3, boarding="否", categories="", **extra):
    return [
        number or make_id_number(),
        name,
        school.code,
        stage,
        grade,
        "",
        boarding,
        categories,
        "",
        "",
        "",
        "",
    ]


def bad_check_digit(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def test_clean_file_is_imported_in_one_go(bureau, school_a):
    rows = [row(school_a, name=f"学生{i}", categories="脱贫户、留守儿童" if i == 0 else "") for i in range(5)]
    job = services.import_start(upload=upload(xlsx(rows)), by=bureau)
    assert job.status == ImportJob.Status.DONE, job.message
    assert job.created_count == 5
    assert Student.objects.filter(school=school_a).count() == 5
    first = Student.objects.get(name="学生0")
    assert first.categories_on(date.today()) == {"poverty_alleviated", "left_behind"}
    assert first.household_county_code == first.id_number[:6]


def test_reimporting_the_same_file_creates_no_duplicates(bureau, school_a):
    content = xlsx([row(school_a, name=f"学生{i}", categories="低保") for i in range(4)])
    services.import_start(upload=upload(content), by=bureau)
    again = services.import_start(upload=upload(content), by=bureau)
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 4)
    assert Student.objects.count() == 4
    assert StudentCategory.objects.count() == 4


def test_reimport_updates_by_id_number_and_records_a_transfer(bureau, school_a, township_a):
    other = SchoolFactory(township=township_a)
    student = StudentFactory(school=school_a, grade=2)
    content = xlsx([row(other, number=student.id_number, name=student.name, grade=3)])
    job = services.import_start(upload=upload(content), by=bureau)
    assert job.status == ImportJob.Status.PREVIEW  # a change to a registered student waits for confirmation
    job = services.import_confirm(job=job, by=bureau)
    assert job.updated_count == 1
    student.refresh_from_db()
    assert (student.school, student.grade) == (other, 3)
    assert Transfer.objects.get(student=student).to_school == other


def test_any_bad_row_refuses_the_whole_file_and_lists_every_bad_row(bureau, school_a):
    kindergarten = SchoolFactory(school_type=School.Type.KINDERGARTEN)
    good = make_id_number()
    rows = [
        row(school_a, number=good),
        row(school_a, number=bad_check_digit(make_id_number())),  # row 3
        row(school_a, number=good),  # row 4: same ID again
        [make_id_number(), "张三", "NOPE", "小学", 2, "", "否", "", "", "", "", ""],  # row 5
        row(kindergarten),  # row 6: a kindergarten has no primary pupils
        row(school_a, grade=9),  # row 7
        row(school_a, categories="有钱户"),  # row 8
    ]
    with nothing_written(besides=(ImportJob,)):
        job = services.import_start(upload=upload(xlsx(rows)), by=bureau)
    assert job.status == ImportJob.Status.REJECTED
    reasons = {e["row"]: " ".join(e["errors"]) for e in job.errors}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8]
    assert "校验码" in reasons[3]
    assert "第 2 行" in reasons[4]
    assert "NOPE" in reasons[5]
    assert "幼儿园" in reasons[6]
    assert "9" in reasons[7]
    assert "有钱户" in reasons[8]


def test_a_bad_row_leaves_the_students_a_good_row_would_change_as_they_were(bureau, school_a, school_b):
    """A re-import that moves, renames and categorises known pupils changes none of them if a row is bad."""
    known = StudentFactory(school=school_a, name="王小二")
    rows = [
        row(
            school_b, number=known.id_number, name="王二", categories="低保"
        ),  # a move, a new name, a category
        row(school_a),  # a new pupil
        row(school_a, number=bad_check_digit(make_id_number())),
    ]
    with nothing_written(known, besides=(ImportJob,)):
        job = services.import_start(upload=upload(xlsx(rows)), by=bureau)
    assert job.status == ImportJob.Status.REJECTED
    assert [e["row"] for e in job.errors] == [4]
    fixed = services.import_start(upload=upload(xlsx(rows[:2])), by=bureau)  # the same file without it
    fixed = services.import_confirm(job=fixed, by=bureau)
    assert fixed.status == ImportJob.Status.DONE
    known.refresh_from_db()
    assert (known.school, known.name) == (school_b, "王二")
    assert Transfer.objects.filter(student=known).exists() and known.categories.exists()


def test_future_birth_date_in_id_is_refused(bureau, school_a):
    from students import id_numbers

    future = id_numbers.make("360730", date(2099, 1, 1), 21)
    job = services.import_start(upload=upload(xlsx([row(school_a, number=future)])), by=bureau)
    assert job.status == ImportJob.Status.REJECTED
    assert "未来" in job.errors[0]["errors"][0] or "晚于" in job.errors[0]["errors"][0]


def test_principal_cannot_import_into_another_school(principal_a, school_a, school_b):
    rows = [row(school_a), row(school_b)]
    with nothing_written(besides=(ImportJob,)):
        job = services.import_start(upload=upload(xlsx(rows)), by=principal_a)
    assert job.status == ImportJob.Status.REJECTED
    assert [e["row"] for e in job.errors] == [3]


def test_principal_cannot_take_over_another_school_student(principal_a, school_a, student_b):
    with nothing_written(student_b, besides=(ImportJob,)):
        job = services.import_start(
            upload=upload(xlsx([row(school_a, number=student_b.id_number)])), by=principal_a
        )
    assert job.status == ImportJob.Status.REJECTED


def test_csv_renamed_to_xlsx_is_refused(bureau):
    job = services.import_start(upload=upload("身份证号,姓名\n1,2\n".encode(), "名单.xlsx"), by=bureau)
    assert job.status == ImportJob.Status.REJECTED
    assert "xlsx" in job.message


def test_empty_file_is_refused(bureau):
    job = services.import_start(upload=upload(b"x"[:0] or b" ", "空.xlsx"), by=bureau)
    assert job.status == ImportJob.Status.REJECTED


def test_header_only_file_is_refused(bureau):
    job = services.import_start(upload=upload(xlsx([])), by=bureau)
    assert job.status == ImportJob.Status.REJECTED
    assert "没有" in job.message


def test_missing_columns_are_named(bureau):
    job = services.import_start(upload=upload(xlsx([["1", "2"]], header=["姓名", "年级"])), by=bureau)
    assert job.status == ImportJob.Status.REJECTED
    assert "身份证号" in job.message and "学校代码" in job.message


def test_too_many_rows_is_refused(bureau, school_a, settings):
    settings.IMPORT_MAX_ROWS = 20
    job = services.import_start(upload=upload(xlsx([row(school_a) for _ in range(25)])), by=bureau)
    assert job.status == ImportJob.Status.REJECTED
    assert "25" in job.message
    assert not Student.objects.exists()


def test_formulas_are_refused(bureau, school_a):
    rows = [row(school_a)]
    rows[0][1] = '=HYPERLINK("http://example.com","张三")'
    job = services.import_start(upload=upload(xlsx(rows)), by=bureau)
    assert job.status == ImportJob.Status.REJECTED
    assert "公式" in job.message


def test_zip_bomb_is_refused(bureau):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (50 * 1024 * 1024))
    job = services.import_start(upload=upload(buffer.getvalue()), by=bureau)
    assert job.status == ImportJob.Status.REJECTED
    assert "过多" in job.message or "解压" in job.message


def test_possible_duplicates_are_listed_not_merged(bureau, school_a):
    existing = StudentFactory(school=school_a, name="刘洋", birth=date(2014, 3, 15))
    other_id = make_id_number(date(2014, 3, 15))
    job = services.import_start(upload=upload(xlsx([row(school_a, number=other_id, name="刘洋")])), by=bureau)
    assert job.status == ImportJob.Status.DONE
    assert Student.objects.filter(name="刘洋").count() == 2
    assert job.duplicates[0]["students"] == [existing.pk]


def test_official_cannot_import(official_client, school_a):
    assert official_client.get(reverse("students:student_import")).status_code == 403
    with nothing_written():  # not even the import job
        response = official_client.post(
            reverse("students:student_import"), {"file": upload(xlsx([row(school_a)]))}
        )
    assert response.status_code == 403


def test_official_cannot_import_through_the_api(official, school_a):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(official)
    with nothing_written():
        response = client.post(
            "/api/students/import/", {"file": upload(xlsx([row(school_a)]))}, format="multipart"
        )
    assert response.status_code == 403


def test_an_api_import_without_a_file_is_a_400_and_writes_nothing(bureau):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(bureau)
    with nothing_written():
        response = client.post("/api/students/import/", {"upload": "学生.xlsx"}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()


def test_upload_page_errors_file_and_results_file(bureau_client, school_a):
    good = xlsx([row(school_a, name="甲"), row(school_a, name="乙")])
    response = bureau_client.post(reverse("students:student_import"), {"file": upload(good)})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "students:import_detail", args=[job.pk]
    )
    page = bureau_client.get(response["Location"]).content.decode()
    assert "已导入" in page
    results = load_workbook(
        io.BytesIO(bureau_client.get(reverse("students:import_results", args=[job.pk])).content)
    )
    values = list(results.active.values)
    assert values[0][:2] == ("行号", "处理") and {v[3] for v in values[1:]} == {"甲", "乙"}

    bad = xlsx([row(school_a, number=bad_check_digit(make_id_number()), name="丙")])
    bureau_client.post(reverse("students:student_import"), {"file": upload(bad)})
    job = ImportJob.objects.order_by("-pk").first()
    errors = load_workbook(
        io.BytesIO(bureau_client.get(reverse("students:import_errors", args=[job.pk])).content)
    )
    rows = list(errors.active.values)
    assert rows[1][:3] == ("行号", "身份证号", "姓名")
    assert rows[2][0] == 2 and rows[2][2] == "丙" and "校验码" in rows[2][3]


def test_template_download_has_the_chinese_headers(bureau_client):
    response = bureau_client.get(reverse("students:import_template"))
    header = next(load_workbook(io.BytesIO(response.content)).active.values)
    assert list(header[:8]) == [
        "身份证号",
        "姓名",
        "学校代码",
        "学段",
        "年级",
        "户籍地",
        "是否寄宿",
        "困难类型",
    ]


def test_principal_cannot_see_another_users_import(principal_a_client, principal_b, school_b):
    job = services.import_start(upload=upload(xlsx([row(school_b)])), by=principal_b)
    assert principal_a_client.get(reverse("students:import_detail", args=[job.pk])).status_code == 404


def test_api_import_and_poll(bureau, school_a):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(bureau)
    response = client.post(
        "/api/students/import/", {"file": upload(xlsx([row(school_a)]))}, format="multipart"
    )
    assert response.status_code == 201
    job = client.get(f"/api/imports/{response.json()['id']}/").json()
    assert (job["status"], job["created_count"]) == ("done", 1)


def test_demo_county_round_trips_through_excel(bureau_client, bureau):
    rng = random.Random(7)
    schools = demo.build_registry(rng=rng)
    demo.build_students(rng=rng, schools=schools, count=300)
    before = Student.objects.count()
    exported = bureau_client.post(reverse("students:student_export"), {"password": PASSWORD}).content
    assert len(list(load_workbook(io.BytesIO(exported)).active.values)) == before + 1
    job = services.import_start(upload=upload(exported), by=bureau)
    assert job.status == ImportJob.Status.DONE, job.errors[:3]
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 0, before)
    assert Student.objects.count() == before


def test_export_masks_id_numbers_by_default(bureau_client, student_a):
    exported = bureau_client.get(reverse("students:student_export")).content
    rows = list(load_workbook(io.BytesIO(exported)).active.values)
    assert rows[1][0] == student_a.masked_id_number


def test_officials_cannot_export_full_id_numbers(official_client, student_a):
    assert official_client.post(reverse("students:student_export"), {"password": PASSWORD}).status_code == 403
    exported = official_client.get(reverse("students:student_export"), {"full": "1"}).content
    assert list(load_workbook(io.BytesIO(exported)).active.values)[1][0] == student_a.masked_id_number


def test_full_export_asks_for_the_password_again_and_is_logged(bureau_client, bureau, student_a):
    from portal.models import AccessLog

    page = bureau_client.get(reverse("students:student_export"), {"full": "1"})
    assert page["Content-Type"].startswith("text/html") and "密码" in page.content.decode()
    wrong = bureau_client.post(reverse("students:student_export"), {"password": "not-my-password"})
    assert wrong["Content-Type"].startswith("text/html")
    right = bureau_client.post(reverse("students:student_export"), {"password": PASSWORD})
    assert list(load_workbook(io.BytesIO(right.content)).active.values)[1][0] == student_a.id_number
    entry = AccessLog.objects.get(action=AccessLog.Action.EXPORT, user=bureau)
    assert "full" in entry.detail


@pytest.mark.django_db(transaction=True)
def test_large_import_runs_on_the_real_celery_worker(celery_worker_real, settings, bureau, school_a):
    settings.IMPORT_ASYNC_THRESHOLD_BYTES = 1
    job = services.import_start(
        upload=upload(xlsx([row(school_a, name=f"学生{i}") for i in range(30)])), by=bureau
    )
    assert job.status == ImportJob.Status.PENDING  # queued, not run in the request
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            break
        time.sleep(0.2)
    assert job.status == ImportJob.Status.DONE, job.message
    assert Student.objects.count() == 30


def test_export_writes_formula_like_names_as_text(bureau_client, school_a):
    StudentFactory(school=school_a, name="=HYPERLINK(1)")
    exported = bureau_client.get(reverse("students:student_export")).content
    assert list(load_workbook(io.BytesIO(exported)).active.values)[1][1] == "'=HYPERLINK(1)"


# --- issue 11: the 1.5 KB file with one cell at XFD150000 ----------------------------------------------


def test_far_cell_file_is_refused_through_the_page_and_nothing_is_written(bureau_client, school_a):
    response = bureau_client.post(
        reverse("students:student_import"), {"file": upload(xlsx_attacks.far_cell())}, follow=True
    )
    assert response.status_code == 200
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.REJECTED
    assert "XFD150000" in job.message and "XFD150000" in response.content.decode()
    assert ImportJob.objects.count() == 1 and not Student.objects.exists()


def test_far_cell_file_is_refused_through_the_api(bureau):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(bureau)
    with nothing_written(besides=(ImportJob,)):
        response = client.post(
            "/api/students/import/", {"file": upload(xlsx_attacks.far_cell())}, format="multipart"
        )
    # 201, not 400: the upload is accepted as an import job, which records why the file was refused.
    assert response.status_code == 201
    assert response.json()["status"] == "rejected"
    assert "XFD150000" in response.json()["message"]


def test_far_cell_file_run_as_a_task_ends_refused_not_pending(
    bureau, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_ASYNC_THRESHOLD_BYTES = 1
    with django_capture_on_commit_callbacks(execute=True):
        job = services.import_start(upload=upload(xlsx_attacks.far_cell()), by=bureau)
    assert job.status == ImportJob.Status.PENDING  # queued, then run by the task
    job.refresh_from_db()
    assert job.status == ImportJob.Status.REJECTED
    assert "XFD150000" in job.message
    assert not Student.objects.exists()
