"""A realistic demo county (Ningdu-like) built with bulk inserts: used by seed_demo, tests and benchmarks."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count

from students import id_numbers, register
from students.models import (
    STAGE_GRADES,
    County,
    Enrollment,
    School,
    Stage,
    Student,
    StudentCategory,
    TeacherCount,
    Township,
    Transfer,
    school_year_of,
)

TOWNSHIPS = [
    ("36073001", "梅江镇"),
    ("36073002", "青塘镇"),
    ("36073003", "长胜镇"),
    ("36073004", "黄陂镇"),
    ("36073005", "固村镇"),
    ("36073006", "赖村镇"),
    ("36073007", "石上镇"),
    ("36073008", "东山坝镇"),
]
NEIGHBOURS = [("360731", "于都县", "赣州市"), ("360735", "石城县", "赣州市"), ("361025", "乐安县", "抚州市")]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊孟秦邱"
GIVEN = "子涵欣怡梓轩浩然雨桐一诺宇轩依诺俊杰思彤佳怡梓萱明轩晨曦文博嘉怡子墨若汐天佑雅琪博文诗涵鑫磊婷颖"
VILLAGES = ["上坪村", "下坊村", "石門村", "竹坑村", "新田村", "洋坑村", "大布村", "湖岭村"]

# (type, how many per township on average, stages, boarding) — shaped like Ningdu's 2022 counts.
SCHOOL_MIX = [
    (School.Type.KINDERGARTEN, 3),
    (School.Type.TEACHING_POINT, 3),
    (School.Type.PRIMARY, 2),
    (School.Type.JUNIOR, 1),
    (School.Type.NINE_YEAR, 1),
]
COUNTY_SCHOOLS = [
    (School.Type.TWELVE_YEAR, "宁都县第一实验学校"),
    (School.Type.SENIOR_HIGH, "宁都中学"),
    (School.Type.SENIOR_HIGH, "宁都县第二中学"),
    (School.Type.COMPLETE_MIDDLE, "宁都县城关中学"),
    (School.Type.VOCATIONAL, "宁都县职业技术学校"),
    (School.Type.SPECIAL, "宁都县特殊教育学校"),
    (School.Type.ADVANCED_TECHNICAL, "宁都县高级技工学校"),
]
TYPE_SUFFIX = {
    School.Type.KINDERGARTEN: "幼儿园",
    School.Type.TEACHING_POINT: "教学点",
    School.Type.PRIMARY: "中心小学",
    School.Type.JUNIOR: "中学",
    School.Type.NINE_YEAR: "九年一贯制学校",
}
# Age at the start of grade 1 of each stage.
STAGE_START_AGE = {
    Stage.PRESCHOOL: 3,
    Stage.PRIMARY: 6,
    Stage.JUNIOR: 12,
    Stage.SENIOR: 15,
    Stage.VOCATIONAL: 15,
    Stage.SPECIAL: 7,
}


def build_registry(*, rng: random.Random, school_scale: int = 1) -> list[School]:
    """Townships and schools of every type (idempotent: looked up by code)."""
    county, _ = County.objects.get_or_create(
        code=settings.HOME_COUNTY_CODE, defaults={"name": "宁都县", "prefecture": "赣州市"}
    )
    for code, name, prefecture in NEIGHBOURS:
        County.objects.get_or_create(code=code, defaults={"name": name, "prefecture": prefecture})
    schools = []
    for t_index, (code, name) in enumerate(TOWNSHIPS):
        township, _ = Township.objects.get_or_create(code=code, defaults={"name": name, "county": county})
        for school_type, per_township in SCHOOL_MIX:
            for n in range(per_township * school_scale):
                place = name[:-1] if n == 0 else f"{name[:-1]}{VILLAGES[(n + t_index) % len(VILLAGES)][:-1]}"
                school_code = f"3607{t_index + 1:02d}{list(School.Type).index(school_type):02d}{n + 1:03d}"
                private = school_type == School.Type.KINDERGARTEN and n == 2
                preschool = Stage.PRESCHOOL in School.TYPE_STAGES[school_type]
                school, _ = School.objects.get_or_create(
                    code=school_code,
                    defaults={
                        "township": township,
                        "name": f"{place}{TYPE_SUFFIX[school_type]}"
                        + (f"{n + 1}" if n >= len(VILLAGES) else ""),
                        "school_type": school_type,
                        "ownership": School.Ownership.PRIVATE if private else School.Ownership.PUBLIC,
                        # Public preschools are inclusive (普惠); the private one is not (yet) approved as such.
                        "is_inclusive": preschool and not private,
                        "preschool_fee": Decimal((1200, 1500, 1800)[n % 3]) if preschool else None,
                        "is_rural": t_index > 0,
                        "is_boarding": school_type in (School.Type.JUNIOR, School.Type.NINE_YEAR),
                        "has_canteen": school_type != School.Type.TEACHING_POINT,
                        "principal_name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                    },
                )
                schools.append(school)
    seat = Township.objects.get(code=TOWNSHIPS[0][0])
    for n, (school_type, school_name) in enumerate(COUNTY_SCHOOLS):
        school, _ = School.objects.get_or_create(
            code=f"360700{list(School.Type).index(school_type):02d}{n + 1:03d}",
            defaults={
                "township": seat,
                "name": school_name,
                "school_type": school_type,
                "is_rural": False,
                "is_boarding": school_type not in (School.Type.SPECIAL,),
                "has_canteen": True,
            },
        )
        schools.append(school)
    return schools


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _new_student(
    rng: random.Random, *, school: School, stage: str, grade: int, school_year: int, townships, sequence: int
) -> Student:
    """A child at `school` in `stage` and `grade` in `school_year`, of the right age, not yet saved."""
    age = STAGE_START_AGE[stage] + grade - 1
    birth = date(school_year - age, rng.randint(1, 12), rng.randint(1, 28))
    if birth.month >= 9:
        birth = birth.replace(year=birth.year - 1)
    # About 4% study here with household registration elsewhere.
    division = settings.HOME_COUNTY_CODE if rng.random() > 0.04 else rng.choice(NEIGHBOURS)[0]
    number = id_numbers.make(division, birth, sequence % 1000)
    parsed = id_numbers.parse(number)
    home = school.township if rng.random() > 0.1 else rng.choice(townships)
    return Student(
        id_number=number,
        name=_name(rng),
        sex=parsed.sex,
        birth_date=birth,
        school=school,
        stage=stage,
        grade=grade,
        household_county_code=division,
        home_township=home if division == settings.HOME_COUNTY_CODE else None,
        village=rng.choice(VILLAGES),
        is_boarding=school.is_boarding and stage != Stage.PRESCHOOL and rng.random() < 0.6,
        guardian_name=_name(rng),
        guardian_phone=f"13{rng.randint(100000000, 999999999)}",
        enrolled_on=date(school_year - grade + 1, 9, 1),
    )


# Big schools take more pupils: weight by type.
SCHOOL_WEIGHTS = {
    School.Type.KINDERGARTEN: 3,
    School.Type.TEACHING_POINT: 1,
    School.Type.PRIMARY: 8,
    School.Type.JUNIOR: 8,
    School.Type.NINE_YEAR: 8,
    School.Type.TWELVE_YEAR: 12,
    School.Type.SENIOR_HIGH: 15,
    School.Type.COMPLETE_MIDDLE: 10,
    School.Type.VOCATIONAL: 10,
    School.Type.SPECIAL: 1,
    School.Type.ADVANCED_TECHNICAL: 3,
}


@transaction.atomic
def build_students(
    *,
    rng: random.Random,
    schools: list[School],
    count: int,
    school_year: int = 2022,
    register_from: date | None = None,
) -> int:
    """Add students until the county has `count` of them; returns how many were created.

    With `register_from`, the children are entered as that day's roll (the register starts there, as when a
    county enters its first roll); without it each spell starts at the child's enrolment date."""
    existing = Student.objects.count()
    wanted = count - existing
    if wanted <= 0:
        return 0
    taken = set(Student.objects.values_list("id_number", flat=True))
    townships = list(Township.objects.all())
    school_weights = [SCHOOL_WEIGHTS[s.school_type] for s in schools]
    term_start = date(school_year, 9, 1)
    batch: list[Student] = []
    categories: list[tuple[int, str]] = []
    created = 0
    sequence = existing
    while created < wanted:
        school = rng.choices(schools, school_weights)[0]
        # A stage's share of a school's pupils follows its number of grades.
        stage = rng.choices(school.stages, [STAGE_GRADES[s] for s in school.stages])[0]
        grade = rng.randint(1, STAGE_GRADES[stage] if stage != Stage.SPECIAL else 6)
        sequence += 1
        student = _new_student(
            rng,
            school=school,
            stage=stage,
            grade=grade,
            school_year=school_year,
            townships=townships,
            sequence=sequence,
        )
        if student.id_number in taken:
            continue
        taken.add(student.id_number)
        batch.append(student)
        created += 1
        if len(batch) >= 5000:
            categories.extend(_save_batch(batch, rng, register_from))
            batch = []
    if batch:
        categories.extend(_save_batch(batch, rng, register_from))
    _save_categories(categories, valid_from=term_start.replace(month=3))
    return created


def _save_categories(categories: list[tuple[int, str]], *, valid_from: date) -> None:
    StudentCategory.objects.bulk_create(
        [
            StudentCategory(
                student_id=student_id,
                category=category,
                valid_from=date(2019, 1, 1)
                if category == StudentCategory.Category.POVERTY_ALLEVIATED
                else valid_from,
                source="演示数据",
            )
            for student_id, category in categories
        ],
        batch_size=5000,
    )


# Rough shares of each category among pupils of a poor rural county.
CATEGORY_SHARES = [
    (StudentCategory.Category.POVERTY_ALLEVIATED, 0.12),
    (StudentCategory.Category.UNSTABLE, 0.01),
    (StudentCategory.Category.MARGINAL, 0.01),
    (StudentCategory.Category.DIBAO, 0.05),
    (StudentCategory.Category.EXTREME_HARDSHIP, 0.004),
    (StudentCategory.Category.ORPHAN, 0.003),
    (StudentCategory.Category.DISABLED, 0.008),
    (StudentCategory.Category.MARTYR_CHILD, 0.0005),
    (StudentCategory.Category.LEFT_BEHIND, 0.15),
    (StudentCategory.Category.IN_DIFFICULTY, 0.01),
    (StudentCategory.Category.MIGRANT, 0.03),
]


def _save_batch(
    batch: list[Student], rng: random.Random, register_from: date | None = None
) -> list[tuple[int, str]]:
    if register_from is None:
        Student.objects.bulk_create(batch, batch_size=5000)
    else:
        with register.effective(register_from, source=f"roll {school_year_of(register_from)}"):
            Student.objects.bulk_create(batch, batch_size=5000)
    pairs = []
    for student in batch:
        for category, share in CATEGORY_SHARES:
            if rng.random() < share:
                pairs.append((student.pk, category))
    return pairs


def build_teacher_counts(*, rng: random.Random, schools: list[School], school_year: int = 2022) -> None:
    existing = set(TeacherCount.objects.filter(school_year=school_year).values_list("school_id", flat=True))
    # The pupils on the register when the year began (today's rows for a county without one yet).
    on_register = Enrollment.objects.on(date(school_year, 9, 1)).enrolled()
    rows = on_register if on_register.exists() else Student.objects.all()
    counts = dict(rows.values("school_id").annotate(n=Count("pk")).values_list("school_id", "n"))
    TeacherCount.objects.bulk_create(
        [
            TeacherCount(
                school=s,
                school_year=school_year,
                # About one teacher per 19 pupils: Ningdu's 7,563 teachers for 145,057 students.
                headcount=max(2, counts.get(s.pk, 0) // 19 + rng.randint(0, 2)),
            )
            for s in schools
            if s.pk not in existing and _open_on(s, date(school_year, 9, 1))
        ]
    )


# --- A county with a past ----------------------------------------------------------------------------------
#
# The demo county entered its first roll in September FIRST_YEAR and has kept its register since, the way a
# county does: each September bureau staff apply the roll-over (students.rollover), the schools then enrol
# the leavers expected in the next stage and the new intakes (kindergarten, grade 1, a few from elsewhere),
# and during the year a few children change school, leave the county or drop out (dropout_control.demo).
# Every change goes through the register's writers: the roll-over, and the Student row's trigger with the
# change's date (`register.effective`); no spell is written by hand.

FIRST_YEAR = 2021
# A teaching point merged into its township's primary school in summer 2024 (closed from 1 September) …
CLOSING_SCHOOL = "36070401003"
CLOSED_ON = date(2024, 9, 1)
# … and a primary school opened in the county seat that September.
NEW_SCHOOL = ("36070002901", "宁都县城东小学")
NEW_SCHOOL_YEAR = 2024

# Where each stage's leavers go on (share, stage of the next school); the rest leave the register.
NEXT_STAGE = {
    Stage.PRESCHOOL: [(0.92, Stage.PRIMARY)],
    Stage.PRIMARY: [(0.97, Stage.JUNIOR)],
    Stage.JUNIOR: [(0.55, Stage.SENIOR), (0.30, Stage.VOCATIONAL)],
}


def first_roll(*, rng: random.Random, schools: list[School], count: int) -> int:
    """The county's first roll, entered in September FIRST_YEAR (the register starts that day), and the
    earlier years of its primary and junior pupils (`_earlier_rolls`)."""
    open_then = [s for s in schools if _open_on(s, date(FIRST_YEAR, 9, 1))]
    created = build_students(
        rng=rng,
        schools=open_then,
        count=count,
        school_year=FIRST_YEAR,
        register_from=date(FIRST_YEAR, 9, 1),
    )
    if created:
        _earlier_rolls()
    return created


def _earlier_rolls() -> None:
    """The past years' rolls a county imports with its first (students.roll's past roll): each primary and
    junior pupil of the first roll on the register of every earlier school year of the stage, a grade lower
    each year back to grade 1, at the same school (where it ran then). The retention rates of the reports need
    them: 2024-2025's primary cohort entered grade 1 in 2019 and its nine-year cohort in 2016. Written as a
    past roll writes its spells (set-based, the source "roll <year>"), in one statement: seeding stays fast."""
    first = date(FIRST_YEAR, 9, 1)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO students_enrollment (student_id, school_id, stage, grade, is_boarding,
                is_agricultural_major, status, valid_from, valid_to, source, recorded_at)
            SELECT e.student_id, e.school_id, e.stage, k.grade, e.is_boarding, false, e.status,
                   make_date(y.year, 9, 1), make_date(y.year + 1, 8, 31), 'roll ' || y.year, now()
            FROM students_enrollment e
            JOIN students_school sc ON sc.id = e.school_id
            CROSS JOIN LATERAL generate_series(1, e.grade - 1) AS k(grade)
            CROSS JOIN LATERAL (SELECT %(year)s - e.grade + k.grade AS year) y
            WHERE e.valid_from = %(first)s AND e.stage IN ('primary', 'junior') AND e.status = 'enrolled'
              AND (sc.opened_on IS NULL OR sc.opened_on <= make_date(y.year, 9, 1))
            ORDER BY e.student_id, k.grade
            """,
            {"year": FIRST_YEAR, "first": first},
        )


def _open_on(school: School, day: date) -> bool:
    return (school.opened_on is None or school.opened_on <= day) and (
        school.closed_on is None or school.closed_on > day
    )


def _bulk_change(students: list[Student], fields: list[str], *, on: date, source: str) -> None:
    """Save changed Student rows as of `on`: the register's trigger splits their spells there."""
    if students:
        with register.effective(on, source=source):
            Student.objects.bulk_update(students, fields, batch_size=2000)


def open_year(*, rng: random.Random, school_year: int, by) -> dict:
    """1 September of `school_year`: the roll-over as bureau staff apply it, then the schools' admissions (the
    leavers expected in the next stage, new kindergarten and grade-1 intakes, a few children from elsewhere)."""
    from students.rollover import rollover_apply

    start = date(school_year, 9, 1)
    if school_year == NEW_SCHOOL_YEAR:
        _open_new_school(rng)
    rollover = rollover_apply(school_year=school_year, by=by, today=start)
    schools = [s for s in School.objects.select_related("township") if _open_on(s, start)]
    by_stage: dict[str, list[School]] = {}
    for school in schools:
        if school.school_type == School.Type.SPECIAL:
            continue
        for stage in school.stages:
            by_stage.setdefault(stage, []).append(school)

    def school_for(stage: str, township_id: int | None, current: School | None = None) -> School:
        if current is not None and stage in current.stages and _open_on(current, start):
            return current  # a twelve-year school keeps its junior leavers for senior high
        near = [s for s in by_stage[stage] if s.township_id == township_id]
        pool = near or by_stage[stage]
        return rng.choices(pool, [SCHOOL_WEIGHTS[s.school_type] for s in pool])[0]

    # Who left each stage (read before the admissions change the roll-over's spells); a primary leaver at a
    # 一贯制 school went on to junior 1 there.
    opened = Enrollment.objects.filter(rollover=rollover).order_by()
    leaving = Counter(opened.filter(status=Student.Status.GRADUATED).values_list("stage", flat=True))
    continuing = opened.filter(stage=Stage.JUNIOR, grade=1).count()
    leavers = list(
        Student.objects.filter(
            pk__in=Enrollment.objects.filter(rollover=rollover, status=Student.Status.GRADUATED).values(
                "student_id"
            ),
            stage__in=list(NEXT_STAGE),
        )
        .select_related("school")
        .order_by("pk")
    )
    admitted: list[Student] = []
    for student in leavers:
        roll = rng.random()
        for share, stage in NEXT_STAGE[student.stage]:
            if roll < share:
                school = school_for(
                    stage, student.home_township_id or student.school.township_id, student.school
                )
                student.school, student.stage, student.grade = school, stage, 1
                student.status, student.enrolled_on = Student.Status.ENROLLED, start
                student.is_boarding = school.is_boarding and rng.random() < 0.6
                admitted.append(student)
                break
            roll -= share
    _bulk_change(
        admitted,
        ["school", "stage", "grade", "status", "enrolled_on", "is_boarding"],
        on=start,
        source=f"admission {school_year}",
    )
    # New children: as many as left each stage less those who came up from the stage below (the county keeps
    # its size): kindergarten and grade-1 children, and a few junior and senior pupils from other counties.
    leaving[Stage.PRIMARY] += continuing
    arriving = Counter(s.stage for s in admitted)
    arriving[Stage.JUNIOR] += continuing
    intakes = []
    for stage in (Stage.PRESCHOOL, Stage.PRIMARY, Stage.JUNIOR, Stage.SENIOR, Stage.VOCATIONAL):
        gap = leaving[stage] - arriving[stage]
        if stage not in (Stage.PRESCHOOL, Stage.PRIMARY):
            gap = min(gap, round(leaving[stage] * 0.1))
        intakes += [stage] * max(1, gap)
    townships = list(Township.objects.all())
    taken = set(Student.objects.values_list("id_number", flat=True))
    sequence = Student.objects.count() + school_year
    new: list[Student] = []
    for stage in intakes:
        township = rng.choice(townships)
        school = school_for(stage, township.pk)
        if school_year >= NEW_SCHOOL_YEAR and stage == Stage.PRIMARY and rng.random() < 0.5:
            school = School.objects.get(code=NEW_SCHOOL[0])
        sequence += 7
        student = _new_student(
            rng,
            school=school,
            stage=stage,
            grade=1,
            school_year=school_year,
            townships=townships,
            sequence=sequence,
        )
        if student.id_number in taken:
            continue
        taken.add(student.id_number)
        student.enrolled_on = start
        new.append(student)
    with register.effective(start, source=f"admission {school_year}"):
        Student.objects.bulk_create(new, batch_size=2000)
    categories = []
    for student in new:
        for category, share in CATEGORY_SHARES:
            if rng.random() < share:
                categories.append((student.pk, category))
    _save_categories(categories, valid_from=start)
    return {"rolled": rollover.summary.get("rolled", 0), "admitted": len(admitted), "new": len(new)}


def _open_new_school(rng: random.Random) -> School:
    seat = Township.objects.get(code=TOWNSHIPS[0][0])
    school, _ = School.objects.get_or_create(
        code=NEW_SCHOOL[0],
        defaults={
            "township": seat,
            "name": NEW_SCHOOL[1],
            "school_type": School.Type.PRIMARY,
            "is_rural": False,
            "has_canteen": True,
            "is_inclusive": True,
            "preschool_fee": Decimal("1500"),
            "principal_name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            "opened_on": date(NEW_SCHOOL_YEAR, 9, 1),
        },
    )
    return school


def year_moves(*, rng: random.Random, school_year: int, by) -> dict:
    """What changes during a school year that has ended: a few pupils change school within the county, a few
    leave for schools in other counties (转出), and in summer 2024 a teaching point's pupils move to their
    township's primary school and the teaching point closes."""
    counts = {"transfers": 0, "transferred_out": 0}
    for month, day in ((11, 15), (3, 10)):
        on = date(school_year + (month < 9), month, day)
        enrolled = list(
            Enrollment.objects.on(on)
            .enrolled()
            .exclude(stage=Stage.SPECIAL)
            .order_by("student_id")
            .values_list("student_id", "stage", "school__township_id", "school_id")
        )
        if not enrolled:
            continue
        chosen = rng.sample(enrolled, max(1, len(enrolled) // 250))
        schools = [s for s in School.objects.exclude(school_type=School.Type.SPECIAL) if _open_on(s, on)]
        moved, gone, transfers = [], [], []
        students = Student.objects.in_bulk([c[0] for c in chosen])
        for student_id, stage, township_id, school_id in chosen:
            student = students[student_id]
            if rng.random() < 0.4:
                student.status = Student.Status.TRANSFERRED_OUT
                gone.append(student)
                continue
            options = [s for s in schools if stage in s.stages and s.pk != school_id]
            near = [s for s in options if s.township_id == township_id] or options
            if not near:
                continue
            target = rng.choice(near)
            transfers.append(
                Transfer(
                    student=student,
                    from_school_id=school_id,
                    to_school=target,
                    on=on,
                    reason="家庭搬迁",
                    by=by,
                )
            )
            student.school = target
            moved.append(student)
        Transfer.objects.bulk_create(transfers)
        _bulk_change(moved, ["school"], on=on, source="transfer")
        _bulk_change(gone, ["status"], on=on, source="transfer out")
        counts["transfers"] += len(moved)
        counts["transferred_out"] += len(gone)
    if school_year == CLOSED_ON.year - 1:
        counts["merged"] = _close_school(by)
    return counts


def _close_school(by) -> int:
    closing = School.objects.filter(code=CLOSING_SCHOOL, closed_on__isnull=True).first()
    if closing is None:
        return 0
    on = date(CLOSED_ON.year, 7, 10)  # the end of the summer term
    into = (
        School.objects.filter(township=closing.township, school_type=School.Type.PRIMARY)
        .order_by("code")
        .first()
    )
    pupils = list(
        Student.objects.filter(
            pk__in=Enrollment.objects.on(on).enrolled().filter(school=closing).values("student_id")
        )
    )
    Transfer.objects.bulk_create(
        [
            Transfer(student=s, from_school=closing, to_school=into, on=on, reason="撤点并校", by=by)
            for s in pupils
        ]
    )
    for student in pupils:
        student.school = into
    _bulk_change(pupils, ["school"], on=on, source="transfer")
    closing.closed_on = CLOSED_ON
    closing.full_clean()
    closing.save()
    return len(pupils)
