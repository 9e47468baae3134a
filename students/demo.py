"""A realistic demo county (Ningdu-like) built with bulk inserts: used by seed_demo, tests and benchmarks."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from students import id_numbers
from students.models import (
    STAGE_GRADES,
    County,
    School,
    Stage,
    Student,
    StudentCategory,
    TeacherCount,
    Township,
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


@transaction.atomic
def build_students(*, rng: random.Random, schools: list[School], count: int, school_year: int = 2022) -> int:
    """Add students until the county has `count` of them; returns how many were created."""
    existing = Student.objects.count()
    wanted = count - existing
    if wanted <= 0:
        return 0
    taken = set(Student.objects.values_list("id_number", flat=True))
    townships = list(Township.objects.all())
    # Big schools take more pupils: weight by type.
    weights = {
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
    school_weights = [weights[s.school_type] for s in schools]
    term_start = date(school_year, 9, 1)
    batch: list[Student] = []
    categories: list[tuple[int, str]] = []
    created = 0
    sequence = existing
    while created < wanted:
        school = rng.choices(schools, school_weights)[0]
        stage = rng.choice(school.stages)
        grade = rng.randint(1, STAGE_GRADES[stage] if stage != Stage.SPECIAL else 6)
        age = STAGE_START_AGE[stage] + grade - 1
        birth = date(school_year - age, rng.randint(1, 12), rng.randint(1, 28))
        if birth.month >= 9:
            birth = birth.replace(year=birth.year - 1)
        # About 4% study here with household registration elsewhere.
        division = settings.HOME_COUNTY_CODE if rng.random() > 0.04 else rng.choice(NEIGHBOURS)[0]
        sequence += 1
        number = id_numbers.make(division, birth, sequence % 1000)
        if number in taken:
            continue
        taken.add(number)
        parsed = id_numbers.parse(number)
        home = school.township if rng.random() > 0.1 else rng.choice(townships)
        batch.append(
            Student(
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
        )
        created += 1
        if len(batch) >= 5000:
            categories.extend(_save_batch(batch, rng))
            batch = []
    if batch:
        categories.extend(_save_batch(batch, rng))
    StudentCategory.objects.bulk_create(
        [
            StudentCategory(
                student_id=student_id,
                category=category,
                valid_from=date(2019, 1, 1)
                if category == StudentCategory.Category.POVERTY_ALLEVIATED
                else term_start.replace(month=3),
                source="演示数据",
            )
            for student_id, category in categories
        ],
        batch_size=5000,
    )
    return created


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


def _save_batch(batch: list[Student], rng: random.Random) -> list[tuple[int, str]]:
    Student.objects.bulk_create(batch, batch_size=5000)
    pairs = []
    for student in batch:
        for category, share in CATEGORY_SHARES:
            if rng.random() < share:
                pairs.append((student.pk, category))
    return pairs


def build_teacher_counts(*, rng: random.Random, schools: list[School], school_year: int = 2022) -> None:
    existing = set(TeacherCount.objects.filter(school_year=school_year).values_list("school_id", flat=True))
    counts = dict(Student.objects.values("school_id").annotate(n=Count("pk")).values_list("school_id", "n"))
    TeacherCount.objects.bulk_create(
        [
            TeacherCount(
                school=s,
                school_year=school_year,
                # About one teacher per 19 pupils: Ningdu's 7,563 teachers for 145,057 students.
                headcount=max(2, counts.get(s.pk, 0) // 19 + rng.randint(0, 2)),
            )
            for s in schools
            if s.pk not in existing
        ]
    )
