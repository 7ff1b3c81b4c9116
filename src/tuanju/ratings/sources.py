"""Where a liaison's measured work comes from: pluggable sources of rating metrics.

A source is a function ``(liaisons, start, end) -> {identity: {metric: value}}`` registered
for the metrics it provides. ``liaisons`` maps an identity ("p12" for roster person 12, "u3"
for staff account 3) to a ``Liaison`` (the groups it looks after). A metric with no registered
source is *not counted*: the formula leaves its weight out rather than scoring everyone zero,
and the ranking shows it as "not measured yet". A liaison for whom a source returns no value of
a metric (no directive reached their groups this period) is rated on the other metrics.

Built in: directives (C8) — acknowledgement within the service level and share reached; groups
(C5) — members added to the liaison's groups; contact log (C2) — entries by a staff liaison.

Activities run and volunteer hours organized come from the activities app once it registers
a source in its ``AppConfig.ready()``::

    from tuanju.ratings import sources

    def activity_work(liaisons, start, end):
        ...  # {identity: {"activities": n, "volunteer_hours": hours}}

    sources.register("activities", ["activities", "volunteer_hours"], activity_work)
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db.models import Count
from django.utils import timezone

from tuanju.groups.models import GroupMember
from tuanju.people.models import ContactLog


@dataclass
class Liaison:
    identity: str
    person_id: int | None = None
    user_id: int | None = None
    name: str = ""
    unit_id: int | None = None
    groups: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    kind: str  # "share" (0..1, full points at 1) or "count" (full points at the formula's target)
    unit: str = ""


METRICS: list[Metric] = [
    Metric("ack_on_time", "指令按时确认率", "share"),
    Metric("relayed", "指令送达（转发）率", "share"),
    Metric("activities", "组织活动", "count", "次"),
    Metric("members_added", "新增入群青年", "count", "人"),
    Metric("volunteer_hours", "组织志愿服务时长", "count", "小时"),
    Metric("contacts", "联系记录", "count", "条"),
]
METRIC_BY_KEY = {m.key: m for m in METRICS}

Source = Callable[[dict[str, Liaison], date, date], dict[str, dict[str, float]]]
_sources: dict[str, tuple[tuple[str, ...], Source]] = {}


def register(name: str, metrics: list[str], func: Source) -> None:
    _sources[name] = (tuple(metrics), func)


def unregister(name: str) -> None:
    _sources.pop(name, None)


def measured_metrics() -> set[str]:
    return {m for metrics, _func in _sources.values() for m in metrics}


def collect(liaisons: dict[str, Liaison], start: date, end: date) -> dict[str, dict[str, float]]:
    values: dict[str, dict[str, float]] = defaultdict(dict)
    for _name, (_metrics, func) in sorted(_sources.items()):
        for identity, data in func(liaisons, start, end).items():
            values[identity].update(data)
    return values


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def directive_work(liaisons: dict[str, Liaison], start: date, end: date) -> dict[str, dict[str, float]]:
    """Per liaison, over the directives sent in the period to the groups they look after:
    the share of (directive, group) pairs acknowledged within the service level, the share that
    reached the group (robot post or the liaison's relay), and the median minutes to acknowledge."""
    from tuanju.mobilize.models import GroupDelivery

    by_group: dict[int, list[str]] = defaultdict(list)
    for identity, liaison in liaisons.items():
        for group_id in liaison.groups:
            by_group[group_id].append(identity)
    if not by_group:
        return {}
    rows = (
        GroupDelivery.objects.filter(
            directive__sent_at__gte=_aware(start), directive__sent_at__lt=_aware(end), group_id__isnull=False
        )
        .values_list(
            "group_id", "directive__sent_at", "directive__service_seconds", "delivered_at", "acked_at"
        )
        .iterator(chunk_size=20_000)
    )
    pairs: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    delays: dict[str, list[float]] = defaultdict(list)
    for group_id, sent_at, sla, delivered_at, acked_at in rows:
        who = by_group.get(group_id)
        if not who:
            continue
        on_time = acked_at is not None and (acked_at - sent_at).total_seconds() <= (sla or 0)
        for identity in who:
            tally = pairs[identity]
            tally[0] += 1
            tally[1] += 1 if on_time else 0
            tally[2] += 1 if delivered_at is not None else 0
            if acked_at is not None:
                delays[identity].append((acked_at - sent_at).total_seconds() / 60)
    result = {}
    for identity, (n, on_time, reached) in pairs.items():
        result[identity] = {
            "ack_on_time": on_time / n,
            "relayed": reached / n,
            "directives": n,
            "ack_median_minutes": round(statistics.median(delays[identity]), 1) if delays[identity] else None,
        }
    return result


def group_work(liaisons: dict[str, Liaison], start: date, end: date) -> dict[str, dict[str, float]]:
    """Members who joined the liaison's groups in the period (placed, added or joined)."""
    by_group: dict[int, list[str]] = defaultdict(list)
    for identity, liaison in liaisons.items():
        for group_id in liaison.groups:
            by_group[group_id].append(identity)
    counts: dict[str, int] = defaultdict(int)
    group_ids = list(by_group)
    for i in range(0, len(group_ids), 5000):
        rows = (
            GroupMember.objects.filter(
                group_id__in=group_ids[i : i + 5000], joined_on__gte=start, joined_on__lt=end
            )
            .values_list("group_id")
            .order_by()
        )
        for group_id, n in rows.annotate(n=Count("pk")).values_list("group_id", "n"):
            for identity in by_group[group_id]:
                counts[identity] += n
    return {identity: {"members_added": counts.get(identity, 0)} for identity in liaisons}


def contact_work(liaisons: dict[str, Liaison], start: date, end: date) -> dict[str, dict[str, float]]:
    """Contact-log entries written by staff liaisons (roster liaisons have no staff account)."""
    users = {liaison.user_id: identity for identity, liaison in liaisons.items() if liaison.user_id}
    if not users:
        return {}
    rows = (
        ContactLog.objects.filter(cadre_id__in=list(users), contacted_on__gte=start, contacted_on__lt=end)
        .values("cadre_id")
        .annotate(n=Count("pk"))
        .values_list("cadre_id", "n")
    )
    counts = dict(rows)
    return {identity: {"contacts": counts.get(user_id, 0)} for user_id, identity in users.items()}


register("directives", ["ack_on_time", "relayed"], directive_work)
register("groups", ["members_added"], group_work)
register("contacts", ["contacts"], contact_work)
