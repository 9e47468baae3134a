"""A tiny load run against the live test server: the real log-in of every role, then a second of traffic."""

from __future__ import annotations

import random
import re

import pytest

from benchmarks import bench_load
from tests.benchmarks.test_smoke import figures


@pytest.mark.django_db(transaction=True)
def test_load_logs_every_role_in_and_reports_latency(live_server, capsys):
    from students import demo

    rng = random.Random(1)
    schools = demo.build_registry(rng=rng)
    demo.build_students(rng=rng, schools=schools, count=20)
    host, port = re.match(r"http://([^:]+):(\d+)", live_server.url).groups()
    roles = bench_load.prepare_roles(host, int(port))
    assert set(roles) == {"bureau", "township", "principal", "official"}
    result = bench_load.run_load(host, int(port), roles, users=2, seconds=1, think=(0.0, 0.1))
    bench_load.report(result, users=2, seconds=1, think=(0.0, 0.1))
    out = figures(capsys.readouterr().out)
    assert out["load.requests"][0] > 0
    assert {"load.p50", "load.p95", "load.error_rate"} <= out.keys()
