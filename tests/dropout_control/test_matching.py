"""四查三比对: the household register against the registry, attendance and open cases; confirm or clear."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from openpyxl import Workbook, load_workbook

from dropout_control import matching, services
from dropout_control.models import (
    DropoutCase,
    HouseholdRegisterRow,
    HouseholdRegisterUpload,
    SuspectedDropout,
)
from students.models import Student
from tests.dropout_control.factories import HOME_TEACHING, open_case
from tests.factories import CategoryFactory, StudentFactory, make_id_number
from tests.refusals import nothing_written

AS_OF = date(2025, 9, 1)
Finding = HouseholdRegisterRow.Finding


def xlsx(rows, header=("身份证号", "姓名", "乡镇", "村", "脱贫户")) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    return buffer


def upload(rows, by, **kw):
    return matching.household_register_upload(
        file=xlsx(rows, **kw), file_name="户籍.xlsx", as_of=AS_OF, by=by
    )


@pytest.fixture
def register(township_a, township_b, school_a, bureau):
    """Seven children: one of each finding."""
    enrolled = StudentFactory(school=school_a, birth=date(2015, 1, 1))
    absent = StudentFactory(school=school_a, birth=date(2014, 1, 1))
    services.long_absence_mark(student=absent, since=date(2025, 6, 1), by=bureau)
    left = StudentFactory(school=school_a, birth=date(2013, 1, 1), status=Student.Status.SUSPENDED)
    CategoryFactory(student=left)  # 脱贫户 in the registry
    with_case = open_case(township=township_a, found_on=date(2025, 5, 1))
    placed = open_case(township=township_b, found_on=date(2025, 5, 1), reason="disability")
    services.case_close(proof="证明材料", case=placed, on=date(2025, 5, 2), by=bureau, **HOME_TEACHING)
    unknown = make_id_number(date(2012, 10, 1))
    too_young = make_id_number(date(2020, 1, 1))
    rows = [
        (enrolled.id_number, enrolled.name, "甲镇", "上坪村", ""),
        (absent.id_number, absent.name, "甲镇", "上坪村", ""),
        (left.id_number, left.name, "甲镇", "下坊村", ""),
        (with_case.id_number, with_case.name, "甲镇", "上坪村", ""),
        (placed.id_number, placed.name, "乙镇", "竹坑村", ""),
        (unknown, "赵六", "乙镇", "竹坑村", "是"),
        (too_young, "小不点", "乙镇", "竹坑村", ""),
    ]
    up = upload(rows, bureau)
    return {"upload": up, "enrolled": enrolled, "absent": absent, "left": left, "unknown": unknown}


def test_each_child_gets_the_right_finding(register):
    by_id = dict(HouseholdRegisterRow.objects.values_list("id_number", "finding"))
    cases = dict(DropoutCase.objects.values_list("status", "id_number"))
    assert by_id[cases["open"]] == Finding.OPEN_CASE
    assert by_id[cases["closed"]] == Finding.PLACED
    assert by_id[register["enrolled"].id_number] == Finding.ENROLLED
    assert by_id[register["absent"].id_number] == Finding.LONG_ABSENCE
    assert by_id[register["left"].id_number] == Finding.NOT_ENROLLED
    assert by_id[register["unknown"]] == Finding.NOT_ENROLLED
    assert HouseholdRegisterRow.objects.get(name="小不点").finding == Finding.NOT_OF_AGE


def test_counts_and_suspects(register):
    up = register["upload"]
    assert (up.row_count, up.of_age_count, up.suspect_count) == (7, 6, 3)
    suspects = {s.id_number: s for s in SuspectedDropout.objects.all()}
    assert set(suspects) == {register["absent"].id_number, register["left"].id_number, register["unknown"]}
    assert suspects[register["absent"].id_number].long_absent_student == register["absent"]
    # 脱贫户 from the list's column and from the registry's categories.
    assert suspects[register["unknown"]].is_poverty_family
    assert suspects[register["left"].id_number].is_poverty_family
    assert not suspects[register["absent"].id_number].is_poverty_family


def test_bad_row_refuses_the_whole_file(township_a, bureau):
    good = make_id_number(date(2014, 1, 1))
    with nothing_written(), pytest.raises(ValidationError) as exc:
        upload(
            [
                (good, "甲", "甲镇", "", ""),
                ("360730201401019999", "乙", "甲镇", "", ""),
                (good, "丙", "火星镇", "", ""),
            ],
            bureau,
        )
    text = " ".join(exc.value.messages)
    assert "第 3 行" in text
    assert "第 4 行" not in text  # a repeated child alone does not refuse the file (see test_register_memory)
    assert (
        "火星镇" not in text
    )  # an unknown township alone does not refuse the file (see test_register_memory)
    assert not HouseholdRegisterUpload.objects.exists()
    assert not HouseholdRegisterRow.objects.exists()


def test_missing_column_is_refused(township_a, bureau):
    with nothing_written(), pytest.raises(ValidationError) as exc:
        upload([(make_id_number(), "甲")], bureau, header=("身份证号", "姓名"))
    assert "乡镇" in " ".join(exc.value.messages)


def test_not_an_excel_file_is_refused(bureau):
    with nothing_written(), pytest.raises(ValidationError):
        matching.household_register_upload(
            file=io.BytesIO(b"a,b\n1,2"), file_name="x.csv", as_of=AS_OF, by=bureau
        )


@pytest.mark.parametrize("who", ["township_officer", "principal_a", "official"])
def test_only_bureau_uploads(request, township_a, who):
    user = request.getfixturevalue(who)
    with nothing_written(), pytest.raises(PermissionDenied):
        upload([(make_id_number(), "甲", "甲镇", "", "")], user)


def test_confirming_a_suspect_opens_a_case_in_one_step(register, township_officer):
    suspect = SuspectedDropout.objects.get(id_number=register["left"].id_number)
    case = services.suspect_confirm(
        suspect=suspect,
        reason="study_difficulty",
        found_on=date(2025, 9, 2),
        found_late_reason="补录",
        by=township_officer,
    )
    suspect.refresh_from_db()
    assert (suspect.status, suspect.case, suspect.decided_by) == ("confirmed", case, township_officer)
    assert (case.found_by, case.township.name, case.status) == ("data_comparison", "甲镇", "open")


def test_confirming_a_long_absent_pupil_links_the_student(register, bureau):
    suspect = SuspectedDropout.objects.get(id_number=register["absent"].id_number)
    case = services.suspect_confirm(suspect=suspect, reason="illness", found_on=date(2025, 9, 2), by=bureau)
    assert case.student == register["absent"]
    assert case.school == register["absent"].school


def test_clearing_needs_a_reason_and_is_recorded(register, bureau):
    suspect = SuspectedDropout.objects.get(id_number=register["unknown"])
    with nothing_written(), pytest.raises(ValidationError):
        services.suspect_clear(suspect=suspect, clear_reason="", by=bureau)
    services.suspect_clear(
        suspect=suspect, clear_reason="studies_outside", note="在广东东莞某小学就读", by=bureau
    )
    suspect.refresh_from_db()
    assert (suspect.status, suspect.clear_reason, suspect.decided_by) == (
        "cleared",
        "studies_outside",
        bureau,
    )


def test_a_decided_suspect_cannot_be_decided_again(register, bureau):
    suspect = SuspectedDropout.objects.get(id_number=register["unknown"])
    services.suspect_clear(suspect=suspect, clear_reason="moved_away", by=bureau)
    with nothing_written(), pytest.raises(ValidationError):
        services.suspect_confirm(suspect=suspect, reason="other", by=bureau)
    assert DropoutCase.objects.filter(id_number=register["unknown"]).count() == 0


def test_township_officer_cannot_decide_another_townships_child(register, township_officer):
    suspect = SuspectedDropout.objects.get(id_number=register["unknown"])  # lives in 乙镇
    with nothing_written(), pytest.raises(PermissionDenied):
        services.suspect_clear(suspect=suspect, clear_reason="moved_away", by=township_officer)


def test_principal_sees_no_suspects(register, principal_a):
    assert not SuspectedDropout.objects.visible_to(principal_a).exists()


def test_three_ledgers_workbook(register, bureau):
    buffer = io.BytesIO()
    matching.ledgers_workbook(upload=register["upload"], user=bureau).save(buffer)
    wb = load_workbook(io.BytesIO(buffer.getvalue()))
    assert wb.sheetnames == ["适龄儿童", "疑似辍学", "确认辍学"]
    school_age = list(wb["适龄儿童"].iter_rows(values_only=True))
    assert len(school_age) == 2 + 6  # title, header, six of age
    assert len(list(wb["疑似辍学"].iter_rows(values_only=True))) == 1 + 3
    assert len(list(wb["确认辍学"].iter_rows(values_only=True))) == 1 + 1
    assert register["unknown"] not in str(school_age)
