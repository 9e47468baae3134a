"""`make bench`: build (once) a county of the chosen scale in a database of its own, run every benchmark
script against it, and print every figure as `name value unit`.

    python benchmarks/run_all.py [--scale tiny|ningdu] [--only yearend,export,import,register,meals,queries,load]
                                 [--baseline FILE] [--save FILE]

The figures of an earlier run (`--baseline`, by default `benchmarks/baseline-<scale>.txt` when it exists: the
`name value unit` lines that run printed) are printed beside the new ones at the end, with the change;
`--save FILE` writes this run's figures so that they can become the next baseline.

Databases: BENCH_DATABASE_URL if set; otherwise `portal_bench` (or `portal_bench_tiny`) on the server of
DATABASE_URL, or on the project's embedded PostgreSQL when there is no DATABASE_URL. A second, small county
(`<name>_small`, 10 students) gives the "at 10 rows" side of the query counts. Never the dev or CI database.
Each script runs in a process of its own (peak memory is per process); a failing script is reported as
`<script>.failed 1 flag` and the others still run; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_queries  # noqa: E402
from benchmarks.common import ROOT, SCALES, bench_environment, emit, mb, note  # noqa: E402

HERE = Path(__file__).resolve().parent
ALL = ["yearend", "export", "import", "register", "meals", "queries", "lists", "load"]


def _with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def _ensure_database(url: str) -> None:
    import psycopg2

    name = urllib.parse.urlsplit(url).path.lstrip("/")
    conn = psycopg2.connect(_with_database(url, "postgres"))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()


def database_urls(scale: str) -> tuple[str, str]:
    """(county, small) database URLs; the databases are created if missing."""
    name = "portal_bench" if scale == "ningdu" else f"portal_bench_{scale}"
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if base:
        county = os.environ.get("BENCH_DATABASE_URL") or _with_database(base, name)
    else:
        from portal.embedded_db import embedded_database_url

        county = embedded_database_url(ROOT / "var", name)
    for dev_name in ("portal_dev", "portal_ci", "portal"):
        if urllib.parse.urlsplit(county).path.lstrip("/") == dev_name:
            raise SystemExit(f"refusing to benchmark in the {dev_name} database: set BENCH_DATABASE_URL")
    small = _with_database(county, urllib.parse.urlsplit(county).path.lstrip("/") + "_small")
    _ensure_database(county)
    _ensure_database(small)
    return county, small


def run_script(script: str, args: list[str], *, database_url: str, figures: list[str]) -> bool:
    """Run one benchmark script, echo its figure lines as they come; False if it failed."""
    env = {**os.environ, "DATABASE_URL": database_url}
    command = [sys.executable, str(HERE / script), *args]
    note(f"== {script} {' '.join(args)}")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    for line in process.stdout:
        line = line.rstrip("\n")
        if line:
            print(line, flush=True)
            figures.append(line)
    if process.wait() != 0:
        emit(f"{Path(script).stem}.failed", 1, "flag")
        return False
    return True


def machine(figures: list[str]) -> None:
    with open("/proc/meminfo") as f:
        total_kb = int(f.readline().split()[1])
    load1, _load5, _load15 = os.getloadavg()
    for name, value, unit in (
        ("machine.cpus", os.cpu_count() or 0, "cores"),
        ("machine.memory", round(mb(total_kb * 1024) / 1024, 3), "GB"),
        ("machine.load_at_start", round(load1, 3), "load"),
    ):
        emit(name, value, unit)
        figures.append(f"{name} {value} {unit}")
    note(f"machine: {platform.node()} {platform.platform()} Python {platform.python_version()}")
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
        note(f"cpu: {model}")
    except OSError:
        pass


def read_figures(path: Path) -> dict[str, tuple[float, str]]:
    """`name value unit` lines of a saved run (other lines, e.g. comments, are skipped)."""
    figures = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            try:
                figures[parts[0]] = (float(parts[1]), parts[2])
            except ValueError:
                continue
    return figures


def beside(new_lines: list[str], old: dict[str, tuple[float, str]]) -> list[str]:
    """The table of new figures beside the old ones: `name  old  new  unit  change`, for every figure of
    this run (old `-` when the baseline lacks it)."""
    rows = [("figure", "before", "now", "unit", "change")]
    for line in new_lines:
        parts = line.split()
        if len(parts) != 3:
            continue
        name, value, unit = parts
        now = float(value)
        if name in old:
            before = old[name][0]
            change = f"{now / before:.2f}x" if before else ("=" if now == before else "new")
            rows.append((name, f"{before:g}", f"{now:g}", unit, change))
        else:
            rows.append((name, "-", f"{now:g}", unit, ""))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="ningdu")
    parser.add_argument("--only", default=",".join(ALL), help="comma-separated: " + ",".join(ALL))
    parser.add_argument("--baseline", type=Path, help="an earlier run's figures, printed beside the new ones")
    parser.add_argument("--save", type=Path, help="write this run's figures to this file")
    args = parser.parse_args()
    wanted = [name for name in args.only.split(",") if name]
    config = SCALES[args.scale]
    bench_environment()
    started = time.monotonic()
    figures: list[str] = []
    machine(figures)
    county, small = database_urls(args.scale)
    ok = run_script(
        "bench_seed.py",
        ["--scale", config["seed_scale"], "--students", str(config["students"])],
        database_url=county,
        figures=figures,
    )
    if not ok:
        return 1
    if "yearend" in wanted:
        ok &= run_script("bench_yearend.py", [], database_url=county, figures=figures)
    if "export" in wanted:
        ok &= run_script("bench_export.py", [], database_url=county, figures=figures)
    if "import" in wanted:
        ok &= run_script(
            "bench_import.py", ["--rows", str(config["import_rows"])], database_url=county, figures=figures
        )
    if "register" in wanted:
        ok &= run_script(
            "bench_register.py",
            ["--rows", str(config["register_rows"])],
            database_url=county,
            figures=figures,
        )
    if "meals" in wanted:
        ok &= run_script(
            "bench_meals.py", ["--schools", str(config["meal_schools"])], database_url=county, figures=figures
        )
    if "queries" in wanted:
        seeded = run_script(
            "bench_seed.py",
            ["--scale", "demo", "--students", "10", "--prefix", "small"],
            database_url=small,
            figures=figures,
        )
        ok &= seeded and run_script(
            "bench_queries.py", ["--label", "small"], database_url=small, figures=figures
        )
        ok &= run_script("bench_queries.py", ["--label", "county"], database_url=county, figures=figures)
        bench_queries.summarise(bench_queries.parse(figures, "small"), bench_queries.parse(figures, "county"))
    if "lists" in wanted:
        ok &= run_script("bench_lists.py", [], database_url=county, figures=figures)
    if "load" in wanted:
        ok &= run_script(
            "bench_load.py",
            ["--users", str(config["load_users"]), "--seconds", str(config["load_seconds"])],
            database_url=county,
            figures=figures,
        )
    emit("bench.total_time", time.monotonic() - started, "s")
    figures.append(f"bench.total_time {time.monotonic() - started:.1f} s")
    if args.save:
        args.save.write_text("\n".join(figures) + "\n", encoding="utf-8")
        note(f"figures saved to {args.save}")
    baseline = args.baseline or HERE / f"baseline-{args.scale}.txt"
    if baseline.exists():
        note(f"\n== this run beside {baseline.name}")
        for row in beside(figures, read_figures(baseline)):
            note(row)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
