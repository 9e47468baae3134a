"""Issue 11, finding 12: numbers and text from the address that answered 500.

A year of 99999999999 reached date(); "²" passed str.isdigit() and failed int(); a NUL byte in a path
segment or a filter reached PostgreSQL, whose text cannot hold one. Each is now a 400 (or, where a page
falls back to its default, a page), never a 500.
"""

from __future__ import annotations

import pytest


def test_a_huge_year_for_the_nutrition_figures_is_a_400(bureau_client):
    response = bureau_client.get("/api/nutrition/figures/?year=99999999999")
    assert response.status_code == 400
    assert "2000" in str(response.json()["year"])


def test_a_nul_byte_in_the_out_of_county_letter_code_is_a_400(bureau_client):
    response = bureau_client.get("/aid/out-of-county/letter/36%0007/2022/")
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/api/nutrition/figures/?term=%C2%B2",
        "/api/nutrition/figures/?year=%C2%B2",
        "/api/dropout/ledger/?year=99999999999",
        "/api/dropout/ledger/?month=13",
        "/api/reports/snapshots/current/?year=99999999999",
        "/api/reports/snapshots/current/?year=2022&basis=%00",
        "/api/subsidies/out-of-county/?destination_county_code=%00",
        "/api/students/?school=%00",
        "/students/?q=%00",
        "/dropout/ledger/?month=%00",
    ],
)
def test_bad_numbers_and_nul_bytes_in_the_address_are_400s(bureau_client, url):
    assert bureau_client.get(url).status_code == 400


def test_a_term_that_is_not_a_number_falls_back_to_the_current_one(bureau_client):
    assert bureau_client.get("/nutrition/?term=%C2%B2").status_code == 200
