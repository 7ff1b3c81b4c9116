"""Benchmark: import a 1,000,000-row roster on SQLite and PostgreSQL, then export it.

    .venv/bin/python bench/roster_import.py [--rows 1000000] [--db sqlite,postgresql]

The spreadsheet is generated with the seed generator's rules (plausible names, checksum-valid
IDs) and realistic mess: a title banner, full-width digits, +86 prefixes, dates in several
text formats, ~3 % bad rows and ~1 % duplicates. For each database, in fresh processes:

* pipeline: read → normalize → validate → de-duplicate → encrypt → insert (the real import);
* baseline: the same final rows (already parsed, normalized and encrypted) written with the
  database's fastest path into an empty table of the same shape and indexes — PostgreSQL
  ``COPY``, SQLite ``executemany`` in one transaction; measured on a sample of the rows;
* export: the whole roster to a streaming xlsx.

Prints rows/s, peak memory (max RSS of the step's process) and the pipeline/baseline ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

HERE = Path(__file__).resolve()
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def make_file(path: Path, rows: int, seed: int = 7) -> dict:
    """A messy 花名册 with ``rows`` data rows; returns how many rows should be rejected."""
    _common.django_setup()
    import xlsxwriter

    from tuanju.demo.synth import Synth

    synth = Synth(seed)
    rng = synth.rng
    today = date(2026, 11, 1)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    sheet = workbook.add_worksheet("花名册")
    sheet.merge_range(0, 0, 0, 8, "义乌市新兴领域青年花名册")
    sheet.write_row(
        1,
        0,
        [
            "序号",
            "姓名",
            "公民身份号码",
            "手机号码",
            "性别",
            "出生年月日",
            "政治面貌",
            "群体类别",
            "工作单位/平台",
        ],
    )
    categories = ["外卖骑手", "快递员", "网约车司机", "网络主播", "短视频创作者", "电商从业者", "自由撰稿人"]
    statuses = ["群众", "团员", "共青团员", "中共党员", "预备党员"]
    bad = dups = 0
    recent: list[list] = []
    for i in range(rows):
        p = synth.person("330782", today=today)
        rid, phone = p.resident_id, p.phone
        born = p.birth_date
        roll = rng.random()
        if roll < 0.01 and recent:  # an earlier row typed in again
            sheet.write_row(i + 2, 0, [i + 1, *rng.choice(recent)])
            dups += 1
            continue
        elif roll < 0.02:  # wrong check digit
            rid = rid[:17] + ("0" if rid[17] != "0" else "1")
            bad += 1
        elif roll < 0.03:  # a phone with a digit missing
            phone = phone[:10]
            bad += 1
        elif roll < 0.04:  # an impossible date
            born = None
            bad += 1
        style = i % 5
        if style == 1:
            phone = "+86 " + phone
        elif style == 2:
            rid = rid.translate(FULLWIDTH)
        elif style == 3:
            phone = phone[:3] + "-" + phone[3:7] + "-" + phone[7:]
        if born is None:
            born_text = "1999年13月40日"
        elif style == 4:
            born_text = f"{born.year}.{born.month}.{born.day}"
        elif style == 2:
            born_text = f"{born.year}年{born.month}月{born.day}日"
        else:
            born_text = born.isoformat()
        cells = [p.name, rid, phone, "男" if p.gender == "M" else "女", born_text, rng.choice(statuses),
                 rng.choice(categories), "美团"]
        sheet.write_row(i + 2, 0, [i + 1, *cells])
        if i % 50 == 0 and roll >= 0.04:
            recent.append(cells)
            if len(recent) > 1000:
                recent.pop(0)
    workbook.close()
    return {"rows": rows, "bad": bad, "duplicates": dups}


def step_import(args) -> dict:
    _common.django_setup()
    _common.migrate()
    from tuanju.hierarchy import actions as hierarchy
    from tuanju.hierarchy.models import OrgUnit
    from tuanju.imports.actions import run_file

    hierarchy.load_divisions(["33"])
    unit = OrgUnit.objects.get(code="330782")
    started = time.perf_counter()
    summary = run_file("roster", Path(args.file), unit, report_path=Path(args.workdir) / "report.xlsx")
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows_per_s": summary.total / seconds,
        "peak_mb": _common.peak_rss_mb(),
        **summary.as_dict(),
    }


def step_baseline(args) -> dict:
    """The fastest honest path for the same final rows: COPY / executemany into an empty twin table."""
    _common.django_setup()
    from django.db import connection, transaction

    from tuanju.core.bulk import insert_rows
    from tuanju.people.importing import INSERT_COLUMNS
    from tuanju.people.models import Person

    table = Person._meta.db_table
    columns = ", ".join(INSERT_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} ORDER BY id LIMIT %s", [args.sample])  # noqa: S608
        rows = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in cursor.fetchall()]
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608
    started = time.perf_counter()
    with transaction.atomic():
        insert_rows(table, INSERT_COLUMNS, rows)
    seconds = time.perf_counter() - started
    return {
        "rows": len(rows),
        "seconds": seconds,
        "rows_per_s": len(rows) / seconds,
        "peak_mb": _common.peak_rss_mb(),
    }


def step_export(args) -> dict:
    _common.django_setup()
    from tuanju.hierarchy.models import OrgUnit
    from tuanju.people.exporting import export_roster
    from tuanju.people.models import Person

    class Operator:
        is_authenticated = False
        can_unmask = False

    unit = OrgUnit.objects.get(code="330782")
    started = time.perf_counter()
    count = export_roster(
        Person.objects.in_subtree(unit),
        str(Path(args.workdir) / "export.xlsx"),
        actor=Operator(),
        unmask=False,
    )
    seconds = time.perf_counter() - started
    return {
        "rows": count,
        "seconds": seconds,
        "rows_per_s": count / seconds,
        "peak_mb": _common.peak_rss_mb(),
    }


STEPS = {"import": step_import, "baseline": step_baseline, "export": step_export}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--sample", type=int, default=200_000, help="rows in the baseline sample")
    parser.add_argument("--step", choices=sorted(STEPS))
    parser.add_argument("--file")
    parser.add_argument("--workdir")
    args = parser.parse_args()
    if args.step:
        print(json.dumps(STEPS[args.step](args)))
        return

    cache = _common.ROOT / "var" / "bench"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"roster_{args.rows}.xlsx"
    meta_path = path.with_suffix(".json")
    if not path.exists() or not meta_path.exists():
        started = time.perf_counter()
        meta = make_file(path, args.rows)
        meta["generate_s"] = time.perf_counter() - started
        meta_path.write_text(json.dumps(meta))
    meta = json.loads(meta_path.read_text())
    print(
        f"file: {path.name}, {meta['rows']:,} rows ({path.stat().st_size / 1048576:.0f} MB), "
        f"{meta['bad']:,} bad and {meta['duplicates']:,} duplicate rows planted"
    )

    results = {}
    for db in args.db.split(","):
        if db == "postgresql" and not _common.pg_available():
            print("PostgreSQL not reachable; skipped")
            continue
        work = _common.workdir()
        env = _common.database_env(db, work)
        common = ["--file", str(path), "--workdir", str(work)]
        imp = _common.run_step(HERE, ["--step", "import", *common], env)
        base = _common.run_step(
            HERE, ["--step", "baseline", "--sample", str(min(args.sample, imp["created"])), *common], env
        )
        env_export = dict(env)
        # the baseline step emptied the table: import again for the export
        _common.run_step(HERE, ["--step", "import", *common], env_export)
        exp = _common.run_step(HERE, ["--step", "export", *common], env_export)
        results[db] = (imp, base, exp)
        assert imp["created"] + imp["updated"] + imp["unchanged"] + imp["rejected"] == imp["total"]
        print(f"\n== {db}")
        print(
            f"import   {imp['total']:>9,} rows in {imp['seconds']:6.1f} s = {imp['rows_per_s']:>9,.0f} rows/s, "
            f"peak {imp['peak_mb']:,.0f} MB  (created {imp['created']:,}, rejected {imp['rejected']:,}, "
            f"duplicates {imp['duplicates_in_file']:,})"
        )
        print(
            f"baseline {base['rows']:>9,} rows in {base['seconds']:6.1f} s = {base['rows_per_s']:>9,.0f} rows/s "
            f"({'COPY' if db == 'postgresql' else 'executemany, one transaction'})"
        )
        print(f"ratio    pipeline / baseline throughput = {imp['rows_per_s'] / base['rows_per_s']:.1%}")
        print(
            f"export   {exp['rows']:>9,} rows in {exp['seconds']:6.1f} s = {exp['rows_per_s']:>9,.0f} rows/s, "
            f"peak {exp['peak_mb']:,.0f} MB"
        )
    print(
        "\nsummary:",
        json.dumps(
            {
                db: {
                    "import_rows_per_s": round(r[0]["rows_per_s"]),
                    "import_s": round(r[0]["seconds"], 1),
                    "import_peak_mb": round(r[0]["peak_mb"]),
                    "baseline_rows_per_s": round(r[1]["rows_per_s"]),
                    "ratio": round(r[0]["rows_per_s"] / r[1]["rows_per_s"], 3),
                    "export_rows_per_s": round(r[2]["rows_per_s"]),
                    "export_peak_mb": round(r[2]["peak_mb"]),
                }
                for db, r in results.items()
            }
        ),
    )


if __name__ == "__main__":
    main()
