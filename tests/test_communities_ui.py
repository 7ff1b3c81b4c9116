"""C6 staff pages and API: community list and page (every tab), approvals, QR/poster, member page with
the credit record, blacklist, export; a user of another county gets 404 and empty lists everywhere."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from python_calamine import CalamineWorkbook
from test_groups_support import add_person, make_tower, resident_id

from tuanju.groups import actions
from tuanju.groups.models import (
    BlacklistEntry,
    Community,
    CommunityCategory,
    CommunityMember,
    CommunityRole,
    CreditKind,
    MemberStatus,
)


@pytest.fixture
def setup(world, staff):
    make_tower(world)
    category = CommunityCategory.objects.get(name="兴趣爱好")
    yoga = actions.save_community(
        Community(),
        data={
            "unit": world["330782"],
            "name": "青年之家瑜伽课堂",
            "category": category,
            "requires_approval": True,
        },
        actor=staff["yiwu_cadre"],
    )
    dongyang = actions.save_community(
        Community(), data={"unit": world["330783"], "name": "东阳青年篮球群", "category": category}
    )
    zhang = add_person(
        world["330782001001"], "张伟", resident_id=resident_id("330782", 301), phone="13812345678"
    )
    li = add_person(world["330782001001"], "李娜", phone="13900001111")
    member = actions.join_community(yoga, name="张伟", phone="13812345678", accepted_charter=True).member
    pending = actions.join_community(yoga, name="李娜", phone="13900001111", accepted_charter=True).member
    actions.approve_members(yoga, CommunityMember.objects.filter(pk=member.pk), actor=staff["yiwu_cadre"])
    member.refresh_from_db()
    return {
        "yoga": yoga,
        "dongyang": dongyang,
        "zhang": zhang,
        "li": li,
        "member": member,
        "pending": pending,
    }


def test_list_is_scoped(setup, staff, client_for):
    response = client_for(staff["yiwu_cadre"]).get(reverse("groups:community-list"))
    assert [c.name for c in response.context["page_obj"]] == ["青年之家瑜伽课堂"]
    row = response.context["page_obj"][0]
    assert (row.active_count, row.pending_count) == (1, 1)
    other = client_for(staff["dongyang_cadre"]).get(reverse("groups:community-list"), {"q": "瑜伽"})
    assert list(other.context["page_obj"]) == []
    city = client_for(staff["city_admin"]).get(reverse("groups:community-list"))
    assert city.context["page_obj"].paginator.count == 2


@pytest.mark.parametrize("tab", ["members", "pending", "charter", "invite", "stats", "blacklist"])
def test_every_tab_renders(setup, staff, client_for, tab):
    response = client_for(staff["yiwu_cadre"]).get(
        reverse("groups:community", args=[setup["yoga"].pk]), {"tab": tab}
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "青年之家瑜伽课堂" in content
    if tab == "members":
        assert "张伟" in content and "138****5678" in content and "13812345678" not in content
    if tab == "pending":
        assert "李娜" in content
    if tab == "invite":
        assert "/h5/join/" in content and "data:image/svg+xml" in content


def test_members_grouped_by_role(setup, staff, client_for):
    actions.set_role(setup["member"], CommunityRole.PUBLICITY, actor=staff["yiwu_cadre"])
    response = client_for(staff["yiwu_cadre"]).get(reverse("groups:community", args=[setup["yoga"].pk]))
    leaders = {role: people for role, _label, people in response.context["leaders"]}
    assert [m.person.name for m in leaders["publicity"]] == ["张伟"] and leaders["owner"] == []
    assert list(response.context["page_obj"]) == []


def test_approve_and_reject_from_the_queue(setup, staff, client_for):
    client = client_for(staff["yiwu_cadre"])
    url = reverse("groups:community-decide", args=[setup["yoga"].pk])
    response = client.post(url, {"decision": "approve", "members": [setup["pending"].pk]})
    assert response.status_code == 302
    setup["pending"].refresh_from_db()
    assert setup["pending"].status == MemberStatus.ACTIVE
    # A membership of another community cannot be decided here.
    foreign = actions.join_community(
        setup["dongyang"], name="李娜", phone="13900001111", accepted_charter=True
    ).member
    client.post(url, {"decision": "reject", "members": [foreign.pk]})
    foreign.refresh_from_db()
    assert foreign.status == MemberStatus.PENDING


def test_viewer_and_other_county(setup, staff, client_for):
    yoga = setup["yoga"]
    viewer = client_for(staff["yiwu_viewer"])
    assert viewer.get(reverse("groups:community", args=[yoga.pk])).status_code == 200
    assert (
        viewer.post(reverse("groups:community-decide", args=[yoga.pk]), {"decision": "approve"}).status_code
        == 403
    )
    assert viewer.get(reverse("groups:community-edit", args=[yoga.pk])).status_code == 403
    viewer.logout()
    other = client_for(staff["dongyang_cadre"])
    member = setup["member"]
    for name in (
        "community",
        "community-edit",
        "community-qr-png",
        "community-qr-svg",
        "community-poster",
        "community-export",
    ):
        assert other.get(reverse(f"groups:{name}", args=[yoga.pk])).status_code == 404, name
    for name in (
        "community-charter",
        "community-reset-invites",
        "community-decide",
        "community-member-add",
        "community-blacklist-add",
    ):
        assert other.post(reverse(f"groups:{name}", args=[yoga.pk]), {"charter": "x"}).status_code == 404, (
            name
        )
    assert other.get(reverse("groups:community-member", args=[yoga.pk, member.pk])).status_code == 404
    for name in (
        "community-member-role",
        "community-member-remove",
        "community-member-warn",
        "community-member-blacklist",
    ):
        assert (
            other.post(
                reverse(f"groups:{name}", args=[yoga.pk, member.pk]), {"reason": "x", "role": "owner"}
            ).status_code
            == 404
        )
    entry = actions.blacklist(yoga, setup["li"], reason="违反公约", actor=staff["yiwu_cadre"])
    assert other.post(reverse("groups:community-blacklist-lift", args=[yoga.pk, entry.pk])).status_code == 404
    # A member id of another community is a 404 even under a visible community.
    theirs = actions.join_community(
        setup["dongyang"], name="张伟", phone="13812345678", accepted_charter=True
    ).member
    mine = client_for(staff["yiwu_cadre"])
    assert mine.get(reverse("groups:community-member", args=[yoga.pk, theirs.pk])).status_code == 404


def test_create_and_edit_community(world, staff, client_for):
    client = client_for(staff["yiwu_cadre"])
    category = CommunityCategory.objects.get(name="志愿服务")
    response = client.post(
        reverse("groups:community-create"),
        {
            "unit": "330782",
            "name": "小哥加油站志愿服务队",
            "category": category.pk,
            "requires_approval": "on",
            "is_open": "on",
            "absence_limit": "3",
            "platform": "wework",
        },
    )
    community = Community.objects.get(name="小哥加油站志愿服务队")
    assert response.status_code == 302 and community.chat_group.platform == "wework"
    response = client.post(
        reverse("groups:community-create"),
        {
            "unit": "330783",
            "name": "外县社群",
            "category": category.pk,
            "absence_limit": "3",
            "platform": "wechat",
        },
    )
    assert response.status_code == 200 and "管辖范围内没有" in response.content.decode()
    response = client.post(
        reverse("groups:community-edit", args=[community.pk]),
        {"unit": "330782", "name": "小哥加油站", "category": category.pk, "absence_limit": "4"},
    )
    community.refresh_from_db()
    assert response.status_code == 302 and community.name == "小哥加油站" and community.absence_limit == 4
    assert community.requires_approval is False and community.chat_group.name == "小哥加油站"
    client.post(reverse("groups:community-charter", args=[community.pk]), {"charter": "一、文明发言。"})
    community.refresh_from_db()
    assert community.charter == "一、文明发言。" and community.charter_version == 2


def test_qr_codes_and_poster(setup, staff, client_for):
    client = client_for(staff["yiwu_cadre"])
    yoga = setup["yoga"]
    png = client.get(reverse("groups:community-qr-png", args=[yoga.pk]), {"days": "90"})
    assert (
        png.status_code == 200
        and png["Content-Type"] == "image/png"
        and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    )
    svg = client.get(reverse("groups:community-qr-svg", args=[yoga.pk]))
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    poster = client.get(reverse("groups:community-poster", args=[yoga.pk]), {"days": "365"})
    content = poster.content.decode()
    assert "青年之家瑜伽课堂" in content and "size: A4" in content and "data:image/svg+xml" in content


def test_reset_invites_from_the_page(setup, staff, client_for):
    yoga = setup["yoga"]
    before = yoga.invite_nonce
    client_for(staff["yiwu_cadre"]).post(reverse("groups:community-reset-invites", args=[yoga.pk]))
    yoga.refresh_from_db()
    assert yoga.invite_nonce != before


def test_member_page_shows_the_credit_record(setup, staff, client_for):
    yoga, zhang, member = setup["yoga"], setup["zhang"], setup["member"]
    actions.record_credit(zhang, kind=CreditKind.ABSENT, community=yoga, reason="第3次瑜伽课")
    actions.record_credit(zhang, kind=CreditKind.ABSENT, community=yoga, reason="第4次瑜伽课")
    client = client_for(staff["yiwu_cadre"])
    client.post(reverse("groups:community-member-warn", args=[yoga.pk, member.pk]), {"reason": "群内发广告"})
    response = client.get(reverse("groups:community-member", args=[yoga.pk, member.pk]))
    content = response.content.decode()
    assert "第4次瑜伽课" in content and "群内发广告" in content
    summary = response.context["summary"]
    assert summary["consecutive_absences"] == 2 and summary["warnings"] == 1 and summary["points"] == -3


def test_member_role_remove_and_blacklist_through_the_page(setup, staff, client_for):
    yoga, member = setup["yoga"], setup["member"]
    client = client_for(staff["yiwu_cadre"])
    client.post(reverse("groups:community-member-role", args=[yoga.pk, member.pk]), {"role": "owner"})
    member.refresh_from_db()
    assert member.role == CommunityRole.OWNER
    client.post(
        reverse("groups:community-member-blacklist", args=[yoga.pk, member.pk]), {"reason": "屡教不改"}
    )
    member.refresh_from_db()
    assert member.status == MemberStatus.REMOVED and member.role == CommunityRole.MEMBER
    entry = BlacklistEntry.objects.get()
    assert entry.decided_by == staff["yiwu_cadre"]
    client.post(reverse("groups:community-blacklist-lift", args=[yoga.pk, entry.pk]), {"reason": "承诺改正"})
    entry.refresh_from_db()
    assert entry.lifted_at is not None and entry.lifted_by == staff["yiwu_cadre"]
    # Blacklisting someone by phone from the blacklist tab (an applicant, here).
    client.post(
        reverse("groups:community-blacklist-add", args=[yoga.pk]),
        {"person": "13900001111", "reason": "冒用他人信息"},
    )
    assert BlacklistEntry.objects.in_force().get().person == setup["li"]


def test_add_members_from_the_roster(setup, staff, client_for, world):
    wang = add_person(world["330782"], "王强", phone="13700002222")
    add_person(world["330783001"], "东阳人", phone="13600003333")
    client = client_for(staff["yiwu_cadre"])
    response = client.post(
        reverse("groups:community-member-add", args=[setup["yoga"].pk]),
        {"lines": "13700002222", "role": "seed"},
    )
    assert response.status_code == 302
    assert CommunityMember.objects.get(person=wang).role == CommunityRole.SEED
    response = client.post(
        reverse("groups:community-member-add", args=[setup["yoga"].pk]),
        {"lines": "13600003333", "role": "member"},
        follow=True,
    )
    assert any("找不到" in str(m) for m in response.context["messages"])


def test_member_export_is_masked(setup, staff, client_for):
    response = client_for(staff["yiwu_cadre"]).get(
        reverse("groups:community-export", args=[setup["yoga"].pk])
    )
    rows = (
        CalamineWorkbook.from_filelike(io.BytesIO(b"".join(response.streaming_content)))
        .get_sheet_by_index(0)
        .to_python()
    )
    assert rows[0][:3] == ["姓名", "角色", "状态"]
    assert {r[0] for r in rows[1:]} == {"张伟", "李娜"}
    assert all("13812345678" not in str(r) for r in rows)


def test_api_communities(setup, staff, client_for):
    client = client_for(staff["yiwu_cadre"])
    data = client.get("/api/v1/communities/").json()
    assert [c["name"] for c in data["results"]] == ["青年之家瑜伽课堂"]
    assert data["results"][0]["member_count"] == 1 and data["results"][0]["pending_count"] == 1
    yoga = setup["yoga"]
    assert client.get(f"/api/v1/communities/{yoga.pk}/").json()["charter_version"] == 1
    members = client.get(f"/api/v1/communities/{yoga.pk}/members/").json()
    assert [m["name"] for m in members["results"]] == ["张伟"] and members["results"][0][
        "phone"
    ] == "138****5678"
    pending = client.get(f"/api/v1/communities/{yoga.pk}/members/", {"status": "pending"}).json()
    assert [m["name"] for m in pending["results"]] == ["李娜"]
    other = client_for(staff["dongyang_cadre"])
    assert [c["name"] for c in other.get("/api/v1/communities/").json()["results"]] == ["东阳青年篮球群"]
    assert other.get(f"/api/v1/communities/{yoga.pk}/").status_code == 404
    assert other.get(f"/api/v1/communities/{yoga.pk}/members/").status_code == 404
