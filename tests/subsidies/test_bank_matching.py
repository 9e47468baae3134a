"""The bank's payroll file out and result file back; data matching against other departments' lists."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from openpyxl import load_workbook

from portal.models import AccessLog
from students.models import Stage, StudentCategory
from subsidies import bank, matching, services
from subsidies.models import AidType, MatchResult, Payment
from tests.conftest import PASSWORD
from tests.factories import make_id_number
from tests.refusals import nothing_written
from tests.subsidies.conftest import xlsx

PA, DIBAO = "poverty_alleviated", "dibao"


@pytest.fixture
def approved(bureau, make_student, school_a):
    students = [
        make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, name=f"学生{i}")
        for i in range(3)
    ]
    for i, s in enumerate(students[:2]):
        services.bank_account_set(
            student=s,
            holder_name=f"家长{i}",
            bank_name="农商银行",
            account_number=f"62170012345678901{i}",
            by=bureau,
        )
    batch = services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    return batch


def _read(wb_bytes) -> list[list]:
    return [list(r) for r in load_workbook(io.BytesIO(wb_bytes)).active.iter_rows(values_only=True)]


def test_payroll_file_asks_the_password_again_and_is_logged(bureau_client, approved):
    url = reverse("subsidies:batch_bank_file", args=[approved.pk])
    assert "password" in bureau_client.get(url).content.decode()
    response = bureau_client.post(url, {"password": "wrong"})
    assert response["Content-Type"].startswith("text/html")
    assert not AccessLog.objects.filter(action=AccessLog.Action.EXPORT).exists()
    bureau_client.post(url, {"password": PASSWORD})
    assert AccessLog.objects.filter(action=AccessLog.Action.EXPORT, object_id=str(approved.pk)).exists()


def test_payroll_file_has_full_account_and_amount(bureau_client, approved):
    response = bureau_client.post(
        reverse("subsidies:batch_bank_file", args=[approved.pk]), {"password": PASSWORD}
    )
    assert response.status_code == 200
    rows = _read(response.content)
    assert rows[0][:5] == ["序号", "户名", "账号", "开户银行", "金额"]
    assert {r[2] for r in rows[1:]} == {"621700123456789010", "621700123456789011"}
    assert {r[4] for r in rows[1:]} == {500}
    missing = load_workbook(io.BytesIO(response.content))["无账户"]
    assert [r[0] for r in missing.iter_rows(min_row=2, values_only=True)] == ["学生2"]


def test_payroll_file_is_bureau_only(principal_a_client, official_client, approved):
    url = reverse("subsidies:batch_bank_file", args=[approved.pk])
    for client in (principal_a_client, official_client):
        assert client.get(url).status_code == 403
        assert client.post(url, {"password": PASSWORD}).status_code == 403


def test_draft_batch_has_no_payroll_file(bureau, make_student):
    make_student(Stage.PRIMARY, categories=[PA], boarding=True)
    batch = services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    with nothing_written(), pytest.raises(ValidationError):
        bank.payroll_workbook(batch=batch, by=bureau)


def test_result_file_marks_paid_and_failed_and_failed_stay_visible(bureau, bureau_client, approved):
    bank.payroll_workbook(batch=approved, by=bureau)
    p1, p2 = approved.payments.order_by("student__name")[:2]
    upload = xlsx(
        [
            ["参考号", "户名", "金额", "状态", "失败原因"],
            [p1.reference, "家长0", 500, "成功", ""],
            [p2.reference, "家长1", 500, "失败", "户名不符"],
        ]
    )
    report = bank.result_import(batch=approved, upload=upload, paid_on=date(2022, 10, 8), by=bureau)
    assert (report.paid, report.failed) == (1, 1)
    p1.refresh_from_db()
    p2.refresh_from_db()
    assert (p1.status, p1.paid_on) == ("paid", date(2022, 10, 8))
    assert (p2.status, p2.failure_reason) == ("failed", "户名不符")
    body = bureau_client.get(reverse("subsidies:batch_detail", args=[approved.pk])).content.decode()
    assert "户名不符" in body
    services.payment_repay(payment=p2, reason="户名已更正", by=bureau)
    p2.refresh_from_db()
    assert p2.status == "pending"  # in the next bank file, not paid until the bank says so


def test_result_file_naming_a_payment_outside_the_batch_is_refused_whole(bureau, approved):
    p1 = approved.payments.first()
    upload = xlsx([["参考号", "状态"], [p1.reference, "成功"], ["P99999999", "成功"]])
    with nothing_written(), pytest.raises(ValidationError) as exc:
        bank.result_import(batch=approved, upload=upload, paid_on=date(2022, 10, 8), by=bureau)
    assert "P99999999" in str(exc.value)
    assert not Payment.objects.paid().exists()


def test_result_file_without_status_column_is_refused(bureau, approved):
    with nothing_written(), pytest.raises(ValidationError):
        bank.result_import(
            batch=approved, upload=xlsx([["参考号"], ["P1"]]), paid_on=date(2022, 10, 8), by=bureau
        )


# --- data matching -------------------------------------------------------------------------------------


@pytest.fixture
def matched_world(bureau, make_student, school_a):
    """aided: paid as 脱贫户 and on the list; dropped: paid as 脱贫户 but no longer on the list;
    missed: on the list, a student here, but not aided this term."""
    aided = make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, name="已助")
    dropped = make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, name="未确认")
    missed = make_student(Stage.PRIMARY, boarding=True, school=school_a, name="漏助")
    batch = services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    assert batch.payments.count() == 2
    return aided, dropped, missed


def _run(bureau, rows):
    return matching.match_upload(
        upload=xlsx(rows),
        source="rural",
        category=PA,
        school_year=2022,
        term="autumn",
        by=bureau,
        file_name="list.xlsx",
    )


def test_matching_finds_the_three_kinds_and_reports_bad_rows(bureau, matched_world):
    aided, dropped, missed = matched_world
    elsewhere = make_id_number()
    run = _run(
        bureau,
        [
            ["序号", "姓名", "身份证号码"],
            [1, aided.name, aided.id_number],
            [2, missed.name, missed.id_number],
            [3, "外县生", elsewhere],
            [4, "坏号", "123456"],
            [5, "校验错", aided.id_number[:-1] + ("0" if aided.id_number[-1] != "0" else "1")],
        ],
    )
    kinds = {(r.kind, r.name) for r in run.results.all()}
    assert (MatchResult.Kind.UNAIDED, "漏助") in kinds
    assert (MatchResult.Kind.UNCONFIRMED, "未确认") in kinds
    assert (MatchResult.Kind.NOT_FOUND, "外县生") in kinds
    invalid = run.results.filter(kind=MatchResult.Kind.INVALID).order_by("row_number")
    assert [r.row_number for r in invalid] == [5, 6]
    assert "18" in invalid[0].message
    assert not run.results.filter(name="已助").exists()


def test_matching_file_without_id_column_is_refused_and_nothing_written(bureau, matched_world):
    with nothing_written(), pytest.raises(ValidationError, match="身份证|ID number"):
        _run(bureau, [["姓名", "村"], ["张三", "上坪村"]])
    assert not MatchResult.objects.exists()


def test_applying_the_list_is_an_explicit_step(bureau, matched_world):
    _, _, missed = matched_world
    run = _run(bureau, [["身份证号", "姓名"], [missed.id_number, missed.name]])
    assert not StudentCategory.objects.filter(student=missed).exists()
    result = run.results.get(kind=MatchResult.Kind.UNAIDED, aid_type=AidType.BOARDER_ALLOWANCE)
    assert matching.match_apply(run=run, result_ids=[result.pk], valid_from=date(2022, 9, 1), by=bureau) == 1
    assert StudentCategory.objects.get(student=missed).category == PA
    result.refresh_from_db()
    assert result.applied


def test_matching_export_and_pages(bureau_client, bureau, matched_world, principal_a_client):
    _, _, missed = matched_world
    run = _run(bureau, [["身份证号", "姓名"], [missed.id_number, missed.name]])
    response = bureau_client.get(reverse("subsidies:match_export", args=[run.pk]))
    wb = load_workbook(io.BytesIO(response.content))
    sheet = wb["在名单上但本学期未资助"]
    values = list(sheet.iter_rows(min_row=3, values_only=True))
    assert values[0][1] == "漏助"
    assert missed.id_number not in str(values)
    assert "漏助" in bureau_client.get(reverse("subsidies:match_detail", args=[run.pk])).content.decode()
    assert principal_a_client.get(reverse("subsidies:match_detail", args=[run.pk])).status_code == 403
    assert principal_a_client.get(reverse("subsidies:match_list")).status_code == 403


def test_matching_upload_through_the_page(bureau_client, matched_world):
    _, _, missed = matched_world
    upload = xlsx([["身份证号", "姓名"], [missed.id_number, missed.name]])
    response = bureau_client.post(
        reverse("subsidies:match_list"),
        {"source": "rural", "category": PA, "school_year": 2022, "term": "autumn", "file": upload},
    )
    assert response.status_code == 302
    assert MatchResult.objects.filter(kind="unaided", aid_type=AidType.BOARDER_ALLOWANCE).count() == 1


def _far_cell_upload():
    from tests import xlsx_attacks

    upload = io.BytesIO(xlsx_attacks.far_cell())
    upload.name = "list.xlsx"
    return upload


def test_far_cell_bank_result_is_refused_and_nothing_changes(bureau_client, approved):
    """Issue 11: the 1.5 KB file with one cell at XFD150000 (79 GB for the reader)."""
    before = list(approved.payments.order_by("pk").values_list("pk", "status", "paid_on"))
    response = bureau_client.post(
        reverse("subsidies:batch_bank_result", args=[approved.pk]),
        {"file": _far_cell_upload(), "paid_on": "2022-10-08"},
        follow=True,
    )
    assert response.status_code == 200
    assert "XFD150000" in response.content.decode()
    assert list(approved.payments.order_by("pk").values_list("pk", "status", "paid_on")) == before


def test_far_cell_matching_list_is_refused_and_nothing_written(
    bureau_client, client_for, bureau, matched_world
):
    data = {"source": "rural", "category": PA, "school_year": 2022, "term": "autumn"}
    response = bureau_client.post(reverse("subsidies:match_list"), {**data, "file": _far_cell_upload()})
    assert response.status_code == 200
    assert "XFD150000" in response.content.decode()
    api = client_for(bureau).post("/api/subsidies/matching-runs/", {**data, "file": _far_cell_upload()})
    assert api.status_code == 400
    assert "XFD150000" in str(api.json())
    assert not MatchResult.objects.exists()
