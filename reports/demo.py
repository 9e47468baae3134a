"""Demo data: the year-end report of the demo county's 2022-2023 school year and of the running school year,
built from the other areas' demo records. Idempotent: a year that already has a ready report is left alone."""

from __future__ import annotations

from django.conf import settings

from reports import services
from reports.models import YearEndSnapshot
from reports.selectors import current_school_year

DEMO_YEAR = 2022  # the year of the papers (Ningdu 2022) and of the nutrition demo term


def seed(*, rng, stdout, scale) -> None:
    for year in sorted({DEMO_YEAR, current_school_year()}):
        if YearEndSnapshot.objects.current(year=year, basis=YearEndSnapshot.Basis.SCHOOL) is not None:
            continue
        # Built here, not through the Celery task, so that the demo is complete when the command returns.
        snapshot = YearEndSnapshot.objects.create(
            county_code=settings.HOME_COUNTY_CODE, year=year, basis=YearEndSnapshot.Basis.SCHOOL
        )
        snapshot = services.snapshot_build(snapshot_id=snapshot.pk)
        stdout.write(
            f"year-end report {snapshot.period_label}: {snapshot.get_status_display()} in {snapshot.seconds:.1f}s"
        )
