"""Every role walks the demo county: every page reachable from the menu and one page of each kind linked from
there, in Chinese, with no raw choice value, no English word from our code, no untranslated message and no id
where a name belongs (issue 15)."""

from __future__ import annotations

from django.test import Client

from portal.models import User
from tests.conftest import verify_second_factor
from tests.portal.walking import page_problems, raw_choice_values, walk

# Pages each role must have reached, so that the walk cannot pass by visiting nothing.
MUST_REACH = {
    "bureau": {
        "students:school_detail",
        "students:student_detail",
        "subsidies:batch_detail",
        "subsidies:policy_edit",
        "dropout:case_detail",
        "dropout:suspect_list",
        "nutrition:pilot_detail",
        "nutrition:term_detail",
        "reports:snapshot_detail",
    },
    # The demo's 梅江镇 has no dropout case open today (issue 15, "Also").
    "township": {"students:student_detail", "subsidies:batch_detail", "dropout:case_list"},
    # The demo principal's school is not a nutrition pilot school.
    "principal": {"students:school_detail", "students:student_detail", "subsidies:student_aid"},
    "official": {"students:student_detail", "subsidies:batch_detail", "reports:snapshot_detail"},
}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    if user.needs_second_factor:
        verify_second_factor(client, user)
    return client


def test_every_role_walks_the_demo_county_in_chinese(demo_county, db):
    raw = raw_choice_values()
    usernames = set(User.objects.values_list("username", flat=True))
    report = []
    for username, must in MUST_REACH.items():
        problems, reached = walk(
            _client(User.objects.get(username=username)), raw_values=raw, allowed=usernames
        )
        report += [f"{username} {url}: {p}" for url, found in problems.items() for p in sorted(set(found))]
        report += [f"{username} never reached {kind}" for kind in sorted(must - reached)]
    assert not report, "\n".join(report)


def test_the_walk_sees_raw_values_english_and_ids():
    """The reader itself: what it must catch, and what it must let through."""
    raw = {"senior", "national_grant"}
    found = page_problems(
        "<table><tr><td>senior</td><td>national_grant</td><td>draft → approved</td></tr></table>"
        "<input placeholder='Reason'><div><b>就读学校</b>: 9 → —</div>"
        "<input type='date' name='paid_on' value='2026/11/26'>",
        raw_values=raw,
    )
    assert any("raw value 'senior'" in f for f in found)
    assert any("national_grant" in f for f in found)
    assert any("'draft'" in f for f in found)
    assert any("'Reason'" in f for f in found)
    assert any("id instead of a name" in f for f in found)
    assert any("paid_on=2026/11/26" in f for f in found)
    # A number field's change is a number, not an id.
    assert not page_problems("<div><b>年级</b>: 1 → 2</div>", raw_values=raw)
    assert not page_problems(
        "<p>学生名单.xlsx · Excel · 3607**********1234 · ABCD EFGH</p><script>var x = 'senior';</script>"
        "<select><option>English</option></select><p>bureau</p><input type='date' value='2026-11-26'>",
        raw_values=raw,
        allowed={"bureau"},
    )
