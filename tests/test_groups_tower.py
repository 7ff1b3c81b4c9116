"""C5 tower groups: the build, placement of people, counters, coverage and the command."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from test_groups_support import DONGYANG_TOWER, YIWU_TOWER, add_person, make_tower

from tuanju.audit.models import AuditEvent
from tuanju.groups import actions
from tuanju.groups.coverage import coverage, units_without_group
from tuanju.groups.models import ChatGroup, GroupKind, GroupLiaison, GroupMember, Platform, RobotStatus
from tuanju.hierarchy import actions as hierarchy
from tuanju.hierarchy.actions import NewUnit
from tuanju.hierarchy.models import Level, OrgUnit


@pytest.fixture
def units(world):
    return make_tower(world)


def tower_groups(prefix_unit=None):
    groups = ChatGroup.objects.towers()
    if prefix_unit is not None:
        groups = groups.filter(unit__path__startswith=prefix_unit.path)
    return groups


def group_of(code: str) -> ChatGroup:
    return ChatGroup.objects.towers().get(unit__code=code)


# --- Build ---------------------------------------------------------------------------------------


def test_build_creates_one_group_per_tower_unit_with_parent_links(units, staff):
    result = actions.build_towers(units["330782"], actor=staff["yiwu_cadre"])
    assert result.created == YIWU_TOWER
    assert result.created_by_level == {"tier1": 2, "tier2": 3, "tier3": 4}
    assert tower_groups().count() == YIWU_TOWER  # Dongyang untouched
    assert not tower_groups(units["330783"]).exists()
    # Each group is linked to the group of its parent unit; tier-1 groups sit at the top.
    for group in tower_groups().select_related("unit", "parent__unit"):
        if group.unit.level == Level.TIER1:
            assert group.parent is None
        else:
            assert group.parent.unit.path == group.unit.path[:-4]
    assert group_of("330782002001001002").name == "青口村·上村·第2村民小组青年群"
    assert group_of("330782001001").name == "华新社区青年群"
    event = AuditEvent.objects.get(action="build_towers")
    assert event.details["created"] == YIWU_TOWER and event.actor == staff["yiwu_cadre"]


def test_build_is_idempotent_and_fills_gaps(units):
    actions.build_towers(units["330782"])
    before = dict(tower_groups().values_list("unit__code", "pk"))
    again = actions.build_towers(units["330782"])
    assert (again.created, again.existing, again.relinked) == (0, YIWU_TOWER, 0)
    assert dict(tower_groups().values_list("unit__code", "pk")) == before
    # A new unit later gets exactly one new group, linked to its parent's group.
    hierarchy.bulk_insert(
        OrgUnit.objects.get(code="330782002001002"),
        [NewUnit("330782002001002002", "第2村民小组", Level.TIER3)],
    )
    third = actions.build_towers(units["330782"])
    assert third.created == 1
    assert group_of("330782002001002002").parent_id == before["330782002001002"]


def test_build_relinks_groups_built_bottom_up(units):
    tier3 = OrgUnit.objects.get(code="330782002001001001")
    first = actions.build_towers(tier3)
    assert first.created == 1 and group_of(tier3.code).parent is None
    result = actions.build_towers(units["330782002"])
    assert result.created == 5 and result.relinked == 1
    assert group_of(tier3.code).parent == group_of("330782002001001")


def test_build_below_a_tier1_unit_links_to_the_existing_group_above(units):
    actions.build_towers(OrgUnit.objects.get(code="330782002001"))  # the tier-1 group and its subtree
    ChatGroup.objects.filter(unit__code="330782002001001001").delete()
    actions.build_towers(OrgUnit.objects.get(code="330782002001001"))
    assert group_of("330782002001001001").parent == group_of("330782002001001")


def test_one_tower_group_per_unit_is_a_database_constraint(units):
    unit = OrgUnit.objects.get(code="330782001001")
    ChatGroup.objects.create(unit=unit, kind=GroupKind.TOWER, name="a")
    with pytest.raises(IntegrityError), transaction.atomic():
        ChatGroup.objects.create(unit=unit, kind=GroupKind.TOWER, name="b")
    # Other kinds may share the unit.
    ChatGroup.objects.create(unit=unit, kind=GroupKind.ORGANIZATION, name="c")


def test_build_without_tower_units_creates_nothing(world):
    result = actions.build_towers(OrgUnit.objects.get(code="330782002"))  # a town, nothing below yet
    assert result.created == 0 and not ChatGroup.objects.exists()


# --- Placement and counters ---------------------------------------------------------------------------


@pytest.fixture
def roster(units):
    return {
        "a": add_person(OrgUnit.objects.get(code="330782002001001001"), "甲一", phone="13800000001"),
        "b": add_person(OrgUnit.objects.get(code="330782002001001001"), "乙二", phone="13800000002"),
        "c": add_person(
            OrgUnit.objects.get(code="330782002001002"), "丙三", phone="13800000003"
        ),  # tier-2 unit
        "d": add_person(units["330782002"], "丁四", phone="13800000004"),  # town: above the tower
        "e": add_person(OrgUnit.objects.get(code="330782001001001001"), "戊五", phone="13800000005"),
        "dy": add_person(OrgUnit.objects.get(code="330783001001001"), "东阳", phone="13800000006"),
    }


def test_place_people_puts_everyone_in_the_group_of_their_unit(roster, units):
    actions.build_towers(units["330782"])
    result = actions.place_people(units["330782"])
    assert (result.placed, result.already, result.without_group, result.new_home) == (4, 0, 1, 4)
    assert GroupMember.objects.get(person=roster["a"]).group == group_of("330782002001001001")
    assert GroupMember.objects.get(person=roster["c"]).group == group_of("330782002001002")
    assert not GroupMember.objects.filter(person__in=[roster["d"], roster["dy"]]).exists()
    tier3 = group_of("330782002001001001")
    assert (tier3.member_count, tier3.placed_count) == (2, 2)
    assert tier3.last_activity_at is not None
    assert set(GroupMember.objects.values_list("source", flat=True)) == {"placed"}
    again = actions.place_people(units["330782"])
    assert (again.placed, again.already) == (0, 4)
    assert GroupMember.objects.count() == 4


def test_a_person_below_a_unit_without_group_goes_to_the_nearest_group_above(roster, units):
    actions.build_towers(OrgUnit.objects.get(code="330782002001"))
    ChatGroup.objects.filter(unit__code="330782002001001001").delete()
    actions.place_people(units["330782002"])
    assert GroupMember.objects.get(person=roster["a"]).group == group_of("330782002001001")


def test_counters_match_a_recount_after_every_kind_of_change(roster, units, staff):
    actions.build_towers(units["330782"])
    actions.place_people(units["330782"])
    village = group_of("330782002001")
    actions.add_group_members(village, [roster["a"], roster["d"]], actor=staff["yiwu_cadre"])
    liaison = actions.add_liaison(village, user=staff["yiwu_cadre"], actor=staff["yiwu_cadre"])
    actions.add_liaison(village, person=roster["b"], actor=staff["yiwu_cadre"])
    actions.remove_liaison(liaison, actor=staff["yiwu_cadre"])
    actions.remove_group_member(GroupMember.objects.get(person=roster["b"]), actor=None)
    roster["e"].delete()  # a cascade from the roster
    snapshot = list(
        ChatGroup.objects.order_by("pk").values_list("pk", "member_count", "placed_count", "liaison_count")
    )
    actions.recount_groups(ChatGroup.objects.all())
    assert (
        list(
            ChatGroup.objects.order_by("pk").values_list(
                "pk", "member_count", "placed_count", "liaison_count"
            )
        )
        == snapshot
    )
    village.refresh_from_db()
    assert (village.member_count, village.placed_count, village.liaison_count) == (2, 1, 1)


def test_home_group_moves_when_the_home_membership_ends(roster, units):
    actions.build_towers(units["330782"])
    actions.place_people(units["330782"])
    village = group_of("330782002001")
    actions.add_group_members(village, [roster["a"]])
    assert GroupMember.objects.get(person=roster["a"], group=village).is_primary is False
    home = GroupMember.objects.get(person=roster["a"], is_primary=True)
    actions.remove_group_member(home)
    assert GroupMember.objects.get(person=roster["a"]).is_primary is True
    village.refresh_from_db()
    assert village.placed_count == 1
    # Counted once in coverage whatever happens.
    assert coverage(units["330782"]).total.placed == 4


def test_one_home_group_per_person_is_a_database_constraint(roster, units):
    actions.build_towers(units["330782"])
    g1, g2 = group_of("330782002001"), group_of("330782002001001")
    GroupMember.objects.create(group=g1, person=roster["a"], is_primary=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupMember.objects.create(group=g2, person=roster["a"], is_primary=True)


# --- Coverage ---------------------------------------------------------------------------------------


def test_coverage_numbers_and_gaps(roster, units, staff):
    yiwu = units["330782"]
    # Only the 江东街道 subtree gets its groups; 稠城街道 stays unbuilt.
    actions.build_towers(units["330782002"])
    actions.place_people(units["330782002"])
    actions.add_liaison(group_of("330782002001"), user=staff["yiwu_cadre"])
    actions.add_liaison(group_of("330782002001"), person=roster["c"])
    actions.add_liaison(group_of("330782002001001"), person=roster["a"])
    actions.create_group(yiwu, kind=GroupKind.ALLIANCE_ALL, name="八大联盟总群")

    cov = coverage(yiwu)
    t = cov.total
    assert (t.units, t.groups, t.units_without_group) == (YIWU_TOWER, 6, 3)
    assert (t.liaisons, t.groups_without_liaison) == (3, 4)
    assert (t.roster, t.placed) == (5, 3)  # 甲一 乙二 丙三 placed; 丁四 at the town, 戊五 unbuilt
    assert t.other_groups == 1 and cov.other_kinds == {"alliance_all": 1}
    assert t.liaisons_per_group == pytest.approx(0.5)
    assert t.people_rate == pytest.approx(0.6)
    assert cov.by_level["tier1"].groups == 1 and cov.by_level["tier1"].units == 2
    assert cov.by_level["tier3"].units_without_group == 1
    rows = {row.unit.code: row.tally for row in cov.children}
    assert set(rows) == {"330782001", "330782002"}
    chengcheng, jiangdong = rows["330782001"], rows["330782002"]
    assert (chengcheng.units, chengcheng.groups, chengcheng.roster, chengcheng.placed) == (3, 0, 1, 0)
    assert chengcheng.flags == ["no_group", "low_people"]
    assert (jiangdong.units, jiangdong.groups, jiangdong.roster, jiangdong.placed) == (6, 6, 4, 3)
    assert jiangdong.flags == ["no_liaison", "low_people"]
    assert cov.own.other_groups == 1  # the all-alliances group sits on Yiwu itself
    # The children add up to the total.
    assert sum(r.units for r in rows.values()) == t.units
    assert list(units_without_group(yiwu).values_list("code", flat=True)) == [
        "330782001001",
        "330782001001001",
        "330782001001001001",
    ]


def test_coverage_at_a_tower_unit_and_city(roster, units):
    actions.build_towers(units["330700"])
    actions.place_people(units["330700"])
    village = coverage(OrgUnit.objects.get(code="330782002001"))
    assert (village.total.units, village.total.groups, village.own.groups) == (6, 6, 1)
    city = coverage(units["330700"])
    assert city.total.units == YIWU_TOWER + DONGYANG_TOWER
    assert city.total.groups == YIWU_TOWER + DONGYANG_TOWER
    assert city.total.placed == 5 and city.total.roster == 6
    assert {row.unit.code for row in city.children if row.tally.units} == {"330782", "330783"}
    assert json.dumps(city.as_dict(), ensure_ascii=False)


# --- Group details, robot webhook ----------------------------------------------------------------------


def test_webhook_is_stored_encrypted_and_never_echoed(units, staff):
    actions.build_towers(units["330782"])
    group = group_of("330782001001")
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    actions.update_group(
        group,
        data={"platform": Platform.WEWORK, "external_name": "华新社区青年群"},
        webhook_url=url,
        webhook_secret="SEC123",
        actor=staff["yiwu_cadre"],
    )
    group.refresh_from_db()
    assert url.encode() not in bytes(group.webhook_url_enc)
    assert group.reveal_webhook_url() == url and group.reveal_webhook_secret() == "SEC123"
    assert group.webhook_hint == "qyapi.weixin.qq.com/…5aaa"
    assert group.robot_status == RobotStatus.OK
    event = AuditEvent.objects.filter(object_type="groups.chatgroup", object_id=str(group.pk)).latest("pk")
    assert event.details["robot"] == "set" and url not in json.dumps(event.details)
    # Keeping: no URL given keeps the stored one; a secret alone replaces the secret.
    actions.update_group(group, data={"notes": "x"}, webhook_secret="NEW", actor=None)
    group.refresh_from_db()
    assert group.reveal_webhook_url() == url and group.reveal_webhook_secret() == "NEW"
    actions.mark_robot(group, ok=False, error="errcode 93000: invalid webhook url")
    group.refresh_from_db()
    assert group.robot_status == RobotStatus.FAILING and "93000" in group.robot_error
    actions.update_group(group, data={}, clear_webhook=True)
    group.refresh_from_db()
    assert not group.has_robot and group.webhook_hint == "" and group.robot_status == ""


@pytest.mark.parametrize(
    ("platform", "url", "message"),
    [
        (Platform.WECHAT, "https://qyapi.weixin.qq.com/x", "没有群机器人"),
        (Platform.DINGTALK, "http://oapi.dingtalk.com/robot/send?access_token=x", "https://"),
        (Platform.FEISHU, "https:///nohost", "不完整"),
    ],
)
def test_webhook_validation(units, platform, url, message):
    actions.build_towers(units["330782"])
    group = group_of("330782001001")
    with pytest.raises(ValidationError) as info:
        actions.update_group(group, data={"platform": platform}, webhook_url=url)
    assert message in str(info.value)


def test_local_webhooks_are_allowed_for_test_servers(units):
    actions.build_towers(units["330782"])
    group = group_of("330782001001")
    actions.update_group(
        group, data={"platform": Platform.DINGTALK}, webhook_url="http://127.0.0.1:9000/robot/send"
    )
    assert group.has_robot


def test_liaisons_are_a_staff_account_or_a_person_never_twice(roster, units, staff):
    actions.build_towers(units["330782"])
    group = group_of("330782002001")
    actions.add_liaison(group, user=staff["yiwu_cadre"], note="镇团委干部")
    with pytest.raises(ValidationError, match="已是该群的联络员"):
        actions.add_liaison(group, user=staff["yiwu_cadre"])
    with pytest.raises(ValidationError):
        actions.add_liaison(group, user=staff["yiwu_cadre"], person=roster["a"])
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupLiaison.objects.create(group=group)  # neither
    count = actions.assign_liaison(
        tower_groups(units["330782002"]), person=roster["c"], actor=staff["yiwu_cadre"]
    )
    assert count == 6
    assert actions.assign_liaison(tower_groups(units["330782002"]), person=roster["c"]) == 0
    group.refresh_from_db()
    assert group.liaison_count == 2


def test_non_tower_groups_use_the_same_model(units, staff):
    alliance = actions.create_group(
        units["330782"],
        kind=GroupKind.ALLIANCE_COUNCIL,
        name="青年志愿服务联盟理事群",
        ref_type="organizations.alliance",
        ref_id=7,
        platform=Platform.WEWORK,
        actor=staff["yiwu_cadre"],
    )
    assert alliance.kind == "alliance_council" and alliance.ref_id == 7
    assert ChatGroup.objects.filter(ref_type="organizations.alliance", ref_id=7).get() == alliance
    with pytest.raises(ValidationError):
        actions.create_group(units["330782"], kind=GroupKind.TOWER, name="x")


# --- Command -------------------------------------------------------------------------------------------


def test_build_towers_command(roster, units):
    out, err = StringIO(), StringIO()
    call_command("build-towers", "--unit", "330782", "--place", "--recount", stdout=out, stderr=err)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["build"]["created"] == YIWU_TOWER
    assert summary["place"]["placed"] == 4
    assert summary["coverage"]["groups"] == YIWU_TOWER and summary["coverage"]["placed"] == 4
    assert "groups built" in err.getvalue()
    again = StringIO()
    call_command("build-towers", "--unit", "330782", stdout=again, stderr=StringIO())
    assert json.loads(again.getvalue().strip().splitlines()[-1])["build"]["created"] == 0
    with pytest.raises(CommandError):
        call_command("build-towers", "--unit", "999999", stdout=StringIO(), stderr=StringIO())


def test_merging_two_units_folds_their_tower_groups(roster, units, staff):
    actions.build_towers(units["330782"])
    actions.place_people(units["330782"])
    source, into = OrgUnit.objects.get(code="330782002001001002"), OrgUnit.objects.get(code="330782002001001001")
    old = group_of(source.code)
    actions.add_group_members(old, [roster["a"], roster["c"]])  # 甲一 is already in the target group
    actions.add_liaison(old, user=staff["yiwu_cadre"])
    actions.add_liaison(group_of(into.code), user=staff["yiwu_cadre"])
    actions.add_liaison(old, person=roster["b"])
    moved = actions.merge_tower_groups(source, into, actor=staff["yiwu_cadre"])
    assert moved == 1  # 丙三
    target = group_of(into.code)
    assert not ChatGroup.objects.filter(pk=old.pk).exists()
    assert set(target.members.values_list("person__name", flat=True)) == {"甲一", "乙二", "丙三"}
    assert target.liaisons.count() == 2 and (target.member_count, target.liaison_count) == (3, 2)
    hierarchy.merge_units(source, into=into, actor=staff["yiwu_admin"])  # no second tower group on the unit
    assert ChatGroup.objects.towers().filter(unit=into).count() == 1
    assert actions.merge_tower_groups(units["330782001"], units["330782002"]) == 0  # towns: no tower groups
