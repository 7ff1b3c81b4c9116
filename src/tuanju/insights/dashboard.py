"""What one dashboard shows, built from the precomputed snapshots and period figures only.

A page reads: the unit's snapshot and its children's (one query), its weekly and monthly history
(two queries), the latest ranking of the units reporting to it, the week's ledger flags and the
open tasks — a fixed handful of indexed queries whatever the size of the subtree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tuanju.hierarchy.models import OrgUnit

from . import aggregates, ledgers, metrics, scoring
from .models import AssignmentStatus, Period, TaskAssignment, TaskStatus

#: Units whose boundary file has another name than their code.
MAP_ALIASES = {"000000": "100000"}
#: Keys that look like people.ps.<value>: how to show the value.
LABELS = {
    "people.ps.": "tuanju.people.models.PoliticalStatus",
    "people.g.": "tuanju.people.models.Gender",
}


def fmt(value, kind: str = "int") -> str:
    if value is None:
        return "—"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "hours":
        return f"{value:,.1f}"
    return f"{round(value):,}"


def map_file(unit: OrgUnit) -> str | None:
    """The vendored boundary file of ``unit``'s children (its GeoJSON), if one exists."""
    code = MAP_ALIASES.get(unit.code, unit.code)
    for directory in settings.STATICFILES_DIRS:
        if (Path(directory) / "vendor" / "china-map" / f"{code}.json").exists():
            return static(f"vendor/china-map/{code}.json")
    return None


def _choices(dotted: str) -> dict:
    module, _sep, name = dotted.rpartition(".")
    try:
        from importlib import import_module

        return dict(getattr(import_module(module), name).choices)
    except (ImportError, AttributeError):
        return {}


@dataclass
class Card:
    figure: metrics.Figure
    value: float | None
    text: str
    link: str | None
    detail: str = ""


@dataclass
class ChildRow:
    unit: OrgUnit
    values: dict
    texts: list
    lagging: bool = False
    evaluation: object = None
    has_data: bool = True


@dataclass
class Dashboard:
    unit: OrgUnit
    computed_at: object
    sections: list = field(default_factory=list)
    children: list = field(default_factory=list)
    child_columns: list = field(default_factory=list)
    charts: dict = field(default_factory=dict)
    ranking: list = field(default_factory=list)
    scheme: object = None
    ledger_flags: dict = field(default_factory=dict)
    tasks: dict = field(default_factory=dict)
    map_url: str | None = None
    empty: bool = False


def _card(figure: metrics.Figure, data: dict, unit: OrgUnit) -> Card:
    value = figure.value(data)
    detail = ""
    if figure.is_rate:
        detail = f"{fmt(data.get(figure.num, 0))} / {fmt(data.get(figure.den, 0))}"
    return Card(figure, value, fmt(value, figure.fmt), figure.link(unit) if figure.link else None, detail)


def breakdown(data: dict, prefix: str) -> list[tuple[str, float]]:
    labels = {}
    for key, dotted in LABELS.items():
        if key == prefix:
            labels = _choices(dotted)
    rows = []
    for key, value in data.items():
        if key.startswith(prefix) and value:
            raw = key[len(prefix) :]
            name = _("Not recorded") if raw == "_none" else str(labels.get(raw, raw))
            rows.append((raw, name, value))
    rows.sort(key=lambda r: -r[2])
    return rows


def _pie_link(urlname: str, unit: OrgUnit, params: dict) -> str | None:
    try:
        url = reverse(urlname)
    except NoReverseMatch:
        return None
    from urllib.parse import urlencode

    return f"{url}?{urlencode({'unit': unit.code, **params})}"


def build(unit: OrgUnit, user, *, today=None) -> Dashboard:
    today = today or timezone.localdate()
    children = list(OrgUnit.objects.filter(path__startswith=unit.path, depth=unit.depth + 1).order_by("path"))
    snaps = aggregates.snapshots([unit.pk] + [c.pk for c in children])
    own = snaps.get(unit.pk)
    data = own.data if own else {}
    board = Dashboard(unit=unit, computed_at=own.computed_at if own else None, empty=own is None)

    # KPI cards by section, only the figures whose source exists
    for key, title in metrics.SECTIONS:
        cards = [_card(f, data, unit) for f in metrics.FIGURES if f.section == key and f.available(data)]
        if cards:
            board.sections.append((key, title, cards))

    # children table, breakdown chart and map
    columns = [metrics.FIGURES_BY_KEY[k] for k in metrics.CHILD_FIGURES if metrics.FIGURES_BY_KEY[k].available(data)]
    board.child_columns = columns
    scheme, ranking = scoring.latest(unit)
    board.scheme, board.ranking = scheme, ranking
    lagging = {e.unit_id: e for e in ranking}
    for child in children:
        child_data = snaps[child.pk].data if child.pk in snaps else {}
        values = {f.key: f.value(child_data) for f in columns}
        board.children.append(
            ChildRow(
                unit=child,
                values=values,
                texts=[fmt(values[f.key], f.fmt) for f in columns],
                lagging=bool(lagging.get(child.pk) and lagging[child.pk].lagging),
                evaluation=lagging.get(child.pk),
                has_data=child.pk in snaps,
            )
        )
    board.map_url = map_file(unit) if children else None
    board.charts["children"] = {
        "units": [{"name": r.unit.name, "code": r.unit.code, "url": reverse("insights:unit", args=[r.unit.code])} for r in board.children],
        "metrics": [
            {
                "key": f.key,
                "label": str(f.label),
                "fmt": f.fmt,
                "values": [r.values[f.key] for r in board.children],
            }
            for f in columns
        ],
    }

    # pies
    pies = []
    for prefix, title, params, urlname in metrics.BREAKDOWNS:
        rows = breakdown(data, prefix)
        if rows:
            pies.append(
                {
                    "key": prefix.rstrip("."),
                    "title": str(title),
                    "slices": [
                        {"name": name, "value": value, "url": _pie_link(urlname, unit, params(raw) if raw != "_none" else {})}
                        for raw, name, value in rows[:12]
                    ],
                }
            )
    board.charts["pies"] = pies

    # trends
    weeks = aggregates.history(unit, Period.WEEK, 26, today)
    months = aggregates.history(unit, Period.MONTH, 12, today)
    board.charts["trends"] = {
        "week": _series([(s.strftime("%m-%d"), d) for s, d in weeks]),
        "month": _series([(s.strftime("%Y-%m"), d) for s, d in months]),
    }
    board.charts["ledger"] = _ledger_series(weeks)

    # ledger flags of last week and the tasks in progress
    board.ledger_flags = ledgers.flagged_counts(unit, ledgers.last_week(today))
    assignments = TaskAssignment.objects.filter(unit__path__startswith=unit.path, task__status=TaskStatus.OPEN)
    board.tasks = {
        "open": assignments.exclude(status=AssignmentStatus.DONE).count(),
        "overdue": assignments.overdue().count(),
    }
    return board


def _series(history: list[tuple[str, dict]]) -> dict:
    labels = [label for label, _d in history]
    series = []
    for key, title in metrics.TREND_SERIES:
        values = [d.get(key, 0) for _l, d in history]
        if any(values):
            series.append({"key": key, "name": str(title), "values": values})
    return {"labels": labels, "series": series}


def _ledger_series(weeks: list) -> dict:
    labels = [s.strftime("%m-%d") for s, _d in weeks]
    series = []
    for f in ledgers.STANDARD_FIELDS:
        values = [d.get(f"ledger.{f.key}", 0) for _s, d in weeks]
        if any(values):
            series.append({"key": f.key, "name": str(f.label), "values": values})
    submitted = [d.get("ledger.submitted", 0) for _s, d in weeks]
    late = [d.get("ledger.late", 0) for _s, d in weeks]
    return {"labels": labels, "series": series, "submitted": submitted, "late": late, "late_label": _("Late ledgers")}


def summary(unit: OrgUnit) -> dict:
    """The API's view: every available figure of the unit and of each child (raw values)."""
    children = list(OrgUnit.objects.filter(path__startswith=unit.path, depth=unit.depth + 1).order_by("path"))
    snaps = aggregates.snapshots([unit.pk] + [c.pk for c in children])

    def figures(data: dict) -> dict:
        return {f.key: f.value(data) for f in metrics.FIGURES if f.available(data)}

    own = snaps.get(unit.pk)
    data = own.data if own else {}
    return {
        "unit": {"code": unit.code, "name": unit.name, "level": unit.level},
        "computed_at": own.computed_at.isoformat() if own else None,
        "figures": figures(data),
        "counts": data,
        "children": [
            {
                "code": c.code,
                "name": c.name,
                "level": c.level,
                "figures": figures(snaps[c.pk].data) if c.pk in snaps else {},
            }
            for c in children
        ],
    }
