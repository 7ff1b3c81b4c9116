"""Staff UI of organizations and alliances: pages, forms, scope (404 / empty) and roles (403)."""

from __future__ import annotations

import io
from datetime import date
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from python_calamine import CalamineWorkbook
from test_organizations_fixtures import CODE_B, build_alliance, society_pool, unit

from tuanju.audit.models import AuditEvent
from tuanju.organizations import actions, uscc
from tuanju.organizations.models import (
    Alliance,
    AllianceMember,
    DutyAssignment,
    JointMeeting,
    Membership,
    Organization,
    PoliticalAbsorption,
    ServiceProject,
)

pytest_plugins = ["test_organizations_fixtures"]
pytestmark = pytest.mark.usefixtures("no_activities")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def names(response):
    return [org.name for org in response.context["page_obj"]]


def url(name, *args, **params):
    return reverse(f"organizations:{name}", args=args) + ("?" + urlencode(params) if params else "")


def sheet_rows(response):
    data = b"".join(response.streaming_content)
    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()


# --- List ------------------------------------------------------------------------------------------------


def test_list_is_scoped(staff, sample_orgs, client_for):
    response = client_for(staff["yiwu_cadre"]).get(url("list"))
    assert response.status_code == 200
    assert sorted(names(response)) == sorted(["稠城青年志愿服务队", "义乌青年创业联合会", "华新社区文艺队"])
    response = client_for(staff["dongyang_cadre"]).get(url("list"))
    assert names(response) == ["东阳青年志愿者协会"]
    assert "稠城" not in response.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"four_have": "fail"}, ["义乌青年创业联合会", "华新社区文艺队"]),
        ({"four_have": "pass"}, ["稠城青年志愿服务队"]),
        ({"missing": "leader"}, ["义乌青年创业联合会", "华新社区文艺队"]),
        ({"missing": "venue"}, ["义乌青年创业联合会"]),
        ({"type": "文艺体育"}, ["华新社区文艺队"]),
        ({"registration": "registered"}, ["稠城青年志愿服务队"]),
        ({"q": "ccqn"}, ["稠城青年志愿服务队"]),
        ({"q": "创业"}, ["义乌青年创业联合会"]),
        ({"unit": "330782001"}, ["稠城青年志愿服务队", "华新社区文艺队"]),
        ({"unit": "330783"}, []),
        ({"sort": "-members"}, ["稠城青年志愿服务队", "义乌青年创业联合会", "华新社区文艺队"]),
    ],
)
def test_list_filters(staff, sample_orgs, client_for, params, expected):
    response = client_for(staff["yiwu_cadre"]).get(url("list", **params))
    got = names(response)
    assert (got if "sort" in params else sorted(got)) == (expected if "sort" in params else sorted(expected))


def test_search_by_credit_code_prefix(staff, sample_orgs, client_for):
    response = client_for(staff["yiwu_cadre"]).get(url("list", q=sample_orgs["good"].uscc[:10]))
    assert names(response) == ["稠城青年志愿服务队"]


def test_stopped_organizations_are_hidden_by_default(staff, sample_orgs, client_for):
    actions.save_organization(sample_orgs["arts"], data={"is_active": False})
    client = client_for(staff["yiwu_cadre"])
    assert "华新社区文艺队" not in names(client.get(url("list")))
    assert names(client.get(url("list", state="inactive"))) == ["华新社区文艺队"]


def test_list_shows_badges_and_summary(staff, sample_orgs, client_for):
    content = client_for(staff["yiwu_cadre"]).get(url("list")).content.decode()
    assert "4-have met" in content or "四有" in content
    response = client_for(staff["yiwu_cadre"]).get(url("list"))
    assert response.context["summary"]["passing"] == 1 and response.context["summary"]["failing"] == 2


# --- Detail, scope, roles --------------------------------------------------------------------------------


def test_detail_and_its_sections(staff, sample_orgs, client_for):
    org = sample_orgs["good"]
    actions.save_project(
        ServiceProject(organization=org),
        data={
            "title": "关爱行动",
            "funder": "义乌市民政局",
            "amount": 30000,
            "starts_on": date(2025, 1, 1),
            "ends_on": date(2025, 12, 31),
            "status": "ongoing",
        },
    )
    response = client_for(staff["yiwu_cadre"]).get(url("detail", org.pk))
    assert response.status_code == 200
    content = response.content.decode()
    for text in ("稠城青年之家", "关爱行动", "138****5678", "张伟", org.uscc):
        assert text in content
    assert "13812345678" not in content
    assert response.context["member_count"] == 6
    assert response.context["status"]["ok"] is True
    assert [e.action for e in response.context["history"]][-1] == "create"


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("detail", "get"),
        ("edit", "get"),
        ("logo", "get"),
        ("reveal", "post"),
        ("member-add", "post"),
        ("group-add", "post"),
        ("project-create", "get"),
        ("absorption-create", "get"),
    ],
)
def test_other_county_gets_404(staff, sample_orgs, client_for, name, method):
    client = client_for(staff["dongyang_cadre"])
    response = getattr(client, method)(url(name, sample_orgs["good"].pk))
    assert response.status_code == 404


def test_member_routes_of_another_county_are_404(staff, sample_orgs, client_for):
    membership = Membership.objects.filter(organization=sample_orgs["good"]).first()
    client = client_for(staff["dongyang_cadre"])
    assert client.get(url("member-edit", sample_orgs["good"].pk, membership.pk)).status_code == 404
    assert (
        client.post(
            url("member-leave", sample_orgs["good"].pk, membership.pk), {"left_on": "2025-01-01"}
        ).status_code
        == 404
    )
    # A membership id under the wrong organization is a 404 too, even in scope.
    assert (
        client_for(staff["yiwu_cadre"])
        .get(url("member-edit", sample_orgs["bare"].pk, membership.pk))
        .status_code
        == 404
    )


def test_export_of_another_county_is_empty(staff, sample_orgs, client_for):
    rows = sheet_rows(client_for(staff["dongyang_cadre"]).get(url("export")))
    assert [r[0] for r in rows[1:]] == ["东阳青年志愿者协会"]


def test_by_unit_of_another_county_is_404(staff, sample_orgs, client_for):
    assert client_for(staff["dongyang_cadre"]).get(url("by-unit", unit="330782")).status_code == 404


@pytest.mark.parametrize("name", ["create", "import"])
def test_viewer_may_not_write(staff, client_for, name, world):
    client = client_for(staff["yiwu_viewer"])
    assert client.get(url(name)).status_code == 403
    assert client.post(url(name), {}).status_code == 403


def test_viewer_may_not_change_members(staff, sample_orgs, org_people, client_for):
    client = client_for(staff["yiwu_viewer"])
    response = client.post(
        url("member-add", sample_orgs["arts"].pk),
        {"person": org_people["yiwu"][1].name, "role": "member", "joined_on": "2025-01-01"},
    )
    assert response.status_code == 403
    assert client.get(url("detail", sample_orgs["arts"].pk)).status_code == 200
    assert "Add member" not in client.get(url("detail", sample_orgs["arts"].pk)).content.decode()


# --- Create and edit --------------------------------------------------------------------------------------


def form_data(**overrides):
    data = {
        "name": "江东青年电竞社",
        "unit": "330782002",
        "org_type": "",
        "registration_status": "registered",
        "uscc": CODE_B,
        "founded_on": "2023-05-04",
        "venue": "江东青年之家",
        "contact_name": "王芳",
        "contact_phone": "13900001111",
        "leader": "",
        "tags": "电竞，社区",
        "introduction": "组织青年电竞赛事",
        "charter": "第一条 本社团名称为江东青年电竞社。",
        "is_league_affiliated": "on",
        "is_incubation_base": "",
        "is_cloud_resident": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


def test_create_through_the_form(staff, org_people, client_for, world):
    from tuanju.organizations.models import OrgType

    client = client_for(staff["yiwu_cadre"])
    esports = OrgType.objects.get(name="电竞")
    response = client.post(url("create"), form_data(org_type=esports.pk, leader="13800000002"))
    assert response.status_code == 302, response.context["form"].errors
    org = Organization.objects.get(name="江东青年电竞社")
    assert org.leader == org_people["yiwu"][1]
    assert org.contact_phone_masked == "139****1111"
    assert org.is_cloud_resident and not org.is_incubation_base
    assert sorted(org.tags.values_list("name", flat=True)) == ["电竞", "社区"]
    assert AuditEvent.objects.filter(
        actor=staff["yiwu_cadre"], action="create", object_id=str(org.pk)
    ).exists()


def test_form_errors_are_chinese(staff, client_for, world):
    from tuanju.organizations.models import OrgType

    client = client_for(staff["yiwu_cadre"])
    bad = CODE_B[:17] + ("0" if CODE_B[17] != "0" else "1")
    response = client.post(
        url("create"),
        form_data(org_type=OrgType.objects.first().pk, uscc=bad, contact_phone="12345", leader="无此人"),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["uscc"] == ["统一社会信用代码校验位错误"]
    assert "手机号" in errors["contact_phone"][0]
    assert "找不到“无此人”" in errors["leader"][0]
    response = client.post(
        url("create"), form_data(org_type=OrgType.objects.first().pk, uscc="", unit="330783001")
    )
    errors = response.context["form"].errors
    assert errors["uscc"] == ["民政登记的组织必须填写统一社会信用代码"]
    assert "没有编码为“330783001”的单位" in errors["unit"][0]


def test_edit_keeps_phone_and_leader_when_unchanged(staff, sample_orgs, client_for):
    org = sample_orgs["good"]
    client = client_for(staff["yiwu_cadre"])
    page = client.get(url("edit", org.pk))
    initial = page.context["form"].initial
    data = {k: v for k, v in initial.items() if v not in (None, "", False)}
    data.update(
        org_type=org.org_type_id, venue="新场所", founded_on="", is_active="on", is_league_affiliated="on"
    )
    response = client.post(url("edit", org.pk), data)
    assert response.status_code == 302, response.context["form"].errors
    org.refresh_from_db()
    assert org.venue == "新场所" and org.leader_id is not None
    assert org.contact_phone_masked == "138****5678"


def test_logo_upload_and_serving(staff, sample_orgs, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    org = sample_orgs["bare"]
    client = client_for(staff["yiwu_cadre"])
    data = {
        **{
            k: v
            for k, v in client.get(url("edit", org.pk)).context["form"].initial.items()
            if v not in (None, "", False)
        }
    }
    data.update(org_type=org.org_type_id, is_active="on")
    data["logo"] = SimpleUploadedFile("logo.png", PNG, content_type="image/png")
    assert client.post(url("edit", org.pk), data).status_code == 302
    response = client.get(url("logo", org.pk))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert client_for(staff["dongyang_cadre"]).get(url("logo", org.pk)).status_code == 404
    data["logo"] = SimpleUploadedFile("evil.png", b"<svg onload=alert(1)>", content_type="image/png")
    response = client_for(staff["yiwu_cadre"]).post(url("edit", org.pk), data)
    assert response.context["form"].errors["logo"] == ["标志只能是PNG、JPEG、GIF或WebP图片"]


def test_reveal_contact_phone(staff, sample_orgs, client_for):
    response = client_for(staff["yiwu_admin"]).post(
        url("reveal", sample_orgs["good"].pk), HTTP_HX_REQUEST="true"
    )
    assert "13812345678" in response.content.decode()
    assert AuditEvent.objects.filter(action="view_pii", actor=staff["yiwu_admin"]).count() == 1
    assert client_for(staff["yiwu_cadre"]).post(url("reveal", sample_orgs["good"].pk)).status_code == 403


def test_export_masks_and_neutralizes_formulas(staff, sample_orgs, client_for, world):
    actions.save_organization(sample_orgs["arts"], data={"venue": '=HYPERLINK("http://x")'})
    rows = sheet_rows(client_for(staff["yiwu_cadre"]).get(url("export")))
    header, body = rows[0], {r[0]: r for r in rows[1:]}
    assert header[:6] == ["组织名称", "组织类型", "单位编码", "所属单位名称", "登记状态", "统一社会信用代码"]
    good = body["稠城青年志愿服务队"]
    assert good[header.index("联系电话")] == "138****5678"
    assert good[header.index("个人会员数")] == 6 and good[header.index("四有")] == "达标"
    arts = body["华新社区文艺队"]
    assert arts[header.index("活动场所")].startswith("'=")
    assert "有组织" in arts[header.index("未达标项")]
    unmasked = sheet_rows(client_for(staff["yiwu_admin"]).get(url("export", unmask=1)))
    assert "13812345678" in [r[unmasked[0].index("联系电话")] for r in unmasked[1:]]
    assert client_for(staff["yiwu_cadre"]).get(url("export", unmask=1)).status_code == 403
    assert AuditEvent.objects.filter(action="export", details__kind="organizations").count() == 2


# --- Members, projects, absorption -------------------------------------------------------------------------


def test_member_management(staff, sample_orgs, org_people, client_for):
    client = client_for(staff["yiwu_cadre"])
    org = sample_orgs["arts"]
    response = client.post(
        url("member-add", org.pk), {"person": "13800000010", "role": "backbone", "joined_on": "2025-03-01"}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(organization=org, person=org_people["yiwu"][9])
    response = client.post(
        url("member-add", org.pk), {"person": "13800000010", "role": "member", "joined_on": "2025-03-01"}
    )
    assert response.status_code == 400 and "已是" in response.content.decode()
    response = client.post(
        url("member-edit", org.pk, membership.pk), {"role": "vice", "joined_on": "2025-02-01"}
    )
    assert response.status_code == 302
    client.post(url("member-leader", org.pk, membership.pk))
    org.refresh_from_db()
    assert org.leader == org_people["yiwu"][9]
    client.post(url("member-leave", org.pk, membership.pk), {"left_on": "2025-06-01"})
    membership.refresh_from_db()
    assert membership.left_on == date(2025, 6, 1)
    former = client.get(url("detail", org.pk, former=1))
    assert former.context["former_count"] == 1


def test_ambiguous_person_lookup_asks_for_phone(staff, sample_orgs, org_people, client_for):
    from test_organizations_fixtures import add_person

    add_person(unit("330782002"), "张伟", 50)
    response = client_for(staff["yiwu_cadre"]).post(
        url("member-add", sample_orgs["arts"].pk),
        {"person": "zw", "role": "member", "joined_on": "2025-01-01"},
    )
    assert response.status_code == 400
    assert "请输入手机号或身份证号" in response.context["member_form"].errors["person"][0]


def test_group_member_through_the_ui(staff, sample_orgs, client_for):
    client = client_for(staff["yiwu_cadre"])
    response = client.post(
        url("group-add", sample_orgs["bare"].pk), {"member": "华新社区文艺队", "joined_on": "2025-01-01"}
    )
    assert response.status_code == 302
    response = client.post(
        url("group-add", sample_orgs["bare"].pk), {"member": "东阳青年志愿者协会", "joined_on": "2025-01-01"}
    )
    assert response.status_code == 400
    assert "找不到组织" in response.context["group_form"].errors["member"][0]


def test_projects_and_absorption_through_the_ui(staff, sample_orgs, org_people, client_for):
    client = client_for(staff["yiwu_cadre"])
    org = sample_orgs["good"]
    data = {
        "title": "青少年心理陪伴",
        "funder": "义乌市民政局",
        "amount": "80000",
        "starts_on": "2025-03-01",
        "ends_on": "2025-02-01",
        "status": "ongoing",
    }
    response = client.post(url("project-create", org.pk), data)
    assert response.context["form"].errors["ends_on"] == ["结束日期不能早于开始日期"]
    data["ends_on"] = "2025-12-31"
    assert client.post(url("project-create", org.pk), data).status_code == 302
    project = ServiceProject.objects.get()
    assert (
        client.post(url("project-edit", org.pk, project.pk), {**data, "status": "completed"}).status_code
        == 302
    )
    project.refresh_from_db()
    assert project.status == "completed"
    response = client.post(
        url("absorption-create", org.pk),
        {"person": org_people["yiwu"][2].pk, "kind": "yf", "level": "city", "year": "2025"},
    )
    assert response.status_code == 302
    entry = PoliticalAbsorption.objects.get()
    assert client.post(url("absorption-delete", org.pk, entry.pk)).status_code == 302
    assert client.post(url("project-delete", org.pk, project.pk)).status_code == 302
    assert not ServiceProject.objects.exists() and not PoliticalAbsorption.objects.exists()


def test_by_unit_page(staff, sample_orgs, client_for):
    response = client_for(staff["yiwu_cadre"]).get(url("by-unit"))
    assert response.status_code == 200
    assert response.context["unit"].code == "330782"
    assert sorted(names(response)) == ["义乌青年创业联合会", "华新社区文艺队"]
    rows = {row.unit.code: row for row in response.context["rows"]}
    assert rows["330782001"].members == 6
    response = client_for(staff["yiwu_cadre"]).get(url("by-unit", unit="330782001"))
    assert names(response) == ["华新社区文艺队"]


# --- Alliances ----------------------------------------------------------------------------------------------


@pytest.fixture
def alliance(world):
    pool = society_pool(unit("330782001"), 12)
    return build_alliance(world["330782"], pool, council=8)


def test_alliance_pages_are_scoped(staff, alliance, client_for):
    client = client_for(staff["yiwu_cadre"])
    response = client.get(url("alliance-list"))
    assert [row["alliance"].name for row in response.context["rows"]] == ["青年体育同好联盟"]
    detail = client.get(url("alliance-detail", alliance.pk))
    assert detail.status_code == 200
    assert len(detail.context["council"]) == 8 and len(detail.context["members"]) == 12
    assert "Alliance groups" in detail.content.decode() or "联盟" in detail.content.decode()
    other = client_for(staff["dongyang_cadre"])
    assert other.get(url("alliance-list")).context["rows"] == []
    for name in (
        "alliance-detail",
        "alliance-edit",
        "alliance-council",
        "alliance-schedule",
        "meeting-create",
    ):
        assert other.get(url(name, alliance.pk)).status_code == 404, name
    assert other.get(url("alliance-duty", alliance.pk, "2026-01")).status_code == 404


def test_create_alliance_through_the_form(staff, client_for, world):
    pool = society_pool(unit("330782001"), 3, prefix="电竞社")
    client = client_for(staff["yiwu_cadre"])
    response = client.post(
        url("alliance-create"),
        {
            "name": "青年电竞联盟",
            "field": "电竞",
            "unit": "330782",
            "leader": "电竞社01",
            "leader_join_method": "built",
            "founded_on": "2025-06-01",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    alliance = Alliance.objects.get(name="青年电竞联盟")
    assert alliance.leader == pool[0] and alliance.members.count() == 1


def test_council_form_shows_the_size_message(staff, alliance, client_for):
    client = client_for(staff["yiwu_cadre"])
    ids = list(alliance.members.values_list("organization_id", flat=True))
    response = client.post(url("alliance-council", alliance.pk), {"council": [str(i) for i in ids[:5]]})
    assert response.status_code == 400
    assert "理事会应由6至21家成员社团组成，当前选择了5家" in response.content.decode()
    order = {f"order_{i}": str(n) for n, i in enumerate(reversed(ids[:7]), start=1)}
    response = client.post(
        url("alliance-council", alliance.pk), {"council": [str(i) for i in ids[:7]], **order}
    )
    assert response.status_code == 302
    council = [m.organization_id for m in alliance.council()]
    assert council == list(reversed(ids[:7]))


def test_schedule_generation_and_duty_edit(staff, alliance, client_for):
    client = client_for(staff["yiwu_cadre"])
    response = client.post(url("alliance-schedule", alliance.pk), {"start": "2026-01", "months": "12"})
    assert response.status_code == 302
    assert DutyAssignment.objects.filter(alliance=alliance).count() == 12
    council = [m.organization for m in alliance.council()]
    response = client.post(
        url("alliance-duty", alliance.pk, "2026-05"), {"organization": council[7].pk, "theme": "五四青年节"}
    )
    assert response.status_code == 302
    may = DutyAssignment.objects.get(alliance=alliance, month=date(2026, 5, 1))
    assert (may.organization, may.theme) == (council[7], "五四青年节")
    response = client.post(url("alliance-duty", alliance.pk, "2026-05"), {"clear": "1"})
    assert not DutyAssignment.objects.filter(alliance=alliance, month=date(2026, 5, 1)).exists()
    page = client.get(url("alliance-schedule", alliance.pk, **{"from": "2026-01"}))
    assert len(page.context["rows"]) == 15


def test_viewer_sees_the_schedule_but_cannot_generate(staff, alliance, client_for):
    client = client_for(staff["yiwu_viewer"])
    assert client.get(url("alliance-schedule", alliance.pk)).status_code == 200
    assert (
        client.post(url("alliance-schedule", alliance.pk), {"start": "2026-01", "months": "12"}).status_code
        == 403
    )


def test_record_a_meeting(staff, alliance, client_for):
    client = client_for(staff["yiwu_cadre"])
    council = [m.organization_id for m in alliance.council()]
    response = client.post(
        url("meeting-create", alliance.pk),
        {"held_on": "2025-03-10", "status": "held", "attendees": council[:6]},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["minutes"] == ["记录已召开的联席会议时请填写会议纪要"]
    response = client.post(
        url("meeting-create", alliance.pk),
        {
            "held_on": "2025-03-10",
            "status": "held",
            "attendees": council[:6],
            "minutes": "通报一季度活动",
            "decisions": "四月植树",
        },
    )
    assert response.status_code == 302
    meeting = JointMeeting.objects.get()
    assert meeting.attendees.count() == 6
    viewer = client_for(staff["yiwu_viewer"]).get(url("meeting-edit", alliance.pk, meeting.pk))
    assert viewer.status_code == 200 and "通报一季度活动" in viewer.content.decode()


def test_alliance_member_management(staff, alliance, client_for):
    client = client_for(staff["yiwu_cadre"])
    extra = society_pool(unit("330782002"), 1, prefix="新社团")[0]
    response = client.post(
        url("alliance-member-add", alliance.pk),
        {"organization": "新社团01", "join_method": "guided", "joined_on": "2025-04-01"},
    )
    assert response.status_code == 302
    member = AllianceMember.objects.get(alliance=alliance, organization=extra)
    response = client.post(
        url("alliance-member-edit", alliance.pk, member.pk),
        {"join_method": "reorganized", "joined_on": "2025-04-02"},
    )
    assert response.status_code == 302
    assert client.post(url("alliance-member-remove", alliance.pk, member.pk)).status_code == 302
    assert not AllianceMember.objects.filter(pk=member.pk).exists()
    leader = AllianceMember.objects.get(alliance=alliance, organization=alliance.leader)
    client.post(url("alliance-member-remove", alliance.pk, leader.pk))
    assert AllianceMember.objects.filter(pk=leader.pk).exists()


def test_alliance_groups_hook(staff, alliance, client_for):
    from tuanju.organizations import hooks

    def panel(request, item):
        return hooks.Panel(title="理事群", template="organizations/_four_have.html", context={})

    hooks.register_alliance_panel(panel)
    try:
        response = client_for(staff["yiwu_cadre"]).get(url("alliance-detail", alliance.pk))
    finally:
        hooks.unregister_alliance_panel(panel)
    assert [p.title for p in response.context["panels"]] == ["理事群"]
    assert "理事群" in response.content.decode()


def test_nav_links_exist(staff, client_for, world):
    content = client_for(staff["yiwu_cadre"]).get(url("list")).content.decode()
    assert reverse("organizations:alliance-list") in content
    assert uscc  # the module is importable from the UI tests as well


def test_member_list_is_paginated_and_searchable(staff, sample_orgs, org_people, client_for, settings):
    from tuanju.organizations import views

    client = client_for(staff["yiwu_cadre"])
    org = sample_orgs["good"]
    original = views.MEMBERS_PER_PAGE
    views.MEMBERS_PER_PAGE = 4
    try:
        first = client.get(url("detail", org.pk))
        second = client.get(url("detail", org.pk, mpage=2))
    finally:
        views.MEMBERS_PER_PAGE = original
    assert len(first.context["members"]) == 4 and len(second.context["members"]) == 2
    found = client.get(url("detail", org.pk, mq="王芳"))
    assert [m.person.name for m in found.context["members"]] == ["王芳"]
