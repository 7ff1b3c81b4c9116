"""Shared helpers of the groups and communities tests (no tests here)."""

from __future__ import annotations

from datetime import date

from django.core.cache import cache

from tuanju.core import idcard
from tuanju.hierarchy import actions as hierarchy
from tuanju.hierarchy.actions import NewUnit
from tuanju.hierarchy.models import Level, OrgUnit
from tuanju.people import actions as people_actions
from tuanju.people.models import Person

#: Yiwu's tower units in the fixture: 2 tier-1, 3 tier-2, 4 tier-3 (9); Dongyang's: 1 + 1.
YIWU_TOWER = 9
DONGYANG_TOWER = 2


def make_tower(world) -> dict[str, OrgUnit]:
    """Add tower units under 江东街道 (Yiwu) and 吴宁街道 (Dongyang) to the conftest world."""
    hierarchy.bulk_insert(
        OrgUnit.objects.get(code="330782002"),
        [
            NewUnit(
                "330782002001",
                "青口村",
                Level.TIER1,
                kind="村",
                children=[
                    NewUnit(
                        "330782002001001",
                        "上村",
                        Level.TIER2,
                        children=[
                            NewUnit("330782002001001001", "第1村民小组", Level.TIER3),
                            NewUnit("330782002001001002", "第2村民小组", Level.TIER3),
                        ],
                    ),
                    NewUnit(
                        "330782002001002",
                        "下村",
                        Level.TIER2,
                        children=[NewUnit("330782002001002001", "第1村民小组", Level.TIER3)],
                    ),
                ],
            )
        ],
    )
    hierarchy.bulk_insert(
        OrgUnit.objects.get(code="330783001"),
        [
            NewUnit(
                "330783001001",
                "吴宁社区",
                Level.TIER1,
                children=[NewUnit("330783001001001", "东岘小区", Level.TIER2)],
            )
        ],
    )
    return {unit.code: unit for unit in OrgUnit.objects.all()}


def resident_id(region: str, n: int, *, male: bool = True) -> str:
    return idcard.make(region, date(1995, 1, 1 + n % 28), n, male=male)


def add_person(
    unit: OrgUnit, name: str, *, resident_id: str | None = None, phone: str | None = None
) -> Person:
    data = {"unit": unit, "name": name}
    if resident_id:
        data.update(birth_date=idcard.birth_date(resident_id), gender=idcard.gender(resident_id))
    return people_actions.save_person(Person(), data=data, resident_id=resident_id, phone=phone, actor=None)


def clear_cache() -> None:
    cache.clear()
