"""Benchmark: organization member counts rolled up to every unit of a Yiwu-scale tree.

    .venv/bin/python bench/org_rollup.py [--orgs 10000] [--members 500000] [--db sqlite,postgresql]

For each database, in a fresh process and database: Zhejiang's divisions and Yiwu's tower
(152 + 3,467 + 33,455 generated units below the real towns, ``generator.county_specs``), a pool
of young people (100,000 bare roster rows — the counts never read them, and a million would
only slow the set-up), 10,000 organizations spread over the tree and 500,000 individual
memberships, all through ``tuanju.core.bulk.insert_rows`` (COPY / executemany). Then, timed
(median of several runs, after a warm-up):

* rollup: ``organizations.actions.member_rollup(yiwu)`` — organizations, individual and group
  members for EVERY unit of the subtree (each unit's own figures added to all its ancestors);
* baseline: the fastest honest single SQL aggregate over the same rows — memberships of
  active organizations grouped by the organization's unit (one row per unit holding
  organizations, not yet rolled up);
* by_unit: the "by unit" page's figures (``actions.by_unit``: the county's towns, with 四有
  failures, members, projects and absorption counts).

Prints the times and the rollup / baseline ratio, and checks that the rolled-up county total
equals the number of memberships.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

HERE = Path(__file__).resolve()
PEOPLE = 100_000
REPEATS = 7


def _median_time(fn, repeats: int = REPEATS) -> tuple[float, object]:
    fn()  # warm-up: connection, statement and page caches
    samples, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def _people_rows(county, units: list[int], count: int, rng):
    """Bare roster rows: a name and a unit; every other column empty."""
    from django.utils import timezone

    from tuanju.people.importing import INSERT_COLUMNS

    now = timezone.now()
    defaults = {
        "name": "青年",
        "name_pinyin": "qn",
        "gender": "",
        "birth_date": None,
        "resident_id_enc": None,
        "resident_id_bidx": None,
        "resident_id_masked": "",
        "phone_enc": None,
        "phone_bidx": None,
        "phone_masked": "",
        "phone_last4": "",
        "political_status": "",
        "category_id": None,
        "is_backbone": False,
        "in_talent_pool": False,
        "is_mentor": False,
        "source": "import",
        "created_at": now,
        "updated_at": now,
    }
    for _ in range(count):
        values = dict(defaults, unit_id=rng.choice(units))
        yield tuple(values.get(column, "") for column in INSERT_COLUMNS)


def step_run(args) -> dict:
    _common.django_setup()
    _common.migrate()
    from django.db import connection, transaction
    from django.utils import timezone

    from tuanju.core.bulk import insert_rows
    from tuanju.demo import generator
    from tuanju.demo.synth import Synth
    from tuanju.hierarchy import actions as hierarchy
    from tuanju.hierarchy.models import OrgUnit
    from tuanju.organizations import actions
    from tuanju.organizations.models import GroupMembership, Membership, Organization, OrgType
    from tuanju.people.importing import INSERT_COLUMNS
    from tuanju.people.models import Person

    result: dict = {}
    synth = Synth(11)
    rng = synth.rng
    hierarchy.load_divisions(["33"])
    yiwu = OrgUnit.objects.get(code=generator.YIWU)
    plan = generator.SCALES["yiwu"][0]
    with _common.timer(result, "setup_units_s"), transaction.atomic():
        hierarchy.bulk_insert(yiwu, generator.county_specs(plan, synth))
    units = list(OrgUnit.objects.in_subtree(yiwu).values_list("pk", "level"))
    result["units"] = len(units)
    # Organizations sit mostly on towns and tier-1 units, some lower down, a few on the county.
    by_level: dict[str, list[int]] = {}
    for pk, level in units:
        by_level.setdefault(level, []).append(pk)

    def org_unit() -> int:
        roll = rng.random()
        if roll < 0.05:
            return yiwu.pk
        if roll < 0.35:
            return rng.choice(by_level["town"])
        if roll < 0.75:
            return rng.choice(by_level["tier1"])
        if roll < 0.92:
            return rng.choice(by_level["tier2"])
        return rng.choice(by_level["tier3"])

    with _common.timer(result, "setup_people_s"), transaction.atomic():
        insert_rows(Person._meta.db_table, INSERT_COLUMNS, _people_rows(yiwu, by_level["tier3"], PEOPLE, rng))
    person_ids = list(Person.objects.values_list("pk", flat=True))
    types = list(OrgType.objects.values_list("pk", flat=True))
    now = timezone.now()
    org_fields = [f for f in Organization._meta.concrete_fields if not f.primary_key]
    org_values = {
        "name_pinyin": "",
        "registration_status": "unregistered",
        "uscc": None,
        "founded_on": None,
        "charter": "",
        "introduction": "",
        "venue": "",
        "contact_name": "",
        "contact_phone_enc": None,
        "contact_phone_bidx": None,
        "contact_phone_masked": "",
        "leader_id": None,
        "logo": "",
        "is_league_affiliated": True,
        "is_incubation_base": False,
        "is_cloud_resident": False,
        "is_active": True,
        "created_at": now,
        "updated_at": now,
    }
    columns = [f.column for f in org_fields]
    rows = []
    for n in range(args.orgs):
        values = dict(
            org_values,
            unit_id=org_unit(),
            name=f"青年社会组织{n:05d}",
            org_type_id=rng.choice(types),
            venue="青年之家" if rng.random() < 0.8 else "",
            leader_id=rng.choice(person_ids) if rng.random() < 0.85 else None,
            is_active=rng.random() < 0.97,
        )
        rows.append(tuple(values[c] for c in columns))
    with _common.timer(result, "setup_orgs_s"), transaction.atomic():
        insert_rows(Organization._meta.db_table, columns, rows)
    org_ids = list(Organization.objects.values_list("pk", flat=True))
    per_org = args.members // len(org_ids)
    extra = args.members - per_org * len(org_ids)
    joined = timezone.localdate()

    def membership_rows():
        for i, org_id in enumerate(org_ids):
            size = per_org + (1 if i < extra else 0)
            for person_id in rng.sample(person_ids, size):
                yield (org_id, person_id, "member", joined, None)

    with _common.timer(result, "setup_members_s"), transaction.atomic():
        result["memberships"] = insert_rows(
            Membership._meta.db_table,
            ["organization_id", "person_id", "role", "joined_on", "left_on"],
            membership_rows(),
        )
    groups = [(rng.choice(org_ids), rng.choice(org_ids), joined, None) for _ in range(5000)]
    groups = list({(a, b): (a, b, d, e) for a, b, d, e in groups if a != b}.values())
    with transaction.atomic():
        result["group_memberships"] = insert_rows(
            GroupMembership._meta.db_table, ["organization_id", "member_id", "joined_on", "left_on"], groups
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    # --- timed ---------------------------------------------------------------------------
    membership_table = connection.ops.quote_name(Membership._meta.db_table)
    org_table = connection.ops.quote_name(Organization._meta.db_table)
    unit_table = connection.ops.quote_name(OrgUnit._meta.db_table)
    baseline_sql = (
        f"SELECT o.unit_id, COUNT(*) FROM {membership_table} m "  # noqa: S608 - table names only
        f"JOIN {org_table} o ON o.id = m.organization_id "
        f"JOIN {unit_table} u ON u.id = o.unit_id "
        "WHERE m.left_on IS NULL AND o.is_active AND u.path LIKE %s GROUP BY o.unit_id"
    )

    def baseline():
        with connection.cursor() as cursor:
            cursor.execute(baseline_sql, [yiwu.path + "%"])
            return cursor.fetchall()

    def rollup():
        return actions.member_rollup(yiwu)

    def every_unit():
        """The rollup completed with a zero for every unit without organizations."""
        totals = actions.member_rollup(yiwu)
        empty = {"organizations": 0, "members": 0, "group_members": 0}
        return {
            path: totals.get(path, empty)
            for path in OrgUnit.objects.in_subtree(yiwu).values_list("path", flat=True)
        }

    # Interleave so both see the same cache state.
    result["baseline_s"], base_rows = _median_time(baseline)
    result["rollup_s"], totals = _median_time(rollup)
    result["every_unit_s"], full = _median_time(every_unit, repeats=3)
    result["by_unit_s"], (total, _rows) = _median_time(
        lambda: actions.by_unit(yiwu, Organization.objects.all()), repeats=3
    )
    direct = sum(n for _unit, n in base_rows)
    active_members = Membership.objects.filter(organization__is_active=True, left_on__isnull=True).count()
    assert totals[yiwu.path]["members"] == direct == active_members == total.members, (
        totals[yiwu.path],
        direct,
        active_members,
        total.members,
    )
    result["units_with_figures"] = len(totals)
    result["units_reported"] = len(full)
    result["baseline_rows"] = len(base_rows)
    result["county_members"] = totals[yiwu.path]["members"]
    result["county_organizations"] = totals[yiwu.path]["organizations"]
    result["peak_mb"] = _common.peak_rss_mb()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=500_000)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--step", choices=["run"])
    args = parser.parse_args()
    if args.step:
        print(json.dumps(step_run(args)))
        return
    summary = {}
    for db in args.db.split(","):
        if db == "postgresql" and not _common.pg_available():
            print("PostgreSQL not reachable; skipped")
            continue
        work = _common.workdir()
        env = _common.database_env("sqlite", work)  # a private var dir; then our own PostgreSQL database
        if db == "postgresql":
            env["DATABASE_URL"] = _common.recreate_pg_database("tuanju_bench_orgs")
        r = _common.run_step(
            HERE, ["--step", "run", "--orgs", str(args.orgs), "--members", str(args.members)], env
        )
        summary[db] = r
        print(f"\n== {db}")
        print(
            f"tree     {r['units']:,} units; {r['county_organizations']:,} active organizations, "
            f"{r['memberships']:,} memberships ({r['county_members']:,} of active organizations), "
            f"{r['group_memberships']:,} group memberships"
        )
        print(
            f"set-up   units {r['setup_units_s']:.1f} s, people {r['setup_people_s']:.1f} s, "
            f"organizations {r['setup_orgs_s']:.1f} s, memberships {r['setup_members_s']:.1f} s"
        )
        print(
            f"baseline {r['baseline_s'] * 1000:8.1f} ms  one SQL aggregate: members per unit holding organizations "
            f"({r['baseline_rows']:,} rows, not rolled up)"
        )
        print(
            f"rollup   {r['rollup_s'] * 1000:8.1f} ms  member_rollup: organizations, members and group members "
            f"rolled up to all {r['units_with_figures']:,} units that have any"
        )
        print(f"ratio    rollup / baseline = {r['rollup_s'] / r['baseline_s']:.2f}x")
        print(
            f"all      {r['every_unit_s'] * 1000:8.1f} ms  the same, listed for every one of the {r['units_reported']:,} units"
        )
        print(
            f"by_unit  {r['by_unit_s'] * 1000:8.1f} ms  the 'by unit' page's figures for the county's towns"
        )
        print(f"peak     {r['peak_mb']:,.0f} MB")
    print(
        "\nsummary:",
        json.dumps(
            {
                db: {
                    "baseline_ms": round(r["baseline_s"] * 1000, 1),
                    "rollup_ms": round(r["rollup_s"] * 1000, 1),
                    "ratio": round(r["rollup_s"] / r["baseline_s"], 2),
                    "every_unit_ms": round(r["every_unit_s"] * 1000, 1),
                    "by_unit_ms": round(r["by_unit_s"] * 1000, 1),
                }
                for db, r in summary.items()
            }
        ),
    )


if __name__ == "__main__":
    main()
