"""The registry flows a person must be able to do, in a real browser."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_principal_finds_edits_a_student_and_sees_the_change_in_history(
    page, login, principal_a, student_a, student_b
):
    login(page, principal_a)
    page.click("text=学生")
    page.fill("input[name=q]", "张小明")
    page.click("form.filters button[type=submit]")
    assert page.locator("table.grid").inner_text().count("张小明") == 1
    assert "李小红" not in page.content()
    page.click("text=张小明")
    page.click("text=编辑")
    page.fill("#id_name", "张晓明")
    page.click("button:has-text('保存')")
    page.wait_for_selector("text=修改已保存")
    history = page.locator("section:has-text('变更记录')").inner_text()
    assert "张小明" in history and "张晓明" in history
    assert principal_a.username in history


def test_principal_opening_another_school_student_url_sees_no_data(page, login, principal_a, student_b):
    login(page, principal_a)
    response = page.goto(f"/registry/students/{student_b.pk}/")
    assert response.status == 404
    assert "李小红" not in page.content()
    assert student_b.id_number not in page.content()


def test_wrong_id_number_shows_a_chinese_message(page, login, principal_a, school_a):
    login(page, principal_a)
    page.goto("/registry/students/new/")
    page.fill("#id_id_number", "360730201403150010")
    page.fill("#id_name", "王五")
    page.select_option("#id_school", str(school_a.pk))
    page.select_option("#id_stage", "primary")
    page.fill("#id_grade", "2")
    page.click("button:has-text('保存')")
    assert "身份证号" in page.locator(".errorlist").first.inner_text()
