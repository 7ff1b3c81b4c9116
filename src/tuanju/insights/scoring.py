"""Evaluation and ranking (评价): a parent unit scores the units that report to it, each week.

A ``ScoringScheme`` weighs criteria, each a share in [0, 1] read from the unit's snapshot or its
ledgers:

* coverage — roster in tower groups (or, without a roster, units with a group);
* activity — organizations that held an activity this month (or, while activities are not
  counted, organizations passing 四有);
* reach — directive deliveries acknowledged;
* appeals — appeals handled on time and rated satisfied (the mean of the two known);
* ledger — the last four weekly ledgers submitted on time.

A criterion a unit has no data for is left out of its score (the other weights are rescaled).
Units are ranked by score; a unit is lagging when its score is below the scheme's threshold or it
is in the bottom share (10 % by default, rounded to the nearest unit). Each week's result is kept,
so the history of a unit's score and rank is a plain query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tuanju.hierarchy.models import OrgUnit

from . import aggregates, ledgers
from .models import Evaluation, Ledger, LedgerStatus, ScoringScheme


@dataclass(frozen=True)
class Criterion:
    key: str
    label: object


CRITERIA = [
    Criterion("coverage", _("Coverage")),
    Criterion("activity", _("Activity")),
    Criterion("reach", _("Reach")),
    Criterion("appeals", _("Appeals")),
    Criterion("ledger", _("Ledger on time")),
]
CRITERIA_BY_KEY = {c.key: c for c in CRITERIA}
DEFAULT_WEIGHTS = {"coverage": 25, "activity": 25, "reach": 20, "appeals": 20, "ledger": 10}
#: A criterion below this share is named as a reason when the unit is lagging.
WEAK = 0.5


def _share(num, den):
    return (num or 0) / den if den else None


def criteria_values(data: dict, ledger_on_time: float | None) -> dict[str, float | None]:
    coverage = _share(data.get("groups.placed"), data.get("people.total"))
    if coverage is None:
        coverage = _share(data.get("groups.tower"), data.get("units.tower"))
    if "orgs.active_month" in data or ("orgs.total" in data and "orgs.four_have" not in data):
        activity = _share(data.get("orgs.active_month"), data.get("orgs.total"))
    else:
        activity = _share(data.get("orgs.four_have"), data.get("orgs.total"))
    reach = _share(data.get("directives.acked"), data.get("directives.deliveries"))
    parts = [
        v
        for v in (
            _share(data.get("appeals.on_time"), data.get("appeals.done")),
            _share(data.get("appeals.satisfied"), data.get("appeals.rated")),
        )
        if v is not None
    ]
    appeals = sum(parts) / len(parts) if parts else None
    values = {"coverage": coverage, "activity": activity, "reach": reach, "appeals": appeals, "ledger": ledger_on_time}
    return {k: (min(1.0, max(0.0, v)) if v is not None else None) for k, v in values.items()}


def score(values: dict[str, float | None], weights: dict[str, float]) -> float:
    used = [(weights.get(k, 0) or 0, v) for k, v in values.items() if v is not None and weights.get(k)]
    total = sum(w for w, _v in used)
    return round(100 * sum(w * v for w, v in used) / total, 1) if total else 0.0


def bottom_count(total: int, share: float) -> int:
    return int(total * share + 0.5)


def default_scheme(unit: OrgUnit, level: str) -> ScoringScheme:
    scheme = ScoringScheme.objects.filter(unit=unit, level=level, is_active=True).first()
    if scheme is None:
        scheme = ScoringScheme.objects.create(
            unit=unit, level=level, name=f"{unit.name}周评价", weights=dict(DEFAULT_WEIGHTS)
        )
    return scheme


def ledger_punctuality(unit_ids: list[int], start: date, weeks: int = 4) -> dict[int, float]:
    """Share of the ``weeks`` ledgers up to the week ``start`` submitted on time, per unit."""
    first = start - timedelta(weeks=weeks - 1)
    rows = Ledger.objects.filter(unit_id__in=unit_ids, week_start__gte=first, week_start__lte=start)
    counts: dict[int, list[int]] = {}
    for unit_id, status, late in rows.values_list("unit_id", "status", "late"):
        entry = counts.setdefault(unit_id, [0, 0])
        entry[1] += 1
        if status == LedgerStatus.SUBMITTED and not late:
            entry[0] += 1
    return {unit_id: on_time / total for unit_id, (on_time, total) in counts.items() if total}


def evaluate(scheme: ScoringScheme, start: date) -> list[Evaluation]:
    """Score, rank and flag the scheme's units for the week starting ``start``; replaces that week."""
    units = list(OrgUnit.objects.filter(path__startswith=scheme.unit.path, level=scheme.level).order_by("path"))
    snaps = aggregates.snapshots(u.pk for u in units)
    punctual = ledger_punctuality([u.pk for u in units], start)
    scored = []
    for unit in units:
        data = snaps[unit.pk].data if unit.pk in snaps else {}
        values = criteria_values(data, punctual.get(unit.pk))
        scored.append((unit, score(values, scheme.weights or DEFAULT_WEIGHTS), values))
    scored.sort(key=lambda row: (-row[1], row[0].path))
    total = len(scored)
    cut = bottom_count(total, scheme.bottom_share)
    now = timezone.now()
    results = []
    for index, (unit, value, values) in enumerate(scored):
        rank = index + 1
        reasons = []
        if value < scheme.threshold:
            reasons.append("below_threshold")
        if cut and rank > total - cut:
            reasons.append("bottom_share")
        if reasons:
            reasons += [k for k, v in values.items() if v is not None and v < WEAK]
            if all(v is None for v in values.values()):
                reasons.append("no_data")
        results.append(
            Evaluation(
                scheme=scheme,
                unit=unit,
                period_start=start,
                score=value,
                rank=rank,
                total=total,
                lagging="below_threshold" in reasons or "bottom_share" in reasons,
                values={k: (round(v, 4) if v is not None else None) for k, v in values.items()},
                reasons=reasons,
                computed_at=now,
            )
        )
    with transaction.atomic():
        Evaluation.objects.filter(scheme=scheme, period_start=start).delete()
        Evaluation.objects.bulk_create(results)
    return results


def evaluate_all(start: date) -> int:
    """Evaluate every unit that has units reporting to it (schemes created with default weights)."""
    schemas = ledgers.active_schemas()
    count = 0
    parents = OrgUnit.objects.filter(level__in=_parent_levels(schemas)).order_by("path")
    for parent in parents:
        level = ledgers.reporting_level(parent, schemas)
        if level is None or not OrgUnit.objects.filter(path__startswith=parent.path, level=level).exists():
            continue
        count += len(evaluate(default_scheme(parent, level), start))
    for scheme in ScoringScheme.objects.filter(is_active=True).exclude(
        evaluations__period_start=start
    ).select_related("unit"):
        count += len(evaluate(scheme, start))
    return count


def _parent_levels(schemas) -> list[str]:
    from tuanju.hierarchy.models import LEVEL_ORDER

    levels = set()
    for level in schemas:
        index = LEVEL_ORDER.index(level)
        if index:
            levels.add(LEVEL_ORDER[index - 1])
    return sorted(levels)


def latest(parent: OrgUnit, level: str | None = None) -> tuple[ScoringScheme | None, list[Evaluation]]:
    """The most recent ranking of the units reporting to ``parent``."""
    schemes = ScoringScheme.objects.filter(unit=parent, is_active=True)
    if level:
        schemes = schemes.filter(level=level)
    scheme = schemes.first()
    if scheme is None:
        return None, []
    last = Evaluation.objects.filter(scheme=scheme).order_by("-period_start").values_list("period_start", flat=True).first()
    if last is None:
        return scheme, []
    rows = list(Evaluation.objects.filter(scheme=scheme, period_start=last).select_related("unit").order_by("rank"))
    return scheme, rows
