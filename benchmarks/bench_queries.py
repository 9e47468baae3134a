"""Every list page and API list endpoint: SQL queries per request and server time, as a bureau clerk (who
sees the whole county, so the most rows).

Run against a small county and the full one (run_all.py does both): the number of queries must be the same
at 10 rows as at 10,000 (no N+1) and at most 10. Server time is the median of three requests through
Django's test client, in this process: the view, its queries and its template, without network.

    python benchmarks/bench_queries.py --label county
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, setup_django, timer  # noqa: E402

# Pages that are not lists or need input: forms, uploads, files, the public look-up, log-in machinery.
SKIP_WORDS = (
    "create",
    "new",
    "export",
    "import",
    "template",
    "rebuild",
    "generate",
    "lookup",
    "password",
    "login",
    "logout",
    "otp",
    "set_language",
    "api-token",
    "api-schema",
    "api-docs",
    "api-root",
)
QUERY_GOAL = 10


def _walk(resolver, prefix="", namespace=None):
    from django.urls import URLResolver

    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, prefix + str(pattern.pattern), pattern.namespace or namespace)
        elif pattern.name:
            yield (
                prefix + str(pattern.pattern),
                (f"{namespace}:{pattern.name}" if namespace else pattern.name),
            )


def list_urls() -> list[tuple[str, str]]:
    """(name, url) of every page and API endpoint that takes no argument and lists or summarises records."""
    from django.urls import NoReverseMatch, get_resolver, reverse

    found = {}
    for route, name in _walk(get_resolver()):
        if name.startswith("admin:") or any(word in name for word in SKIP_WORDS):
            continue
        if "<" in route or "(?P" in route:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        if url.endswith(".xlsx"):
            continue
        found[name] = url
    return sorted(found.items(), key=lambda item: item[1])


def _rows(response) -> int | None:
    """How many records the list holds (not the page): the API's count, or the paginator's."""
    if response.get("Content-Type", "").startswith("application/json"):
        try:
            data = response.json()
        except ValueError:
            return None
        if isinstance(data, dict) and isinstance(data.get("count"), int):
            return data["count"]
        if isinstance(data, list):
            return len(data)
        return None
    context = getattr(response, "context", None)
    if context is None:
        return None
    for key in ("page_obj", "page"):
        try:
            page = context[key]
        except KeyError:
            continue
        paginator = getattr(page, "paginator", None)
        if paginator is not None:
            return paginator.count
    return None


def measure_url(client, url: str, *, repeat: int = 3) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    # Counted now: the next request empties the query log that `captured_queries` reads lazily.
    queries = len(captured.captured_queries)
    times = []
    for _ in range(repeat):
        with timer() as t:
            client.get(url)
        times.append(t())
    return {
        "status": response.status_code,
        "queries": queries,
        "rows": _rows(response),
        "ms": statistics.median(times) * 1000,
    }


def run(label: str = "county", *, repeat: int = 3) -> dict[str, dict]:
    """Measure every list URL and print `pages_<label>.<name>.<figure>` lines; returns the results."""
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from benchmarks.common import bench_users, logged_in_client

    # The test client's host name and the template context capture; already set up under pytest.
    with contextlib.suppress(RuntimeError):
        setup_test_environment()
    client = logged_in_client(bench_users()["bureau"])
    # The session's first write (about once a minute per session) is not the first page's: the tests of the
    # goal (tests/portal/test_page_queries.py) warm the session the same way.
    client.get(reverse("account_security"))
    results = {}
    for name, url in list_urls():
        result = measure_url(client, url, repeat=repeat)
        results[name] = result
        emit(f"pages_{label}.{name}.queries", result["queries"], "queries")
        emit(f"pages_{label}.{name}.server_time", result["ms"], "ms")
        if result["rows"] is not None:
            emit(f"pages_{label}.{name}.rows", result["rows"], "rows")
        if result["status"] != 200:
            emit(f"pages_{label}.{name}.status", result["status"], "http")
    return results


def parse(lines: list[str], label: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    prefix = f"pages_{label}."
    for line in lines:
        name, value, _unit = line.split(" ")
        if name.startswith(prefix):
            endpoint, figure = name[len(prefix) :].rsplit(".", 1)
            out.setdefault(endpoint, {})[figure] = float(value)
    return out


def summarise(small: dict[str, dict], county: dict[str, dict]) -> None:
    """Side by side: endpoints whose query count grows with the rows, exceed the goal, or fail."""
    grow = differ = over = failed = 0
    for name in sorted(county):
        big = county[name]
        if "status" in big:
            failed += 1
            continue
        if name in small and small[name]["queries"] != big["queries"]:
            # Fewer queries on the big county usually means an empty list there (a query skipped).
            differ += 1
            grow += big["queries"] > small[name]["queries"]
            emit(f"pages.{name}.query_growth", big["queries"] - small[name]["queries"], "queries")
        if big["queries"] > QUERY_GOAL:
            over += 1
    emit("pages.endpoints", len(county), "urls")
    emit("pages.max_queries", max((r["queries"] for r in county.values()), default=0), "queries")
    emit("pages.queries_differ", differ, "urls")
    emit("pages.queries_grow_with_rows", grow, "urls")
    emit("pages.over_query_goal", over, "urls")
    emit("pages.not_ok", failed, "urls")
    times = sorted(r["server_time"] for r in county.values())
    if times:
        emit("pages.server_time_median", statistics.median(times), "ms")
        emit("pages.server_time_max", times[-1], "ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="county")
    args = parser.parse_args()
    setup_django()
    run(args.label)


if __name__ == "__main__":
    main()
