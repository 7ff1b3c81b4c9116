"""The one place every capability adds its demo and benchmark data.

``build_world(scale, seed)`` is deterministic: the real divisions of Zhejiang down to county,
the real towns of Yiwu (and, at demo scale, Dongyang), and generated tower units below them
in the proportions of seed 004 (Yiwu: 152 + 3,467 + 33,455 units). Later capabilities add
their data by extending ``build_world`` with a step of their own.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.db import transaction

from tuanju.accounts.models import Role, User
from tuanju.demo.synth import Synth
from tuanju.hierarchy import actions as hierarchy
from tuanju.hierarchy.actions import NewUnit
from tuanju.hierarchy.models import Level, OrgUnit

log = logging.getLogger(__name__)

PROVINCE = "330000"  # 浙江省
CITY = "330700"  # 金华市
YIWU = "330782"  # 义乌市
DONGYANG = "330783"  # 东阳市
DEMO_PASSWORD = "Tuanju-demo-2026"  # noqa: S105 - printed by `make demo` on purpose


@dataclass(frozen=True)
class CountyPlan:
    code: str
    tier1: int
    tier2: int
    tier3: int


SCALES: dict[str, list[CountyPlan]] = {
    "demo": [CountyPlan(YIWU, 20, 60, 240), CountyPlan(DONGYANG, 18, 36, 108)],
    "county": [CountyPlan(YIWU, 152, 800, 4000)],
    "yiwu": [CountyPlan(YIWU, 152, 3467, 33455)],
}

TIER1_KINDS = (("村", "村", 0.55), ("社区", "社区", 0.38), ("园区", "工业园区", 0.07))
TIER2_KINDS = {"村": ("自然村", "自然村"), "社区": ("小区", "小区"), "园区": ("企业区块", "区块")}
TIER3_KINDS = {"村": "村民小组", "社区": "楼道单元", "园区": "车间班组"}


def _tier1_kind(synth: Synth) -> tuple[str, str]:
    roll = synth.rng.random()
    for kind, suffix, share in TIER1_KINDS:
        if roll < share:
            return kind, suffix
        roll -= share
    return TIER1_KINDS[0][:2]


def _tier3_name(kind: str, index: int) -> str:
    if kind == "村":
        return f"第{index}村民小组"
    if kind == "社区":
        return f"{(index - 1) // 4 + 1}幢{(index - 1) % 4 + 1}单元"
    return f"第{index}车间班组"


def county_specs(plan: CountyPlan, synth: Synth) -> list[NewUnit]:
    """Towns (real names and codes) with generated tier-1/2/3 units below them."""
    towns = hierarchy.real_towns(plan.code)
    per_town = synth.split(plan.tier1, len(towns))
    tier2_per_tier1 = synth.split(plan.tier2, plan.tier1)
    tier3_per_tier2 = synth.split(plan.tier3, plan.tier2)
    t1 = t2 = 0
    specs = []
    for (town_code, town_name), n_tier1 in zip(towns, per_town, strict=True):
        town = NewUnit(town_code, town_name, Level.TOWN, kind="镇" if town_name.endswith("镇") else "街道")
        for i in range(1, n_tier1 + 1):
            kind, suffix = _tier1_kind(synth)
            tier1 = NewUnit(f"{town_code}{i:03d}", synth.place() + suffix, Level.TIER1, kind=kind)
            kind2, suffix2 = TIER2_KINDS[kind]
            for j in range(1, tier2_per_tier1[t1] + 1):
                tier2 = NewUnit(f"{tier1.code}{j:03d}", synth.place() + suffix2, Level.TIER2, kind=kind2)
                for k in range(1, tier3_per_tier2[t2] + 1):
                    tier2.children.append(
                        NewUnit(
                            f"{tier2.code}{k:03d}", _tier3_name(kind, k), Level.TIER3, kind=TIER3_KINDS[kind]
                        )
                    )
                tier1.children.append(tier2)
                t2 += 1
            town.children.append(tier1)
            t1 += 1
        specs.append(town)
    return specs


def ensure_staff(username: str, unit_code: str, role: str, full_name: str) -> User:
    unit = OrgUnit.objects.get(code=unit_code)
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, first_name=full_name)
    user.unit, user.role, user.first_name, user.is_active = unit, role, full_name, True
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user


DEMO_STAFF = [
    ("jinhua_admin", CITY, Role.ADMIN, "金华市团委管理员"),
    ("yiwu_cadre", YIWU, Role.CADRE, "义乌市团委干部"),
    ("dongyang_cadre", DONGYANG, Role.CADRE, "东阳市团委干部"),
    ("yiwu_viewer", YIWU, Role.VIEWER, "义乌市只读账号"),
]


def build_world(scale: str = "demo", seed: int = 1, *, echo=print) -> dict:
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    synth = Synth(seed)
    timings = {}
    started = time.perf_counter()
    hierarchy.load_divisions([PROVINCE])
    timings["divisions"] = time.perf_counter() - started
    for plan in SCALES[scale]:
        county = OrgUnit.objects.get(code=plan.code)
        if county.numchild:
            echo(f"{county.name} already has units below it; keeping them.")
            continue
        t0 = time.perf_counter()
        with transaction.atomic():
            inserted = hierarchy.bulk_insert(county, county_specs(plan, synth))
        timings[f"units_{plan.code}"] = time.perf_counter() - t0
        echo(f"{county.name}: {inserted} units in {timings[f'units_{plan.code}']:.1f} s")
    for username, code, role, full_name in DEMO_STAFF:
        if OrgUnit.objects.filter(code=code).exists():
            ensure_staff(username, code, role, full_name)
    timings["total"] = time.perf_counter() - started
    return {"scale": scale, "seed": seed, "units": OrgUnit.objects.count(), "timings": timings}
