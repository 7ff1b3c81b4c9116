"""Live reach of a directive under a unit: per child unit and per tower level, how many groups and
people were delivered, opened, acknowledged, signed up — and against the service level.

Two grouped queries, whatever the size: group deliveries grouped by (child unit, level), and
receipts grouped by (unit, home group) — the second is at most one row per tower unit, so a
million receipts come back as ~37,000 rows that are rolled up here. A person counts as delivered
when their home group was delivered, or a text message or e-mail reached them, or they opened
their link. Results are cached for a few seconds per directive and root (the page polls).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.core.cache import cache
from django.db.models import Count, F, Q
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tuanju.hierarchy.models import TOWER_LEVELS, Level, OrgUnit

from . import conf
from .models import DeliveryState, Directive, GroupDelivery, Receipt

STEP = OrgUnit.steplen


@dataclass
class Tally:
    groups: int = 0
    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    relay_waiting: int = 0
    opened: int = 0
    acked: int = 0
    acked_in_time: int = 0
    people: int = 0
    people_delivered: int = 0
    people_opened: int = 0
    people_acked: int = 0
    signed_up: int = 0

    def add(self, other: Tally) -> None:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)

    @staticmethod
    def _pct(part: int, whole: int) -> float | None:
        return round(100.0 * part / whole, 1) if whole else None

    @property
    def delivered_pct(self):
        return self._pct(self.delivered, self.groups)

    @property
    def acked_pct(self):
        return self._pct(self.acked, self.groups)

    @property
    def opened_pct(self):
        return self._pct(self.opened, self.groups)

    @property
    def people_delivered_pct(self):
        return self._pct(self.people_delivered, self.people)

    @property
    def people_opened_pct(self):
        return self._pct(self.people_opened, self.people)

    @property
    def people_acked_pct(self):
        return self._pct(self.people_acked, self.people)

    @property
    def silent_groups(self) -> int:
        return self.groups - self.acked

    @property
    def silent_people(self) -> int:
        return self.people - self.people_acked


@dataclass
class ChildRow:
    unit: OrgUnit
    tally: Tally


@dataclass
class Reach:
    directive_id: int
    root: OrgUnit
    total: Tally
    children: list[ChildRow]
    by_level: list[tuple[str, str, Tally]]
    computed_at: datetime
    curve: list[tuple[int, float]] = field(default_factory=list)


def sla_state(directive: Directive, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    if not directive.sent_at:
        return {"started": False}
    elapsed = (now - directive.sent_at).total_seconds()
    sla = directive.sla_seconds
    return {
        "started": True,
        "elapsed": max(0, int(elapsed)),
        "sla": sla,
        "remaining": int(sla - elapsed),
        "over": elapsed > sla,
        "share": min(100.0, round(100 * elapsed / sla, 1)) if sla else None,
        "deadline": directive.deadline,
        "attempted_in": int((directive.attempted_at - directive.sent_at).total_seconds())
        if directive.attempted_at
        else None,
    }


def _group_rows(directive: Directive, root: OrgUnit, width: int):
    in_time = Q(acked_at__lte=directive.deadline) if directive.deadline else Q(acked_at__isnull=False)
    return (
        GroupDelivery.objects.filter(directive=directive, unit__path__startswith=root.path)
        .annotate(child=Substr(F("unit__path"), 1, width))
        .values("child", "level")
        .annotate(
            groups=Count("pk"),
            attempted=Count("attempted_at"),
            delivered=Count("delivered_at"),
            failed=Count("pk", filter=Q(state=DeliveryState.FAILED)),
            relay_waiting=Count("pk", filter=Q(state=DeliveryState.RELAY)),
            opened=Count("opened_at"),
            acked=Count("acked_at"),
            acked_in_time=Count("pk", filter=in_time),
        )
        .order_by()
    )


def _unit_paths(root: OrgUnit) -> dict[int, str]:
    key = f"mob:unitpaths:{root.pk}:{root.path}"
    paths = cache.get(key)
    if paths is None:
        paths = dict(OrgUnit.objects.filter(path__startswith=root.path).values_list("pk", "path"))
        cache.set(key, paths, 300)
    return paths


def compute(directive: Directive, root: OrgUnit) -> Reach:
    width = len(root.path) + STEP
    children_units = list(
        OrgUnit.objects.filter(path__startswith=root.path, depth=root.depth + 1).order_by("path")
    )
    child_tally: dict[str, Tally] = {}
    levels: dict[str, Tally] = {}
    for row in _group_rows(directive, root, width):
        t = Tally(
            **{
                k: row[k]
                for k in (
                    "groups",
                    "attempted",
                    "delivered",
                    "failed",
                    "relay_waiting",
                    "opened",
                    "acked",
                    "acked_in_time",
                )
            }
        )
        child_tally.setdefault(row["child"], Tally()).add(t)
        levels.setdefault(row["level"] or "other", Tally()).add(t)
    delivered_groups = set(
        GroupDelivery.objects.filter(
            directive=directive, unit__path__startswith=root.path, delivered_at__isnull=False
        ).values_list("group_id", flat=True)
    )
    paths = _unit_paths(root)
    receipts = Receipt.objects.filter(directive=directive)
    if root.pk != directive.unit_id:
        # Under the sending unit every receipt counts (community members may live elsewhere).
        receipts = receipts.filter(
            unit_id__in=OrgUnit.objects.filter(path__startswith=root.path).values("pk")
        )
    rows = (
        receipts.values("unit_id", "group_id")
        .annotate(
            n=Count("pk"),
            direct=Count("pk", filter=Q(delivered_at__isnull=False) | Q(opened_at__isnull=False)),
            opened=Count("opened_at"),
            acked=Count("acked_at"),
            signed=Count("signed_up_at"),
        )
        .order_by()
    )
    for row in rows:
        path = paths.get(row["unit_id"], "")
        child = path[:width]
        t = Tally(
            people=row["n"],
            people_delivered=row["n"] if row["group_id"] in delivered_groups else row["direct"],
            people_opened=row["opened"],
            people_acked=row["acked"],
            signed_up=row["signed"],
        )
        child_tally.setdefault(child, Tally()).add(t)
    total = Tally()
    for t in child_tally.values():
        total.add(t)
    children = [ChildRow(unit, child_tally.get(unit.path, Tally())) for unit in children_units]
    children = [row for row in children if row.tally.groups or row.tally.people]
    own = child_tally.get(root.path)
    if own and (own.groups or own.people):
        children.insert(0, ChildRow(root, own))
    by_level = []
    for level in (*TOWER_LEVELS, "other"):
        if level in levels:
            label = (
                Level(level).label if level != "other" else _("Organization, alliance and community groups")
            )
            by_level.append((level, label, levels[level]))
    return Reach(
        directive.pk, root, total, children, by_level, timezone.now(), curve=ack_curve(directive, root)
    )


def ack_curve(directive: Directive, root: OrgUnit, points: int = 24) -> list[tuple[int, float]]:
    """Share of the root's groups acknowledged over time: [(seconds after sending, percent)]."""
    if not directive.sent_at:
        return []
    qs = GroupDelivery.objects.filter(directive=directive, unit__path__startswith=root.path)
    total = qs.count()
    if not total:
        return []
    start = directive.sent_at
    end = max(timezone.now(), start)
    span = max(directive.sla_seconds, (end - start).total_seconds())
    span = min(span, (end - start).total_seconds()) or directive.sla_seconds
    times = sorted(
        (t - start).total_seconds()
        for t in qs.filter(acked_at__isnull=False).values_list("acked_at", flat=True)
    )
    curve = []
    i = 0
    for k in range(1, points + 1):
        edge = span * k / points
        while i < len(times) and times[i] <= edge:
            i += 1
        curve.append((int(edge), round(100.0 * i / total, 1)))
    return curve


def cached(directive: Directive, root: OrgUnit, *, fresh: bool = False) -> Reach:
    key = f"mob:reach:{directive.pk}:{root.pk}"
    if not fresh:
        hit = cache.get(key)
        if hit is not None:
            return hit
    result = compute(directive, root)
    cache.set(key, result, int(conf.get("REACH_CACHE_SECONDS")))
    if root.pk == directive.unit_id:
        Directive.objects.filter(pk=directive.pk).update(
            reach_totals=totals_dict(result.total), reach_at=result.computed_at
        )
    return result


def totals_dict(t: Tally) -> dict:
    data = asdict(t)
    data.update(acked_pct=t.acked_pct, delivered_pct=t.delivered_pct, people_acked_pct=t.people_acked_pct)
    return data
