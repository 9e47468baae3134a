"""The Jianshi paper (建始县2019年教育扶贫工作总结): a county whose records add up to its summary figures, and the
year-end workbook (calendar year 2019) read back with openpyxl prints them in the paper's units.

Every figure at the paper's full value: the 168 schools by type (77 primary schools including 9 teaching
points, 70 kindergartens of which 9 public), the 3,632 teachers on the establishment (在编), the 63,406 students
on the register by stage (incl. 69 special-school pupils), the 16,666 registered-poor students studying in the
county (413 registered elsewhere, 16,253 here), the out-of-county ledger (1,063 studying in the prefecture,
1,587 outside it, all 1,587 followed up by letter: 发函), the 37,273 aid person-times and 2644.2375 万元 to
in-county poor students and the tuition waivers in them (senior high 4,151 人次 / 313.317 万元, vocational
5,229 人次 / 627.48 万元), the 573 loan contracts (458.999 万元) and the nutrition plan's 2375.07 万元. The paper
gives no preschool population: 13,097 children aged 3–5 (our choice) make its 11,263 preschoolers the gross
enrolment rate it prints, 86 % (a whole percent).

Not checked here (reports/README.md says where): 新生入学路费 and social aid (issue 14's other half),
义务教育免书本费/免学费 (not records the portal keeps), the nine-year retention rate (tests/reports/test_rates.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from nutrition.models import NutritionTerm, PilotSchool, Purchase
from reports.models import AgePopulation
from reports.yearend import aid as aid_section
from reports.yearend import registry
from students.models import County, School, Stage, StudentCategory
from subsidies.models import AidType, OutOfCountyStudent
from tests.reports import papers
from tests.reports.helpers import built_snapshot, line, read_workbook

pytestmark = pytest.mark.django_db

T = School.Type
HERE = "422822"  # 建始县, in 恩施州 (4228)
SCHOOLS = {
    T.VOCATIONAL: (1, 1),
    T.SENIOR_HIGH: (2, 2),
    T.JUNIOR: (17, 17),
    T.PRIMARY: (68, 68),
    T.TEACHING_POINT: (9, 9),
    T.KINDERGARTEN: (70, 9),
    T.SPECIAL: (1, 1),
}
STUDENTS = {
    Stage.VOCATIONAL: 2828,
    Stage.SENIOR: 7570,
    Stage.JUNIOR: 14226,
    Stage.PRIMARY: 27450,
    Stage.PRESCHOOL: 11263,
    Stage.SPECIAL: 69,
}
POOR_HERE, POOR_ELSEWHERE = 16666, 413
IN_PREFECTURE, OUT_OF_PREFECTURE = 1063, 1587
AID_TIMES, AID_YUAN = 37273, Decimal("26442375.00")
SENIOR_WAIVERS, SENIOR_WAIVER_YUAN = 4151, Decimal("3133170.00")
VOCATIONAL_WAIVERS, VOCATIONAL_WAIVER_YUAN = 5229, Decimal("6274800.00")
LOANS, LOAN_YUAN = 573, Decimal("4589990.00")
NUTRITION_YUAN = Decimal("23750700.00")
PRESCHOOL_POPULATION = 13097  # aged 3–5: 11,263 ÷ 13,097 = 86.0 %


def zh(text) -> str:
    with translation.override("zh-hans"):
        return str(text)


def wan(value) -> Decimal:
    return Decimal(str(value))


def _ledger(n, code, sent_on=None):
    OutOfCountyStudent.objects.bulk_create(
        OutOfCountyStudent(
            id_number=papers.id_number(HERE, date(2008, 1, 1)),
            name="县外生",
            destination_county_code=code,
            destination_county="某县",
            destination_school="某校",
            stage=Stage.JUNIOR,
            category=StudentCategory.Category.POVERTY_ALLEVIATED,
            school_year=2019,
            follow_up="sent" if sent_on else "pending",
            letter_sent_on=sent_on,
        )
        for _i in range(n)
    )


@pytest.fixture
def jianshi(settings, bureau):
    settings.HOME_COUNTY_CODE = HERE
    townships = papers.county(HERE, "建始县", "恩施土家族苗族自治州")
    schools = papers.schools(townships, SCHOOLS)
    papers.teachers([s for g in schools.values() for s in g], 2019, 3900, on_staff=3632)
    at = {
        Stage.VOCATIONAL: schools[T.VOCATIONAL][0],
        Stage.SENIOR: schools[T.SENIOR_HIGH][0],
        Stage.JUNIOR: schools[T.JUNIOR][0],
        Stage.PRIMARY: schools[T.PRIMARY][0],
        Stage.PRESCHOOL: schools[T.KINDERGARTEN][0],
        Stage.SPECIAL: schools[T.SPECIAL][0],
    }
    counts = dict(STUDENTS)
    counts[Stage.PRIMARY] -= POOR_ELSEWHERE
    kids = papers.students(at, counts, household=HERE)
    # Poor children registered in another county (360730), studying here.
    outsiders = papers.students(at, {Stage.PRIMARY: POOR_ELSEWHERE}, household="360730")[Stage.PRIMARY]
    # Tuition waivers: each waived child is paid in both terms of 2019 but the last, so that the person-times
    # (payments) are the paper's odd figures: 2,076 + 2,075 = 4,151 senior, 2,615 + 2,614 = 5,229 vocational.
    senior = kids[Stage.SENIOR][: (SENIOR_WAIVERS + 1) // 2]
    vocational = kids[Stage.VOCATIONAL][: (VOCATIONAL_WAIVERS + 1) // 2]
    others_needed = POOR_HERE - POOR_ELSEWHERE - len(vocational) - len(senior)
    others = (kids[Stage.PRIMARY] + kids[Stage.JUNIOR])[:others_needed]
    papers.poor([*vocational, *senior, *others, *outsiders])

    # Aid paid in 2019 (spring term of 2018-2019 and autumn term of 2019-2020), granted as registered-poor.
    poor_pay = {"by": bureau, "category": StudentCategory.Category.POVERTY_ALLEVIATED}
    senior_each = papers.amounts(SENIOR_WAIVER_YUAN, SENIOR_WAIVERS)
    vocational_each = papers.amounts(VOCATIONAL_WAIVER_YUAN, VOCATIONAL_WAIVERS)
    papers.pay(
        [*senior, *vocational],
        aid_type=AidType.TUITION_WAIVER,
        school_year=2018,
        term="spring",
        total=[*senior_each[: len(senior)], *vocational_each[: len(vocational)]],
        **poor_pay,
    )
    papers.pay(
        [*senior[: SENIOR_WAIVERS - len(senior)], *vocational[: VOCATIONAL_WAIVERS - len(vocational)]],
        aid_type=AidType.TUITION_WAIVER,
        school_year=2019,
        term="autumn",
        total=[*senior_each[len(senior) :], *vocational_each[len(vocational) :]],
        **poor_pay,
    )
    rest = [*others, *outsiders]
    rest_times = AID_TIMES - SENIOR_WAIVERS - VOCATIONAL_WAIVERS
    extra = rest_times - 2 * len(rest)
    each = papers.amounts(AID_YUAN - SENIOR_WAIVER_YUAN - VOCATIONAL_WAIVER_YUAN, rest_times)
    n = len(rest)
    boarder = {"aid_type": AidType.BOARDER_ALLOWANCE, **poor_pay}
    papers.pay(rest, school_year=2018, term="spring", total=each[:n], **boarder)
    papers.pay(rest, school_year=2019, term="autumn", total=each[n : 2 * n], **boarder)
    papers.pay(
        rest[:extra],
        aid_type=AidType.TEXTBOOK_WAIVER,
        school_year=2019,
        term="autumn",
        total=each[2 * n :],
        **poor_pay,
    )

    _ledger(IN_PREFECTURE, "422801")  # 恩施市
    _ledger(OUT_OF_PREFECTURE, "420102", sent_on=date(2019, 10, 15))  # 武汉: letters sent in the year
    papers.loans(townships, n=LOANS, total=LOAN_YUAN, school_year=2019, contract_date=date(2019, 9, 20))
    term = NutritionTerm.objects.create(
        school_year=2019, season="autumn", start=date(2019, 9, 1), end=date(2020, 1, 15)
    )
    pilot = PilotSchool.objects.create(
        term=term, school=schools[T.PRIMARY][0], supply_mode="canteen", covered_primary=30000
    )
    Purchase.objects.create(
        pilot=pilot,
        purchased_on=date(2019, 10, 1),
        supplier="粮油公司",
        category="grain",
        amount=NUTRITION_YUAN,
    )
    # 学前阶段的入学率为 86%: the population aged 3–5 (the paper gives none; see the docstring).
    AgePopulation.objects.create(
        county=County.objects.get(code=HERE),
        school_year=2019,
        band=AgePopulation.Band.PRESCHOOL,
        population=PRESCHOOL_POPULATION,
        note="统计年鉴",
    )


@pytest.fixture
def workbook(jianshi, bureau, bureau_client):
    snapshot = built_snapshot(2019, bureau, basis="calendar")
    response = bureau_client.get(reverse("reports:snapshot_download", args=[snapshot.pk]))
    assert response.status_code == 200
    return read_workbook(response)


def test_jianshi_paper_figures_in_the_workbook(workbook):
    # 全县共有168所学校（园）：1所中职，2所普通高中，17所初中，77所小学（含教学点9所），幼儿园70所（含公办9所），1所特教
    ws = workbook["分类型学校数"]
    assert line(ws, "合计")[1] == 168
    assert line(ws, "小学（含教学点）")[1] == 77 and line(ws, "  其中：教学点")[1] == 9
    assert line(ws, zh(T.KINDERGARTEN.label))[1:4] == [70, 9, 61]
    for school_type in (T.VOCATIONAL, T.SENIOR_HIGH, T.JUNIOR, T.SPECIAL):
        assert line(ws, zh(T(school_type).label))[1] == SCHOOLS[school_type][0]

    # 在编教师3632人
    assert line(workbook["教师数"], "合计")[1:3] == [3900, 3632]

    # 63406名在校学生 … 69名特殊学校学生
    ws = workbook["分学段学生数"]
    for stage, n in STUDENTS.items():
        assert line(ws, papers.STAGE_LABELS[stage])[1] == n, stage
    assert line(ws, "合计")[1] == sum(STUDENTS.values()) == 63406

    # 在我县就读的建档立卡贫困家庭学生 16666 人（外县户籍 413 人）；本县户籍 18903 人（州外 1587，州内 1063，
    # 本县就读 16253）；对州外就读的 1587 名学生全部发函
    ws = workbook["脱贫家庭学生"]
    lines = {k: zh(v) for k, v in registry.poverty_lines().items()}
    assert line(ws, lines["studying_here"])[1] == POOR_HERE
    assert line(ws, lines["registered_elsewhere"])[1] == POOR_ELSEWHERE
    in_county = POOR_HERE - POOR_ELSEWHERE
    assert line(ws, lines["registered_here_in_county"])[1] == in_county == 16253
    assert line(ws, lines["out_in_prefecture"])[1] == IN_PREFECTURE
    assert line(ws, lines["out_of_prefecture"])[1] == OUT_OF_PREFECTURE
    assert line(ws, lines["letters_sent"])[1] == OUT_OF_PREFECTURE
    assert line(ws, lines["registered_here"])[1] == in_county + IN_PREFECTURE + OUT_OF_PREFECTURE

    # 为县内就读贫困家庭学生发放资助资金 2644.2375 万元，惠及 37273 人次
    ws = workbook["学生资助"]
    poor = line(ws, zh(StudentCategory.Category.POVERTY_ALLEVIATED.label), after=zh("按家庭困难类别分资助"))
    assert poor[1] == AID_TIMES
    assert Decimal(str(poor[2])) == AID_YUAN and wan(poor[3]) == Decimal("2644.2375")

    # 普通高中免学费 313.317 万元 / 4151 人次；中职免学费 627.48 万元 / 5229 人次
    ws = workbook["免学费"]
    row = line(ws, "普通高中")
    assert row[1] == SENIOR_WAIVERS and wan(row[3]) == Decimal("313.317")
    row = line(ws, "中职")
    assert row[1] == VOCATIONAL_WAIVERS and wan(row[3]) == Decimal("627.48")

    # 大学生生源地助学贷款 458.999 万元，惠及 573 人
    contracts = line(workbook["生源地贷款"], zh(aid_section.loan_lines()["all"]))
    assert contracts[1] == LOANS and wan(contracts[3]) == Decimal("458.999")

    # 营养改善计划 2019 年共投入 2375.07 万元
    from reports.yearend import nutrition as nutrition_section

    used = line(workbook["营养改善计划"], zh(nutrition_section.nutrition_funds()["used"]))
    assert wan(used[2]) == Decimal("2375.07")

    # 学前阶段的入学率为 86%
    from reports.yearend.registry import gross_lines

    gross = line(workbook["巩固率与入学率"], zh(gross_lines()["preschool"]))
    assert gross[1:3] == [STUDENTS[Stage.PRESCHOOL], PRESCHOOL_POPULATION]
    assert round(Decimal(str(gross[3])) * 100) == 86
