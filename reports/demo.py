"""Demo data: the year-end report of the demo county's 2022-2023 school year, of 2024-2025 (published, with a
later draft beside it) and of the running school year,
built from the other areas' demo records, with a preschool population for each year (so that the demo shows
a 毛入园率 beside a 高中阶段毛入学率 that reads "缺人口数据"). Idempotent: a year that already has a ready report
is left alone."""

from __future__ import annotations

from django.conf import settings

from portal.models import User
from reports import rates, services
from reports.models import AgePopulation, YearEndSnapshot
from reports.periods import Period
from reports.selectors import current_school_year
from students.models import County

DEMO_YEAR = 2022  # the year of the papers (Ningdu 2022) and of the nutrition demo term
# The year the bureau published (定稿): officials download that version; the preschool population came in only
# afterwards, so a rebuild (a draft with the 毛入园率) stands beside it with its differences listed.
PUBLISHED_YEAR = 2024


def _build(year: int) -> YearEndSnapshot:
    # Built here, not through the Celery task, so that the demo is complete when the command returns.
    snapshot = YearEndSnapshot.objects.create(
        county_code=settings.HOME_COUNTY_CODE, year=year, basis=YearEndSnapshot.Basis.SCHOOL
    )
    return services.snapshot_build(snapshot_id=snapshot.pk)


def seed(*, rng, stdout, scale) -> None:
    by = User.objects.filter(role=User.Role.BUREAU, is_active=True).order_by("pk").first()
    years = {DEMO_YEAR, current_school_year()}
    if by is not None and current_school_year() > PUBLISHED_YEAR:
        years.add(PUBLISHED_YEAR)
    for year in sorted(years):
        if YearEndSnapshot.objects.current(year=year, basis=YearEndSnapshot.Basis.SCHOOL) is not None:
            continue
        if year == PUBLISHED_YEAR:
            snapshot = _build(year)
            services.snapshot_publish(snapshot=snapshot, by=by)
            stdout.write(f"year-end report {snapshot.period_label}: published (定稿)")
            _demo_population(year)
            draft = _build(year)
            stdout.write(f"year-end report {draft.period_label}: a draft beside it, with the population")
            continue
        _demo_population(year)
        snapshot = _build(year)
        stdout.write(
            f"year-end report {snapshot.period_label}: {snapshot.get_status_display()} in {snapshot.seconds:.1f}s"
        )


def _demo_population(year: int) -> None:
    """The demo county's children aged 3-5: its preschool register over Jianshi's 86% (a demo figure, and
    labelled so)."""
    county = County.objects.filter(code=settings.HOME_COUNTY_CODE).first()
    period = Period.of(county_code=settings.HOME_COUNTY_CODE, year=year, basis=YearEndSnapshot.Basis.SCHOOL)
    enrolled = rates.gross_enrolment(period)["preschool"]["enrolled"]
    if county is None or not enrolled:
        return
    AgePopulation.objects.get_or_create(
        county=county,
        school_year=year,
        band=AgePopulation.Band.PRESCHOOL,
        defaults={"population": round(enrolled * 100 / 86), "note": "演示数据"},
    )
