"""Demo dropout cases (~30, or Ningdu's 145 送教上门 children at --scale ningdu), in every state.

Written through the services, so that every case has its ledger periods and its history. Idempotent: a county
that already has dropout cases is left alone.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from dropout_control import matching, rules, services
from dropout_control.models import DropoutCase, HouseholdRegisterUpload, ReturnWatch, TeamMember, WatchPolicy
from dropout_control.services.common import confirmable_from, watch_months
from portal.models import User
from students import id_numbers, register
from students.models import Enrollment, School, Stage, Student, StudentCategory, Township, school_year_of

DEMO_WATCH_MONTHS = 2

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "子涵欣怡梓轩浩然雨桐一诺宇轩依诺俊杰思彤佳怡"
VILLAGES = ["上坪村", "下坊村", "石門村", "竹坑村", "新田村", "洋坑村"]
REASONS = [r for r, _ in DropoutCase.Reason.choices]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)


def _child_number(rng: random.Random, today: date, taken: set[str]) -> str:
    while True:
        birth = today - timedelta(days=rng.randint(7 * 365, 15 * 365))
        number = id_numbers.make(settings.HOME_COUNTY_CODE, birth, rng.randint(500, 999))
        if number not in taken:
            taken.add(number)
            return number


def seed(*, rng: random.Random, stdout, scale: str) -> None:
    # Past years' cases (during_year) are found before last school year began; the running ones after.
    if DropoutCase.objects.filter(found_on__gte=date(school_year_of() - 1, 9, 1)).exists():
        stdout.write("dropout control: cases exist, left alone")
        return
    by = User.objects.filter(role=User.Role.BUREAU, is_active=True).order_by("pk").first()
    townships = list(Township.objects.all())
    schools = list(
        School.objects.filter(
            school_type__in=[School.Type.PRIMARY, School.Type.JUNIOR, School.Type.NINE_YEAR]
        )
    )
    if by is None or not townships or not schools:
        stdout.write("dropout control: no bureau user or registry yet, skipped")
        return
    today = timezone.localdate()
    taken = set(DropoutCase.objects.values_list("id_number", flat=True))
    pupils = list(
        # Of compulsory age today (the demo registry may be some school years old).
        Student.objects.filter(
            stage__in=[Stage.PRIMARY, Stage.JUNIOR],
            home_township__isnull=False,
            birth_date__gt=today - timedelta(days=15 * 365),
            birth_date__lt=today - timedelta(days=7 * 365),
        ).order_by("?")[:10]
    )
    special = School.objects.filter(school_type=School.Type.SPECIAL).first()
    home_teaching = 145 if scale == "ningdu" else 6
    total = home_teaching + 24
    cases = []
    for n in range(total):
        found_on = today - timedelta(days=rng.randint(5, 240))
        if n < len(pupils):
            student = pupils[n]
            case = services.case_open(
                by=by,
                student=student,
                found_on=found_on,
                found_by=DropoutCase.FoundBy.SCHOOL_REPORT,
                reason=rng.choice(REASONS),
            )
        else:
            school = rng.choice(schools)
            case = services.case_open(
                by=by,
                id_number=_child_number(rng, found_on, taken),
                name=_name(rng),
                township=school.township if rng.random() < 0.8 else rng.choice(townships),
                village=rng.choice(VILLAGES),
                school=school,
                found_on=found_on,
                found_by=rng.choice(
                    [DropoutCase.FoundBy.TOWNSHIP_SURVEY, DropoutCase.FoundBy.DATA_COMPARISON]
                ),
                reason=DropoutCase.Reason.DISABILITY if n >= total - home_teaching else rng.choice(REASONS),
            )
        cases.append(case)
        services.case_set_team(
            case=case,
            members={
                role: (_name(rng), f"13{rng.randint(100000000, 999999999)}")
                for role in TeamMember.Role.values
            },
            by=by,
        )
        for _visit in range(rng.randint(0, 3)):
            visited_on = found_on + timedelta(days=rng.randint(0, (today - found_on).days))
            services.case_add_visit(
                case=case,
                visited_on=visited_on,
                visitors="乡镇干部、村干部、班主任",
                result=rng.choice(["家长同意返校", "孩子在外务工，已电话联系", "家长思想有顾虑，需再次上门"]),
                next_step="再次上门核实",
                next_on=visited_on + timedelta(days=14),
                by=by,
            )
    # The last ones are severely disabled children taught at home; a third of the others returned or were placed.
    for case in cases[total - home_teaching :]:
        started = case.found_on + timedelta(days=min(10, (today - case.found_on).days))
        case = services.case_close(
            proof="证明材料",
            case=case,
            outcome=DropoutCase.Outcome.HOME_TEACHING,
            on=started,
            home_teacher=_name(rng),
            home_schedule="每月两次，每次2小时",
            home_visits_per_month=2,
            home_hours_per_term=Decimal("40"),
            committee_decided_on=case.found_on,
            committee_decision="重度残疾，建议送教上门",
            committee_document=f"县残评〔{case.found_on.year}〕{case.pk}号",
            by=by,
        )
        day = started
        while day + timedelta(days=15) <= today:
            day += timedelta(days=15)
            services.home_teaching_log_add(
                case=case,
                visited_on=day,
                teacher=case.home_teacher,
                hours=Decimal("2.0"),
                content="生活自理、识字",
                by=by,
            )
    # A third of the others returned: on the register again, watched, each month confirmed; those whose watch
    # has run are closed at the township's request, the last one's request awaits the bureau. The demo county
    # watches two months (a term by default), so that a return of the running school year has run its watch
    # by late autumn.
    if not WatchPolicy.objects.exists():
        services.watch_policy_set(months=DEMO_WATCH_MONTHS, by=by)
    # (Registered children found longest ago: the demo's register keeps its size, and some watches have run.)
    pupil_cases = sorted(
        (case for case in cases[: total - home_teaching] if case.student_id is not None),
        key=lambda case: case.found_on,
    )
    returned = [
        _return(case, rng=rng, today=today, school=case.student.school, by=by) for case in pupil_cases[:4]
    ]
    finished = [watch for watch in returned if watch.watch_until <= today]
    for n, watch in enumerate(finished):
        request = services.case_close_request(
            case=watch.case,
            outcome=DropoutCase.Outcome.RETURNED,
            outcome_school=watch.school,
            on=watch.watch_until,
            proof="复学登记表（班主任、校长签字）",
            by=by,
        )
        if n < len(finished) - 1 or len(finished) == 1:
            services.case_close_confirm(request=request, by=by)
    if special is not None:
        case = cases[1]
        if DropoutCase.objects.get(pk=case.pk).is_open:
            services.case_close(
                proof="证明材料",
                case=case,
                outcome=DropoutCase.Outcome.SPECIAL_SCHOOL,
                outcome_school=special,
                on=today,
                by=by,
            )
    _seed_care(rng=rng, by=by, today=today)
    _seed_register(rng=rng, by=by, today=today, taken=taken)
    local = _seed_demo_scopes(rng=rng, by=by, today=today, taken=taken)
    stdout.write(f"dropout control: {len(cases) + local} cases ({home_teaching} 送教上门)")


def _demo_scopes() -> tuple[Township | None, School | None]:
    """The township officer's township and the principal's school of the demo logins (portal/demo.py)."""
    township = User.objects.filter(role=User.Role.TOWNSHIP, township__isnull=False).order_by("pk").first()
    principal = User.objects.filter(role=User.Role.PRINCIPAL, school__isnull=False).order_by("pk").first()
    return (
        township.township if township else None,
        principal.school if principal else None,
    )


def _seed_demo_scopes(*, rng: random.Random, by, today: date, taken: set[str]) -> int:
    """Work for the township officer and the principal, whatever the random cases above hit (issue 15: the
    officer's 梅江镇 had no case). At the principal's school: a pupil back at school whose month waits to be
    confirmed, and a child not on the roll, both with a visit due; in the officer's township a child found
    by the survey a month ago, not visited yet. Returns the number of cases opened."""
    township, school = _demo_scopes()
    if township is None or school is None:
        return 0
    pupil = (
        Student.objects.filter(
            school=school,
            stage__in=[Stage.PRIMARY, Stage.JUNIOR],
            status=Student.Status.ENROLLED,
            birth_date__gt=today - timedelta(days=15 * 365),
            birth_date__lt=today - timedelta(days=7 * 365),
        )
        .exclude(id_number__in=DropoutCase.objects.values("id_number"))  # no child twice
        .order_by("pk")
        .first()
    )
    found_on = today - timedelta(days=50)
    cases = [
        services.case_open(
            by=by,
            id_number=_child_number(rng, today, taken),
            name=_name(rng),
            township=school.township,
            village=rng.choice(VILLAGES),
            school=school,
            found_on=found_on,
            found_by=DropoutCase.FoundBy.DATA_COMPARISON,
            reason=rng.choice(REASONS),
        )
    ]
    if pupil is not None:
        cases.append(
            services.case_open(
                by=by,
                student=pupil,
                found_on=found_on,
                found_by=DropoutCase.FoundBy.SCHOOL_REPORT,
                reason=rng.choice(REASONS),
            )
        )
    for case in cases:
        visited_on = found_on + timedelta(days=3)
        services.case_add_visit(
            case=case,
            visited_on=visited_on,
            visitors="乡镇干部、村干部、班主任",
            result="家长思想有顾虑，需再次上门",
            next_step="再次上门核实",
            next_on=visited_on + timedelta(days=14),  # passed, and none since: a visit is due
            by=by,
        )
    if pupil is not None:
        # Back at school this school year, no month confirmed yet: the school's watch list has work.
        returned_on = max(date(school_year_of(today), 9, 1), today - timedelta(days=20))
        watch = services.case_return(
            case=cases[-1], school=school, on=returned_on, stage=pupil.stage, grade=pupil.grade, by=by
        )
        ReturnWatch.objects.filter(pk=watch.pk).update(
            created_at=timezone.make_aware(datetime.combine(returned_on, time(9)))
        )
    local_school = (
        School.objects.filter(township=township, school_type__in=[School.Type.PRIMARY, School.Type.JUNIOR])
        .exclude(pk=school.pk)
        .order_by("code")
        .first()
    ) or school
    services.case_open(
        by=by,
        id_number=_child_number(rng, today, taken),
        name=_name(rng),
        township=township,
        village=rng.choice(VILLAGES),
        school=local_school,
        found_on=today - timedelta(days=35),
        found_by=DropoutCase.FoundBy.TOWNSHIP_SURVEY,
        reason=rng.choice(REASONS),
    )
    return len(cases) + 1


def _return(case: DropoutCase, *, rng: random.Random, today: date, school: School, by) -> ReturnWatch:
    # A return writes the register: dated in the running school year (an ended year's register changes only
    # through its roll), the cases found last year back on its first day.
    returned_on = max(
        date(school_year_of(today), 9, 1), min(today, case.found_on + timedelta(days=rng.randint(10, 30)))
    )
    stage = Stage.PRIMARY if Stage.PRIMARY in school.stages else Stage.JUNIOR
    watch = services.case_return(
        case=case, school=school, on=returned_on, stage=stage, grade=rng.randint(1, 3), by=by
    )
    # Demo history: the return as if entered on its day, its months confirmed as they came due.
    watch.created_at = timezone.make_aware(datetime.combine(returned_on, time(9)))
    ReturnWatch.objects.filter(pk=watch.pk).update(created_at=watch.created_at)
    for month in watch_months(watch):
        if confirmable_from(watch, month) <= today:
            services.watch_confirm_month(case=case, month=month, by=by)
    return watch


def _seed_care(*, rng: random.Random, by, today: date) -> None:
    left_behind = Student.objects.filter(
        pk__in=StudentCategory.objects.filter(category=StudentCategory.Category.LEFT_BEHIND)
        .on(today)
        .values("student_id")
    ).enrolled()[:40]
    for student in left_behind:
        services.care_record_add(
            student=student,
            visited_on=today - timedelta(days=rng.randint(1, 90)),
            teacher=_name(rng),
            content="万师访万家：了解学习和生活情况，与监护人沟通",
            by=by,
        )
    for student in Student.objects.filter(stage=Stage.JUNIOR).enrolled().order_by("?")[:3]:
        services.long_absence_mark(
            student=student, since=today - timedelta(days=rng.randint(10, 40)), note="连续旷课", by=by
        )


def _seed_register(*, rng: random.Random, by, today: date, taken: set[str]) -> None:
    """A small household-register comparison: registry children, and a few in no school's roll."""
    if HouseholdRegisterUpload.objects.exists():
        return
    rows = []
    students = Student.objects.filter(stage__in=[Stage.PRIMARY, Stage.JUNIOR], home_township__isnull=False)
    for s in students.select_related("home_township")[:60]:
        rows.append([s.id_number, s.name, s.home_township.name, s.village])
    townships = list(Township.objects.all())
    for _ in range(6):
        rows.append(
            [_child_number(rng, today, taken), _name(rng), rng.choice(townships).name, rng.choice(VILLAGES)]
        )
    parsed, _problems = matching.parse_rows([["身份证号", "姓名", "乡镇", "村"], *rows], as_of=today)
    matching.household_register_store(parsed=parsed, file_name="户籍名单（演示）.xlsx", as_of=today, by=by)


# --- Past years (called by seed_demo with the register's years, in order) -----------------------------------

# School years in which a few junior pupils dropped out; the first of each year's three came back within
# weeks, the second after the winter holiday, the third never did (an open case: lost to the 巩固率).
PAST_DROPOUT_YEARS = (2022, 2023, 2024)


def during_year(*, rng: random.Random, school_year: int, by) -> dict:
    """Dropouts of a school year that has ended, recorded as they happened: the child's register status
    becomes 辍学 on the day found (the register's trigger, dated), the case is opened by the bureau, and a
    child who returned is back on the register from the day of the return, watched, and the case closed."""
    # Only years before last year: the running demo (seed) opens this year's and last year's cases.
    if school_year not in PAST_DROPOUT_YEARS or school_year >= school_year_of() - 1:
        return {}
    found = date(school_year, 11, rng.randint(2, 20))
    # The junior pupils who entered junior grade 1 in 2022, whichever grade they are in this year.
    candidates = list(
        Student.objects.filter(
            pk__in=Enrollment.objects.on(found)
            .enrolled()
            .filter(stage=Stage.JUNIOR, grade=school_year - PAST_DROPOUT_YEARS[0] + 1)
            .values("student_id"),
            home_township__isnull=False,
        )
        .select_related("school", "home_township")
        .order_by("pk")
    )
    candidates = [s for s in candidates if rules.is_compulsory_age(s.birth_date, found)]
    pupils = rng.sample(candidates, min(3, len(candidates)))
    today = timezone.localdate()
    for n, student in enumerate(pupils):
        student.status = Student.Status.DROPPED_OUT
        with register.effective(found, source="dropout"):
            student.save(update_fields=["status", "updated_at"])
        case = services.case_open(
            by=by,
            student=student,
            found_on=found,
            found_by=DropoutCase.FoundBy.SCHOOL_REPORT,
            reason=rng.choice(REASONS),
        )
        services.case_set_team(
            case=case,
            members={
                role: (_name(rng), f"13{rng.randint(100000000, 999999999)}")
                for role in TeamMember.Role.values
            },
            by=by,
        )
        services.case_add_visit(
            case=case,
            visited_on=found + timedelta(days=7),
            visitors="乡镇干部、村干部、班主任",
            result="家长同意返校" if n < 2 else "孩子在外务工，已电话联系",
            next_step="再次上门核实",
            next_on=found + timedelta(days=21),
            by=by,
        )
        if n == 2:
            continue
        returned_on = found + timedelta(days=rng.randint(15, 30) if n == 0 else rng.randint(100, 110))
        watch = services.case_return(
            case=case,
            school=student.school,
            on=returned_on,
            stage=student.stage,
            grade=student.grade,
            by=by,
            today=returned_on,  # recorded on its day, in the school year being built
        )
        # As entered on its day (the watch's months are confirmed by the clock from the day it was recorded).
        watch.created_at = timezone.make_aware(datetime.combine(returned_on, time(9)))
        ReturnWatch.objects.filter(pk=watch.pk).update(created_at=watch.created_at)
        for month in watch_months(watch):
            if confirmable_from(watch, month) <= today:
                services.watch_confirm_month(case=case, month=month, by=by)
        if watch.watch_until <= today:
            request = services.case_close_request(
                case=case,
                outcome=DropoutCase.Outcome.RETURNED,
                outcome_school=watch.school,
                on=watch.watch_until,
                proof="复学登记表（班主任、校长签字）",
                by=by,
            )
            services.case_close_confirm(request=request, by=by)
    return {"dropouts": len(pupils), "returned": max(0, len(pupils) - 1)}
