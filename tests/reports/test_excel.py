"""The workbook: a sheet per section, by township and by school, read back with openpyxl."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from portal.excel import MONEY_FORMAT, WAN_FORMAT
from reports import excel
from students.models import Student
from tests.reports.helpers import built_snapshot, line, read_workbook, rows_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def workbook(county, bureau, bureau_client):
    snapshot = built_snapshot(county.year, bureau)
    response = bureau_client.get(reverse("reports:snapshot_download", args=[snapshot.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    return read_workbook(response)


def test_sheets_per_section_and_by_township_and_school(workbook):
    assert workbook.sheetnames == [
        "基本情况",
        "分类型学校数",
        "分学段学生数",
        "教师数",
        "学生资助",
        "生源地贷款",
        "脱贫家庭学生",
        "免学费",
        "营养改善计划",
        "控辍保学",
        "巩固率与入学率",
        "按乡镇",
        "按学校",
    ]


def test_cover_prints_build_time_cut_off_and_the_papers_sentences(workbook, county):
    cover = rows_of(workbook["基本情况"])
    assert cover[0][0] == f"{county.schools[0].township.county.name} 年终统计：基本情况"
    assert "生成于" in cover[1][0] and "数据截至" in cover[1][0]
    labels = {row[0]: row[1] for row in cover if row and row[0]}
    assert labels["数据截止时间"] and labels["生成时间"]
    assert any(str(row[0]).startswith("全县共有各级各类学校 5 所") for row in cover if row and row[0])


def test_school_types_with_totals_row(workbook, county):
    ws = workbook["分类型学校数"]
    assert line(ws, "小学")[1] == 2
    assert line(ws, "教学点")[1] == 0
    assert line(ws, "合计")[1] == len(county.schools)
    assert ws.freeze_panes == "B5"


def test_students_by_stage(workbook, county):
    ws = workbook["分学段学生数"]
    on_register = [s for s in county.students if s.status == Student.Status.ENROLLED]
    for label, stage in (
        ("学前", "preschool"),
        ("小学", "primary"),
        ("初中", "junior"),
        ("普通高中", "senior"),
    ):
        row = line(ws, label)
        assert row[1] == sum(1 for s in on_register if s.stage == stage), label
        assert row[2] == sum(1 for s in on_register if s.stage == stage and s.is_boarding), label
    assert line(ws, "合计")[1:3] == [len(on_register), sum(1 for s in on_register if s.is_boarding)]


def test_registered_poor_lines(workbook, county):
    ws = workbook["脱贫家庭学生"]
    here = [s for s in county.poor if s.status == Student.Status.ENROLLED]
    assert line(ws, "在本县就读的脱贫家庭学生")[1] == len(here)
    assert line(ws, "  其中：外县户籍")[1] == sum(
        1 for s in here if s.household_county_code != settings.HOME_COUNTY_CODE
    )


def test_a_rate_that_cannot_be_computed_is_printed_as_words(workbook):
    ws = workbook["巩固率与入学率"]
    row_index = next(
        i for i, row in enumerate(ws.iter_rows(values_only=True), start=1) if row[0] == "九年义务教育巩固率"
    )
    cell = ws.cell(row=row_index, column=11)
    # The county fixture has no cohort that entered grade 1 on the register nine years ago: words, not 0%.
    assert cell.value == "无入学队列"
    assert line(ws, "学前教育毛入园率（3–5岁）")[3] == "缺人口数据"


def test_by_township_sheet_with_totals(workbook, county, township_a, township_b):
    ws = workbook["按乡镇"]
    header = rows_of(ws)[2]
    assert header[:2] == ["乡镇代码", "乡镇"]
    students_col = header.index("在校学生")
    a = line(ws, township_a.code)
    assert a[1] == "甲镇"
    assert a[students_col] == sum(
        1 for s in county.students if s.status == "enrolled" and s.school.township_id == township_a.pk
    )
    assert line(ws, "合计")[students_col] == 11
    assert ws.freeze_panes == "C4"


def test_by_school_sheet_lists_active_schools_with_teachers(workbook, county, school_a):
    ws = workbook["按学校"]
    header = rows_of(ws)[2]
    teachers_col = header.index("教师数")
    row = line(ws, school_a.code)
    assert row[1] == school_a.name and row[2] == "甲镇" and row[3] == "小学"
    assert row[teachers_col] == county.teachers[school_a.pk]
    assert "停办教学点" not in [r[1] for r in rows_of(ws)]
    assert line(ws, "合计")[teachers_col] == sum(county.teachers.values())


def test_column_widths_are_set(workbook):
    ws = workbook["按学校"]
    assert ws.column_dimensions["B"].width == 30


def test_money_columns_in_yuan_and_wan_yuan(county, bureau, tmp_path):
    """Money is written twice: yuan with fen and 万元 with five decimals (4849.83825 万元 in Ningdu)."""
    from openpyxl import Workbook
    from openpyxl import load_workbook as load

    from reports import yearend

    measure = yearend.Measure("amount", "金额", yearend.MONEY)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("t")
    ws.append(excel._measure_cells(ws, [measure], {"amount": "48498382.50"}))
    wb.save(tmp_path / "t.xlsx")
    row = load(tmp_path / "t.xlsx")["t"][1]
    assert row[0].value == pytest.approx(48498382.50) and row[0].number_format == MONEY_FORMAT
    assert Decimal(str(row[1].value)) == Decimal("4849.83825") and row[1].number_format == WAN_FORMAT


def test_the_workbook_is_built_once_per_snapshot(county, bureau, bureau_client, monkeypatch):
    snapshot = built_snapshot(county.year, bureau)
    url = reverse("reports:snapshot_download", args=[snapshot.pk])
    calls = []
    real = excel.write_workbook
    monkeypatch.setattr(excel, "write_workbook", lambda s, p, **kw: calls.append(s.pk) or real(s, p, **kw))
    first = read_workbook(bureau_client.get(url))
    second = read_workbook(bureau_client.get(url))
    assert calls == [snapshot.pk]
    assert first.sheetnames == second.sheetnames


def test_a_year_with_no_data_gives_an_empty_valid_workbook_that_says_so(db, bureau, bureau_client):
    snapshot = built_snapshot(2099, bureau)
    response = bureau_client.get(reverse("reports:snapshot_download", args=[snapshot.pk]))
    assert response.status_code == 200
    workbook = read_workbook(response)
    cover = [row[0] for row in rows_of(workbook["基本情况"]) if row and row[0]]
    assert "本期没有任何记录：以下各项均为零。" in cover
    assert line(workbook["分类型学校数"], "合计")[1] == 0


def test_text_cells_that_look_like_formulas_are_escaped(county, bureau, bureau_client, school_a):
    school_a.name = "=HYPERLINK(1)"
    school_a.save()
    snapshot = built_snapshot(county.year, bureau)
    ws = read_workbook(bureau_client.get(reverse("reports:snapshot_download", args=[snapshot.pk])))["按学校"]
    assert line(ws, school_a.code)[1] == "'=HYPERLINK(1)"
