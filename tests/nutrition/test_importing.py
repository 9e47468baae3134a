"""The monthly meals import: a real .xlsx built with openpyxl; a bad row refuses the whole file."""

from datetime import date, datetime
from io import BytesIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from openpyxl import Workbook

from nutrition import services
from nutrition.importing import HEADER, meals_import
from nutrition.models import MealRecord
from students.models import Stage
from tests.nutrition.conftest import HOLIDAY
from tests.refusals import nothing_written

OCTOBER = date(2022, 10, 1)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def xlsx(rows, header=HEADER) -> BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = BytesIO()
    book.save(out)
    out.seek(0)
    return out


def test_a_good_month_is_imported(pilot_a, principal_a, school_a):
    code = school_a.code
    rows = [
        [code, datetime(2022, 10, 10), "小学", 6],
        [code, "2022-10-10", "初中", 3],
        [code, "2022/10/11", "小学", 5],
    ]
    assert meals_import(file=xlsx(rows), term=pilot_a.term, month=OCTOBER, by=principal_a) == 3
    assert MealRecord.objects.filter(pilot=pilot_a).count() == 3
    assert MealRecord.objects.get(day=date(2022, 10, 11)).meals == 5


def test_reimporting_corrects_the_days(pilot_a, principal_a, school_a):
    services.meal_record(pilot=pilot_a, day=date(2022, 10, 10), stage=Stage.PRIMARY, meals=2, by=principal_a)
    meals_import(
        file=xlsx([[school_a.code, "2022-10-10", "小学", 6]]),
        term=pilot_a.term,
        month=OCTOBER,
        by=principal_a,
    )
    assert MealRecord.objects.get().meals == 6


def test_one_bad_row_refuses_the_whole_file_and_lists_every_bad_row(pilot_a, principal_a, school_a):
    code = school_a.code
    rows = [
        [code, "2022-10-10", "小学", 6],  # good
        [code, "2022-10-11", "小学", 7],  # row 3: more than 6 covered
        [code, HOLIDAY, "小学", 1],  # row 4: holiday
        [code, "2022-10-12", "高中", 1],  # row 5: no such stage
        [code, "2022-10-13", "小学", "五"],  # row 6: not a number
        [code, "2022-11-01", "小学", 1],  # row 7: other month
        ["NOPE", "2022-10-13", "小学", 1],  # row 8: not a pilot
        [code, "2022-10-10", "小学", 6],  # row 9: duplicate of row 2
    ]
    with nothing_written(), pytest.raises(ValidationError) as exc:
        meals_import(file=xlsx(rows), term=pilot_a.term, month=OCTOBER, by=principal_a)
    listed = exc.value.messages
    assert [m.split(":")[0] for m in listed] == [f"Row {n}" for n in range(3, 10)]
    assert "more than the 6" in listed[0]
    assert "holiday" in listed[1]
    assert not MealRecord.objects.exists()


def test_a_principal_cannot_import_for_another_school(pilot_a, pilot_b, principal_a, school_a, school_b):
    rows = [[school_a.code, "2022-10-10", "小学", 1], [school_b.code, "2022-10-10", "小学", 1]]
    with nothing_written(), pytest.raises(ValidationError) as exc:
        meals_import(file=xlsx(rows), term=pilot_a.term, month=OCTOBER, by=principal_a)
    assert exc.value.messages == ["Row 3: you may only record for your own school"]
    assert not MealRecord.objects.exists()


def test_the_bureau_imports_for_every_school(pilot_a, pilot_b, bureau, school_a, school_b):
    rows = [[school_a.code, "2022-10-10", "小学", 1], [school_b.code, "2022-10-10", "小学", 1]]
    assert meals_import(file=xlsx(rows), term=pilot_a.term, month=OCTOBER, by=bureau) == 2


def test_an_official_cannot_import(pilot_a, official, school_a):
    with nothing_written(), pytest.raises(PermissionDenied):
        meals_import(
            file=xlsx([[school_a.code, "2022-10-10", "小学", 1]]),
            term=pilot_a.term,
            month=OCTOBER,
            by=official,
        )


def test_a_wrong_header_is_refused(pilot_a, principal_a):
    with nothing_written(), pytest.raises(ValidationError) as exc:
        meals_import(file=xlsx([], header=["a", "b"]), term=pilot_a.term, month=OCTOBER, by=principal_a)
    assert "header" in exc.value.messages[0]


def test_a_file_that_is_not_excel_is_refused(pilot_a, principal_a):
    with nothing_written(), pytest.raises(ValidationError):
        meals_import(file=BytesIO(b"not a workbook"), term=pilot_a.term, month=OCTOBER, by=principal_a)


def test_a_closed_term_refuses_imports(pilot_a, principal_a, bureau, school_a):
    services.term_close(term=pilot_a.term, by=bureau)
    with nothing_written(), pytest.raises(ValidationError):
        meals_import(
            file=xlsx([[school_a.code, "2022-10-10", "小学", 1]]),
            term=pilot_a.term,
            month=OCTOBER,
            by=principal_a,
        )
