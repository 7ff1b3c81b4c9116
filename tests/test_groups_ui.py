"""C5 staff pages and API: coverage, build button, group list/detail/edit, liaisons, export; scope everywhere."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from huey.contrib.djhuey import HUEY
from python_calamine import CalamineWorkbook
from test_groups_support import YIWU_TOWER, add_person, make_tower

from tuanju.audit.models import AuditEvent
from tuanju.groups import actions
from tuanju.groups.models import ChatGroup, GroupKind, GroupLiaison, GroupMember


@pytest.fixture
def immediate_huey():
    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


@pytest.fixture
def built(world, staff):
    units = make_tower(world)
    people = {
        "a": add_person(units["330782002001001001"], "甲一", phone="13800000001"),
        "b": add_person(units["330782002001001001"], "乙二", phone="13800000002"),
        "dy": add_person(units["330783001001001"], "东阳人", phone="13800000006"),
    }
    actions.build_towers(units["330700"])
    actions.place_people(units["330700"])
    groups = {g.unit.code: g for g in ChatGroup.objects.towers().select_related("unit")}
    return {"units": units, "people": people, "groups": groups}


def yiwu_group(built):
    return built["groups"]["330782002001001001"]


def dongyang_group(built):
    return built["groups"]["330783001001"]


# --- Coverage page and build ---------------------------------------------------------------------------


def test_tower_page_shows_coverage_of_the_users_unit(built, staff, client_for):
    response = client_for(staff["yiwu_cadre"]).get(reverse("groups:tower"))
    assert response.status_code == 200
    cov = response.context["cov"]
    assert cov.unit.code == "330782" and cov.total.groups == YIWU_TOWER and cov.total.placed == 2
    content = response.content.decode()
    assert "稠城街道" in content and "江东街道" in content
    assert reverse("groups:build", args=[cov.unit.pk]) in content  # the one-click build button


def test_tower_page_for_another_county_is_a_404(built, staff, client_for):
    client = client_for(staff["dongyang_cadre"])
    yiwu = built["units"]["330782"]
    assert client.get(reverse("groups:tower-unit", args=[yiwu.pk])).status_code == 404
    assert client.get(reverse("groups:tower") + "?unit=330782").status_code == 404
    assert client.get(reverse("groups:missing", args=[yiwu.pk])).status_code == 404
    assert client.post(reverse("groups:build", args=[yiwu.pk])).status_code == 404
    assert client.post(reverse("groups:place", args=[yiwu.pk])).status_code == 404
    response = client.get(reverse("groups:tower"))
    assert response.context["cov"].unit.code == "330783"


def test_build_button_builds_and_places(world, staff, client_for, immediate_huey):
    units = make_tower(world)
    add_person(units["330782002001001001"], "甲一", phone="13800000001")
    client = client_for(staff["yiwu_cadre"])
    response = client.post(reverse("groups:build", args=[units["330782"].pk]), {"place": "1"}, follow=True)
    assert response.status_code == 200
    assert ChatGroup.objects.towers().count() == YIWU_TOWER
    assert GroupMember.objects.count() == 1
    assert "9" in str(list(response.context["messages"])[0])
    # A second click builds nothing more.
    client.post(reverse("groups:build", args=[units["330782"].pk]))
    assert ChatGroup.objects.towers().count() == YIWU_TOWER


def test_viewers_cannot_build(world, staff, client_for):
    units = make_tower(world)
    response = client_for(staff["yiwu_viewer"]).post(reverse("groups:build", args=[units["330782"].pk]))
    assert response.status_code == 403
    assert not ChatGroup.objects.exists()


def test_missing_units_list(world, staff, client_for):
    units = make_tower(world)
    actions.build_towers(units["330782002"])
    response = client_for(staff["yiwu_cadre"]).get(reverse("groups:missing", args=[units["330782"].pk]))
    assert [u.code for u in response.context["page_obj"]] == [
        "330782001001",
        "330782001001001",
        "330782001001001001",
    ]


# --- Group list, export, bulk liaison --------------------------------------------------------------------


def test_group_list_is_scoped_and_filtered(built, staff, client_for):
    client = client_for(staff["yiwu_cadre"])
    response = client.get(reverse("groups:list"))
    assert response.context["page_obj"].paginator.count == YIWU_TOWER
    response = client.get(reverse("groups:list"), {"level": "tier3"})
    assert response.context["page_obj"].paginator.count == 4
    response = client.get(reverse("groups:list"), {"unit": "330782002", "liaison": "none"})
    assert response.context["page_obj"].paginator.count == 6
    response = client.get(reverse("groups:list"), {"q": "上村"})
    assert {g.unit.code for g in response.context["page_obj"]} == {
        "330782002001001",
        "330782002001001001",
        "330782002001001002",
    }
    other = client_for(staff["dongyang_cadre"]).get(reverse("groups:list"), {"unit": "330782"})
    assert other.context["page_obj"].paginator.count == 0


def test_export_is_scoped(built, staff, client_for):
    response = client_for(staff["dongyang_cadre"]).get(reverse("groups:export"))
    assert response.status_code == 200
    rows = (
        CalamineWorkbook.from_filelike(io.BytesIO(b"".join(response.streaming_content)))
        .get_sheet_by_index(0)
        .to_python()
    )
    assert rows[0][0] == "群名称"
    assert len(rows) == 1 + 2  # Dongyang's two groups
    assert {r[3] for r in rows[1:]} == {"330783001001", "330783001001001"}
    assert AuditEvent.objects.filter(action="export", details__kind="groups").exists()


def test_bulk_liaison_assignment(built, staff, client_for):
    client = client_for(staff["yiwu_cadre"])
    ids = [g.pk for code, g in built["groups"].items() if code.startswith("330782002")]
    response = client.post(
        reverse("groups:bulk-liaison"),
        {"groups": ids, "person": "13800000001", "next": reverse("groups:list")},
    )
    assert response.status_code == 302
    assert GroupLiaison.objects.filter(person=built["people"]["a"]).count() == 6
    # A group outside the scope cannot be selected.
    response = client.post(
        reverse("groups:bulk-liaison"), {"groups": [dongyang_group(built).pk], "user": staff["yiwu_cadre"].pk}
    )
    assert not GroupLiaison.objects.filter(group=dongyang_group(built)).exists()
    # Someone outside the scope cannot be made a liaison.
    client.post(reverse("groups:bulk-liaison"), {"groups": ids, "person": "13800000006"})
    assert not GroupLiaison.objects.filter(person=built["people"]["dy"]).exists()


# --- Group detail and edits -----------------------------------------------------------------------------


def test_group_detail_and_scope(built, staff, client_for):
    group = yiwu_group(built)
    response = client_for(staff["yiwu_viewer"]).get(reverse("groups:detail", args=[group.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "甲一" in content and "138****0001" in content and "13800000001" not in content
    client = client_for(staff["dongyang_cadre"])
    for name in ("detail", "edit"):
        assert client.get(reverse(f"groups:{name}", args=[group.pk])).status_code == 404
    for name in ("owner", "liaison-add", "member-add"):
        assert client.post(reverse(f"groups:{name}", args=[group.pk]), {"person": "甲一"}).status_code == 404
    member = GroupMember.objects.filter(group=group).first()
    assert client.post(reverse("groups:member-remove", args=[group.pk, member.pk])).status_code == 404


def test_viewer_cannot_change_a_group(built, staff, client_for):
    group = yiwu_group(built)
    client = client_for(staff["yiwu_viewer"])
    assert client.get(reverse("groups:edit", args=[group.pk])).status_code == 403
    assert client.post(reverse("groups:liaison-add", args=[group.pk]), {"person": "甲一"}).status_code == 403
    assert client.post(reverse("groups:create"), {"name": "x"}).status_code == 403


def test_edit_group_sets_the_robot_without_echoing_it(built, staff, client_for):
    group = yiwu_group(built)
    client = client_for(staff["yiwu_cadre"])
    url = "https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789"
    response = client.post(
        reverse("groups:edit", args=[group.pk]),
        {
            "name": group.name,
            "platform": "dingtalk",
            "external_name": "第1村民小组群",
            "webhook_url": url,
            "webhook_secret": "SECabc",
        },
    )
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.reveal_webhook_url() == url and group.reveal_webhook_secret() == "SECabc"
    page = client.get(reverse("groups:edit", args=[group.pk])).content.decode()
    assert url not in page and "SECabc" not in page and "oapi.dingtalk.com/…6789" in page
    # Wrong platform for a robot: a Chinese error on the form.
    response = client.post(
        reverse("groups:edit", args=[group.pk]),
        {"name": group.name, "platform": "wechat", "webhook_url": "https://qyapi.weixin.qq.com/x"},
    )
    assert response.status_code == 200 and "没有群机器人" in response.content.decode()


def test_liaisons_owner_and_members_through_the_page(built, staff, client_for):
    group = built["groups"]["330782002001001"]
    client = client_for(staff["yiwu_cadre"])
    client.post(
        reverse("groups:liaison-add", args=[group.pk]), {"user": staff["yiwu_cadre"].pk, "note": "市团委干部"}
    )
    client.post(reverse("groups:liaison-add", args=[group.pk]), {"person": "乙二"})
    group.refresh_from_db()
    assert group.liaison_count == 2
    client.post(reverse("groups:owner", args=[group.pk]), {"person": "甲一"})
    group.refresh_from_db()
    assert group.owner_person == built["people"]["a"]
    response = client.post(reverse("groups:member-add", args=[group.pk]), {"lines": "13800000001\n乙二\n"})
    assert response.status_code == 302
    assert group.members.count() == 2
    group.refresh_from_db()
    assert group.member_count == 2 and group.placed_count == 0  # their home groups are the tier-3 group
    # Unknown or out-of-scope people are reported, nothing is added.
    response = client.post(
        reverse("groups:member-add", args=[group.pk]), {"lines": "13800000006"}, follow=True
    )
    assert any("找不到" in str(m) for m in response.context["messages"])
    liaison = GroupLiaison.objects.get(group=group, user=staff["yiwu_cadre"])
    client.post(reverse("groups:liaison-remove", args=[group.pk, liaison.pk]))
    group.refresh_from_db()
    assert group.liaison_count == 1


def test_create_organization_group(world, staff, client_for):
    client = client_for(staff["yiwu_cadre"])
    response = client.post(
        reverse("groups:create"),
        {
            "kind": "alliance_members",
            "unit": "330782",
            "name": "青年志愿服务联盟·社团成员群",
            "platform": "wework",
        },
    )
    group = ChatGroup.objects.get(kind=GroupKind.ALLIANCE_MEMBERS)
    assert response.status_code == 302 and group.unit.code == "330782"
    # A unit outside the scope is refused.
    response = client.post(
        reverse("groups:create"),
        {"kind": "organization", "unit": "330783", "name": "x", "platform": "wechat"},
    )
    assert response.status_code == 200 and ChatGroup.objects.count() == 1


# --- API -------------------------------------------------------------------------------------------------


def test_api_groups_list_detail_members_coverage(built, staff, client_for):
    client = client_for(staff["yiwu_cadre"])
    data = client.get("/api/v1/groups/", {"level": "tier3"}).json()
    assert data["count"] == 4
    group = yiwu_group(built)
    actions.update_group(
        group,
        data={"platform": "wework"},
        webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1",
    )
    detail = client.get(f"/api/v1/groups/{group.pk}/").json()
    assert detail["robot"] == {"configured": True, "status": "ok", "error": "", "checked_at": None}
    assert "key=k1" not in str(detail)
    assert detail["parent"] == built["groups"]["330782002001001"].pk
    members = client.get(f"/api/v1/groups/{group.pk}/members/").json()
    assert {m["name"] for m in members["results"]} == {"甲一", "乙二"}
    assert all("****" in m["phone"] for m in members["results"])
    coverage = client.get("/api/v1/groups/coverage/", {"unit": "330782002"}).json()
    assert coverage["total"]["groups"] == 6 and coverage["total"]["placed"] == 2


def test_api_scope(built, staff, client_for):
    client = client_for(staff["dongyang_cadre"])
    assert client.get("/api/v1/groups/").json()["count"] == 2
    group = yiwu_group(built)
    assert client.get(f"/api/v1/groups/{group.pk}/").status_code == 404
    assert client.get(f"/api/v1/groups/{group.pk}/members/").status_code == 404
    assert client.get("/api/v1/groups/coverage/", {"unit": "330782"}).status_code == 404
    assert client.get("/api/v1/groups/", {"unit": "330782"}).json()["count"] == 0
    client.logout()
    assert client.get("/api/v1/groups/").status_code in (401, 403)


def test_nav_links_resolve(world, staff, client_for):
    content = client_for(staff["yiwu_cadre"]).get(reverse("groups:list")).content.decode()
    assert reverse("groups:tower") in content and reverse("groups:community-list") in content
