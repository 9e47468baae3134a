"""Issue 13, "Done means", end to end through the services a bureau uses: a county reports last school year,
opens this one with the autumn roll-over, imports this year's full roll (a move, a 小升初, a new child, a child
missing from the roll), resolves the missing child, then rebuilds last year's report: every figure equal to its
first build, while this year's figures follow the new register. And a county that starts now builds its 2022
report from an imported 2022 roll and the national aid system's 2022 payments."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from reports import yearend
from students import importing, roll, rollover, services
from students.models import Enrollment, ImportJob, MissingFromRoll, School, Stage, Student, school_year_of
from subsidies import pengshui
from subsidies.models import AidExclusionGroup, AidPolicy
from subsidies.services import past_payments_import
from tests.factories import SchoolFactory, StudentFactory, make_id_number

pytestmark = pytest.mark.django_db

YEAR = school_year_of(timezone.localdate())  # the school year the roll-over opens
LAST = YEAR - 1
HEADER = [c[0] for c in importing.COLUMNS] + [roll.YEAR_COLUMN, roll.REASON_COLUMN, roll.DATE_COLUMN]


def figures(year: int) -> dict:
    return yearend.build_figures(county_code=settings.HOME_COUNTY_CODE, year=year, basis="school")


def upload(rows, name="学籍.xlsx") -> SimpleUploadedFile:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def roll_line(number, name, school: School, stage: str, grade: int, year: str = "") -> list:
    line = [number, name, school.code, stage, grade, "", "否", "", "", "", "", ""]
    return line + [""] * (len(importing.COLUMNS) - len(line)) + [year, "", ""]


@pytest.fixture
def county(township_a, township_b, school_a, school_b):
    junior = SchoolFactory(township=township_b, school_type=School.Type.JUNIOR, name="乙镇中学")
    since = date(LAST - 1, 9, 1)
    return {
        "junior": junior,
        "stays": StudentFactory(school=school_a, grade=3, enrolled_on=since, name="留下"),
        "mover": StudentFactory(school=school_a, grade=2, enrolled_on=since, name="转学"),
        "leaver": StudentFactory(school=school_a, grade=6, enrolled_on=since, name="小升初"),
        "missing": StudentFactory(school=school_b, grade=4, enrolled_on=since, name="不见了"),
        "finisher": StudentFactory(
            school=junior, stage=Stage.JUNIOR, grade=3, enrolled_on=since, name="初三毕业"
        ),
    }


def test_last_year_rebuilt_after_the_roll_over_and_the_full_roll_gives_every_figure_again(
    county, bureau, school_a, school_b
):
    first = figures(LAST)
    assert first["sections"]["students"]["total"]["students"] == 5

    # Autumn: the bureau opens the school year.
    preview = rollover.preview(school_year=YEAR)
    # Three move up (grades 3 and 2 of primary, 4 at school B), the 6th-grader and the junior 3rd-year graduate.
    assert (preview["totals"]["moves_up"], preview["totals"]["graduates"]) == (3, 2)
    rollover.rollover_apply(school_year=YEAR, fingerprint=preview["fingerprint"], by=bureau)
    first_day = date(YEAR, 9, 1)
    assert Enrollment.objects.on(first_day).get(student=county["stays"]).grade == 4
    assert Enrollment.objects.on(first_day).get(student=county["leaver"]).status == Student.Status.GRADUATED

    # The full roll of the national 学籍 system, dated in September: the mover at school B, the 6th-grader now in
    # junior 1, a child new to the county, and no line for the child who went away.
    roll_day = min(date(YEAR, 9, 20), timezone.localdate())
    newcomer = make_id_number(date(YEAR - 6, 5, 1))
    rows = [
        roll_line(county["stays"].id_number, "留下", school_a, "小学", 4),
        roll_line(county["mover"].id_number, "转学", school_b, "小学", 3),
        roll_line(county["leaver"].id_number, "小升初", county["junior"], "初中", 1),
        roll_line(newcomer, "新生", school_a, "小学", 1),
    ]
    job = services.roll_import_start(
        upload=upload(rows), kind=ImportJob.Kind.FULL_ROLL, school_year=YEAR, roll_date=roll_day, by=bureau
    )
    assert job.status == ImportJob.Status.PREVIEW, job.errors
    services.roll_import_apply(job=job, by=bureau)
    missing = MissingFromRoll.objects.get(student=county["missing"])
    services.roll_missing_resolve(
        missing=missing, reason=MissingFromRoll.Reason.TRANSFERRED_OUT, on=roll_day, by=bureau
    )

    # Last year, rebuilt: every figure of the first build, to the last breakdown.
    assert figures(LAST) == first

    # This year follows the new register: the child who left the county and the junior graduate are gone, the
    # newcomer is counted, each child at the school of the roll.
    now = figures(YEAR)["sections"]["students"]
    assert now["total"]["students"] == 4
    by_school = {int(k): v["students"] for k, v in now["by_school"].items() if v.get("students")}
    assert by_school == {school_a.pk: 2, school_b.pk: 1, county["junior"].pk: 1}
    assert Student.objects.get(pk=county["missing"].pk).status == Student.Status.TRANSFERRED_OUT


def test_a_county_started_now_builds_its_2022_report_from_the_imported_roll_and_payments(
    bureau, school_a, township_b
):
    # The data migrations load the aid table; a transactional test elsewhere may have flushed it since.
    pengshui.load(AidPolicy, AidExclusionGroup)
    junior = SchoolFactory(township=township_b, school_type=School.Type.JUNIOR, name="乙镇中学")
    ming, hong, gang = (make_id_number(date(2014, 3, 1)) for _ in range(3))
    past_roll = [
        roll_line(ming, "张小明", school_a, "小学", 2, "2022-2023"),
        roll_line(hong, "李小红", junior, "初中", 1, "2022-2023"),
        roll_line(gang, "王刚", school_a, "小学", 5, "2022-2023"),
    ]
    job = services.roll_import_start(
        upload=upload(past_roll), kind=ImportJob.Kind.PAST_ROLL, school_year=2022, by=bureau
    )
    assert job.status == ImportJob.Status.PREVIEW, job.errors
    services.roll_import_apply(job=job, by=bureau)
    assert Enrollment.objects.on(date(2022, 10, 1)).enrolled().count() == 3

    wb = Workbook()
    ws = wb.active
    ws.append(["身份证号", "姓名", "资助项目", "学年", "学期", "金额", "发放日期"])
    for number, name, aid, term, amount, paid in (
        (ming, "张小明", "非寄宿生生活补助", "秋季", 250, date(2022, 12, 20)),
        (ming, "张小明", "非寄宿生生活补助", "春季", 250, date(2023, 6, 20)),
        (hong, "李小红", "寄宿生生活补助", "秋季", Decimal("625.50"), date(2022, 11, 30)),
        (gang, "王刚", "非寄宿生生活补助", "秋季", 250, date(2022, 12, 20)),
    ):
        ws.append([number, name, aid, "2022-2023", term, amount, paid])
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    past_payments_import(upload=buffer, filename="资助发放明细2022.xlsx", by=bureau)

    # The hand count of school year 2022, read on 31 August 2023: three children on the roll (two primary,
    # one junior); four payments received, 1,375.50 yuan, three of them primary (750.00).
    sections = figures(2022)["sections"]
    assert sections["students"]["total"]["students"] == 3
    assert sections["aid"]["total"]["person_times"] == 4
    assert Decimal(sections["aid"]["total"]["amount"]) == Decimal("1375.50")
    by_stage = {r["key"]: r for r in sections["aid"]["tables"]["by_stage"]["rows"]}
    assert (by_stage[Stage.PRIMARY]["person_times"], Decimal(by_stage[Stage.PRIMARY]["amount"])) == (
        3,
        Decimal("750.00"),
    )
    # And nobody of 2022 is counted in 2021, before the roll.
    assert figures(2021)["sections"]["students"]["total"]["students"] == 0
