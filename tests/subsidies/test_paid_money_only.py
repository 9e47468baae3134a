"""Issue 12, item 5: the parents' 告知书, the public lookup and every total count paid money only, and show
what is pending or failed apart; the batch reconciles: drawn = paid + failed + pending + unsent, to the fen.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from students.models import Stage
from subsidies import bank, selectors, services
from subsidies.models import AidType
from tests.subsidies.banking import give_account, result_file

DIBAO = "dibao"


@pytest.fixture
def junior_batch(bureau, make_student, school_a):
    """Four junior non-boarders (312.50 a term each): paid, failed (账户已销户), sent and no account."""
    paid = make_student(Stage.JUNIOR, categories=[DIBAO], name="已到账")
    names = ["失败生", "在途生", "无账户生"]
    students = [make_student(Stage.JUNIOR, categories=[DIBAO], school=paid.school, name=n) for n in names]
    for s in (paid, *students[:2]):
        give_account(s, bureau)
    batch = services.batch_generate(
        aid_type=AidType.NON_BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    bank.payroll_workbook(batch=batch, by=bureau)
    p = {x.student.name: x for x in batch.payments.select_related("student")}
    bank.result_import(
        batch=batch,
        upload=result_file(
            [
                [p["已到账"].reference, "", "312.50", "成功", ""],
                [p["失败生"].reference, "", "312.50", "失败", "账户已销户"],
            ]
        ),
        paid_on=date(2022, 10, 8),
        by=bureau,
    )
    return batch


def test_letter_counts_paid_money_only_and_names_failed_apart(bureau_client, junior_batch):
    failed = junior_batch.payments.get(student__name="失败生")
    url = reverse("subsidies:student_letter", args=[failed.student_id, 2022, "autumn"])
    body = bureau_client.get(url).content.decode()
    received = body.split('id="received-')[1].split("</table>")[0]
    assert "312.50" not in received  # the defect: printed as received
    assert "0.00" in received
    apart = body.split('id="not-received-')[1].split("</table>")[0]
    assert "312.50" in apart and "账户已销户" in apart


def test_batch_letters_total_only_what_arrived(bureau_client, junior_batch):
    body = bureau_client.get(reverse("subsidies:batch_letters", args=[junior_batch.pk])).content.decode()
    letters = body.split('<article class="letter"')[1:]
    assert len(letters) == 4
    names = ("已到账", "失败生", "在途生", "无账户生")
    by_name = {name: next(x for x in letters if f"<p>{name} 同学家长" in x) for name in names}
    assert 'class="received-total">312.50<' in by_name["已到账"]
    for name in ("失败生", "在途生", "无账户生"):
        assert 'class="received-total">0.00<' in by_name[name], name
    assert "已发送银行" in by_name["在途生"] or "银行处理中" in by_name["在途生"]
    assert "待补录账户" in by_name["无账户生"]


def test_public_lookup_shows_paid_and_failed_apart(client, junior_batch):
    cache.clear()
    failed = junior_batch.payments.select_related("student").get(student__name="失败生")
    response = client.post(
        reverse("subsidies:lookup"), {"id_number": failed.student.id_number, "name": failed.student.name}
    )
    body = response.content.decode()
    paid_table = body.split('id="lookup-results"')[1].split("</table>")[0]
    assert "312.50" not in paid_table
    apart = body.split('id="lookup-not-received"')[1].split("</table>")[0]
    assert "312.50" in apart and "失败" in apart


def test_reconciliation_to_the_fen(junior_batch):
    r = selectors.reconciliation(junior_batch.payments.all())
    assert (r.drawn.count, r.drawn.amount) == (4, Decimal("1250.00"))
    assert (r.paid.count, r.paid.amount) == (1, Decimal("312.50"))
    assert (r.failed.count, r.failed.amount) == (1, Decimal("312.50"))
    assert (r.pending.count, r.pending.amount) == (1, Decimal("312.50"))
    assert (r.unsent.count, r.unsent.amount) == (1, Decimal("312.50"))
    assert (r.no_account.count, r.no_account.amount) == (1, Decimal("312.50"))
    assert r.balanced


def test_batch_page_shows_the_reconciliation(bureau_client, junior_batch):
    body = bureau_client.get(reverse("subsidies:batch_detail", args=[junior_batch.pk])).content.decode()
    table = body.split('id="reconciliation"')[1].split("</table>")[0]
    for key, amount in (
        ("drawn", "1,250.00"),
        ("paid", "312.50"),
        ("failed", "312.50"),
        ("pending", "312.50"),
        ("unsent", "312.50"),
    ):
        assert f'id="rec-{key}"' in table
        assert amount in table.split(f'id="rec-{key}"')[1].split("</tr>")[0], key


def test_totals_carry_paid_money_apart_from_drawn(junior_batch):
    totals = selectors.payment_totals(junior_batch.payments.all())
    assert (totals.count, totals.amount) == (4, Decimal("1250.00"))
    assert (totals.paid_count, totals.paid_amount) == (1, Decimal("312.50"))
    for dimension in ("township", "school", "stage", "aid_type"):
        assert sum(r["paid_amount"] for r in totals.by[dimension]) == Decimal("312.50")


def test_index_shows_paid_apart(bureau_client, junior_batch):
    body = bureau_client.get(reverse("subsidies:index")).content.decode()
    row = body.split(f'data-batch="{junior_batch.pk}"')[1].split("</tr>")[0]
    assert "1,250.00" in row or "1250.00" in row
    assert "312.50" in row
