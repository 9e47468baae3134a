"""Past payments (issue 13, "past years"): a county that starts in 2026 imports its 2022 roll and the national
aid system's export of 2022 payments, and its 2022 report is built from those records.

The roll is written as the roll import writes it: Student rows as the children are now, and their spells on
the register (`students.Enrollment`) as they were, with the register's trigger off (`register.unsynced()`).
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from openpyxl import load_workbook

from reports.yearend import build_figures
from students.models import School, Stage
from subsidies import past_payments, services
from subsidies.models import (
    AidType,
    BatchEvent,
    DisbursementBatch,
    PastPaymentImport,
    Payment,
    Term,
    term_of,
)
from tests.factories import SchoolFactory
from tests.refusals import nothing_written
from tests.subsidies.past import ENROLLED, HEADER, OUT, roll_student, row, xlsx

AUTUMN_2022, SPRING_2023 = (date(2022, 9, 1), date(2023, 1, 31)), (date(2023, 3, 1), date(2023, 7, 31))


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def county_2022(township_a, township_b):
    """Two schools; four children: two on the 2022 roll still, one who left in January 2023, one who came
    in 2024."""
    primary = SchoolFactory(township=township_a, name="甲镇中心小学")
    junior = SchoolFactory(township=township_b, name="乙镇中学", school_type=School.Type.JUNIOR)
    return {
        "primary": primary,
        "junior": junior,
        "ming": roll_student(
            primary,
            name="张小明",
            spells=[
                (date(2022, 9, 1), date(2023, 8, 31), 1, ENROLLED),
                (date(2023, 9, 1), None, 2, ENROLLED),
            ],
        ),
        "hong": roll_student(
            junior, name="李小红", stage=Stage.JUNIOR, spells=[(date(2022, 9, 1), None, 1, ENROLLED)]
        ),
        "gang": roll_student(
            primary,
            name="王刚",
            spells=[(date(2022, 9, 1), date(2023, 1, 31), 3, ENROLLED), (date(2023, 2, 1), None, 3, OUT)],
        ),
        "li": roll_student(primary, name="赵丽", spells=[(date(2024, 9, 1), None, 1, ENROLLED)]),
    }


def payments_2022(c) -> list[list]:
    return [
        row(c["ming"]),
        row(c["ming"], term="春季", amount="250.00", paid=date(2023, 6, 15)),
        row(c["hong"], aid="寄宿生生活补助", amount=625.5, paid="2022-11-30"),
        row(c["gang"]),
        row(c["ming"], aid="农村营养改善计划", amount=500),
    ]


def do_import(rows, bureau, header=HEADER):
    upload = xlsx(rows, header)
    return services.past_payments_import(upload=upload, filename=upload.name, by=bureau)


def test_a_county_started_in_2026_reproduces_its_2022_report_from_the_imported_roll_and_payments(
    county_2022, bureau
):
    c = county_2022
    record = do_import(payments_2022(c), bureau)

    # The hand count of school year 2022 (1 September 2022 - 31 August 2023), read on 31 August 2023:
    # 张小明 and 李小红 on the roll; 王刚 left in January, 赵丽 came in 2024.
    # Aid received: 张小明 250 + 250, 李小红 625.50, 王刚 250 (autumn) = 4 人次, 1375.50 yuan;
    # 张小明's nutrition-plan 500 is the plan's line, not student aid.
    figures = build_figures(county_code=c["primary"].township.county.code, year=2022, basis="school")
    sections = figures["sections"]
    assert sections["students"]["total"]["students"] == 2
    aid = sections["aid"]
    assert aid["total"]["person_times"] == 4
    assert Decimal(aid["total"]["amount"]) == Decimal("1375.50")
    assert aid["total"]["nutrition_person_times"] == 1
    assert Decimal(aid["total"]["nutrition_amount"]) == Decimal("500.00")
    by_stage = {r["key"]: r for r in aid["tables"]["by_stage"]["rows"]}
    assert by_stage[Stage.PRIMARY]["person_times"] == 3
    assert Decimal(by_stage[Stage.PRIMARY]["amount"]) == Decimal("750.00")
    assert by_stage[Stage.JUNIOR]["person_times"] == 1
    assert Decimal(by_stage[Stage.JUNIOR]["amount"]) == Decimal("625.50")

    # Each payment as the register had the child in that term, paid on the file's date, in its term's
    # imported batch; the file is kept.
    gang = Payment.objects.get(student=c["gang"])
    assert (gang.school, gang.stage, gang.status, gang.paid_on) == (
        c["primary"],
        Stage.PRIMARY,
        Payment.Status.PAID,
        date(2022, 12, 20),
    )
    assert gang.imported_from == record and gang.policy is None
    batches = DisbursementBatch.objects.filter(kind=DisbursementBatch.Kind.IMPORTED)
    assert {(b.aid_type, b.school_year, b.term, b.status) for b in batches} == {
        (AidType.NON_BOARDER_ALLOWANCE, 2022, Term.AUTUMN, DisbursementBatch.Status.PAID),
        (AidType.NON_BOARDER_ALLOWANCE, 2022, Term.SPRING, DisbursementBatch.Status.PAID),
        (AidType.BOARDER_ALLOWANCE, 2022, Term.AUTUMN, DisbursementBatch.Status.PAID),
        (AidType.NUTRITION_PLAN, 2022, Term.AUTUMN, DisbursementBatch.Status.PAID),
    }
    assert BatchEvent.objects.filter(action=BatchEvent.Action.IMPORTED).count() == 4
    assert (record.rows, record.amount) == (5, Decimal("1875.50"))
    kept = load_workbook(record.file.open("rb"), read_only=True).active
    rows = list(kept.iter_rows(values_only=True))
    assert rows[0] == tuple(HEADER) and rows[3][:2] == (c["hong"].id_number, "李小红")


def test_a_second_file_adds_to_the_terms_imported_batch(county_2022, bureau):
    c = county_2022
    do_import([row(c["ming"])], bureau)
    do_import([row(c["gang"])], bureau)
    batch = DisbursementBatch.objects.get(
        aid_type=AidType.NON_BOARDER_ALLOWANCE, school_year=2022, term="autumn"
    )
    assert batch.payments.count() == 2 and PastPaymentImport.objects.count() == 2


def test_the_preview_says_row_by_row_what_is_accepted_and_what_is_refused_and_writes_nothing(county_2022):
    c = county_2022
    upload = xlsx([row(c["ming"]), row(c["li"]), row(c["hong"], aid="寄宿生生活补助", amount=625)])
    with nothing_written():
        check = past_payments.check(upload)
    assert [p.row for p in check.accepted] == [2, 4]
    assert check.amount == Decimal("875.00")
    assert [r.row for r in check.refused] == [3]
    assert "赵丽" in check.refused[0].reason
    assert [(t["aid_type"], t["payments"]) for t in check.terms()] == [
        (AidType.BOARDER_ALLOWANCE, 1),
        (AidType.NON_BOARDER_ALLOWANCE, 1),
    ]


def refused(rows, bureau, header=HEADER) -> list[str]:
    with nothing_written(), pytest.raises(ValidationError) as exc:
        do_import(rows, bureau, header)
    return exc.value.messages


def test_a_payment_for_a_child_not_on_that_terms_roll_is_refused(county_2022, bureau):
    c = county_2022
    messages = refused(
        [row(c["ming"]), row(c["li"]), row(c["gang"], term="春季", paid=date(2023, 6, 1))], bureau
    )
    assert len(messages) == 2
    assert messages[0].startswith("第 3 行") and "赵丽" in messages[0] and "学籍" in messages[0]
    assert messages[1].startswith("第 4 行") and "王刚" in messages[1]


def test_an_unknown_aid_name_is_refused(county_2022, bureau):
    (message,) = refused([row(county_2022["ming"], aid="爱心午餐")], bureau)
    assert "第 2 行" in message and "爱心午餐" in message


def test_a_loan_cap_is_no_aid_paid_in_a_term(county_2022, bureau):
    (message,) = refused([row(county_2022["ming"], aid="生源地信用助学贷款上限")], bureau)
    assert "第 2 行" in message


def terms_not_ended() -> list[tuple[int, str]]:
    """The running term, the next one, and one three years ahead (read on today: the tests are not pinned)."""
    year, term = term_of(timezone.localdate())
    following = (year, Term.SPRING) if term == Term.AUTUMN else (year + 1, Term.AUTUMN)
    return [(year, term), following, (year + 3, Term.AUTUMN)]


@pytest.mark.parametrize("which", [0, 1, 2], ids=["running", "next", "future"])
def test_a_term_not_yet_ended_is_refused(county_2022, bureau, which):
    year, term = terms_not_ended()[which]
    cells = {"year": f"{year}-{year + 1}", "term": "秋季" if term == Term.AUTUMN else "春季"}
    (message,) = refused([row(county_2022["ming"], **cells)], bureau)
    assert "第 2 行" in message and "尚未结束" in message


@pytest.mark.parametrize("amount", [0, -250, "250.005", "二百五", "", "1,5,0", float("nan"), True])
def test_an_amount_that_is_not_positive_money_to_the_fen_is_refused(county_2022, bureau, amount):
    (message,) = refused([row(county_2022["ming"], amount=amount)], bureau)
    assert "第 2 行" in message and "金额" in message


@pytest.mark.parametrize(
    "amount",
    [
        "1_000",
        "１０００",
        "1,000.5.3",
        "NaN",
        "inf",
        "-Infinity",
        float("inf"),
        "-250",
        "250.001",
        "250.000",
        "1e3",
        "+250",
        "25,0",
        "0x10",
        "2５0",
        "250.",
        ".5",
    ],
)
def test_an_amount_that_is_not_a_plain_decimal_number_is_refused(county_2022, bureau, amount):
    """Only ASCII digits, an optional point with one or two decimals, and thousands commas in groups of
    three: what the national system's export writes (a number cell, or text like 1,250.00)."""
    (message,) = refused([row(county_2022["ming"], amount=amount)], bureau)
    assert "第 2 行" in message and "金额" in message


@pytest.mark.parametrize(
    ("amount", "recorded"),
    [
        (1250, "1250.00"),
        ("1,250.50", "1250.50"),
        (625.5, "625.50"),
        ("250", "250.00"),
        ("12,345,678", "12345678.00"),
    ],
)
def test_plain_amounts_and_thousands_commas_are_read(county_2022, bureau, amount, recorded):
    do_import([row(county_2022["ming"], amount=amount)], bureau)
    assert Payment.objects.get().amount == Decimal(recorded)


def test_an_aid_whose_policy_does_not_reach_the_childs_stage_that_year_is_refused(county_2022, bureau):
    """张小明 was on the 2022 roll as a primary pupil: a 国家助学金 (senior high, vocational) or a 学前 aid
    for him is refused, naming the row, the aid and the stage; 李小红 (junior) gets no 学前 aid either."""
    c = county_2022
    messages = refused(
        [
            row(c["ming"]),
            row(c["ming"], aid="国家助学金", amount=1000),
            row(c["hong"], aid="学前生活费补助", amount=500),
        ],
        bureau,
    )
    assert len(messages) == 2, messages
    assert messages[0].startswith("第 3 行") and "国家助学金" in messages[0] and "小学" in messages[0]
    assert messages[1].startswith("第 4 行") and "初中" in messages[1]
    assert not Payment.objects.exists()


def test_a_payment_already_recorded_is_refused(county_2022, bureau):
    c = county_2022
    do_import([row(c["ming"])], bureau)
    (message,) = refused([row(c["hong"], aid="寄宿生生活补助"), row(c["ming"], amount=300)], bureau)
    assert message.startswith("第 3 行") and "已有记录" in message


def test_the_same_payment_twice_in_one_file_is_refused(county_2022, bureau):
    c = county_2022
    (message,) = refused([row(c["ming"]), row(c["ming"])], bureau)
    assert message.startswith("第 3 行") and "第 2 行" in message


def test_two_aids_of_one_exclusion_group_in_a_term_are_refused(county_2022, bureau):
    c = county_2022
    do_import([row(c["ming"])], bureau)
    (message,) = refused([row(c["ming"], aid="寄宿生生活补助", amount=500)], bureau)
    assert "第 2 行" in message and "只享受其中一项" in message


def test_a_term_drawn_in_the_portal_is_not_imported_into(county_2022, bureau):
    DisbursementBatch.objects.create(
        aid_type=AidType.NON_BOARDER_ALLOWANCE,
        school_year=2022,
        term="autumn",
        eligibility_date=date(2022, 9, 1),
    )
    (message,) = refused([row(county_2022["ming"])], bureau)
    assert "第 2 行" in message and "批次" in message


@pytest.mark.parametrize(
    ("cells", "words"),
    [
        ({"year": "2022-2024"}, "学年"),
        ({"term": "夏季"}, "学期"),
        ({"paid": "昨天"}, "日期"),
        ({"paid": date(2022, 8, 1)}, "日期"),
    ],
    ids=["year", "term", "date", "date-before-term"],
)
def test_a_bad_year_term_or_date_is_refused(county_2022, bureau, cells, words):
    (message,) = refused([row(county_2022["ming"], **cells)], bureau)
    assert "第 2 行" in message and words in message


@pytest.mark.parametrize("year", ["2022", 2022, "2022学年", "２０２２-２０２３"])
def test_a_school_year_that_is_not_both_years_in_plain_digits_is_refused(county_2022, bureau, year):
    (message,) = refused([row(county_2022["ming"], year=year)], bureau)
    assert "第 2 行" in message and "2022-2023" in message


def test_a_bare_year_is_refused_naming_both_school_years_it_could_be(county_2022, bureau):
    (message,) = refused([row(county_2022["ming"], year="2022")], bureau)
    assert "2021-2022" in message and "2022-2023" in message


@pytest.mark.parametrize("year", ["2022-2023", "2022—2023学年", "2022 至 2023", "2022/2023"])
def test_the_school_year_as_the_national_export_writes_it_is_read(county_2022, bureau, year):
    assert past_payments.check(xlsx([row(county_2022["ming"], year=year)])).refused == []


def test_a_name_that_is_not_the_registers_is_refused(county_2022, bureau):
    c = county_2022
    bad = row(c["ming"])
    bad[1] = "张晓明"
    (message,) = refused([bad], bureau)
    assert "张晓明" in message


def test_a_file_without_a_column_is_refused(county_2022, bureau):
    (message,) = refused([row(county_2022["ming"])[:-1]], bureau, header=HEADER[:-1])
    assert "发放日期" in message


def test_only_bureau_staff_import_past_payments(county_2022, principal_a, official):
    for user in (principal_a, official):
        with nothing_written(), pytest.raises(PermissionDenied):
            do_import([row(county_2022["ming"])], user)


def test_no_step_of_a_drawn_batch_applies_to_an_imported_one(county_2022, bureau):
    do_import([row(county_2022["ming"])], bureau)
    batch = DisbursementBatch.objects.get(kind=DisbursementBatch.Kind.IMPORTED)
    payment = batch.payments.get()
    from subsidies import bank

    for call in (
        lambda: services.batch_draw(batch=batch, by=bureau),
        lambda: services.batch_approve(batch=batch, by=bureau),
        lambda: bank.payroll_workbook(batch=batch, by=bureau),
        lambda: services.batch_mark_paid(
            batch=batch, bank_reference="X1", paid_on=date(2023, 1, 5), by=bureau
        ),
        lambda: services.payment_repay(payment=payment, reason="重发", by=bureau),
        lambda: services.payment_withdraw(payment=payment, reason="撤回", by=bureau),
    ):
        with nothing_written(), pytest.raises(ValidationError) as exc:
            call()
        assert "全国学生资助管理信息系统" in exc.value.messages[0]


# --- Through the API and the page --------------------------------------------------------------------------

API = "/api/subsidies/past-payment-imports"


def test_preview_then_apply_through_the_api(county_2022, client_for, bureau):
    c = county_2022
    api = client_for(bureau)
    with nothing_written():
        response = api.post(f"{API}/preview/", {"file": xlsx(payments_2022(c) + [row(c["li"])])})
    assert response.status_code == 200, response.content
    preview = response.json()
    assert (preview["accepted"], preview["amount"]) == (5, "1875.50")
    assert [r["row"] for r in preview["refused"]] == [7] and "赵丽" in preview["refused"][0]["reason"]
    with nothing_written():
        refused_file = api.post(f"{API}/apply/", {"file": xlsx(payments_2022(c) + [row(c["li"])])})
    assert refused_file.status_code == 400 and "第 7 行" in refused_file.json()["detail"][0]
    response = api.post(f"{API}/apply/", {"file": xlsx(payments_2022(c))})
    assert response.status_code == 201, response.content
    record = response.json()
    assert (record["rows"], record["amount"], record["filename"]) == (5, "1875.50", "资助发放明细2022.xlsx")
    assert len(record["batches"]) == 4
    assert Payment.objects.filter(imported_from_id=record["id"], status=Payment.Status.PAID).count() == 5
    listed = api.get(f"{API}/").json()
    assert [r["id"] for r in listed["results"]] == [record["id"]]
    kept = api.get(f"{API}/{record['id']}/file/")
    assert kept.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(kept.streaming_content))).active
    assert sheet["A2"].value == c["ming"].id_number
    batch = api.get(f"/api/subsidies/batches/{record['batches'][0]}/").json()
    assert (batch["kind"], batch["status"]) == ("imported", "paid")


def test_the_api_is_bureau_only(county_2022, client_for, principal_a, township_officer, official):
    c = county_2022
    for user in (principal_a, township_officer, official):
        api = client_for(user)
        for action in ("preview", "apply"):
            with nothing_written():
                response = api.post(f"{API}/{action}/", {"file": xlsx(payments_2022(c))})
            assert response.status_code == 403, (user, action)
        assert api.get(f"{API}/").json()["results"] == []


def test_schema_documents_preview_and_apply(bureau_client):
    paths = bureau_client.get("/api/schema/?format=json").json()["paths"]
    for action in ("preview", "apply"):
        operation = paths[f"{API}/{action}/"]["post"]
        assert "multipart/form-data" in operation["requestBody"]["content"]
    preview = paths[f"{API}/preview/"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert preview["$ref"].endswith("/PastPaymentsPreview")
    assert "201" in paths[f"{API}/apply/"]["post"]["responses"]


def test_the_page_previews_then_records_the_file(county_2022, bureau_client):
    c = county_2022
    url = "/aid/past-payments/"
    with nothing_written():
        page = bureau_client.post(url, {"file": xlsx(payments_2022(c) + [row(c["li"])])})
    assert page.status_code == 200
    assert page.context["check"].refused and page.context["token"] is None
    assert "赵丽" in page.content.decode()
    page = bureau_client.post(url, {"file": xlsx(payments_2022(c))})
    token = page.context["token"]
    assert token and not Payment.objects.exists()
    done = bureau_client.post(url, {"token": token}, follow=True)
    assert done.status_code == 200
    assert Payment.objects.filter(status=Payment.Status.PAID).count() == 5
    assert "imported-batches" in done.content.decode() and PastPaymentImport.objects.count() == 1
    # The same preview recorded twice: every row is now a payment already recorded.
    with nothing_written():
        again = bureau_client.post(url, {"token": token}, follow=True)
    assert "已有记录" in again.content.decode() or "预览已过期" in again.content.decode()


def test_the_page_is_bureau_only(principal_a_client, official_client):
    for client in (principal_a_client, official_client):
        assert client.get("/aid/past-payments/").status_code == 403


def test_an_imported_batch_page_offers_no_bank_step(county_2022, bureau, bureau_client):
    do_import([row(county_2022["ming"])], bureau)
    batch = DisbursementBatch.objects.get(kind=DisbursementBatch.Kind.IMPORTED)
    page = bureau_client.get(f"/aid/batches/{batch.pk}/").content.decode()
    assert 'id="imported-batch"' in page
    assert f"/aid/batches/{batch.pk}/bank-file/" not in page
    assert f"/aid/batches/{batch.pk}/bank-result/" not in page
