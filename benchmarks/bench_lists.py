"""The student list's pages, shallow and deep, per sort order (issue 15 "Lists", issue 19 "keyset pagination").

The county's largest list (145,057 students in Ningdu) as a bureau clerk opens it: the first page, the middle
page and the last page, for the usual order and for a sort by name, with 50 rows a page; each the median
server time of `--repeat` requests (test client, no network), and its SQL query count; and the page the
middle page's "next" link opens (a keyset cursor since issue 19, an OFFSET before).

    .venv/bin/python benchmarks/bench_lists.py            # DATABASE_URL: a seeded county (run_all.py seeds)
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, setup_django, timer  # noqa: E402

# (figure name, query string without the page)
ORDERS = [("usual", ""), ("by_name", "sort=name"), ("by_name_desc", "sort=-name")]


def run(*, repeat: int = 3) -> dict[str, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.urls import reverse

    from benchmarks.common import bench_users, logged_in_client

    with contextlib.suppress(RuntimeError):
        setup_test_environment()
    client = logged_in_client(bench_users()["bureau"])
    client.get(reverse("account_security"))
    url = reverse("students:student_list")
    first = client.get(url)
    pages = first.context["page"].paginator.num_pages
    emit("lists.student_list.pages", pages, "pages")
    results = {}
    for label, query in ORDERS:
        middle = f"{url}?{query}&page={max(1, pages // 2)}" if query else f"{url}?page={max(1, pages // 2)}"
        targets = [
            ("first", f"{url}?{query}" if query else url),
            ("middle", middle),
            ("last", f"{url}?{query}&page={pages}" if query else f"{url}?page={pages}"),
        ]
        # "Next" from the middle page: the link the page offers (a keyset cursor where the list has one).
        listing = client.get(middle).context.get("listing")
        if listing is not None and listing.page.has_next():
            targets.append(("next_from_middle", url + listing.next_url))
        elif listing is None and pages > 1:  # a page without portal.lists: its next page by number
            targets.append(
                ("next_from_middle", middle.replace(f"page={pages // 2}", f"page={pages // 2 + 1}"))
            )
        for where, target in targets:
            with CaptureQueriesContext(connection) as captured:
                response = client.get(target)
            queries = len(captured.captured_queries)
            times = []
            for _ in range(repeat):
                with timer() as t:
                    client.get(target)
                times.append(t())
            ms = statistics.median(times) * 1000
            name = f"lists.student_list.{label}.{where}"
            results[name] = ms
            emit(f"{name}.server_time", ms, "ms")
            emit(f"{name}.queries", queries, "queries")
            if response.status_code != 200:
                emit(f"{name}.status", response.status_code, "http")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    setup_django()
    run(repeat=args.repeat)


if __name__ == "__main__":
    main()
