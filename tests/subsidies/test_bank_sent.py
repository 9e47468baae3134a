"""Issue 12, item 2: only payments that went to the bank in a file and came back successful are paid.

A family payment without an account stays 待补录账户 (never in the file) and is listed with a warning on the
batch page before the file is made; "mark paid" no longer pays families; paying one payment by hand needs a
reason and is logged; a failed payment stays failed until it is re-paid in a next file.
"""

from __future__ import annotations

from datetime import date

import pghistory.models
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from students.models import School, Stage, Student
from subsidies import bank, selectors, services
from subsidies.models import AidType, BankAccount, BankFile, BankPayrollLayout, BatchEvent, Payment
from tests.conftest import PASSWORD
from tests.factories import make_id_number
from tests.subsidies.banking import give_account, result_file, sent_rows

PA = "poverty_alleviated"


@pytest.fixture
def approved(bureau, make_student, school_a):
    """Three boarders (500.00 each): 有账户一 and 有账户二 with accounts, 无账户 without."""
    with_account = [
        make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, name=f"有账户{n}")
        for n in ("一", "二")
    ]
    make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, name="无账户")
    for student in with_account:
        give_account(student, bureau)
    batch = services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    return batch


def _payment(batch, name):
    return batch.payments.get(student__name=name)


def test_mark_paid_no_longer_pays_families_never_sent(bureau, approved):
    """The defect: mark paid paid everyone pending, the child with no account too."""
    with pytest.raises(ValidationError):
        services.batch_mark_paid(batch=approved, bank_reference="B1", paid_on=date(2022, 10, 1), by=bureau)
    assert not approved.payments.filter(status="paid").exists()


def test_the_bank_file_records_what_was_sent(bureau, approved):
    workbook = bank.payroll_workbook(batch=approved, by=bureau)
    sent = {r[5] for r in sent_rows(workbook)[1:]}
    # each line names its payment and its file (P00000123-1)
    assert sent == {f"{_payment(approved, n).reference}-1" for n in ("有账户一", "有账户二")}
    bank_file = BankFile.objects.get(batch=approved)
    assert bank_file.number == 1
    assert set(bank_file.payments.values_list("student__name", flat=True)) == {"有账户一", "有账户二"}
    assert _payment(approved, "有账户一").status == Payment.Status.SENT
    assert _payment(approved, "无账户").status == Payment.Status.PENDING
    step = approved.steps.get(action=BatchEvent.Action.EXPORTED)
    assert step.by == bureau


def test_a_second_file_sends_nothing_twice(bureau, approved):
    bank.payroll_workbook(batch=approved, by=bureau)
    with pytest.raises(ValidationError, match="账户|account"):
        bank.payroll_workbook(batch=approved, by=bureau)  # nothing left to send but the child without account
    assert BankFile.objects.filter(batch=approved).count() == 1
    give_account(_payment(approved, "无账户").student, bureau)
    workbook = bank.payroll_workbook(batch=approved, by=bureau)
    rows = sent_rows(workbook)[1:]
    assert [r[5] for r in rows] == [f"{_payment(approved, '无账户').reference}-2"]
    assert BankFile.objects.get(batch=approved, number=2).payments.count() == 1


def test_only_sent_payments_are_paid_by_the_result_file(bureau, approved):
    bank.payroll_workbook(batch=approved, by=bureau)
    unsent = _payment(approved, "无账户")
    upload = result_file([[unsent.reference, "", 500, "成功", ""]])
    with pytest.raises(ValidationError, match="第 2 行"):
        bank.result_import(batch=approved, upload=upload, paid_on=date(2022, 10, 8), by=bureau)
    unsent.refresh_from_db()
    assert unsent.status == Payment.Status.PENDING


def test_children_without_an_account_are_warned_before_the_file(bureau_client, approved):
    body = bureau_client.get(reverse("subsidies:batch_detail", args=[approved.pk])).content.decode()
    assert 'id="no-account"' in body
    warning = body.split('id="no-account"')[1].split("</section>")[0]
    assert "无账户" in warning and "有账户" not in warning
    assert "待补录账户" in body
    # the file page says it too, before the password is given
    confirm = bureau_client.get(reverse("subsidies:batch_bank_file", args=[approved.pk])).content.decode()
    assert "无账户" in confirm
    bureau_client.post(reverse("subsidies:batch_bank_file", args=[approved.pk]), {"password": PASSWORD})
    assert _payment(approved, "无账户").status == Payment.Status.PENDING


def test_marking_one_payment_paid_by_hand_needs_a_reason_and_is_logged(bureau, approved):
    bank.payroll_workbook(batch=approved, by=bureau)
    payment = _payment(approved, "有账户一")
    bank.result_import(
        batch=approved,
        upload=result_file([[payment.reference, "", payment.amount, "失败", "账户已销户"]]),
        paid_on=date(2022, 10, 8),
        by=bureau,
    )
    with pytest.raises(ValidationError):
        services.payment_mark_paid(
            payment=payment, reason=" ", bank_reference="B-9", paid_on=date(2022, 10, 9), by=bureau
        )
    services.payment_mark_paid(
        payment=payment,
        reason="银行回单为纸质，已核对",
        bank_reference="B-9",
        paid_on=date(2022, 10, 9),
        by=bureau,
    )
    payment.refresh_from_db()
    assert (payment.status, payment.bank_reference, payment.paid_on) == ("paid", "B-9", date(2022, 10, 9))
    step = approved.steps.get(action=BatchEvent.Action.PAID_BY_HAND)
    assert (step.student, step.by, step.note) == (payment.student, bureau, "银行回单为纸质，已核对")
    paid = [e for e in pghistory.models.Events.objects.tracks(payment) if e.pgh_data["status"] == "paid"]
    assert len(paid) == 1 and int(paid[0].pgh_context["user"]) == bureau.pk


def test_a_payment_never_sent_cannot_be_marked_paid_by_hand(bureau, approved):
    with pytest.raises(ValidationError):
        services.payment_mark_paid(
            payment=_payment(approved, "无账户"),
            reason="现金发放",
            bank_reference="X",
            paid_on=date(2022, 10, 9),
            by=bureau,
        )
    assert not approved.payments.filter(status="paid").exists()


def test_failed_stays_failed_until_re_paid_in_the_next_file(bureau, approved):
    bank.payroll_workbook(batch=approved, by=bureau)
    one, two = _payment(approved, "有账户一"), _payment(approved, "有账户二")
    bank.result_import(
        batch=approved,
        upload=result_file(
            [[one.reference, "", 500, "成功", ""], [two.reference, "", 500, "失败", "账户已销户"]]
        ),
        paid_on=date(2022, 10, 8),
        by=bureau,
    )
    two.refresh_from_db()
    assert two.status == "failed"
    # the family gives a new account; the failed payment is not sent again by itself
    give_account(two.student, bureau, n=1)
    with pytest.raises(ValidationError):
        bank.payroll_workbook(batch=approved, by=bureau)
    services.payment_repay(payment=two, reason="新账户已登记", by=bureau)
    two.refresh_from_db()
    assert (two.status, two.failure_reason) == ("pending", "账户已销户")
    assert approved.steps.filter(action=BatchEvent.Action.REPAID, student=two.student).exists()
    rows = sent_rows(bank.payroll_workbook(batch=approved, by=bureau))[1:]
    assert [r[5] for r in rows] == [f"{two.reference}-2"]
    assert rows[0][2].endswith("1")  # the new account
    bank.result_import(
        batch=approved,
        upload=result_file([[f"{two.reference}-2", "", 500, "成功", ""]]),
        paid_on=date(2022, 10, 20),
        by=bureau,
    )
    two.refresh_from_db()
    assert (two.status, two.paid_on, two.failure_reason) == ("paid", date(2022, 10, 20), "")
    assert list(two.bank_lines.order_by("bank_file__number").values_list("bank_file__number", "outcome")) == [
        (1, "failed"),
        (2, "paid"),
    ]


def test_the_batch_is_paid_only_when_every_payment_is(bureau, approved):
    give_account(_payment(approved, "无账户").student, bureau)
    bank.payroll_workbook(batch=approved, by=bureau)
    refs = list(approved.payments.values_list("pk", flat=True))
    payments = Payment.objects.filter(pk__in=refs).order_by("pk")
    bank.result_import(
        batch=approved,
        upload=result_file([[p.reference, "", 500, "成功", ""] for p in payments[:2]]),
        paid_on=date(2022, 10, 8),
        by=bureau,
    )
    approved.refresh_from_db()
    assert approved.status == "approved"
    bank.result_import(
        batch=approved,
        upload=result_file([[payments[2].reference, "", 500, "成功", ""]]),
        paid_on=date(2022, 10, 8),
        by=bureau,
    )
    approved.refresh_from_db()
    assert approved.status == "paid"


def test_school_and_canteen_payments_are_recorded_as_one_transfer(bureau, make_student, school_a):
    """Free lunch goes to the canteen, not to a family: the transfer is recorded, no bank file needed."""
    make_student(Stage.PRIMARY, categories=[PA], boarding=False, school=school_a)
    batch = services.batch_generate(aid_type=AidType.FREE_LUNCH, school_year=2022, term="autumn", by=bureau)
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    assert set(batch.payments.values_list("payee", flat=True)) == {"canteen"}
    services.batch_mark_paid(batch=batch, bank_reference="ZZ-1", paid_on=date(2022, 10, 1), by=bureau)
    assert set(batch.payments.values_list("status", flat=True)) == {"paid"}


def test_a_bank_file_downloads_again_as_it_was_made_and_sends_nothing_twice(bureau, bureau_client, approved):
    first = sent_rows(bank.payroll_workbook(batch=approved, by=bureau))
    one = _payment(approved, "有账户一")
    give_account(one.student, bureau, n=1)  # the family changes its account after the file went out
    url = reverse("subsidies:batch_bank_file", args=[approved.pk])
    assert (
        "重新下载"
        in bureau_client.get(reverse("subsidies:batch_detail", args=[approved.pk])).content.decode()
    )
    response = bureau_client.post(url, {"password": PASSWORD, "number": 1})
    assert sent_rows(response.content) == first  # the same payments, to the accounts they were sent to
    assert BankFile.objects.filter(batch=approved).count() == 1
    assert set(approved.payments.values_list("status", flat=True)) == {"sent", "pending"}
    response = bureau_client.post(url, {"password": PASSWORD, "number": 7}, follow=True)
    assert "没有第 7 个代发文件" in response.content.decode()


def test_a_failed_payment_can_be_withdrawn_with_a_reason_and_the_batch_settles(bureau, approved):
    """The family cannot be paid this term (account closed, no new one): the money is taken out, logged."""
    none = _payment(approved, "无账户")
    bank.payroll_workbook(batch=approved, by=bureau)
    one, two = _payment(approved, "有账户一"), _payment(approved, "有账户二")
    bank.result_import(
        batch=approved,
        upload=result_file(
            [[one.reference, "", 500, "成功", ""], [two.reference, "", 500, "失败", "账户已销户"]]
        ),
        paid_on=date(2022, 10, 8),
        by=bureau,
    )
    with pytest.raises(ValidationError):
        services.payment_withdraw(payment=two, reason="", by=bureau)
    with pytest.raises(ValidationError):
        services.payment_withdraw(payment=one, reason="已发放", by=bureau)  # paid money is not withdrawn
    services.payment_withdraw(payment=two, reason="学生已转学外省，家长无新账户", by=bureau)
    two.refresh_from_db()
    assert (two.status, two.flag_reason) == ("held", "已撤回，未发放：学生已转学外省，家长无新账户")
    assert approved.steps.filter(action=BatchEvent.Action.WITHDRAWN, student=two.student).exists()
    approved.refresh_from_db()
    assert approved.status == "approved"  # 无账户 is still unsent
    services.payment_withdraw(payment=none, reason="家长拒绝提供账户", by=bureau)
    approved.refresh_from_db()
    assert (approved.status, approved.paid_on) == ("paid", date(2022, 10, 8))
    rec = selectors.reconciliation(approved.payments.all())
    assert (rec.drawn.amount, rec.paid.amount, rec.balanced) == (500, 500, True)


def test_a_bank_file_downloads_again_with_the_cells_it_was_sent_with(bureau, approved, school_a):
    """The child's name and ID number corrected, the account holder's name edited in the admin and the school
    renamed after the file went out: a download again is still the file the bank got, cell for cell."""
    every_column = [
        [key, key]
        for key in (
            "seq", "holder_name", "holder_id_number", "account_number", "bank_name", "amount", "reference",
            "remark", "student_name", "student_id_number", "school", "card_type", "subsidy_item",
        )
    ]  # fmt: skip
    layout = BankPayrollLayout(
        bank="全部列", columns=every_column, card_format="bank_card", sheet_title="代发"
    )
    first = sent_rows(bank.payroll_workbook(batch=approved, by=bureau, layout=layout))
    one = _payment(approved, "有账户一")
    BankAccount.objects.filter(student=one.student).update(relation="本人", holder_name="户名改了")
    Student.objects.filter(pk=one.student_id).update(name="改名一", id_number=make_id_number())
    School.objects.filter(pk=school_a.pk).update(name="改名学校")
    again = sent_rows(bank.bank_file_workbook(batch=approved, number=1))
    assert again == first
    assert any("有账户一" in str(cell) for row in again for cell in row)
    assert not any("改" in str(cell) for row in again for cell in row)
