"""The rates the papers print (issue 13): retention of a cohort counted by hand, gross enrolment rates with and
without a population, a population of 0 refused, and the workbook read back."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from dropout_control.models import (
    CasePeriod,
    DropoutCase,
    HouseholdRegisterRow,
    HouseholdRegisterUpload,
)
from portal.excel import PERCENT_FORMAT
from reports import rates, services, yearend
from reports.models import AgePopulation
from reports.periods import Period
from students import register
from students.models import School, Stage, Student
from tests.factories import CountyFactory, SchoolFactory, StudentFactory, make_id_number
from tests.refusals import nothing_written
from tests.reports.helpers import built_snapshot, line, read_workbook

pytestmark = pytest.mark.django_db

# School year 2024-2025, read on its last day: the primary cohort entered grade 1 in 2019, the junior one
# in 2022, the nine-year one in 2016.
YEAR = 2024
END = date(2025, 8, 31)
POPULATIONS = "/api/reports/populations/"


@pytest.fixture(autouse=True)
def _home_county(db):
    return CountyFactory()


def period(year: int = YEAR) -> Period:
    return Period.of(county_code=settings.HOME_COUNTY_CODE, year=year, basis="school")


def pupil(school, *, entered: date, stage=Stage.PRIMARY, grade=1, birth=date(2013, 3, 1)) -> Student:
    """A child on the register from `entered` (the trigger opens the spell on `enrolled_on`)."""
    return StudentFactory(
        school=school,
        stage=stage,
        grade=grade,
        enrolled_on=entered,
        id_number=make_id_number(birth),
    )


def change(student: Student, on: date, **values) -> None:
    """A change of the child's register entry effective on `on`."""
    with transaction.atomic(), register.effective(on, source="test"):
        for name, value in values.items():
            setattr(student, name, value)
        student.save()


def open_case(student: Student, opened_on: date, closed_on: date | None = None) -> DropoutCase:
    case = DropoutCase.objects.create(
        id_number=student.id_number,
        name=student.name,
        student=student,
        township=student.school.township,
        school=student.school,
        found_on=opened_on,
        found_by=DropoutCase.FoundBy.SCHOOL_REPORT,
        reason=DropoutCase.Reason.OTHER,
    )
    CasePeriod.objects.create(case=case, opened_on=opened_on, closed_on=closed_on)
    return case


@pytest.fixture
def cohort(school_a, school_b):
    """Twelve children who entered primary grade 1 on 1 September 2019, and what became of them by 31
    August 2025, with three children of no 2019 cohort beside them."""
    entered = date(2019, 9, 1)
    kids = {name: pupil(school_a, entered=entered) for name in ("a", "b", "c", "d", "e", "f")}
    for kid in kids.values():
        change(kid, date(2024, 9, 1), grade=6)  # moved up (the roll-over's work, done here by hand)
    kids["moved"] = pupil(school_b, entered=entered)
    change(kids["moved"], date(2021, 9, 1), school=school_a, grade=3)  # moved within the county: retained
    kids["transferred"] = pupil(school_a, entered=entered)
    change(kids["transferred"], date(2022, 3, 1), status=Student.Status.TRANSFERRED_OUT)
    kids["deceased"] = pupil(school_b, entered=entered)
    change(kids["deceased"], date(2023, 5, 1), status=Student.Status.DECEASED)
    kids["case"] = pupil(school_a, entered=entered)  # on the register in grade 6, but out of school
    change(kids["case"], date(2024, 9, 1), grade=6)
    kids["dropped"] = pupil(school_b, entered=entered)
    change(kids["dropped"], date(2024, 1, 10), status=Student.Status.DROPPED_OUT)
    kids["suspended"] = pupil(school_b, entered=entered)
    change(kids["suspended"], date(2025, 3, 1), status=Student.Status.SUSPENDED)
    # Not of the 2019 cohort: a repeater who entered grade 1 in 2018, a child who joined in grade 3, and a
    # child imported today as a sixth-grader (on no register of 2024-2025).
    pupil(school_a, entered=date(2018, 9, 1))
    pupil(school_a, entered=date(2021, 9, 1), grade=3)
    StudentFactory(school=school_a, stage=Stage.PRIMARY, grade=6)
    return kids


def test_retention_equals_a_hand_count_and_an_open_case_lowers_it(cohort):
    primary = rates.retention(period())["primary"]
    assert primary["entry_year"] == 2019
    # By hand: 12 entered; 1 transferred out of the county and 1 died leave the cohort (10 remain); 6 in
    # grade 6 + the one who moved within the county + the one later out of school are on a roll (8);
    # lost: dropped out, suspended.
    assert primary["total"] == {
        "cohort": 12,
        "transferred_out": 1,
        "deceased": 1,
        "base": 10,
        "retained": 8,
        "open_case": 0,
        "suspended": 1,
        "other_lost": 1,
        "retention": "0.8000",
    }
    open_case(cohort["case"], date(2025, 5, 20))
    primary = rates.retention(period())["primary"]["total"]
    assert (primary["retained"], primary["open_case"], primary["retention"]) == (7, 1, "0.7000")


def test_a_case_closed_before_the_end_of_the_year_does_not_count_against_it(cohort):
    open_case(cohort["case"], date(2024, 11, 1), closed_on=date(2025, 2, 1))
    assert rates.retention(period())["primary"]["total"]["retention"] == "0.8000"


def test_retention_by_the_school_where_the_cohort_entered(cohort, school_a, school_b):
    open_case(cohort["case"], date(2025, 5, 20))
    primary = rates.retention(period())["primary"]
    # School A: a-f (retained), transferred (excluded), case (lost): 6 / 7. School B: moved (retained),
    # deceased (excluded), dropped and suspended (lost): 1 / 3.
    assert primary["by_school"][school_a.pk]["retention"] == "0.8571"
    assert primary["by_school"][school_b.pk]["retention"] == "0.3333"


def test_a_past_year_reads_its_own_register(cohort):
    """2022-2023 (read on 31 August 2023): the 2019 cohort is not the primary cohort of that year; the
    2017 one is, and nobody entered then."""
    line_ = rates.retention(period(2022))["primary"]
    assert line_["entry_year"] == 2017
    assert line_["total"]["cohort"] == 0
    assert line_["total"]["retention"] is None
    assert line_["total"]["missing"] == rates.NO_COHORT


def test_nine_year_and_junior_cohorts(school_a, township_a):
    junior_school = SchoolFactory(township=township_a, school_type=School.Type.JUNIOR)
    # Entered primary in 2016: one went on to junior and is in grade 3 on 31 August 2025, one graduated
    # from primary and went no further (lost for the nine-year rate).
    went_on = pupil(school_a, entered=date(2016, 9, 1))
    change(went_on, date(2022, 9, 1), school=junior_school, stage=Stage.JUNIOR, grade=1)
    change(went_on, date(2024, 9, 1), grade=3)
    stopped = pupil(school_a, entered=date(2016, 9, 1))
    change(stopped, date(2022, 7, 10), grade=6, status=Student.Status.GRADUATED)
    # Entered junior in 2022 from another county's primary school.
    newcomer = pupil(junior_school, entered=date(2022, 9, 1), stage=Stage.JUNIOR)
    change(newcomer, date(2024, 9, 1), grade=3)
    figures = rates.retention(period())
    assert figures["nine_year"]["entry_year"] == 2016
    assert figures["nine_year"]["total"]["cohort"] == 2
    assert figures["nine_year"]["total"]["retention"] == "0.5000"
    assert figures["junior"]["total"]["cohort"] == 2  # went_on and the newcomer entered junior in 2022
    assert figures["junior"]["total"]["retention"] == "1.0000"


# --- Gross enrolment rates ------------------------------------------------------------------------------


@pytest.fixture
def register_2024(township_a, school_a):
    kindergarten = SchoolFactory(township=township_a, school_type=School.Type.KINDERGARTEN)
    senior = SchoolFactory(township=township_a, school_type=School.Type.SENIOR_HIGH)
    vocational = SchoolFactory(township=township_a, school_type=School.Type.VOCATIONAL)
    for grade in (1, 2, 3):
        pupil(
            kindergarten, entered=date(2024, 9, 1), stage=Stage.PRESCHOOL, grade=grade, birth=date(2020, 5, 1)
        )
    left = pupil(kindergarten, entered=date(2024, 9, 1), stage=Stage.PRESCHOOL, birth=date(2020, 6, 1))
    change(left, date(2025, 1, 5), status=Student.Status.TRANSFERRED_OUT)  # not on the register at the end
    pupil(senior, entered=date(2024, 9, 1), stage=Stage.SENIOR, birth=date(2008, 5, 1))
    pupil(vocational, entered=date(2024, 9, 1), stage=Stage.VOCATIONAL, birth=date(2008, 5, 1))


def test_gross_rates_without_a_population_are_missing_never_100_percent(register_2024):
    gross = rates.gross_enrolment(period())
    assert gross["preschool"] == {
        "enrolled": 3,
        "population": None,
        "rate": None,
        "source": "",
        "source_detail": "",
        "missing": rates.NO_POPULATION,
    }
    assert gross["senior_stage"]["enrolled"] == 2
    assert gross["senior_stage"]["rate"] is None


def test_gross_rates_over_the_population_the_bureau_entered(register_2024, bureau):
    services.population_set(school_year=YEAR, band="3-5", population=300, note="统计年鉴 2024", by=bureau)
    gross = rates.gross_enrolment(period())
    assert gross["preschool"]["population"] == 300
    assert gross["preschool"]["rate"] == "0.0100"
    assert (gross["preschool"]["source"], gross["preschool"]["source_detail"]) == ("entered", "统计年鉴 2024")
    assert "missing" not in gross["preschool"]
    assert gross["senior_stage"]["rate"] is None  # another age group: still no population
    assert rates.gross_enrolment(period(2023))["preschool"]["rate"] is None  # another year too


def _household_list(as_of: date, births: list[date]) -> HouseholdRegisterUpload:
    upload = HouseholdRegisterUpload.objects.create(file_name="户籍名单.xlsx", as_of=as_of)
    for birth in births:
        HouseholdRegisterRow.objects.create(
            upload=upload,
            id_number=make_id_number(birth),
            name="儿童",
            birth_date=birth,
            finding=HouseholdRegisterRow.Finding.NOT_OF_AGE,
        )
    return upload


def test_gross_rate_over_the_household_register_list_when_it_covers_the_ages(register_2024, bureau):
    # On 1 November 2024: 15 (born 2009-05-01), 16 (2008-05-01, twice), 17 (2007-11-01, the birthday), and
    # an 18-year-old and a 14-year-old outside the group.
    _household_list(
        date(2024, 11, 1),
        [
            date(2009, 5, 1),
            date(2008, 5, 1),
            date(2008, 5, 2),
            date(2007, 11, 1),
            date(2006, 11, 1),
            date(2010, 5, 1),
        ],
    )
    senior = rates.gross_enrolment(period())["senior_stage"]
    assert (senior["population"], senior["rate"], senior["source"]) == (4, "0.5000", "household_register")
    assert senior["source_detail"] == "户籍名单.xlsx · 2024-11-01"
    # The list holds no 3- or 4-year-olds: it says nothing of preschool children and is not used.
    assert rates.gross_enrolment(period())["preschool"]["missing"] == rates.NO_POPULATION
    # A figure the bureau entered comes first.
    services.population_set(school_year=YEAR, band="15-17", population=200, by=bureau)
    assert rates.gross_enrolment(period())["senior_stage"]["rate"] == "0.0100"


# --- Populations: entered, corrected, refused -----------------------------------------------------------


def test_a_population_of_0_is_refused_and_nothing_written(bureau):
    with nothing_written(), pytest.raises(ValidationError) as refused:
        services.population_set(school_year=YEAR, band="3-5", population=0, by=bureau)
    assert "population" in refused.value.message_dict
    assert "0" in refused.value.message_dict["population"][0]


@pytest.mark.parametrize("population", [1, 9, 10, 99])
def test_a_population_too_small_for_a_county_age_group_is_refused(bureau, bureau_client, population):
    """Three years of a county's births are hundreds of children even in the smallest county: a figure below
    100 is a typing slip or a figure in 万/千, and the rate over it would be nonsense."""
    with nothing_written(), pytest.raises(ValidationError) as refused:
        services.population_set(school_year=YEAR, band="3-5", population=population, by=bureau)
    assert "100" in refused.value.message_dict["population"][0]
    with nothing_written():
        response = bureau_client.post(
            POPULATIONS,
            {"school_year": YEAR, "band": "3-5", "population": population},
            content_type="application/json",
        )
    assert response.status_code == 400 and "100" in response.json()["population"][0]


def test_the_smallest_sensible_population_is_accepted(bureau):
    assert services.population_set(school_year=YEAR, band="3-5", population=100, by=bureau).population == 100


def test_a_correction_replaces_the_figure_and_the_history_keeps_the_first(bureau):
    import pghistory.models

    first = services.population_set(school_year=YEAR, band="3-5", population=400, by=bureau)
    services.population_set(school_year=YEAR, band="3-5", population=420, by=bureau)
    assert AgePopulation.objects.get().population == 420
    values = [e.pgh_data["population"] for e in pghistory.models.Events.objects.tracks(first)]
    assert sorted(values) == [400, 420]


def test_only_bureau_staff_enter_populations(official, principal_a):
    from django.core.exceptions import PermissionDenied

    for user in (official, principal_a):
        with nothing_written(), pytest.raises(PermissionDenied):
            services.population_set(school_year=YEAR, band="3-5", population=10, by=user)


def test_populations_through_the_api(bureau_client, official_client, principal_a_client):
    body = {"school_year": YEAR, "band": "15-17", "population": 900, "note": "公安户籍"}
    response = bureau_client.post(POPULATIONS, body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert (
        response.json()["population"] == 900 and response.json()["county_code"] == settings.HOME_COUNTY_CODE
    )
    body["population"] = 950
    assert bureau_client.post(POPULATIONS, body, content_type="application/json").status_code == 201
    assert AgePopulation.objects.get().population == 950
    listed = official_client.get(POPULATIONS).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(r["school_year"], r["band"], r["population"]) for r in rows] == [(YEAR, "15-17", 950)]
    with nothing_written():
        refused = bureau_client.post(POPULATIONS, {**body, "population": 0}, content_type="application/json")
    assert refused.status_code == 400 and "0" in str(refused.json()["population"])
    with nothing_written():
        assert official_client.post(POPULATIONS, body, content_type="application/json").status_code == 403
        assert principal_a_client.post(POPULATIONS, body, content_type="application/json").status_code == 403
    principal_rows = principal_a_client.get(POPULATIONS).json()
    assert (principal_rows["results"] if isinstance(principal_rows, dict) else principal_rows) == []


def test_populations_page(bureau_client, official_client, principal_a_client):
    url = reverse("reports:populations")
    response = bureau_client.post(
        url, {"school_year": YEAR, "band": "3-5", "population": 321, "note": "年鉴"}
    )
    assert response.status_code == 302
    assert AgePopulation.objects.get().population == 321
    with nothing_written():
        refused = bureau_client.post(url, {"school_year": YEAR, "band": "3-5", "population": 0}, follow=True)
    assert "0" in refused.content.decode() and AgePopulation.objects.get().population == 321
    page = official_client.get(url).content.decode()
    assert "321" in page and "年鉴" in page and 'id="population-form"' not in page
    with nothing_written():
        assert (
            official_client.post(url, {"school_year": YEAR, "band": "3-5", "population": 5}).status_code
            == 403
        )
    assert principal_a_client.get(url).status_code == 403


# What int() takes and a clerk never means as a count: separators, full-width digits, a decimal point, a sign.
NOT_PLAIN_COUNTS = ["1_000", "１０００", "1000.0", "+1000", "1e3", "1,000"]


@pytest.mark.parametrize("typed", NOT_PLAIN_COUNTS)
def test_a_population_not_in_plain_digits_is_refused_on_the_page(bureau_client, typed):
    url = reverse("reports:populations")
    with nothing_written():
        refused = bureau_client.post(
            url, {"school_year": YEAR, "band": "3-5", "population": typed}, follow=True
        )
    assert "0-9" in refused.content.decode()
    assert not AgePopulation.objects.exists()


@pytest.mark.parametrize("typed", [*NOT_PLAIN_COUNTS, 1000.0, True, [1000]])
def test_a_population_not_in_plain_digits_is_refused_by_the_api(bureau_client, typed):
    body = {"school_year": YEAR, "band": "3-5", "population": typed}
    with nothing_written():
        refused = bureau_client.post(POPULATIONS, body, content_type="application/json")
    assert refused.status_code == 400 and "0-9" in refused.json()["population"][0]


@pytest.mark.parametrize("year", ["２０２４", "2024.0", 2024.0, "2_024"])
def test_a_school_year_not_in_plain_digits_is_refused(bureau_client, year):
    body = {"school_year": year, "band": "3-5", "population": 1000}
    with nothing_written():
        refused = bureau_client.post(POPULATIONS, body, content_type="application/json")
    assert refused.status_code == 400 and "school_year" in refused.json()
    with nothing_written():
        bureau_client.post(reverse("reports:populations"), body)


def test_a_population_in_plain_digits_with_spaces_around_is_accepted(bureau_client):
    body = {"school_year": " 2024", "band": "3-5", "population": " 1000 "}
    assert bureau_client.post(POPULATIONS, body, content_type="application/json").status_code == 201
    assert bureau_client.post(reverse("reports:populations"), body).status_code == 302
    assert AgePopulation.objects.get().population == 1000


# --- Through the year-end build: snapshot and workbook --------------------------------------------------


def test_snapshot_and_workbook_print_the_rates_and_the_missing_population(
    cohort, register_2024, bureau, bureau_client
):
    open_case(cohort["case"], date(2025, 5, 20))
    services.population_set(school_year=YEAR, band="3-5", population=300, note="统计年鉴", by=bureau)
    snapshot = built_snapshot(YEAR, bureau)
    section = snapshot.figures["sections"]["rates"]
    retention = {r["key"]: r for r in section["tables"]["cohorts"]["rows"]}
    assert retention["primary"]["retention"] == "0.7000" and retention["primary"]["entry_year"] == "2019"
    gross = {r["key"]: r for r in section["tables"]["gross"]["rows"]}
    assert gross["senior_stage"]["rate"] is None and gross["senior_stage"]["population"] is None
    assert gross["senior_stage"]["missing"] == rates.NO_POPULATION
    assert section["total"]["preschool_gross"] == "0.0100"
    assert section["total"]["senior_stage_gross"] is None

    workbook = read_workbook(bureau_client.get(reverse("reports:snapshot_download", args=[snapshot.pk])))
    ws = workbook["巩固率与入学率"]
    primary = line(ws, "小学巩固率")
    assert primary[1:10] == ["2019", 12, 1, 1, 10, 7, 1, 1, 1]
    assert primary[10] == pytest.approx(0.7)
    row_index = next(
        i for i, row in enumerate(ws.iter_rows(values_only=True), start=1) if row[0] == "小学巩固率"
    )
    assert ws.cell(row=row_index, column=11).number_format == PERCENT_FORMAT
    preschool = line(ws, "学前教育毛入园率（3–5岁）")
    assert preschool[1:3] == [3, 300] and preschool[3] == pytest.approx(0.01)
    assert preschool[4] == "教育局录入（统计年鉴）"
    senior = line(ws, "高中阶段毛入学率（15–17岁）")
    assert senior[1:4] == [2, "缺人口数据", "缺人口数据"]

    cover = [row[0] for row in workbook["基本情况"].iter_rows(values_only=True) if row and row[0]]
    assert (
        "巩固率：小学 70.0%，初中 无入学队列，九年义务教育 无入学队列；学前教育毛入园率 1.0%，高中阶段毛入学率 缺人口数据。"
        in cover
    )

    page = bureau_client.get(reverse("reports:snapshot_detail", args=[snapshot.pk])).content.decode()
    assert "缺人口数据" in page and "70.0%" in page


def test_the_api_gives_the_snapshot_with_the_rates(cohort, bureau, official_client):
    snapshot = built_snapshot(YEAR, bureau)
    figures = official_client.get(f"/api/reports/snapshots/{snapshot.pk}/").json()["figures"]
    rows = {r["key"]: r for r in figures["sections"]["rates"]["tables"]["gross"]["rows"]}
    assert rows["preschool"]["rate"] is None and rows["preschool"]["missing"] == "no_population"


def test_the_build_calls_reports_rates(cohort):
    figures = yearend.build_figures(county_code=settings.HOME_COUNTY_CODE, year=YEAR, basis="school")
    assert figures["sections"]["rates"]["tables"]["cohorts"]["rows"][0] == {
        "key": "primary",
        "entry_year": "2019",
        **rates.retention(period())["primary"]["total"],
    }


def test_the_county_dashboard_shows_the_running_years_nine_year_rate(
    school_a, township_a, bureau, bureau_client, township_client
):
    from reports.figures import running_period

    junior_school = SchoolFactory(township=township_a, school_type=School.Type.JUNIOR)
    entered = date(running_period().school_year - 8, 9, 1)
    went_on = pupil(school_a, entered=entered)
    change(went_on, date(entered.year + 8, 9, 1), school=junior_school, stage=Stage.JUNIOR, grade=3)
    dropped = pupil(school_a, entered=entered)
    change(dropped, date(entered.year + 7, 3, 1), status=Student.Status.DROPPED_OUT)
    tiles = {t["key"]: t for t in bureau_client.get(reverse("reports:dashboard_json")).json()["tiles"]}
    assert (tiles["retention"]["value"], tiles["retention"]["display"]) == ("0.5000", "50.0%")
    snapshot = built_snapshot(running_period().school_year, bureau)
    assert snapshot.figures["sections"]["rates"]["total"]["nine_year_retention"] == "0.5000"
    assert "50.0%" in bureau_client.get(reverse("reports:index")).content.decode()
    township_tiles = township_client.get(reverse("reports:dashboard_json")).json()["tiles"]
    assert "retention" not in {t["key"] for t in township_tiles}  # a county figure


def test_a_snapshot_built_before_the_cohort_rates_prints_none_of_its_old_figures_under_the_new_labels(
    bureau, bureau_client
):
    """Snapshots built with the by-register rate hold a "retention" table and headline (100% with open
    cases): they are not read as the cohort rates."""
    from reports.models import YearEndSnapshot

    snapshot = built_snapshot(YEAR, bureau)
    figures = snapshot.figures
    figures["sections"]["rates"] = {
        "tables": {
            "retention": {
                "rows": [{"key": "compulsory", "enrolled": 40, "left": 0, "retention": "1.0000"}],
                "total": None,
            }
        },
        "total": {"retention": "1.0000"},
        "by_township": {},
        "by_school": {},
    }
    YearEndSnapshot.objects.filter(pk=snapshot.pk).update(figures=figures)
    workbook = read_workbook(bureau_client.get(reverse("reports:snapshot_download", args=[snapshot.pk])))
    cells = [
        c for row in workbook["巩固率与入学率"].iter_rows(values_only=True) for c in row if c is not None
    ]
    assert 1 not in cells and 40 not in cells
    cover = [row[0] for row in workbook["基本情况"].iter_rows(values_only=True) if row and row[0]]
    assert not [c for c in cover if str(c).startswith("巩固率：小学")]
    assert bureau_client.get(reverse("reports:snapshot_detail", args=[snapshot.pk])).status_code == 200
