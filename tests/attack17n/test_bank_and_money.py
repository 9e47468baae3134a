"""Attack (a17n) on fix 2 (bank files as sent) and on the money a level pays per term."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from students.models import Stage
from subsidies import bank, services
from subsidies.models import BankAccount, Payment
from tests.conftest import PASSWORD
from tests.subsidies.banking import sent_rows
from tests.subsidies.test_bank_sent import approved  # noqa: F401
from tests.subsidies.test_identification import YEAR, apply, identified, publicise

pytestmark = pytest.mark.django_db


def _full_layout(bureau):
    keys = [
        "seq",
        "holder_name",
        "holder_id_number",
        "account_number",
        "bank_name",
        "amount",
        "reference",
        "remark",
        "student_name",
        "student_id_number",
        "school",
    ]
    return bank.payroll_layout_create(
        by=bureau,
        bank="全列银行",
        columns=[[k, k] for k in keys],
        card_format="bank_card",
        sheet_title="代发",
    )


def test_a_bank_file_downloaded_again_after_every_record_changed_is_the_file_sent(
    bureau,
    approved,  # noqa: F811
    bureau_client,
):
    """Held check: the child's name and ID number, the school's name, the holder's name and bank, and the
    account in use all change after file 1 is made: file 1 again (service, API and page) is cell for cell
    the file sent."""
    layout = _full_layout(bureau)
    first = sent_rows(bank.payroll_workbook(batch=approved, by=bureau, layout=layout))
    payment = approved.payments.select_related("student__school").get(student__name="有账户一")
    student = payment.student
    old = BankAccount.objects.get(student=student, is_active=True)
    BankAccount.objects.filter(pk=old.pk).update(holder_name="改名家长", bank_name="建设银行")
    services.bank_account_set(
        student=student,
        holder_name="新户主",
        bank_name="工商银行",
        account_number="6222000011112222333",
        by=bureau,
    )
    student.name = "改名学生"
    student.save()
    school = student.school
    school.name = "改名学校"
    school.save()
    again = sent_rows(bank.bank_file_workbook(batch=approved, number=1))
    assert again == first
    api = bureau_client.post(
        f"/api/subsidies/batches/{approved.pk}/bank-file/", {"number": 1, "password": PASSWORD}
    )
    assert api.status_code == 200, api.content[:300]
    assert sent_rows(load_workbook(io.BytesIO(api.content))) == first


def _batch(term, bureau, on=None):
    return services.batch_generate(
        aid_type="national_grant", school_year=YEAR, term=term, by=bureau, **({"on": on} if on else {})
    )


@pytest.mark.usefixtures("during_school_year_2025")
def test_a_level_raised_in_year_pays_each_term_its_tier_once(make_student, school_a, principal_a, bureau):
    """Held check: 困难 from 1 September (lower tier, 500 a term), raised to 特别困难 by an in-year change from
    1 March (upper tier, 1,500 a term): autumn pays 500, spring 1,500, each once."""
    student = make_student(Stage.SENIOR, school=school_a)
    identified(student, principal_a, bureau, level="difficult")
    change = apply(
        student,
        principal_a,
        kind="in_year",
        effective_from=date(YEAR + 1, 3, 1),
        applied_on=date(YEAR + 1, 3, 1),
    )
    services.identification_review(
        by=principal_a,
        identification=change,
        members="班主任、家长代表",
        result="special",
        reviewed_on=date(YEAR + 1, 3, 2),
    )
    publicise(school_a, principal_a, starts_on=date(YEAR + 1, 3, 3), ends_on=date(YEAR + 1, 3, 9))
    services.identification_decide(
        by=principal_a, identification=change, level="special", decided_on=date(YEAR + 1, 3, 10)
    )
    services.identification_confirm(by=bureau, identification=change)
    _batch("autumn", bureau), _batch("spring", bureau)
    paid = {
        (p.term, p.amount)
        for p in Payment.objects.filter(student=student, aid_type="national_grant").exclude(status="held")
    }
    assert paid == {("autumn", 500), ("spring", 1500)}, paid


def test_a_bank_file_downloaded_again_in_english_is_still_the_file_sent(
    bureau,
    approved,  # noqa: F811
    client_for,
):
    """File 1 was made (and sent to the bank) in Chinese: its remark reads “有账户一 寄宿生生活补助 2022-2023 秋季学期”.
    A clerk who chose English (the language cookie) downloads file 1 again for the bank, whose download did not
    arrive: the cells must be the ones sent, not the aid and term named in the clerk's language."""
    from django.conf import settings

    first = sent_rows(bank.payroll_workbook(batch=approved, by=bureau))
    client = client_for(bureau)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(
        f"/api/subsidies/batches/{approved.pk}/bank-file/", {"number": 1, "password": PASSWORD}
    )
    assert response.status_code == 200, response.content[:300]
    again = sent_rows(load_workbook(io.BytesIO(response.content)))
    differing = [(a, b) for a, b in zip(first, again, strict=True) if a != b]
    assert not differing, f"cells as sent → as downloaded again: {differing}"
