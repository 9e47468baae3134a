"""The household-register comparison remembers (issue 18): decisions kept, one suspect per child, an unknown
township named without refusing the file, the out-of-county ledger, and a large list compared by a task."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from dropout_control import matching, services
from dropout_control.models import HouseholdRegisterRow, HouseholdRegisterUpload, SuspectedDropout
from students.models import Stage
from subsidies.models import OutOfCountyStudent
from tests.factories import make_id_number
from tests.refusals import nothing_written

AS_OF = date(2025, 9, 1)
Finding = HouseholdRegisterRow.Finding


def xlsx(rows) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.append(["身份证号", "姓名", "乡镇", "村"])
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    return buffer


def upload(rows, by, as_of=AS_OF):
    return matching.household_register_upload(file=xlsx(rows), file_name="户籍.xlsx", as_of=as_of, by=by)


@pytest.fixture
def children(township_a):
    return [(make_id_number(date(2013, 1, 1 + n)), f"孩子{n}", township_a.name, "上坪村") for n in range(4)]


def test_second_upload_of_the_same_list_makes_no_new_suspects_and_keeps_every_decision(children, bureau):
    first = upload(children, bureau)
    assert first.suspect_count == 4
    suspects = {s.name: s for s in SuspectedDropout.objects.all()}
    services.suspect_clear(
        suspect=suspects["孩子0"], clear_reason="studies_outside", note="广东就读", by=bureau
    )
    services.suspect_clear(suspect=suspects["孩子1"], clear_reason="moved_away", by=bureau)
    case = services.suspect_confirm(suspect=suspects["孩子2"], reason="work", found_on=AS_OF, by=bureau)
    second = upload(children, bureau, as_of=date(2025, 10, 1))
    assert (second.suspect_count, second.kept_count) == (0, 3)  # two clearances and the one still pending
    assert SuspectedDropout.objects.count() == 4
    findings = dict(HouseholdRegisterRow.objects.filter(upload=second).values_list("name", "finding"))
    assert findings == {
        "孩子0": Finding.CLEARED,
        "孩子1": Finding.CLEARED,
        "孩子2": Finding.OPEN_CASE,
        "孩子3": Finding.NOT_ENROLLED,
    }
    kept = HouseholdRegisterRow.objects.get(upload=second, name="孩子0")
    assert "县外" in kept.note or "outside" in kept.note
    decisions = dict(SuspectedDropout.objects.values_list("name", "status"))
    assert decisions == {"孩子0": "cleared", "孩子1": "cleared", "孩子2": "confirmed", "孩子3": "pending"}
    assert SuspectedDropout.objects.get(name="孩子3").last_seen == second
    assert case.status == "open"


def test_the_same_child_pending_twice_is_one_suspect(children, bureau):
    upload(children[:1], bureau)
    second = upload(children[:1], bureau, as_of=date(2025, 10, 1))
    assert SuspectedDropout.objects.count() == 1
    assert second.suspect_count == 0
    # The suspects of the second list still show the child (found earlier, listed again).
    listed = matching.ledgers_workbook(upload=second, user=bureau)["疑似辍学"]
    assert [row[2] for row in listed.iter_rows(min_row=2, values_only=True)] == ["孩子0"]


@pytest.mark.parametrize("moved", ["village", "township"])
def test_a_cleared_child_listed_elsewhere_stays_cleared(children, township_b, bureau, moved):
    """Matched by ID number: a new village or township on the list does not make a second suspect beside
    the cleared one (issue 18, outside attack); the row notes where the list now places the child."""
    upload(children[:1], bureau)
    services.suspect_clear(suspect=SuspectedDropout.objects.get(), clear_reason="moved_away", by=bureau)
    number, name, township, village = children[0]
    row = (
        (number, name, township_b.name, village)
        if moved == "township"
        else (number, name, township, "下坪村")
    )
    second = upload([row], bureau, as_of=date(2025, 10, 1))
    assert (second.suspect_count, second.kept_count) == (0, 1)
    assert not SuspectedDropout.objects.filter(status="pending").exists()
    kept = HouseholdRegisterRow.objects.get(upload=second)
    assert kept.finding == Finding.CLEARED
    assert (township_b.name if moved == "township" else "下坪村") in kept.note


def test_a_suspect_of_an_unknown_township_can_be_cleared(bureau):
    upload([(make_id_number(date(2013, 6, 1)), "外乡", "火星镇", "")], bureau)
    suspect = SuspectedDropout.objects.get()
    assert suspect.township is None
    services.suspect_clear(suspect=suspect, clear_reason="moved_away", note="户籍已迁往外省", by=bureau)
    suspect.refresh_from_db()
    assert suspect.status == "cleared"


def test_a_suspect_of_an_unknown_township_is_confirmed_with_the_township_named(bureau, township_a):
    upload([(make_id_number(date(2013, 6, 1)), "外乡", "火星镇", "")], bureau)
    suspect = SuspectedDropout.objects.get()
    with nothing_written(suspect), pytest.raises(ValidationError) as exc:
        services.suspect_confirm(suspect=suspect, reason="work", by=bureau)
    assert "township" in exc.value.message_dict
    assert "乡镇" in " ".join(exc.value.message_dict["township"]) or "township" in str(exc.value)
    case = services.suspect_confirm(suspect=suspect, reason="work", township=township_a, by=bureau)
    assert case.township == township_a


def test_the_api_clears_and_confirms_a_suspect_of_an_unknown_township(bureau, township_a):
    from rest_framework.test import APIClient

    upload(
        [
            (make_id_number(date(2013, 6, 1)), "外乡", "火星镇", ""),
            (make_id_number(date(2013, 7, 1)), "外乡二", "", ""),
        ],
        bureau,
    )
    client = APIClient()
    client.force_authenticate(bureau)
    first, second = SuspectedDropout.objects.order_by("name")
    response = client.post(f"/api/dropout/suspects/{first.pk}/confirm/", {"reason": "work"}, format="json")
    assert response.status_code == 400 and "township" in response.json()
    response = client.post(
        f"/api/dropout/suspects/{first.pk}/confirm/",
        {"reason": "work", "township": township_a.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    response = client.post(
        f"/api/dropout/suspects/{second.pk}/clear/", {"clear_reason": "moved_away"}, format="json"
    )
    assert response.status_code == 200, response.content


def test_one_unknown_township_names_the_row_and_keeps_the_rest(children, bureau):
    rows = [*children[:2], (make_id_number(date(2013, 6, 1)), "外乡", "火星镇", "")]
    up = upload(rows, bureau)
    assert up.row_count == 3
    assert [p["row"] for p in up.problems] == [4]
    assert "火星镇" in up.problems[0]["message"]
    assert HouseholdRegisterRow.objects.get(name="外乡").township is None
    assert up.suspect_count == 3


def test_bad_id_number_still_refuses_the_whole_file(children, bureau):
    with nothing_written(), pytest.raises(ValidationError):
        upload([*children, ("360730201401019999", "错号", "甲镇", "")], bureau)
    assert not HouseholdRegisterUpload.objects.exists()


def test_out_of_county_ledger_clears_the_child_and_names_the_letter(children, township_a, bureau):
    number, name, *_ = children[0]
    OutOfCountyStudent.objects.create(
        id_number=number,
        name=name,
        home_township=township_a,
        destination_county_code="441900",
        destination_county="广东省东莞市",
        destination_school="东莞市第一小学",
        stage=Stage.PRIMARY,
        school_year=2025,
        follow_up="sent",
        letter_sent_on=date(2025, 9, 20),
    )
    up = upload(children[:2], bureau, as_of=date(2025, 10, 1))
    row = HouseholdRegisterRow.objects.get(upload=up, id_number=number)
    assert row.finding == Finding.OUT_OF_COUNTY
    assert "广东省东莞市" in row.note and "2025-09-20" in row.note
    assert up.suspect_count == 1
    assert not SuspectedDropout.objects.filter(id_number=number).exists()


def test_a_large_list_is_compared_by_a_task_with_progress(
    children, bureau, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_ASYNC_THRESHOLD_BYTES = 10  # every file is "large": the task path (eager in tests)
    data = xlsx(children).getvalue()
    file = SimpleUploadedFile("户籍.xlsx", data)
    with django_capture_on_commit_callbacks(execute=True):
        started = matching.household_register_start(file=file, file_name="户籍.xlsx", as_of=AS_OF, by=bureau)
    up = HouseholdRegisterUpload.objects.get(pk=started.pk)
    assert (up.status, up.total_rows, up.processed_rows, up.suspect_count) == ("done", 4, 4, 4)
    assert up.progress_percent == 100 and not up.file  # the list's file is deleted once read


def test_a_refused_large_list_ends_refused_with_its_reasons(
    children, bureau, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_ASYNC_THRESHOLD_BYTES = 10
    data = xlsx([*children, ("360730201401019999", "错号", "甲镇", "")]).getvalue()
    with django_capture_on_commit_callbacks(execute=True):
        started = matching.household_register_start(
            file=SimpleUploadedFile("户籍.xlsx", data), file_name="户籍.xlsx", as_of=AS_OF, by=bureau
        )
    up = HouseholdRegisterUpload.objects.get(pk=started.pk)
    assert up.status == "rejected" and "第 6 行" in up.message
    assert not HouseholdRegisterRow.objects.exists() and not SuspectedDropout.objects.exists()


def test_upload_page_polls_until_the_task_has_finished(bureau_client, bureau):
    pending = HouseholdRegisterUpload.objects.create(
        file_name="户籍.xlsx",
        as_of=AS_OF,
        uploaded_by=bureau,
        status="checking",
        total_rows=100,
        processed_rows=40,
    )
    body = bureau_client.get(f"/dropout/register/{pending.pk}/").content.decode()
    assert 'http-equiv="refresh"' in body and 'value="40"' in body


def test_the_pages_clear_and_confirm_a_suspect_of_an_unknown_township(bureau, bureau_client, township_a):
    from django.urls import reverse

    upload(
        [
            (make_id_number(date(2013, 6, 1)), "外乡", "火星镇", ""),
            (make_id_number(date(2013, 7, 1)), "外乡二", "", ""),
        ],
        bureau,
    )
    first, second = SuspectedDropout.objects.order_by("name")
    page = bureau_client.get(reverse("dropout:suspect_list")).content.decode()
    assert 'name="township"' in page
    response = bureau_client.post(
        reverse("dropout:suspect_confirm", args=[first.pk]),
        {"reason": "work", "found_on": str(AS_OF)},
        follow=True,
    )
    assert "选择孩子居住的乡镇" in response.content.decode()
    first.refresh_from_db()
    assert first.status == "pending"
    bureau_client.post(
        reverse("dropout:suspect_confirm", args=[first.pk]),
        {"reason": "work", "found_on": str(AS_OF), "township": township_a.pk},
    )
    bureau_client.post(reverse("dropout:suspect_clear", args=[second.pk]), {"clear_reason": "moved_away"})
    assert dict(SuspectedDropout.objects.values_list("name", "status")) == {
        "外乡": "confirmed",
        "外乡二": "cleared",
    }


def test_a_repeated_id_number_keeps_the_first_row_and_names_the_others(children, bureau):
    """One child listed twice does not refuse the whole county's list (issue 18, outside attack)."""
    number, *_ = children[0]
    rows = [*children, (number, "重复一", "甲镇", "下坪村"), (number, "重复二", "甲镇", "")]
    up = upload(rows, bureau)
    assert up.row_count == 4
    assert [p["row"] for p in up.problems] == [6, 7]
    assert all("2" in p["message"] for p in up.problems)  # the row kept is named
    assert HouseholdRegisterRow.objects.get(upload=up, id_number=number).name == "孩子0"
    assert SuspectedDropout.objects.filter(id_number=number).count() == 1


def test_the_task_keeps_the_first_of_a_repeated_row_too(children, bureau):
    number, *_ = children[0]
    parsed, problems = matching.parse_rows(
        [["身份证号", "姓名", "乡镇", "村"], list(children[0]), [number, "重复", "甲镇", ""]], as_of=AS_OF
    )
    assert [p.name for p in parsed] == ["孩子0"]
    assert [p["row"] for p in problems] == [3]
