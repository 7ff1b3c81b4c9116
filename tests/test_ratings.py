"""C9 liaison star rating: measured work from directives, groups and the contact log; the published
formula and its breakdown; pluggable sources; benefits granted and revoked with an audit trail;
eligibility; ranking pages, export, API and scope."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from python_calamine import CalamineWorkbook
from test_mobilize_support import tower_world

from tuanju.accounts.models import Role
from tuanju.audit.models import AuditEvent
from tuanju.groups import actions as groups_actions
from tuanju.groups.models import ChatGroup
from tuanju.mobilize import actions as mobilize
from tuanju.mobilize.actions import TargetSpec
from tuanju.mobilize.models import Directive, GroupDelivery
from tuanju.people.models import ContactLog
from tuanju.ratings import actions, formula, sources
from tuanju.ratings.models import Benefit, BenefitGrant, Formula, LiaisonRating, period_bounds


@pytest.fixture(autouse=True)
def immediate():
    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


@pytest.fixture
def scene(world, staff, django_capture_on_commit_callbacks):
    """Liaison A (roster person) looks after a tier-3 and a tier-2 group; liaison B (staff) a
    tier-1 group. One emergency directive: A's tier-3 group acknowledged on time, the tier-2
    group late, B's group never reached."""
    tower = tower_world(world)
    person_a = tower["people"][0]
    g1 = ChatGroup.objects.towers().get(unit__code="330782001001001001")
    g2 = ChatGroup.objects.towers().get(unit__code="330782001001001")
    g3 = ChatGroup.objects.towers().get(unit__code="330782002001")
    user_b = type(staff["yiwu_cadre"]).objects.create(
        username="liaison_b", first_name="联络员乙", unit=tower["units"]["330782002"], role=Role.LIAISON
    )
    groups_actions.add_liaison(g1, person=person_a)
    groups_actions.add_liaison(g2, person=person_a)
    groups_actions.add_liaison(g3, user=user_b)
    admin = staff["yiwu_admin"]
    directive = mobilize.save_directive(
        Directive(),
        data={"title": "紧急集结", "body": "集合", "urgency": "emergency"},
        targets=[TargetSpec("unit", unit=world["330782"])],
        actor=admin,
    )
    with django_capture_on_commit_callbacks(execute=True):
        mobilize.submit(directive, actor=admin)
    directive.refresh_from_db()
    sent = directive.sent_at
    GroupDelivery.objects.filter(directive=directive, group=g1).update(
        delivered_at=sent + timedelta(seconds=20), acked_at=sent + timedelta(seconds=60)
    )
    GroupDelivery.objects.filter(directive=directive, group=g2).update(
        delivered_at=sent + timedelta(seconds=30), acked_at=sent + timedelta(seconds=400)
    )
    GroupDelivery.objects.filter(directive=directive, group=g3).update(delivered_at=None, acked_at=None)
    today = timezone.localdate()
    for i in range(2):
        ContactLog.objects.create(
            person=person_a, cadre=user_b, contacted_on=today, channel="phone", summary=f"回访{i}"
        )
    return {"a": person_a, "b": user_b, "directive": directive, "tower": tower, "today": today}


def rating_of(person=None, user=None) -> LiaisonRating:
    return LiaisonRating.objects.get(person=person, user=user, period="month")


def test_ratings_are_computed_from_recorded_work_with_the_published_formula(scene, world, staff):
    result = actions.compute(world["330782"], "month", scene["today"], actor=staff["yiwu_admin"])
    assert result.liaisons == 2 and result.created == 2
    a = rating_of(person=scene["a"])
    assert a.groups == 2 and a.metrics["ack_on_time"] == 0.5 and a.metrics["relayed"] == 1.0
    assert a.metrics["members_added"] == 2  # the two people placed in A's tier-3 group this month
    assert "contacts" not in a.metrics  # a roster liaison keeps no contact log
    # (30 × 0.5 + 20 × 1 + 10 × 2/10) / (30 + 20 + 10) × 100 = 61.7 → 3 stars (50 ≤ 61.7 < 70)
    assert a.score == 61.7 and a.stars == 3
    assert a.points["ack_on_time"]["points"] == 15.0 and a.points["activities"]["points"] is None
    b = rating_of(user=scene["b"])
    assert b.metrics["ack_on_time"] == 0 and b.metrics["relayed"] == 0 and b.metrics["contacts"] == 2
    # (0 + 0 + 0 + 10 × 2/4) / (30 + 20 + 10 + 10) × 100 = 7.1 → 1 star
    assert b.score == 7.1 and b.stars == 1
    assert AuditEvent.objects.filter(action="compute_ratings").exists()
    # Recomputing updates the same rows.
    again = actions.compute(world["330782"], "month", scene["today"])
    assert again.created == 0 and again.updated == 2 and LiaisonRating.objects.count() == 2


def test_quarter_targets_scale_with_the_months(scene, world):
    actions.compute(world["330782"], "quarter", scene["today"])
    a = LiaisonRating.objects.get(person=scene["a"], period="quarter")
    assert a.points["members_added"]["target"] == 30  # 10 a month × 3
    start, end = period_bounds("quarter", scene["today"])
    assert a.period_start == start and (end.month - start.month) % 12 == 3


def test_a_registered_activity_source_is_counted(scene, world):
    def activity_work(liaisons, start, end):
        return {identity: {"activities": 2, "volunteer_hours": 30} for identity in liaisons}

    sources.register("activities-test", ["activities", "volunteer_hours"], activity_work)
    try:
        actions.compute(world["330782"], "month", scene["today"])
    finally:
        sources.unregister("activities-test")
    a = rating_of(person=scene["a"])
    # (15 + 20 + 15 × 1 + 2 + 15 × 1) / (30 + 20 + 15 + 10 + 15) × 100 = 74.4 → 4 stars
    assert a.metrics["activities"] == 2 and a.score == 74.4 and a.stars == 4


def test_publishing_a_formula_is_admin_only_versioned_and_audited(scene, world, staff):
    current = formula.current()
    with pytest.raises(actions.PermissionDenied):
        actions.publish_formula(
            weights={"ack_on_time": 1},
            targets={},
            thresholds=[1, 2, 3, 4],
            notes="",
            actor=staff["yiwu_cadre"],
        )
    with pytest.raises(actions.ValidationError):
        actions.publish_formula(
            weights={"ack_on_time": 1},
            targets={},
            thresholds=[40, 30, 50, 60],
            notes="",
            actor=staff["yiwu_admin"],
        )
    new = actions.publish_formula(
        weights={"ack_on_time": 50, "relayed": 50},
        targets={},
        thresholds=[20, 40, 60, 80],
        notes="只看指令",
        actor=staff["yiwu_admin"],
    )
    assert new.version == current.version + 1 and new.is_current
    assert Formula.objects.filter(is_current=True).count() == 1
    actions.compute(world["330782"], "month", scene["today"])
    a = rating_of(person=scene["a"])
    assert a.formula == new and a.score == 75.0 and a.stars == 4
    assert AuditEvent.objects.filter(action="publish_formula").exists()


def test_benefits_need_the_stars_are_audited_and_revocable(scene, world, staff):
    actions.compute(world["330782"], "month", scene["today"])
    a = rating_of(person=scene["a"])
    hours = Benefit.objects.get(code="volunteer_hours")
    party = Benefit.objects.get(code="party")
    cadre = staff["yiwu_cadre"]
    with pytest.raises(actions.ValidationError):
        actions.grant([a], party, actor=cadre)  # 4 stars needed, A has 3
    (made,) = actions.grant([a], hours, actor=cadre, note="塔群联络员月度激励")
    assert made.amount == 10 and made.stars_at_grant == 3 and made.granted_by == cadre
    assert actions.grant([a], hours, actor=cadre) == []  # already held
    ratings = LiaisonRating.objects.all()
    assert a not in actions.eligible(hours, ratings)
    event = AuditEvent.objects.get(action="grant_benefit")
    assert event.details["benefit"] == "volunteer_hours" and event.details["stars"] == 3
    with pytest.raises(actions.ValidationError):
        actions.revoke(made, actor=cadre, reason="")
    actions.revoke(made, actor=cadre, reason="重复发放")
    made.refresh_from_db()
    assert made.revoked_at and made.revoked_by == cadre
    assert AuditEvent.objects.filter(action="revoke_benefit").exists()
    assert a in actions.eligible(hours, ratings)
    with pytest.raises(actions.PermissionDenied):
        actions.grant([a], hours, actor=staff["yiwu_viewer"])
    with pytest.raises(actions.PermissionDenied):
        actions.grant([a], hours, actor=staff["dongyang_cadre"])


def test_ranking_detail_benefit_and_export_pages(scene, world, staff, client_for):
    client = client_for(staff["yiwu_cadre"])
    assert client.get(reverse("ratings:ranking")).status_code == 200
    response = client.post(reverse("ratings:compute"), {"unit": "330782", "period": "month"})
    assert response.status_code == 302
    page = client.get(reverse("ratings:ranking") + "?unit=330782&period=month")
    body = page.content.decode()
    assert scene["a"].name in body and "联络员乙" in body and "61.7" in body
    a = rating_of(person=scene["a"])
    detail = client.get(reverse("ratings:detail", args=[a.pk])).content.decode()
    assert "指令按时确认率" in detail and "50%" in detail and "61.7" in detail
    hours = Benefit.objects.get(code="volunteer_hours")
    url = reverse("ratings:benefit", args=["volunteer_hours"]) + "?unit=330782&period=month"
    listed = client.get(url).content.decode()
    assert scene["a"].name in listed and "联络员乙" not in listed  # 1 star is not eligible
    client.post(url, {"ratings": [a.pk], "amount": "12", "note": "表现突出"})
    grant = BenefitGrant.objects.get(rating=a, benefit=hours)
    assert grant.amount == 12 and grant.note == "表现突出"
    assert client.get(reverse("ratings:benefits") + "?unit=330782").status_code == 200
    assert client.get(reverse("ratings:formula")).status_code == 200
    export = client.get(reverse("ratings:export") + "?unit=330782&period=month")
    book = CalamineWorkbook.from_filelike(io.BytesIO(b"".join(export.streaming_content)))
    rows = book.get_sheet_by_name("星级评价").to_python()
    assert rows[1][1] == scene["a"].name and rows[1][5] == 3 and "志愿时长激励" in rows[1][-2]
    assert len(book.get_sheet_by_name("福利发放记录").to_python()) == 2


def test_viewer_cannot_compute_or_grant(scene, world, staff, client_for):
    client = client_for(staff["yiwu_viewer"])
    assert client.post(reverse("ratings:compute"), {"unit": "330782", "period": "month"}).status_code == 403
    actions.compute(world["330782"], "month", scene["today"])
    a = rating_of(person=scene["a"])
    url = reverse("ratings:benefit", args=["volunteer_hours"]) + "?unit=330782&period=month"
    assert client.post(url, {"ratings": [a.pk]}).status_code == 403
    assert not BenefitGrant.objects.exists()


def test_dongyang_cadre_sees_no_yiwu_ratings(scene, world, staff, client_for):
    actions.compute(world["330782"], "month", scene["today"])
    a = rating_of(person=scene["a"])
    client = client_for(staff["dongyang_cadre"])
    assert client.get(reverse("ratings:ranking") + "?unit=330782").status_code == 404
    assert scene["a"].name not in client.get(reverse("ratings:ranking")).content.decode()
    assert client.get(reverse("ratings:detail", args=[a.pk])).status_code == 404
    assert (
        client.post(
            reverse("ratings:grant", args=[a.pk]), {"benefit": Benefit.objects.first().pk}
        ).status_code
        == 404
    )
    export = client.get(reverse("ratings:export"))
    book = CalamineWorkbook.from_filelike(io.BytesIO(b"".join(export.streaming_content)))
    assert len(book.get_sheet_by_name("星级评价").to_python()) == 1  # the header only
    api = client.get("/api/v1/liaison-ratings/")
    assert api.status_code == 200 and api.json()["count"] == 0
    own = client_for(staff["yiwu_cadre"]).get("/api/v1/liaison-ratings/?period=month&stars=3").json()
    assert [r["liaison"] for r in own["results"]] == [scene["a"].name]
