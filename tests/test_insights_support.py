"""Builders shared by the test_insights_* modules: the same small set of records of every other
capability, placed under any unit, so that a county's figures can be checked against its parts."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from tuanju.accounts.models import Role
from tuanju.hierarchy.models import OrgUnit

COUNTER = {"n": 0}


@pytest.fixture
def huey_immediate():
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    yield HUEY
    HUEY.immediate = before


@pytest.fixture
def login(db):
    """A separate logged-in client per user (``client_for`` shares one client between users)."""
    from django.test import Client

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


def _n() -> int:
    COUNTER["n"] += 1
    return COUNTER["n"]


def held_start():
    """A moment of this month, in the past: what counts as an activity held this month."""
    now = timezone.now()
    month = timezone.make_aware(datetime.combine(timezone.localdate().replace(day=1), time.min))
    return max(now - timedelta(hours=1), month + timedelta(minutes=1))


def populate(unit: OrgUnit, cadre) -> dict:
    """One of everything under ``unit``: 6 people, 2 organizations (one passes 四有), an alliance,
    a tower group and another group, a community, an activity held this month with hours,
    4 appeals, a station, a survey with 3 answers, a directive with 2 group deliveries."""
    from tuanju.activities.models import Activity, Registration
    from tuanju.appeals.models import Appeal, AppealCategory, ServiceRecord, Station
    from tuanju.groups.models import ChatGroup, Community, CommunityCategory, CommunityMember
    from tuanju.mobilize.models import Directive, GroupDelivery
    from tuanju.organizations.models import Alliance, AllianceMember, Membership, Organization, OrgType
    from tuanju.people.models import Category, ContactLog, LiaisonDuty, Person
    from tuanju.surveys.models import Response, Survey

    n = _n()
    now, today = timezone.now(), timezone.localdate()
    rider, anchor = Category.objects.get(name="外卖骑手"), Category.objects.get(name="网络主播")
    specs = [
        ("league", rider, True, False),
        ("league", rider, True, True),
        ("masses", rider, False, False),
        ("party", anchor, False, False),
        ("masses", anchor, False, False),
        ("league", None, False, False),
    ]
    people = [
        Person.objects.create(
            unit=unit,
            name=f"青年{n}{i}",
            political_status=ps,
            category=cat,
            is_backbone=backbone,
            in_talent_pool=talent,
            gender="M" if i % 2 else "F",
        )
        for i, (ps, cat, backbone, talent) in enumerate(specs)
    ]
    ContactLog.objects.create(person=people[0], cadre=cadre, contacted_on=today, channel="phone", summary="回访")
    ContactLog.objects.create(
        person=people[1], cadre=cadre, contacted_on=today - timedelta(days=3), channel="visit", summary="走访"
    )
    ContactLog.objects.create(
        person=people[1], cadre=cadre, contacted_on=today - timedelta(days=45), channel="visit", summary="旧"
    )
    LiaisonDuty.objects.create(cadre=cadre, person=people[0])
    LiaisonDuty.objects.create(cadre=cadre, person=people[1])

    kind = OrgType.objects.get(name="志愿服务")
    good = Organization.objects.create(unit=unit, name=f"志愿队{n}", org_type=kind, leader=people[0], venue="青年之家")
    weak = Organization.objects.create(unit=unit, name=f"跑团{n}", org_type=kind, leader=people[1], venue="")
    for person in people[:5]:
        Membership.objects.create(organization=good, person=person, joined_on=today - timedelta(days=30))
    Membership.objects.create(organization=weak, person=people[5], joined_on=today - timedelta(days=30))
    alliance = Alliance.objects.create(unit=unit, name=f"联盟{n}", field="志愿服务")
    AllianceMember.objects.create(alliance=alliance, organization=good, join_method="built")
    AllianceMember.objects.create(alliance=alliance, organization=weak, join_method="guided")

    tower = ChatGroup.objects.create(
        unit=unit, kind="tower", name=f"塔群{n}", placed_count=4, member_count=5, liaison_count=0
    )
    ChatGroup.objects.create(unit=unit, kind="organization", name=f"社团群{n}", placed_count=0, member_count=3)
    community = Community.objects.create(
        unit=unit, name=f"社群{n}", category=CommunityCategory.objects.get(name="志愿服务")
    )
    for i, person in enumerate(people[:4]):
        CommunityMember.objects.create(
            community=community, person=person, status="active" if i < 3 else "pending", joined_at=now if i < 3 else None
        )

    start = held_start()
    activity = Activity.objects.create(
        unit=unit,
        organizer_kind="organization",
        organization=good,
        organizer_name=good.name,
        title=f"志愿服务{n}",
        activity_type="volunteer",
        place="青年之家",
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        status="published",
        published_at=start - timedelta(days=2),
    )
    for person, hours in ((people[0], "2.5"), (people[1], "1.5")):
        Registration.objects.create(
            activity=activity,
            person=person,
            status="confirmed",
            source="staff",
            outcome="attended",
            hours=hours,
            hours_confirmed_at=now,
        )

    category = AppealCategory.objects.first()
    base = {"unit": unit, "intake_unit": unit, "category": category, "content": "内容"}
    Appeal.objects.create(**base, title="新诉求", status="received")
    Appeal.objects.create(**base, title="逾期", status="assigned", due_date=today - timedelta(days=1))
    Appeal.objects.create(**base, title="按时办结", status="closed", satisfaction=3, replied_at=now)
    Appeal.objects.create(**base, title="迟办", status="replied", satisfaction=1, replied_late=True, replied_at=now)
    station = Station.objects.create(unit=unit, name=f"驿站{n}", kind="warm", address="街道")
    ServiceRecord.objects.create(station=station, unit=unit, people_count=7, served_on=today)

    survey = Survey.objects.create(unit=unit, title=f"调研{n}", status="published")
    Response.objects.create(survey=survey, respondent_key=f"a{n}", unit=unit, person=people[0])
    Response.objects.create(survey=survey, respondent_key=f"b{n}", unit=unit, person=people[1])
    Response.objects.create(survey=survey, respondent_key=f"c{n}", unit=unit)

    sent = now - timedelta(hours=2)
    directive = Directive.objects.create(
        unit=unit, title=f"动员{n}", body="请转发", urgency="general", status="sent", sent_at=sent
    )
    GroupDelivery.objects.create(
        directive=directive,
        group=tower,
        unit=unit,
        channel="relay",
        delivered_at=sent + timedelta(minutes=2),
        acked_at=sent + timedelta(minutes=30),
    )
    other = ChatGroup.objects.create(unit=unit, kind="other", name=f"其他群{n}")
    GroupDelivery.objects.create(directive=directive, group=other, unit=unit, channel="relay")
    return {"people": people, "good": good, "weak": weak, "tower": tower, "activity": activity}


#: What one ``populate`` call adds to the figures of the unit it is placed under (and its ancestors).
ONE = {
    "people.total": 6,
    "people.backbone": 2,
    "people.talent": 1,
    "people.g.M": 3,
    "people.g.F": 3,
    "people.ps.league": 3,
    "people.ps.masses": 2,
    "people.ps.party": 1,
    "people.cat.生活新业态青年": 3,
    "people.cat.网络文化青年": 2,
    "people.cat._none": 1,
    "contacts.30d": 2,
    "duties.people": 2,
    "orgs.total": 2,
    "orgs.type.志愿服务": 2,
    "orgs.four_have": 1,
    "orgs.no_venue": 1,
    "orgs.no_team": 1,
    "orgs.no_activity": 1,
    "orgs.active_month": 1,
    "orgs.members": 6,
    "alliances.total": 1,
    "alliances.members": 2,
    "groups.tower": 1,
    "groups.other": 2,
    "groups.placed": 4,
    "groups.memberships": 8,
    "groups.no_liaison": 1,
    "communities.total": 1,
    "communities.cat.志愿服务": 1,
    "communities.members": 3,
    "activities.month": 1,
    "activities.year": 1,
    "activities.hours": 4,
    "activities.attended_month": 2,
    "appeals.total": 4,
    "appeals.open": 2,
    "appeals.overdue": 1,
    "appeals.done": 2,
    "appeals.on_time": 1,
    "appeals.rated": 2,
    "appeals.satisfied": 1,
    "appeals.late": 1,
    "appeals.recent": 4,
    "appeals.score": 4,
    "stations.total": 1,
    "services.30d": 7,
    "surveys.total": 1,
    "surveys.open": 1,
    "surveys.responses": 3,
    "surveys.respondents": 3,
    "surveys.people": 2,
    "directives.sent": 1,
    "directives.deliveries": 2,
    "directives.reached": 1,
    "directives.in_sla": 1,
    "directives.acked": 1,
    "directives.ack_sla": 1,
}


@pytest.fixture
def filled(world, staff):
    """Yiwu: one set at the tier-1 unit 华新社区 and one at the town 江东街道; Dongyang: one set at
    吴宁街道. Figures computed."""
    from tuanju.insights import aggregates

    populate(world["330782001001"], staff["yiwu_cadre"])
    populate(OrgUnit.objects.get(code="330782002"), staff["yiwu_cadre"])
    populate(world["330783001"], staff["dongyang_cadre"])
    aggregates.refresh(None)
    return world


def town_cadre(make_user, code: str, username: str):
    return make_user(username, OrgUnit.objects.get(code=code), Role.CADRE)
