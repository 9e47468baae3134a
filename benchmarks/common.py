"""What every benchmark script shares: Django set-up, the `name value unit` lines, timers and peak memory.

A figure is one line `name value unit` on stdout (names without spaces, e.g. `import.ratio 3.41 x`).
Anything else a script prints goes to stderr, so that `run_all.py` can pass figures through untouched.
"""

from __future__ import annotations

import os
import re
import resource
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r"^[A-Za-z0-9_.:@/-]+ -?\d+(\.\d+)? [A-Za-z%/_]+$")

# How many students each scale means, and the few other numbers that follow from it.
SCALES = {
    "tiny": {
        "students": 300,
        "seed_scale": "demo",
        "import_rows": 300,
        "register_rows": 300,
        "meal_schools": 10,
        "load_seconds": 3,
        "load_users": 4,
    },
    "ningdu": {
        "students": 145_057,
        "seed_scale": "ningdu",
        "import_rows": 150_000,
        # A Ningdu-size household list (issue 18) and a month of meals of the plan's 224 schools (issue 19).
        "register_rows": 110_000,
        "meal_schools": 224,
        "load_seconds": 20,
        "load_users": 20,
    },
}


def bench_environment() -> None:
    """Production-like settings for a benchmark process (DEBUG off, no HTTPS on loopback, tasks in-process)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECURE_HTTPS", "0")
    os.environ.setdefault("STATIC_MANIFEST", "0")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    # Celery tasks run in the benchmark's own process: a broker would time the queue, not the work. The load
    # test's server still shares one cache between its workers, as production's Redis does (`shared_cache_url`).
    redis_url = os.environ.pop("REDIS_URL", None)
    if redis_url and "BENCH_REDIS_URL" not in os.environ:
        os.environ["BENCH_REDIS_URL"] = with_redis_db(redis_url, BENCH_REDIS_DB)


# The Redis database the load test's server uses as its cache (emptied at its start): not the one of the
# development server or of the tests (REDIS_URL's own).
BENCH_REDIS_DB = 9


def with_redis_db(url: str, db: int) -> str:
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{db}"))


def setup_django() -> None:
    bench_environment()
    import django

    django.setup()


def emit(name: str, value: float | int, unit: str) -> None:
    """Print one figure. Floats get three decimals at most; the line is checked against LINE."""
    if isinstance(value, float):
        text = f"{value:.3f}".rstrip("0").rstrip(".") if value == value else "0"
        if text in ("-0", ""):
            text = "0"
    else:
        text = str(int(value))
    line = f"{name} {text} {unit}"
    if not LINE.match(line):
        raise ValueError(f"malformed figure line: {line!r}")
    print(line, flush=True)


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rss_bytes() -> int:
    """Resident memory of this process now (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """The process's high-water mark of resident memory (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(fn: Callable[[], object]) -> tuple[float, int, object]:
    """Run fn once: (seconds, peak memory above the resident memory at the start, result).

    The peak is the process's high-water mark, so it is only meaningful for the first big measurement of a
    fresh process; run_all.py runs each memory figure in a process of its own. Native memory (python-calamine,
    psycopg2 buffers) counts too, which tracemalloc would miss.
    """
    before = rss_bytes()
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    return seconds, max(0, peak_rss_bytes() - before), result


@contextmanager
def timer():
    """`with timer() as t: ...` then `t()` is the elapsed seconds."""
    started = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - started
    end.append(time.perf_counter())


def mb(n_bytes: int) -> float:
    return n_bytes / (1024 * 1024)


def bench_users():
    """The demo logins (one per role), created if the benchmark database lacks them."""
    from portal import demo
    from portal.models import User

    users = {u.role: u for u in User.objects.filter(username__in=[u[0] for u in demo.DEMO_USERS])}
    if len(users) < len(demo.DEMO_USERS):
        users = {u.role: u for u in demo.build_users()}
    return users


def logged_in_client(user):
    """A test client logged in as user, past the second factor where the role needs one."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    if user.needs_second_factor:
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="authenticator", defaults={"confirmed": True}
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client
