"""Under load: 20 concurrent users mixing dashboards, lists and details for a bounded time, against gunicorn
on loopback. p50 and p95 latency (goal p95 < 300 ms) and error rate (goal 0).

The load generator is plain Python (threads and http.client, no extra package): each virtual user logs in
through the real log-in form (and the authenticator step for bureau and official, with the demo's fixed
TOTP key), then loops over a weighted mix of pages until the time is up. Every user of a role shares that
role's session (a TOTP code is accepted once, so each role logs in once).

    python benchmarks/bench_load.py --users 20 --seconds 20 [--workers 3]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, emit, note, setup_django  # noqa: E402

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ROLES = ("bureau", "township", "principal", "official")

# (label, kind, path or path template with {student} / {school}, weight)
MIX = [
    ("home", "dashboard", "/", 3),
    ("reports", "dashboard", "/reports/", 2),
    ("aid", "dashboard", "/aid/", 2),
    ("dropout", "dashboard", "/dropout/", 2),
    ("nutrition", "dashboard", "/nutrition/", 1),
    ("student_list", "list", "/registry/students/", 3),
    ("student_list_page", "list", "/registry/students/?page={page}", 2),
    ("school_list", "list", "/registry/schools/", 1),
    ("student_api", "list", "/api/students/", 2),
    ("case_list", "list", "/dropout/cases/", 1),
    ("payment_api", "list", "/api/subsidies/payments/", 1),
    ("student_detail", "detail", "/registry/students/{student}/", 4),
    ("student_api_detail", "detail", "/api/students/{student}/", 2),
    ("school_detail", "detail", "/registry/schools/{school}/", 2),
]


class Session:
    """Cookies of one logged-in role, shared by that role's virtual users."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}

    def request(self, conn: http.client.HTTPConnection, method: str, path: str, body: dict | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://{self.host}:{self.port}{path}"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        content = response.read()
        for key, value in response.getheaders():
            if key.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.getheader("Location", ""), content

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def post_form(self, path: str, fields: dict) -> tuple[int, str]:
        conn = self.connection()
        try:
            _status, _location, page = self.request(conn, "GET", path)
            token = CSRF_FIELD.search(page.decode("utf-8", "replace"))
            if token is None:
                raise RuntimeError(f"no CSRF token on {path}")
            status, location, _ = self.request(
                conn, "POST", path, {"csrfmiddlewaretoken": token.group(1), **fields}
            )
            return status, location
        finally:
            conn.close()


def log_in(host: str, port: int, username: str, password: str, code_for=None) -> Session:
    """The real log-in: form, then the authenticator code when the account asks for one."""
    session = Session(host, port)
    status, location = session.post_form("/accounts/login/", {"username": username, "password": password})
    if status != 302:
        raise RuntimeError(f"log-in of {username} failed (HTTP {status})")
    if "2fa" in location or code_for is not None:
        conn = session.connection()
        try:
            status, location, _ = session.request(conn, "GET", "/")
        finally:
            conn.close()
        if status == 302 and "/2fa/verify/" in location:
            status, location = session.post_form("/accounts/2fa/verify/", {"token": code_for()})
            if status != 302:
                raise RuntimeError(f"second factor of {username} failed (HTTP {status})")
    return session


def role_targets(user) -> dict:
    """Ids this user may open, for the detail pages; and how many pages its student list has."""
    from students.models import School, Student

    students = list(Student.objects.visible_to(user).order_by("pk").values_list("pk", flat=True))
    schools = list(School.objects.visible_to(user).order_by("pk").values_list("pk", flat=True))
    return {"student": students or [0], "school": schools or [0], "pages": max(1, len(students) // 50)}


def expand(template: str, targets: dict, rng: random.Random) -> str:
    return template.format(
        student=rng.choice(targets["student"]),
        school=rng.choice(targets["school"]),
        page=rng.randint(1, targets["pages"]),
    )


def probe(session: Session, targets: dict) -> list[tuple]:
    """The part of the mix this role may open (a principal has no county reports): a 200 on first try."""
    rng = random.Random(1)
    allowed = []
    conn = session.connection()
    try:
        for item in MIX:
            status, _, _ = session.request(conn, "GET", expand(item[2], targets, rng))
            if status == 200:
                allowed.append(item)
    finally:
        conn.close()
    return allowed


def run_load(
    host: str,
    port: int,
    roles: dict,
    *,
    users: int,
    seconds: float,
    think: tuple[float, float],
    seed: int = 11,
) -> dict:
    """roles: {role: (session, targets, mix)}. Returns the latency samples and errors.

    `think`: each user waits a random time in this range (seconds) between two pages, as a clerk reads the
    page before the next click; (0, 0) hammers the server as fast as it answers (saturation).
    """
    samples: list[tuple[str, str, float]] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    names = sorted(roles)

    def user_loop(index: int) -> None:
        rng = random.Random(seed + index)
        session, targets, mix = roles[names[index % len(names)]]
        weights = [item[3] for item in mix]
        conn = session.connection()
        while time.monotonic() < deadline:
            label, kind, template, _w = rng.choices(mix, weights)[0]
            path = expand(template, targets, rng)
            started = time.perf_counter()
            try:
                status, _, _ = session.request(conn, "GET", path)
                failed = None if status == 200 else f"{path} HTTP {status}"
            except (OSError, http.client.HTTPException) as exc:
                failed = f"{path} {type(exc).__name__}"
                conn.close()
                conn = session.connection()
            elapsed = time.perf_counter() - started
            with lock:
                samples.append((label, kind, elapsed))
                if failed:
                    errors.append(failed)
            if think[1] > 0:
                time.sleep(rng.uniform(*think))
        conn.close()

    threads = [threading.Thread(target=user_loop, args=(i,), daemon=True) for i in range(users)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    return {"samples": samples, "errors": errors, "wall": time.monotonic() - started}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def report(
    result: dict, *, users: int, seconds: float, think: tuple[float, float], prefix: str = "load"
) -> None:
    samples, errors = result["samples"], result["errors"]
    latencies = [s[2] * 1000 for s in samples]
    emit(f"{prefix}.users", users, "users")
    emit(f"{prefix}.think_time", (think[0] + think[1]) / 2, "s")
    emit(f"{prefix}.duration", seconds, "s")
    emit(f"{prefix}.requests", len(samples), "requests")
    emit(f"{prefix}.throughput", len(samples) / result["wall"] if result["wall"] else 0.0, "req/s")
    emit(f"{prefix}.p50", percentile(latencies, 50), "ms")
    emit(f"{prefix}.p95", percentile(latencies, 95), "ms")
    emit(f"{prefix}.p99", percentile(latencies, 99), "ms")
    emit(f"{prefix}.max", max(latencies, default=0.0), "ms")
    emit(f"{prefix}.error_rate", 100.0 * len(errors) / len(samples) if samples else 0.0, "%")
    for kind in ("dashboard", "list", "detail"):
        values = [s[2] * 1000 for s in samples if s[1] == kind]
        if values:
            emit(f"{prefix}.{kind}.p95", percentile(values, 95), "ms")
    by_label: dict[str, list[float]] = {}
    for label, _kind, elapsed in samples:
        by_label.setdefault(label, []).append(elapsed * 1000)
    for label, values in sorted(by_label.items()):
        emit(f"{prefix}.page.{label}.p50", statistics.median(values), "ms")
        emit(f"{prefix}.page.{label}.p95", percentile(values, 95), "ms")
    for error in sorted(set(errors))[:10]:
        note(f"load error: {error}")


def prepare_roles(host: str, port: int) -> dict:
    """Log each demo role in and find what it may open; returns run_load's `roles`."""
    from benchmarks.common import bench_users
    from portal import demo

    roles = {}
    for role, user in bench_users().items():
        code_for = (lambda u=user: demo.current_code(u)) if user.needs_second_factor else None
        session = log_in(host, port, user.username, demo.demo_password(), code_for)
        targets = role_targets(user)
        mix = probe(session, targets)
        emit(f"load.mix.{role}", len(mix), "pages")
        if mix:
            roles[role] = (session, targets, mix)
    return roles


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shared_cache_url() -> str | None:
    """The Redis the server's workers share as their cache, as in production (docker-compose: the portal's
    REDIS_URL); None when `make bench` runs without Redis (each worker then keeps a cache of its own, and
    each pays the first view of every dashboard). BENCH_REDIS_URL, set by `bench_environment` from REDIS_URL
    (database BENCH_REDIS_DB), is emptied before the run so that no figure of another database is served."""
    url = os.environ.get("BENCH_REDIS_URL")
    if not url:
        return None
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
    except redis.RedisError as exc:
        note(f"no shared cache ({exc}); each worker keeps its own")
        return None
    return url


def start_server(port: int, workers: int) -> subprocess.Popen:
    """gunicorn on loopback with production settings (DEBUG off), as the Dockerfile runs it: its workers
    share the Redis cache when there is one (`shared_cache_url`)."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    env = {**os.environ, "ALLOWED_HOSTS": os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost")}
    cache = shared_cache_url()
    if cache:
        env["REDIS_URL"] = cache
    emit("load.shared_cache", 1 if cache else 0, "flag")
    process = subprocess.Popen(
        [
            str(gunicorn),
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited at start")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/accounts/login/")
            if conn.getresponse().status == 200:
                conn.close()
                return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise RuntimeError("gunicorn did not answer within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(1.0, 3.0),
        metavar=("MIN", "MAX"),
        help="seconds a user waits between pages (a clerk reading); the saturation run uses none",
    )
    parser.add_argument("--no-saturation", action="store_true", help="skip the run without think time")
    args = parser.parse_args()
    setup_django()
    port = free_port()
    server = start_server(port, args.workers)
    try:
        roles = prepare_roles("127.0.0.1", port)
        emit("load.server_workers", args.workers, "processes")
        think = tuple(args.think)
        result = run_load("127.0.0.1", port, roles, users=args.users, seconds=args.seconds, think=think)
        report(result, users=args.users, seconds=args.seconds, think=think)
        if not args.no_saturation:
            # The same users with no pause at all: what the server does flat out (capacity, not a goal).
            result = run_load(
                "127.0.0.1", port, roles, users=args.users, seconds=args.seconds, think=(0.0, 0.0)
            )
            report(result, users=args.users, seconds=args.seconds, think=(0.0, 0.0), prefix="load_saturated")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
