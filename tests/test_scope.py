"""The one visibility restriction: a staff user sees only the subtree of its unit.

Everything outside scope must look exactly like something that does not exist (404, empty
lists), never like a forbidden object (403), so that scope does not leak existence.
"""

import pytest
from django.urls import reverse

from tuanju.accounts.models import Role, User
from tuanju.audit.models import AuditEvent
from tuanju.hierarchy import actions
from tuanju.hierarchy.models import OrgUnit

UNIT_PAGES = ["detail", "children", "create-child", "rename", "move", "merge"]
FORM_PAGES = ["create-child", "rename", "move", "merge"]


def codes(response) -> list[str]:
    return [row["code"] for row in response.json()["results"]]


@pytest.fixture
def yiwu_units(world):
    """A Yiwu unit at every level the pages deal with (county, town, tier-1)."""
    return [world["330782"], world["330782001"], world["330782001001"]]


def test_other_county_gets_404_for_every_unit_page(staff, client_for, yiwu_units):
    client = client_for(staff["dongyang_cadre"])
    for page in UNIT_PAGES:
        for unit in yiwu_units:
            response = client.get(reverse(f"hierarchy:{page}", args=[unit.pk]))
            assert response.status_code == 404, (page, unit.code)


def test_other_county_admin_gets_404_not_403_when_posting(world, staff, client_for, make_user):
    """Even a manager of the other county cannot learn that a Yiwu unit exists, nor change it."""
    dongyang_admin = make_user("dongyang_admin", world["330783"], Role.ADMIN)
    client = client_for(dongyang_admin)
    town = world["330782001"]
    before = OrgUnit.objects.count()
    payload = {"name": "被篡改", "kind": "", "code": "330783001"}
    for page in FORM_PAGES:
        response = client.post(reverse(f"hierarchy:{page}", args=[town.pk]), payload)
        assert response.status_code == 404, page
    town.refresh_from_db()
    assert town.name == "稠城街道"
    assert OrgUnit.objects.count() == before
    assert OrgUnit.objects.get_parent(town).code == "330782"
    assert not AuditEvent.objects.filter(actor=dongyang_admin).exclude(action="login").exists()


def test_same_county_pages_answer(staff, client_for, world):
    """The control: the pages above do exist for a Yiwu administrator."""
    client = client_for(staff["yiwu_admin"])
    town = world["330782001"]
    for page in UNIT_PAGES:
        assert client.get(reverse(f"hierarchy:{page}", args=[town.pk])).status_code == 200, page


def test_move_and_merge_targets_outside_scope_do_not_exist(world, staff, client_for):
    """A Yiwu admin cannot move or merge a Yiwu unit into Dongyang, even knowing the code."""
    client = client_for(staff["yiwu_admin"])
    jiangdong = OrgUnit.objects.get(code="330782002")
    for page in ("move", "merge"):
        response = client.post(reverse(f"hierarchy:{page}", args=[jiangdong.pk]), {"code": "330783001"})
        assert response.status_code == 200, page
        assert response.context["form"].errors["code"], page
    tier1 = world["330782001001"]
    response = client.post(reverse("hierarchy:move", args=[tier1.pk]), {"code": "330783001"})
    assert response.context["form"].errors["code"]
    assert OrgUnit.objects.get_parent(OrgUnit.objects.get(pk=tier1.pk)).code == "330782001"
    assert OrgUnit.objects.filter(code="330782002").exists()
    assert OrgUnit.objects.get(code="330783001").numchild == 0
    assert not AuditEvent.objects.filter(action__in=["move", "merge"]).exists()


def test_other_county_gets_404_from_the_api(staff, client_for, yiwu_units):
    client = client_for(staff["dongyang_cadre"])
    for unit in yiwu_units:
        assert client.get(f"/api/v1/units/{unit.pk}/").status_code == 404
        assert client.get(f"/api/v1/units/{unit.pk}/subtree-counts/").status_code == 404
    own = OrgUnit.objects.get(code="330783001")
    assert client.get(f"/api/v1/units/{own.pk}/").status_code == 200
    assert client.get(f"/api/v1/units/{own.pk}/subtree-counts/").status_code == 200


def test_tree_search_is_scoped(staff, client_for):
    response = client_for(staff["dongyang_cadre"]).get("/units/", {"q": "稠城"})
    assert response.status_code == 200
    assert list(response.context["page_obj"].object_list) == []
    assert "稠城街道" not in response.content.decode()

    response = client_for(staff["yiwu_cadre"]).get("/units/", {"q": "稠城"})
    assert [u.code for u in response.context["page_obj"].object_list] == ["330782001"]


@pytest.mark.parametrize(
    "params",
    [
        {"q": "稠城"},
        {"q": "ccjd"},
        {"q": "330782"},
        {"within": "330782"},
        {"parent": "330782"},
        {"code": "330782001"},
    ],
)
def test_api_filters_never_reach_outside_scope(staff, client_for, params):
    response = client_for(staff["dongyang_cadre"]).get("/api/v1/units/", params)
    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert codes(response) == []


def test_api_list_is_the_users_subtree(staff, client_for):
    response = client_for(staff["dongyang_cadre"]).get("/api/v1/units/")
    assert response.status_code == 200
    assert codes(response) == ["330783", "330783001"]


def test_audit_list_hides_events_of_other_counties(world, staff, client_for):
    actions.rename_unit(world["330782001"], name="稠城街道（新）", actor=staff["yiwu_admin"])
    actions.rename_unit(world["330783001"], name="吴宁街道（新）", actor=staff["city_admin"])

    response = client_for(staff["dongyang_cadre"]).get("/audit/", {"action": "rename"})
    assert response.status_code == 200
    seen = list(response.context["page_obj"].object_list)
    assert [e.object_repr for e in seen] == ["吴宁街道（新）"]
    assert "稠城街道（新）" not in response.content.decode()

    # Asking for the Yiwu event directly does not help either.
    yiwu_event = AuditEvent.objects.get(action="rename", unit=world["330782001"])
    response = client_for(staff["dongyang_cadre"]).get(
        "/audit/", {"object_type": "hierarchy.orgunit", "object_id": str(yiwu_event.object_id)}
    )
    assert list(response.context["page_obj"].object_list) == []

    response = client_for(staff["yiwu_cadre"]).get("/audit/", {"action": "rename"})
    assert [e.object_repr for e in response.context["page_obj"].object_list] == ["稠城街道（新）"]


def test_city_admin_sees_both_counties(world, staff, client_for):
    client = client_for(staff["city_admin"])
    for code in ["330782", "330783", "330782001001", "330783001"]:
        unit = OrgUnit.objects.get(code=code)
        assert client.get(reverse("hierarchy:detail", args=[unit.pk])).status_code == 200
        assert client.get(f"/api/v1/units/{unit.pk}/").status_code == 200

    response = client.get("/units/", {"q": "街道"})
    found = {u.code for u in response.context["page_obj"].object_list}
    assert {"330782001", "330782002", "330783001"} <= found

    response = client.get("/api/v1/units/", {"parent": "330700", "limit": 100})
    assert {"330782", "330783"} <= set(codes(response))
    # …but nothing of the province beyond its city.
    assert client.get(f"/api/v1/units/{world['330000'].pk}/").status_code == 404
    response = client.get("/api/v1/units/", {"q": "杭州"})
    assert response.json()["count"] == 0


def test_user_without_unit_sees_nothing(world, nounit_user, client_for):
    client = client_for(nounit_user)

    response = client.get("/units/")
    assert response.status_code == 200
    assert list(response.context["roots"]) == []

    response = client.get("/units/", {"q": "街道"})
    assert list(response.context["page_obj"].object_list) == []

    for unit in (world["330000"], world["330782"]):
        assert client.get(reverse("hierarchy:detail", args=[unit.pk])).status_code == 404
        assert client.get(reverse("hierarchy:rename", args=[unit.pk])).status_code == 404

    actions.rename_unit(world["330782001"], name="稠城街道（新）", actor=None)
    response = client.get("/audit/")
    assert list(response.context["page_obj"].object_list) == []

    assert client.get("/api/v1/units/").status_code == 403
    assert client.get(f"/api/v1/units/{world['330782'].pk}/").status_code == 403


def test_inactive_user_sees_nothing(world, staff):
    user = staff["yiwu_admin"]
    user.is_active = False
    assert not OrgUnit.objects.visible_to(user).exists()


def test_superuser_sees_everything(world):
    root = User.objects.create_superuser("root", password="x-Unused-123")
    assert OrgUnit.objects.visible_to(root).count() == OrgUnit.objects.count()


MALFORMED_URLS = [
    "/units/abc/",
    "/units/abc/children/",
    "/units/-1/",
    "/units/1.5/",
    "/units/0/",
    "/units/999999999/",
    "/units/99999999999999999999999/",
    "/units/999999999/rename/",
    "/api/v1/units/abc/",
    "/api/v1/units/999999999/",
    "/api/v1/units/abc/subtree-counts/",
    "/api/v1/units/99999999999999999999999/",
]


def test_malformed_or_unknown_ids_are_404(staff, client_for):
    client = client_for(staff["city_admin"])
    for url in MALFORMED_URLS:
        assert client.get(url).status_code == 404, url
