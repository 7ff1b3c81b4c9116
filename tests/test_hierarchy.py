import pytest
from django.core.exceptions import ValidationError

from tuanju.hierarchy import actions
from tuanju.hierarchy.models import Level, OrgUnit


def test_divisions_are_real_gbt2260(world):
    assert OrgUnit.objects.get(code="330000").name == "浙江省"
    assert OrgUnit.objects.get(code="330700").name == "金华市"
    yiwu = OrgUnit.objects.get(code="330782")
    assert yiwu.name == "义乌市" and yiwu.level == Level.COUNTY
    assert [u.code for u in yiwu.breadcrumb()] == ["000000", "330000", "330700", "330782"]
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])


def test_load_divisions_is_idempotent(world):
    before = OrgUnit.objects.count()
    counts = actions.load_divisions(["33"])
    assert counts["inserted"] == 0
    assert OrgUnit.objects.count() == before


def test_child_rollup_counts_descendants_per_child(world):
    yiwu = world["330782"]
    rollup = yiwu.child_rollup(OrgUnit.objects.filter(depth__gt=yiwu.depth))
    town = OrgUnit.objects.get(code="330782001")
    assert rollup[town.path] == 4  # the town itself and its three units below
    assert rollup[OrgUnit.objects.get(code="330782002").path] == 1


def test_create_unit_generates_code_under_parent(world):
    town = world["330782001"]
    unit = actions.create_unit(parent=town, name="新村", kind="村")
    assert unit.code == "330782001002"
    assert unit.level == Level.TIER1
    assert OrgUnit.objects.get_parent(unit).pk == town.pk


def test_create_unit_rejects_empty_name_and_duplicate_code(world):
    town = world["330782001"]
    with pytest.raises(ValidationError):
        actions.create_unit(parent=town, name="  ")
    with pytest.raises(ValidationError):
        actions.create_unit(parent=town, name="重复", code="330782001001")


def test_move_checks_levels_and_cycles(world):
    tier1 = world["330782001001"]
    with pytest.raises(ValidationError):
        actions.move_unit(tier1, new_parent=world["330782"])  # a tier-1 unit cannot sit under a county
    other_town = OrgUnit.objects.get(code="330782002")
    actions.move_unit(tier1, new_parent=other_town)
    tier1.refresh_from_db()
    assert OrgUnit.objects.get_parent(tier1).pk == other_town.pk
    assert OrgUnit.objects.get(code="330782001001001001").path.startswith(tier1.path)
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])


def test_merge_moves_children_and_references(world):
    from tuanju.accounts.models import User

    source = world["330782001"]
    target = OrgUnit.objects.get(code="330782002")
    user = User.objects.create(username="town_staff", unit=source)
    merged = actions.merge_units(source, into=target)
    assert not OrgUnit.objects.filter(code="330782001").exists()
    assert OrgUnit.objects.get_children(merged).filter(code="330782001001").exists()
    user.refresh_from_db()
    assert user.unit_id == target.pk
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])


def test_division_specs_cover_the_mainland_without_duplicate_codes():
    codes = [spec.code for spec in actions._flatten(actions.division_specs())]
    assert len(codes) == len(set(codes))
    names = {spec.code: spec.name for spec in actions._flatten(actions.division_specs(["11", "44"]))}
    assert names["441900"] == "东莞市"
    assert names["110100"] == "北京市市辖区"
    assert sum(1 for c in codes if len(c) == 6 and c.endswith("0000")) >= 31
