"""Issue 12, "Done means": one batch walked through the bank, and it reconciles to the fen everywhere.

Six junior non-boarders (312.50 a term each). 甲 乙 丙 丁 have accounts, 戊 and 己 do not. The first file
sends four and lists 戊 and 己 as without an account (not sent); the bank returns 成功 (甲, 丁), 失败 (乙) and
不成功 (丙). 乙 gives a new account and is re-paid; 己 gives an account. The second file sends 乙 and 己; the
bank returns 乙 成功 and nothing yet for 己. Then: paid 甲 乙 丁 = 937.50, failed 丙 = 312.50, pending (at
the bank) 己 = 312.50, unsent 戊 = 312.50; drawn 1,875.00 = the four. The batch page, the API, the 告知书,
the public lookup and the year-end aid totals all say so.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from openpyxl import load_workbook

from reports import yearend
from students.models import Stage
from subsidies import selectors
from subsidies.models import AidType, BankFile, Payment
from tests.conftest import PASSWORD
from tests.subsidies.banking import give_account, result_file

DIBAO = "dibao"
NAMES = ("甲", "乙", "丙", "丁", "戊", "己")
API = "/api/subsidies"


def _money(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def test_one_batch_through_the_bank_reconciles_everywhere(
    bureau, bureau_client, client_for, client, make_student
):
    first = make_student(Stage.JUNIOR, categories=[DIBAO], name="甲")
    students = {"甲": first}
    for name in NAMES[1:]:
        students[name] = make_student(Stage.JUNIOR, categories=[DIBAO], school=first.school, name=name)
    for name in ("甲", "乙", "丙", "丁"):
        give_account(students[name], bureau)
    api = client_for(bureau)

    response = api.post(
        f"{API}/batches/",
        {"aid_type": AidType.NON_BOARDER_ALLOWANCE, "school_year": 2022, "term": "autumn"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    batch_id = response.json()["id"]
    figures = {
        "expected_count": response.json()["person_times"],
        "expected_amount": response.json()["amount"],
    }
    assert (
        api.post(f"{API}/batches/{batch_id}/approve/", figures, content_type="application/json").status_code
        == 200
    )
    payment = {p.student.name: p for p in Payment.objects.filter(batch_id=batch_id).select_related("student")}

    # Before the file: the page warns of the two children without an account.
    page = bureau_client.get(reverse("subsidies:batch_detail", args=[batch_id])).content.decode()
    warning = page.split('id="no-account"')[1].split("</section>")[0]
    assert "戊" in warning and "己" in warning and "甲" not in warning

    # File 1 (API): four sent, 戊 and 己 listed without an account and not sent.
    response = api.post(
        f"{API}/batches/{batch_id}/bank-file/", {"password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    wb = load_workbook(io.BytesIO(response.content))
    sent = {r[5] for r in wb.worksheets[0].iter_rows(min_row=2, values_only=True)}
    assert sent == {f"{payment[n].reference}-1" for n in ("甲", "乙", "丙", "丁")}
    assert {r[0] for r in wb["无账户"].iter_rows(min_row=2, values_only=True)} == {"戊", "己"}
    assert set(
        Payment.objects.filter(batch_id=batch_id, status="sent").values_list("student__name", flat=True)
    ) == {"甲", "乙", "丙", "丁"}

    # Result 1 (API): 成功, 失败, 不成功, 成功.
    upload = result_file(
        [
            [payment["甲"].reference, "", "312.50", "成功", ""],
            [payment["乙"].reference, "", "312.50", "失败", "账户已销户"],
            [payment["丙"].reference, "", "312.50", "不成功", "户名与账号不符"],
            [payment["丁"].reference, "", "312.50", "成功", ""],
        ]
    )
    response = api.post(f"{API}/batches/{batch_id}/bank-results/", {"file": upload, "paid_on": "2022-10-08"})
    assert response.status_code == 200, response.content
    assert (response.json()["paid"], response.json()["failed"]) == (2, 2)

    # 乙 gives a new account and is re-paid (API); 己 gives an account. File 2 (page) sends exactly those.
    give_account(students["乙"], bureau, n=1)
    give_account(students["己"], bureau)
    response = api.post(
        f"{API}/payments/{payment['乙'].pk}/repay/",
        {"reason": "新账户已登记"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    response = bureau_client.post(
        reverse("subsidies:batch_bank_file", args=[batch_id]), {"password": PASSWORD}
    )
    wb = load_workbook(io.BytesIO(response.content))
    assert {r[5] for r in wb.worksheets[0].iter_rows(min_row=2, values_only=True)} == {
        f"{payment['乙'].reference}-2",
        f"{payment['己'].reference}-2",
    }
    assert [r[0] for r in wb["无账户"].iter_rows(min_row=2, values_only=True)] == ["戊"]
    assert BankFile.objects.filter(batch_id=batch_id).count() == 2

    # Result 2 (page): 乙 成功; 己 not back yet.
    response = bureau_client.post(
        reverse("subsidies:batch_bank_result", args=[batch_id]),
        {
            "file": result_file([[f"{payment['乙'].reference}-2", "", "312.50", "成功", ""]]),
            "paid_on": "2022-10-20",
        },
    )
    assert response.status_code == 302

    paid, failed, pending, unsent = Decimal("937.50"), Decimal("312.50"), Decimal("312.50"), Decimal("312.50")
    drawn = Decimal("1875.00")
    assert paid + failed + pending + unsent == drawn
    status = dict(Payment.objects.filter(batch_id=batch_id).values_list("student__name", "status"))
    assert status == {"甲": "paid", "乙": "paid", "丙": "failed", "丁": "paid", "戊": "pending", "己": "sent"}

    # The API
    rec = api.get(f"{API}/batches/{batch_id}/reconciliation/").json()
    assert {k: _money(rec[k]["amount"]) for k in ("drawn", "paid", "failed", "pending", "unsent")} == {
        "drawn": drawn,
        "paid": paid,
        "failed": failed,
        "pending": pending,
        "unsent": unsent,
    }
    assert (rec["paid"]["count"], rec["balanced"]) == (3, True)
    listed = api.get(f"{API}/batches/{batch_id}/").json()
    assert (_money(listed["amount"]), _money(listed["paid_amount"]), listed["paid_person_times"]) == (
        drawn,
        paid,
        3,
    )

    # The batch page
    page = bureau_client.get(reverse("subsidies:batch_detail", args=[batch_id])).content.decode()
    table = page.split('id="reconciliation"')[1].split("</table>")[0]
    for key, amount in (
        ("drawn", drawn),
        ("paid", paid),
        ("failed", failed),
        ("pending", pending),
        ("unsent", unsent),
    ):
        row = table.split(f'id="rec-{key}"')[1].split("</tr>")[0]
        assert f"{amount:.2f}" in row.replace(",", ""), key

    # The 告知书: received totals add up to what was paid, and nothing else
    letters = bureau_client.get(reverse("subsidies:batch_letters", args=[batch_id])).content.decode()
    totals = [_money(t) for t in re.findall(r'class="received-total">([\d,.]+)<', letters)]
    assert len(totals) == 6 and sum(totals) == paid
    api_letters = api.get(f"{API}/batches/{batch_id}/letters/").json()
    assert sum(_money(x["received_total"]) for x in api_letters) == paid

    # The public lookup, child by child
    cache.clear()
    seen = Decimal("0.00")
    for name in NAMES:
        body = client.post(
            reverse("subsidies:lookup"), {"id_number": students[name].id_number, "name": name}
        ).content.decode()
        table = body.split('id="lookup-results"')[1].split("</table>")[0]
        seen += sum((_money(x) for x in re.findall(r'class="num">([\d,.]+)<', table)), Decimal("0.00"))
    assert seen == paid

    # The year-end aid totals
    aid = yearend.build_figures(county_code=settings.HOME_COUNTY_CODE, year=2022, basis="school")["sections"][
        "aid"
    ]
    assert (aid["total"]["person_times"], aid["total"]["amount"]) == (3, f"{paid:.2f}")
    # ... with what was drawn and not received printed apart, so that the report reconciles too
    apart = {r["key"]: _money(r["amount"]) for r in aid["tables"]["not_yet_paid"]["rows"]}
    assert apart == {"failed": failed, "sent": pending, "pending": unsent}
    assert _money(aid["total"]["amount"]) + sum(apart.values()) == drawn

    # and the batch's drawn total is unchanged by all this
    assert selectors.reconciliation(Payment.objects.filter(batch_id=batch_id)).drawn.amount == drawn
