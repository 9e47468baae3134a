"""What is left behind (issue 18, outside attack): household lists' files purged, suspects who enrolled since
resolved by the registry, and a bureau's own closing with its proof like a school's request."""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from dropout_control import services, tasks
from dropout_control.models import ClosingRequest, DropoutCase, HouseholdRegisterUpload, SuspectedDropout
from students.models import Student
from tests.dropout_control.factories import open_case
from tests.dropout_control.test_register_memory import upload
from tests.factories import StudentFactory, make_id_number
from tests.refusals import nothing_written

Status = HouseholdRegisterUpload.Status


# --- the household lists' files ------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored(media) -> list[str]:
    return sorted(p.name for p in media.rglob("*") if p.is_file())


def test_the_nightly_purge_deletes_the_files_of_lists_left_unread(bureau, settings, media):
    settings.IMPORT_FILE_RETENTION_DAYS = 2
    old = timezone.now() - timedelta(days=3)

    def made(name, status, when=old):
        up = HouseholdRegisterUpload.objects.create(
            file_name=name,
            file=ContentFile(b"PK", name=name),
            as_of=date(2025, 9, 1),
            uploaded_by=bureau,
            status=status,
        )
        HouseholdRegisterUpload.objects.filter(pk=up.pk).update(uploaded_at=when)
        return up

    lost = made("lost.xlsx", Status.PENDING)  # the task never ran
    stuck = made("stuck.xlsx", Status.COMPARING)  # its worker died
    finished = made("finished.xlsx", Status.DONE)  # a file a finished comparison left
    running = made("running.xlsx", Status.CHECKING, when=timezone.now())
    orphan = media / "register" / "2026" / "01" / "orphan.xlsx"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"PK")
    os.utime(orphan, (time.time() - 3 * 86400,) * 2)

    out = StringIO()
    call_command("purge_register_uploads", stdout=out)

    assert out.getvalue().startswith("4 ")
    assert stored(media) == ["running.xlsx"]
    for up in (lost, stuck):
        up.refresh_from_db()
        assert up.status == Status.FAILED and not up.file and up.message
    finished.refresh_from_db()
    assert finished.status == Status.DONE and not finished.file
    running.refresh_from_db()
    assert running.status == Status.CHECKING and running.file


def test_the_purge_is_a_nightly_beat_task(settings, media, bureau):
    assert any(
        entry["task"] == "dropout_control.tasks.purge_register_files"
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
    )
    assert tasks.purge_register_files() == 0


# --- a suspect who enrolled since ----------------------------------------------------------------------


def test_a_suspect_who_enrolled_since_is_resolved_with_the_reason(bureau, township_a, school_a):
    number = make_id_number(date(2013, 3, 1))
    upload([(number, "后入学", township_a.name, "上坪村")], bureau)
    suspect = SuspectedDropout.objects.get()
    assert suspect.status == "pending"
    StudentFactory(id_number=number, school=school_a, status=Student.Status.ENROLLED)
    assert tasks.resolve_enrolled_suspects() == 1
    suspect.refresh_from_db()
    assert (suspect.status, suspect.clear_reason) == ("cleared", SuspectedDropout.ClearReason.ENROLLED)
    assert school_a.name in suspect.note
    assert suspect.decided_on == timezone.localdate()


def test_a_long_absent_child_is_not_resolved_while_absent(bureau, township_a, school_a):
    number = make_id_number(date(2013, 3, 2))
    student = StudentFactory(id_number=number, school=school_a, status=Student.Status.ENROLLED)
    services.long_absence_mark(student=student, since=date(2025, 5, 1), by=bureau)
    upload([(number, student.name, township_a.name, "上坪村")], bureau)
    assert SuspectedDropout.objects.get().status == "pending"
    assert tasks.resolve_enrolled_suspects() == 0


def test_a_child_resolved_as_enrolled_who_leaves_again_is_suspected_again(bureau, township_a, school_a):
    number = make_id_number(date(2013, 3, 3))
    upload([(number, "又离校", township_a.name, "上坪村")], bureau)
    student = StudentFactory(id_number=number, school=school_a, status=Student.Status.ENROLLED)
    tasks.resolve_enrolled_suspects()
    Student.objects.filter(pk=student.pk).update(status=Student.Status.SUSPENDED)
    second = upload([(number, "又离校", township_a.name, "上坪村")], bureau, as_of=date(2025, 10, 1))
    assert second.suspect_count == 1


def test_enrolled_is_not_a_reason_a_clerk_gives(bureau, township_a):
    upload([(make_id_number(date(2013, 3, 4)), "某", township_a.name, "")], bureau)
    suspect = SuspectedDropout.objects.get()
    with nothing_written(suspect), pytest.raises(ValidationError):
        services.suspect_clear(suspect=suspect, clear_reason=SuspectedDropout.ClearReason.ENROLLED, by=bureau)


# --- the bureau's own closing ---------------------------------------------------------------------------


MOVED = {"outcome": DropoutCase.Outcome.TRANSFERRED_OUT, "outcome_note": "随父母迁往广东东莞"}


def test_the_bureaus_closing_needs_the_proof(bureau, township_a):
    case = open_case(township=township_a)
    with nothing_written(case), pytest.raises(ValidationError) as exc:
        services.case_close(case=case, on=date(2025, 3, 20), by=bureau, **MOVED)
    assert "proof" in exc.value.message_dict
    services.case_close(case=case, on=date(2025, 3, 20), proof="转学联系函", by=bureau, **MOVED)
    record = ClosingRequest.objects.get(case=case)
    assert (record.status, record.proof, record.requested_by, record.decided_by) == (
        ClosingRequest.Status.CONFIRMED,
        "转学联系函",
        bureau,
        bureau,
    )


def test_the_api_and_the_page_ask_the_bureau_for_the_proof(bureau, bureau_client, township_a):
    case = open_case(township=township_a)
    client = APIClient()
    client.force_authenticate(bureau)
    body = {**MOVED, "on": "2025-03-20"}
    with nothing_written(case):
        response = client.post(f"/api/dropout/cases/{case.pk}/close/", body, format="json")
    assert response.status_code == 400 and "proof" in response.json()
    with nothing_written(case):
        bureau_client.post(reverse("dropout:case_close", args=[case.pk]), body)
    bureau_client.post(reverse("dropout:case_close", args=[case.pk]), {**body, "proof": "转学联系函"})
    case.refresh_from_db()
    assert case.status == "closed"
