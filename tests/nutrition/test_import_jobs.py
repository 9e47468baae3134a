"""The month-of-meals import as a job (issue 19): a large file runs as a Celery task with progress, its page
and the API show the job, and a refusal keeps only the job with every bad row."""

from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook
from rest_framework.test import APIClient

from nutrition import importing, services
from nutrition.importing import HEADER
from nutrition.models import MealImport, MealRecord, MealRecordEvent
from tests.refusals import nothing_written

pytestmark = pytest.mark.django_db

GOOD = [("2022-10-14", "小学", 6), ("2022-10-14", "初中", 3), ("2022-10-17", "小学", 5)]


def xlsx(rows, name="meals.xlsx") -> SimpleUploadedFile:
    book = Workbook()
    book.active.append(HEADER)
    for row in rows:
        book.active.append(list(row))
    out = BytesIO()
    book.save(out)
    return SimpleUploadedFile(name, out.getvalue())


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def large(settings):
    """Every upload counts as large: it is stored and run by the Celery task."""
    settings.MEAL_IMPORT_ASYNC_THRESHOLD_BYTES = 0


def test_a_large_month_runs_as_a_task_and_the_api_returns_the_job(
    large, principal_a, pilot_a, school_a, django_capture_on_commit_callbacks
):
    rows = [(school_a.code, *row) for row in GOOD]
    client = api_for(principal_a)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(
            "/api/nutrition/meals/import/",
            {"term": pilot_a.term_id, "month": "2022-10", "file": xlsx(rows)},
            format="multipart",
        )
    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "pending" and not job["finished"] and job["progress"] == 0
    assert MealRecord.objects.count() == 0 and len(queued) == 1
    queued[0]()  # the Celery task (eager in tests), as the worker runs it after the commit
    polled = client.get(f"/api/nutrition/meal-imports/{job['id']}/").json()
    assert polled["status"] == "done" and polled["finished"] and polled["progress"] == 100
    assert polled["total_rows"] == polled["processed_rows"] == 3 and polled["imported"] == 3
    assert MealRecord.objects.count() == 3
    stored = MealImport.objects.get(pk=job["id"])
    assert not stored.file and stored.seconds is not None  # the stored upload goes when the job ends
    events = MealRecordEvent.objects.filter(pgh_label="insert")
    assert events.count() == 3
    assert {int(e.pgh_context.metadata["user"]) for e in events} == {principal_a.pk}


def test_the_job_page_shows_progress_until_it_ends(large, principal_a_client, pilot_a, school_a):
    response = principal_a_client.post(
        "/nutrition/meals/import/",
        {"term": pilot_a.term_id, "month": "2022-10", "file": xlsx([(school_a.code, *GOOD[0])])},
    )
    job = MealImport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/nutrition/meals/import/{job.pk}/"
    waiting = principal_a_client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in waiting and "<progress" in waiting
    importing.run(job)
    done = principal_a_client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' not in done and "已导入 1 条供餐记录" in done


def test_a_refused_large_file_keeps_only_the_job_with_every_bad_row(
    large, principal_a, pilot_a, school_a, django_capture_on_commit_callbacks
):
    rows = [(school_a.code, *GOOD[0]), (school_a.code, "2022-10-15", "小学", 6), ("999", *GOOD[1])]
    with (
        nothing_written(pilot_a, besides=(MealImport,)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        job = importing.meal_import_start(
            file=xlsx(rows), term=pilot_a.term, month=date(2022, 10, 1), by=principal_a
        )
    job.refresh_from_db()
    assert job.status == MealImport.Status.REJECTED and job.imported == 0
    assert [e[:4] for e in job.errors] == ["第3行：", "第4行："]


def test_progress_is_saved_while_the_rows_are_checked(principal_a, pilot_a, school_a, monkeypatch):
    monkeypatch.setattr(importing, "PROGRESS_EVERY", 1)
    seen = []
    rows = [[school_a.code, *row] for row in GOOD]
    records, errors = importing.check_rows(
        rows, term=pilot_a.term, month=date(2022, 10, 1), importer=principal_a, on_progress=seen.append
    )
    assert len(records) == 3 and not errors
    assert seen == [1, 2, 3]


def test_a_term_closed_while_the_job_waited_refuses_it(large, principal_a, bureau, pilot_a, school_a):
    job = importing.meal_import_start(
        file=xlsx([(school_a.code, *GOOD[0])]), term=pilot_a.term, month=date(2022, 10, 1), by=principal_a
    )
    services.term_close(term=pilot_a.term, by=bureau)
    job = importing.run(MealImport.objects.get(pk=job.pk))
    assert job.status == MealImport.Status.REJECTED and len(job.errors) == 1
    assert str(pilot_a.term) in job.errors[0]
    assert MealRecord.objects.count() == 0


def test_a_principal_sees_only_their_own_imports(
    large, principal_a, principal_b, principal_b_client, bureau, official, pilot_a, school_a
):
    job = importing.meal_import_start(
        file=xlsx([(school_a.code, *GOOD[0])]), term=pilot_a.term, month=date(2022, 10, 1), by=principal_a
    )
    assert api_for(principal_b).get(f"/api/nutrition/meal-imports/{job.pk}/").status_code == 404
    assert principal_b_client.get(f"/nutrition/meals/import/{job.pk}/").status_code == 404
    assert api_for(principal_b).get("/api/nutrition/meal-imports/").json()["count"] == 0
    assert api_for(official).get("/api/nutrition/meal-imports/").json()["count"] == 1
    assert api_for(principal_a).get("/api/nutrition/meal-imports/").json()["count"] == 1


def test_an_official_cannot_start_an_import(official, pilot_a, school_a):
    with nothing_written(pilot_a):
        response = api_for(official).post(
            "/api/nutrition/meals/import/",
            {"term": pilot_a.term_id, "month": "2022-10", "file": xlsx([(school_a.code, *GOOD[0])])},
            format="multipart",
        )
    assert response.status_code == 403
