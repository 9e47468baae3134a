"""The Pengshui 2022 aid policy table (彭水县 2022年家庭经济困难学生资助政策), loaded as the default rule book.

Amounts are yuan per student per year unless per day. Where the paper says "the school's fee" (tuition,
textbooks, accommodation) it names no figure: the rows carry a default standard marked in the note, for the
bureau to replace with the fee it approved. The national-grant tiers are assigned by category (tier 1: the
categories the paper names; tier 2: the other difficulty students); the bureau edits them like any row.

Plain data, no model imports: the data migration reads it.
"""

from __future__ import annotations

from datetime import date

VALID_FROM = date(2022, 1, 1)
SOURCE = "彭水县教委 2022年巩固脱贫攻坚成果全面推进乡村教育振兴工作实施方案 附件"

PA = "poverty_alleviated"
DIBAO = "dibao"
EXTREME = "extreme_hardship"
ORPHAN = "orphan"
DISABLED = "disabled"
MARTYR = "martyr_child"
UNSTABLE = "unstable"
MARGINAL = "marginal"
SUDDEN = "sudden_hardship"

PRESCHOOL_NEEDY = [PA, DIBAO, ORPHAN, DISABLED, EXTREME]
BOARDER_NEEDY = [PA, DIBAO, DISABLED, ORPHAN, EXTREME, MARTYR]
# 除已脱贫户外的家庭经济困难学生: every other difficulty category; 脱贫户 non-boarders get the free lunch.
NON_BOARDER_NEEDY = [DIBAO, DISABLED, ORPHAN, EXTREME, MARTYR, UNSTABLE, MARGINAL, SUDDEN]
SENIOR_NEEDY = [PA, DIBAO, DISABLED, EXTREME, ORPHAN]
OTHER_NEEDY = [UNSTABLE, MARGINAL, SUDDEN, MARTYR]
TEXTBOOK_NEEDY = [PA, DIBAO, EXTREME]
FEE_NOTE = "按学校收费标准据实补助；默认值待县资助中心按核定收费标准修改"


def _row(aid_type: str, stage: str, amount: str, **extra) -> dict:
    return {
        "aid_type": aid_type,
        "stage": stage,
        "amount": amount,
        "tier": 0,
        "categories": [],
        "excluded_categories": [],
        "boarding": "any",
        "rural_only": False,
        "grade_min": None,
        "grade_max": None,
        "unit": "per_year",
        "days_per_year": None,
        "payee": "person",
        "max_terms": None,
        "supersedes": [],
        "valid_from": VALID_FROM,
        "valid_to": None,
        "note": "",
        "source": SOURCE,
        **extra,
    }


ROWS = [
    # 1. 学前教育
    _row(
        "preschool_fee_waiver",
        "preschool",
        "1500.00",
        categories=PRESCHOOL_NEEDY,
        payee="school",
        note="保教费每年最高1500元，补助到校",
    ),
    _row(
        "preschool_living",
        "preschool",
        "660.00",
        categories=PRESCHOOL_NEEDY,
        payee="school_if_meals",
        note="具备供餐条件的补助到校，不具备的补助到人；实施学前营养改善计划的就高执行800元",
    ),
    _row(
        "preschool_nutrition",
        "preschool",
        "800.00",
        rural_only=True,
        payee="school",
        supersedes=["preschool_living"],
        note="农村普惠幼儿园学前营养改善计划，每生每年800元补助到校",
    ),
    # 2. 义务教育
    _row(
        "boarder_allowance",
        "primary",
        "1000.00",
        categories=BOARDER_NEEDY,
        boarding="boarder",
        note="寄宿生生活补贴，补助到人",
    ),
    _row(
        "boarder_allowance",
        "junior",
        "1250.00",
        categories=BOARDER_NEEDY,
        boarding="boarder",
        note="寄宿生生活补贴，补助到人",
    ),
    _row(
        "non_boarder_allowance",
        "primary",
        "500.00",
        categories=NON_BOARDER_NEEDY,
        excluded_categories=[PA],
        boarding="non_boarder",
        note="非寄宿生生活补贴，除已脱贫户外的家庭经济困难学生",
    ),
    _row(
        "non_boarder_allowance",
        "junior",
        "625.00",
        categories=NON_BOARDER_NEEDY,
        excluded_categories=[PA],
        boarding="non_boarder",
        note="非寄宿生生活补贴，除已脱贫户外的家庭经济困难学生",
    ),
    _row(
        "free_lunch",
        "primary",
        "6.00",
        unit="per_day",
        days_per_year=200,
        categories=[PA],
        boarding="non_boarder",
        payee="canteen",
        supersedes=["nutrition_plan"],
        note="非寄宿已脱贫户学生免费午餐，直接拨付学校食堂，不得发放现金；已享受营养改善计划的纳入一并计算",
    ),
    _row(
        "free_lunch",
        "junior",
        "7.00",
        unit="per_day",
        days_per_year=200,
        categories=[PA],
        boarding="non_boarder",
        payee="canteen",
        supersedes=["nutrition_plan"],
        note="非寄宿已脱贫户学生免费午餐，直接拨付学校食堂，不得发放现金；已享受营养改善计划的纳入一并计算",
    ),
    _row(
        "nutrition_plan",
        "primary",
        "5.00",
        unit="per_day",
        days_per_year=200,
        rural_only=True,
        payee="school",
        note="农村学校学生营养改善计划全覆盖",
    ),
    _row(
        "nutrition_plan",
        "junior",
        "5.00",
        unit="per_day",
        days_per_year=200,
        rural_only=True,
        payee="school",
        note="农村学校学生营养改善计划全覆盖",
    ),
    # 3. 普通高中
    _row("tuition_waiver", "senior", "1600.00", categories=SENIOR_NEEDY, payee="school", note=FEE_NOTE),
    _row(
        "textbook_waiver",
        "senior",
        "400.00",
        categories=TEXTBOOK_NEEDY,
        payee="school",
        max_terms=6,
        note="资助期限为3年；" + FEE_NOTE,
    ),
    _row("national_grant", "senior", "3000.00", tier=1, categories=SENIOR_NEEDY, note="国家助学金一档"),
    _row("national_grant", "senior", "1000.00", tier=2, categories=OTHER_NEEDY, note="国家助学金二档"),
    # 4. 职业教育
    _row("tuition_waiver", "vocational", "2000.00", payee="school", note="县职教中心全面免除学费"),
    _row(
        "accommodation_waiver",
        "vocational",
        "500.00",
        categories=SENIOR_NEEDY,
        boarding="boarder",
        payee="school",
        max_terms=5,
        note="累计年限不超过2.5年；" + FEE_NOTE,
    ),
    _row(
        "textbook_waiver",
        "vocational",
        "400.00",
        categories=TEXTBOOK_NEEDY,
        payee="school",
        max_terms=5,
        note="补助期限最长不超过2.5年；" + FEE_NOTE,
    ),
    _row(
        "national_grant",
        "vocational",
        "3000.00",
        tier=1,
        categories=SENIOR_NEEDY,
        grade_min=1,
        grade_max=2,
        note="国家助学金一档（一、二年级）",
    ),
    _row(
        "national_grant",
        "vocational",
        "2000.00",
        tier=2,
        categories=OTHER_NEEDY,
        grade_min=1,
        grade_max=2,
        note="国家助学金二档（一、二年级）",
    ),
    # 5. 高等教育 (students outside our schools: recorded for the rule book and the year-end report)
    _row(
        "tuition_aid",
        "higher",
        "8000.00",
        categories=[PA],
        note="已脱贫户大学生学费据实资助，超过8000元的按8000元资助",
    ),
]


def load(policy_model) -> int:
    """Insert the rows that are missing (idempotent); takes the model so the data migration can use it."""
    created = 0
    for row in ROWS:
        _, made = policy_model.objects.get_or_create(
            aid_type=row["aid_type"],
            stage=row["stage"],
            tier=row["tier"],
            valid_from=row["valid_from"],
            defaults={k: v for k, v in row.items() if k not in ("aid_type", "stage", "tier", "valid_from")},
        )
        created += made
    return created
