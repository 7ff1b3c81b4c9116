"""Benchmark of the unit tree (C1) at the seed-004 scale, on SQLite and on PostgreSQL.

Run: ``.venv/bin/python bench/hierarchy.py`` (about a minute). Each database runs in a fresh
subprocess so that settings are read for it:

* SQLite: a temporary ``TUANJU_VAR_DIR``, ``DATABASE_URL`` unset.
* PostgreSQL: ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/tuanju_bench`` (override the
  server with ``BENCH_PG_ADMIN``, the name with ``BENCH_PG_DB``); the script creates and drops
  that database itself and skips PostgreSQL when no server answers.

Per database it times ``generator.build_world("yiwu")`` against an honest baseline (the same
rows inserted raw: ``executemany`` on SQLite, ``COPY FROM STDIN`` on PostgreSQL, into a scratch
copy of the table with the same indexes), then the subtree-count queries against hand-written
SQL returning the same result, prints their query plans, and ends with a summary table.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULT_MARK = "@@RESULT@@ "
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = os.environ.get("BENCH_PG_DB", "tuanju_bench")
REPEATS = 50
COLUMNS = ("path", "depth", "numchild", "code", "name", "level", "kind", "pinyin", "created_at", "updated_at")


# --- worker: runs inside one database's subprocess ----------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _stats(samples: list[float]) -> dict:
    return {"median_ms": statistics.median(samples), "p95_ms": _percentile(samples, 0.95), "n": len(samples)}


def _timed_pair(orm_fn, raw_fn, repeats: int = REPEATS) -> tuple[dict, dict]:
    """Time two functions interleaved (alternating which goes first), so both see the same noise."""
    for _ in range(3):  # warm-up: connection, statement and page caches
        orm_fn()
        raw_fn()
    samples: dict[str, list[float]] = {"orm": [], "raw": []}
    for i in range(repeats):
        order = (("orm", orm_fn), ("raw", raw_fn)) if i % 2 == 0 else (("raw", raw_fn), ("orm", orm_fn))
        for key, fn in order:
            t0 = time.perf_counter()
            fn()
            samples[key].append((time.perf_counter() - t0) * 1000)
    return _stats(samples["orm"]), _stats(samples["raw"])


class _ExecuteTimer:
    """A ``connection.execute_wrapper`` that sums the time spent inside the database driver."""

    def __init__(self):
        self.seconds = 0.0
        self.calls = 0
        self.last: tuple[str, object] | None = None

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - t0
            self.calls += 1
            self.last = (sql, params)


def _raw_insert_baseline(rows: list[tuple], vendor: str) -> dict:
    """Insert ``rows`` raw into a scratch copy of hierarchy_orgunit (same columns and indexes)."""
    from django.db import connection, transaction

    cols = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_orgunit")
        if vendor == "sqlite":
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'hierarchy_orgunit' AND sql IS NOT NULL"
                " ORDER BY type DESC"  # the table before its indexes
            )
            for (ddl,) in cursor.fetchall():
                cursor.execute(ddl.replace("hierarchy_orgunit", "bench_orgunit"))
        else:
            cursor.execute("CREATE TABLE bench_orgunit (LIKE hierarchy_orgunit INCLUDING ALL)")
    t0 = time.perf_counter()
    with transaction.atomic():
        if vendor == "sqlite":
            with connection.cursor() as cursor:
                placeholders = ", ".join(["%s"] * len(COLUMNS))
                cursor.executemany(f"INSERT INTO bench_orgunit ({cols}) VALUES ({placeholders})", rows)
        else:
            raw_cursor = connection.connection.cursor()
            with raw_cursor, raw_cursor.copy(f"COPY bench_orgunit ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    seconds = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_orgunit")
        copied = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_orgunit")
    assert copied == len(rows), (copied, len(rows))
    return {"rows": len(rows), "seconds": seconds, "rows_per_s": len(rows) / seconds}


def _explain(sql: str, params, vendor: str) -> list[str]:
    from django.db import connection

    prefix = "EXPLAIN QUERY PLAN " if vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql, params)
        rows = cursor.fetchall()
    if vendor == "sqlite":
        return [row[-1] for row in rows]
    return [row[0] for row in rows]


def _path_index_line(plan: list[str]) -> str | None:
    for line in plan:
        lowered = line.lower()
        if "index" in lowered and ("path" in lowered or "autoindex_hierarchy_orgunit_1" in lowered):
            return line.strip().removeprefix("->").strip()
    return None


def _scan_line(plan: list[str]) -> str:
    for line in plan:
        if "scan" in line.lower():
            return line.strip().removeprefix("->").strip()
    return plan[0].strip()


def worker(label: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tuanju.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count

    from tuanju.core.text import pinyin_initials
    from tuanju.demo import generator
    from tuanju.demo.synth import Synth
    from tuanju.hierarchy import actions
    from tuanju.hierarchy.models import Level, OrgUnit

    vendor = connection.vendor
    out: dict = {"db": label, "vendor": vendor}
    print(f"[{label}] {connection.display_name} {connection.Database.__name__}", flush=True)

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    out["migrate_s"] = time.perf_counter() - t0
    print(f"[{label}] migrate: {out['migrate_s']:.1f} s", flush=True)

    # --- build_world("yiwu"), with the time spent inside the database driver --------------
    # Later capabilities add their own steps to build_world (the roster's million people has
    # its own bench); unless BENCH_WITH_PEOPLE=1, this runs the yiwu plans with people=0.
    scale = "yiwu"
    plans = generator.SCALES[scale]
    if not os.environ.get("BENCH_WITH_PEOPLE") and any(getattr(p, "people", 0) for p in plans):
        scale = "yiwu-units-only"
        generator.SCALES[scale] = [dataclasses.replace(p, people=0) for p in plans]
        print(
            f"[{label}] build_world: the yiwu plans with people=0 (BENCH_WITH_PEOPLE=1 keeps them)",
            flush=True,
        )
    before = OrgUnit.objects.count()
    timer = _ExecuteTimer()
    pinyin_initials.cache_clear()
    t0 = time.perf_counter()
    with connection.execute_wrapper(timer):
        world = generator.build_world(scale, echo=lambda line: print(f"[{label}]   {line}", flush=True))
    build_s = time.perf_counter() - t0
    units = OrgUnit.objects.count() - before
    timings = world["timings"]
    yiwu = OrgUnit.objects.get(code=generator.YIWU)
    tower_units = OrgUnit.objects.filter(path__startswith=yiwu.path, depth__gt=yiwu.depth).count()
    tower_s = timings[f"units_{generator.YIWU}"]
    other_steps = {
        k: v for k, v in timings.items() if k not in {"total", "divisions", f"units_{generator.YIWU}"}
    }

    # The parts of the tower step, measured apart: the specs (Synth) and cold pinyin.
    t0 = time.perf_counter()
    specs = generator.county_specs(plans[0], Synth(world["seed"]))
    specs_s = time.perf_counter() - t0
    names = [spec.name for spec in actions._flatten(specs)]
    pinyin_initials.cache_clear()
    t0 = time.perf_counter()
    for name in names:
        pinyin_initials(name)
    pinyin_s = time.perf_counter() - t0
    out["build"] = {
        "scale": scale,
        "seconds": build_s,
        "units": units,
        "units_per_s": units / build_s,
        "divisions_s": timings["divisions"],
        "tower_units": tower_units,
        "tower_s": tower_s,
        "tower_units_per_s": tower_units / tower_s,
        "other_steps": other_steps,
        # Demo staff logins (one PBKDF2 hash each) and whatever else build_world does between steps.
        "staff_s": timings["total"] - timings["divisions"] - tower_s - sum(other_steps.values()),
        "db_execute_s": timer.seconds,
        "db_execute_calls": timer.calls,
        "specs_s": specs_s,
        "pinyin_cold_s": pinyin_s,
        "pinyin_unique_names": len(set(names)),
    }
    b = out["build"]
    print(
        f"[{label}] build_world('yiwu'): {units:,} units in {build_s:.2f} s = {b['units_per_s']:,.0f} units/s"
        f" (divisions {b['divisions_s']:.2f} s; Yiwu tower {tower_units:,} units in {tower_s:.2f} s"
        f" = {b['tower_units_per_s']:,.0f} units/s; demo staff {b['staff_s']:.2f} s"
        + "".join(f"; {k} {v:.2f} s" for k, v in other_steps.items())
        + ")",
        flush=True,
    )
    print(
        f"[{label}]   inside Django cursor calls: {timer.seconds:.2f} s over {timer.calls} statements;"
        f" specs (Synth) {specs_s:.2f} s; pinyin cold {pinyin_s:.2f} s"
        f" ({len(names):,} names, {len(set(names)):,} unique)",
        flush=True,
    )

    # --- raw insert baseline: the same tower rows, pre-built ------------------------------
    stamp = (
        connection.ops.adapt_datetimefield_value(yiwu.created_at) if vendor == "sqlite" else yiwu.created_at
    )
    rows = [
        (*row, stamp, stamp)
        for row in OrgUnit.objects.filter(path__startswith=yiwu.path, depth__gt=yiwu.depth)
        .order_by("path")
        .values_list(*COLUMNS[:-2])
    ]
    raw = _raw_insert_baseline(rows, vendor)
    raw["ratio"] = tower_s / raw["seconds"]
    raw["ratio_bulk_insert_only"] = (tower_s - specs_s) / raw["seconds"]
    out["raw_insert"] = raw
    method = "executemany" if vendor == "sqlite" else "COPY FROM STDIN"
    print(
        f"[{label}] raw {method}: {raw['rows']:,} rows in {raw['seconds']:.3f} s = {raw['rows_per_s']:,.0f} rows/s;"
        f" tower step is {raw['ratio']:.1f}x slower ({raw['ratio_bulk_insert_only']:.1f}x without Synth specs)",
        flush=True,
    )

    # --- subtree-count queries -----------------------------------------------------------
    if vendor == "postgresql":
        # What autovacuum does within a minute of a bulk load; SQLite gets no ANALYZE, as deployed.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE hierarchy_orgunit")
    town = OrgUnit.objects.filter(path__startswith=yiwu.path, level=Level.TOWN).order_by("path").first()
    roots = [OrgUnit.objects.get(code=generator.CITY), yiwu, town]
    total_units = OrgUnit.objects.count()
    out["queries"] = []
    out["plans"] = []

    def raw_rows(sql: str, params: list):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return dict(cursor.fetchall())

    for unit in roots:
        like = unit.path + "%"
        width = len(unit.path) + OrgUnit.steplen

        def by_level(unit=unit):
            # The by-level query of actions.subtree_counts, verbatim.
            return dict(
                OrgUnit.objects.filter(path__startswith=unit.path, depth__gt=unit.depth)
                .values_list("level")
                .annotate(n=Count("pk"))
                .order_by()
            )

        def rollup(unit=unit):
            # The per-child rollup of actions.subtree_counts, verbatim.
            return unit.child_rollup(OrgUnit.objects.filter(depth__gt=unit.depth + 1))

        def counts(unit=unit):
            return actions.subtree_counts(unit)

        def raw_by_level(like=like, unit=unit):
            return raw_rows(
                "SELECT level, count(*) FROM hierarchy_orgunit WHERE path LIKE %s AND depth > %s GROUP BY 1",
                [like, unit.depth],
            )

        def raw_rollup(like=like, unit=unit, width=width):
            # Same filter as the ORM rollup (depth > child depth), so both return the same dict.
            return raw_rows(
                f"SELECT substr(path, 1, {width}), count(*) FROM hierarchy_orgunit"
                " WHERE path LIKE %s AND depth > %s GROUP BY 1",
                [like, unit.depth + 1],
            )

        def raw_counts(by_level=raw_by_level, rollup=raw_rollup):
            return by_level(), rollup()

        assert by_level() == raw_by_level(), (unit.code, by_level(), raw_by_level())
        assert rollup() == raw_rollup(), unit.code
        below = sum(by_level().values())
        children = len(rollup())
        for name, orm_fn, raw_fn in (
            ("by_level", by_level, raw_by_level),
            ("child_rollup", rollup, raw_rollup),
            ("subtree_counts", counts, raw_counts),
        ):
            orm, base = _timed_pair(orm_fn, raw_fn)
            row = {
                "root": f"{unit.name} {unit.code}",
                "units_below": below,
                "children_counted": children,
                "query": name,
                "orm": orm,
                "raw": base,
                "ratio": orm["median_ms"] / base["median_ms"],
            }
            out["queries"].append(row)
            print(
                f"[{label}] {row['root']:<22} {name:<15} ORM median {orm['median_ms']:7.2f} ms"
                f" p95 {orm['p95_ms']:7.2f} ms | raw SQL median {base['median_ms']:7.2f} ms"
                f" p95 {base['p95_ms']:7.2f} ms | x{row['ratio']:.2f}  ({below:,} units below)",
                flush=True,
            )
        for name, orm_fn in (("by_level", by_level), ("child_rollup", rollup)):
            capture = _ExecuteTimer()
            with connection.execute_wrapper(capture):
                orm_fn()
            sql, params = capture.last
            plan_lines = _explain(sql, params, vendor)
            out["plans"].append(
                {
                    "root": f"{unit.name} {unit.code}",
                    "query": name,
                    "sql": sql,
                    "plan": plan_lines,
                    "path_index": _path_index_line(plan_lines),
                    "scan": _scan_line(plan_lines),
                    "share_of_table": (below + 1) / total_units,
                }
            )
    print(f"[{label}] query plans of the ORM queries:", flush=True)
    for entry in out["plans"]:
        print(f"[{label}]   {entry['root']} {entry['query']}: {entry['sql']}", flush=True)
        for line in entry["plan"]:
            print(f"[{label}]       {line}", flush=True)
    print(RESULT_MARK + json.dumps(out, ensure_ascii=False), flush=True)


# --- driver: one subprocess per database, then the summary ---------------------------------


def _run_worker(label: str, env: dict) -> dict | None:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--worker", label],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    result = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(RESULT_MARK):
            result = json.loads(line[len(RESULT_MARK) :])
        else:
            print(line, end="", flush=True)
    if proc.wait() != 0:
        print(f"[{label}] worker failed with exit code {proc.returncode}", flush=True)
        return None
    return result


def _base_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "TUANJU_VAR_DIR"}}
    env.update(DJANGO_SETTINGS_MODULE="tuanju.settings", LOG_LEVEL="WARNING", PYTHONDONTWRITEBYTECODE="1")
    return env


def bench_sqlite() -> dict | None:
    with tempfile.TemporaryDirectory(prefix="tuanju-bench-") as var_dir:
        env = _base_env()
        env["TUANJU_VAR_DIR"] = var_dir
        return _run_worker("sqlite", env)


def bench_postgres() -> dict | None:
    import psycopg
    from psycopg import sql

    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        print(f"[postgresql] skipped: no server at {PG_ADMIN_URL} ({exc})", flush=True)
        return None
    name = sql.Identifier(PG_BENCH_DB)
    with admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
        try:
            env = _base_env()
            env["DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_BENCH_DB
            with tempfile.TemporaryDirectory(prefix="tuanju-bench-") as var_dir:
                env["TUANJU_VAR_DIR"] = var_dir  # huey's SQLite queue file, not the database
                return _run_worker("postgresql", env)
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def _width(text: str) -> int:
    """Terminal columns of ``text``: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(_width(str(x)) for x in column) for column in zip(headers, *rows, strict=True)]

    def fmt(row):
        return " | ".join(" " * (w - _width(str(x))) + str(x) for x, w in zip(row, widths, strict=True))

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([fmt(headers), rule, *(fmt(row) for row in rows)])


def summary(results: list[dict]) -> None:
    print("\n=== Summary: inserting the seed-004 world (build_world('yiwu')) ===")
    rows = []
    for r in results:
        b, raw = r["build"], r["raw_insert"]
        rows.append(
            [
                r["db"],
                f"{b['units']:,}",
                f"{b['seconds']:.2f}",
                f"{b['units_per_s']:,.0f}",
                f"{b['tower_units']:,}",
                f"{b['tower_s']:.2f}",
                f"{b['tower_units_per_s']:,.0f}",
                f"{raw['seconds']:.3f}",
                f"{raw['rows_per_s']:,.0f}",
                f"{raw['ratio']:.1f}x",
            ]
        )
    print(
        _table(
            [
                "db",
                "units",
                "build s",
                "units/s",
                "tower units",
                "tower s",
                "tower units/s",
                "raw s",
                "raw rows/s",
                "tower/raw",
            ],
            rows,
        )
    )
    print("\n--- Where build_world's time goes (seconds) ---")
    rows = []
    for r in results:
        b = r["build"]
        rows.append(
            [
                r["db"],
                f"{b['seconds']:.2f}",
                f"{b['divisions_s']:.2f}",
                f"{b['specs_s']:.2f}",
                f"{b['pinyin_cold_s']:.2f}",
                f"{b['db_execute_s']:.2f}",
                f"{b['tower_s'] - b['specs_s'] - b['pinyin_cold_s']:.2f}",
                f"{b['staff_s']:.2f}",
            ]
        )
    print(
        _table(
            [
                "db",
                "total",
                "divisions",
                "tower specs (Synth)",
                "pinyin cold",
                "Django cursor calls",
                "bulk_insert w/o pinyin",
                "demo staff (PBKDF2)",
            ],
            rows,
        )
    )
    print(
        "Django cursor calls: time inside execute()/executemany() over the whole build_world (a COPY"
        " issued on the raw psycopg cursor is not counted). Other steps: "
        + "; ".join(f"{r['db']} {r['build']['other_steps'] or 'none'}" for r in results)
    )
    print(f"\n=== Summary: subtree counts, {REPEATS} runs each, ORM vs hand-written SQL (ms) ===")
    rows = []
    for r in results:
        for q in r["queries"]:
            rows.append(
                [
                    r["db"],
                    q["root"],
                    f"{q['units_below']:,}",
                    q["query"],
                    f"{q['orm']['median_ms']:.2f}",
                    f"{q['orm']['p95_ms']:.2f}",
                    f"{q['raw']['median_ms']:.2f}",
                    f"{q['raw']['p95_ms']:.2f}",
                    f"{q['ratio']:.2f}x",
                ]
            )
    print(
        _table(
            ["db", "root", "below", "query", "ORM med", "ORM p95", "SQL med", "SQL p95", "ORM/SQL"],
            rows,
        )
    )
    print("\n=== Summary: path index in the ORM query plans ===")
    rows = []
    for r in results:
        for p in r["plans"]:
            share = f"{p['share_of_table']:.1%}"
            line = p["path_index"] or f"no index: {p['scan']}"
            rows.append([r["db"], p["root"], share, p["query"], line])
    print(_table(["db", "root", "subtree/table", "query", "plan line"], rows))
    if any(p["path_index"] is None for r in results for p in r["plans"]):
        print(
            "A plan without the path index chose a full scan because that subtree is nearly the whole"
            " table (the right plan there); the smaller subtree's plan shows the path index in use."
        )


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
        return 0
    started = time.perf_counter()
    results = [r for r in (bench_sqlite(), bench_postgres()) if r is not None]
    if results:
        summary(results)
    print(f"\nbench/hierarchy.py: {time.perf_counter() - started:.0f} s")
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
