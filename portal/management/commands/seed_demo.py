"""Build the demo county: registry, users, and each area's demo records (idempotent).

Each app may provide `<app>/demo.py` with `seed(*, rng, stdout, scale)`: it is called after the registry,
in the order below, and must itself be idempotent.
"""

from __future__ import annotations

import importlib
import random
import time

from django.core.management.base import BaseCommand

from portal import demo as portal_demo
from students import demo as registry
from students.models import school_year_of

AREA_DEMOS = ["subsidies.demo", "dropout_control.demo", "nutrition.demo", "reports.demo"]


def current_school_year() -> int:
    return school_year_of()


class Command(BaseCommand):
    help = "Build a realistic demo county (idempotent). --scale ningdu builds a Ningdu-size county."

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=None, help="How many students (default 3000).")
        parser.add_argument("--scale", choices=["demo", "ningdu"], default="demo")
        parser.add_argument("--seed", type=int, default=2022)

    def handle(self, *args, students=None, scale="demo", seed=2022, **options):
        started = time.monotonic()
        rng = random.Random(seed)
        ningdu = scale == "ningdu"
        count = students if students is not None else (145_057 if ningdu else 3000)
        schools = registry.build_registry(rng=rng, school_scale=5 if ningdu else 1)
        created = registry.build_students(rng=rng, schools=schools, count=count)
        # The papers' year (2022) and the running school year, so that today's dashboards have teachers too.
        for school_year in sorted({2022, current_school_year()}):
            registry.build_teacher_counts(rng=rng, schools=schools, school_year=school_year)
        portal_demo.build_users()
        self.stdout.write(f"registry: {len(schools)} schools, {created} new students ({count} wanted)")
        for module_name in AREA_DEMOS:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError:
                continue
            module.seed(rng=rng, stdout=self.stdout, scale=scale)
        self.stdout.write(self.style.SUCCESS(f"demo county ready in {time.monotonic() - started:.1f}s"))
        self.stdout.write("demo logins (password: %s):" % portal_demo.demo_password())
        for username, _role, full_name in portal_demo.DEMO_USERS:
            self.stdout.write(f"  {username:10s} {full_name}")
        self.stdout.write(
            "bureau and official also need an authenticator code: run `make otp` (or add the key "
            f"{portal_demo.DEMO_TOTP_KEY} as hex to a TOTP app)."
        )
