"""The load test's server shares one Redis cache between its workers, as production does, in a database of
its own that it empties first (`benchmarks/bench_load.shared_cache_url`)."""

from __future__ import annotations

import os

import pytest
import redis

from benchmarks import bench_load
from benchmarks.common import with_redis_db


def test_the_bench_cache_is_another_database_of_the_same_redis():
    assert with_redis_db("redis://127.0.0.1:6379/13", 9) == "redis://127.0.0.1:6379/9"
    assert with_redis_db("redis://:secret@cache:6380", 9) == "redis://:secret@cache:6380/9"


def test_without_redis_each_worker_keeps_its_own_cache(monkeypatch):
    monkeypatch.delenv("BENCH_REDIS_URL", raising=False)
    assert bench_load.shared_cache_url() is None


def test_the_shared_cache_starts_empty(monkeypatch):
    base = os.environ.get("REDIS_URL")
    if not base:
        pytest.skip("no Redis in this environment")
    # A database no test run uses (the tests' own is REDIS_URL's): the benchmark's.
    url = with_redis_db(base, 9)
    client = redis.Redis.from_url(url)
    client.set("left-over-figure", "from another benchmark database")
    monkeypatch.setenv("BENCH_REDIS_URL", url)
    assert bench_load.shared_cache_url() == url
    assert client.get("left-over-figure") is None
