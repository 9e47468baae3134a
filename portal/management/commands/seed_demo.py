"""Build the demo county: registry, users, and each area's demo records (idempotent).

Each app may provide `<app>/demo.py` with `seed(*, rng, stdout, scale)`: it is called after the registry,
in the order below, and must itself be idempotent.
"""

from __future__ import annotations

import argparse
import importlib
import random
import time

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from portal import demo as portal_demo
from portal.models import User
from students import demo as registry
from students.models import Rollover, School, Student, school_year_of

# What happens during a past school year in another area (called in order with the register's years).
YEAR_HOOKS = ["dropout_control.demo"]
AREA_DEMOS = [
    "subsidies.demo",
    "dropout_control.demo",
    "nutrition.demo",
    "reports.demo",
    "students.demo_imports",
]


def current_school_year() -> int:
    return school_year_of()


def refresh_statistics() -> None:
    """ANALYZE the tables the seed has just filled, before the year-end reports read them. Autovacuum
    analyses a table only after its writes have committed and a minute has passed: a report built right after
    a bulk load is otherwise planned for empty tables (a nested loop over 145,057 spells took minutes at
    Ningdu scale). A table the connection's role does not own is skipped by PostgreSQL with a warning."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


class Command(BaseCommand):
    help = "Build a realistic demo county (idempotent). --scale ningdu builds a Ningdu-size county."

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=None, help="How many students (default 3000).")
        parser.add_argument("--scale", choices=["demo", "ningdu"], default="demo")
        parser.add_argument("--seed", type=int, default=2022)
        parser.add_argument(
            "--past",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Build the school years since the first roll through roll-overs (default: yes, except at "
            "--scale ningdu, where the benchmarks want today's county of the given size quickly).",
        )

    def _build_past(self, *, rng: random.Random, fresh: bool) -> None:
        """Each school year since the first roll, in order: opened by the roll-over and the admissions of 1
        September, then (a year that has ended) what happened in it. Each year in one transaction; a year
        already opened is left alone, so that a second run adds nothing."""
        by = User.objects.get(username="bureau")
        done = set(Rollover.objects.applied().values_list("school_year", flat=True))
        current = current_school_year()
        for school_year in range(registry.FIRST_YEAR, current + 1):
            opening = school_year > registry.FIRST_YEAR and school_year not in done
            if not opening and not (school_year == registry.FIRST_YEAR and fresh):
                continue
            began = time.monotonic()
            with transaction.atomic():
                line = registry.open_year(rng=rng, school_year=school_year, by=by) if opening else {}
                if school_year < current:
                    line.update(registry.year_moves(rng=rng, school_year=school_year, by=by))
                    for module_name in YEAR_HOOKS:
                        line.update(
                            importlib.import_module(module_name).during_year(
                                rng=rng, school_year=school_year, by=by
                            )
                        )
            line["seconds"] = round(time.monotonic() - began, 1)
            self.stdout.write(f"school year {school_year}: " + ", ".join(f"{k} {v}" for k, v in line.items()))

    def handle(self, *args, students=None, scale="demo", seed=2022, past=None, **options):
        started = time.monotonic()
        rng = random.Random(seed)
        ningdu = scale == "ningdu"
        count = students if students is not None else (145_057 if ningdu else 3000)
        schools = registry.build_registry(rng=rng, school_scale=5 if ningdu else 1)
        portal_demo.build_users()
        created = registry.first_roll(rng=rng, schools=schools, count=count)
        self.stdout.write(
            f"registry: {len(schools)} schools, first roll of {registry.FIRST_YEAR}: {created} new students"
        )
        if past if past is not None else not ningdu:
            self._build_past(rng=rng, fresh=created > 0)
        schools = list(School.objects.all())
        for school_year in range(registry.FIRST_YEAR, current_school_year() + 1):
            registry.build_teacher_counts(rng=rng, schools=schools, school_year=school_year)
        for module_name in AREA_DEMOS:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError:
                continue
            if module_name == "reports.demo":
                refresh_statistics()
            began = time.monotonic()
            module.seed(rng=rng, stdout=self.stdout, scale=scale)
            self.stdout.write(f"  ({module_name}: {time.monotonic() - began:.1f}s)")
        self.stdout.write(
            f"today: {Student.objects.enrolled().count()} students enrolled, {Student.objects.count()} on record"
        )
        self.stdout.write(self.style.SUCCESS(f"demo county ready in {time.monotonic() - started:.1f}s"))
        self.stdout.write("demo logins (password: %s):" % portal_demo.demo_password())
        for username, _role, full_name in portal_demo.DEMO_USERS:
            self.stdout.write(f"  {username:10s} {full_name}")
        self.stdout.write(
            "bureau and official also need an authenticator code: run `make otp` (or add the key "
            f"{portal_demo.DEMO_TOTP_KEY} as hex to a TOTP app)."
        )
