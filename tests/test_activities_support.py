"""Shared fixtures and builders of the activities tests (no tests here)."""

from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from tuanju.activities import actions
from tuanju.activities.hooks import ActivitySource
from tuanju.activities.models import Activity, CheckMethod, Registration
from tuanju.core import idcard
from tuanju.groups import actions as groups_actions
from tuanju.groups.models import Community, CommunityCategory
from tuanju.organizations import hooks
from tuanju.people import actions as people_actions
from tuanju.people.models import Person

RID = idcard.make("330782", date(1999, 1, 1), 123, male=False)
PHONES = iter(f"1390000{n:04d}" for n in range(10000))


@pytest.fixture
def activities_env(settings):
    """A clean rate-limit cache, our activity source on the organizations hook (other test modules
    swap it for fakes), and English pages (assertions read UI strings by their English msgids,
    whatever the Chinese catalogue says)."""
    settings.LANGUAGE_CODE = "en"
    cache.clear()
    previous = hooks.activity_source()
    hooks.register_activity_source(ActivitySource())
    yield
    hooks.register_activity_source(previous)
    cache.clear()


def person(unit, name="张伟", phone=None, resident_id=None):
    return people_actions.save_person(
        Person(),
        data={"unit": unit, "name": name},
        resident_id=resident_id,
        phone=phone or next(PHONES),
        actor=None,
    )


def make_community(unit, name="青年之家瑜伽课堂", limit=3):
    category = CommunityCategory.objects.order_by("pk").first()
    return groups_actions.save_community(
        Community(),
        data={
            "unit": unit,
            "name": name,
            "category": category,
            "requires_approval": False,
            "absence_limit": limit,
        },
    )


def make_activity(*, days=3, hours=2, community=None, unit=None, organization=None, alliance=None, **data):
    start = timezone.now() + timedelta(days=days)
    fields = {
        "title": data.pop("title", "周末瑜伽课"),
        "activity_type": data.pop("activity_type", "culture"),
        "place": "稠城街道青年之家",
        "starts_at": start,
        "ends_at": start + timedelta(hours=hours),
        **data,
    }
    if community is not None:
        fields.update(organizer_kind="community", community=community)
    elif organization is not None:
        fields.update(organizer_kind="organization", organization=organization)
    elif alliance is not None:
        fields.update(organizer_kind="alliance", alliance=alliance)
    else:
        fields.update(organizer_kind="unit", unit=unit)
    activity = actions.save_activity(Activity(), data=fields)
    actions.publish(activity)
    return activity


def move(activity, *, days, hours=2):
    """Put an activity at ``days`` from now (negative: in the past)."""
    start = timezone.now() + timedelta(days=days)
    Activity.objects.filter(pk=activity.pk).update(starts_at=start, ends_at=start + timedelta(hours=hours))
    activity.refresh_from_db()
    return activity


def held(community, who, *, days_ago, attend=(), leave=(), title=None):
    """An activity of ``community`` ``days_ago`` days ago that ``who`` registered for, settled:
    people in ``attend`` checked in, those in ``leave`` had approved leave, the rest were absent."""
    activity = make_activity(community=community, title=title or f"第{days_ago}天前的活动")
    for p in who:
        result = actions.register(activity, person=p, source="staff")
        if p in leave:
            actions.record_leave(result.registration, reason="临时加班", actor=None)
    move(activity, days=-days_ago)
    for p in attend:
        reg = Registration.objects.get(activity=activity, person=p)
        actions.check_in(
            reg, method=CheckMethod.MANUAL, note="到场", at=activity.starts_at + timedelta(minutes=1)
        )
    actions.settle_attendance(activity)
    return activity
