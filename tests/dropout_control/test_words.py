"""Dropout pages label what they ask for (issue 15)."""

from __future__ import annotations

import io
import re
from datetime import date

from django.urls import reverse
from openpyxl import Workbook

from tests.factories import make_id_number


def _register(rows) -> io.BytesIO:
    wb = Workbook()
    wb.active.append(["身份证号", "姓名", "乡镇", "村"])
    for row in rows:
        wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = "户籍.xlsx"
    return buffer


def test_suspect_actions_are_labelled_and_nothing_is_chosen_for_the_user(
    bureau_client, township_client, township_a
):
    rows = [[make_id_number(date(2014, 1, 1)), "赵六", "甲镇", "上坪村"]]
    bureau_client.post(reverse("dropout:register"), {"file": _register(rows), "as_of": "2025-09-01"})
    page = township_client.get(reverse("dropout:suspect_list")).content.decode()

    forms = re.findall(r'<form method="post" action="/dropout/suspects/.*?</form>', page, re.S)
    assert len(forms) == 2
    for form in forms:
        controls = re.findall(r"<(select|input)(?![^>]*type=\"hidden\")[^>]*>", form)
        labelled = re.findall(r"<label>[^<]+<(?:select|input)", form)
        assert controls and len(labelled) == len(controls), form
        assert " id=" not in form  # one form per row: ids would repeat
    for select in re.findall(r"<select.*?</select>", page, re.S):
        if 'name="reason"' in select or 'name="clear_reason"' in select:
            assert "selected" not in select.split("</option>", 1)[1], select
            assert '<option value="" selected>请选择…</option>' in select
    assert "<label>辍学原因 <select" in page and "<label>排除原因 <select" in page


def test_a_suspect_confirmed_without_a_reason_is_refused(bureau_client, township_client, township_a):
    from dropout_control.models import DropoutCase, SuspectedDropout

    rows = [[make_id_number(date(2014, 1, 1)), "赵六", "甲镇", "上坪村"]]
    bureau_client.post(reverse("dropout:register"), {"file": _register(rows), "as_of": "2025-09-01"})
    suspect = SuspectedDropout.objects.get()
    response = township_client.post(
        reverse("dropout:suspect_confirm", args=[suspect.pk]),
        {"reason": "", "found_on": "2025-09-02"},
        follow=True,
    )
    assert not DropoutCase.objects.exists()
    body = response.content.decode()
    assert "辍学原因：该字段是必填项。" in body, re.findall(r"<ul class=\"messages\">.*?</ul>", body, re.S)


def test_the_intake_form_asks_for_the_childs_name_as_a_persons(township_client):
    page = township_client.get(reverse("dropout:case_create")).content.decode()
    assert re.search(r'<label for="id_name">姓名', page), re.findall(r'<label for="id_name">[^<]*', page)


def test_the_school_list_heads_the_name_column_as_a_schools(bureau_client, school_a):
    page = bureau_client.get(reverse("students:school_list")).content.decode()
    heads = [re.sub(r"<[^>]+>|[▲▼]", "", head).strip() for head in re.findall(r"<th[^>]*>(.*?)</th>", page)]
    assert "学校名称" in heads, heads
    assert "姓名" not in heads
