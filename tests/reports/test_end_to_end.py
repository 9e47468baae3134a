"""A small county with known records, rebuilt by the real Celery worker on the configured broker, downloaded
and read back; and two rebuilds requested at the same moment."""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from reports import services
from reports.models import YearEndSnapshot
from students.models import Student
from tests.reports.helpers import line, read_workbook

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until_ready(pk: int, timeout: float = 60) -> YearEndSnapshot:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = YearEndSnapshot.objects.get(pk=pk)
        if snapshot.status != YearEndSnapshot.Status.BUILDING:
            return snapshot
        time.sleep(0.2)
    raise AssertionError("the worker did not build the snapshot in time")


def test_worker_builds_the_snapshot_and_the_workbook_matches_the_records(
    celery_worker_real, county, areas, bureau_client, township_a
):
    response = bureau_client.post(
        "/api/reports/snapshots/rebuild/",
        {"year": county.year, "basis": "school"},
        content_type="application/json",
    )
    assert response.status_code == 202 and response.json()["status"] == "building"
    snapshot = wait_until_ready(response.json()["id"])
    assert snapshot.status == "ready", snapshot.error
    workbook = read_workbook(bureau_client.get(f"/api/reports/snapshots/{snapshot.pk}/download/"))

    on_register = [s for s in county.students if s.status == Student.Status.ENROLLED]
    poor_here = [s for s in county.poor if s.status == Student.Status.ENROLLED]
    assert line(workbook["分类型学校数"], "合计")[1] == len(county.schools)
    assert line(workbook["分类型学校数"], "幼儿园")[1] == 1
    assert line(workbook["分学段学生数"], "合计")[1] == len(on_register)
    assert line(workbook["分学段学生数"], "初中")[1] == sum(1 for s in on_register if s.stage == "junior")
    assert line(workbook["教师数"], "合计")[1] == sum(county.teachers.values())
    assert line(workbook["脱贫家庭学生"], "在本县就读的脱贫家庭学生")[1] == len(poor_here)
    assert line(workbook["脱贫家庭学生"], "  其中：外县户籍")[1] == sum(
        1 for s in poor_here if s.household_county_code != settings.HOME_COUNTY_CODE
    )
    assert line(workbook["按乡镇"], "合计")[2] == len(county.schools)

    # Aid: person-times, yuan and 万元 of the payments marked paid in the school year's terms.
    paid = [p for p in areas.payments if p.status == "paid" and p.school_year == county.year]
    amount = sum(p.amount for p in paid)
    total = line(workbook["学生资助"], "合计")
    assert total[1:4] == [len(paid), float(amount), pytest.approx(float(amount / 10000))]
    boarders = [p for p in paid if p.aid_type == "boarder_allowance"]
    assert line(workbook["学生资助"], "寄宿生生活补助", after="资助项目")[1] == len(boarders)
    waived = [p for p in paid if p.aid_type == "tuition_waiver"]
    assert line(workbook["免学费"], "普通高中")[1:3] == [len(waived), float(sum(p.amount for p in waived))]
    # Loans of the school year, national loan plus top-up.
    loans = [x for x in areas.loans if x.school_year == county.year]
    assert line(workbook["生源地贷款"], "全部合同")[1:3] == [
        len(loans),
        float(sum(x.amount + x.top_up for x in loans)),
    ]
    # The out-of-county ledger completes Jianshi's split.
    poor_out = [x for x in areas.ledger if x.category == "poverty_alleviated"]
    in_prefecture = [x for x in poor_out if x.destination_county_code[:4] == settings.HOME_COUNTY_CODE[:4]]
    assert line(workbook["脱贫家庭学生"], "  县外州（市）内就读")[1] == len(in_prefecture)
    assert line(workbook["脱贫家庭学生"], "  州（市）外就读")[1] == len(poor_out) - len(in_prefecture)
    # Nutrition: pilots, pupils, canteen shares, funds used.
    pupils = sum(p.covered_primary + p.covered_junior for p in areas.pilots)
    canteen = [p for p in areas.pilots if p.supply_mode == "canteen"]
    assert line(workbook["营养改善计划"], "合计")[1:5] == [
        len(areas.pilots),
        pupils,
        len(canteen),
        sum(p.covered_primary + p.covered_junior for p in canteen),
    ]
    assert line(workbook["营养改善计划"], "食堂供餐学校占试点学校总数")[1] == pytest.approx(
        len(canteen) / len(areas.pilots), abs=1e-4
    )
    assert line(workbook["营养改善计划"], "使用中央专项资金")[1] == float(
        sum(p.amount for p in areas.purchases)
    )
    # Dropout control.
    ws = workbook["控辍保学"]
    assert line(ws, "本期新发现")[1] == 2
    assert line(ws, "本期劝返复学")[1] == 1
    assert line(ws, "统计时点未销号")[1] == sum(1 for c in areas.cases.values() if c.status == "open")
    # Children served in the period: the one placed in home teaching before it has no visit in it.
    assert line(ws, "本期送教上门儿童")[1] == 0
    # The township sheet carries the same figures for township A.
    header = list(workbook["按乡镇"].iter_rows(values_only=True))[2]
    row = line(workbook["按乡镇"], township_a.code)
    assert row[header.index("未销号辍学")] == 1
    assert row[header.index("资助人次")] == sum(1 for p in paid if p.school.township_id == township_a.pk)


def test_two_rebuilds_requested_at_once_open_one_build(county, bureau):
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def request_rebuild():
        barrier.wait()
        try:
            services.snapshot_request(year=county.year, basis="calendar", by=bureau)
            outcomes.append("opened")
        except Exception as exc:  # noqa: BLE001 - the refusal is what the test records
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=request_rebuild) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ValidationError", "opened"]
    assert YearEndSnapshot.objects.filter(year=county.year, basis="calendar").count() == 1


def test_the_build_reads_one_consistent_state_and_reports_progress_as_it_goes(
    county, bureau, school_a, monkeypatch
):
    """A student added while the build runs is in none of its sections; progress is visible meanwhile."""
    from django.db import DEFAULT_DB_ALIAS, connections

    from reports import yearend
    from tests.factories import make_id_number

    snapshot = YearEndSnapshot.objects.create(
        county_code=settings.HOME_COUNTY_CODE, year=county.year, basis="school"
    )
    seen_progress = []
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    real_sections = yearend.sections()

    def probe(period):
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT progress, steps_done, steps_total FROM reports_yearendsnapshot WHERE id = %s",
                [snapshot.pk],
            )
            seen_progress.append(cursor.fetchone())
            if len(seen_progress) == 1:
                id_number = make_id_number()
                cursor.execute(
                    "INSERT INTO students_student (id_number, name, sex, birth_date, school_id, stage, grade,"
                    " household_county_code, village, is_boarding, guardian_name, guardian_phone, status,"
                    " created_at, updated_at) VALUES (%s, '插班生', 'M', '2014-03-15', %s, 'primary', 2, %s, '',"
                    " false, '', '', 'enrolled', now(), now())",
                    [id_number, school_a.pk, settings.HOME_COUNTY_CODE],
                )
        return {"tables": {}, "total": {}, "by_township": {}, "by_school": {}}

    probe_section = yearend.Section("probe", "probe", probe, (), ())
    monkeypatch.setattr(
        yearend, "sections", lambda: (probe_section, *real_sections[:3], probe_section, *real_sections[3:])
    )
    try:
        built = services.snapshot_build(snapshot_id=snapshot.pk)
    finally:
        other.close()
    assert built.status == "ready"
    assert built.figures["sections"]["students"]["total"]["students"] == 11  # not the one added meanwhile
    assert Student.objects.filter(name="插班生").exists()
    steps = len(real_sections) + 2
    # 1 as the build starts (picked up by a worker: services._expire_stale), then growing with its steps.
    assert seen_progress[0] == (1, 0, steps)
    assert seen_progress[1][0] > seen_progress[0][0] and seen_progress[1][1:] == (4, steps)
