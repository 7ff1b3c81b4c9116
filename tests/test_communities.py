"""C6 interest communities: joining (roster matching by blind index), approval, roles, blacklist, credit."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from test_groups_support import add_person, make_tower, resident_id

from tuanju.audit.models import AuditEvent
from tuanju.groups import actions
from tuanju.groups.actions import JoinRefused
from tuanju.groups.models import (
    BlacklistEntry,
    ChatGroup,
    Community,
    CommunityCategory,
    CommunityMember,
    CommunityRole,
    CreditKind,
    CreditRecord,
    GroupKind,
    MemberStatus,
)
from tuanju.people.models import Person, Source

ZHANG_ID = resident_id("330782", 101)
LI_ID = resident_id("330782", 102, male=False)


@pytest.fixture
def community(world, staff):
    make_tower(world)
    return actions.save_community(
        Community(),
        data={
            "unit": world["330782"],
            "name": "青年之家瑜伽课堂",
            "category": CommunityCategory.objects.get(name="兴趣爱好"),
            "description": "每周一次线下瑜伽课",
            "requires_resident_id": False,
            "requires_approval": False,
            "is_open": True,
            "max_members": None,
            "absence_limit": 3,
        },
        actor=staff["yiwu_cadre"],
    )


@pytest.fixture
def zhang(world):
    return add_person(world["330782001001"], "张伟", resident_id=ZHANG_ID, phone="13812345678")


def join(community, **overrides):
    fields = {"name": "张伟", "phone": "13812345678", "resident_id": "", "accepted_charter": True}
    fields.update(overrides)
    return actions.join_community(community, **fields)


def test_categories_come_from_the_data_migration(db):
    names = list(CommunityCategory.objects.values_list("name", flat=True))
    assert names == ["突击应急", "志愿服务", "工作交流", "信息共享", "学习提升", "婚恋交友", "兴趣爱好"]


def test_a_new_community_gets_its_messaging_group(community):
    group = community.chat_group
    assert group.kind == GroupKind.COMMUNITY and group.name == community.name
    assert (group.ref_type, group.ref_id) == ("groups.community", community.pk)
    assert ChatGroup.objects.get(community=community) == group


def test_community_names_are_unique_per_unit(community, world):
    with pytest.raises(ValidationError, match="已有名为"):
        actions.save_community(
            Community(),
            data={"unit": world["330782"], "name": "青年之家瑜伽课堂", "category": community.category},
        )


def test_join_matches_the_roster_by_phone_and_name(community, zhang):
    result = join(community)
    assert result.outcome == "joined" and not result.new_person
    member = result.member
    assert member.person == zhang and member.status == MemberStatus.ACTIVE and member.matched_roster
    assert member.charter_version == community.charter_version and member.charter_accepted_at
    assert Person.objects.count() == 1
    assert AuditEvent.objects.filter(action="join", object_id=str(member.pk)).exists()


def test_join_matches_the_roster_by_resident_id_whatever_the_phone(community, zhang):
    result = join(community, phone="13900009999", resident_id=ZHANG_ID.lower())  # a lower-case x folds
    assert result.member.person == zhang and not result.new_person
    zhang.refresh_from_db()
    assert zhang.reveal_phone() == "13812345678"  # the roster's phone is kept


def test_a_known_id_with_another_name_is_refused(community, zhang):
    with pytest.raises(JoinRefused, match="姓名与身份证号不一致") as info:
        join(community, name="李四", resident_id=ZHANG_ID)
    assert info.value.field == "name"
    assert not CommunityMember.objects.exists()


def test_someone_not_in_the_roster_is_registered_with_source_community(community):
    result = join(community, name="李娜", phone="+86 139-0000-1111", resident_id=LI_ID)
    person = result.member.person
    assert result.new_person and not result.member.matched_roster
    assert person.source == Source.COMMUNITY and person.unit == community.unit
    assert person.reveal_resident_id() == LI_ID and person.reveal_phone() == "13900001111"
    assert person.gender == "F" and person.birth_date is not None
    # Joining a second community finds the person registered by the first.
    other = actions.save_community(
        Community(), data={"unit": community.unit, "name": "青春读书会", "category": community.category}
    )
    second = join(other, name="李娜", phone="13900001111")
    assert second.member.person == person and not second.new_person


def test_join_validates_like_the_roster(community):
    with pytest.raises(JoinRefused, match="手机号") as info:
        join(community, phone="12345")
    assert info.value.field == "phone"
    with pytest.raises(JoinRefused) as info:
        join(community, resident_id="330782199901011230")  # a wrong check digit
    assert info.value.field == "resident_id"
    with pytest.raises(JoinRefused, match="含有数字"):
        join(community, name="张3")
    with pytest.raises(JoinRefused, match="公约") as info:
        join(community, accepted_charter=False)
    assert info.value.field == "accept"
    assert not Person.objects.exists()


def test_a_community_can_require_the_resident_id(community, zhang):
    community.requires_resident_id = True
    community.save()
    with pytest.raises(JoinRefused, match="身份证号"):
        join(community)
    assert join(community, resident_id=ZHANG_ID).member.person == zhang


def test_charter_version_must_be_the_current_one(community, zhang, staff):
    actions.update_charter(community, text="一、文明发言。", actor=staff["yiwu_cadre"])
    assert community.charter_version == 2
    with pytest.raises(JoinRefused, match="公约已更新"):
        join(community, charter_version=1)
    assert join(community, charter_version=2).member.charter_version == 2
    actions.update_charter(community, text="一、文明发言。", actor=None)  # unchanged: same version
    assert community.charter_version == 2


def test_approval_flow(community, zhang, staff):
    community.requires_approval = True
    community.save()
    result = join(community)
    assert result.outcome == "pending" and result.member.status == MemberStatus.PENDING
    assert join(community).outcome == "already_pending"
    li = join(community, name="李娜", phone="13900001111").member
    approved = actions.approve_members(
        community, CommunityMember.objects.filter(pk=result.member.pk), actor=staff["yiwu_cadre"]
    )
    assert approved == 1
    result.member.refresh_from_db()
    assert result.member.status == MemberStatus.ACTIVE and result.member.decided_by == staff["yiwu_cadre"]
    assert result.member.joined_at is not None
    assert (
        actions.reject_members(
            community, CommunityMember.objects.all(), actor=staff["yiwu_cadre"], reason="非本地青年"
        )
        == 1
    )
    li.refresh_from_db()
    assert li.status == MemberStatus.REJECTED and li.decision_note == "非本地青年"
    assert join(community).outcome == "already_member"
    # A rejected applicant may apply again.
    assert join(community, name="李娜", phone="13900001111").outcome == "pending"


def test_member_limit(community, zhang, world):
    community.max_members = 1
    community.save()
    join(community)
    with pytest.raises(JoinRefused, match="人数已满"):
        join(community, name="李娜", phone="13900001111")


def test_closed_community_refuses_joins(community):
    community.is_open = False
    community.save()
    with pytest.raises(JoinRefused, match="暂停加入"):
        join(community)


def test_roles_one_owner(community, zhang, staff):
    owner = join(community).member
    other = join(community, name="李娜", phone="13900001111").member
    actions.set_role(owner, CommunityRole.OWNER, actor=staff["yiwu_cadre"])
    actions.set_role(other, CommunityRole.OWNER, actor=staff["yiwu_cadre"])
    owner.refresh_from_db()
    assert owner.role == CommunityRole.MEMBER
    assert CommunityMember.objects.filter(community=community, role=CommunityRole.OWNER).get() == other
    actions.set_role(owner, CommunityRole.ORGANIZER, actor=staff["yiwu_cadre"])
    with pytest.raises(IntegrityError), transaction.atomic():
        CommunityMember.objects.filter(pk=owner.pk).update(role=CommunityRole.OWNER)
    with pytest.raises(ValidationError):
        actions.set_role(owner, "king", actor=None)


def test_staff_add_members_with_a_role(community, zhang, staff):
    added, skipped = actions.add_community_members(
        community, [zhang], role=CommunityRole.SEED, actor=staff["yiwu_cadre"]
    )
    assert added == 1 and skipped == []
    member = CommunityMember.objects.get(person=zhang)
    assert (
        member.role == CommunityRole.SEED
        and member.status == MemberStatus.ACTIVE
        and member.source == "staff"
    )
    assert actions.add_community_members(community, [zhang], actor=staff["yiwu_cadre"]) == (
        0,
        ["张伟：已是成员"],
    )


def test_blacklist_ends_membership_and_blocks_rejoining_until_lifted(community, zhang, staff):
    member = join(community).member
    actions.warn(community, zhang, reason="群内发广告", actor=staff["yiwu_cadre"])
    actions.warn(community, zhang, reason="再次发广告", actor=staff["yiwu_cadre"])
    entry = actions.blacklist(community, zhang, reason="屡次警告后仍发广告", actor=staff["yiwu_cadre"])
    assert entry.warnings == 2 and entry.decided_by == staff["yiwu_cadre"]
    member.refresh_from_db()
    assert member.status == MemberStatus.REMOVED
    with pytest.raises(JoinRefused, match="黑名单"):
        join(community)
    # Not by another phone or by the ID either: the match is on the person.
    with pytest.raises(JoinRefused, match="黑名单"):
        join(community, phone="13700000000", resident_id=ZHANG_ID)
    with pytest.raises(ValidationError, match="已在本社群黑名单"):
        actions.blacklist(community, zhang, reason="x", actor=staff["yiwu_cadre"])
    with pytest.raises(IntegrityError), transaction.atomic():
        BlacklistEntry.objects.create(community=community, person=zhang, reason="dup")
    # Staff cannot add them back either.
    assert actions.add_community_members(community, [zhang], actor=staff["yiwu_cadre"])[0] == 0
    actions.lift_blacklist(entry, actor=staff["yiwu_cadre"], reason="本人承诺遵守公约")
    assert join(community).outcome == "joined"
    kinds = list(
        CreditRecord.objects.filter(person=zhang).order_by("created_at", "id").values_list("kind", flat=True)
    )
    assert kinds == ["warning", "warning", "blacklisted", "lifted"]
    assert AuditEvent.objects.filter(action="join_refused").count() == 2


def test_blacklist_is_per_community(community, zhang, staff):
    actions.blacklist(community, zhang, reason="违反公约", actor=staff["yiwu_cadre"])
    other = actions.save_community(
        Community(), data={"unit": community.unit, "name": "青年突击队", "category": community.category}
    )
    assert join(other).outcome == "pending"  # requires approval by default; not refused


def test_credit_record_and_consecutive_absences(community, zhang, staff):
    rec = actions.record_credit
    rec(zhang, kind=CreditKind.ABSENT, community=community, reason="瑜伽课 9月1日")
    rec(zhang, kind=CreditKind.ATTENDED, community=community)
    rec(zhang, kind=CreditKind.ABSENT, community=community)
    rec(zhang, kind=CreditKind.EXCUSED, community=community, reason="请假已批准")
    rec(zhang, kind=CreditKind.ABSENT, community=community)
    assert actions.consecutive_absences(zhang, community) == 2  # excused leave neither counts nor resets
    summary = actions.credit_summary(zhang, community)
    assert summary["points"] == -2 and summary["consecutive_absences"] == 2 and summary["absence_limit"] == 3
    entry = rec(zhang, kind=CreditKind.PRAISE, community=community, ref=community, actor=staff["yiwu_cadre"])
    assert (entry.ref_type, entry.ref_id, entry.unit) == ("groups.community", community.pk, community.unit)
    assert entry.created_by == staff["yiwu_cadre"]
    outside = rec(zhang, kind=CreditKind.NOTE, unit=zhang.unit, reason="无社群的活动")
    assert outside.community is None and outside.unit == zhang.unit
    with pytest.raises(ValueError):
        rec(zhang, kind="nonsense", community=community)
    with pytest.raises(ValueError):
        rec(zhang, kind=CreditKind.NOTE)


def test_invite_reset_changes_the_nonce(community):
    before = community.invite_nonce
    actions.reset_invites(community, actor=None)
    assert community.invite_nonce != before


def test_statistics(community, zhang, staff):
    join(community)
    community.requires_approval = True
    community.save()
    join(community, name="李娜", phone="13900001111")
    actions.blacklist(community, zhang, reason="违反公约", actor=staff["yiwu_cadre"])
    stats = actions.community_stats(community)
    assert stats["by_status"] == {"pending": 1, "removed": 1}
    assert stats["pending"] == 1 and stats["blacklisted"] == 1 and stats["active"] == 0
    assert len(stats["months"]) == 12 and len(stats["joins"]) == 12
