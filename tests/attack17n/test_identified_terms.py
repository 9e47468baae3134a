"""Attack (a17n) on fix 3: a term's identified students (selectors.identified_students(term=...)), the national
aid system's term export and the per-term reconciliation."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from students.models import Stage, Student
from subsidies import national_aid, selectors
from tests.attack17.helpers import leave
from tests.factories import CategoryFactory
from tests.subsidies.test_national_aid import _api, _export, _reconcile, _saved, paid  # noqa: F401

pytestmark = pytest.mark.django_db


def _term_sheet(user, year, term) -> dict[str, list]:
    response = _api(user).get("/api/subsidies/national-aid/export/", {"school_year": year, "term": term})
    assert response.status_code == 200
    rows = list(
        load_workbook(io.BytesIO(response.content))[national_aid.STUDENTS_SHEET].iter_rows(values_only=True)
    )
    at = rows[0].index("身份证件号")
    return {row[at]: list(row) for row in rows[1:]}


@pytest.mark.usefixtures("during_school_year_2025")
def test_a_category_that_began_after_the_child_left_does_not_identify_them_for_the_term(
    make_student, school_a, bureau
):
    """The child dropped out on 10 October; the civil-affairs list gives the family 低保 from 1 November. On
    no day of the autumn term was the child both at school and of a 低保 family: the term's list (and the
    national system's report of it) must not name them as an identified needy student."""
    student = make_student(Stage.PRIMARY, school=school_a, name="十月辍学")
    leave(student, Student.Status.DROPPED_OUT, date(2025, 10, 10))
    CategoryFactory(student=student, category="dibao", valid_from=date(2025, 11, 1), source="民政局低保名单")
    autumn = set(
        selectors.identified_students(2025, students=Student.objects.all(), term="autumn").values_list(
            "pk", flat=True
        )
    )
    exported = _term_sheet(bureau, 2025, "autumn")
    assert student.pk not in autumn and student.id_number not in exported, (
        "listed as identified for the 2025 autumn term by 低保 from 2025-11-01 though at school only until "
        f"2025-10-09 (selector: {student.pk in autumn}, export row: {exported.get(student.id_number)})"
    )


@pytest.mark.usefixtures("during_school_year_2025")
def test_a_child_who_left_mid_term_is_on_that_terms_report_and_not_the_next(make_student, school_a, bureau):
    """Held check: the term a child left in still lists them (identified by category), the next does not."""
    student = make_student(Stage.PRIMARY, school=school_a, categories=["dibao"], name="十二月转出")
    leave(student, Student.Status.DROPPED_OUT, date(2025, 12, 10))
    assert student.id_number in _term_sheet(bureau, 2025, "autumn")
    assert student.id_number not in _term_sheet(bureau, 2025, "spring")


def test_a_term_the_system_lists_nobody_for_shows_the_portals_identified_students(bureau, paid):  # noqa: F811
    """The national system's 困难学生 sheet is given (the template's header) but lists nobody for the term
    whose payments it reports; the portal identifies the three 脱贫户 children that term: each is
    平台认定、系统无."""
    wb = load_workbook(io.BytesIO(_export(bureau)))
    sheet = wb[national_aid.STUDENTS_SHEET]
    sheet.delete_rows(2, sheet.max_row)
    response = _reconcile(bureau, _saved(wb))
    assert response.status_code == 200, response.json()
    body = response.json()
    here_only = {d["name"] for d in body["differences"] if d["kind"] == "identified_here_only"}
    assert here_only == {s.name for s in paid}, (
        f"the system lists no identified student for 2022 autumn, the portal three; differences: "
        f"{body['differences']}"
    )


def test_a_reconciliation_with_a_row_twice_reports_the_doubled_amount(bureau, paid):  # noqa: F811
    """Held check: a payment the system holds twice is not taken as matching the portal's single one."""
    wb = load_workbook(io.BytesIO(_export(bureau)))
    sheet = wb[national_aid.PAYMENTS_SHEET]
    first = [c.value for c in next(sheet.iter_rows(min_row=2))]
    sheet.append(first)
    body = _reconcile(bureau, _saved(wb)).json()
    assert [d["kind"] for d in body["differences"]] == ["amount_differs"], body
