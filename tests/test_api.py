"""The REST API: unit list and filters, pagination, detail, subtree counts, schema, docs, health."""

import json
import re

import pytest
from django.contrib.staticfiles import finders

from tuanju.hierarchy import actions
from tuanju.hierarchy.models import Level, OrgUnit

YIWU_SUBTREE = [
    "330782",
    "330782001",
    "330782001001",
    "330782001001001",
    "330782001001001001",
    "330782002",
]


def get(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def codes(payload) -> list[str]:
    return [row["code"] for row in payload["results"]]


@pytest.fixture
def cadre(staff, client_for):
    return client_for(staff["yiwu_cadre"])


@pytest.fixture
def city(staff, client_for):
    return client_for(staff["city_admin"])


def test_list_is_the_callers_subtree_in_tree_order(cadre):
    payload = get(cadre, "/api/v1/units/")
    assert payload["count"] == len(YIWU_SUBTREE)
    assert codes(payload) == YIWU_SUBTREE


FILTER_CASES = [
    ({"parent": "330782"}, ["330782001", "330782002"]),
    ({"parent": "330782001"}, ["330782001001"]),
    ({"parent": "330782002"}, []),
    ({"parent": "000000"}, []),  # exists, but its children are outside scope
    ({"parent": "nonsense"}, []),
    ({"level": "town"}, ["330782001", "330782002"]),
    ({"level": "tier3"}, ["330782001001001001"]),
    ({"code": "330782001001"}, ["330782001001"]),
    ({"code": "3307820"}, []),  # code is an exact match
    ({"within": "330782001"}, YIWU_SUBTREE[1:5]),
    ({"within": "330782001001001001"}, ["330782001001001001"]),
    ({"within": "330783"}, []),
    ({"q": "华新"}, ["330782001001"]),
    ({"q": "ccjd"}, ["330782001"]),
    ({"q": "330782001001"}, YIWU_SUBTREE[2:5]),
    ({"q": "街道", "level": "town"}, ["330782001", "330782002"]),
    ({"within": "330782001", "level": "tier2"}, ["330782001001001"]),
]


def test_list_filters(cadre):
    wrong = {}
    for params, expected in FILTER_CASES:
        found = codes(get(cadre, "/api/v1/units/", **params))
        if found != expected:
            wrong[json.dumps(params, ensure_ascii=False)] = found
    assert wrong == {}


def test_q_ignores_case(cadre, world):
    park = actions.create_unit(parent=world["330782001"], name="义乌IBM园区")
    for term in ("IBM", "ibm", "ywibm", "YWIBM"):
        assert codes(get(cadre, "/api/v1/units/", q=term)) == [park.code], term


def test_invalid_level_is_a_400(cadre):
    response = cadre.get("/api/v1/units/", {"level": "galaxy"})
    assert response.status_code == 400
    assert "level" in response.json()


def test_city_level_filter_matches_the_database(city, world):
    jinhua = world["330700"]
    expected = list(
        OrgUnit.objects.filter(path__startswith=jinhua.path, level=Level.COUNTY)
        .order_by("path")
        .values_list("code", flat=True)
    )
    assert len(expected) >= 9 and {"330782", "330783"} <= set(expected)
    payload = get(city, "/api/v1/units/", level="county", limit=100)
    assert payload["count"] == len(expected)
    assert codes(payload) == expected


def test_pagination_with_limit_and_offset(city, world):
    everything = get(city, "/api/v1/units/", limit=1000)
    total = everything["count"]
    assert total == OrgUnit.objects.filter(path__startswith=world["330700"].path).count()
    assert total > 10
    all_codes = codes(everything)

    first = get(city, "/api/v1/units/", limit=4)
    assert first["count"] == total
    assert codes(first) == all_codes[:4]
    assert first["previous"] is None
    assert "limit=4" in first["next"] and "offset=4" in first["next"]

    second = get(city, "/api/v1/units/", limit=4, offset=4)
    assert codes(second) == all_codes[4:8]
    assert second["previous"] is not None

    last = get(city, "/api/v1/units/", limit=4, offset=total - 1)
    assert codes(last) == all_codes[-1:]
    assert last["next"] is None

    beyond = get(city, "/api/v1/units/", limit=4, offset=total + 10)
    assert beyond["results"] == []

    # The default page size applies without a limit.
    assert len(get(city, "/api/v1/units/")["results"]) == min(total, 50)


def test_detail(cadre, world):
    town = world["330782001"]
    payload = get(cadre, f"/api/v1/units/{town.pk}/")
    assert payload == {
        "id": town.pk,
        "code": "330782001",
        "name": "稠城街道",
        "level": "town",
        "kind": "",
        "depth": town.depth,
        "numchild": 1,
        "parent_code": "330782",
        "pinyin": "ccjd",
    }
    tier1 = get(cadre, f"/api/v1/units/{world['330782001001'].pk}/")
    assert tier1["kind"] == "社区" and tier1["parent_code"] == "330782001"


def test_subtree_counts(cadre, world):
    payload = get(cadre, f"/api/v1/units/{world['330782'].pk}/subtree-counts/")
    assert payload["code"] == "330782"
    assert payload["by_level"] == {"town": 2, "tier1": 1, "tier2": 1, "tier3": 1}
    assert payload["children"] == [
        {"code": "330782001", "name": "稠城街道", "level": "town", "units_below": 3},
        {"code": "330782002", "name": "江东街道", "level": "town", "units_below": 0},
    ]

    payload = get(cadre, f"/api/v1/units/{world['330782001'].pk}/subtree-counts/")
    assert payload["by_level"] == {"tier1": 1, "tier2": 1, "tier3": 1}
    assert payload["children"] == [
        {"code": "330782001001", "name": "华新社区", "level": "tier1", "units_below": 2},
    ]

    leaf = OrgUnit.objects.get(code="330782001001001001")
    payload = get(cadre, f"/api/v1/units/{leaf.pk}/subtree-counts/")
    assert payload == {"code": leaf.code, "by_level": {}, "children": []}


def test_subtree_counts_agree_with_the_tree(city, world):
    """At city level every child's count equals its real subtree size."""
    jinhua = world["330700"]
    payload = get(city, f"/api/v1/units/{jinhua.pk}/subtree-counts/")
    for child in payload["children"]:
        unit = OrgUnit.objects.get(code=child["code"])
        assert child["units_below"] == OrgUnit.objects.filter(path__startswith=unit.path).count() - 1, (
            unit.code
        )
    by_level = OrgUnit.objects.filter(path__startswith=jinhua.path, depth__gt=jinhua.depth)
    assert sum(payload["by_level"].values()) == by_level.count()


def test_openapi_schema(city):
    response = city.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Tuanju API"
    assert "/api/v1/units/" in schema["paths"]
    assert "/api/v1/units/{id}/" in schema["paths"]
    assert "/api/v1/units/{id}/subtree-counts/" in schema["paths"]
    parameters = {p["name"] for p in schema["paths"]["/api/v1/units/"]["get"]["parameters"]}
    assert {"parent", "within", "level", "code", "q", "limit", "offset"} <= parameters
    # The default rendering is YAML.
    response = city.get("/api/schema/")
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_api_docs_render_without_external_resources(city):
    response = city.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="swagger-ui"' in html
    assert "cdn" not in html.lower()
    sources = re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    assert sources, "the docs page loads its assets from somewhere"
    for url in sources:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
        assert "http" not in url, url
        # …and every asset is served by this application.
        assert url.startswith("/static/"), url
        assert finders.find(url.removeprefix("/static/")), url
    assert re.search(r'url: "/api/schema/"', html)


def test_healthz(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    payload = response.json()
    assert payload["status"] == "ok"
    assert payload["database"] in {"sqlite", "postgresql"}
    assert "no-cache" in response["Cache-Control"]
    assert client.post("/healthz").status_code == 405


@pytest.mark.parametrize(
    "url",
    ["/api/v1/units/", "/api/v1/units/1/", "/api/v1/units/1/subtree-counts/", "/api/schema/", "/api/docs/"],
)
def test_unauthenticated_requests_are_refused(client, world, url):
    response = client.get(url)
    assert response.status_code in (401, 403)
    assert "稠城" not in response.content.decode()


def test_session_users_without_a_unit_are_refused(nounit_user, client_for):
    response = client_for(nounit_user).get("/api/v1/units/")
    assert response.status_code == 403
