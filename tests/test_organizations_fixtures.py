"""Shared fixtures and builders of the organization tests (imported by the test_organizations_* modules)."""

from __future__ import annotations

from datetime import date

import pytest

from tuanju.core import idcard
from tuanju.organizations import actions, uscc
from tuanju.organizations.models import JoinMethod, Organization, OrgType, RegistrationStatus
from tuanju.people import actions as people_actions
from tuanju.people.models import Person

#: valid codes built from their parts (authority 5 = civil affairs, category 2 = 民办非企业单位)
CODE_A = uscc.make("52", "330782", "MJ000001")
CODE_B = uscc.make("51", "330782", "MJ000002")
CODE_DONG = uscc.make("52", "330783", "MJ000003")
YIWU_NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴婷", "徐鹏", "孙悦"]
DONG_NAMES = ["郑浩", "何琳", "罗斌", "梁欣", "宋涛", "韩雪"]


def add_person(unit, name: str, seq: int, *, region: str = "330782") -> Person:
    number = idcard.make(region, date(1995, 1, 1 + seq % 28), seq, male=seq % 2 == 0)
    return people_actions.save_person(
        Person(),
        data={
            "unit": unit,
            "name": name,
            "birth_date": idcard.birth_date(number),
            "gender": idcard.gender(number),
        },
        resident_id=number,
        phone=f"1380000{seq:04d}",
        actor=None,
    )


def unit(code: str):
    from tuanju.hierarchy.models import OrgUnit

    return OrgUnit.objects.get(code=code)


def org_type(name: str = "志愿服务") -> OrgType:
    return OrgType.objects.get(name=name)


def make_org(
    unit, name: str, *, type_name: str = "志愿服务", actor=None, phone: str = "", **data
) -> Organization:
    data.setdefault("registration_status", RegistrationStatus.UNREGISTERED)
    return actions.save_organization(
        Organization(),
        data={"unit": unit, "name": name, "org_type": org_type(type_name), **data},
        contact_phone=phone,
        actor=actor,
    )


def fill_members(org: Organization, members: list[Person]) -> None:
    for person in members:
        actions.add_member(org, person, joined_on=date(2024, 1, 1))


@pytest.fixture
def no_activities():
    """Decide 四有 and the duty board without an activity source (as before activities existed);
    the source the activities app registered is put back afterwards."""
    from tuanju.organizations import hooks

    before = hooks.activity_source()
    hooks.register_activity_source(None)
    yield
    hooks.register_activity_source(before)


@pytest.fixture
def org_people(world):
    town = world["330782001001"]
    yiwu = [add_person(town, name, i + 1) for i, name in enumerate(YIWU_NAMES)]
    dong = [
        add_person(world["330783001"], name, 100 + i, region="330783") for i, name in enumerate(DONG_NAMES)
    ]
    return {"yiwu": yiwu, "dong": dong}


@pytest.fixture
def sample_orgs(world, org_people):
    """Three Yiwu organizations (one meeting 四有) and one in Dongyang."""
    yiwu_people = org_people["yiwu"]
    good = make_org(
        world["330782001"],
        "稠城青年志愿服务队",
        registration_status=RegistrationStatus.REGISTERED,
        uscc=CODE_A,
        venue="稠城青年之家",
        leader=yiwu_people[0],
        phone="13812345678",
    )
    fill_members(good, yiwu_people[:6])
    bare = make_org(world["330782"], "义乌青年创业联合会", type_name="创业就业")
    fill_members(bare, yiwu_people[6:8])
    arts = make_org(world["330782001001"], "华新社区文艺队", type_name="文艺体育", venue="社区活动室")
    dong = make_org(
        world["330783001"],
        "东阳青年志愿者协会",
        registration_status=RegistrationStatus.REGISTERED,
        uscc=CODE_DONG,
        venue="吴宁街道",
        leader=org_people["dong"][0],
    )
    fill_members(dong, org_people["dong"])
    return {"good": good, "bare": bare, "arts": arts, "dong": dong}


def society_pool(unit, count: int, *, prefix: str = "社团") -> list[Organization]:
    return [make_org(unit, f"{prefix}{i:02d}", type_name="文艺体育") for i in range(1, count + 1)]


def build_alliance(unit, societies: list[Organization], *, council: int = 8, founded=date(2025, 1, 10)):
    """An alliance with ``societies`` as members (the first leads) and the first ``council`` on the council."""
    from tuanju.organizations.models import Alliance

    alliance = actions.save_alliance(
        Alliance(),
        data={
            "unit": unit,
            "name": "青年体育同好联盟",
            "field": "体育",
            "leader": societies[0],
            "founded_on": founded,
        },
    )
    for org in societies[1:]:
        actions.add_alliance_member(alliance, org, join_method=JoinMethod.ABSORBED, joined_on=founded)
    if council:
        actions.set_council(alliance, societies[:council])
    return alliance
