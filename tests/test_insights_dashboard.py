"""Dashboards: every figure correct on a small world, rolled up the tree, scoped to the user's
subtree, linked to its list; the precomputed figures (full and partial refresh, weekly history),
providers that are missing, the map and the API summary."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from test_insights_support import ONE, filled, huey_immediate, populate  # noqa: F401

from tuanju.hierarchy.models import OrgUnit
from tuanju.insights import aggregates, dashboard, metrics
from tuanju.insights.models import Period, PeriodStat, UnitSnapshot, week_start

pytestmark = pytest.mark.django_db


def snap(code: str) -> dict:
    unit = OrgUnit.objects.get(code=code)
    return UnitSnapshot.objects.get(unit_id=unit.pk).data


def counts(data: dict) -> dict:
    return {k: v for k, v in data.items() if not k.startswith("units.")}


# --- figures --------------------------------------------------------------------------------


def test_every_figure_of_one_set_of_records(filled):
    """Dongyang holds exactly one set: each of its counts is what the set contains."""
    data = counts(snap("330783"))
    assert data == ONE


def test_figures_roll_up_the_tree(filled):
    yiwu, dongyang, city = counts(snap("330782")), counts(snap("330783")), counts(snap("330700"))
    assert yiwu == {k: 2 * v for k, v in ONE.items()}
    assert city == {k: yiwu[k] + dongyang[k] for k in ONE}
    assert counts(snap("330782001")) == ONE  # the town above 华新社区
    assert counts(snap("330782001001")) == ONE
    assert counts(snap("330782001001001")) == {}  # the estate below it holds nothing
    # Units are counted too: Yiwu has 2 towns, 1 tier-1, 1 tier-2, 1 tier-3 unit.
    whole = snap("330782")
    assert (whole["units.town"], whole["units.tier1"], whole["units.tower"]) == (2, 1, 3)


def test_rates_are_divided_when_shown(filled):
    data = snap("330782")
    figures = metrics.FIGURES_BY_KEY
    assert figures["rate.four_have"].value(data) == pytest.approx(0.5)
    assert figures["rate.org_activity"].value(data) == pytest.approx(0.5)
    assert figures["rate.placed"].value(data) == pytest.approx(8 / 12)
    assert figures["rate.groups"].value(data) == pytest.approx(2 / 3)  # 2 tower groups, 3 tower units
    assert figures["rate.satisfaction"].value(data) == pytest.approx(0.5)
    assert figures["rate.appeals_on_time"].value(data) == pytest.approx(0.5)
    assert figures["rate.reach"].value(data) == pytest.approx(0.5)
    assert figures["rate.reach_sla"].value(data) == pytest.approx(0.5)
    assert figures["rate.ack"].value(data) == pytest.approx(0.5)
    assert figures["rate.participation"].value(data) == pytest.approx(4 / 12)
    assert figures["rate.four_have"].value({}) is None


def test_no_figure_of_a_county_counts_anything_of_another(filled, staff, client_for):
    """Scope of every figure: Yiwu's figures are exactly its own two sets, whatever Dongyang holds,
    and removing Dongyang's records changes none of them."""
    from tuanju.activities.models import Activity
    from tuanju.appeals.models import Appeal, ServiceRecord, Station
    from tuanju.groups.models import ChatGroup, Community
    from tuanju.mobilize.models import Directive
    from tuanju.organizations.models import Alliance, Organization
    from tuanju.people.models import Person
    from tuanju.surveys.models import Survey

    before = snap("330782")
    dongyang = OrgUnit.objects.get(code="330783")
    for model in (Directive, Activity, Survey, Appeal, ServiceRecord, Station, Community, Alliance):
        model.objects.in_subtree(dongyang).delete()
    from tuanju.mobilize.models import GroupDelivery

    GroupDelivery.objects.in_subtree(dongyang).delete()
    ChatGroup.objects.in_subtree(dongyang).delete()
    Organization.objects.in_subtree(dongyang).delete()
    Person.objects.in_subtree(dongyang).delete()
    aggregates.refresh(None)
    assert snap("330782") == before
    assert counts(snap("330783")) == {}
    # and through the page and the API, for the Yiwu cadre
    client = client_for(staff["yiwu_cadre"])
    summary = client.get("/api/v1/insights/summary/").json()
    assert summary["unit"]["code"] == "330782"
    assert summary["counts"]["people.total"] == 12


def test_a_user_of_another_county_gets_404(filled, staff, client_for):
    client = client_for(staff["yiwu_cadre"])
    assert client.get("/insights/u/330783/").status_code == 404
    assert client.get("/insights/u/330783001/").status_code == 404
    assert client.get("/insights/u/330700/").status_code == 404  # the city above is not theirs either
    assert client.get("/api/v1/insights/summary/?unit=330783").status_code == 404
    assert client.get("/insights/u/330782001/").status_code == 200


def test_the_dashboard_shows_the_figures_with_links_to_their_lists(filled, staff, client_for):
    client = client_for(staff["yiwu_cadre"])
    response = client.get("/insights/")
    assert response.status_code == 200
    board = response.context["board"]
    assert board.unit.code == "330782"
    cards = {card.figure.key: card for _key, _title, cards in board.sections for card in cards}
    assert cards["people.total"].text == "12"
    assert cards["people.total"].link == "/people/?unit=330782"
    assert cards["people.backbone"].link == "/people/?unit=330782&backbone=1"
    assert cards["rate.four_have"].text == "50.0%"
    assert cards["rate.four_have"].link == "/organizations/?unit=330782&four_have=pass"
    assert cards["appeals.overdue"].link == "/appeals/?unit=330782&due=overdue"
    assert cards["groups.tower"].link == f"/groups/tower/{board.unit.pk}/"
    assert cards["activities.hours"].text == "8.0"
    # the lists behind the links show the same numbers, in the same scope
    assert client.get(cards["people.total"].link).context["page_obj"].paginator.count == 12
    assert client.get(cards["people.backbone"].link).context["page_obj"].paginator.count == 4
    assert client.get(cards["rate.four_have"].link).context["page_obj"].paginator.count == 2
    assert client.get(cards["appeals.overdue"].link).context["page_obj"].paginator.count == 2
    # children: the two towns, drill-down links, figures per child
    names = [row.unit.name for row in board.children]
    assert names == ["稠城街道", "江东街道"]
    first = board.children[0]
    assert first.values["people.total"] == 6
    assert board.charts["children"]["units"][0]["url"] == "/insights/u/330782001/"
    pies = {pie["key"]: pie for pie in board.charts["pies"]}
    slices = {s["name"]: s for s in pies["people.cat"]["slices"]}
    assert slices["生活新业态青年"]["value"] == 6
    assert slices["生活新业态青年"]["url"] == "/people/?unit=330782&category=%E7%94%9F%E6%B4%BB%E6%96%B0%E4%B8%9A%E6%80%81%E9%9D%92%E5%B9%B4"
    assert {"people.ps", "orgs.type", "communities.cat"} <= set(pies)
    html = response.content.decode()
    assert 'data-figure="people.total"' in html and "/people/?unit=330782&amp;backbone=1" in html


def test_a_town_dashboard_counts_its_subtree_only(filled, staff, client_for):
    client = client_for(staff["yiwu_cadre"])
    board = client.get("/insights/u/330782002/").context["board"]
    cards = {card.figure.key: card for _k, _t, cards in board.sections for card in cards}
    assert cards["people.total"].text == "6"
    assert cards["people.total"].link == "/people/?unit=330782002"
    assert board.children == []


def test_a_page_view_reads_a_fixed_handful_of_rows(filled, staff, client_for, django_assert_max_num_queries):
    client = client_for(staff["city_admin"])
    client.get("/insights/u/330700/")  # warm the session and the content types
    with django_assert_max_num_queries(24):
        response = client.get("/insights/u/330700/")
    assert response.status_code == 200


def test_the_city_has_a_map_and_a_county_falls_back_to_bars(filled, staff, client_for):
    client = client_for(staff["city_admin"])
    city = client.get("/insights/u/330700/")
    assert city.context["map_url"].endswith("vendor/china-map/330700.json")
    assert 'data-map="/static/vendor/china-map/330700.json"' in city.content.decode()
    county = client.get("/insights/u/330782/")
    assert county.context["map_url"] is None
    assert 'id="chart-children"' in county.content.decode()
    # the shipped boundaries carry the county codes the units have
    import json
    from pathlib import Path

    from django.conf import settings

    geo = json.loads((Path(settings.STATICFILES_DIRS[0]) / "vendor/china-map/330700.json").read_text())
    codes = {str(f["properties"]["adcode"]) for f in geo["features"]}
    assert {"330782", "330783"} <= codes


def test_a_partial_refresh_equals_a_full_one(filled, staff):
    full = {s.unit_id: s.data for s in UnitSnapshot.objects.all()}
    populate(OrgUnit.objects.get(code="330782001001001"), staff["yiwu_cadre"])
    aggregates.refresh(OrgUnit.objects.get(code="330782001001001"))
    partial = {s.unit_id: s.data for s in UnitSnapshot.objects.all()}
    aggregates.refresh(None)
    again = {s.unit_id: s.data for s in UnitSnapshot.objects.all()}
    assert partial == again != full
    assert counts(snap("330782"))["people.total"] == 18
    assert counts(snap("330000"))["people.total"] == 24  # the province above got it too


def test_weekly_and_monthly_figures(filled):
    yiwu = OrgUnit.objects.get(code="330782")
    this_week = week_start(timezone.localdate())
    row = PeriodStat.objects.get(unit_id=yiwu.pk, period=Period.WEEK, start=this_week)
    assert row.data["appeals.received"] == 8
    assert row.data["people.new"] == 12
    assert row.data["activities.held"] == 2
    assert row.data["activities.hours"] == 8
    assert row.data["directives.sent"] == 2
    assert row.data["directives.relayed"] == 2
    month = PeriodStat.objects.get(unit_id=yiwu.pk, period=Period.MONTH, start=timezone.localdate().replace(day=1))
    assert month.data["appeals.received"] == 8
    # below the history level (tier-1) no period rows are kept
    estate = OrgUnit.objects.get(code="330782001001001")
    assert not PeriodStat.objects.filter(unit_id=estate.pk).exists()
    history = aggregates.history(yiwu, Period.WEEK, 4)
    assert [start for start, _d in history][-1] == this_week
    assert history[-1][1]["appeals.received"] == 8 and history[0][1] == {}


def test_a_backfill_puts_old_events_in_their_week(filled):
    from tuanju.appeals.models import Appeal

    old = timezone.now() - timedelta(days=40)
    Appeal.objects.filter(title="新诉求", unit__code="330783001").update(received_at=old)
    aggregates.refresh(None, since=timezone.localdate() - timedelta(days=60))
    dongyang = OrgUnit.objects.get(code="330783")
    start = week_start(timezone.localdate(old))
    assert PeriodStat.objects.get(unit_id=dongyang.pk, period=Period.WEEK, start=start).data["appeals.received"] == 1


def test_a_missing_source_leaves_its_figures_out(filled, monkeypatch, staff, client_for):
    def broken(ctx):
        ctx.model("nosuchapp.Thing")
        yield  # pragma: no cover

    def changed(ctx):
        Person = ctx.model("people.Person")
        ctx.require_fields(Person, "no_such_field")
        yield  # pragma: no cover

    monkeypatch.setitem(metrics.STOCKS, "broken", metrics.Provider("broken", broken))
    monkeypatch.setitem(metrics.STOCKS, "changed", metrics.Provider("changed", changed))
    monkeypatch.delitem(metrics.STOCKS, "appeals")
    run = aggregates.refresh(None)
    assert {"broken", "changed"} <= set(run.absent)
    data = snap("330782")
    assert "appeals.open" not in data and data["people.total"] == 12
    board = client_for(staff["yiwu_cadre"]).get("/insights/").context["board"]
    keys = {card.figure.key for _k, _t, cards in board.sections for card in cards}
    assert "appeals.open" not in keys and "people.total" in keys


def test_refresh_on_demand(filled, staff, client_for, huey_immediate):
    populate(OrgUnit.objects.get(code="330782001001001"), staff["yiwu_cadre"])
    viewer = client_for(staff["yiwu_viewer"])
    assert viewer.post("/insights/u/330782/refresh/").status_code == 403
    cadre = client_for(staff["yiwu_cadre"])
    assert cadre.post("/insights/u/330783/refresh/").status_code == 404
    response = cadre.post("/insights/u/330782/refresh/")
    assert response.status_code == 302
    assert snap("330782")["people.total"] == 18


def test_the_command(filled, capsys):
    call_command("refresh-insights", "--unit", "330782", "--weeks", "3")
    assert "units in" in capsys.readouterr().out
    call_command("refresh-insights", "--evaluate")


def test_summary_api(filled, staff, client_for):
    client = client_for(staff["city_admin"])
    body = client.get("/api/v1/insights/summary/?unit=330700").json()
    assert body["figures"]["people.total"] == 18
    children = {c["code"]: c for c in body["children"]}
    assert children["330782"]["figures"]["people.total"] == 12
    assert children["330783"]["figures"]["rate.four_have"] == pytest.approx(0.5)
    assert client.get("/api/v1/insights/summary/?unit=999999").status_code == 404


def test_an_empty_unit_shows_an_empty_dashboard(world, staff, client_for):
    response = client_for(staff["yiwu_cadre"]).get("/insights/")
    assert response.status_code == 200
    assert response.context["board"].empty
    aggregates.refresh(None)
    board = client_for(staff["yiwu_cadre"]).get("/insights/").context["board"]
    assert not board.empty
    # nothing recorded: only the tower coverage of its 3 tower units (none with a group) shows
    cards = [card for _k, _t, cards in board.sections for card in cards]
    assert [(c.figure.key, c.text, c.detail) for c in cards] == [("rate.groups", "0.0%", "0 / 3")]


def test_fmt():
    assert dashboard.fmt(None) == "—"
    assert dashboard.fmt(0.1234, "pct") == "12.3%"
    assert dashboard.fmt(1234567) == "1,234,567"
