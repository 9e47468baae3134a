"""Reports in a real browser: the bureau rebuilds and downloads the year-end workbook; each role's dashboard."""

import io

import pytest
from openpyxl import load_workbook

from reports.selectors import current_school_year

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _empty_cache():
    """The dashboards (home page panel included) are cached: no test sees figures another test counted."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def test_bureau_rebuilds_the_report_and_downloads_the_workbook(page, login, bureau, student_a, student_b):
    login(page, bureau)
    page.goto("/reports/yearend/")
    page.fill("#id_year", str(current_school_year()))
    page.select_option("#id_basis", "school")
    page.click("#rebuild-form button[type=submit]")
    page.wait_for_selector("#snapshot-status:has-text('已生成')")
    assert "全县共有各级各类学校 2 所" in page.locator("#summary").inner_text()
    with page.expect_download() as download_info:
        page.click("#download")
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    with open(download.path(), "rb") as handle:
        workbook = load_workbook(io.BytesIO(handle.read()))
    rows = list(workbook["分学段学生数"].iter_rows(values_only=True))
    assert next(row for row in rows if row[0] == "合计")[1] == 2


def test_principal_sees_their_own_dashboard_with_a_chart(page, login, principal_a, student_a, student_b):
    login(page, principal_a)
    page.goto("/reports/")
    page.wait_for_selector("body[data-charts=ready]")
    assert page.locator("#chart-main").get_attribute("data-drawn") == "1"
    text = page.locator("main").inner_text()
    assert "甲镇中心小学" in text and "乙镇中心小学" not in text
    response = page.goto("/reports/dashboard.json?level=county")
    assert response.status == 403


def test_bureau_dashboard_draws_county_charts(page, login, bureau, student_a, student_b):
    login(page, bureau)
    page.goto("/reports/")
    page.wait_for_selector("body[data-charts=ready]")
    assert page.locator("#chart-type").get_attribute("data-drawn") == "1"
    assert "甲镇" in page.locator("#dashboard-table").inner_text()


def test_township_officer_sees_the_township_dashboard(page, login, township_officer, student_a, student_b):
    login(page, township_officer)
    page.goto("/reports/")
    page.wait_for_selector("body[data-charts=ready]")
    table = page.locator("#dashboard-table").inner_text()
    assert "甲镇中心小学" in table and "乙镇中心小学" not in table


def test_bureau_publishes_and_the_report_page_shows_the_draft_beside_it(
    page, login, bureau, official, student_a, student_b, school_a
):
    """Publish the year's report, enrol one more child, rebuild: the year's page keeps the published figures
    and shows the rebuilt draft beside them with the figure that changed; the official reads both and gets
    no publish form."""
    from datetime import date

    from students.models import Stage
    from tests.factories import StudentFactory, make_id_number

    year = current_school_year()
    login(page, bureau)
    page.goto("/reports/yearend/")
    page.fill("#id_year", str(year))
    page.select_option("#id_basis", "school")
    page.click("#rebuild-form button[type=submit]")
    page.wait_for_selector("#snapshot-status:has-text('已生成')")
    assert "草稿" in page.locator("#publication-state").inner_text()
    page.click("#publish-form button[type=submit]")
    page.wait_for_selector("#published:has-text('定稿')")
    assert "bureau" in page.locator("#publications").inner_text()

    StudentFactory(school=school_a, stage=Stage.PRIMARY, grade=1, id_number=make_id_number(date(2016, 3, 1)))
    page.goto("/reports/yearend/")
    page.fill("#id_year", str(year))
    page.click("#rebuild-form button[type=submit]")
    page.wait_for_selector("#snapshot-status:has-text('已生成')")
    page.click("#year-report")
    page.wait_for_selector("#draft")
    assert "在校在园学生 2 人" in page.locator("#summary").inner_text()
    differences = page.locator("#differences").inner_text()
    assert "分学段学生数 · 小学 · 学生" in differences and "分学段学生数 · 全县 · 在校学生" in differences
    # Replacing the published version without a reason is refused on the page.
    page.click("#publish-form button[type=submit]")
    page.wait_for_selector(".messages:has-text('请说明')")

    context = page.context
    context.clear_cookies()
    login(page, official)
    page.goto(f"/reports/yearend/year/{year}/school/")
    assert page.locator("#draft").is_visible() and page.locator("#differences").is_visible()
    assert page.locator("#publish-form").count() == 0
    with page.expect_download() as download_info:
        page.click("#download")
    with open(download_info.value.path(), "rb") as handle:
        workbook = load_workbook(io.BytesIO(handle.read()))
    rows = list(workbook["分学段学生数"].iter_rows(values_only=True))
    assert next(row for row in rows if row[0] == "合计")[1] == 2
    assert str(rows[1][0]).startswith("定稿")
