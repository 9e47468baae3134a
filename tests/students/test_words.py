"""The registry's words read the same on the pages, in the import template and in an export (issue 15)."""

from __future__ import annotations

import io

from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook, load_workbook

from students import importing, services
from students.models import Student, StudentCategory
from tests.factories import make_id_number


def _xlsx(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append([c[0] for c in importing.COLUMNS])
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_an_imported_disabled_child_reads_as_disabled_not_deactivated(bureau, bureau_client, school_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = _xlsx(
        [[make_id_number(), "王小二", school_a.code, "小学", 3, "", "否", "残疾", "", "", "", ""]]
    )
    job = services.import_start(upload=SimpleUploadedFile("学生.xlsx", content), by=bureau)
    assert job.created_count == 1, job.message
    student = Student.objects.get(name="王小二")

    page = bureau_client.get(reverse("students:student_detail", args=[student.pk])).content.decode()
    assert "<td>残疾</td>" in page
    assert "禁用" not in page
    listing = bureau_client.get(reverse("students:student_list"), {"category": "disabled"}).content.decode()
    assert "禁用" not in listing

    exported = load_workbook(io.BytesIO(bureau_client.get(reverse("students:student_export")).content))
    sheet = exported["学生名单"]
    header = [c.value for c in sheet[1]]
    assert sheet.cell(row=2, column=header.index("困难类型") + 1).value == "残疾"


def test_the_import_template_uses_the_words_of_the_pages():
    with translation.override("zh-hans"):
        for category, word in importing.CATEGORY_LABEL.items():
            assert word == str(StudentCategory.Category(category).label)
            assert importing.CATEGORY_NAMES[word] == category


def test_the_template_example_school_code_looks_like_a_real_one(bureau_client):
    wb = load_workbook(io.BytesIO(bureau_client.get(reverse("students:import_template")).content))
    sheet = wb["学生名单"]
    header = [c.value for c in sheet[1]]
    code = str(sheet.cell(row=2, column=header.index("学校代码") + 1).value)
    assert code.isdigit() and len(code) == 11
    categories = sheet.cell(row=2, column=header.index("困难类型") + 1).value
    with translation.override("zh-hans"):
        labels = {str(label) for label in StudentCategory.Category.labels}
    assert set(categories.split("、")) <= labels


def test_a_transfer_in_the_history_names_the_schools_not_their_ids(
    bureau, bureau_client, student_a, school_b
):
    from datetime import date

    from tests.portal.walking import page_problems, raw_choice_values

    services.student_transfer(student=student_a, to_school=school_b, on=date(2026, 9, 1), by=bureau)
    page = bureau_client.get(reverse("students:student_detail", args=[student_a.pk])).content.decode()
    assert "甲镇中心小学 → 乙镇中心小学" in page
    assert page_problems(page, raw_values=raw_choice_values(), allowed={bureau.username}) == []
