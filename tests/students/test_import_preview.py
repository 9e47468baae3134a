"""An import that would change students already registered stops at a preview of each change (old → new)
and writes only when confirmed; a preview gone stale is refused."""

from __future__ import annotations

from io import BytesIO

from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from students import services
from students.models import ImportJob, Student, Transfer
from tests.factories import SchoolFactory, StudentFactory
from tests.refusals import nothing_written
from tests.students.test_importing import row, upload, xlsx


def _moving_file(student, to_school, **extra):
    return xlsx(
        [row(to_school, number=student.id_number, name=student.name, grade=4, **extra), row(to_school)]
    )


def test_an_import_that_changes_a_student_writes_nothing_before_confirmation(bureau, school_a, township_a):
    other = SchoolFactory(township=township_a, name="甲镇二小")
    student = StudentFactory(school=school_a, grade=3, stage="primary")
    with nothing_written(student, besides=(ImportJob,)):
        job = services.import_start(upload=upload(_moving_file(student, other)), by=bureau)
    assert job.status == ImportJob.Status.PREVIEW, job.message
    assert job.file  # kept until confirmed
    assert job.preview["counts"] == {"new": 1, "changed": 1, "unchanged": 0}
    (entry,) = job.preview["changed"]
    assert entry["row"] == 2 and entry["student"] == student.pk
    assert ["学校", "甲镇中心小学", "甲镇二小"] in entry["changes"]
    assert ["年级", "3", "4"] in entry["changes"]


def test_confirming_the_preview_writes_and_the_results_file_lists_old_values(
    bureau, bureau_client, school_a, township_a
):
    other = SchoolFactory(township=township_a, name="甲镇二小")
    student = StudentFactory(school=school_a, grade=3, stage="primary")
    job = services.import_start(upload=upload(_moving_file(student, other)), by=bureau)
    page = bureau_client.get(reverse("students:import_detail", args=[job.pk])).content.decode()
    assert "甲镇中心小学" in page and "甲镇二小" in page and 'id="import-confirm"' in page
    response = bureau_client.post(
        reverse("students:import_apply", args=[job.pk]), {"fingerprint": job.preview["fingerprint"]}
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.message
    assert (job.created_count, job.updated_count) == (1, 1)
    assert not job.file
    student.refresh_from_db()
    assert (student.school, student.grade) == (other, 4)
    assert Transfer.objects.filter(student=student).exists()
    results = bureau_client.get(reverse("students:import_results", args=[job.pk]))
    sheet = load_workbook(BytesIO(results.content)).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    updated = next(r for r in rows if r[1] == "更新")
    assert "学校：甲镇中心小学 → 甲镇二小" in updated[-1] and "年级：3 → 4" in updated[-1]


def test_a_stale_preview_is_refused_and_nothing_is_written(bureau, bureau_client, school_a, township_a):
    other = SchoolFactory(township=township_a)
    student = StudentFactory(school=school_a, grade=3, stage="primary")
    job = services.import_start(upload=upload(_moving_file(student, other)), by=bureau)
    services.student_update(student=student, by=bureau, guardian_phone="13900000000")  # after the preview
    before = Student.objects.count()
    bureau_client.post(
        reverse("students:import_apply", args=[job.pk]), {"fingerprint": job.preview["fingerprint"]}
    )
    job.refresh_from_db()
    assert job.status == ImportJob.Status.REJECTED
    assert "预览" in job.message
    student.refresh_from_db()
    assert (student.school, student.grade) == (school_a, 3)
    assert Student.objects.count() == before
    assert not Transfer.objects.filter(student=student).exists()


def test_an_import_that_only_adds_or_repeats_is_written_at_once(bureau, school_a):
    content = xlsx([row(school_a, name="新生")])
    first = services.import_start(upload=upload(content), by=bureau)
    again = services.import_start(upload=upload(content), by=bureau)
    assert (first.status, again.status) == (ImportJob.Status.DONE, ImportJob.Status.DONE)


def test_a_new_category_is_a_change_to_preview(bureau, school_a):
    student = StudentFactory(school=school_a, grade=3, stage="primary", name="王小二")
    content = xlsx([row(school_a, number=student.id_number, name="王小二", grade=3, categories="低保")])
    job = services.import_start(upload=upload(content), by=bureau)
    assert job.status == ImportJob.Status.PREVIEW, job.message
    (entry,) = job.preview["changed"]
    assert entry["changes"] == [["困难类型", "—", "城乡低保"]]
    assert not student.categories.exists()


def test_principal_confirms_their_own_import_through_the_api(principal_a, school_a):
    student = StudentFactory(school=school_a, grade=3, stage="primary", name="王小二")
    job = services.import_start(upload=upload(_moving_file(student, school_a)), by=principal_a)
    assert job.status == ImportJob.Status.PREVIEW, job.message
    client = APIClient()
    client.force_authenticate(principal_a)
    assert client.post(f"/api/imports/{job.pk}/apply/", {"fingerprint": "0" * 32}).status_code == 400
    assert Student.objects.get(pk=student.pk).grade == 3
    response = client.post(f"/api/imports/{job.pk}/apply/", {"fingerprint": job.preview["fingerprint"]})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "done"
    assert Student.objects.get(pk=student.pk).grade == 4


def test_another_principal_cannot_confirm_an_import(principal_a, principal_b, school_a):
    student = StudentFactory(school=school_a, grade=3, stage="primary")
    job = services.import_start(upload=upload(_moving_file(student, school_a)), by=principal_a)
    client = APIClient()
    client.force_authenticate(principal_b)
    assert client.post(f"/api/imports/{job.pk}/apply/", {}).status_code == 404
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.PREVIEW


def test_official_cannot_confirm_an_import(official, bureau, school_a):
    student = StudentFactory(school=school_a, grade=3, stage="primary")
    job = services.import_start(upload=upload(_moving_file(student, school_a)), by=bureau)
    client = APIClient()
    client.force_authenticate(official)
    assert client.post(f"/api/imports/{job.pk}/apply/", {}).status_code == 403
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.PREVIEW


def test_an_official_sees_the_preview_but_no_confirm_button(official_client, bureau, school_a):
    student = StudentFactory(school=school_a, grade=3, stage="primary")
    job = services.import_start(upload=upload(_moving_file(student, school_a)), by=bureau)
    page = official_client.get(reverse("students:import_detail", args=[job.pk]))
    if page.status_code == 200:
        body = page.content.decode()
        assert 'id="import-preview"' in body and 'id="import-confirm"' not in body
    assert official_client.post(reverse("students:import_apply", args=[job.pk])).status_code in (403, 404)
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.PREVIEW


def test_a_changed_guardian_phone_is_masked_in_the_preview(bureau, school_a):
    student = StudentFactory(
        school=school_a, grade=3, stage="primary", name="王小二", guardian_phone="13800001234"
    )
    content = xlsx([[*row(school_a, number=student.id_number, name="王小二", grade=3)[:11], "13900005678"]])
    job = services.import_start(upload=upload(content), by=bureau)
    assert job.preview["changed"][0]["changes"] == [["监护人电话", "138****1234", "139****5678"]]
