"""Issue 11, finding 12: uploaded import files (whole ID numbers) are kept only while the import needs them."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from students import services
from students.models import ImportJob
from tests import xlsx_attacks
from tests.students.test_importing import row, upload, xlsx


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored(media) -> list[str]:
    return sorted(p.name for p in media.rglob("*") if p.is_file())


def test_the_upload_is_deleted_when_the_import_ends(bureau, school_a, media):
    done = services.import_start(upload=upload(xlsx([row(school_a)])), by=bureau)
    refused = services.import_start(upload=upload(xlsx_attacks.far_cell()), by=bureau)
    assert (done.status, refused.status) == (ImportJob.Status.DONE, ImportJob.Status.REJECTED)
    assert not ImportJob.objects.exclude(file="").exists()
    assert stored(media) == []


def test_the_upload_of_a_queued_import_is_deleted_when_the_task_ends(
    bureau, school_a, settings, media, django_capture_on_commit_callbacks
):
    settings.IMPORT_ASYNC_THRESHOLD_BYTES = 1
    with django_capture_on_commit_callbacks(execute=True):
        job = services.import_start(upload=upload(xlsx([row(school_a)])), by=bureau)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert stored(media) == []


def test_the_nightly_purge_ends_lost_imports_and_deletes_what_they_left(bureau, settings, media):
    settings.IMPORT_FILE_RETENTION_DAYS = 2
    old = timezone.now() - timedelta(days=3)

    def job(name, status):
        made = ImportJob.objects.create(
            uploaded_by=bureau, file=ContentFile(b"PK", name=name), filename=name, status=status
        )
        ImportJob.objects.filter(pk=made.pk).update(created_at=old)
        return made

    lost = job("lost.xlsx", ImportJob.Status.VALIDATING)  # its worker died
    finished = job("finished.xlsx", ImportJob.Status.REJECTED)  # from before imports deleted their file
    running = ImportJob.objects.create(
        uploaded_by=bureau, file=ContentFile(b"PK", name="running.xlsx"), filename="running.xlsx"
    )
    orphan = media / "imports" / "2026" / "01" / "orphan.xlsx"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"PK")
    os.utime(orphan, (time.time() - 3 * 86400,) * 2)

    out = StringIO()
    call_command("purge_imports", stdout=out)

    assert out.getvalue().startswith("3 ")
    assert stored(media) == ["running.xlsx"]
    lost.refresh_from_db()
    assert lost.status == ImportJob.Status.FAILED and lost.finished_at is not None
    finished.refresh_from_db()
    assert finished.status == ImportJob.Status.REJECTED and not finished.file
    running.refresh_from_db()
    assert running.status == ImportJob.Status.PENDING and running.file
