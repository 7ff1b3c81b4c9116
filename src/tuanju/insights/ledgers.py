"""The weekly ledger (周台账): which units keep one, its fields, its computed figures, and the board
a parent unit reads (who submitted, who is late, who is missing).

Weeks run Monday to Sunday. Each active ``LedgerSchema`` names a level whose units keep a ledger
with the schema's fields; the periodic task opens the week's ledgers and fills their computed
figures from the weekly ``PeriodStat`` of each unit (the same figures as the dashboards); a cadre
confirms them, adds the reported figures and the text, and submits. A ledger submitted after
its due time is late; one still not submitted after it is missing. Both show on the parent's board.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tuanju.hierarchy.models import LEVEL_ORDER, OrgUnit

from . import aggregates
from .models import Ledger, LedgerSchema, LedgerStatus, Period, PeriodStat, week_start


@dataclass(frozen=True)
class LedgerField:
    key: str
    label: object
    flow: str = ""  # the weekly figure it is computed from ("" = reported by the cadre)
    kind: str = "int"  # int | hours


#: The standard fields a schema can pick from (seed 002's ledger: people found, contacts, …).
STANDARD_FIELDS = [
    LedgerField("new_people", _("New people found"), "people.new"),
    LedgerField("contacts", _("Contacts made"), "contacts"),
    LedgerField("orgs_added", _("Organizations added"), "orgs.new"),
    LedgerField("activities", _("Activities held"), "activities.held"),
    LedgerField("volunteer_hours", _("Volunteer hours"), "activities.hours", kind="hours"),
    LedgerField("directives", _("Directives relayed"), "directives.relayed"),
    LedgerField("appeals_handled", _("Appeals handled"), "appeals.handled"),
    LedgerField("services", _("People served at stations"), "services"),
]
STANDARD = {f.key: f for f in STANDARD_FIELDS}
DEFAULT_FIELDS = ["new_people", "contacts", "orgs_added", "activities", "directives", "appeals_handled"]


def schema_fields(schema: LedgerSchema) -> list[LedgerField]:
    """The schema's fields in order: standard ones by key, custom ones as {key, label} (reported)."""
    out = []
    for entry in schema.fields or []:
        if isinstance(entry, str) and entry in STANDARD:
            out.append(STANDARD[entry])
        elif isinstance(entry, dict) and entry.get("key") and entry.get("label"):
            key = str(entry["key"])[:30]
            out.append(STANDARD.get(key) or LedgerField(key, str(entry["label"])[:40], kind=entry.get("kind", "int")))
    return out


def active_schemas() -> dict[str, LedgerSchema]:
    return {s.level: s for s in LedgerSchema.objects.filter(is_active=True)}


def reporting_level(unit: OrgUnit, schemas: dict[str, LedgerSchema] | None = None) -> str | None:
    """The level whose units report to ``unit``: the first ledger level below it."""
    schemas = active_schemas() if schemas is None else schemas
    below = LEVEL_ORDER[LEVEL_ORDER.index(unit.level) + 1 :]
    return next((level for level in below if level in schemas), None)


def current_week(today: date | None = None) -> date:
    return week_start(today or timezone.localdate())


def last_week(today: date | None = None) -> date:
    return current_week(today) - timedelta(days=7)


# --- computed figures -------------------------------------------------------------------------


def computed_figures(units: list[OrgUnit], start: date, fields: list[LedgerField]) -> dict[int, dict]:
    """Each unit's computed ledger figures for the week starting ``start``."""
    wanted = [f for f in fields if f.flow]
    hist = aggregates.history_levels()
    stats = dict(
        PeriodStat.objects.filter(
            unit_id__in=[u.pk for u in units if u.level in hist], period=Period.WEEK, start=start
        ).values_list("unit_id", "data")
    )
    out = {}
    for unit in units:
        data = stats.get(unit.pk)
        if data is None and unit.level not in hist:
            data = _live_week(unit, start)
        data = data or {}
        out[unit.pk] = {f.key: aggregates._number(data.get(f.flow, 0)) for f in wanted}
    return out


def _live_week(unit: OrgUnit, start: date) -> dict:
    """A small subtree below the history level: its week computed from the data directly."""
    from . import metrics

    ctx = metrics.Ctx(prefix=unit.path)
    own, _absent = aggregates.collect_flows(ctx, start, start + timedelta(days=6))
    total: dict = {}
    for days in own.values():
        for counts in days.values():
            aggregates._add(total, counts)
    return total


# --- opening and refreshing the week's ledgers ----------------------------------------------


def open_ledgers(start: date, *, schemas: dict[str, LedgerSchema] | None = None, within: OrgUnit | None = None) -> int:
    """Create the missing ledgers of the week at every active level and refresh the computed
    figures of those not yet submitted. Idempotent; returns the number created."""
    schemas = active_schemas() if schemas is None else schemas
    created = 0
    now = timezone.now()
    for level, schema in schemas.items():
        fields = schema_fields(schema)
        units = OrgUnit.objects.filter(level=level)
        if within is not None:
            units = units.filter(path__startswith=within.path)
        units = list(units.order_by("path"))
        if not units:
            continue
        existing = {
            ledger.unit_id: ledger
            for ledger in Ledger.objects.filter(week_start=start, unit__in=[u.pk for u in units])
        }
        figures = computed_figures(units, start, fields)
        new, changed = [], []
        for unit in units:
            ledger = existing.get(unit.pk)
            if ledger is None:
                new.append(
                    Ledger(
                        unit=unit,
                        week_start=start,
                        due_at=schema.due_at(start),
                        figures=figures[unit.pk],
                        computed_at=now,
                    )
                )
            elif ledger.status != LedgerStatus.SUBMITTED:
                ledger.figures, ledger.computed_at = figures[unit.pk], now
                changed.append(ledger)
        with transaction.atomic():
            Ledger.objects.bulk_create(new, batch_size=1000)
            Ledger.objects.bulk_update(changed, ["figures", "computed_at"], batch_size=1000)
        created += len(new)
    return created


# --- the parent's board -----------------------------------------------------------------------


@dataclass
class BoardRow:
    unit: OrgUnit
    ledger: Ledger | None

    @property
    def state(self) -> str:
        """submitted | late | missing | returned | open (not due yet) | absent (no ledger opened)."""
        ledger = self.ledger
        if ledger is None:
            return "absent"
        if ledger.status == LedgerStatus.SUBMITTED:
            return "late" if ledger.late else "submitted"
        if ledger.is_missing:
            return "missing"
        return "returned" if ledger.status == LedgerStatus.RETURNED else "open"

    @property
    def flagged(self) -> bool:
        return self.state in ("late", "missing", "absent")


@dataclass
class Board:
    parent: OrgUnit
    level: str | None
    start: date
    schema: LedgerSchema | None
    fields: list[LedgerField] = field(default_factory=list)
    rows: list[BoardRow] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        out = {"submitted": 0, "late": 0, "missing": 0, "open": 0, "returned": 0, "absent": 0}
        for row in self.rows:
            out[row.state] += 1
        return out

    @property
    def flagged(self) -> list[BoardRow]:
        return [row for row in self.rows if row.flagged]

    def totals(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for row in self.rows:
            if row.ledger is None:
                continue
            for f in self.fields:
                value = row.ledger.value(f.key)
                if isinstance(value, int | float):
                    out[f.key] = out.get(f.key, 0) + value
        return out


def board(parent: OrgUnit, start: date, *, level: str | None = None) -> Board:
    schemas = active_schemas()
    level = level or reporting_level(parent, schemas)
    schema = schemas.get(level) if level else None
    result = Board(parent=parent, level=level, start=start, schema=schema)
    if schema is None:
        return result
    result.fields = schema_fields(schema)
    units = list(OrgUnit.objects.filter(path__startswith=parent.path, level=level).order_by("path"))
    ledgers = {
        ledger.unit_id: ledger
        for ledger in Ledger.objects.filter(week_start=start, unit__path__startswith=parent.path, unit__level=level)
        .select_related("submitted_by")
        .order_by("id")
    }
    result.rows = [BoardRow(unit, ledgers.get(unit.pk)) for unit in units]
    return result


def flagged_counts(parent: OrgUnit, start: date) -> dict[str, int]:
    """Late and missing ledgers below ``parent`` for a week (for the dashboard's alert), one query."""
    level = reporting_level(parent)
    if level is None:
        return {}
    rows = Ledger.objects.filter(week_start=start, unit__path__startswith=parent.path, unit__level=level)
    now = timezone.now()
    return {
        "level": level,
        "total": rows.count(),
        "late": rows.filter(status=LedgerStatus.SUBMITTED, late=True).count(),
        "missing": rows.exclude(status=LedgerStatus.SUBMITTED).filter(due_at__lt=now).count(),
    }
