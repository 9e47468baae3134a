from datetime import date

import pytest

from dropout_control import rules


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(2014, 5, 1), date(2025, 4, 30), 10),
        (date(2014, 5, 1), date(2025, 5, 1), 11),
        (date(2012, 2, 29), date(2018, 2, 28), 5),
        (date(2012, 2, 29), date(2018, 3, 1), 6),
    ],
)
def test_age_on_counts_whole_years(birth, on, age):
    assert rules.age_on(birth, on) == age


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        (date(2019, 3, 2), True),  # 6 today
        (date(2019, 3, 4), False),  # 6 in two days
        (date(2009, 3, 4), True),  # 15, 16 in two days
        (date(2009, 3, 3), False),  # 16 today
    ],
)
def test_compulsory_age_is_6_to_15(birth, expected):
    assert rules.is_compulsory_age(birth, date(2025, 3, 3)) is expected
