"""The Pengshui 2022 aid policy table (彭水县 2022年家庭经济困难学生资助政策), loaded as the default rule book.

Amounts are yuan per student per year unless per day. Where the paper names no figure ("the school's fee":
compulsory 免学杂费 and textbooks, senior and vocational tuition, textbooks and accommodation) the row has no
amount (None): the county enters the fee it approved before any batch can draw the aid. Where the paper is
silent on how a rule applies (special-education pupils, the tier of an agricultural major, the loan top-up
after the 2023 cap change) the row is the county's own setting and its note says so. The national-grant
tiers are assigned by category (tier 1: the categories the paper names; tier 2: the other difficulty
students) and by the level of the school's needy-student identification (`LEVELS`, issue 17); the bureau edits
them like any row. The allowances and waivers the paper gives to 家庭经济困难学生 as such take an identified
student at any level as well (`IDENTIFIED_AIDS`).

Plain data, no model imports: the data migrations read it.
"""

from __future__ import annotations

from datetime import date, timedelta

VALID_FROM = date(2022, 1, 1)
SOURCE = "彭水县教委 2022年巩固脱贫攻坚成果全面推进乡村教育振兴工作实施方案 附件"
LOAN_2023_SOURCE = "国家助学贷款额度调整：2023年秋季学期起本专科生每年最高16000元、研究生每年最高20000元"
LOAN_2023 = date(2023, 9, 1)

PA = "poverty_alleviated"
DIBAO = "dibao"
EXTREME = "extreme_hardship"
ORPHAN = "orphan"
DISABLED = "disabled"
MARTYR = "martyr_child"
UNSTABLE = "unstable"
MARGINAL = "marginal"
SUDDEN = "sudden_hardship"
MONITORED = [UNSTABLE, MARGINAL, SUDDEN]
# Every family-difficulty category (StudentCategory.DIFFICULTY).
DIFFICULTY = [PA, UNSTABLE, MARGINAL, SUDDEN, DIBAO, EXTREME, ORPHAN, DISABLED, MARTYR]

PRESCHOOL_NEEDY = [PA, DIBAO, ORPHAN, DISABLED, EXTREME]
# "已脱贫户学生、城乡低保学生、残疾学生、孤儿、特困学生及烈士家庭子女**等**经济困难学生": the list is open, so
# the monitored households (脱贫不稳定户、边缘易致贫户、突发严重困难户) the paper names as difficulty students
# (section 4) qualify as well.
BOARDER_NEEDY = [PA, DIBAO, DISABLED, ORPHAN, EXTREME, MARTYR, *MONITORED]
# 除已脱贫户外的家庭经济困难学生: every other difficulty category; 脱贫户 non-boarders get the free lunch.
NON_BOARDER_NEEDY = [DIBAO, DISABLED, ORPHAN, EXTREME, MARTYR, UNSTABLE, MARGINAL, SUDDEN]
SENIOR_NEEDY = [PA, DIBAO, DISABLED, EXTREME, ORPHAN]
OTHER_NEEDY = [UNSTABLE, MARGINAL, SUDDEN, MARTYR]
TEXTBOOK_NEEDY = [PA, DIBAO, EXTREME]
FEE_NOTE = "文件未列金额（按学校核定收费标准据实补助）：须由县资助中心录入核定标准后方可发放"
COUNTY_NOTE = "县级设定（文件未作规定），可在政策表修改"
SPECIAL_NOTE = "特殊教育学校义务教育阶段学生按小学（1-6年级）、初中（7-9年级）标准执行：" + COUNTY_NOTE


def _row(aid_type: str, stage: str, amount: str | None, **extra) -> dict:
    return {
        "aid_type": aid_type,
        "stage": stage,
        "amount": amount,
        "tier": 0,
        "categories": [],
        "excluded_categories": [],
        "boarding": "any",
        "rural_only": False,
        "inclusive_only": False,
        "agricultural_only": False,
        "fee_capped": False,
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


def _compulsory(stage: str, primary: bool, **extra) -> list[dict]:
    """The compulsory-education rows of one stage: the primary or the junior standard."""
    boarder, non_boarder, lunch = ("1000.00", "500.00", "6.00") if primary else ("1250.00", "625.00", "7.00")
    note = extra.pop("note", "")
    rows = [
        _row(
            "misc_fee_waiver",
            stage,
            None,
            payee="school",
            note="免学杂费；" + FEE_NOTE,
        ),
        _row(
            "textbook_waiver",
            stage,
            None,
            payee="school",
            note="免教科书费；" + FEE_NOTE,
        ),
        _row(
            "exercise_books",
            stage,
            None,
            categories=DIFFICULTY,
            payee="school",
            note="对家庭经济困难学生免费提供作业本；" + FEE_NOTE,
        ),
        _row(
            "boarder_allowance",
            stage,
            boarder,
            categories=BOARDER_NEEDY,
            boarding="boarder",
            note="寄宿生生活补贴，补助到人；“等经济困难学生”含脱贫不稳定户、边缘易致贫户、突发严重困难户",
        ),
        _row(
            "non_boarder_allowance",
            stage,
            non_boarder,
            categories=NON_BOARDER_NEEDY,
            excluded_categories=[PA],
            boarding="non_boarder",
            note="非寄宿生生活补贴，除已脱贫户外的家庭经济困难学生",
        ),
        _row(
            "free_lunch",
            stage,
            lunch,
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
            stage,
            "5.00",
            unit="per_day",
            days_per_year=200,
            rural_only=True,
            payee="school",
            note="农村学校学生营养改善计划全覆盖",
        ),
    ]
    if not primary:
        rows.insert(
            2,
            _row("study_materials", stage, None, payee="school", note="初中主科教辅资料费；" + FEE_NOTE),
        )
    for row in rows:
        row.update(extra)
        if note:
            row["note"] = f"{row['note']}。{note}"
    return rows


ROWS = [
    # 1. 学前教育
    _row(
        "preschool_fee_waiver",
        "preschool",
        "1500.00",
        categories=PRESCHOOL_NEEDY,
        payee="school",
        fee_capped=True,
        note="保教费按每年最高1500元的标准补助到校：按幼儿园核定的保教费据实补助，最高1500元",
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
        inclusive_only=True,
        payee="school",
        supersedes=["preschool_living"],
        note="农村普惠幼儿园学前营养改善计划，每生每年800元补助到校",
    ),
    # 2. 义务教育
    *_compulsory("primary", primary=True),
    *_compulsory("junior", primary=False),
    # 特殊教育: the paper has no rows of its own; its compulsory-stage pupils are compulsory education.
    *_compulsory("special", primary=True, grade_min=1, grade_max=6, note=SPECIAL_NOTE),
    *_compulsory("special", primary=False, grade_min=7, grade_max=9, note=SPECIAL_NOTE),
    # 3. 普通高中
    _row("tuition_waiver", "senior", None, categories=SENIOR_NEEDY, payee="school", note=FEE_NOTE),
    _row(
        "textbook_waiver",
        "senior",
        None,
        categories=TEXTBOOK_NEEDY,
        payee="school",
        max_terms=6,
        note="资助期限为3年；" + FEE_NOTE,
    ),
    _row("national_grant", "senior", "3000.00", tier=1, categories=SENIOR_NEEDY, note="国家助学金一档"),
    _row("national_grant", "senior", "1000.00", tier=2, categories=OTHER_NEEDY, note="国家助学金二档"),
    # 4. 职业教育
    _row("tuition_waiver", "vocational", None, payee="school", note="县职教中心全面免除学费；" + FEE_NOTE),
    _row(
        "accommodation_waiver",
        "vocational",
        None,
        categories=SENIOR_NEEDY,
        boarding="boarder",
        payee="school",
        max_terms=5,
        note="累计年限不超过2.5年；" + FEE_NOTE,
    ),
    _row(
        "textbook_waiver",
        "vocational",
        None,
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
    _row(
        "national_grant",
        "vocational",
        "2000.00",
        tier=3,
        agricultural_only=True,
        grade_min=1,
        grade_max=2,
        note="一、二年级涉农专业学生（无困难类别的按二档2000元）：档次为" + COUNTY_NOTE,
    ),
    # 5. 高等教育 (students outside our schools: recorded for the rule book and the year-end report)
    _row(
        "tuition_aid",
        "higher",
        "8000.00",
        categories=[PA],
        note="已脱贫户大学生学费据实资助，超过8000元的按8000元资助",
    ),
    # 生源地信用助学贷款: the cap of each year's contract (the loan is the fees, at most the cap), and the
    # municipal top-up for 脱贫户 students whose fees exceed the cap. Not drawn into batches (no students in
    # our schools): services.loan_create reads them.
    _row(
        "credit_loan",
        "higher",
        "12000.00",
        valid_to=LOAN_2023 - timedelta(days=1),
        note="生源地信用助学贷款每生每年最高12000元（学费和住宿费之和）",
    ),
    _row(
        "credit_loan",
        "postgraduate",
        "12000.00",
        valid_to=LOAN_2023 - timedelta(days=1),
        note="文件未区分研究生，按最高12000元；" + COUNTY_NOTE,
    ),
    _row(
        "credit_loan",
        "higher",
        "16000.00",
        valid_from=LOAN_2023,
        source=LOAN_2023_SOURCE,
        note="本专科生每生每年最高16000元",
    ),
    _row(
        "credit_loan",
        "postgraduate",
        "20000.00",
        valid_from=LOAN_2023,
        source=LOAN_2023_SOURCE,
        note="研究生每生每年最高20000元",
    ),
    _row(
        "loan_top_up",
        "higher",
        "8000.00",
        categories=[PA],
        valid_to=LOAN_2023 - timedelta(days=1),
        note="重庆市补充生源地助学贷款：已脱贫家庭学生学费住宿费之和高于12000元的，最高8000元；"
        "2023年秋季起额度调整后文件未作规定，须由县资助中心录入",
    ),
]

# Aids of one group exclude each other: a student is paid (or pending) at most one of them in a term.
GROUPS = [
    {
        "code": "compulsory_living",
        "name": "义务教育生活补助（寄宿生、非寄宿生、免费午餐）",
        "aid_types": ["boarder_allowance", "non_boarder_allowance", "free_lunch"],
        "note": "寄宿生生活补贴、非寄宿生生活补贴、非寄宿脱贫户学生免费午餐三者只享受其一",
    },
    {
        "code": "lunch_nutrition",
        "name": "免费午餐与营养改善计划",
        "aid_types": ["free_lunch", "nutrition_plan"],
        "note": "免费午餐标准已含营养改善计划（已享受营养改善计划的纳入一并计算）",
    },
    {
        "code": "preschool_living",
        "name": "学前生活费与学前营养改善计划",
        "aid_types": ["preschool_living", "preschool_nutrition"],
        "note": "实施学前营养改善计划的，就高执行800元，不再执行生活费补助660元",
    },
]


# The national grant's tiers by the level of needy-student identification (家庭经济困难学生认定, issue 17). The
# paper names two standards and no level; as the categories it names for the upper standard are those the
# national guidance identifies first as especially difficult, the county sets 特别困难 to the upper standard
# (3,000) and 困难 / 一般困难 to the lower one (senior high 1,000, vocational 2,000). Kept apart from ROWS: the
# first migrations load ROWS into a table without the `levels` column.
SPECIAL_LEVEL, DIFFICULT_LEVEL, GENERAL_LEVEL = "special", "difficult", "general"
LEVELS = {
    ("national_grant", "senior", 1): [SPECIAL_LEVEL],
    ("national_grant", "senior", 2): [DIFFICULT_LEVEL, GENERAL_LEVEL],
    ("national_grant", "vocational", 1): [SPECIAL_LEVEL],
    ("national_grant", "vocational", 2): [DIFFICULT_LEVEL, GENERAL_LEVEL],
}
LEVELS_NOTE = "；认定等级：特别困难按一档，困难、一般困难按二档（县级设定，可在政策表修改）"


def set_levels(policy_model) -> int:
    """Give the national grant's rows of this table their identification levels, where a row has none yet
    (a level the county set is left as it is). Idempotent."""
    done = 0
    for (aid_type, stage, tier), levels in LEVELS.items():
        for policy in policy_model.objects.filter(
            aid_type=aid_type, stage=stage, tier=tier, valid_from=VALID_FROM, levels=[]
        ):
            policy.levels = levels
            if LEVELS_NOTE not in policy.note:
                policy.note = (policy.note + LEVELS_NOTE)[:300]
            policy.save(update_fields=["levels", "note"])
            done += 1
    return done


# The aids the paper gives to 家庭经济困难学生 as such, not only to a closed list of categories, so that a
# student the school identified (the county confirmed the level) qualifies at any level, as the categories do:
#   作业本 "对家庭经济困难学生免费提供作业本"; 非寄宿生生活补贴 "除已脱贫户外的家庭经济困难学生" (脱贫户 stay
#   excluded: they get the free lunch); 寄宿生生活补贴 "……及烈士家庭子女等经济困难学生"; 学前保教费、生活费
#   "……及特困学生等家庭经济困难学生"; 中职免住宿费 "困难家庭学生（包括……）".
# Not the closed lists: senior high 免学费 and the textbook waivers name their categories without "等", and the
# free lunch is for 脱贫户 only.
IDENTIFIED_AIDS = [
    *(
        (aid_type, stage)
        for aid_type in ("exercise_books", "boarder_allowance", "non_boarder_allowance")
        for stage in ("primary", "junior", "special")
    ),
    ("preschool_fee_waiver", "preschool"),
    ("preschool_living", "preschool"),
    ("accommodation_waiver", "vocational"),
]
ALL_LEVELS = [SPECIAL_LEVEL, DIFFICULT_LEVEL, GENERAL_LEVEL]
IDENTIFIED_NOTE = "；经认定的家庭经济困难学生（县级确认的任一等级）同样享受"


def identified_levels(policy_model, *, last_paid_term_end=None) -> list[str]:
    """Let identified students qualify for `IDENTIFIED_AIDS`: the paper's open rows (source SOURCE, not
    closed) that have no level yet and were not given them before (the note says so; a county that took
    the levels off again keeps it so). A row nothing was paid under gets the levels in place; a row money
    was paid under keeps its standard (what was paid stays explained): it is closed at the end of the last
    term paid under it and a row with the levels starts the next day, as `revise` does.
    `last_paid_term_end(policy)` gives that date, or None; left out, every row is changed in place (a table
    just loaded). Returns what was done, one line a row. Idempotent."""
    done = []
    for aid_type, stage in IDENTIFIED_AIDS:
        rows = policy_model.objects.filter(
            aid_type=aid_type, stage=stage, source=SOURCE, valid_to__isnull=True, levels=[]
        ).exclude(note__contains=IDENTIFIED_NOTE)
        for policy in rows:
            note = (policy.note + IDENTIFIED_NOTE)[:300]
            end = last_paid_term_end(policy) if last_paid_term_end else None
            label = f"{stage} {aid_type} {policy.grade_min or ''}"
            if end is None:
                policy.levels, policy.note = ALL_LEVELS, note
                policy.save(update_fields=["levels", "note"])
                done.append(f"{label}: identified levels added")
                continue
            policy.valid_to = end
            policy.save(update_fields=["valid_to"])
            policy.pk = None
            policy.valid_from, policy.valid_to = end + timedelta(days=1), None
            policy.levels, policy.note = ALL_LEVELS, note
            policy.save()
            done.append(f"{label}: closed on {end}, with identified levels from the next day")
    return done


def _key(row: dict) -> dict:
    return {k: row[k] for k in ("aid_type", "stage", "tier", "grade_min", "valid_from")}


# Not in Pengshui's table: the 雨露计划 (Yulu Plan) of the rural-revitalisation bureau, national since 2021:
# 3,000 yuan a year (1,500 a term) to each secondary vocational student of a 脱贫户 or a monitored household,
# paid to the family. Loaded with the table (`load`; migration 0018 on a database that had the table
# already): every vocational 脱贫户 and monitored child qualifies for it beside Pengshui's aids, the national
# grant included, in no exclusion group: the papers exclude no aid from it (the only "at most one of" they name
# are the compulsory-stage allowances and the nutrition-plan pairs of GROUPS; Meixian's paper names "雨露计划+"
# only as a measure to carry out). Its list is matched like the other departments' lists
# (MatchRun.Source.YULU_PLAN).
YULU_PLAN_ROWS = [
    _row(
        "yulu_plan",
        "vocational",
        "3000.00",
        categories=[PA, "unstable", "marginal", "sudden_hardship"],
        valid_from=date(2021, 1, 1),
        source="国家乡村振兴局 雨露计划（中职、高职学生每生每年 3000 元）",
        note="乡村振兴部门发放；按学期各 1500 元，直接发放到家庭",
    )
]


def load_rows(policy_model, rows: list[dict]) -> int:
    created = 0
    for row in rows:
        _, made = policy_model.objects.get_or_create(
            **_key(row), defaults={k: v for k, v in row.items() if k not in _key(row)}
        )
        created += made
    return created


def load(policy_model, group_model=None) -> int:
    """Insert the rows (and groups) that are missing (idempotent); takes the models so that the data
    migrations can use it."""
    created = 0
    for row in ROWS + YULU_PLAN_ROWS:
        _, made = policy_model.objects.get_or_create(
            **_key(row), defaults={k: v for k, v in row.items() if k not in _key(row)}
        )
        created += made
    if group_model is not None:
        for group in GROUPS:
            group_model.objects.get_or_create(
                code=group["code"], defaults={k: v for k, v in group.items() if k != "code"}
            )
    if any(f.name == "levels" for f in policy_model._meta.get_fields()):
        set_levels(policy_model)
        identified_levels(policy_model)
    return created


# What the first edition of this table (migration 0002) said where the current one differs: a row still
# holding these values is corrected by `revise`; a value the county has changed since is left as it is.
FIRST_EDITION = {
    ("preschool_fee_waiver", "preschool", 0): {"fee_capped": False},
    ("preschool_nutrition", "preschool", 0): {"inclusive_only": False},
    ("boarder_allowance", "primary", 0): {"categories": [PA, DIBAO, DISABLED, ORPHAN, EXTREME, MARTYR]},
    ("boarder_allowance", "junior", 0): {"categories": [PA, DIBAO, DISABLED, ORPHAN, EXTREME, MARTYR]},
    ("tuition_waiver", "senior", 0): {"amount": "1600.00"},
    ("textbook_waiver", "senior", 0): {"amount": "400.00"},
    ("tuition_waiver", "vocational", 0): {"amount": "2000.00"},
    ("accommodation_waiver", "vocational", 0): {"amount": "500.00"},
    ("textbook_waiver", "vocational", 0): {"amount": "400.00"},
}


def revise(policy_model, *, last_paid_term_end) -> list[str]:
    """Bring the rows of the first edition of this table to the current one (databases migrated before).

    Only values still as the first edition had them are corrected; a row the county closed is left to it.
    A row nothing was paid under is corrected in place. A row money was paid under keeps its standard (what
    was paid stays explained): it is closed at the end of the last term paid under it, and the corrected
    row starts the next day. `last_paid_term_end(policy)` gives that date, or None when nothing was paid.
    Returns what was done, one line a row."""
    done = []
    current = {(r["aid_type"], r["stage"], r["tier"]): r for r in ROWS if r["valid_from"] == VALID_FROM}
    for key, first in FIRST_EDITION.items():
        row = current[key]
        existing = policy_model.objects.filter(**_key(row)).first()
        if existing is None or existing.valid_to is not None:
            continue
        changed = {
            field: row[field] for field, old in first.items() if not _differs(getattr(existing, field), old)
        }
        changed = {
            field: value for field, value in changed.items() if _differs(getattr(existing, field), value)
        }
        if not changed:
            continue
        changed["note"] = row["note"]
        end = last_paid_term_end(existing)
        label = f"{row['stage']} {row['aid_type']} {row['tier']}"
        if end is None:
            for field, value in changed.items():
                setattr(existing, field, value)
            existing.save()
            done.append(f"{label}: corrected ({', '.join(changed)})")
            continue
        existing.valid_to = end
        existing.save(update_fields=["valid_to"])
        fields = {field: getattr(existing, field) for field in row if field not in ("valid_from", "valid_to")}
        policy_model.objects.create(**{**fields, **changed, "valid_from": end + timedelta(days=1)})
        done.append(f"{label}: closed on {end}, corrected from the next day")
    return done


def _differs(current, wanted) -> bool:
    from decimal import Decimal

    if isinstance(wanted, str) and isinstance(current, Decimal):
        return current != Decimal(wanted)
    if isinstance(wanted, list) and isinstance(current, list):
        return sorted(current) != sorted(wanted)
    return current != wanted
