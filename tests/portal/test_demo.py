import random
from datetime import date
from decimal import Decimal

from django.core.management import call_command
from django.db.models import Q
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dropout_control.models import CasePeriod, DropoutCase
from portal import demo
from portal.models import User
from reports.models import YearEndSnapshot
from students import demo as registry
from students.models import Enrollment, Rollover, School, Student, school_year_of
from tests import demo_database


def test_seed_demo_is_idempotent_and_covers_every_school_type(demo_county, db, capsys):
    """The session's demo county (tests/demo_database.py) was seeded once; seeding it again adds nothing."""
    counts = (Student.objects.count(), Enrollment.objects.count(), Rollover.objects.count())
    call_command("seed_demo", students=demo_database.DEMO_STUDENTS)
    assert (Student.objects.count(), Enrollment.objects.count(), Rollover.objects.count()) == counts
    assert set(School.objects.values_list("school_type", flat=True)) == set(School.Type.values)
    assert set(User.objects.values_list("username", flat=True)) >= {
        "bureau",
        "township",
        "principal",
        "official",
    }
    assert "portal-demo-2026" in capsys.readouterr().out
    _the_demo_county_has_a_past()


def _the_demo_county_has_a_past():
    """The demo county entered its first roll in 2021 and kept its register since: each September opened by
    the roll-over (as bureau staff), then admissions and intakes; transfers, moves out of county, dropouts."""
    current = school_year_of()
    today = timezone.localdate()
    rollovers = Rollover.objects.applied()
    assert sorted(rollovers.values_list("school_year", flat=True)) == list(
        range(registry.FIRST_YEAR + 1, current + 1)
    )
    assert set(rollovers.values_list("applied_by__username", flat=True)) == {"bureau"}
    # No spell written by hand: each comes from the first roll (with the earlier years' rolls of its primary and
    # junior pupils), a roll-over or a dated change of a Student row.
    sources = set(Enrollment.objects.values_list("source", flat=True))
    assert sources <= {f"roll {y}" for y in range(registry.FIRST_YEAR - 8, registry.FIRST_YEAR + 1)} | {
        "rollover",
        "transfer",
        "transfer out",
        "dropout",
        "return",
    } | {f"admission {y}" for y in range(registry.FIRST_YEAR + 1, current + 1)}, sources
    # A child in primary grade 1 on the 2022 register has moved up a grade each year since.
    grade_now = 1 + current - 2022
    first_graders = Enrollment.objects.on(date(2022, 10, 1)).enrolled().filter(stage="primary", grade=1)
    moved_up = (
        Enrollment.objects.on(today)
        .enrolled()
        .filter(stage="primary", grade=grade_now, student__in=first_graders.values("student_id"))
    )
    assert moved_up.exists()
    assert Student.objects.filter(pk=moved_up.first().student_id, stage="primary", grade=grade_now).exists()
    # Kindergarten and grade-1 intakes arrive each September; the top grades graduate.
    for year in range(registry.FIRST_YEAR + 1, current + 1):
        intake = Enrollment.objects.filter(valid_from=date(year, 9, 1), source=f"admission {year}", grade=1)
        assert intake.filter(stage="preschool").exists() and intake.filter(stage="primary").exists(), year
    assert Student.objects.filter(status="graduated", stage="senior").exists()
    assert Enrollment.objects.filter(status="transferred_out").exists()
    # A school opened in 2024 and one closed: nobody on the register where a school did not run.
    opened = School.objects.get(code=registry.NEW_SCHOOL[0])
    closed = School.objects.get(code=registry.CLOSING_SCHOOL)
    assert opened.opened_on == date(2024, 9, 1) and closed.closed_on == registry.CLOSED_ON
    assert not Enrollment.objects.filter(school=opened, valid_from__lt=opened.opened_on).exists()
    assert (
        not Enrollment.objects.filter(school=closed)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=closed.closed_on))
        .exists()
    )
    assert Enrollment.objects.on(today).enrolled().filter(school=opened).exists()

    # The 2024 year-end report: published (定稿), a later draft beside it that differs.
    published = YearEndSnapshot.objects.published(year=2024, basis="school")
    assert published is not None
    draft = YearEndSnapshot.objects.draft_beside(published)
    assert draft is not None and draft.figures["sections"]["rates"] != published.figures["sections"]["rates"]
    # Its aid is paid by the real rules, and every cohort of its rates is on the register (the earlier years'
    # rolls of the first roll's pupils: primary entered 2019, nine-year 2016).
    assert Decimal(published.figures["sections"]["aid"]["total"]["amount"]) > 0
    cohorts = {r["key"]: r for r in published.figures["sections"]["rates"]["tables"]["cohorts"]["rows"]}
    assert all(cohorts[key]["cohort"] > 0 for key in ("primary", "junior", "nine_year")), cohorts
    # Its students are the 2024 register's, not today's.
    reference = date(2025, 8, 31)
    students_2024 = published.figures["sections"]["students"]["total"]["students"]
    assert students_2024 == Enrollment.objects.on(reference).enrolled().count()
    assert students_2024 != Student.objects.enrolled().count()
    # The junior cohort that entered grade 1 in 2022, counted by hand: its losses are the demo's dropouts
    # who had not come back (an open case on 31 August 2025, or not on a roll).
    grade_one = Enrollment.objects.filter(stage="junior", grade=1, status="enrolled")
    cohort = set(
        grade_one.filter(valid_from__range=(date(2022, 9, 1), date(2023, 8, 31)))
        .exclude(student__in=grade_one.filter(valid_from__lt=date(2022, 9, 1)).values("student_id"))
        .values_list("student_id", flat=True)
    )
    status_then = dict(
        Enrollment.objects.on(reference).filter(student__in=cohort).values_list("student_id", "status")
    )
    left = {s for s in cohort if status_then.get(s) in ("transferred_out", "deceased")}
    open_case = set(
        CasePeriod.objects.filter(case__student__in=cohort, opened_on__lte=reference)
        .filter(Q(closed_on__isnull=True) | Q(closed_on__gt=reference))
        .values_list("case__student_id", flat=True)
    )
    lost = (open_case | {s for s in cohort if status_then.get(s) not in ("enrolled", "graduated")}) - left
    assert lost, "the demo's cohort lost nobody"
    assert lost <= set(DropoutCase.objects.values_list("student_id", flat=True))
    junior = {r["key"]: r for r in published.figures["sections"]["rates"]["tables"]["cohorts"]["rows"]}[
        "junior"
    ]
    base = len(cohort) - len(left)
    assert (junior["cohort"], junior["base"], junior["retained"]) == (len(cohort), base, base - len(lost))
    assert Decimal(junior["retention"]) == (Decimal(base - len(lost)) / base).quantize(Decimal("0.0001"))
    assert Decimal(junior["retention"]) < 1


def test_demo_bureau_logs_in_with_the_printed_code(db, settings):
    registry.build_registry(rng=random.Random(1))
    demo.build_users()
    bureau = User.objects.get(username="bureau")
    client = Client()
    client.post(reverse("login"), {"username": "bureau", "password": demo.demo_password()})
    client.post(reverse("otp_verify"), {"token": demo.current_code(bureau)})
    assert client.get(reverse("students:student_list")).status_code == 200
