"""The benchmark county: migrate, build it with `seed_demo` if it is not there yet (timed), and count it.

    python benchmarks/bench_seed.py --scale ningdu [--students N]

Seeding is idempotent, so a second run reuses the county and prints its counts only.
"""

from __future__ import annotations

import argparse
import sys
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, setup_django, timer  # noqa: E402

# (figure, app label, model, aggregate: None = count rows, else a field to sum)
COUNTS = [
    ("schools", "students", "School", None),
    ("students", "students", "Student", None),
    ("categories", "students", "StudentCategory", None),
    ("teachers", "students", "TeacherCount", "headcount"),
    ("aid_payments", "subsidies", "Payment", None),
    ("dropout_cases", "dropout_control", "DropoutCase", None),
    ("meal_records", "nutrition", "MealRecord", None),
]


def counts(prefix: str = "county") -> None:
    from django.apps import apps
    from django.db.models import Sum

    for figure, app_label, model_name, field in COUNTS:
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:
            continue  # an app not built yet
        if field:
            emit(f"{prefix}.{figure}", model.objects.aggregate(total=Sum(field))["total"] or 0, "people")
        else:
            emit(f"{prefix}.{figure}", model.objects.count(), "rows")


def seed(*, scale: str, students: int, prefix: str = "county") -> None:
    from django.core.management import call_command

    from students.models import Student

    call_command("migrate", verbosity=0, interactive=False)
    if Student.objects.count() < students:
        with timer() as t:
            call_command(
                "seed_demo", scale=scale, students=students, past=False, stdout=StringIO()
            )  # today's county of that size: the benchmarks measure the present
        emit(f"{prefix}.seed_time", t(), "s")
    counts(prefix)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["demo", "ningdu"], default="ningdu")
    parser.add_argument("--students", type=int, default=145_057)
    parser.add_argument("--prefix", default="county")
    args = parser.parse_args()
    setup_django()
    seed(scale=args.scale, students=args.students, prefix=args.prefix)


if __name__ == "__main__":
    main()
