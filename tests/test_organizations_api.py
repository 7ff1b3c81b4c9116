"""REST API: /api/v1/organizations/ and /api/v1/alliances/ (scope, roles, validation, members, council, duty)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from test_organizations_fixtures import CODE_B, build_alliance, society_pool, unit

from tuanju.audit.models import AuditEvent
from tuanju.organizations.models import Alliance, DutyAssignment, Membership, Organization

pytest_plugins = ["test_organizations_fixtures"]
pytestmark = pytest.mark.usefixtures("no_activities")

ORGS = "/api/v1/organizations/"
ALLIANCES = "/api/v1/alliances/"


@pytest.fixture
def api():
    def as_user(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return as_user


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_list_is_scoped_with_four_have(staff, sample_orgs, api):
    rows = results(api(staff["yiwu_cadre"]).get(ORGS))
    assert sorted(r["name"] for r in rows) == sorted(
        ["稠城青年志愿服务队", "义乌青年创业联合会", "华新社区文艺队"]
    )
    good = next(r for r in rows if r["name"] == "稠城青年志愿服务队")
    assert good["four_have"] == {"ok": True, "leader": True, "venue": True, "team": True, "activity": None}
    assert good["member_count"] == 6 and good["contact_phone"] == "138****5678"
    assert [r["name"] for r in results(api(staff["dongyang_cadre"]).get(ORGS))] == ["东阳青年志愿者协会"]


def test_filters(staff, sample_orgs, api):
    client = api(staff["yiwu_cadre"])
    assert [r["name"] for r in results(client.get(ORGS, {"four_have": "pass"}))] == ["稠城青年志愿服务队"]
    assert [r["name"] for r in results(client.get(ORGS, {"missing": "venue"}))] == ["义乌青年创业联合会"]
    assert [r["name"] for r in results(client.get(ORGS, {"type": "文艺体育"}))] == ["华新社区文艺队"]


def test_detail_outside_scope_is_404(staff, sample_orgs, api):
    client = api(staff["dongyang_cadre"])
    pk = sample_orgs["good"].pk
    assert client.get(f"{ORGS}{pk}/").status_code == 404
    assert client.get(f"{ORGS}{pk}/members/").status_code == 404
    assert client.patch(f"{ORGS}{pk}/", {"venue": "x"}, format="json").status_code == 404
    assert client.post(f"{ORGS}{pk}/members/", {"person": 1}, format="json").status_code == 404


def test_unmask_is_permitted_and_logged(staff, sample_orgs, api):
    pk = sample_orgs["good"].pk
    assert api(staff["yiwu_cadre"]).get(f"{ORGS}{pk}/", {"unmask": 1}).status_code == 403
    response = api(staff["yiwu_admin"]).get(f"{ORGS}{pk}/", {"unmask": 1})
    assert response.json()["contact_phone"] == "13812345678"
    assert AuditEvent.objects.filter(action="view_pii", object_id=str(pk), details__via="api").count() == 1


def test_create_update_and_validation(staff, org_people, api, world):
    client = api(staff["yiwu_cadre"])
    payload = {
        "name": "江东青年志愿服务站",
        "unit": "330782002",
        "org_type": "志愿服务",
        "registration_status": "registered",
        "uscc": CODE_B,
        "venue": "江东青年之家",
        "contact_phone": "13900002222",
        "leader": org_people["yiwu"][2].pk,
        "tags": ["志愿", "社区"],
        "is_cloud_resident": True,
    }
    response = client.post(ORGS, payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (
        body["leader_name"] == "李娜"
        and body["contact_phone"] == "139****2222"
        and body["tags"] == ["志愿", "社区"]
    )
    pk = body["id"]
    response = client.patch(f"{ORGS}{pk}/", {"venue": "江东街道青年之家"}, format="json")
    assert response.status_code == 200 and response.json()["venue"] == "江东街道青年之家"
    org = Organization.objects.get(pk=pk)
    assert org.contact_phone_masked == "139****2222" and org.uscc == CODE_B  # untouched by the patch
    bad = client.post(
        ORGS,
        {**payload, "name": "另一个", "uscc": CODE_B[:17] + ("0" if CODE_B[17] != "0" else "1")},
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["uscc"] == ["统一社会信用代码校验位错误"]
    dup = client.post(ORGS, {**payload, "uscc": ""}, format="json")
    assert dup.status_code == 400 and "uscc" in dup.json()
    outside = client.post(
        ORGS,
        {**payload, "name": "越权", "uscc": "", "registration_status": "unregistered", "unit": "330783001"},
        format="json",
    )
    assert outside.status_code == 400 and "330783001" in str(outside.json())
    stranger = client.post(
        ORGS,
        {
            **payload,
            "name": "别人",
            "uscc": "",
            "registration_status": "unregistered",
            "leader": org_people["dong"][0].pk,
        },
        format="json",
    )
    assert stranger.status_code == 400 and "不在您的管辖范围内" in str(stranger.json())


def test_viewer_cannot_write(staff, sample_orgs, api):
    client = api(staff["yiwu_viewer"])
    assert client.get(ORGS).status_code == 200
    assert client.post(ORGS, {"name": "x", "org_type": "电竞"}, format="json").status_code == 403
    assert client.patch(f"{ORGS}{sample_orgs['bare'].pk}/", {"venue": "x"}, format="json").status_code == 403


def test_members_endpoint(staff, sample_orgs, org_people, api):
    client = api(staff["yiwu_cadre"])
    pk = sample_orgs["arts"].pk
    response = client.post(
        f"{ORGS}{pk}/members/",
        {"person": org_people["yiwu"][11].pk, "role": "backbone", "joined_on": "2025-01-01"},
        format="json",
    )
    assert response.status_code == 201, response.content
    member_id = response.json()["id"]
    again = client.post(f"{ORGS}{pk}/members/", {"person": org_people["yiwu"][11].pk}, format="json")
    assert again.status_code == 400 and "已是" in str(again.json())
    outsider = client.post(f"{ORGS}{pk}/members/", {"person": org_people["dong"][1].pk}, format="json")
    assert outsider.status_code == 400
    assert [m["person_name"] for m in results(client.get(f"{ORGS}{pk}/members/"))] == ["孙悦"]
    left = client.post(f"{ORGS}{pk}/members/{member_id}/leave/", {"left_on": "2025-06-30"}, format="json")
    assert left.status_code == 200 and left.json()["left_on"] == "2025-06-30"
    assert results(client.get(f"{ORGS}{pk}/members/")) == []
    assert len(results(client.get(f"{ORGS}{pk}/members/", {"former": 1}))) == 1
    assert Membership.objects.get(pk=member_id).left_on is not None


# --- Alliances ------------------------------------------------------------------------------------------


@pytest.fixture
def alliance(world):
    return build_alliance(world["330782"], society_pool(unit("330782001"), 12), council=8)


def test_alliances_are_scoped(staff, alliance, api):
    rows = results(api(staff["yiwu_cadre"]).get(ALLIANCES))
    assert [r["name"] for r in rows] == ["青年体育同好联盟"]
    assert len(rows[0]["council"]) == 8 and rows[0]["member_count"] == 12
    other = api(staff["dongyang_cadre"])
    assert results(other.get(ALLIANCES)) == []
    for suffix in ("", "members/", "schedule/", "meetings/"):
        assert other.get(f"{ALLIANCES}{alliance.pk}/{suffix}").status_code == 404
    assert (
        other.post(f"{ALLIANCES}{alliance.pk}/council/", {"organizations": []}, format="json").status_code
        == 404
    )


def test_alliance_create_members_council_and_schedule(staff, api, world):
    pool = society_pool(unit("330782002"), 9, prefix="文创社")
    client = api(staff["yiwu_cadre"])
    response = client.post(
        ALLIANCES,
        {"name": "青年文创联盟", "field": "文创", "unit": "330782", "leader": pool[0].pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    for org in pool[1:]:
        added = client.post(
            f"{ALLIANCES}{pk}/members/", {"organization": org.pk, "join_method": "absorbed"}, format="json"
        )
        assert added.status_code == 201, added.content
    too_few = client.post(
        f"{ALLIANCES}{pk}/council/", {"organizations": [o.pk for o in pool[:5]]}, format="json"
    )
    assert too_few.status_code == 400
    assert too_few.json()["non_field_errors"] == ["理事会应由6至21家成员社团组成，当前选择了5家"]
    council = client.post(
        f"{ALLIANCES}{pk}/council/", {"organizations": [o.pk for o in pool[:8]]}, format="json"
    )
    assert council.status_code == 200 and len(council.json()) == 8
    generated = client.post(f"{ALLIANCES}{pk}/schedule/", {"start": "2026-01", "months": 12}, format="json")
    assert generated.status_code == 201 and generated.json() == {"written": 12}
    months = client.get(f"{ALLIANCES}{pk}/schedule/", {"from": "2026-01", "months": 12}).json()
    assert [m["organization"] for m in months] == [pool[i % 8].pk for i in range(12)]
    assert DutyAssignment.objects.filter(alliance_id=pk).count() == 12
    meetings = client.get(f"{ALLIANCES}{pk}/meetings/").json()
    assert meetings["meetings"] == []


def test_alliance_write_validation(staff, alliance, api, sample_orgs):
    client = api(staff["yiwu_cadre"])
    dong = client.post(
        f"{ALLIANCES}{alliance.pk}/members/",
        {"organization": sample_orgs["dong"].pk, "join_method": "guided"},
        format="json",
    )
    assert dong.status_code == 400 and "不存在或不在您的管辖范围内" in str(dong.json())
    assert (
        api(staff["yiwu_viewer"]).post(ALLIANCES, {"name": "x", "field": "y"}, format="json").status_code
        == 403
    )
    bad = client.patch(f"{ALLIANCES}{alliance.pk}/", {"name": ""}, format="json")
    assert bad.status_code == 400
    assert Alliance.objects.get(pk=alliance.pk).name == "青年体育同好联盟"
