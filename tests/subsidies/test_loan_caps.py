"""Issue 12, item 6: the credit-loan caps are dated policy rows (12,000 before autumn 2023; 16,000, and 20,000
for postgraduates, since), not a constant in code nor a check constraint; the municipal top-up (8,000 in the
2022 paper) applies only when the national loan is at its cap and the fees exceed it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from subsidies import services
from subsidies.models import AidPolicy, AidType, CreditLoan
from tests.factories import make_id_number

API = "/api/subsidies"


def loan(**kw):
    fields = {
        "id_number": make_id_number(date(2003, 5, 1)),
        "name": "王大学",
        "university": "重庆大学",
        "school_year": 2022,
        "contract_date": date(2022, 9, 20),
        "amount": Decimal("12000"),
    }
    fields.update(kw)
    return fields


def autumn_2023(**kw):
    return loan(school_year=2023, contract_date=date(2023, 9, 20), **kw)


def test_the_caps_are_policy_rows_with_dates(db):
    rows = {
        (p.aid_type, p.stage, p.valid_from, p.valid_to): p.amount
        for p in AidPolicy.objects.filter(aid_type__in=[AidType.CREDIT_LOAN, AidType.LOAN_TOP_UP])
    }
    assert rows[(AidType.CREDIT_LOAN, "higher", date(2022, 1, 1), date(2023, 8, 31))] == Decimal("12000.00")
    assert rows[(AidType.CREDIT_LOAN, "higher", date(2023, 9, 1), None)] == Decimal("16000.00")
    assert rows[(AidType.CREDIT_LOAN, "postgraduate", date(2023, 9, 1), None)] == Decimal("20000.00")
    assert rows[(AidType.LOAN_TOP_UP, "higher", date(2022, 1, 1), date(2023, 8, 31))] == Decimal("8000.00")


def test_a_2023_contract_of_16000_is_recorded(bureau):
    recorded = services.loan_create(by=bureau, **autumn_2023(amount=Decimal("16000")))
    assert recorded.amount == Decimal("16000")


def test_a_2023_postgraduate_contract_of_20000_is_recorded(bureau):
    recorded = services.loan_create(
        by=bureau, **autumn_2023(amount=Decimal("20000"), level=CreditLoan.Level.POSTGRADUATE)
    )
    assert recorded.total == Decimal("20000")


@pytest.mark.parametrize(
    ("fields", "cap"),
    [
        ({"amount": Decimal("12000.01")}, "12000"),
        ({"school_year": 2023, "contract_date": date(2023, 9, 2), "amount": Decimal("16000.01")}, "16000"),
        (
            {
                "school_year": 2023,
                "contract_date": date(2023, 9, 2),
                "amount": Decimal("20000.01"),
                "level": "postgraduate",
            },
            "20000",
        ),
    ],
)
def test_a_loan_above_the_cap_of_its_year_is_refused_naming_the_cap(bureau, fields, cap):
    with pytest.raises(ValidationError) as exc:
        services.loan_create(by=bureau, **loan(**fields))
    assert cap in " ".join(exc.value.messages).replace(",", "")
    assert not CreditLoan.objects.exists()


def test_the_database_has_no_cap_constant(bureau):
    """The cap is not a check constraint: a 16,000 contract written directly is stored."""
    CreditLoan.objects.create(**autumn_2023(amount=Decimal("16000")))


def test_a_new_cap_entered_by_the_bureau_applies_from_its_date(bureau):
    current = AidPolicy.objects.get(aid_type=AidType.CREDIT_LOAN, stage="higher", valid_to__isnull=True)
    services.policy_update(policy=current, valid_to=date(2025, 8, 31), by=bureau)
    services.policy_create(
        by=bureau,
        aid_type=AidType.CREDIT_LOAN,
        stage="higher",
        amount=Decimal("18000"),
        valid_from=date(2025, 9, 1),
    )
    services.loan_create(
        by=bureau, **loan(school_year=2025, contract_date=date(2025, 9, 5), amount=Decimal("18000"))
    )
    with pytest.raises(ValidationError):
        services.loan_create(
            by=bureau,
            **loan(
                id_number=make_id_number(date(2004, 1, 1)),
                school_year=2024,
                contract_date=date(2024, 9, 5),
                amount=Decimal("18000"),
            ),
        )


# --- the top-up ---------------------------------------------------------------------------------------------


def test_top_up_beside_a_national_loan_below_its_cap_is_refused(bureau):
    """The issue's case: 8,000 top-up accepted beside a 5,000 national loan."""
    with pytest.raises(ValidationError) as exc:
        services.loan_create(
            by=bureau,
            **loan(
                amount=Decimal("5000"), top_up=Decimal("8000"), fees=Decimal("20000"), poverty_alleviated=True
            ),
        )
    assert "12,000" in " ".join(exc.value.messages) or "12000" in " ".join(exc.value.messages)
    assert not CreditLoan.objects.exists()


def test_top_up_needs_fees_above_the_cap_and_covers_only_the_difference(bureau):
    with pytest.raises(ValidationError):  # fees not given
        services.loan_create(by=bureau, **loan(top_up=Decimal("2000"), poverty_alleviated=True))
    with pytest.raises(ValidationError):  # fees 13,000: at most 1,000 above the national loan
        services.loan_create(
            by=bureau, **loan(top_up=Decimal("2000"), fees=Decimal("13000"), poverty_alleviated=True)
        )
    recorded = services.loan_create(
        by=bureau, **loan(top_up=Decimal("1000"), fees=Decimal("13000"), poverty_alleviated=True)
    )
    assert recorded.total == Decimal("13000")


def test_top_up_at_most_8000_for_poverty_alleviated_students_only(bureau):
    with pytest.raises(ValidationError):
        services.loan_create(
            by=bureau, **loan(top_up=Decimal("8000.01"), fees=Decimal("30000"), poverty_alleviated=True)
        )
    with pytest.raises(ValidationError):
        services.loan_create(by=bureau, **loan(top_up=Decimal("1000"), fees=Decimal("30000")))
    recorded = services.loan_create(
        by=bureau, **loan(top_up=Decimal("8000"), fees=Decimal("30000"), poverty_alleviated=True)
    )
    assert recorded.total == Decimal("20000")


def test_national_loan_is_at_most_the_fees(bureau):
    with pytest.raises(ValidationError):
        services.loan_create(by=bureau, **loan(amount=Decimal("9000"), fees=Decimal("8500")))


def test_no_top_up_where_the_county_has_entered_no_standard(bureau):
    """The 2022 paper's top-up goes with the 12,000 cap; for 2023 on the paper is silent: none until entered."""
    with pytest.raises(ValidationError) as exc:
        services.loan_create(
            by=bureau,
            **autumn_2023(
                amount=Decimal("16000"),
                top_up=Decimal("4000"),
                fees=Decimal("25000"),
                poverty_alleviated=True,
            ),
        )
    assert "补充" in " ".join(exc.value.messages) or "top-up" in " ".join(exc.value.messages)


# --- through the API and the page ------------------------------------------------------------------------


def test_the_api_records_a_2023_contract_of_16000_and_refuses_a_misplaced_top_up(bureau_client):
    body = {
        "id_number": make_id_number(date(2004, 1, 1)),
        "name": "李大学",
        "university": "西南大学",
        "school_year": 2023,
        "contract_date": "2023-09-10",
        "amount": "16000.00",
        "level": "higher",
    }
    assert bureau_client.post(f"{API}/loans/", body, content_type="application/json").status_code == 201
    body |= {
        "id_number": make_id_number(date(2004, 2, 2)),
        "school_year": 2022,
        "contract_date": "2022-09-10",
        "amount": "5000.00",
        "top_up": "8000.00",
        "fees": "20000.00",
        "poverty_alleviated": True,
    }
    response = bureau_client.post(f"{API}/loans/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    schema = bureau_client.get("/api/schema/").content.decode()
    assert "fees" in schema and "postgraduate" in schema


def test_the_loan_page_records_a_postgraduate_contract_of_2023(bureau_client):
    response = bureau_client.post(
        reverse("subsidies:loan_list"),
        {
            "id_number": make_id_number(date(2000, 1, 1)),
            "name": "研究生",
            "university": "重庆大学",
            "school_year": 2023,
            "contract_date": "2023-09-01",
            "amount": "20000",
            "top_up": "0",
            "level": "postgraduate",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert CreditLoan.objects.get().amount == Decimal("20000")
