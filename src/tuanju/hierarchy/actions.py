"""Domain operations on the unit tree. Views, commands and the API call these, never the ORM directly."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tuanju.audit.actions import record
from tuanju.core.bulk import insert_rows
from tuanju.core.text import pinyin_initials
from tuanju.hierarchy.models import DIVISION_LEVELS, LEVEL_ORDER, Level, OrgUnit, next_level

DIVISIONS_DIR = Path(__file__).resolve().parent / "data" / "china-division"
NATION_CODE = "000000"
#: Digits a generated code adds below its parent (town 9, tier-1 12, tier-2 15, tier-3 18 digits).
GENERATED_CODE_DIGITS = 3


@dataclass
class NewUnit:
    """A unit to insert in bulk: ``children`` are inserted beneath it in the same pass."""

    code: str
    name: str
    level: str
    kind: str = ""
    children: list[NewUnit] = field(default_factory=list)


def _step(n: int) -> str:
    return OrgUnit._get_path(None, 1, n)


#: The columns ``bulk_insert`` writes: every concrete OrgUnit column but the primary key.
_BULK_COLUMNS = (
    "path",
    "depth",
    "numchild",
    "code",
    "name",
    "level",
    "kind",
    "pinyin",
    "created_at",
    "updated_at",
)


def _bulk_columns() -> tuple[str, ...]:
    columns = tuple(f.column for f in OrgUnit._meta.concrete_fields if not f.primary_key)
    if set(columns) != set(_BULK_COLUMNS):
        raise ImproperlyConfigured(
            f"OrgUnit's columns changed ({', '.join(columns)}); give bulk_insert a value for each new one."
        )
    return _BULK_COLUMNS


def bulk_insert(parent: OrgUnit | None, units: Sequence[NewUnit], *, batch_size: int = 5000) -> int:
    """Insert new units (and their nested children) below ``parent`` in a few bulk statements.

    Paths are computed here rather than node by node through treebeard, and the rows go through
    the databases' fast path (COPY / executemany) rather than ``bulk_create``, whose per-value
    preparation was about three quarters of seeding a 37,000-unit tower (bench/hierarchy.py).
    As with ``bulk_create``, no ``save()`` runs and no signal is sent. Returns the number of
    units inserted.
    """
    columns = _bulk_columns()
    inserted = 0
    with transaction.atomic():
        if parent is None:
            last = OrgUnit.objects.get_last_root_node()
            start = (OrgUnit._str2int(last.path[-OrgUnit.steplen :]) if last else 0) + 1
            parent_path, depth = "", 1
        else:
            parent = OrgUnit.objects.select_for_update().get(pk=parent.pk)
            last_child = OrgUnit.objects.get_last_child(parent)
            start = (OrgUnit._str2int(last_child.path[-OrgUnit.steplen :]) if last_child else 0) + 1
            parent_path, depth = parent.path, parent.depth + 1

        # created_at / updated_at (auto_now_add / auto_now), in the column's database form.
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        level_rows: list[tuple] = []
        pending: list[tuple[str, int, Sequence[NewUnit]]] = [(parent_path, depth, units)]
        first_level = True
        while pending:
            next_pending = []
            for base_path, base_depth, specs in pending:
                offset = start if (first_level and base_path == parent_path) else 1
                for i, spec in enumerate(specs):
                    path = base_path + _step(offset + i)
                    values = {
                        "path": path,
                        "depth": base_depth,
                        "numchild": len(spec.children),
                        "code": spec.code,
                        "name": spec.name,
                        "level": str(spec.level),
                        "kind": spec.kind,
                        "pinyin": pinyin_initials(spec.name),
                        "created_at": now,
                        "updated_at": now,
                    }
                    level_rows.append(tuple(values[c] for c in columns))
                    if spec.children:
                        next_pending.append((path, base_depth + 1, spec.children))
            first_level = False
            # Database errors surface as django.db errors (IntegrityError…), as from bulk_create.
            with connection.wrap_database_errors:
                for chunk in range(0, len(level_rows), batch_size):
                    inserted += insert_rows(
                        OrgUnit._meta.db_table, columns, level_rows[chunk : chunk + batch_size]
                    )
            level_rows = []
            pending = next_pending
        if parent is not None:
            OrgUnit.objects.filter(pk=parent.pk).update(numchild=F("numchild") + len(units))
            parent.refresh_from_db()
    return inserted


def next_child_code(parent: OrgUnit) -> str:
    """The next free generated code under ``parent`` (parent code + three digits)."""
    prefix = parent.code
    codes = OrgUnit.objects.filter(
        code__startswith=prefix, code__regex=rf"^{prefix}\d{{{GENERATED_CODE_DIGITS}}}$"
    ).values_list("code", flat=True)
    used = {int(c[len(prefix) :]) for c in codes}
    n = 1
    while n in used:
        n += 1
    if n >= 10**GENERATED_CODE_DIGITS:
        raise ValidationError(_("No free code left under %(unit)s.") % {"unit": parent.name})
    return f"{prefix}{n:0{GENERATED_CODE_DIGITS}d}"


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("The name must not be empty."))
    if len(name) > 100:
        raise ValidationError(_("The name must be at most 100 characters."))
    return name


@transaction.atomic
def create_unit(*, parent: OrgUnit, name: str, kind: str = "", code: str = "", actor=None) -> OrgUnit:
    level = next_level(parent.level)
    if level is None:
        raise ValidationError(_("A tier-3 unit cannot have children."))
    name = _clean_name(name)
    if level in DIVISION_LEVELS and not code:
        raise ValidationError(_("Units at this level need their GB/T 2260 code."))
    code = (code or "").strip() or next_child_code(parent)
    if not code.isdigit() or len(code) > 32:
        raise ValidationError(_("A code is made of digits only (at most 32)."))
    if OrgUnit.objects.filter(code=code).exists():
        raise ValidationError(_("The code %(code)s is already used.") % {"code": code})
    unit = OrgUnit.objects.add_child(
        parent, {"code": code, "name": name, "level": level, "kind": (kind or "").strip()[:20]}
    )
    record(actor, "create", unit, details={"parent": parent.code, "code": code})
    return unit


@transaction.atomic
def rename_unit(unit: OrgUnit, *, name: str, kind: str | None = None, actor=None) -> OrgUnit:
    name = _clean_name(name)
    before = {"name": unit.name, "kind": unit.kind}
    unit.name = name
    if kind is not None:
        unit.kind = kind.strip()[:20]
    unit.save()
    record(actor, "rename", unit, details={"before": before, "after": {"name": unit.name, "kind": unit.kind}})
    return unit


def _check_parent_level(unit: OrgUnit, new_parent: OrgUnit) -> None:
    if LEVEL_ORDER.index(new_parent.level) + 1 != LEVEL_ORDER.index(unit.level):
        raise ValidationError(
            _("A %(level)s must sit directly below a %(parent_level)s.")
            % {
                "level": Level(unit.level).label,
                "parent_level": Level(LEVEL_ORDER[LEVEL_ORDER.index(unit.level) - 1]).label,
            }
        )


@transaction.atomic
def move_unit(unit: OrgUnit, *, new_parent: OrgUnit, actor=None) -> OrgUnit:
    if new_parent.path.startswith(unit.path):
        raise ValidationError(_("A unit cannot be moved into its own subtree."))
    _check_parent_level(unit, new_parent)
    old_parent = OrgUnit.objects.get_parent(unit)
    if old_parent and old_parent.pk == new_parent.pk:
        raise ValidationError(_("The unit already sits under %(parent)s.") % {"parent": new_parent.name})
    OrgUnit.objects.move(unit, new_parent, pos="last-child")
    unit.refresh_from_db()
    record(
        actor,
        "move",
        unit,
        details={"from": old_parent.code if old_parent else None, "to": new_parent.code},
    )
    return unit


def _repoint_references(source: OrgUnit, target: OrgUnit) -> dict[str, int]:
    """Point every foreign key that references ``source`` at ``target``, whatever app owns it."""
    moved: dict[str, int] = {}
    for rel in OrgUnit._meta.related_objects:
        if rel.one_to_one:
            if rel.related_model.objects.filter(**{rel.field.name: source}).exists():
                raise ValidationError(
                    _("%(model)s is bound one-to-one to the unit; resolve it before merging.")
                    % {"model": rel.related_model._meta.verbose_name}
                )
            continue
        if not (rel.many_to_one or rel.one_to_many) or rel.related_model is OrgUnit:
            continue
        manager = rel.related_model._base_manager
        count = manager.filter(**{rel.field.name: source}).update(**{rel.field.name: target})
        if count:
            moved[rel.related_model._meta.label_lower] = count
    return moved


@transaction.atomic
def merge_units(source: OrgUnit, *, into: OrgUnit, actor=None) -> OrgUnit:
    """Merge ``source`` into ``into``: its children move under ``into``, its records point at ``into``."""
    if source.pk == into.pk:
        raise ValidationError(_("A unit cannot be merged into itself."))
    if source.level != into.level:
        raise ValidationError(_("Only units of the same level can be merged."))
    if into.path.startswith(source.path):
        raise ValidationError(_("A unit cannot be merged into its own subtree."))
    children = list(OrgUnit.objects.get_children(source))
    for child in children:
        child.refresh_from_db()
        target = OrgUnit.objects.get(pk=into.pk)
        OrgUnit.objects.move(child, target, pos="last-child")
    source = OrgUnit.objects.get(pk=source.pk)
    moved = _repoint_references(source, into)
    summary = {"source": source.code, "source_name": source.name, "children": len(children), "records": moved}
    source.delete()
    into = OrgUnit.objects.get(pk=into.pk)
    record(actor, "merge", into, details=summary)
    return into


# --- GB/T 2260 divisions -----------------------------------------------------------------


def _read(name: str) -> list[dict]:
    return json.loads((DIVISIONS_DIR / name).read_text(encoding="utf-8"))


def divisions_version() -> str:
    return (DIVISIONS_DIR / "VERSION").read_text(encoding="utf-8").strip()


def _pad(code: str) -> str:
    return code.ljust(6, "0")


def division_specs(province_codes: Iterable[str] | None = None) -> list[NewUnit]:
    """Province → prefecture → county specs from the vendored china-division data."""
    wanted = {c[:2] for c in province_codes} if province_codes else None
    cities_by_province: dict[str, list[dict]] = {}
    for city in _read("cities.json"):
        cities_by_province.setdefault(city["provinceCode"], []).append(city)
    areas_by_city: dict[str, list[dict]] = {}
    for area in _read("areas.json"):
        areas_by_city.setdefault(area["cityCode"], []).append(area)
    specs = []
    for province in _read("provinces.json"):
        if wanted is not None and province["code"] not in wanted:
            continue
        cities = []
        for city in cities_by_province.get(province["code"], []):
            city_code = _pad(city["code"])
            # Prefecture-level cities without counties (东莞 441900, 中山 442000, 儋州 460400) are
            # listed again as their own "county" with the same code; their towns sit under the city.
            counties = [
                NewUnit(a["code"], a["name"], Level.COUNTY)
                for a in areas_by_city.get(city["code"], [])
                if a["code"] != city_code
            ]
            # Municipalities list their districts under pseudo-cities named 市辖区 / 县.
            name = province["name"] + city["name"] if city["name"] in {"市辖区", "县"} else city["name"]
            cities.append(NewUnit(city_code, name, Level.CITY, children=counties))
        specs.append(NewUnit(_pad(province["code"]), province["name"], Level.PROVINCE, children=cities))
    return specs


def real_towns(county_code: str) -> list[tuple[str, str]]:
    """(code, name) of the real towns and streets of a county, from the vendored data."""
    return [(s["code"], s["name"]) for s in _read("streets.json") if s["areaCode"] == county_code]


def _flatten(specs: Iterable[NewUnit]):
    for spec in specs:
        yield spec
        yield from _flatten(spec.children)


@transaction.atomic
def load_divisions(province_codes: Iterable[str] | None = None, *, actor=None) -> dict[str, int]:
    """Load (or refresh) the central root, provinces, prefectures and counties. Idempotent.

    Existing units keep their place and get the current name; missing ones are inserted.
    """
    nation = OrgUnit.objects.filter(code=NATION_CODE).first()
    if nation is None:
        nation = OrgUnit.objects.add_root({"code": NATION_CODE, "name": "全国", "level": Level.NATION})
    specs = division_specs(province_codes)
    existing = dict(OrgUnit.objects.filter(level__in=DIVISION_LEVELS).values_list("code", "pk"))
    renamed = 0
    for spec in _flatten(specs):
        if spec.code in existing:
            renamed += (
                OrgUnit.objects.filter(pk=existing[spec.code])
                .exclude(name=spec.name)
                .update(name=spec.name, pinyin=pinyin_initials(spec.name))
            )
    inserted = _insert_missing(nation, specs, existing)
    counts = {"inserted": inserted, "renamed": renamed, "total": OrgUnit.objects.count()}
    record(actor, "load", nation, details={"source": divisions_version(), **counts})
    return counts


def _insert_missing(parent: OrgUnit, specs: list[NewUnit], existing: dict[str, int]) -> int:
    new = [s for s in specs if s.code not in existing]
    inserted = bulk_insert(parent, new) if new else 0
    for spec in specs:
        if spec.code in existing and spec.children:
            inserted += _insert_missing(OrgUnit.objects.get(pk=existing[spec.code]), spec.children, existing)
    return inserted


def subtree_counts(unit: OrgUnit) -> dict:
    """Units below ``unit`` by level, and per child, each in one query."""
    by_level = dict(
        OrgUnit.objects.filter(path__startswith=unit.path, depth__gt=unit.depth)
        .values_list("level")
        .annotate(n=models.Count("pk"))
        .order_by()
    )
    per_child = unit.child_rollup(OrgUnit.objects.filter(depth__gt=unit.depth + 1))
    return {"by_level": by_level, "per_child_descendants": per_child}
