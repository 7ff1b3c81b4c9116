"""The weekly ledger (周台账): opening, computed figures, submission on time / late, missing ledgers
flagged to the parent, returning; evaluation and ranking with lagging units and history; exports."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from test_insights_support import filled, populate, town_cadre  # noqa: F401

from tuanju.audit.models import AuditEvent
from tuanju.hierarchy.models import OrgUnit
from tuanju.insights import aggregates, ledgers, scoring
from tuanju.insights.models import Evaluation, Ledger, LedgerSchema, LedgerStatus, ScoringScheme

pytestmark = pytest.mark.django_db


def this_week():
    return ledgers.current_week()


@pytest.fixture
def opened(filled):
    ledgers.open_ledgers(this_week())
    return filled


def ledger_of(code: str, start=None) -> Ledger:
    return Ledger.objects.get(unit__code=code, week_start=start or this_week())


def test_default_levels_and_fields():
    schemas = ledgers.active_schemas()
    assert set(schemas) == {"county", "town"}
    fields = [f.key for f in ledgers.schema_fields(schemas["town"])]
    assert fields == ledgers.DEFAULT_FIELDS


def test_opening_the_week_creates_one_ledger_per_unit_of_each_level(opened):
    towns = Ledger.objects.filter(week_start=this_week(), unit__level="town")
    assert sorted(towns.values_list("unit__code", flat=True)) == ["330782001", "330782002", "330783001"]
    assert Ledger.objects.filter(week_start=this_week(), unit__code="330782").count() == 1
    assert ledgers.open_ledgers(this_week()) == 0  # idempotent
    # the computed figures are the week's data of the unit's subtree
    figures = ledger_of("330782002").figures
    assert figures["new_people"] == 6
    assert figures["appeals_handled"] == 2
    assert figures["activities"] == 1
    assert figures["directives"] == 1
    assert ledger_of("330782").figures["new_people"] == 12
    due = ledger_of("330782002").due_at
    assert timezone.localtime(due).weekday() == 0 and timezone.localtime(due).hour == 12


def test_submit_on_time_and_late(opened, staff, make_user, client_for):
    cadre = town_cadre(make_user, "330782002", "jd_cadre")
    ledger = ledger_of("330782002")
    client = client_for(cadre)
    page = client.get(f"/insights/ledgers/{ledger.pk}/")
    assert page.status_code == 200 and page.context["can_submit"]
    bad = client.post(f"/insights/ledgers/{ledger.pk}/", {"highlights": "", "problems": ""})
    assert "请填写本周工作亮点。" in bad.content.decode()
    ok = client.post(f"/insights/ledgers/{ledger.pk}/", {"highlights": "走访快递网点5个", "problems": "无"})
    assert ok.status_code == 302
    ledger.refresh_from_db()
    assert ledger.status == LedgerStatus.SUBMITTED and not ledger.late and ledger.submitted_by == cadre
    assert AuditEvent.objects.filter(action="submit", object_id=str(ledger.pk)).exists()
    # a second submission is refused
    again = client.post(f"/insights/ledgers/{ledger.pk}/", {"highlights": "再交一次"}, follow=True)
    assert "本周台账已提交" in again.content.decode()
    # late: after the due time
    other = ledger_of("330782001")
    Ledger.objects.filter(pk=other.pk).update(due_at=timezone.now() - timedelta(hours=1))
    client_for(staff["yiwu_cadre"]).post(f"/insights/ledgers/{other.pk}/", {"highlights": "补报"})
    other.refresh_from_db()
    assert other.status == LedgerStatus.SUBMITTED and other.late


def test_reported_fields_of_a_level(opened, staff, client_for):
    schema = LedgerSchema.objects.get(level="town")
    schema.fields = [*schema.fields, {"key": "c1", "label": "走访快递网点"}]
    schema.save()
    ledger = ledger_of("330782002")
    client = client_for(staff["yiwu_cadre"])
    client.post(f"/insights/ledgers/{ledger.pk}/", {"m_c1": "7", "highlights": "走访", "problems": ""})
    ledger.refresh_from_db()
    assert ledger.manual == {"c1": 7} and ledger.value("c1") == 7 and ledger.value("new_people") == 6


def test_missing_and_late_ledgers_are_flagged_to_the_parent(opened, staff, client_for):
    start = this_week()
    Ledger.objects.filter(week_start=start).update(due_at=timezone.now() - timedelta(hours=2))
    submitted = ledger_of("330782001")
    from tuanju.insights import actions

    actions.submit_ledger(submitted, actor=staff["yiwu_cadre"], manual={}, highlights="亮点", problems="")
    board = ledgers.board(OrgUnit.objects.get(code="330782"), start)
    states = {row.unit.code: row.state for row in board.rows}
    assert states == {"330782001": "late", "330782002": "missing"}
    assert board.counts["late"] == 1 and board.counts["missing"] == 1
    assert ledgers.flagged_counts(OrgUnit.objects.get(code="330782"), start) == {
        "level": "town",
        "total": 2,
        "late": 1,
        "missing": 1,
    }
    page = client_for(staff["yiwu_cadre"]).get(f"/insights/ledgers/?unit=330782&week={start}")
    assert page.status_code == 200
    assert [row.unit.code for row in page.context["board"].flagged] == ["330782001", "330782002"]
    # a unit with no ledger opened at all counts as missing too
    Ledger.objects.filter(unit__code="330782002").delete()
    assert ledgers.board(OrgUnit.objects.get(code="330782"), start).rows[1].state == "absent"
    # the city sees the counties' ledgers
    city = ledgers.board(OrgUnit.objects.get(code="330700"), start)
    assert city.level == "county" and len(city.rows) == 9


def test_the_parent_returns_a_ledger(opened, staff, make_user, client_for):
    from tuanju.insights import actions

    cadre = town_cadre(make_user, "330782002", "jd_cadre")
    ledger = ledger_of("330782002")
    actions.submit_ledger(ledger, actor=cadre, manual={}, highlights="亮点", problems="")
    assert client_for(cadre).post(f"/insights/ledgers/{ledger.pk}/return/", {"reason": "自己退"}).status_code == 403
    client = client_for(staff["yiwu_cadre"])
    client.post(f"/insights/ledgers/{ledger.pk}/return/", {"reason": "数据需核实"})
    ledger.refresh_from_db()
    assert ledger.status == LedgerStatus.RETURNED and ledger.return_reason == "数据需核实"
    client_for(cadre).post(f"/insights/ledgers/{ledger.pk}/", {"highlights": "已核实"})
    ledger.refresh_from_db()
    assert ledger.status == LedgerStatus.SUBMITTED


def test_ledger_scope_and_roles(opened, staff, client_for):
    ledger = ledger_of("330782002")
    dongyang = client_for(staff["dongyang_cadre"])
    assert dongyang.get(f"/insights/ledgers/{ledger.pk}/").status_code == 404
    assert dongyang.get("/insights/ledgers/?unit=330782").status_code == 404
    assert dongyang.get("/insights/ledgers/export/?unit=330782").status_code == 404
    assert dongyang.get("/insights/ledgers/unit/330782002/").status_code == 404
    codes = {row["unit_code"] for row in dongyang.get("/api/v1/ledgers/").json()["results"]}
    assert codes == {"330783", "330783001"}
    assert dongyang.get("/api/v1/ledgers/?unit=330782").json()["results"] == []
    viewer = client_for(staff["yiwu_viewer"])
    assert viewer.post(f"/insights/ledgers/{ledger.pk}/", {"highlights": "x"}).status_code == 403
    assert viewer.get("/insights/ledgers/config/").status_code == 403
    body = client_for(staff["yiwu_cadre"]).get(f"/api/v1/ledgers/?unit=330782002&week={this_week()}").json()
    assert [row["unit_code"] for row in body["results"]] == ["330782002"]
    assert body["results"][0]["figures"]["new_people"] == 6


def test_configuring_the_ledger(world, staff, client_for):
    client = client_for(staff["city_admin"])
    assert client.get("/insights/ledgers/config/").status_code == 200
    client.post(
        "/insights/ledgers/config/",
        {"level": "tier1", "tier1-is_active": "on", "tier1-standard": ["contacts", "activities"],
         "tier1-custom": "走访户数", "tier1-due_hours": "36"},
    )
    schema = LedgerSchema.objects.get(level="tier1")
    assert schema.is_active and schema.fields == ["contacts", "activities", {"key": "c1", "label": "走访户数"}]
    assert schema.due_hours == 36
    assert ledgers.reporting_level(OrgUnit.objects.get(code="330782001")) == "tier1"
    assert ledgers.open_ledgers(this_week()) > 0
    tier1 = ledger_of("330782001001")
    assert set(tier1.figures) == {"contacts", "activities"}  # the custom field is reported, not computed


# --- evaluation and ranking --------------------------------------------------------------------


def test_scoring_rules():
    values = scoring.criteria_values(
        {"groups.placed": 8, "people.total": 10, "orgs.total": 4, "orgs.active_month": 1,
         "appeals.on_time": 1, "appeals.done": 2, "appeals.satisfied": 1, "appeals.rated": 1}, 0.5
    )
    assert values == {"coverage": 0.8, "activity": 0.25, "reach": None, "appeals": 0.75, "ledger": 0.5}
    weights = {"coverage": 25, "activity": 25, "reach": 20, "appeals": 20, "ledger": 10}
    assert scoring.score(values, weights) == pytest.approx(round(100 * (20 + 6.25 + 15 + 5) / 80, 1))
    assert scoring.score(dict.fromkeys(values), weights) == 0
    assert [scoring.bottom_count(n, 0.1) for n in (2, 5, 9, 14, 20)] == [0, 1, 1, 1, 2]


def test_ranking_flags_lagging_units_and_keeps_history(opened, staff, client_for):
    from tuanju.insights import actions

    yiwu = OrgUnit.objects.get(code="330782")
    scheme = scoring.default_scheme(yiwu, "town")
    last = ledgers.last_week()
    ledgers.open_ledgers(last)
    Ledger.objects.filter(week_start=last).update(due_at=timezone.now() + timedelta(hours=1))
    actions.submit_ledger(ledger_of("330782001", last), actor=staff["yiwu_cadre"], manual={}, highlights="a", problems="")
    results = scoring.evaluate(scheme, last)
    by_code = {e.unit.code: e for e in results}
    # equal data, but 江东街道 did not submit last week's ledger: it ranks second
    assert by_code["330782001"].rank == 1 and by_code["330782002"].rank == 2
    assert by_code["330782001"].values["ledger"] == 1.0 and by_code["330782002"].values["ledger"] == 0.0
    assert by_code["330782001"].score > by_code["330782002"].score
    # threshold decides here (two units: no bottom share); raise the bar and both lag
    scheme.threshold = 99
    scheme.save()
    results = scoring.evaluate(scheme, last)
    assert all(e.lagging and "below_threshold" in e.reasons for e in results)
    scheme.threshold, scheme.bottom_share = 0, 0.5
    scheme.save()
    results = scoring.evaluate(scheme, last)
    assert [(e.unit.code, e.lagging) for e in results] == [("330782001", False), ("330782002", True)]
    assert "bottom_share" in results[1].reasons
    # history: another week kept, re-evaluating a week replaces it
    scoring.evaluate(scheme, last - timedelta(weeks=1))
    scoring.evaluate(scheme, last)
    assert Evaluation.objects.filter(scheme=scheme).count() == 4
    client = client_for(staff["yiwu_cadre"])
    page = client.get("/insights/ranking/?unit=330782")
    assert page.status_code == 200 and page.context["week"] == last
    assert len(page.context["score_chart"]["labels"]) == 2
    assert client_for(staff["dongyang_cadre"]).get("/insights/ranking/?unit=330782").status_code == 404


def test_configurable_scoring(opened, staff, client_for):
    yiwu = OrgUnit.objects.get(code="330782")
    client = client_for(staff["yiwu_cadre"])
    client.post("/insights/ranking/evaluate/", {"unit": "330782"})
    scheme = ScoringScheme.objects.get(unit=yiwu)
    assert Evaluation.objects.filter(scheme=scheme).count() == 2
    response = client.post(
        f"/insights/ranking/scheme/{scheme.pk}/",
        {"w_coverage": "100", "w_activity": "0", "w_reach": "0", "w_appeals": "0", "w_ledger": "0",
         "threshold": "50", "bottom_share": "10"},
    )
    assert response.status_code == 302
    scheme.refresh_from_db()
    assert scheme.weights["coverage"] == 100 and scheme.bottom_share == pytest.approx(0.1)
    result = scoring.evaluate(scheme, ledgers.last_week())
    assert all(e.score == pytest.approx(100 * 4 / 6, abs=0.1) for e in result)  # coverage only: 4 of 6 placed
    none = client.post(
        f"/insights/ranking/scheme/{scheme.pk}/",
        {"w_coverage": "0", "w_activity": "0", "w_reach": "0", "w_appeals": "0", "w_ledger": "0",
         "threshold": "50", "bottom_share": "10"},
    )
    assert "至少有一项评价指标的权重大于0" in none.content.decode()
    assert client_for(staff["dongyang_cadre"]).get(f"/insights/ranking/scheme/{scheme.pk}/").status_code == 403


def test_evaluate_all(opened):
    count = scoring.evaluate_all(ledgers.last_week())
    schemes = {(s.unit.code, s.level) for s in ScoringScheme.objects.select_related("unit")}
    assert ("330782", "town") in schemes and ("330783", "town") in schemes and ("330700", "county") in schemes
    assert count >= 3 + 9


# --- exports ------------------------------------------------------------------------------------


def _sheets(content: bytes) -> dict:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def test_ledger_and_ranking_exports(opened, staff, client_for):
    from tuanju.insights import actions

    start = this_week()
    actions.submit_ledger(ledger_of("330782001"), actor=staff["yiwu_cadre"], manual={}, highlights="=cmd|' /C calc'!A0", problems="")
    aggregates.refresh(None)
    client = client_for(staff["yiwu_cadre"])
    response = client.get(f"/insights/ledgers/export/?unit=330782&week={start}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheets = _sheets(response.content)
    rows = sheets["周台账"]
    header = rows[2]
    assert header[:5] == ["单位编码", "单位", "状态", "提交时间", "提交人"] and len(header) == 5 + 6 + 2
    body = {row[0]: row for row in rows[3:] if row[0]}
    assert body["330782001"][2] == "按时提交" and body["330782002"][2] == "未到期"
    assert body["330782001"][-2].startswith("'=")  # formula injection neutralised
    assert "近12周" in sheets
    assert AuditEvent.objects.filter(action="export", details__kind="ledgers_xlsx").exists()

    scoring.evaluate(scoring.default_scheme(OrgUnit.objects.get(code="330782"), "town"), ledgers.last_week())
    ranking = _sheets(client.get("/insights/ranking/export/?unit=330782").content)
    ranked = [row for row in ranking["排名"][3:] if row and row[1]]
    assert [row[1] for row in ranked] == ["330782001", "330782002"] or [row[1] for row in ranked] == ["330782002", "330782001"]
    assert "历史得分" in ranking


def test_pdf_report(opened, staff, client_for):
    scoring.evaluate(scoring.default_scheme(OrgUnit.objects.get(code="330782"), "town"), ledgers.last_week())
    client = client_for(staff["yiwu_cadre"])
    response = client.get(f"/insights/report/?unit=330782&week={ledgers.last_week()}")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    from tuanju.insights import report

    html = report.render_html(OrgUnit.objects.get(code="330782"), ledgers.last_week())
    assert "<svg" in html and "江东街道" in html and "工作周报" in html
    assert client_for(staff["dongyang_cadre"]).get("/insights/report/?unit=330782").status_code == 404


def test_history_page(opened, staff, client_for):
    response = client_for(staff["yiwu_cadre"]).get("/insights/ledgers/unit/330782002/")
    assert response.status_code == 200
    assert response.context["chart"]["series"][0]["values"] == [6]


def test_a_yiwu_cadre_sees_his_ledgers_on_the_desk(opened, staff, client_for):
    page = client_for(staff["yiwu_cadre"]).get("/insights/work/")
    assert page.status_code == 200
    codes = {ledger.unit.code for ledger in page.context["my_ledgers"]}
    assert codes == {"330782", "330782001", "330782002"}
    populate  # noqa: B018 - imported for the shared fixture module
