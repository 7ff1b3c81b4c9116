"""The unit tree in the browser: tree, lazy children, search, detail, and the four changing forms."""

import re

import pytest
from django.urls import reverse

from tuanju.accounts.models import Role
from tuanju.audit.models import AuditEvent
from tuanju.hierarchy import actions
from tuanju.hierarchy.models import Level, OrgUnit

REQUIRED_ZH = "该字段是必填项"  # Django's zh-hans "This field is required."
CLIENT_IP = "10.20.30.40"


def search(client, term, **extra):
    response = client.get(reverse("hierarchy:tree"), {"q": term, **extra})
    assert response.status_code == 200
    return [unit.code for unit in response.context["page_obj"].object_list]


def parent_code(unit: OrgUnit) -> str:
    return OrgUnit.objects.get_parent(OrgUnit.objects.get(pk=unit.pk)).code


@pytest.fixture
def admin(staff, client_for):
    return client_for(staff["yiwu_admin"])


# --- reading ----------------------------------------------------------------------------


def test_tree_page_starts_at_the_users_unit(world, staff, client_for):
    response = client_for(staff["yiwu_cadre"]).get(reverse("hierarchy:tree"))
    assert response.status_code == 200
    assert [u.code for u in response.context["roots"]] == ["330782"]
    html = response.content.decode()
    yiwu = world["330782"]
    assert "义乌市" in html
    # The root is expandable: a lazy (htmx) request for its children.
    assert f'hx-get="{reverse("hierarchy:children", args=[yiwu.pk])}"' in html
    assert "东阳市" not in html and "金华市" not in html


def test_children_partial_is_a_lazy_fragment(world, staff, client_for):
    client = client_for(staff["yiwu_cadre"])
    response = client.get(reverse("hierarchy:children", args=[world["330782"].pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # a fragment for htmx, not a page
    assert re.findall(r">(\S+街道)</a>", html) == ["稠城街道", "江东街道"]
    town = world["330782001"]
    # Only units with children get a toggle that loads more.
    assert f'hx-get="{reverse("hierarchy:children", args=[town.pk])}"' in html
    jiangdong = OrgUnit.objects.get(code="330782002")
    assert reverse("hierarchy:children", args=[jiangdong.pk]) not in html

    leaf = OrgUnit.objects.get(code="330782001001001001")
    response = client.get(reverse("hierarchy:children", args=[leaf.pk]))
    assert response.status_code == 200
    assert list(response.context["children"]) == []


def test_search_by_name_code_prefix_and_pinyin(staff, client_for):
    client = client_for(staff["yiwu_cadre"])
    assert search(client, "稠城") == ["330782001"]
    assert search(client, "华新") == ["330782001001"]
    assert search(client, "330782001") == [
        "330782001",
        "330782001001",
        "330782001001001",
        "330782001001001001",
    ]
    assert search(client, "ccjd") == ["330782001"]  # 稠城街道
    assert search(client, "CCJD") == ["330782001"]
    assert search(client, "hxsq") == ["330782001001"]  # 华新社区
    assert search(client, "jd") == ["330782002"]  # 江东街道 (initials are matched as a prefix)
    assert search(client, "街道") == ["330782001", "330782002"]
    assert search(client, "330782", level=Level.TOWN) == ["330782001", "330782002"]
    assert search(client, "不存在的单位") == []


def test_search_ignores_case_of_latin_letters_in_names(world, staff, client_for):
    """Same answers on SQLite (which runs with case_sensitive_like) as on PostgreSQL."""
    park = actions.create_unit(parent=world["330782001"], name="义乌IBM园区", kind="园区")
    client = client_for(staff["yiwu_cadre"])
    for term in ("IBM", "ibm", "Ibm", "ibm园", "ywibm"):
        assert search(client, term) == [park.code], term


def test_search_shows_results_as_links(world, staff, client_for):
    response = client_for(staff["yiwu_cadre"]).get(reverse("hierarchy:tree"), {"q": "ccjd"})
    html = response.content.decode()
    assert f'href="{reverse("hierarchy:detail", args=[world["330782001"].pk])}">稠城街道</a>' in html


def test_detail_shows_breadcrumb_and_child_counts(world, staff, client_for, make_user):
    make_user("huaxin_liaison", world["330782001001"], Role.LIAISON)
    make_user("jiangdong_cadre", OrgUnit.objects.get(code="330782002"), Role.CADRE)
    yiwu = world["330782"]
    response = client_for(staff["city_admin"]).get(reverse("hierarchy:detail", args=[yiwu.pk]))
    assert response.status_code == 200

    assert [u.name for u in response.context["breadcrumb"]] == ["全国", "浙江省", "金华市", "义乌市"]
    html = response.content.decode()
    crumbs = re.search(r'<ol class="breadcrumb.*?</ol>', html, re.S).group(0)
    assert re.findall(r"(全国|浙江省|金华市|义乌市)", crumbs) == [
        "全国",
        "浙江省",
        "金华市",
        "义乌市",
    ]
    assert f'href="{reverse("hierarchy:detail", args=[world["330700"].pk])}">金华市</a>' in crumbs

    children = {c.code: c for c in response.context["children"]}
    assert list(children) == ["330782001", "330782002"]
    chouchen, jiangdong = children["330782001"], children["330782002"]
    assert (chouchen.numchild, chouchen.descendant_count, chouchen.staff_count) == (1, 3, 1)
    assert (jiangdong.numchild, jiangdong.descendant_count, jiangdong.staff_count) == (0, 0, 1)
    labels = dict(Level.choices)
    assert response.context["by_level"] == [
        (labels["town"], 2),
        (labels["tier1"], 1),
        (labels["tier2"], 1),
        (labels["tier3"], 1),
    ]

    # The rendered row: direct children, all units below, staff.
    row = re.search(r"稠城街道</a></td>(.*?)</tr>", html, re.S).group(1)
    assert re.findall(r'<td class="text-end">(\d+)</td>', row) == ["1", "3", "1"]
    # Staff bound to the unit itself are listed.
    assert {u.username for u in response.context["own_staff"]} == {"yiwu_admin", "yiwu_cadre", "yiwu_viewer"}


# --- changing ---------------------------------------------------------------------------


def assert_audited(action, unit, actor, **details):
    event = AuditEvent.objects.filter(
        action=action, object_type="hierarchy.orgunit", object_id=str(unit.pk)
    ).get()
    assert event.actor == actor
    assert event.actor_name == actor.username
    assert event.ip == CLIENT_IP
    for key, value in details.items():
        assert event.details[key] == value, key
    return event


def test_create_through_the_form(world, staff, admin):
    town = world["330782001"]
    response = admin.post(
        reverse("hierarchy:create-child", args=[town.pk]),
        {"name": "  新华社区 ", "kind": "社区", "code": ""},
        REMOTE_ADDR=CLIENT_IP,
    )
    unit = OrgUnit.objects.get(name="新华社区")
    assert response.status_code == 302
    assert response["Location"] == reverse("hierarchy:detail", args=[unit.pk])
    assert unit.code == "330782001002"
    assert unit.level == Level.TIER1 and unit.kind == "社区"
    assert unit.pinyin == "xhsq"
    assert parent_code(unit) == "330782001"
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
    assert_audited("create", unit, staff["yiwu_admin"], parent="330782001", code="330782001002")
    # The new unit shows up in the parent's lazy children and in the search.
    html = admin.get(reverse("hierarchy:children", args=[town.pk])).content.decode()
    assert "新华社区" in html
    assert search(admin, "xhsq") == ["330782001002"]


def test_create_with_empty_name_shows_a_chinese_error(world, admin):
    town = world["330782001"]
    before = OrgUnit.objects.count()
    response = admin.post(reverse("hierarchy:create-child", args=[town.pk]), {"name": "   ", "kind": ""})
    assert response.status_code == 200
    assert REQUIRED_ZH in response.content.decode()
    assert response.context["form"].errors["name"]
    assert OrgUnit.objects.count() == before
    assert not AuditEvent.objects.filter(action="create").exists()


def test_create_with_a_taken_code_is_refused(world, admin):
    town = world["330782001"]
    before = OrgUnit.objects.count()
    response = admin.post(
        reverse("hierarchy:create-child", args=[town.pk]), {"name": "重复社区", "code": "330782001001"}
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert "330782001001" in response.content.decode()
    assert OrgUnit.objects.count() == before


def test_rename_through_the_form(world, staff, admin):
    town = world["330782001"]
    response = admin.get(reverse("hierarchy:rename", args=[town.pk]))
    assert response.context["form"]["name"].value() == "稠城街道"
    response = admin.post(
        reverse("hierarchy:rename", args=[town.pk]),
        {"name": "稠城新街道", "kind": "街道"},
        REMOTE_ADDR=CLIENT_IP,
    )
    assert response.status_code == 302
    town.refresh_from_db()
    assert town.name == "稠城新街道" and town.kind == "街道"
    assert town.pinyin == "ccxjd"
    event = assert_audited("rename", town, staff["yiwu_admin"])
    assert event.details["before"]["name"] == "稠城街道"
    assert event.details["after"]["name"] == "稠城新街道"

    response = admin.post(reverse("hierarchy:rename", args=[town.pk]), {"name": ""})
    assert response.status_code == 200
    assert REQUIRED_ZH in response.content.decode()
    town.refresh_from_db()
    assert town.name == "稠城新街道"


def test_move_through_the_form(world, staff, admin):
    tier1 = world["330782001001"]
    response = admin.post(
        reverse("hierarchy:move", args=[tier1.pk]), {"code": "330782002"}, REMOTE_ADDR=CLIENT_IP
    )
    assert response.status_code == 302
    assert parent_code(tier1) == "330782002"
    assert OrgUnit.objects.get(code="330782001001001001").path.startswith(
        OrgUnit.objects.get(pk=tier1.pk).path
    )
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
    assert_audited("move", tier1, staff["yiwu_admin"], **{"from": "330782001", "to": "330782002"})


@pytest.mark.parametrize(
    "code",
    [
        "",  # required
        "330783001",  # a town of another county: outside the admin's scope
        "330782",  # a county: wrong level for a tier-1 unit
        "330782001001001",  # its own subtree
        "999999999",  # no such unit
    ],
)
def test_move_refusals_are_shown_on_the_form(world, admin, code):
    tier1 = world["330782001001"]
    response = admin.post(reverse("hierarchy:move", args=[tier1.pk]), {"code": code})
    assert response.status_code == 200
    assert response.context["form"].errors
    if not code:
        assert REQUIRED_ZH in response.content.decode()
    assert parent_code(tier1) == "330782001"
    assert not AuditEvent.objects.filter(action="move").exists()


def test_merge_through_the_form(world, staff, admin):
    source, target = world["330782001"], OrgUnit.objects.get(code="330782002")
    response = admin.post(
        reverse("hierarchy:merge", args=[source.pk]), {"code": "330782002"}, REMOTE_ADDR=CLIENT_IP
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("hierarchy:detail", args=[target.pk])
    assert not OrgUnit.objects.filter(code="330782001").exists()
    assert parent_code(world["330782001001"]) == "330782002"
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
    event = assert_audited("merge", target, staff["yiwu_admin"], source="330782001", children=1)
    assert event.details["source_name"] == "稠城街道"
    # The merged unit's page is gone; the target's page lists the moved child.
    assert admin.get(reverse("hierarchy:detail", args=[source.pk])).status_code == 404
    response = admin.get(reverse("hierarchy:detail", args=[target.pk]))
    assert [c.code for c in response.context["children"]] == ["330782001001"]


def test_merge_refuses_different_levels(world, admin):
    source = world["330782001"]
    response = admin.post(reverse("hierarchy:merge", args=[source.pk]), {"code": "330782001001"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert OrgUnit.objects.filter(code="330782001").exists()
    assert not AuditEvent.objects.filter(action="merge").exists()


def test_audit_list_filters_by_actor_ignoring_case(world, staff, admin):
    admin.post(reverse("hierarchy:rename", args=[world["330782001"].pk]), {"name": "稠城新街道"})
    for actor in ("yiwu_admin", "YIWU_ADMIN", "Yiwu"):
        response = admin.get(reverse("audit:list"), {"actor": actor, "action": "rename"})
        assert [e.actor_name for e in response.context["page_obj"].object_list] == ["yiwu_admin"], actor
    response = admin.get(reverse("audit:list"), {"actor": "dongyang", "action": "rename"})
    assert list(response.context["page_obj"].object_list) == []
