"""Benchmark of the tower groups (C5) at the seed-004 scale, on SQLite and on PostgreSQL.

    .venv/bin/python bench/towers.py [--people 1005000] [--db sqlite,postgresql]

Per database, in a fresh subprocess (a temporary SQLite file; a scratch PostgreSQL database
created and dropped by the script, server from BENCH_PG_ADMIN):

1. setup (not the subject): Zhejiang's divisions and Yiwu's 152 + 3,467 + 33,455 tower units
   (the seed generator's units), then 1,005,000 roster rows. The people are *minimal* rows
   written straight through ``core.bulk.insert_rows`` (name, unit and blanks — no resident ID or
   phone, so no encryption): the subject here is the groups, and the encrypted roster path has
   its own benchmark (bench/roster_import.py).
2. ``groups.actions.build_towers(义乌市)``: 37,074 groups linked to their parents. Baseline: the
   same 37,074 rows inserted raw (SQLite ``executemany`` / PostgreSQL ``COPY``) into a scratch
   copy of the table with the same indexes and foreign keys.
3. ``groups.actions.place_people(义乌市)``: 1,005,000 memberships (read the roster, pick each
   person's group, insert, update the 37,074 groups' counters). Baseline: the same membership
   rows inserted raw into a scratch copy of the membership table.
4. Both again (idempotent: nothing to add).
5. ``groups.coverage.coverage(金华市)`` — the city root: groups vs units, people in groups vs
   roster, liaisons, gaps per child and per level; cold, then the median of 5. Target < 1 s.

Prints times, rows/s, ratios to the baselines, peak memory and the coverage figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULT_MARK = "@@RESULT@@ "
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = os.environ.get("BENCH_PG_DB", "tuanju_bench_towers")
YIWU, CITY = "330782", "330700"


# --- worker: runs inside one database's subprocess ----------------------------------------


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tuanju.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _scratch_copy(table: str, scratch: str) -> None:
    """An empty copy of ``table`` with the same columns, indexes (partial ones too) and foreign keys."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{scratch}"')
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT type, sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL ORDER BY type DESC",
                [table],
            )
            for kind, ddl in cursor.fetchall():
                ddl = ddl.replace(f'"{table}"', f'"{scratch}"')
                if kind == "index":  # index names are global: give the copy's its own
                    ddl = re.sub(r'INDEX "([^"]+)"', lambda m: f'INDEX "{scratch}_{m[1]}"', ddl, count=1)
                cursor.execute(ddl)
        else:
            cursor.execute(f'CREATE TABLE "{scratch}" (LIKE "{table}" INCLUDING ALL)')
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
                [table],
            )
            for (definition,) in cursor.fetchall():
                cursor.execute(f'ALTER TABLE "{scratch}" ADD {definition}')


def _raw_insert(table: str, columns: list[str], rows: list[tuple]) -> float:
    """Rows into a scratch copy of ``table`` by the database's fastest path; returns seconds."""
    from django.db import connection, transaction

    scratch = f"bench_{table}"
    _scratch_copy(table, scratch)
    cols = ", ".join(f'"{c}"' for c in columns)
    started = time.perf_counter()
    with transaction.atomic():
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -262144")  # the same page cache as the real path
                placeholders = ", ".join(["%s"] * len(columns))
                cursor.executemany(f'INSERT INTO "{scratch}" ({cols}) VALUES ({placeholders})', rows)
                cursor.execute("PRAGMA cache_size = -2000")
        else:
            raw = connection.connection.cursor()
            with raw, raw.copy(f'COPY "{scratch}" ({cols}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{scratch}"')
        assert cursor.fetchone()[0] == len(rows)
        cursor.execute(f'DROP TABLE "{scratch}"')
    return seconds


def _insert_people(total: int, seed: int = 4) -> dict:
    """``total`` minimal roster rows spread over Yiwu's tier-3 units (see the module docstring)."""
    import random

    from django.db import connection, transaction
    from django.utils import timezone

    from tuanju.core.bulk import insert_rows
    from tuanju.groups.actions import bulk_session
    from tuanju.hierarchy.models import Level, OrgUnit
    from tuanju.people.importing import INSERT_COLUMNS
    from tuanju.people.models import Person

    rng = random.Random(seed)
    units = list(
        OrgUnit.objects.filter(code__startswith=YIWU, level=Level.TIER3)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    defaults = dict.fromkeys(INSERT_COLUMNS, "")
    defaults.update(
        birth_date=None,
        resident_id_enc=None,
        resident_id_bidx=None,
        phone_enc=None,
        phone_bidx=None,
        category_id=None,
        is_backbone=False,
        in_talent_pool=False,
        is_mentor=False,
        source="import",
        created_at=now,
        updated_at=now,
    )
    started = time.perf_counter()
    batch = []
    for i in range(total):
        row = dict(defaults, unit_id=rng.choice(units), name=f"青年{i}", name_pinyin="qn")
        batch.append(tuple(row[c] for c in INSERT_COLUMNS))
        if len(batch) == 50_000 or i == total - 1:
            with transaction.atomic(), bulk_session():
                insert_rows(Person._meta.db_table, INSERT_COLUMNS, batch)
            batch = []
    return {"people": total, "seconds": time.perf_counter() - started, "tier3_units": len(units)}


def worker(label: str, people: int) -> None:
    _setup_django()
    from django.core.management import call_command
    from django.db import connection

    from tuanju.demo.generator import YIWU as GEN_YIWU
    from tuanju.demo.generator import CountyPlan, county_specs
    from tuanju.demo.synth import Synth
    from tuanju.groups import actions
    from tuanju.groups.coverage import coverage
    from tuanju.groups.models import ChatGroup, GroupMember
    from tuanju.hierarchy import actions as hierarchy
    from tuanju.hierarchy.models import OrgUnit

    out: dict = {"db": label}
    print(f"[{label}] migrate…", flush=True)
    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    hierarchy.load_divisions(["330000"])
    yiwu = OrgUnit.objects.get(code=GEN_YIWU)
    hierarchy.bulk_insert(yiwu, county_specs(CountyPlan(GEN_YIWU, 152, 3467, 33455), Synth(1)))
    out["setup_units_s"] = time.perf_counter() - t0
    print(f"[{label}] units: {OrgUnit.objects.count():,} in {out['setup_units_s']:.1f} s", flush=True)
    out["setup_people"] = _insert_people(people)
    print(
        f"[{label}] people: {people:,} minimal rows in {out['setup_people']['seconds']:.1f} s (setup, direct insert_rows)",
        flush=True,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    yiwu = OrgUnit.objects.get(code=YIWU)
    cpu = time.process_time()
    built = actions.build_towers(yiwu)
    build_cpu = time.process_time() - cpu
    groups = ChatGroup.objects.count()
    group_columns = list(actions._GROUP_COLUMNS)  # column names are the fields' attnames
    group_rows = list(ChatGroup.objects.order_by("pk").values_list(*group_columns))
    out["build"] = {
        "groups": groups,
        "seconds": built.seconds,
        "groups_per_s": groups / built.seconds,
        "cpu_s": build_cpu,
        "by_level": built.created_by_level,
        "raw_s": _raw_insert(ChatGroup._meta.db_table, group_columns, group_rows),
    }
    out["build"]["ratio"] = built.seconds / out["build"]["raw_s"]
    print(
        f"[{label}] build_towers: {groups:,} groups in {built.seconds:.2f} s "
        f"(raw {out['build']['raw_s']:.2f} s, {out['build']['ratio']:.1f}x)",
        flush=True,
    )

    cpu = time.process_time()
    placed = actions.place_people(yiwu)
    place_cpu = time.process_time() - cpu
    members = GroupMember.objects.count()
    member_columns = ["group_id", "person_id", "joined_on", "source", "is_primary"]
    member_rows = list(GroupMember.objects.order_by("pk").values_list(*member_columns))
    out["place"] = {
        "memberships": members,
        "seconds": placed.seconds,
        "rows_per_s": members / placed.seconds,
        "cpu_s": place_cpu,
        "raw_s": _raw_insert(GroupMember._meta.db_table, member_columns, member_rows),
    }
    del member_rows
    out["place"]["ratio"] = placed.seconds / out["place"]["raw_s"]
    print(
        f"[{label}] place_people: {members:,} memberships in {placed.seconds:.2f} s "
        f"(raw {out['place']['raw_s']:.2f} s, {out['place']['ratio']:.1f}x)",
        flush=True,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    again = actions.build_towers(yiwu)
    again_place = actions.place_people(yiwu)
    out["again"] = {
        "build_s": again.seconds,
        "build_created": again.created,
        "place_s": again_place.seconds,
        "place_added": again_place.placed,
    }
    print(
        f"[{label}] again (idempotent): build {again.seconds:.2f} s ({again.created} new), "
        f"place {again_place.seconds:.2f} s ({again_place.placed} new)",
        flush=True,
    )

    city = OrgUnit.objects.get(code=CITY)
    t0 = time.perf_counter()
    cov = coverage(city)
    cold = time.perf_counter() - t0
    samples, cpu_samples = [], []
    for _ in range(5):
        t0, c0 = time.perf_counter(), time.process_time()
        cov = coverage(city)
        samples.append(time.perf_counter() - t0)
        cpu_samples.append(time.process_time() - c0)
    t = cov.total
    out["coverage"] = {
        "cold_s": cold,
        "median_s": statistics.median(samples),
        "max_s": max(samples),
        "cpu_median_s": statistics.median(cpu_samples),
        "units": t.units,
        "groups": t.groups,
        "roster": t.roster,
        "placed": t.placed,
        "units_without_group": t.units_without_group,
        "groups_without_liaison": t.groups_without_liaison,
        "by_level": {level: [tally.groups, tally.units] for level, tally in cov.by_level.items()},
        "children": len(cov.children),
    }
    print(
        f"[{label}] coverage(金华市): cold {cold:.3f} s, median {out['coverage']['median_s']:.3f} s — "
        f"{t.groups:,}/{t.units:,} groups, {t.placed:,}/{t.roster:,} people in groups, "
        f"{t.groups_without_liaison:,} groups without liaison",
        flush=True,
    )
    out["load_avg"] = os.getloadavg()[0]
    out["peak_rss_mb"] = _peak_mb()
    print(RESULT_MARK + json.dumps(out, ensure_ascii=False), flush=True)


# --- driver ----------------------------------------------------------------------------------------


def _run(label: str, env: dict, people: int) -> dict | None:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--worker", label, "--people", str(people)],
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


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "TUANJU_VAR_DIR"}}
    env.update(DJANGO_SETTINGS_MODULE="tuanju.settings", LOG_LEVEL="WARNING", PYTHONDONTWRITEBYTECODE="1")
    return env


def bench_sqlite(people: int) -> dict | None:
    with tempfile.TemporaryDirectory(prefix="tuanju-bench-") as var_dir:
        env = _env()
        env["TUANJU_VAR_DIR"] = var_dir
        return _run("sqlite", env, people)


def bench_postgres(people: int) -> dict | None:
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
            env = _env()
            env["DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_BENCH_DB
            with tempfile.TemporaryDirectory(prefix="tuanju-bench-") as var_dir:
                env["TUANJU_VAR_DIR"] = var_dir
                return _run("postgresql", env, people)
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def summary(results: list[dict]) -> None:
    print("\n=== bench/towers.py summary ===")
    header = (
        f"{'db':<11}{'groups':>8}{'build s':>9}{'raw s':>8}{'ratio':>7}"
        f"{'members':>11}{'place s':>9}{'rows/s':>10}{'raw s':>8}{'ratio':>7}"
        f"{'again s':>9}{'cover cold':>11}{'cover med':>10}{'peak MB':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        b, p, a, c = r["build"], r["place"], r["again"], r["coverage"]
        print(
            f"{r['db']:<11}{b['groups']:>8,}{b['seconds']:>9.2f}{b['raw_s']:>8.2f}{b['ratio']:>6.1f}x"
            f"{p['memberships']:>11,}{p['seconds']:>9.2f}{p['rows_per_s']:>10,.0f}{p['raw_s']:>8.2f}{p['ratio']:>6.1f}x"
            f"{a['build_s'] + a['place_s']:>9.2f}{c['cold_s']:>11.3f}{c['median_s']:>10.3f}{r['peak_rss_mb']:>9.0f}"
        )
    for r in results:
        cpu = (
            "in-process CPU (the SQLite engine runs in the process)"
            if r["db"] == "sqlite"
            else "client CPU only"
        )
        print(
            f"{r['db']}: CPU seconds — build {r['build']['cpu_s']:.2f}, place {r['place']['cpu_s']:.2f}, "
            f"coverage median {r['coverage']['cpu_median_s']:.3f} ({cpu}); 1-min load average at the end "
            f"{r['load_avg']:.1f} on {os.cpu_count()} cores"
        )
    for r in results:
        c = r["coverage"]
        verdict = "OK" if c["cold_s"] < 1 and c["median_s"] < 1 else "OVER 1 s"
        print(
            f"{r['db']}: coverage of 金华市 {verdict} — {c['groups']:,}/{c['units']:,} groups by level "
            f"{c['by_level']}, {c['placed']:,}/{c['roster']:,} people in groups, "
            f"{c['units_without_group']} units without group, {c['groups_without_liaison']:,} groups without liaison"
        )
    print(
        "ratio = the operation / the same rows inserted raw (executemany / COPY) into a scratch copy of the"
        " table with the same indexes and foreign keys. place_people also reads the million-row roster and"
        " updates 37,074 groups' counters; the baseline only writes. People are minimal rows written"
        " directly (setup, not measured here)."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker")
    parser.add_argument("--people", type=int, default=1_005_000)
    parser.add_argument("--db", default="sqlite,postgresql")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.people)
        return 0
    started = time.perf_counter()
    wanted = {d.strip() for d in args.db.split(",")}
    results = []
    if "sqlite" in wanted:
        results.append(bench_sqlite(args.people))
    if "postgresql" in wanted:
        results.append(bench_postgres(args.people))
    results = [r for r in results if r is not None]
    if results:
        summary(results)
    print(f"\nbench/towers.py: {time.perf_counter() - started:.0f} s")
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
