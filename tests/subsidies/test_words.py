"""Aid pages name things as a clerk does: no stored codes in totals or in the change log (issue 15)."""

from __future__ import annotations

from datetime import date

from django.urls import reverse

from students.models import Stage
from subsidies import services
from subsidies.models import AidType
from tests.portal.walking import page_problems, raw_choice_values


def test_batch_page_names_stages_aid_types_and_status_changes(bureau, bureau_client, make_student, school_a):
    make_student(
        Stage.PRIMARY, categories=["poverty_alleviated"], boarding=True, school=school_a, name="甲生一"
    )
    batch = services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))

    page = bureau_client.get(reverse("subsidies:batch_detail", args=[batch.pk])).content.decode()

    assert page_problems(page, raw_values=raw_choice_values(), allowed={bureau.username}) == []
    assert "草稿（审核中） → 已审批" in page
    assert '<td>小学</td><td class="num">1</td>' in page


def test_the_paid_on_field_shows_todays_date_in_iso_form(bureau, bureau_client, make_student, school_a):
    make_student(Stage.PRIMARY, categories=["poverty_alleviated"], boarding=True, school=school_a)
    batch = services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    page = bureau_client.get(reverse("subsidies:batch_detail", args=[batch.pk])).content.decode()
    assert f'type="date" name="paid_on" value="{date.today().isoformat()}"' in page
