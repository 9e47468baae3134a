"""The access log's 用户 column names people ("张校长（principal_a）"): its user filter finds them by the
name the page shows, as well as by the log-in name (issue 15)."""

from __future__ import annotations

import re

from django.urls import reverse

from portal.audit import log_access
from portal.models import AccessLog


def test_the_user_filter_finds_a_person_by_the_name_the_page_shows(bureau_client, principal_a, student_a):
    principal_a.last_name, principal_a.first_name = "张", "校长"
    principal_a.save()
    log_access(None, AccessLog.Action.VIEW_RECORD, student_a, user=principal_a)
    page = bureau_client.get(reverse("access_log")).content.decode()
    assert "张校长（principal_a）" in page  # the column names the person
    for typed in ("张校长", "张校长（principal_a）", "principal_a", "校长"):
        filtered = bureau_client.get(reverse("access_log"), {"username": typed}).content.decode()
        body = re.sub(r"<[^>]+>", " ", filtered.split("<tbody", 1)[-1].split("</tbody>", 1)[0])
        assert "张校长" in body, (typed, body[:400])
    filtered = bureau_client.get(reverse("access_log"), {"username": "李局长"}).content.decode()
    body = re.sub(r"<[^>]+>", " ", filtered.split("<tbody", 1)[-1].split("</tbody>", 1)[0])
    assert "张校长" not in body
