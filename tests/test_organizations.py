"""C3 youth social organizations: registration rules, members, 四有, projects, absorption, roll-ups."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from test_organizations_fixtures import CODE_A, add_person, fill_members, make_org, unit

from tuanju.audit.models import AuditEvent
from tuanju.core.crypto import cipher
from tuanju.hierarchy.models import OrgUnit
from tuanju.organizations import actions, hooks, uscc
from tuanju.organizations.models import (
    AbsorptionKind,
    FourHave,
    GroupMembership,
    MemberRole,
    Membership,
    Organization,
    OrgType,
    PoliticalAbsorption,
    RegistrationStatus,
    ServiceProject,
    months_before,
)

pytest_plugins = ["test_organizations_fixtures"]
pytestmark = pytest.mark.usefixtures("no_activities")

# --- Registration rules --------------------------------------------------------------------------


def test_types_are_seeded_with_the_three_county_types(db):
    county = list(OrgType.objects.filter(is_county_type=True).values_list("name", flat=True))
    assert county == ["志愿服务", "创业就业", "文艺体育"]
    assert {"公益慈善", "文化创意", "电竞", "社区服务"} <= set(OrgType.objects.values_list("name", flat=True))


def test_create_records_audit_and_encrypts_contact_phone(sample_orgs):
    org = sample_orgs["good"]
    assert org.contact_phone_masked == "138****5678"
    assert bytes(org.contact_phone_enc) != b"13812345678"
    assert org.contact_phone_bidx == cipher().blind_index("13812345678")
    assert org.reveal_contact_phone() == "13812345678"
    assert org.name_pinyin == "ccqnzyfwd"
    event = AuditEvent.objects.get(
        action="create", object_type="organizations.organization", object_id=str(org.pk)
    )
    assert event.unit_id == org.unit_id
    assert event.details["changes"]["contact_phone_masked"] == [None, "138****5678"]


def test_registered_needs_a_valid_civil_affairs_code(world):
    unit = world["330782"]
    with pytest.raises(ValidationError) as exc:
        make_org(unit, "甲", registration_status=RegistrationStatus.REGISTERED)
    assert exc.value.message_dict["uscc"] == ["民政登记的组织必须填写统一社会信用代码"]
    wrong = CODE_A[:17] + ("0" if CODE_A[17] != "0" else "1")
    with pytest.raises(ValidationError) as exc:
        make_org(unit, "乙", registration_status=RegistrationStatus.REGISTERED, uscc=wrong)
    assert exc.value.message_dict["uscc"] == ["统一社会信用代码校验位错误"]
    company = uscc.make("91", "330782", "MA000001")
    with pytest.raises(ValidationError) as exc:
        make_org(unit, "丙", registration_status=RegistrationStatus.REGISTERED, uscc=company)
    assert "第1位应为5" in exc.value.message_dict["uscc"][0]
    # A company code is fine for a filed or unregistered organization (e.g. a social enterprise).
    org = make_org(unit, "丁", registration_status=RegistrationStatus.FILED, uscc=company.lower())
    assert org.uscc == company


def test_code_and_name_are_unique(sample_orgs, world):
    with pytest.raises(ValidationError) as exc:
        make_org(unit("330782002"), "另一个", registration_status=RegistrationStatus.REGISTERED, uscc=CODE_A)
    assert "已由“稠城街道”的“稠城青年志愿服务队”登记" in exc.value.message_dict["uscc"][0]
    with pytest.raises(ValidationError) as exc:
        make_org(world["330782001"], "稠城青年志愿服务队")
    assert exc.value.message_dict["name"] == ["“稠城街道”已有名为“稠城青年志愿服务队”的组织"]
    # The same name under another unit is a different organization.
    assert make_org(unit("330782002"), "稠城青年志愿服务队").pk


def test_empty_code_is_stored_as_null_so_many_may_lack_one(world):
    a = make_org(world["330782"], "甲")
    b = make_org(world["330782"], "乙", uscc="")
    assert a.uscc is None and b.uscc is None


def test_founding_date_in_future_is_refused(world):
    with pytest.raises(ValidationError) as exc:
        make_org(world["330782"], "甲", founded_on=timezone.localdate() + timedelta(days=1))
    assert exc.value.message_dict["founded_on"] == ["成立日期不合理"]


def test_actor_cannot_register_outside_scope(staff, org_people, world):
    with pytest.raises(ValidationError) as exc:
        make_org(world["330782"], "越权组织", actor=staff["dongyang_cadre"])
    assert "不在您的管辖范围内" in exc.value.message_dict["unit"][0]
    with pytest.raises(ValidationError) as exc:
        make_org(world["330783"], "东阳组织", actor=staff["dongyang_cadre"], leader=org_people["yiwu"][0])
    assert "不在您的管辖范围内" in exc.value.message_dict["leader"][0]


def test_update_is_audited_with_a_diff(sample_orgs):
    org = sample_orgs["bare"]
    actions.save_organization(org, data={"venue": "青创园"}, tags=["创业", "青创"])
    event = AuditEvent.objects.filter(action="update", object_id=str(org.pk)).latest("at")
    assert event.details["changes"] == {"venue": ["", "青创园"]}
    assert event.details["tags"] == ["创业", "青创"]
    assert sorted(org.tags.values_list("name", flat=True)) == ["创业", "青创"]


def test_reveal_contact_phone_is_logged(sample_orgs, staff):
    value = actions.reveal_contact_phone(sample_orgs["good"], actor=staff["yiwu_admin"])
    assert value == "13812345678"
    assert AuditEvent.objects.filter(action="view_pii", object_id=str(sample_orgs["good"].pk)).count() == 1
    with pytest.raises(PermissionError):
        actions.reveal_contact_phone(sample_orgs["good"], actor=staff["yiwu_cadre"])


# --- Members --------------------------------------------------------------------------------------


def test_member_lifecycle(sample_orgs, org_people):
    org, person = sample_orgs["arts"], org_people["yiwu"][9]
    m = actions.add_member(org, person, role=MemberRole.BACKBONE, joined_on=date(2024, 5, 1))
    with pytest.raises(ValidationError, match="已是"):
        actions.add_member(org, person)
    actions.update_member(m, role=MemberRole.VICE, joined_on=date(2024, 4, 1))
    m.refresh_from_db()
    assert m.role == MemberRole.VICE
    with pytest.raises(ValidationError, match="不能早于入会日期"):
        actions.end_membership(m, left_on=date(2024, 3, 1))
    actions.end_membership(m, left_on=date(2025, 1, 1))
    with pytest.raises(ValidationError, match="已退会"):
        actions.end_membership(m)
    # After leaving, the person may join again; history stays.
    again = actions.add_member(org, person)
    assert Membership.objects.filter(organization=org, person=person).count() == 2
    assert again.left_on is None
    assert Organization.objects.with_counts().get(pk=org.pk).member_count == 1


def test_member_join_date_in_future_is_refused(sample_orgs, org_people):
    with pytest.raises(ValidationError, match="不能晚于今天"):
        actions.add_member(
            sample_orgs["arts"], org_people["yiwu"][1], joined_on=timezone.localdate() + timedelta(days=2)
        )


def test_member_outside_scope_is_refused(sample_orgs, org_people, staff):
    with pytest.raises(ValidationError, match="不在您的管辖范围内"):
        actions.add_member(sample_orgs["good"], org_people["dong"][1], actor=staff["yiwu_cadre"])
    with pytest.raises(ValidationError, match="不在您的管辖范围内"):
        actions.add_member(sample_orgs["dong"], org_people["dong"][1], actor=staff["yiwu_cadre"])


def test_group_members_and_cycles(sample_orgs, world):
    federation = make_org(world["330782"], "义乌青年社会组织联合会", type_name="公益慈善")
    actions.add_group_member(federation, sample_orgs["good"])
    actions.add_group_member(sample_orgs["good"], sample_orgs["arts"])
    with pytest.raises(ValidationError, match="自己"):
        actions.add_group_member(federation, federation)
    with pytest.raises(ValidationError, match="已是"):
        actions.add_group_member(federation, sample_orgs["good"])
    # arts is (indirectly) a member of the federation: the federation cannot join arts.
    with pytest.raises(ValidationError, match="不能互为会员"):
        actions.add_group_member(sample_orgs["arts"], federation)
    counted = Organization.objects.with_counts().get(pk=federation.pk)
    assert counted.group_member_count == 1
    link = GroupMembership.objects.get(organization=federation)
    actions.end_group_membership(link)
    assert Organization.objects.with_counts().get(pk=federation.pk).group_member_count == 0


# --- 四有 -----------------------------------------------------------------------------------------


class FakeActivities:
    """An activity source as the activities app will register it."""

    def __init__(self, active_ids=(), held=None):
        self.active_ids = set(active_ids)
        self.held = held or {}
        self.since = None

    def active_since(self, since):
        self.since = since
        return list(self.active_ids)

    def held_in_month(self, org_ids, month):
        return {i: self.held.get((i, month), []) for i in org_ids}


@pytest.fixture
def activity_source():
    before = hooks.activity_source()
    source = FakeActivities()
    hooks.register_activity_source(source)
    yield source
    hooks.register_activity_source(before)


def test_four_have_without_activities(sample_orgs):
    rows = {o.pk: o for o in Organization.objects.with_four_have()}
    good, bare, arts = (
        rows[sample_orgs["good"].pk],
        rows[sample_orgs["bare"].pk],
        rows[sample_orgs["arts"].pk],
    )
    assert (good.has_leader, good.has_venue, good.has_team, good.has_activity, good.four_have) == (
        True,
        True,
        True,
        None,
        True,
    )
    assert (bare.has_leader, bare.has_venue, bare.has_team, bare.four_have) == (False, False, False, False)
    assert (arts.has_venue, arts.has_team, arts.four_have) == (True, False, False)
    failing = set(Organization.objects.failing_four_have().values_list("name", flat=True))
    assert failing == {"义乌青年创业联合会", "华新社区文艺队"}
    assert set(Organization.objects.passing_four_have().values_list("pk", flat=True)) == {
        sample_orgs["good"].pk,
        sample_orgs["dong"].pk,
    }
    assert not Organization.objects.failing_criterion(FourHave.ACTIVITY).exists()
    status = sample_orgs["good"].four_have_status()
    assert status == {"leader": True, "venue": True, "team": True, "activity": None, "ok": True}


def test_four_have_team_size_is_a_setting(sample_orgs, settings):
    settings.TUANJU = {**settings.TUANJU, "ORG_MIN_MEMBERS": 7}
    assert not Organization.objects.with_four_have().get(pk=sample_orgs["good"].pk).four_have
    settings.TUANJU = {**settings.TUANJU, "ORG_MIN_MEMBERS": 2}
    bare = Organization.objects.with_four_have().get(pk=sample_orgs["bare"].pk)
    assert bare.has_team and not bare.four_have  # still no leader, no venue


def test_four_have_counts_only_current_members(sample_orgs):
    good = sample_orgs["good"]
    Membership.objects.filter(organization=good).update(left_on=date(2025, 1, 1))
    assert Organization.objects.with_four_have().get(pk=good.pk).has_team is False


def test_four_have_with_an_activity_source(sample_orgs, activity_source):
    activity_source.active_ids = {sample_orgs["dong"].pk}
    rows = {o.pk: o for o in Organization.objects.with_four_have(today=date(2026, 3, 31))}
    assert activity_source.since == date(2026, 1, 31)
    assert (
        rows[sample_orgs["good"].pk].has_activity is False and rows[sample_orgs["good"].pk].four_have is False
    )
    assert (
        rows[sample_orgs["dong"].pk].has_activity is True and rows[sample_orgs["dong"].pk].four_have is True
    )
    missing = Organization.objects.failing_criterion(FourHave.ACTIVITY)
    assert sample_orgs["good"].pk in set(missing.values_list("pk", flat=True))
    assert sample_orgs["good"].four_have_status()["activity"] is False
    summary = actions.four_have_summary(Organization.objects.all())
    assert summary["activity_counted"] and summary["no_activity"] == 3


def test_months_before_clamps_to_month_end():
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 1, 15), 2) == date(2025, 11, 15)
    assert months_before(date(2024, 4, 30), 2) == date(2024, 2, 29)


def test_four_have_summary(sample_orgs):
    summary = actions.four_have_summary(Organization.objects.all())
    assert summary["total"] == 4 and summary["passing"] == 2 and summary["failing"] == 2
    assert summary["no_leader"] == 2 and summary["no_venue"] == 1 and summary["no_team"] == 2
    assert summary["no_activity"] is None and summary["min_members"] == 5


# --- Projects and political absorption ----------------------------------------------------------


def test_projects_validation_and_audit(sample_orgs):
    org = sample_orgs["good"]
    data = {
        "title": "困境儿童陪伴计划",
        "funder": "义乌市民政局",
        "amount": Decimal("120000.00"),
        "starts_on": date(2025, 3, 1),
        "ends_on": date(2025, 12, 31),
        "status": "ongoing",
        "deliverables": "陪伴100名儿童",
    }
    project = actions.save_project(ServiceProject(organization=org), data=data)
    assert AuditEvent.objects.filter(object_type="organizations.serviceproject", action="create").count() == 1
    with pytest.raises(ValidationError) as exc:
        actions.save_project(ServiceProject(organization=org), data={**data, "ends_on": date(2025, 1, 1)})
    assert exc.value.message_dict["ends_on"] == ["结束日期不能早于开始日期"]
    with pytest.raises(ValidationError) as exc:
        actions.save_project(ServiceProject(organization=org), data={**data, "amount": Decimal("-1")})
    assert "amount" in exc.value.message_dict
    actions.delete_project(project)
    assert not ServiceProject.objects.exists()


def test_absorption_requires_a_member_or_the_leader(sample_orgs, org_people):
    org = sample_orgs["good"]
    leader, member, outsider = org_people["yiwu"][0], org_people["yiwu"][3], org_people["yiwu"][10]
    actions.save_absorption(
        PoliticalAbsorption(),
        data={
            "organization": org,
            "person": leader,
            "kind": AbsorptionKind.NPC,
            "level": "county",
            "year": 2024,
        },
    )
    actions.save_absorption(
        PoliticalAbsorption(),
        data={
            "organization": org,
            "person": member,
            "kind": AbsorptionKind.PARTY_RECOMMENDATION,
            "level": "",
            "year": 2025,
        },
    )
    with pytest.raises(ValidationError) as exc:
        actions.save_absorption(
            PoliticalAbsorption(),
            data={
                "organization": org,
                "person": outsider,
                "kind": AbsorptionKind.CPPCC,
                "level": "",
                "year": 2025,
            },
        )
    assert "不是“稠城青年志愿服务队”的负责人或在册会员" in exc.value.message_dict["person"][0]
    with pytest.raises(ValidationError) as exc:
        actions.save_absorption(
            PoliticalAbsorption(),
            data={
                "organization": org,
                "person": leader,
                "kind": AbsorptionKind.NPC,
                "level": "county",
                "year": 2024,
            },
        )
    assert "已存在" in exc.value.message_dict["kind"][0]
    with pytest.raises(ValidationError) as exc:
        actions.save_absorption(
            PoliticalAbsorption(),
            data={
                "organization": org,
                "person": leader,
                "kind": AbsorptionKind.YOUTH_FEDERATION,
                "level": "",
                "year": 1900,
            },
        )
    assert exc.value.message_dict["year"] == ["年份不合理"]


# --- Roll-ups ---------------------------------------------------------------------------------------


def test_member_rollup_reaches_every_ancestor(sample_orgs, world):
    yiwu = world["330782"]
    rollup = actions.member_rollup(world["330000"])
    town, tier1 = world["330782001"], world["330782001001"]
    assert rollup[yiwu.path] == {"organizations": 3, "members": 8, "group_members": 0}
    assert rollup[town.path] == {"organizations": 2, "members": 6, "group_members": 0}
    assert rollup[tier1.path] == {"organizations": 1, "members": 0, "group_members": 0}
    assert rollup[world["330783"].path]["members"] == 6
    assert rollup[world["330000"].path] == {"organizations": 4, "members": 14, "group_members": 0}
    assert rollup[world["330700"].path]["organizations"] == 4
    assert unit("330782002").path not in rollup
    # A stopped organization no longer counts.
    actions.save_organization(sample_orgs["bare"], data={"is_active": False})
    assert actions.member_rollup(yiwu)[yiwu.path] == {"organizations": 2, "members": 6, "group_members": 0}


def test_member_rollup_agrees_with_child_rollup(sample_orgs, world):
    yiwu = world["330782"]
    rollup = actions.member_rollup(yiwu)
    direct = yiwu.child_rollup(Membership.objects.filter(left_on__isnull=True), "organization__unit__path")
    for path, n in direct.items():
        assert rollup[path]["members"] == n


def test_by_unit_rows(sample_orgs, org_people, world):
    yiwu = world["330782"]
    actions.save_project(
        ServiceProject(organization=sample_orgs["good"]),
        data={
            "title": "项目",
            "funder": "团市委",
            "amount": Decimal(5000),
            "starts_on": date(2025, 1, 1),
            "ends_on": date(2025, 6, 30),
            "status": "completed",
        },
    )
    actions.save_absorption(
        PoliticalAbsorption(),
        data={
            "organization": sample_orgs["good"],
            "person": org_people["yiwu"][0],
            "kind": AbsorptionKind.YOUTH_FEDERATION,
            "year": 2025,
        },
    )
    total, rows = actions.by_unit(yiwu, Organization.objects.all())
    assert (total.organizations, total.failing, total.members, total.projects) == (3, 2, 8, 1)
    assert total.absorptions == {AbsorptionKind.YOUTH_FEDERATION: 1}
    by_code = {row.unit.code: row for row in rows}
    chengcheng = by_code["330782001"]
    assert (chengcheng.organizations, chengcheng.failing, chengcheng.members) == (2, 1, 6)
    assert chengcheng.project_amount == Decimal(5000)
    assert chengcheng.absorption_total == 1
    assert by_code["330782002"].organizations == 0


def test_person_in_several_organizations_counts_in_each(sample_orgs, org_people, world):
    actions.add_member(sample_orgs["arts"], org_people["yiwu"][0])
    assert actions.member_rollup(world["330782"])[world["330782"].path]["members"] == 9


def test_units_in_other_counties_do_not_leak_into_rollups(sample_orgs, world):
    rollup = actions.member_rollup(world["330782"], Organization.objects.all())
    assert all(path.startswith(world["330782"].path) for path in rollup)
    assert not any(OrgUnit.objects.filter(path=p, code__startswith="330783").exists() for p in rollup)


def test_add_person_helper_is_deterministic(world):
    first = add_person(world["330782"], "测试人", 77)
    assert first.resident_id_masked.startswith("330782")
    fill_members(make_org(world["330782"], "测试组织"), [first])


@pytest.mark.parametrize("with_source", [False, True])
def test_org_facts_agree_with_the_queryset(sample_orgs, with_source):
    before = hooks.activity_source()
    if with_source:
        hooks.register_activity_source(
            FakeActivities(active_ids={sample_orgs["good"].pk, sample_orgs["bare"].pk})
        )
    try:
        annotated = {o.pk: o for o in Organization.objects.with_four_have()}
        facts = actions.org_facts(Organization.objects.all())
    finally:
        hooks.register_activity_source(before)
    assert len(facts) == len(annotated) == 4
    for f in facts:
        o = annotated[f.pk]
        assert (f.has_leader, f.has_venue, f.has_team, f.has_activity, f.four_have) == (
            o.has_leader,
            o.has_venue,
            o.has_team,
            o.has_activity,
            o.four_have,
        )
        assert f.members == o.member_count and f.group_members == o.group_member_count
