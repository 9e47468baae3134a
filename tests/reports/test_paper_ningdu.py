"""The Ningdu paper (宁都县 2022 年巩固拓展教育脱贫攻坚成果同乡村振兴有效衔接工作总结): a county whose records
add up to its summary figures, and the year-end workbook (calendar year 2022) read back with openpyxl prints
them in the paper's units.

Every figure at the paper's full value: the 406 schools by type, the 145,057 students on the register by
stage, the 7,563 teachers, the 75,125 aid person-times and their 4849.83825 万元, the 6,568 loan contracts and
their 6974.223 万元, the 224 nutrition pilot schools (198 + 26), their 37,808 pupils (24,680 + 13,128), the 217
canteen schools and 25,526 pupils (96.9 %, 67.5 %), the 2845.1573 万元 of central funds used and the 145
children taught at home (autumn 2022).

Not checked here (see reports/README.md): the funds used since 2012 (5.26 亿元) and the figures the portal
keeps no records of (teachers recruited, training, construction)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from dropout_control.models import CasePeriod, DropoutCase, HomeTeachingVisit
from nutrition.models import NutritionTerm
from portal.excel import PERCENT_FORMAT, WAN_FORMAT
from reports.yearend import aid as aid_section
from reports.yearend import dropout as dropout_section
from reports.yearend import nutrition as nutrition_section
from students.models import School, Stage
from subsidies.models import AidType
from tests.reports import papers
from tests.reports.helpers import built_snapshot, line, read_workbook

pytestmark = pytest.mark.django_db

T = School.Type
SCHOOLS = {  # type: (schools, of which public) — the paper gives no ownership: a split of our choosing
    T.KINDERGARTEN: (134, 40),
    T.TEACHING_POINT: (143, 143),
    T.PRIMARY: (80, 78),
    T.JUNIOR: (20, 20),
    T.NINE_YEAR: (18, 17),
    T.TWELVE_YEAR: (2, 1),
    T.SENIOR_HIGH: (4, 4),
    T.COMPLETE_MIDDLE: (1, 1),
    T.VOCATIONAL: (2, 2),
    T.SPECIAL: (1, 1),
    T.ADVANCED_TECHNICAL: (1, 1),
}
STUDENTS = {
    Stage.PRESCHOOL: 20250,
    Stage.PRIMARY: 57550,
    Stage.JUNIOR: 36959,
    Stage.SENIOR: 21891,
    Stage.VOCATIONAL: 8407,
}
AID_TIMES, AID_YUAN = 75125, Decimal("48498382.50")  # 4849.83825 万元
LOANS, LOAN_YUAN = 6568, Decimal("69742230.00")  # 6974.223 万元
FUNDS_USED = Decimal("28451573.00")  # 2845.1573 万元
HOME_TAUGHT = 145


def zh(text) -> str:
    with translation.override("zh-hans"):
        return str(text)


def wan(cell_value) -> Decimal:
    return Decimal(str(cell_value))


@pytest.fixture
def ningdu(bureau):
    townships = papers.county("360730", "宁都县", "赣州市")
    schools = papers.schools(townships, SCHOOLS)
    everyone = [s for group in schools.values() for s in group]
    papers.teachers(everyone, 2022, 7563)
    at = {
        Stage.PRESCHOOL: schools[T.KINDERGARTEN][0],
        Stage.PRIMARY: schools[T.PRIMARY][0],
        Stage.JUNIOR: schools[T.JUNIOR][0],
        Stage.SENIOR: schools[T.SENIOR_HIGH][0],
        Stage.VOCATIONAL: schools[T.VOCATIONAL][0],
    }
    children = papers.students(at, STUDENTS, household="360730")
    # Aid of autumn 2022: one payment to each of the first children of every stage.
    paid = [c for group in children.values() for c in group][:AID_TIMES]
    papers.pay(
        paid, aid_type=AidType.NATIONAL_GRANT, school_year=2022, term="autumn", total=AID_YUAN, by=bureau
    )
    papers.loans(townships, n=LOANS, total=LOAN_YUAN, school_year=2022, contract_date=date(2022, 9, 20))
    term = NutritionTerm.objects.create(
        school_year=2022, season="autumn", start=date(2022, 9, 1), end=date(2023, 1, 15)
    )
    papers.nutrition(
        term,
        primary=(schools[T.PRIMARY] + schools[T.TEACHING_POINT])[:198],
        junior=(schools[T.JUNIOR] + schools[T.NINE_YEAR])[:26],
        primary_pupils=24680,
        junior_pupils=13128,
        canteen_schools=217,
        canteen_pupils=25526,
        funds_used=FUNDS_USED,
    )
    cases = DropoutCase.objects.bulk_create(
        DropoutCase(
            id_number=papers.id_number("360730", date(2010, 1, 1)),
            name="送教儿童",
            township=townships[i % 3],
            found_on=date(2022, 3, 1),
            found_by=DropoutCase.FoundBy.SCHOOL_REPORT,
            reason=DropoutCase.Reason.DISABILITY,
            status="closed",
            outcome=DropoutCase.Outcome.HOME_TEACHING,
            outcome_on=date(2022, 4, 1),
        )
        for i in range(HOME_TAUGHT)
    )
    CasePeriod.objects.bulk_create(
        CasePeriod(case=c, opened_on=date(2022, 3, 1), closed_on=date(2022, 4, 1), outcome="home_teaching")
        for c in cases
    )
    HomeTeachingVisit.objects.bulk_create(
        HomeTeachingVisit(
            case=c,
            visited_on=date(2022, 10, 1) + timedelta(days=i % 30),
            teacher="送教老师",
            hours=2,
            content="识字",
        )
        for i, c in enumerate(cases)
    )
    return schools


@pytest.fixture
def workbook(ningdu, bureau, bureau_client):
    snapshot = built_snapshot(2022, bureau, basis="calendar")
    response = bureau_client.get(reverse("reports:snapshot_download", args=[snapshot.pk]))
    assert response.status_code == 200
    return read_workbook(response)


def test_ningdu_paper_figures_in_the_workbook(workbook):
    # 全县共有各级各类学校 406 所（幼儿园 134 所、教学点 143 个、小学 80 所 …）
    ws = workbook["分类型学校数"]
    for school_type, (n, public) in SCHOOLS.items():
        assert line(ws, zh(T(school_type).label))[1:4] == [n, public, n - public], school_type
    assert line(ws, "合计")[1] == 406
    assert line(ws, "小学（含教学点）")[1] == 223 and line(ws, "  其中：教学点")[1] == 143

    # 在校在园学生 145057 人
    ws = workbook["分学段学生数"]
    for stage, n in STUDENTS.items():
        assert line(ws, papers.STAGE_LABELS[stage])[1] == n, stage
    assert line(ws, "合计")[1] == sum(STUDENTS.values()) == 145057

    # 教师 7563 人
    assert line(workbook["教师数"], "合计")[1] == 7563

    # 资助 75125 人次, 4849.83825 万元
    ws = workbook["学生资助"]
    total = line(ws, "合计")  # the first table's: aid by stage
    assert total[1] == AID_TIMES == 75125
    assert Decimal(str(total[2])) == AID_YUAN and wan(total[3]) == Decimal("4849.83825")
    assert ws.cell(
        row=[r[0] for r in ws.iter_rows(values_only=True)].index("合计") + 1, column=4
    ).number_format == (WAN_FORMAT)

    # 生源地信用贷款合同 6568 份，贷款金额 6974.223 万元
    contracts = line(workbook["生源地贷款"], zh(aid_section.loan_lines()["all"]))
    assert contracts[1] == LOANS and wan(contracts[3]) == Decimal("6974.223")

    # 2022 年秋季学期试点学校 224 所（小学 198 所，初中 26 所），受益学生 37808 人（小学 24680 人，初中 13128 人），
    # 食堂供餐学校 217 所，受益学生 25526 人，96.9%、67.5%；已使用中央专项资金 2845.1573 万元
    ws = workbook["营养改善计划"]
    stages = nutrition_section.pilot_stages()
    assert line(ws, zh(stages[Stage.PRIMARY]))[1:3] == [198, 24680]
    assert line(ws, zh(stages[Stage.JUNIOR]))[1:3] == [26, 13128]
    assert line(ws, "合计")[1:5] == [224, 37808, 217, 25526]
    shares = nutrition_section.nutrition_shares()
    for key, shown in (("school_share", "96.9%"), ("pupil_share", "67.5%")):
        row = line(ws, zh(shares[key]))
        assert f"{Decimal(str(row[1])) * 100:.1f}%" == shown
    share_row = [r[0] for r in ws.iter_rows(values_only=True)].index(zh(shares["school_share"])) + 1
    assert ws.cell(row=share_row, column=2).number_format == PERCENT_FORMAT
    used = line(ws, zh(nutrition_section.nutrition_funds()["used"]))
    assert wan(used[2]) == Decimal("2845.1573")

    # 2022 年秋季，对 145 名残疾儿童开展了送教上门服务
    ws = workbook["控辍保学"]
    assert line(ws, zh(dropout_section.dropout_lines()["home_teaching"]))[1] == HOME_TAUGHT
