"""The precomputed figures behind every dashboard: rebuilt by tasks, read by page views.

``refresh(unit)`` runs every stock provider of ``insights.metrics`` over the unit's subtree (one
grouped query each), sums the per-unit counts up the tree bottom-up (each unit's counts are added
to its parent's once: linear in the number of units), and rewrites the subtree's ``UnitSnapshot``
rows in one bulk insert. The flow providers are run over a date window and bucketed into weeks
(Monday) and months for the units down to the history level (``TUANJU["INSIGHTS_HISTORY_LEVEL"]``,
tier-1 by default: below it the trend charts would cost more rows than they are worth).

A refresh of a subtree also brings its ancestors up to date: an ancestor's figures are its own
rows plus the sum of its children's snapshots, so only the units on the way to the root are read.
A page view never scans the data: it reads the unit's snapshot, its children's, and its history.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, FieldError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from tuanju.core.bulk import insert_rows
from tuanju.hierarchy.models import LEVEL_ORDER, Level, OrgUnit

from . import metrics
from .models import Period, PeriodStat, RefreshRun, UnitSnapshot, week_start

log = logging.getLogger(__name__)
STEP = OrgUnit.steplen
SKIPPED = (metrics.Unavailable, LookupError, FieldDoesNotExist, FieldError, DatabaseError, AttributeError)


def history_levels() -> set[str]:
    level = getattr(settings, "TUANJU", {}).get("INSIGHTS_HISTORY_LEVEL", Level.TIER1)
    return set(LEVEL_ORDER[: LEVEL_ORDER.index(level) + 1]) if level in LEVEL_ORDER else set(LEVEL_ORDER[:6])


def month_start(day: date) -> date:
    return day.replace(day=1)


def _number(value):
    value = float(value)
    return int(value) if value.is_integer() else round(value, 2)


def _add(into: dict, other: dict) -> None:
    for key, value in other.items():
        into[key] = into.get(key, 0) + value


# --- running the providers ----------------------------------------------------------------


def _run(provider: metrics.Provider, *args) -> list | None:
    """A provider's rows, or None when its source is missing (logged, never raised)."""
    try:
        with transaction.atomic():  # a failed query must not poison the caller's transaction
            return list(provider.func(*args))
    except SKIPPED as exc:
        log.info("insights: %s left out (%s: %s)", provider.name, type(exc).__name__, exc)
        return None


def collect_stocks(ctx: metrics.Ctx) -> tuple[dict[int, dict], list[str]]:
    own: dict[int, dict] = defaultdict(dict)
    absent = []
    for provider in metrics.STOCKS.values():
        rows = _run(provider, ctx)
        if rows is None:
            absent.append(provider.name)
            continue
        for unit_id, key, value in rows:
            if unit_id is None or not value:
                continue
            bucket = own[unit_id]
            bucket[key] = bucket.get(key, 0) + value
    return own, absent


def collect_flows(ctx: metrics.Ctx, since: date, until: date) -> tuple[dict[int, dict], list[str]]:
    """{unit_id: {day: {key: value}}} of the events in [since, until]."""
    own: dict[int, dict] = defaultdict(lambda: defaultdict(dict))
    absent = []
    for provider in metrics.FLOWS.values():
        rows = _run(provider, ctx, since, until)
        if rows is None:
            absent.append(provider.name)
            continue
        for unit_id, day, key, value in rows:
            if unit_id is None or not value:
                continue
            if hasattr(day, "date"):
                day = day.date()
            bucket = own[unit_id][day]
            bucket[key] = bucket.get(key, 0) + value
    return own, absent


# --- roll-ups -----------------------------------------------------------------------------


def rollup(units: list[tuple], own: dict[int, dict]) -> dict[int, dict]:
    """Subtree totals of every unit in ``units`` [(pk, path, depth, level)], bottom-up."""
    totals = {pk: dict(own.get(pk, {})) for pk, _path, _depth, _level in units}
    pk_of = {path: pk for pk, path, _depth, _level in units}
    for pk, path, _depth, _level in sorted(units, key=lambda u: -u[2]):
        parent = pk_of.get(path[:-STEP])
        if parent is not None:
            _add(totals[parent], totals[pk])
    return totals


def bucket_periods(days: dict[date, dict], since: date) -> dict[tuple[str, date], dict]:
    """Days → {(period, start): counts} for the weeks and months that start on or after ``since``."""
    out: dict[tuple[str, date], dict] = defaultdict(dict)
    for day, counts in days.items():
        for key in ((Period.WEEK, week_start(day)), (Period.MONTH, month_start(day))):
            if key[1] >= since:
                _add(out[key], counts)
    return out


def flow_rollup(units: list[tuple], own: dict[int, dict], since: date) -> dict[int, dict]:
    """{history unit pk: {(period, start): counts}}: every unit's events added to the history
    units on its way to the root (itself included when it is one)."""
    hist = history_levels()
    pk_of = {path: pk for pk, path, _depth, level in units if level in hist}
    path_of = {pk: path for pk, path, _depth, _level in units}
    totals: dict[int, dict] = defaultdict(lambda: defaultdict(dict))
    for unit_id, days in own.items():
        path = path_of.get(unit_id)
        if path is None:
            continue
        periods = bucket_periods(days, since)
        for cut in range(len(path), 0, -STEP):
            target = pk_of.get(path[:cut])
            if target is None:
                continue
            for key, counts in periods.items():
                _add(totals[target][key], counts)
    return totals


# --- writing ------------------------------------------------------------------------------


def _encode(data: dict) -> str:
    return json.dumps({k: _number(v) for k, v in data.items()}, ensure_ascii=False, separators=(",", ":"))


def _write_snapshots(rows: list[tuple[int, str, int, dict]], now, *, prefix: str, extra_ids=()) -> None:
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    with transaction.atomic():
        if prefix == "":
            UnitSnapshot.objects.all().delete()
        else:
            # by path (units that left the subtree) and by id (units that moved into it)
            UnitSnapshot.objects.filter(path__startswith=prefix).delete()
            moved_in = OrgUnit.objects.filter(path__startswith=prefix).values("pk")
            UnitSnapshot.objects.filter(unit_id__in=moved_in).delete()
            UnitSnapshot.objects.filter(unit_id__in=list(extra_ids)).delete()
        insert_rows(
            UnitSnapshot._meta.db_table,
            ["unit_id", "path", "depth", "data", "computed_at"],
            ((pk, path, depth, _encode(data), stamp) for pk, path, depth, data in rows),
        )


def _write_periods(rows: list[tuple[int, str, str, date, dict]], now, *, delete) -> None:
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    with transaction.atomic():
        delete()
        insert_rows(
            PeriodStat._meta.db_table,
            ["unit_id", "path", "period", "start", "data", "computed_at"],
            (
                (pk, path, period, ops.adapt_datefield_value(start), _encode(data), stamp)
                for pk, path, period, start, data in rows
                if data
            ),
        )


# --- the refresh ----------------------------------------------------------------------------


def flow_window(today: date, weeks: int = 2) -> date:
    """The first day whose periods a refresh rewrites: the last ``weeks`` weeks and the months they
    touch, and last month as long as its last week is in the window."""
    first_week = week_start(today) - timedelta(weeks=max(1, weeks) - 1)
    return min(first_week, month_start(today - timedelta(days=7)), month_start(first_week))


def refresh(
    unit: OrgUnit | None = None,
    *,
    trigger: str = "manual",
    today: date | None = None,
    weeks: int = 2,
    since: date | None = None,
) -> RefreshRun:
    """Recompute the snapshots of ``unit``'s subtree (everything when None) and its ancestors,
    and the weekly/monthly figures from ``since`` (default: the last ``weeks`` weeks)."""
    started = time.perf_counter()
    now = timezone.now()
    today = today or timezone.localdate()
    run = RefreshRun.objects.create(scope_code=unit.code if unit else "", trigger=trigger, started_at=now)
    prefix = unit.path if unit else ""
    units = list(
        OrgUnit.objects.filter(path__startswith=prefix).order_by().values_list("pk", "path", "depth", "level")
    )
    ctx = metrics.Ctx(prefix=prefix, today=today, now=now)
    own, absent = collect_stocks(ctx)
    totals = rollup(units, own)
    rows = [(pk, path, depth, totals[pk]) for pk, path, depth, _level in units]
    ancestors = unit.breadcrumb()[:-1] if unit else []
    if ancestors:
        rows.extend(_ancestor_snapshots(unit, ancestors, totals.get(unit.pk, {}), today, now))
    _write_snapshots(rows, now, prefix=prefix, extra_ids=[a.pk for a in ancestors])

    since = since or flow_window(today, weeks)
    absent_flows = refresh_flows(unit, since=since, today=today, now=now, units=units)

    run.finished_at = timezone.now()
    run.seconds = time.perf_counter() - started
    run.units = len(rows)
    run.absent = sorted(set(absent) | {f"flow:{name}" for name in absent_flows})
    run.save(update_fields=["finished_at", "seconds", "units", "absent"])
    return run


def refresh_flows(unit: OrgUnit | None, *, since: date, today: date, now, units=None) -> list[str]:
    """Rewrite the weekly/monthly figures from ``since`` of the history units of ``unit``'s subtree
    and of its ancestors. Below the history level the subtree of the nearest history ancestor is
    recomputed (its figures are the sum of all its descendants')."""
    hist = history_levels()
    root = unit
    if unit is not None and unit.level not in hist:
        candidates = [a for a in unit.breadcrumb() if a.level in hist]
        root = candidates[-1] if candidates else None
        units = None
    prefix = root.path if root else ""
    if units is None:
        units = list(
            OrgUnit.objects.filter(path__startswith=prefix).order_by().values_list("pk", "path", "depth", "level")
        )
    ctx = metrics.Ctx(prefix=prefix, today=today, now=now)
    own_flows, absent = collect_flows(ctx, since, today)
    per_unit = flow_rollup(units, own_flows, since)
    rows = [
        (pk, path, period, start, per_unit[pk][(period, start)])
        for pk, path, _depth, level in units
        if level in hist and pk in per_unit
        for (period, start) in per_unit[pk]
    ]
    scope = PeriodStat.objects.filter(path__startswith=prefix) if prefix else PeriodStat.objects.all()
    _write_periods(rows, now, delete=lambda: _delete_periods(scope, since))
    if root is not None:
        ancestors = root.breadcrumb()[:-1]
        if ancestors:
            _ancestor_periods(ancestors, since, today, now)
    return absent


def _delete_periods(queryset, since: date) -> None:
    queryset.filter(period=Period.WEEK, start__gte=since).delete()
    queryset.filter(period=Period.MONTH, start__gte=since).delete()


def _ancestor_snapshots(unit, ancestors, unit_totals: dict, today, now) -> list:
    """Each ancestor = its own rows + its children's snapshots (the child on the way down freshly
    computed), walking up from the unit's parent."""
    ctx = metrics.Ctx(exact_paths=[a.path for a in ancestors], today=today, now=now)
    own, _absent = collect_stocks(ctx)
    fresh = {unit.path: unit_totals}
    rows = []
    for ancestor in reversed(ancestors):
        width = len(ancestor.path) + STEP
        data = dict(own.get(ancestor.pk, {}))
        children = UnitSnapshot.objects.filter(path__startswith=ancestor.path, depth=ancestor.depth + 1)
        for path, child_data in children.values_list("path", "data"):
            if len(path) == width and path not in fresh:
                _add(data, child_data)
        for path, child_data in fresh.items():
            if len(path) == width:
                _add(data, child_data)
        fresh = {ancestor.path: data}
        rows.append((ancestor.pk, ancestor.path, ancestor.depth, data))
    return rows


def _ancestor_periods(ancestors, since: date, today, now) -> None:
    hist = history_levels()
    wanted = [a for a in ancestors if a.level in hist]
    if not wanted:
        return
    ctx = metrics.Ctx(exact_paths=[a.path for a in wanted], today=today, now=now)
    own_days, _absent = collect_flows(ctx, since, today)
    for ancestor in reversed(wanted):
        width = len(ancestor.path) + STEP
        periods: dict[tuple[str, date], dict] = defaultdict(dict)
        for key, counts in bucket_periods(own_days.get(ancestor.pk, {}), since).items():
            _add(periods[key], counts)
        below = PeriodStat.objects.filter(path__startswith=ancestor.path, start__gte=since).exclude(
            unit_id=ancestor.pk
        )
        for path, period, start, data in below.values_list("path", "period", "start", "data"):
            if len(path) == width:
                _add(periods[(period, start)], data)
        rows = [
            (ancestor.pk, ancestor.path, period, start, data) for (period, start), data in periods.items() if data
        ]
        _write_periods(
            rows, now, delete=lambda a=ancestor: _delete_periods(PeriodStat.objects.filter(unit_id=a.pk), since)
        )


# --- reading --------------------------------------------------------------------------------


def snapshots(unit_ids) -> dict[int, UnitSnapshot]:
    return {s.unit_id: s for s in UnitSnapshot.objects.filter(unit_id__in=list(unit_ids))}


def history(unit: OrgUnit, period: str, count: int, today: date | None = None) -> list[tuple[date, dict]]:
    """The last ``count`` weeks or months of ``unit`` (missing periods as empty dicts), oldest first."""
    today = today or timezone.localdate()
    if period == Period.WEEK:
        starts = [week_start(today) - timedelta(weeks=i) for i in range(count - 1, -1, -1)]
    else:
        first = month_start(today)
        starts = []
        for i in range(count - 1, -1, -1):
            index = first.year * 12 + first.month - 1 - i
            starts.append(date(index // 12, index % 12 + 1, 1))
    found = dict(
        PeriodStat.objects.filter(unit_id=unit.pk, period=period, start__gte=starts[0]).values_list("start", "data")
    )
    return [(start, found.get(start, {})) for start in starts]


def last_refresh() -> RefreshRun | None:
    return RefreshRun.objects.filter(finished_at__isnull=False).first()
