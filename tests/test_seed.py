"""The demo world: deterministic, idempotent, a sound tree, usable logins, valid synthetic people."""

import functools
import io
import json
from collections import Counter
from datetime import date

import pytest
from django.core.management import call_command

from tuanju.accounts.models import User
from tuanju.core import idcard
from tuanju.demo import generator
from tuanju.demo.synth import Synth
from tuanju.hierarchy import actions as hierarchy_actions
from tuanju.hierarchy.models import LEVEL_ORDER, TOWER_LEVELS, Level, OrgUnit

NO_PROBLEMS = ([], [], [], [], [])


@pytest.fixture(autouse=True)
def _read_towns_once(monkeypatch):
    """The vendored street list is 4 MB of JSON; read it once per test, not once per call."""
    monkeypatch.setattr(hierarchy_actions, "real_towns", functools.cache(hierarchy_actions.real_towns))


def seed(*args) -> dict:
    out = io.StringIO()
    call_command("seed", "--scale", "demo", *args, stdout=out)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def snapshot() -> list[tuple]:
    return list(
        OrgUnit.objects.order_by("path").values_list("path", "code", "name", "level", "kind", "numchild")
    )


def flatten(specs):
    for spec in specs:
        yield spec
        yield from flatten(spec.children)


def generated_units(scale: str = "demo", seed: int = 1) -> dict[str, tuple[str, str, str]]:
    """What ``build_world`` generates below the counties, computed without a database."""
    synth = Synth(seed)
    return {
        spec.code: (spec.name, str(spec.level), spec.kind)
        for plan in generator.SCALES[scale]
        for spec in flatten(generator.county_specs(plan, synth))
    }


def test_generated_tree_is_a_function_of_the_seed():
    expected = generated_units(seed=1)
    assert generated_units(seed=1) == expected
    assert generated_units(seed=2) != expected
    assert len(expected) == sum(
        len(hierarchy_actions.real_towns(p.code)) + p.tier1 + p.tier2 + p.tier3
        for p in generator.SCALES["demo"]
    )


def check_tree_shape() -> None:
    """Counts per level as planned, real towns, codes and levels nested one step per depth."""
    for plan in generator.SCALES["demo"]:
        county = OrgUnit.objects.get(code=plan.code)
        below = OrgUnit.objects.filter(path__startswith=county.path)
        assert below.filter(level=Level.TIER1).count() == plan.tier1
        assert below.filter(level=Level.TIER2).count() == plan.tier2
        assert below.filter(level=Level.TIER3).count() == plan.tier3
        towns = below.filter(level=Level.TOWN)
        assert sorted(towns.values_list("code", flat=True)) == sorted(
            code for code, _ in hierarchy_actions.real_towns(plan.code)
        )
        by_path = {u.path: u for u in below}
        children = Counter(path[: -OrgUnit.steplen] for path in by_path)
        for unit in by_path.values():
            assert unit.numchild == children[unit.path], unit.code
            assert unit.depth == len(unit.path) // OrgUnit.steplen, unit.code
            if unit.depth <= county.depth + 1:
                continue
            # Every generated unit extends its parent's code by three digits, one level further down.
            parent = by_path[unit.path[: -OrgUnit.steplen]]
            assert unit.code.startswith(parent.code) and len(unit.code) == len(parent.code) + 3, unit.code
            assert LEVEL_ORDER.index(unit.level) == LEVEL_ORDER.index(parent.level) + 1, unit.code
    assert OrgUnit.objects.get(code="330782").name == "义乌市"
    assert OrgUnit.objects.get(code="330783").name == "东阳市"
    assert not OrgUnit.objects.filter(level=Level.TIER3, numchild__gt=0).exists()


def check_demo_logins(client) -> None:
    for username, code, role, full_name in generator.DEMO_STAFF:
        user = User.objects.get(username=username)
        assert user.unit.code == code, username
        assert user.role == role
        assert user.first_name == full_name
        assert user.is_active and not user.is_superuser
        assert user.check_password(generator.DEMO_PASSWORD)
    assert User.objects.filter(username__in=[s[0] for s in generator.DEMO_STAFF]).count() == len(
        generator.DEMO_STAFF
    )
    response = client.post("/login/", {"username": "yiwu_cadre", "password": generator.DEMO_PASSWORD})
    assert response.status_code == 302
    counties = client.get("/api/v1/units/", {"level": "county"}).json()
    assert [row["code"] for row in counties["results"]] == ["330782"]
    client.logout()
    client.post("/login/", {"username": "jinhua_admin", "password": generator.DEMO_PASSWORD})
    counties = client.get("/api/v1/units/", {"level": "county", "limit": 100}).json()
    assert {"330782", "330783"} <= {row["code"] for row in counties["results"]}
    client.logout()


def test_seed_twice_builds_one_deterministic_sound_world(db, client):
    """One test, because a demo seed is the expensive part: seed, check everything, seed again."""
    first = seed()
    world = snapshot()
    assert first["units"] == len(world) == OrgUnit.objects.count()

    # Deterministic: exactly the tree the seed's generator computes, nothing else below the counties.
    below = OrgUnit.objects.filter(level__in=[Level.TOWN, *TOWER_LEVELS])
    assert {u.code: (u.name, u.level, u.kind) for u in below} == generated_units(seed=1)
    counties = [OrgUnit.objects.get(code=p.code) for p in generator.SCALES["demo"]]
    assert all(any(u.path.startswith(c.path) for c in counties) for u in below)
    check_tree_shape()
    check_demo_logins(client)
    users = User.objects.count()

    # Idempotent: a second run on the same database adds nothing and changes nothing.
    second = seed()
    assert second["units"] == first["units"]
    assert snapshot() == world
    assert User.objects.count() == users
    check_demo_logins(client)
    # treebeard's own consistency check (paths, depths, child counts), once: it costs a query per unit.
    assert OrgUnit.objects.find_problems() == NO_PROBLEMS


def test_synthetic_resident_ids_are_valid_consistent_and_unique():
    today = date(2026, 6, 1)
    synth = Synth(42)
    seen = set()
    for _ in range(20_000):
        person = synth.person("330782", today=today)
        number = person.resident_id
        assert idcard.problems(number, today=today) == [], number
        assert number.startswith("330782")
        assert idcard.birth_date(number) == person.birth_date
        assert idcard.gender(number) == person.gender
        assert person.birth_date < today
        assert len(person.phone) == 11 and person.phone[3:7] == "0000"
        seen.add(number)
    assert len(seen) == 20_000


def test_synthetic_ids_stay_unique_in_a_crowded_birth_range():
    """A one-year age band forces many draws onto the same (birth date, gender) pair."""
    today = date(2026, 6, 1)
    synth = Synth(3)
    numbers = [synth.person("330783", today=today, min_age=18, max_age=19).resident_id for _ in range(5_000)]
    assert len(set(numbers)) == len(numbers)
    assert all(idcard.problems(n, today=today) == [] for n in numbers)


def test_synth_is_deterministic():
    today = date(2026, 6, 1)
    a, b = Synth(9), Synth(9)
    assert [a.person("330782", today=today) for _ in range(200)] == [
        b.person("330782", today=today) for _ in range(200)
    ]
    assert Synth(9).person("330782", today=today) != Synth(10).person("330782", today=today)
