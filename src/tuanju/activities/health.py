"""Activity-frequency health (seed 002: every organization holds at least one activity every 1–2
months): organizations and communities without a held activity in the last 1 and 2 months
(``ACTIVITY_HEALTH_MONTHS``), flagged and rolled up per child unit.

An organization's activities include the alliance activities it led as the duty society, the
same rule as the 四有 "有活动" criterion (activities/hooks.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from tuanju.groups.models import Community
from tuanju.hierarchy.models import OrgUnit
from tuanju.organizations.models import Organization, months_before

from . import conf
from .models import Activity


@dataclass
class Entity:
    kind: str  # "organization" | "community"
    pk: int
    name: str
    unit_name: str
    unit_path: str
    last: datetime | None
    flags: dict[int, bool] = field(default_factory=dict)  # months → no activity within

    @property
    def last_date(self) -> date | None:
        return timezone.localtime(self.last).date() if self.last else None

    @property
    def worst(self) -> int | None:
        flagged = [m for m, bad in self.flags.items() if bad]
        return max(flagged) if flagged else None


@dataclass
class Row:
    unit: OrgUnit | None
    organizations: int = 0
    communities: int = 0
    org_flags: dict[int, int] = field(default_factory=dict)
    community_flags: dict[int, int] = field(default_factory=dict)


def _last_held(column: str):
    held = Activity.objects.held().filter(**{column: OuterRef("pk")}).order_by().values(column)
    return Subquery(held.annotate(last=Max("starts_at")).values("last")[:1])


def entities(user, unit: OrgUnit, *, today: date | None = None) -> list[Entity]:
    """Every active organization and every community of ``unit``'s subtree (within the user's
    scope) with its last held activity and its flags."""
    today = today or timezone.localdate()
    months = conf.health_months()
    cutoffs = {m: months_before(today, m) for m in months}
    orgs = (
        Organization.objects.visible_to(user)
        .in_subtree(unit)
        .filter(is_active=True)
        .annotate(own=_last_held("organization"), duty=_last_held("duty_organization"))
        .values_list("pk", "name", "unit__name", "unit__path", "own", "duty")
    )
    found = []
    for pk, name, unit_name, path, own, duty in orgs.iterator(chunk_size=2000):
        last = max([d for d in (own, duty) if d is not None], default=None)
        found.append(Entity("organization", pk, name, unit_name, path, last))
    communities = (
        Community.objects.visible_to(user)
        .in_subtree(unit)
        .annotate(last=_last_held("community"))
        .values_list("pk", "name", "unit__name", "unit__path", "last")
    )
    for pk, name, unit_name, path, last in communities:
        found.append(Entity("community", pk, name, unit_name, path, last))
    for entity in found:
        last = entity.last_date
        entity.flags = {m: last is None or last < cutoffs[m] for m in months}
    return found


def rollup(unit: OrgUnit, found: list[Entity]) -> tuple[Row, list[Row]]:
    """Totals and flag counts for ``unit`` and per child unit (entities on the unit itself count
    in the total only)."""
    months = conf.health_months()
    children = list(OrgUnit.objects.filter(path__startswith=unit.path, depth=unit.depth + 1).order_by("path"))
    width = len(unit.path) + OrgUnit.steplen
    rows = {
        c.path: Row(c, org_flags=dict.fromkeys(months, 0), community_flags=dict.fromkeys(months, 0))
        for c in children
    }
    total = Row(unit, org_flags=dict.fromkeys(months, 0), community_flags=dict.fromkeys(months, 0))
    for entity in found:
        targets = [total]
        child = rows.get(entity.unit_path[:width])
        if child is not None:
            targets.append(child)
        for row in targets:
            flags = row.org_flags if entity.kind == "organization" else row.community_flags
            if entity.kind == "organization":
                row.organizations += 1
            else:
                row.communities += 1
            for m, bad in entity.flags.items():
                flags[m] += bad
    return total, [r for r in rows.values() if r.organizations or r.communities]


def unit_flags(user, unit: OrgUnit, *, today: date | None = None) -> dict:
    """A compact summary for other pages (dashboards, the weekly ledger): flagged counts per threshold."""
    total, _rows = rollup(unit, entities(user, unit, today=today))
    return {
        "organizations": total.organizations,
        "communities": total.communities,
        "org_flags": total.org_flags,
        "community_flags": total.community_flags,
    }
