"""Attack (issue 15): on the demo county (today: no nutrition term running; the last one ended 2023-01-13) the
principal's home page lists "请登记校长陪餐 9" among 待办事项 — days of a term that closed years ago — and, unlike
the nutrition page, never says that no term is running."""

from __future__ import annotations

import re

from tests.portal.conftest import client_of, demo_county, demo_database  # noqa: F401


def test_the_principals_to_do_list_holds_no_task_of_a_term_long_closed(client_of):  # noqa: F811
    page = client_of("principal").get("/").content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    todo = text.split("待办事项", 1)[1][:300]
    # Expected: no 陪餐 to-do for the 2022 autumn term (ended 2023-01-13), or a note that no term is running.
    # Actual: "请登记校长陪餐 9", linking to the 2022 pilot page.
    assert "请登记校长陪餐" not in todo or "没有进行中的学期" in text, todo
