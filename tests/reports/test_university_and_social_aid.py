"""Issue 14: university students' aid and social aid, as the Jianshi 2019 paper prints them: built from records,
rebuilt through the report's Celery task, read back from the workbook; their own lines, never student aid."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from reports.models import YearEndSnapshot
from students import id_numbers
from subsidies import services
from subsidies.models import SocialAidGrant, UniversityAid, UniversityStudent
from tests.reports.helpers import built_snapshot, line, read_workbook, rows_of

pytestmark = pytest.mark.django_db

UNIVERSITY_TABLE = "大学生资助（单列，不计入学生资助）"
SOCIAL_TABLE = "社会资助（分项目，单列，不计入学生资助）"


def _rebuild(client, year: int, basis: str, capture) -> YearEndSnapshot:
    """The bureau's rebuild through the API: the report's Celery task runs once the request commits."""
    with capture(execute=True):
        response = client.post(
            reverse("reports-snapshot-rebuild"),
            {"year": year, "basis": basis},
            content_type="application/json",
        )
    assert response.status_code == 202, response.content
    snapshot = YearEndSnapshot.objects.get(pk=response.json()["id"])
    assert snapshot.status == YearEndSnapshot.Status.READY, snapshot.error
    return snapshot


def _roster(bureau, township, n: int, *, year: int, start: int = 0) -> list[UniversityStudent]:
    return [
        services.university_student_add(
            by=bureau,
            id_number=id_numbers.make("360730", date(2001, 1, 1) + timedelta(days=k), 1 + k % 900),
            name=f"学生{k}",
            university="武汉大学",
            enrolment_year=year,
            home_township=township,
            category="poverty_alleviated" if k % 2 else "",
        )
        for k in range(start, start + n)
    ]


def test_jianshi_2019_university_and_social_aid_are_printed_exactly_and_apart(
    county, bureau, bureau_client, township_a, township_b, django_capture_on_commit_callbacks
):
    """Jianshi 2019: 新生路费 17 万元 / 292 人; 社会力量捐款 80 万元 / 6,409 人次; 滋蕙计划 38.8 万元 / 194 人;
    泛海助学 136.5 万元 / 273 人; none of it in the aid total."""
    students = _roster(bureau, township_a, 150, year=2019) + _roster(
        bureau, township_b, 142, year=2019, start=150
    )
    assert len(students) == 292
    for k, student in enumerate(students):
        services.university_aid_add(
            by=bureau,
            id_number=student.id_number,
            kind=UniversityAid.Kind.FRESHMAN_TRAVEL,
            school_year=2019,
            amount=Decimal("582.00") if k else Decimal("638.00"),
            paid_on=date(2019, 8, 20),
        )
    # Tuition aid of another year is not 2019's.
    services.university_aid_add(
        by=bureau,
        id_number=students[0].id_number,
        kind=UniversityAid.Kind.TUITION,
        school_year=2020,
        amount=Decimal("8000.00"),
        paid_on=date(2020, 10, 1),
    )
    donations = services.social_programme_add(
        by=bureau, name="社会力量捐款捐物", donor="社会各界", target="困难学生"
    )
    zihui = services.social_programme_add(
        by=bureau, name="滋蕙计划", donor="滋蕙基金会", target="高中在读困难学生"
    )
    fanhai = services.social_programme_add(
        by=bureau, name="泛海助学", donor="泛海公益基金会", target="大学新生"
    )
    # One grant through the service, the volume in bulk (the same rows).
    services.social_grant_add(
        by=bureau,
        programme=zihui,
        id_number=students[0].id_number,
        amount=Decimal("2000.00"),
        granted_on=date(2019, 5, 1),
    )
    grants = [
        SocialAidGrant(
            programme=zihui,
            university_student=s,
            township_id=s.home_township_id,
            amount=Decimal("2000.00"),
            granted_on=date(2019, 5, 1),
        )
        for s in students[1:194]
    ]
    grants += [
        SocialAidGrant(
            programme=fanhai,
            university_student=s,
            township_id=s.home_township_id,
            amount=Decimal("5000.00"),
            granted_on=date(2019, 9, 1),
        )
        for s in students[:273]
    ]
    grants += [
        SocialAidGrant(
            programme=donations,
            university_student=students[i % 292],
            township_id=students[i % 292].home_township_id,
            amount=Decimal("124.00") if i else Decimal("5408.00"),
            granted_on=date(2019, 1, 1) + timedelta(days=i // 292),
        )
        for i in range(6409)
    ]
    # A grant of 2018 is not 2019's.
    grants.append(
        SocialAidGrant(
            programme=fanhai,
            university_student=students[0],
            township_id=students[0].home_township_id,
            amount=Decimal("5000.00"),
            granted_on=date(2018, 12, 31),
        )
    )
    SocialAidGrant.objects.bulk_create(grants)

    snapshot = _rebuild(bureau_client, 2019, "calendar", django_capture_on_commit_callbacks)
    total = snapshot.figures["sections"]["aid"]["total"]
    assert total["person_times"] == 0 and total["amount"] == "0.00"  # no student aid: nothing mixed in
    assert total["university_amount"] == "170000.00" and total["university_students"] == 292
    assert total["social_amount"] == str(Decimal("800000.00") + Decimal("388000.00") + Decimal("1365000.00"))

    sheet = read_workbook(bureau_client.get(reverse("reports:snapshot_download", args=[snapshot.pk])))[
        "学生资助"
    ]
    travel = line(sheet, "新生路费资助", after=UNIVERSITY_TABLE)
    assert travel[1:5] == [292, 292, 170000.0, pytest.approx(17.0)]
    assert line(sheet, "大学生学费资助", after=UNIVERSITY_TABLE)[1:4] == [0, 0, 0.0]
    assert line(sheet, "滋蕙计划", after=SOCIAL_TABLE)[1:7] == [
        "滋蕙基金会",
        "高中在读困难学生",
        194,
        194,
        388000.0,
        pytest.approx(38.8),
    ]
    assert line(sheet, "泛海助学", after=SOCIAL_TABLE)[3:7] == [273, 273, 1365000.0, pytest.approx(136.5)]
    assert line(sheet, "社会力量捐款捐物", after=SOCIAL_TABLE)[3:7] == [
        6409,
        292,
        800000.0,
        pytest.approx(80.0),
    ]
    # The social table's total counts each student once; the aid tables' totals hold none of it.
    assert line(sheet, "合计", after=SOCIAL_TABLE)[3:5] == [6409 + 194 + 273, 292]
    assert line(sheet, "合计", after="分学段资助")[1:3] == [0, 0.0]
    cover = [
        row[0]
        for row in rows_of(
            read_workbook(bureau_client.get(reverse("reports:snapshot_download", args=[snapshot.pk])))[
                "基本情况"
            ]
        )
    ]
    assert "大学生，新生路费资助：17.00000万元，292人。" in cover
    assert "社会资助，滋蕙计划（滋蕙基金会）：38.80000万元，194人次，194人。" in cover


@pytest.fixture
def aided(county, bureau, township_a, township_b, school_a):
    """The running year: a register student of school A aided by a programme, a university student of
    township B with a travel grant and a programme's grant."""
    today = timezone.localdate()
    year = county.year
    programme = services.social_programme_add(by=bureau, name="滋蕙计划", donor="滋蕙基金会")
    child = county.students[0]  # enrolled at school A
    services.social_grant_add(
        by=bureau, programme=programme, id_number=child.id_number, amount=Decimal("1000.00"), granted_on=today
    )
    [university] = _roster(bureau, township_b, 1, year=year, start=500)
    services.university_aid_add(
        by=bureau,
        id_number=university.id_number,
        kind=UniversityAid.Kind.FRESHMAN_TRAVEL,
        school_year=year,
        amount=Decimal("600.00"),
        paid_on=today,
    )
    services.social_grant_add(
        by=bureau,
        programme=programme,
        id_number=university.id_number,
        amount=Decimal("2000.00"),
        granted_on=today,
    )
    return {"programme": programme, "child": child, "university": university}


def test_grants_count_where_they_were_given_and_by_township_and_school(
    aided, county, bureau, township_a, township_b, school_a
):
    figures = built_snapshot(county.year, bureau).figures["sections"]["aid"]
    assert figures["by_school"][str(school_a.pk)]["social_amount"] == "1000.00"
    assert figures["by_township"][str(township_a.pk)]["social_amount"] == "1000.00"
    assert figures["by_township"][str(township_b.pk)]["social_amount"] == "2000.00"
    assert figures["by_township"][str(township_b.pk)]["university_amount"] == "600.00"
    assert figures["by_school"]["none"]["university_amount"] == "600.00"
    assert figures["total"]["social_recipients"] == 2


def test_dashboards_show_the_snapshots_university_and_social_aid(
    aided, county, bureau, bureau_client, township_client, principal_a_client
):
    snapshot = built_snapshot(county.year, bureau).figures["sections"]["aid"]
    tiles = {t["key"]: t for t in bureau_client.get(reverse("reports:dashboard_json")).json()["tiles"]}
    assert tiles["university_aid"]["value"] == snapshot["total"]["university_amount"] == "600.00"
    assert tiles["social_aid"]["value"] == snapshot["total"]["social_amount"] == "3000.00"
    township = {
        t["key"]: t["value"] for t in township_client.get(reverse("reports:dashboard_json")).json()["tiles"]
    }
    assert township["social_aid"] == "1000.00" and township["university_aid"] == "0.00"
    school = {
        t["key"]: t["value"]
        for t in principal_a_client.get(reverse("reports:dashboard_json")).json()["tiles"]
    }
    # A principal's page keeps to ten queries: social aid is on the township's and county's dashboards only.
    assert "social_aid" not in school and "university_aid" not in school
