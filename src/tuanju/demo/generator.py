"""The one place every capability adds its demo and benchmark data.

``build_world(scale, seed)`` is deterministic: the real divisions of Zhejiang down to county,
the real towns of Yiwu (and, at demo scale, Dongyang), and generated tower units below them
in the proportions of seed 004 (Yiwu: 152 + 3,467 + 33,455 units). Later capabilities add
their data by extending ``build_world`` with a step of their own.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from tuanju.accounts.models import Role, User
from tuanju.core.bulk import insert_rows
from tuanju.demo.synth import Synth
from tuanju.hierarchy import actions as hierarchy
from tuanju.hierarchy.actions import NewUnit
from tuanju.hierarchy.models import Level, OrgUnit
from tuanju.people import actions as people_actions
from tuanju.people.importing import INSERT_COLUMNS, RosterSpec
from tuanju.people.models import Category, ContactChannel, Person, PoliticalStatus

log = logging.getLogger(__name__)

PROVINCE = "330000"  # 浙江省
CITY = "330700"  # 金华市
YIWU = "330782"  # 义乌市
DONGYANG = "330783"  # 东阳市
DEMO_PASSWORD = "Tuanju-demo-2026"  # noqa: S105 - printed by `make demo` on purpose


@dataclass(frozen=True)
class CountyPlan:
    code: str
    tier1: int
    tier2: int
    tier3: int
    people: int = 0


SCALES: dict[str, list[CountyPlan]] = {
    "demo": [CountyPlan(YIWU, 20, 60, 240, people=2000), CountyPlan(DONGYANG, 18, 36, 108, people=600)],
    "county": [CountyPlan(YIWU, 152, 800, 4000, people=50_000)],
    # Seed 004: 152 + 3,467 + 33,455 units and 1.005 million youth in Yiwu's tower groups.
    "yiwu": [CountyPlan(YIWU, 152, 3467, 33455, people=1_005_000)],
}

TIER1_KINDS = (("村", "村", 0.55), ("社区", "社区", 0.38), ("园区", "工业园区", 0.07))
TIER2_KINDS = {"村": ("自然村", "自然村"), "社区": ("小区", "小区"), "园区": ("企业区块", "区块")}
TIER3_KINDS = {"村": "村民小组", "社区": "楼道单元", "园区": "车间班组"}


def _tier1_kind(synth: Synth) -> tuple[str, str]:
    roll = synth.rng.random()
    for kind, suffix, share in TIER1_KINDS:
        if roll < share:
            return kind, suffix
        roll -= share
    return TIER1_KINDS[0][:2]


def _tier3_name(kind: str, index: int) -> str:
    if kind == "村":
        return f"第{index}村民小组"
    if kind == "社区":
        return f"{(index - 1) // 4 + 1}幢{(index - 1) % 4 + 1}单元"
    return f"第{index}车间班组"


def county_specs(plan: CountyPlan, synth: Synth) -> list[NewUnit]:
    """Towns (real names and codes) with generated tier-1/2/3 units below them."""
    towns = hierarchy.real_towns(plan.code)
    per_town = synth.split(plan.tier1, len(towns))
    tier2_per_tier1 = synth.split(plan.tier2, plan.tier1)
    tier3_per_tier2 = synth.split(plan.tier3, plan.tier2)
    t1 = t2 = 0
    specs = []
    for (town_code, town_name), n_tier1 in zip(towns, per_town, strict=True):
        town = NewUnit(town_code, town_name, Level.TOWN, kind="镇" if town_name.endswith("镇") else "街道")
        for i in range(1, n_tier1 + 1):
            kind, suffix = _tier1_kind(synth)
            tier1 = NewUnit(f"{town_code}{i:03d}", synth.place() + suffix, Level.TIER1, kind=kind)
            kind2, suffix2 = TIER2_KINDS[kind]
            for j in range(1, tier2_per_tier1[t1] + 1):
                tier2 = NewUnit(f"{tier1.code}{j:03d}", synth.place() + suffix2, Level.TIER2, kind=kind2)
                for k in range(1, tier3_per_tier2[t2] + 1):
                    tier2.children.append(
                        NewUnit(
                            f"{tier2.code}{k:03d}", _tier3_name(kind, k), Level.TIER3, kind=TIER3_KINDS[kind]
                        )
                    )
                tier1.children.append(tier2)
                t2 += 1
            town.children.append(tier1)
            t1 += 1
        specs.append(town)
    return specs


def ensure_staff(username: str, unit_code: str, role: str, full_name: str) -> User:
    unit = OrgUnit.objects.get(code=unit_code)
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, first_name=full_name)
    user.unit, user.role, user.first_name, user.is_active = unit, role, full_name, True
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user


DEMO_STAFF = [
    ("jinhua_admin", CITY, Role.ADMIN, "金华市团委管理员"),
    ("yiwu_cadre", YIWU, Role.CADRE, "义乌市团委干部"),
    ("dongyang_cadre", DONGYANG, Role.CADRE, "东阳市团委干部"),
    ("yiwu_viewer", YIWU, Role.VIEWER, "义乌市只读账号"),
]


def build_world(scale: str = "demo", seed: int = 1, *, echo=print) -> dict:
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    synth = Synth(seed)
    timings = {}
    started = time.perf_counter()
    hierarchy.load_divisions([PROVINCE])
    timings["divisions"] = time.perf_counter() - started
    for plan in SCALES[scale]:
        county = OrgUnit.objects.get(code=plan.code)
        if county.numchild:
            echo(f"{county.name} already has units below it; keeping them.")
            continue
        t0 = time.perf_counter()
        with transaction.atomic():
            inserted = hierarchy.bulk_insert(county, county_specs(plan, synth))
        timings[f"units_{plan.code}"] = time.perf_counter() - t0
        echo(f"{county.name}: {inserted} units in {timings[f'units_{plan.code}']:.1f} s")
    for username, code, role, full_name in DEMO_STAFF:
        if OrgUnit.objects.filter(code=code).exists():
            ensure_staff(username, code, role, full_name)
    for plan in SCALES[scale]:
        county = OrgUnit.objects.get(code=plan.code)
        if plan.people and not Person.objects.in_subtree(county).exists():
            t0 = time.perf_counter()
            added = people_step(county, plan.people, synth)
            timings[f"people_{plan.code}"] = time.perf_counter() - t0
            echo(f"{county.name}: {added} people in {timings[f'people_{plan.code}']:.1f} s")
    if scale == "demo":
        contacts_step(synth)
    timings.update(organizations_step(scale, seed, echo=echo))
    timings.update(groups_step(scale, seed, echo=echo))
    timings.update(activities_step(scale, seed, echo=echo))
    timings.update(appeals_surveys_step(scale, seed, echo=echo))
    timings.update(mobilize_step(scale, seed, echo=echo))
    timings.update(insights_step(scale, seed, echo=echo))  # keep last: it summarizes the steps above
    timings["total"] = time.perf_counter() - started
    return {"scale": scale, "seed": seed, "units": OrgUnit.objects.count(), "timings": timings}


# --- C2 roster -----------------------------------------------------------------------------

POLITICAL_MIX = [(PoliticalStatus.MASSES, 0.55), (PoliticalStatus.LEAGUE, 0.32), (PoliticalStatus.PARTY, 0.08),
                 (PoliticalStatus.PROBATIONARY, 0.02), (PoliticalStatus.DEMOCRATIC, 0.01),
                 (PoliticalStatus.INDEPENDENT, 0.02)]
# Occupations in rough proportion to what the seeds describe: delivery and ride-hailing first.
CATEGORY_MIX = [("外卖骑手", 22), ("快递员", 18), ("网约车司机", 12), ("网络主播", 8), ("短视频创作者", 8),
                ("电商从业者", 7), ("签约作家", 2), ("自由撰稿人", 3), ("独立制片人", 1), ("独立演员歌手", 2),
                ("自由美术工作者", 3), ("独立设计师", 3), ("社会组织从业人员", 6), ("货车司机", 5)]
EMPLOYERS = {"外卖骑手": ["美团", "饿了么"], "快递员": ["顺丰速运", "中通快递", "圆通速递", "韵达快递", "京东物流"],
             "网约车司机": ["滴滴出行", "曹操出行", "T3出行"], "网络主播": ["抖音", "快手", "淘宝直播"],
             "短视频创作者": ["抖音", "快手", "视频号", "哔哩哔哩"], "电商从业者": ["义乌小商品城", "拼多多", "淘宝"]}
EDUCATION = ["初中", "高中", "中专", "大专", "本科", "硕士"]


def _weighted(rng, pairs):
    roll = rng.random() * sum(w for _, w in pairs)
    for value, weight in pairs:
        roll -= weight
        if roll < 0:
            return value
    return pairs[-1][0]


def people_step(county: OrgUnit, total: int, synth: Synth, *, batch: int = 20_000) -> int:
    """``total`` young people spread over the county's smallest units, through the bulk fast path."""
    spec = RosterSpec(county)
    units = list(OrgUnit.objects.in_subtree(county).filter(level=Level.TIER3).values_list("pk", flat=True))
    units = units or list(OrgUnit.objects.in_subtree(county).values_list("pk", flat=True))
    categories = {c.name: c.pk for c in Category.objects.all()}
    today, now, rng = timezone.localdate(), timezone.now(), synth.rng
    added, rows = 0, []
    for _ in range(total):
        person = synth.person(county.code, today=today)
        category = _weighted(rng, CATEGORY_MIX)
        values = {
            "unit_id": rng.choice(units), "name": person.name, "gender": person.gender,
            "birth_date": person.birth_date, "resident_id": person.resident_id, "phone": person.phone,
            "political_status": _weighted(rng, POLITICAL_MIX), "category_id": categories.get(category),
            "employer": rng.choice(EMPLOYERS.get(category, [""])), "education": rng.choice(EDUCATION),
            "ethnicity": "汉族", "is_backbone": rng.random() < 0.012, "in_talent_pool": rng.random() < 0.004,
            "_id_bidx": spec.cipher.blind_index(person.resident_id),
            "_phone_bidx": spec.cipher.blind_index(person.phone),
        }
        rows.append(spec.insert_tuple(values, now))
        if len(rows) >= batch:
            with transaction.atomic():
                added += insert_rows(Person._meta.db_table, INSERT_COLUMNS, rows)
            rows = []
    if rows:
        with transaction.atomic():
            added += insert_rows(Person._meta.db_table, INSERT_COLUMNS, rows)
    return added


def contacts_step(synth: Synth) -> None:
    """1+N duties for the Yiwu cadre, with contacts, some of them overdue."""
    cadre = User.objects.filter(username="yiwu_cadre").first()
    if cadre is None or cadre.duties.exists():
        return
    backbone = list(Person.objects.in_subtree(cadre.unit).filter(is_backbone=True).order_by("pk")[:12])
    people_actions.assign_duty(cadre, backbone, actor=cadre)
    today = timezone.localdate()
    channels = list(ContactChannel.values)
    for i, person in enumerate(backbone):
        for back in ([3, 20] if i % 3 else [45]):
            people_actions.log_contact(
                person, cadre=cadre, contacted_on=today - timedelta(days=back + i),
                channel=synth.rng.choice(channels), summary="了解近况和就业需求",
                follow_up="推荐参加技能培训" if i % 2 else "",
            )


# --- C5/C6 tower groups and interest communities (groups app) -------------------------------------


def groups_step(scale: str, seed: int, *, echo=print) -> dict:
    """Every county's tower (one group per tier-1/2/3 unit) with the roster placed in it, liaisons
    and the relay chain (each group's liaison sits in the group above), robots on some groups, a few
    alliance groups, and interest communities with members, approvals, a blacklist and credit."""
    from tuanju.groups import actions as groups_actions
    from tuanju.groups.models import ChatGroup

    timings: dict[str, float] = {}
    synth = Synth(seed * 1000 + 6)  # its own stream: other steps' draws do not shift this one
    for plan in SCALES[scale]:
        county = OrgUnit.objects.get(code=plan.code)
        if ChatGroup.objects.towers().filter(unit__path__startswith=county.path).exists():
            continue
        t0 = time.perf_counter()
        built = groups_actions.build_towers(county)
        placed = groups_actions.place_people(county)
        timings[f"towers_{plan.code}"] = time.perf_counter() - t0
        echo(f"{county.name}: {built.created} tower groups, {placed.placed} people placed in {timings[f'towers_{plan.code}']:.1f} s")
        t0 = time.perf_counter()
        _tower_liaisons(county, synth)
        timings[f"liaisons_{plan.code}"] = time.perf_counter() - t0
    yiwu = OrgUnit.objects.filter(code=YIWU).first()
    if yiwu is not None and not ChatGroup.objects.filter(unit=yiwu).exclude(kind="tower").exists():
        _alliance_groups(yiwu, synth)
        for plan in SCALES[scale]:
            _communities(OrgUnit.objects.get(code=plan.code), synth)
    return timings


def _tower_liaisons(county: OrgUnit, synth: Synth) -> None:
    """Tier-3 groups get a liaison among their members; each tier-2 and tier-1 group holds the
    liaisons of the groups below it (the relay chain a directive travels) and one of them leads it.
    A few groups are left without a liaison so that the coverage page shows gaps."""
    from tuanju.groups import actions as groups_actions
    from tuanju.groups.models import ChatGroup, GroupMember, MemberSource

    rng = synth.rng
    groups = list(
        ChatGroup.objects.towers().filter(unit__path__startswith=county.path)
        .values_list("pk", "parent_id", "unit__level", "name")
    )
    members: dict[int, list[int]] = {}
    tier3 = {pk for pk, _parent, level, _name in groups if level == Level.TIER3}
    rows = GroupMember.objects.filter(group__unit__path__startswith=county.path, group__kind="tower")
    for group_id, person_id in groups_actions.raw_rows(rows.values_list("group_id", "person_id")):
        if group_id in tier3:
            members.setdefault(group_id, []).append(person_id)
    liaison_of: dict[int, int] = {}
    for pk, _parent, level, _name in groups:
        if level == Level.TIER3 and members.get(pk) and rng.random() < 0.9:
            liaison_of[pk] = rng.choice(members[pk])
    relay: list[tuple[int, int]] = []
    for level, share in ((Level.TIER2, 0.94), (Level.TIER1, 0.97)):
        below: dict[int, list[int]] = {}
        for pk, parent, lv, _name in groups:
            if parent and lv == LEVEL_BELOW[level] and pk in liaison_of:
                below.setdefault(parent, []).append(liaison_of[pk])
        for pk, _parent, lv, _name in groups:
            if lv == level and below.get(pk):
                relay.extend((pk, person) for person in below[pk])
                if rng.random() < share:
                    liaison_of[pk] = rng.choice(below[pk])
    groups_actions.bulk_add_members(relay, source=MemberSource.IMPORT)
    groups_actions.bulk_add_liaisons([(g, None, p) for g, p in liaison_of.items()], make_owner=True)
    mirrors = []
    for pk, _parent, _level, name in groups:
        roll = rng.random()
        if roll < 0.12:
            key = "".join(rng.choice("0123456789abcdef") for _ in range(32))
            url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={key[:8]}-{key[8:12]}-{key[12:16]}-{key[16:20]}-{key[20:]}"
            mirrors.append((pk, "wework", name, url))
        elif roll < 0.15:
            token = "".join(rng.choice("0123456789abcdef") for _ in range(64))
            mirrors.append((pk, "dingtalk", name, f"https://oapi.dingtalk.com/robot/send?access_token={token}"))
        else:
            mirrors.append((pk, "wechat", name, ""))
    groups_actions.bulk_set_mirrors(mirrors)


LEVEL_BELOW = {Level.TIER2: Level.TIER3, Level.TIER1: Level.TIER2}

ALLIANCE_GROUPS = [
    ("alliance_all", "八大联盟总群"),
    ("alliance_members", "青年志愿服务联盟·社团成员群"),
    ("alliance_council", "青年志愿服务联盟·理事群"),
    ("alliance_members", "青年网络从业者联盟·社团成员群"),
    ("alliance_council", "青年网络从业者联盟·理事群"),
    ("organization", "网文江湖社"),
    ("organization", "补胎哥志愿服务队"),
]


def _alliance_groups(yiwu: OrgUnit, synth: Synth) -> None:
    """Seed 004 (鄞州): each alliance a members group and a council group, an all-alliances group, and
    a group per society — referring to the organizations app's records when it has some (looked up
    through the app registry, so the groups app does not depend on it), else named examples."""
    from django.apps import apps

    from tuanju.groups import actions as groups_actions

    planned: list[tuple[str, str, str, int | None]] = []
    try:
        alliance_model = apps.get_model("organizations", "Alliance")
        organization_model = apps.get_model("organizations", "Organization")
    except LookupError:
        alliance_model = organization_model = None
    alliances = list(alliance_model.objects.in_subtree(yiwu).order_by("pk")[:8]) if alliance_model else []
    if alliances:
        planned.append(("alliance_all", "八大联盟总群", "", None))
        for alliance in alliances:
            label = alliance._meta.label_lower
            planned.append(("alliance_members", f"{alliance.name}·社团成员群"[:100], label, alliance.pk))
            planned.append(("alliance_council", f"{alliance.name}·理事群"[:100], label, alliance.pk))
        for org in organization_model.objects.in_subtree(yiwu).order_by("pk")[:12]:
            planned.append(("organization", org.name[:100], org._meta.label_lower, org.pk))
    else:
        planned = [(kind, name, "", None) for kind, name in ALLIANCE_GROUPS]
    backbone = list(Person.objects.in_subtree(yiwu).filter(is_backbone=True).order_by("pk").values_list("pk", flat=True)[:60])
    for kind, name, ref_type, ref_id in planned:
        group = groups_actions.create_group(yiwu, kind=kind, name=name, platform="wework", ref_type=ref_type, ref_id=ref_id)
        chosen = synth.rng.sample(backbone, min(len(backbone), synth.rng.randint(8, 20)))
        if chosen:
            groups_actions.add_group_members(group, Person.objects.filter(pk__in=chosen))
            note = "社团负责人" if kind == "organization" else "联盟秘书长"
            groups_actions.add_liaison(group, person=Person.objects.get(pk=chosen[0]), note=note)


COMMUNITY_PLANS = {
    YIWU: [
        ("义乌青年突击队", "突击应急", "防汛抗台、疫情防控等急难险重任务的青年突击力量，接到指令15分钟内集结。", True, True, 80),
        ("小哥加油站志愿服务队", "志愿服务", "外卖、快递小哥参与的助老助残、文明劝导志愿服务。", False, True, 60),
        ("义乌直播电商交流群", "工作交流", "直播电商从业青年交流选品、运营与合规经验。", False, False, 90),
        ("青年就业创业信息群", "信息共享", "发布招聘、创业扶持、技能补贴等政策信息。", False, False, 120),
        ("青春学堂", "学习提升", "学历提升、技能培训与读书分享。", False, True, 50),
        ("青春有约交友社", "婚恋交友", "团委主办的青年联谊活动，实名登记、审核入群。", True, True, 40),
        ("青年之家瑜伽课堂", "兴趣爱好", "每周一次线下瑜伽课，连续3次无故缺席将暂停报名。", False, True, 68),
        ("青春旅行社", "兴趣爱好", "周末徒步、短途旅行与城市探索。", False, False, 45),
    ],
    DONGYANG: [
        ("东阳青年志愿者服务群", "志愿服务", "东阳市青年志愿者日常服务与招募。", False, True, 40),
        ("东阳青年篮球群", "兴趣爱好", "每周三、周六晚篮球约战。", False, False, 30),
    ],
}
CHARTER = """{name}社群公约

一、本社群由共青团{unit}委员会指导建立，成员实名登记，一人一号。
二、遵守法律法规和社会公德，不发布违法违规、低俗及与社群主题无关的广告信息。
三、文明交流，互相尊重，不进行人身攻击，不泄露他人个人信息。
四、报名参加线下活动后按时参加；确有事不能参加的，请在活动开始前请假。连续{limit}次无故缺席的，将暂停报名下一次活动。
五、违反公约的，群管理员先行提醒、警告；经警告仍不改正的，列入社群黑名单，不得再次加入。
六、本公约自发布之日起施行，由群主负责解释。"""


def _communities(county: OrgUnit, synth: Synth) -> None:
    from tuanju.groups import actions as groups_actions
    from tuanju.groups.models import Community, CommunityCategory, CommunityMember, CommunityRole, CreditKind

    rng = synth.rng
    categories = {c.name: c for c in CommunityCategory.objects.all()}
    pool = list(Person.objects.in_subtree(county).order_by("pk").values_list("pk", flat=True)[:5000])
    if not pool:
        return
    now = timezone.now()
    for name, category, description, requires_id, approval, size in COMMUNITY_PLANS.get(county.code, []):
        community = groups_actions.save_community(
            Community(),
            data={
                "unit": county,
                "name": name,
                "category": categories[category],
                "description": description,
                "requires_resident_id": requires_id,
                "requires_approval": approval,
                "is_open": True,
                "max_members": 500,
                "absence_limit": 3,
            },
        )
        groups_actions.update_charter(community, text=CHARTER.format(name=name, unit=county.name, limit=3))
        people = list(Person.objects.filter(pk__in=rng.sample(pool, min(size, len(pool)))))
        groups_actions.add_community_members(community, people, actor=None)
        members = list(CommunityMember.objects.filter(community=community).order_by("pk"))
        for member in members:  # joins spread over the past year, for the statistics
            member.joined_at = member.applied_at = now - timedelta(days=rng.randint(0, 360), minutes=rng.randint(0, 1440))
            member.source = rng.choice(["qr", "qr", "qr", "link", "staff"])
        CommunityMember.objects.bulk_update(members, ["joined_at", "applied_at", "source"])
        roles = [CommunityRole.OWNER, CommunityRole.ORGANIZER, CommunityRole.PUBLICITY] + [CommunityRole.SEED] * rng.randint(3, 6)
        for member, role in zip(members, roles, strict=False):
            groups_actions.set_role(member, role, actor=None)
        # Young people who scanned the code and are not in the roster yet (registered by the join).
        for _ in range(rng.randint(2, 5)):
            person = synth.person(county.code, today=timezone.localdate(), min_age=18, max_age=35)
            groups_actions.join_community(
                community,
                name=person.name,
                phone=person.phone,
                resident_id=person.resident_id,
                accepted_charter=True,
                source="qr",
            )
        if community.requires_approval:  # a few applications waiting
            for pk in rng.sample(pool, 4):
                applicant = Person.objects.get(pk=pk)
                if not CommunityMember.objects.filter(community=community, person=applicant).exists():
                    CommunityMember.objects.create(
                        community=community, person=applicant, source="qr", charter_version=community.charter_version,
                        charter_accepted_at=now, applied_at=now - timedelta(hours=rng.randint(1, 72)),
                    )
        ordinary = members[len(roles) :]
        if category == "兴趣爱好" and len(ordinary) > 10:
            # Attendance of past classes: some members miss several in a row.
            for member in ordinary[:20]:
                for week in range(8, 0, -1):
                    kind = rng.choices([CreditKind.ATTENDED, CreditKind.ABSENT, CreditKind.EXCUSED], [6, 2, 1])[0]
                    groups_actions.record_credit(
                        member.person, kind=kind, community=community, reason=f"第{9 - week}次线下活动",
                        at=now - timedelta(days=7 * week),
                    )
            offender = ordinary[-1].person
            groups_actions.warn(community, offender, reason="在群内发布与社群无关的广告", actor=None)
            groups_actions.warn(community, offender, reason="再次发布广告", actor=None)
            groups_actions.blacklist(community, offender, reason="经提醒、警告后仍多次发布广告", actor=None)


# --- C3/C4 youth social organizations and alliances (organizations app) ---------------------------

#: organizations per county and their mean number of individual members (seed 002: 7,300 county
#: organizations nationally, every county league with 2–3 close ones and many more registered)
ORG_PLANS: dict[str, dict[str, tuple[int, int]]] = {
    "demo": {YIWU: (30, 14), DONGYANG: (12, 10)},
    "county": {YIWU: (300, 40)},
    "yiwu": {YIWU: (2000, 60)},
}
ORG_TYPE_MIX = [
    ("志愿服务", 38),
    ("创业就业", 17),
    ("文艺体育", 25),
    ("公益慈善", 6),
    ("文化创意", 5),
    ("电竞", 3),
    ("社区服务", 4),
    ("社会实践", 2),
]
ORG_THEMES = {
    "志愿服务": [
        "青年志愿服务队",
        "应急救援队",
        "青年志愿者协会",
        "爱心互助社",
        "护河志愿队",
        "小哥加油站志愿队",
    ],
    "创业就业": ["青年创业联合会", "青创联盟", "电商创业协会", "青年就业服务社", "直播电商青年社"],
    "文艺体育": ["青年篮球俱乐部", "青年文艺团", "街舞社", "青年跑团", "摄影协会", "汉服社", "青年合唱团"],
    "公益慈善": ["公益服务中心", "助学公益社"],
    "文化创意": ["文创青年社", "青年书画社", "网文江湖社"],
    "电竞": ["青年电竞俱乐部"],
    "社区服务": ["社区青年服务社", "青年之家服务队"],
    "社会实践": ["大学生社会实践队"],
}
ORG_TAGS = ["应急", "社区", "助老", "助学", "直播", "电商", "篮球", "文艺", "环保", "新就业形态"]
FUNDERS = ["市民政局", "团市委", "市人社局", "市妇联", "市司法局", "街道办事处"]
PROJECT_TITLES = [
    "困境儿童陪伴计划",
    "新就业形态青年关爱行动",
    "社区青少年心理服务",
    "青年创业能力培训",
    "“七彩假期”公益课堂",
    "金晖助老服务",
    "防溺水安全教育",
]
#: Seed 004's eight alliances (8+X); the demo builds the first in Yiwu and a smaller one in Dongyang.
EIGHT_ALLIANCES = [
    ("青年志愿服务联盟", "志愿服务"),
    ("青年创业创新联盟", "创业创新"),
    ("青年社会组织联盟", "青年社会组织"),
    ("大学生社会实践联盟", "大学生社会实践"),
    ("青年网络从业者联盟", "青年网络从业者"),
    ("青年新文艺联盟", "青年新文艺"),
    ("青年体育同好联盟", "青年体育同好"),
    ("青年之家联盟", "青年之家"),
]


def organizations_step(scale: str, seed: int, *, echo=print) -> dict:
    """Organizations with members, projects and absorption records in every county of the scale,
    then alliances: at demo scale one 8+X alliance in Yiwu (council of 8, a year's duty, meetings with
    one quarter missed) and a small one in Dongyang; at county scale and above all eight in Yiwu."""
    from tuanju.organizations.models import Organization

    timings: dict[str, float] = {}
    synth = Synth(seed * 1000 + 5)  # its own stream: other steps' draws do not shift this one
    for code, (count, mean_members) in ORG_PLANS.get(scale, {}).items():
        county = OrgUnit.objects.filter(code=code).first()
        if county is None or Organization.objects.in_subtree(county).exists():
            continue
        t0 = time.perf_counter()
        made, members = _organizations(county, count, mean_members, synth)
        timings[f"organizations_{code}"] = time.perf_counter() - t0
        echo(
            f"{county.name}: {made} organizations, {members} memberships in {timings[f'organizations_{code}']:.1f} s"
        )
        t0 = time.perf_counter()
        plans = EIGHT_ALLIANCES[:1] if scale == "demo" else EIGHT_ALLIANCES
        if code == DONGYANG:
            plans = [("东阳市青年志愿服务联盟", "志愿服务")]
        council = {YIWU: 8, DONGYANG: 6}.get(code) if scale == "demo" else None
        built = _alliances(county, plans, synth, council=council)
        timings[f"alliances_{code}"] = time.perf_counter() - t0
        echo(f"{county.name}: {built} alliances in {timings[f'alliances_{code}']:.1f} s")
    return timings


def _organizations(county: OrgUnit, count: int, mean_members: int, synth: Synth) -> tuple[int, int]:
    from tuanju.core.crypto import cipher, mask_phone
    from tuanju.core.text import pinyin_initials
    from tuanju.organizations import actions as org_actions
    from tuanju.organizations import uscc
    from tuanju.organizations.models import (
        AbsorptionKind,
        MemberRole,
        Membership,
        Organization,
        OrgTag,
        OrgType,
        PoliticalAbsorption,
        RegistrationStatus,
        ServiceProject,
    )

    rng, c = synth.rng, cipher()
    today = timezone.localdate()
    types = {t.name: t.pk for t in OrgType.objects.all()}
    towns = list(OrgUnit.objects.in_subtree(county).filter(level=Level.TOWN).values_list("pk", "name"))
    tier1 = list(OrgUnit.objects.in_subtree(county).filter(level=Level.TIER1).values_list("pk", "name"))
    person_ids = list(Person.objects.in_subtree(county).order_by("pk").values_list("pk", flat=True))
    if not person_ids:
        return 0, 0
    taken: set[tuple[int, str]] = set()
    orgs = []
    for n in range(1, count + 1):
        roll = rng.random()
        unit_pk, unit_name = (
            (county.pk, county.name)
            if roll < 0.1 or not towns
            else (rng.choice(towns) if roll < 0.7 or not tier1 else rng.choice(tier1))
        )
        type_name = _weighted(rng, ORG_TYPE_MIX)
        name = f"{unit_name}{rng.choice(ORG_THEMES[type_name])}"
        while (unit_pk, name) in taken:
            name = f"{unit_name}{synth.place()}{rng.choice(ORG_THEMES[type_name])}"
        taken.add((unit_pk, name))
        status = _weighted(
            rng,
            [
                (RegistrationStatus.REGISTERED, 35),
                (RegistrationStatus.FILED, 20),
                (RegistrationStatus.UNREGISTERED, 45),
            ],
        )
        code = None
        if status == RegistrationStatus.REGISTERED:
            code = uscc.make(rng.choice(["51", "52", "52"]), county.code, f"MJ{n:06d}")
        leader = rng.choice(person_ids) if rng.random() < 0.85 else None
        phone = synth.phone() if rng.random() < 0.9 else ""
        orgs.append(
            Organization(
                unit_id=unit_pk,
                name=name,
                name_pinyin=pinyin_initials(name)[:100],
                org_type_id=types[type_name],
                registration_status=status,
                uscc=code,
                founded_on=today - timedelta(days=rng.randint(60, 8 * 365)),
                venue=f"{unit_name}青年之家" if rng.random() < 0.82 else "",
                contact_name="" if leader else synth.name(rng.random() < 0.5),  # leaders' names below
                contact_phone_enc=c.encrypt(phone),
                contact_phone_bidx=c.blind_index(phone),
                contact_phone_masked=mask_phone(phone),
                leader_id=leader,
                is_league_affiliated=rng.random() < 0.8,
                is_incubation_base=rng.random() < 0.04,
                is_cloud_resident=rng.random() < 0.15,
                introduction=f"由共青团{county.name}委员会指导成立的{type_name}类青年社会组织。",
                charter=f"第一条 本组织名称为{name}。\n第二条 本组织在共青团{county.name}委员会指导下开展{type_name}活动。",
            )
        )
    leader_names = dict(
        Person.objects.filter(pk__in={o.leader_id for o in orgs if o.leader_id}).values_list("pk", "name")
    )
    for org in orgs:
        if org.leader_id:
            org.contact_name = leader_names[org.leader_id]
    with transaction.atomic():
        orgs = Organization.objects.bulk_create(orgs, batch_size=1000)
        tags = {name: OrgTag.objects.get_or_create(name=name)[0].pk for name in ORG_TAGS}
        through = Organization.tags.through
        through.objects.bulk_create(
            [
                through(organization_id=org.pk, orgtag_id=tags[name])
                for org in orgs
                for name in rng.sample(ORG_TAGS, rng.choice([0, 1, 1, 2]))
            ]
        )
        rows = []
        roles = [MemberRole.VICE, MemberRole.SECRETARY, MemberRole.DIRECTOR, MemberRole.BACKBONE] + [
            MemberRole.MEMBER
        ] * 8
        for org in orgs:
            # about one organization in seven has fewer than five members (fails 四有 on its team)
            size = (
                rng.randint(0, 4)
                if rng.random() < 0.14
                else max(5, int(rng.expovariate(1 / mean_members)) + 5)
            )
            chosen = set(rng.sample(person_ids, min(size, len(person_ids))))
            if org.leader_id:
                chosen.add(org.leader_id)
            for person_id in chosen:
                role = MemberRole.PRESIDENT if person_id == org.leader_id else rng.choice(roles)
                joined = org.founded_on + timedelta(
                    days=rng.randint(0, max(1, (today - org.founded_on).days))
                )
                rows.append((org.pk, person_id, role, min(joined, today), None))
        members = insert_rows(
            Membership._meta.db_table, ["organization_id", "person_id", "role", "joined_on", "left_on"], rows
        )
    # A federation of the county's societies, with group members.
    federation = Organization.objects.create(
        unit=county,
        name=f"{county.name}青年社会组织联合会",
        org_type_id=types["公益慈善"],
        registration_status=RegistrationStatus.REGISTERED,
        uscc=uscc.make("51", county.code, "MJ999999"),
        venue=f"{county.name}青年之家",
        leader_id=rng.choice(person_ids),
    )
    for org in rng.sample(orgs, min(len(orgs), max(5, len(orgs) // 10))):
        org_actions.add_group_member(
            federation, org, joined_on=max(org.founded_on, today - timedelta(days=300))
        )
    for person_id in {federation.leader_id, *rng.sample(person_ids, min(len(person_ids), 8))}:
        Membership.objects.create(
            organization=federation,
            person_id=person_id,
            role=MemberRole.PRESIDENT if person_id == federation.leader_id else MemberRole.DIRECTOR,
            joined_on=today - timedelta(days=300),
        )
    projects = []
    for org in rng.sample(orgs, len(orgs) // 5):
        for _ in range(rng.randint(1, 2)):
            start = today - timedelta(days=rng.randint(0, 900))
            end = start + timedelta(days=rng.choice([90, 180, 365]))
            state = "completed" if end < today else rng.choice(["ongoing", "ongoing", "applying"])
            projects.append(
                ServiceProject(
                    organization=org,
                    title=rng.choice(PROJECT_TITLES),
                    funder=county.name + rng.choice(FUNDERS)[1:],
                    amount=rng.randint(2, 60) * 5000,
                    starts_on=start,
                    ends_on=end,
                    status=state,
                    deliverables="服务青少年不少于200人次；开展活动不少于12场；形成项目总结报告。",
                )
            )
    ServiceProject.objects.bulk_create(projects)
    absorbed, seen = [], set()
    kinds = [
        AbsorptionKind.YOUTH_FEDERATION,
        AbsorptionKind.PARTY_RECOMMENDATION,
        AbsorptionKind.NPC,
        AbsorptionKind.CPPCC,
        AbsorptionKind.LEAGUE_CADRE,
    ]
    for org in rng.sample(
        [o for o in orgs if o.leader_id], min(len(orgs) // 8 + 1, len([o for o in orgs if o.leader_id]))
    ):
        kind = rng.choice(kinds)
        key = (org.leader_id, kind)
        if key in seen:
            continue
        seen.add(key)
        absorbed.append(
            PoliticalAbsorption(
                organization=org,
                person_id=org.leader_id,
                kind=kind,
                year=today.year - rng.randint(0, 3),
                level=rng.choice(["county", "county", "city"])
                if kind != AbsorptionKind.PARTY_RECOMMENDATION
                else "",
            )
        )
    PoliticalAbsorption.objects.bulk_create(absorbed)
    return len(orgs) + 1, members


def _alliances(county: OrgUnit, plans: list[tuple[str, str]], synth: Synth, *, council: int | None) -> int:
    from tuanju.organizations import actions as org_actions
    from tuanju.organizations.models import (
        Alliance,
        JoinMethod,
        JointMeeting,
        MeetingStatus,
        Organization,
        add_months,
        quarter_start,
    )

    rng = synth.rng
    today = timezone.localdate()
    pool = list(
        Organization.objects.in_subtree(county)
        .filter(is_active=True)
        .exclude(name__endswith="联合会")
        .order_by("pk")
    )
    rng.shuffle(pool)
    people = list(Person.objects.in_subtree(county).filter(is_backbone=True).order_by("pk")[:50]) or list(
        Person.objects.in_subtree(county).order_by("pk")[:50]
    )
    methods = [
        JoinMethod.BUILT,
        JoinMethod.ABSORBED,
        JoinMethod.ABSORBED,
        JoinMethod.REORGANIZED,
        JoinMethod.GUIDED,
    ]
    built = 0
    for name, field in plans:
        size = council or rng.randint(6, 12)
        if len(pool) < size:
            break
        members_wanted = min(len(pool), size + rng.randint(3, 12))
        members, pool = pool[:members_wanted], pool[members_wanted:]
        founded = today - timedelta(days=rng.randint(400, 700))
        alliance = org_actions.save_alliance(
            Alliance(),
            data={
                "unit": county,
                "name": f"{county.name}{name}" if not name.startswith(county.name[:2]) else name,
                "field": field,
                "leader": members[0],
                "secretary_general": rng.choice(people) if people else None,
                "founded_on": founded,
                "description": f"团{county.name}委按照“目标一致、类别相似、兴趣相同”原则组建的{field}联盟。",
            },
        )
        for org in members[1:]:
            org_actions.add_alliance_member(
                alliance,
                org,
                join_method=rng.choice(methods),
                joined_on=founded + timedelta(days=rng.randint(0, 120)),
            )
        org_actions.set_council(alliance, members[:size])
        org_actions.generate_duty_schedule(alliance, start=add_months(today.replace(day=1), -3), months=12)
        council_orgs = members[:size]
        quarter = quarter_start(founded)
        skip = rng.randint(1, 3)  # one past quarter without a joint meeting: the page warns about it
        index = 0
        while quarter < quarter_start(today):
            index += 1
            if index != skip:
                day = quarter + timedelta(days=rng.randint(20, 80))
                org_actions.save_meeting(
                    JointMeeting(alliance=alliance),
                    data={
                        "held_on": min(day, today),
                        "status": MeetingStatus.HELD,
                        "location": f"{county.name}青年之家",
                        "minutes": "通报上季度各社团活动开展情况；交流社团运营中遇到的困难；分享政策与资源信息。",
                        "decisions": "下季度由轮值社团牵头开展联合活动；推荐优秀骨干参加青马工程培训。",
                    },
                    attendees=rng.sample(council_orgs, max(4, len(council_orgs) - rng.randint(0, 2))),
                )
            quarter = add_months(quarter, 3)
        org_actions.save_meeting(
            JointMeeting(alliance=alliance),
            data={
                "held_on": add_months(quarter_start(today), 2) + timedelta(days=14),
                "status": MeetingStatus.PLANNED,
                "location": f"{county.name}青年之家",
            },
        )
        built += 1
    return built


# --- C10/C11 appeals, service stations, surveys (appeals and surveys apps) --------------------------

DEPARTMENTS = [
    ("人力资源和社会保障局", "hr", "rs"),
    ("司法局", "justice", "sf"),
    ("民政局", "civil", "mz"),
    ("卫生健康局", "health", "wj"),
    ("住房和城乡建设局", "housing", "zj"),
    ("教育局", "education", "jy"),
]
#: (kind, share, services) — seed 001: 暖心驿站 and 小哥加油站 with 体检、义诊、理发; 筑梦空间; 青年之家
STATION_MIX = [
    ("warm", 0.40, ["休息饮水", "手机充电", "热饭加热", "应急药箱", "体检", "义诊", "理发"]),
    ("courier", 0.30, ["休息饮水", "手机充电", "热饭加热", "应急药箱", "法律咨询", "政策咨询"]),
    ("youth_home", 0.15, ["学习交流", "技能培训", "交友联谊", "运动健身", "心理疏导", "职业指导"]),
    ("dream", 0.10, ["学习交流", "技能培训", "职业指导", "交友联谊"]),
    ("mobile", 0.05, ["政策咨询", "法律咨询", "心理疏导"]),
]
STATION_NAMES = {"warm": "暖心驿站", "courier": "小哥加油站", "youth_home": "青年之家", "dream": "筑梦空间", "mobile": "流动团支部"}
STATION_HOSTS = {"warm": "市总工会", "courier": "团市委、市妇联", "youth_home": "团市委", "dream": "团市委、市委宣传部", "mobile": "团市委"}
APPEAL_PLANS = {"demo": {YIWU: (1200, 30), DONGYANG: (300, 10)}, "county": {YIWU: (5000, 120)}, "yiwu": {YIWU: (20000, 300)}}
CATEGORY_WEIGHTS = [("权益保障", 25), ("就业创业", 20), ("生活服务", 15), ("住房", 10), ("学习提升", 10), ("心理健康", 8), ("婚恋交友", 7), ("其他", 5)]
APPEAL_TEXTS = {
    "权益保障": ["站点拖欠两个月工资，多次讨要未果", "送餐途中发生事故，平台不认定工伤", "公司未缴纳社保，想了解如何维权", "被平台无故封号扣除保证金"],
    "就业创业": ["想参加电商直播技能培训，哪里可以报名", "希望了解灵活就业人员的创业补贴政策", "失业后想找一份稳定工作", "想申请创业担保贷款"],
    "生活服务": ["小区不让外卖电动车进入，送餐很困难", "附近没有电动车换电柜，希望增设", "希望骑手休息点能开放到晚上十点", "夜间送餐路段路灯损坏"],
    "住房": ["想申请人才公寓，不清楚条件", "租房合同到期房东不退押金", "希望为快递员提供集体宿舍", "公租房申请进度咨询"],
    "学习提升": ["想报考成人本科，有没有学费补贴", "希望开设夜校课程", "咨询新青年学堂骑手班报名方式", "想考取电工证，哪里有培训"],
    "心理健康": ["工作压力大，长期失眠，想找人聊聊", "和家人关系紧张，希望有心理疏导", "夜班多情绪低落"],
    "婚恋交友": ["希望团组织多组织青年联谊活动", "工作圈子小，想认识更多朋友", "咨询团委联谊会报名方式"],
    "其他": ["建议在物流园设置骑手休息点", "对社区服务提一些建议", "咨询团组织关系转接"],
}
REPLIES = [
    "已联系相关单位核实情况，问题已协调解决，请查收。",
    "经核查，已督促企业依法整改并补发相关费用。",
    "已为您登记，相关工作人员将在三个工作日内电话联系。",
    "相关政策已通过短信发送，如有疑问可拨打服务热线咨询。",
    "已将您的建议转交相关部门研究，感谢您的关注。",
]


def appeals_surveys_step(scale: str, seed: int, *, echo=print) -> dict:
    """Partner departments with their accounts, service stations with a year of 服务人次, a year of
    appeals (12345, H5, staff, stations) routed with working-day deadlines, some overdue, rated and
    reopened; the seed's survey with 10,000 answers whose marginals are the seed's figures (微信
    92.0 %, 抖音 68.4 %, 运动健身 41.2 %, 学习交流 32.8 %, 婚恋交友 29.6 %) and a real-name survey."""
    from tuanju.appeals.models import Appeal
    from tuanju.surveys.models import Survey

    timings: dict[str, float] = {}
    synth = Synth(seed * 1000 + 10)  # its own stream: other steps' draws do not shift this one
    for code, (appeals, stations) in APPEAL_PLANS.get(scale, {}).items():
        county = OrgUnit.objects.filter(code=code).first()
        if county is None or Appeal.objects.filter(intake_unit__path__startswith=county.path).exists():
            continue
        t0 = time.perf_counter()
        departments = _departments(county)
        made_stations = _stations(county, stations, synth)
        served = _service_records(made_stations, synth)
        made = _appeals(county, appeals, departments, made_stations, synth)
        timings[f"appeals_{code}"] = time.perf_counter() - t0
        echo(
            f"{county.name}: {len(departments)} departments, {len(made_stations)} stations ({served} served), "
            f"{made} appeals in {timings[f'appeals_{code}']:.1f} s"
        )
    yiwu = OrgUnit.objects.filter(code=YIWU).first()
    if yiwu is not None and not Survey.objects.filter(unit=yiwu).exists():
        t0 = time.perf_counter()
        _seed_survey(yiwu, 10_000, synth)
        _real_name_survey(yiwu, synth)
        timings["surveys"] = time.perf_counter() - t0
        echo(f"{yiwu.name}: surveys with 10000 answers in {timings['surveys']:.1f} s")
    dongyang = OrgUnit.objects.filter(code=DONGYANG).first()
    if scale == "demo" and dongyang is not None and not Survey.objects.filter(unit=dongyang).exists():
        _seed_survey(dongyang, 500, synth, title="东阳市新兴青年需求调研")
    echo(f"Department logins (password {DEMO_PASSWORD}): yiwu_rs (义乌市人社局), yiwu_sf (义乌市司法局)")
    return timings


def _departments(county: OrgUnit) -> dict:
    from django.contrib.auth.hashers import make_password

    from tuanju.appeals.models import Department

    prefix = "yiwu" if county.code == YIWU else "dongyang" if county.code == DONGYANG else county.code
    hashed = make_password(DEMO_PASSWORD)  # once: hashing is deliberately slow
    found = {}
    for name, kind, short in DEPARTMENTS:
        department, _created = Department.objects.get_or_create(
            unit=county, name=f"{county.name}{name}", defaults={"kind": kind, "email": f"{short}@{prefix}.example.cn"}
        )
        found[kind] = department
        username = f"{prefix}_{short}"
        if not User.objects.filter(username=username).exists():
            user = User(username=username, first_name=f"{county.name}{name}经办人", role=Role.CADRE, department=department, unit=None)
            user.email, user.password = f"{username}@example.cn", hashed
            user.save()
    return found


def _stations(county: OrgUnit, count: int, synth: Synth) -> list:
    from tuanju.appeals.models import ServiceType, Station

    rng = synth.rng
    services = {s.name: s for s in ServiceType.objects.all()}
    places = list(OrgUnit.objects.in_subtree(county).filter(level__in=[Level.TOWN, Level.TIER1]).order_by("path"))
    made = []
    center = (29.3068, 120.0751) if county.code == YIWU else (29.2895, 120.2415)
    for i in range(count):
        kind = _weighted(rng, [(k, share) for k, share, _s in STATION_MIX])
        unit = rng.choice(places)
        station = Station.objects.create(
            unit=unit,
            name=f"{unit.name}{STATION_NAMES[kind]}" + (f"（{i + 1}号）" if i >= len(places) else ""),
            kind=kind,
            address=f"{county.name}{unit.name}{synth.place()}路{rng.randint(1, 300)}号",
            latitude=round(center[0] + rng.uniform(-0.12, 0.12), 6),
            longitude=round(center[1] + rng.uniform(-0.15, 0.15), 6),
            opening_hours=rng.choice(["全天开放", "每天 8:00-22:00", "周一至周日 9:00-21:00", "工作日 9:00-17:30"]),
            host=STATION_HOSTS[kind],
            contact_name=synth.name(rng.random() < 0.5),
            contact_phone=synth.phone(),
        )
        station.services.set([services[n] for n in next(s for k, _share, s in STATION_MIX if k == kind) if n in services])
        made.append(station)
    return made


def _service_records(stations: list, synth: Synth) -> int:
    """A year of daily staff entries; about 50,000 people served across the demo's stations (seed 001)."""
    from tuanju.appeals.models import ServiceRecord

    rng = synth.rng
    today = timezone.localdate()
    now = timezone.now()
    rows, served = [], 0
    columns = ["station_id", "unit_id", "service_id", "served_on", "people_count", "source", "device_key", "note", "created_at"]
    for station in stations:
        offered = [s.pk for s in station.services.all()]
        mean = {"warm": 5.5, "courier": 6.0, "youth_home": 3.0, "dream": 2.5, "mobile": 1.5}[station.kind]
        for back in range(365, 0, -1):
            day = today - timedelta(days=back)
            if rng.random() < 0.15:  # closed or nothing recorded that day
                continue
            count = max(1, int(rng.gauss(mean, mean / 2)))
            served += count
            service = rng.choice(offered) if offered else None
            rows.append((station.pk, station.unit_id, service, day, count, "staff", "", "", now))
    with transaction.atomic():
        insert_rows(ServiceRecord._meta.db_table, columns, rows)
    return served


def _appeals(county: OrgUnit, total: int, departments: dict, stations: list, synth: Synth) -> int:
    from datetime import datetime

    from tuanju.appeals.models import (
        Appeal,
        AppealCategory,
        AppealEvent,
        EventKind,
        Satisfaction,
        Source,
        Status,
        new_key,
    )
    from tuanju.appeals.workdays import WorkCalendar
    from tuanju.core.crypto import cipher, mask_phone

    rng, calendar, c = synth.rng, WorkCalendar(), cipher()
    categories = {cat.name: cat for cat in AppealCategory.objects.all()}
    towns = list(OrgUnit.objects.in_subtree(county).filter(level=Level.TOWN).order_by("path"))
    villages = list(OrgUnit.objects.in_subtree(county).filter(level=Level.TIER1).order_by("path"))
    people = list(Person.objects.in_subtree(county).order_by("pk").values_list("pk", "unit_id")[:3000])
    now = timezone.now()
    today = timezone.localdate()
    tz = timezone.get_current_timezone()

    def moment(day, hour_low=8, hour_high=21):
        return timezone.make_aware(datetime.combine(day, datetime.min.time()), tz) + timedelta(
            hours=rng.randint(hour_low, hour_high), minutes=rng.randint(0, 59)
        )

    appeals, plans = [], []
    for n in range(total):
        back = int(rng.random() ** 0.8 * 365)  # more recent appeals a little more often
        received = moment(today - timedelta(days=back))
        if received > now:
            received = now - timedelta(minutes=rng.randint(5, 600))
        source = _weighted(rng, [(Source.HOTLINE, 50), (Source.H5, 30), (Source.STAFF, 15), (Source.STATION, 5)])
        category = categories[_weighted(rng, CATEGORY_WEIGHTS)]
        town = rng.choice(towns)
        place = rng.choice([v for v in villages if v.path.startswith(town.path)] or [town])
        station = rng.choice(stations) if source == Source.STATION and stations else None
        intake = county if source == Source.HOTLINE else (station.unit if station else rng.choice([town, place]))
        person_pk = None
        if people and rng.random() < 0.3:
            person_pk, _unit = rng.choice(people)
        phone = synth.phone()
        text = rng.choice(APPEAL_TEXTS[category.name])
        appeal = Appeal(
            unit=intake, intake_unit=intake, station=station, category=category, source=source,
            hotline_number=f"12345{received:%Y%m%d}{n:05d}" if source == Source.HOTLINE else None,
            hotline_category=category.name if source == Source.HOTLINE else "",
            title=text[:30], content=f"{text}。地点：{town.name}{place.name if place != town else ''}。",
            location=f"{town.name}{place.name if place != town else ''}", contact_name=synth.name(rng.random() < 0.6),
            phone_enc=c.encrypt(phone), phone_bidx=c.blind_index(phone), phone_masked=mask_phone(phone),
            person_id=person_pk, is_anonymous=rng.random() < 0.08, received_at=received, access_key=new_key(),
            consent_version="2026-11" if source in (Source.H5, Source.STATION) else "",
            consent_at=received if source in (Source.H5, Source.STATION) else None,
        )
        events = [(EventKind.RECEIVED, received, "", Status.RECEIVED, intake.name, "")]
        age_days = (now - received).total_seconds() / 86400
        stuck = age_days > 10 and rng.random() < 0.03  # handled slowly: still open, overdue
        if age_days > 2 or rng.random() < 0.4:
            assigned = received + timedelta(hours=rng.uniform(0.5, min(40, max(1, age_days * 24 - 0.2))))
            kind = category.department_kind
            if kind in departments:
                appeal.department, handler = departments[kind], departments[kind].name
            else:
                appeal.unit, handler = town, town.name
            days = category.time_limit_days
            appeal.status, appeal.assigned_at, appeal.time_limit_days = Status.ASSIGNED, assigned, days
            appeal.due_date = calendar.add(timezone.localtime(assigned).date(), days)
            events.append((EventKind.ASSIGNED, assigned, Status.RECEIVED, Status.ASSIGNED, handler, "请按期办理"))
            late = rng.random() < 0.15
            spend = days + rng.randint(1, 6) if late else max(1, round(days * rng.uniform(0.2, 1.0)))
            replied_day = calendar.add(timezone.localtime(assigned).date(), spend)
            accepted = assigned + timedelta(hours=rng.uniform(1, 20))
            if accepted < now:
                appeal.status, appeal.accepted_at = Status.IN_PROGRESS, accepted
                events.append((EventKind.ACCEPTED, accepted, Status.ASSIGNED, Status.IN_PROGRESS, handler, ""))
            replied = moment(replied_day, 9, 18)
            if replied < now and appeal.status == Status.IN_PROGRESS and not stuck:
                reply = rng.choice(REPLIES)
                appeal.status, appeal.replied_at, appeal.reply_text = Status.REPLIED, replied, reply
                appeal.replied_late = replied_day > appeal.due_date
                events.append((EventKind.REPLIED, replied, Status.IN_PROGRESS, Status.REPLIED, handler, reply))
                rated = replied + timedelta(hours=rng.uniform(2, 96))
                if rated < now and rng.random() < 0.8:
                    score = _weighted(rng, [(Satisfaction.SATISFIED, 75), (Satisfaction.FAIR, 17), (Satisfaction.UNSATISFIED, 8)])
                    appeal.satisfaction, appeal.rated_at = score, rated
                    events.append((EventKind.RATED, rated, Status.REPLIED, Status.REPLIED, "", Satisfaction(score).label))
                    if score == Satisfaction.UNSATISFIED:
                        appeal.reopen_count = 1
                        appeal.status, appeal.replied_at = Status.IN_PROGRESS, None
                        appeal.due_date = calendar.add(timezone.localtime(rated).date(), days)
                        events.append((EventKind.REOPENED, rated, Status.REPLIED, Status.IN_PROGRESS, handler, "群众评价不满意"))
                        again = moment(calendar.add(timezone.localtime(rated).date(), max(1, days - 1)), 9, 18)
                        if again < now:
                            appeal.status, appeal.replied_at, appeal.reply_text = Status.REPLIED, again, REPLIES[1]
                            events.append((EventKind.REPLIED, again, Status.IN_PROGRESS, Status.REPLIED, handler, REPLIES[1]))
                            rated = again + timedelta(hours=rng.uniform(2, 48))
                            if rated < now:
                                second = Satisfaction.FAIR if rng.random() < 0.6 else Satisfaction.UNSATISFIED
                                appeal.satisfaction, appeal.rated_at = second, rated
                                events.append((EventKind.RATED, rated, Status.REPLIED, Status.REPLIED, "", Satisfaction(second).label))
                    if appeal.status == Status.REPLIED and appeal.rated_at and appeal.rated_at >= appeal.replied_at:
                        appeal.status, appeal.closed_at = Status.CLOSED, appeal.rated_at
                        appeal.close_reason = f"群众评价：{Satisfaction(appeal.satisfaction).label}"
                        events.append((EventKind.CLOSED, appeal.rated_at, Status.REPLIED, Status.CLOSED, "", appeal.close_reason))
                elif replied + timedelta(days=7) < now:
                    closed = replied + timedelta(days=7, hours=1)
                    appeal.status, appeal.closed_at, appeal.close_reason = Status.CLOSED, closed, "答复后7日内未评价，自动办结"
                    events.append((EventKind.CLOSED, closed, Status.REPLIED, Status.CLOSED, "", appeal.close_reason))
        appeals.append(appeal)
        plans.append(events)
    with transaction.atomic():
        created = Appeal.objects.bulk_create(appeals, batch_size=1000)
        rows = [
            (appeal.pk, str(kind), None, "", str(before), str(after), handler[:100], str(note), at)
            for appeal, events in zip(created, plans, strict=True)
            for kind, at, before, after, handler, note in events
        ]
        columns = ["appeal_id", "kind", "actor_id", "actor_name", "from_status", "to_status", "handler", "note", "at"]
        insert_rows(AppealEvent._meta.db_table, columns, rows)
    return len(created)


#: the seed's figures (微信 92.0 %, 抖音 68.4 %; needs 运动健身 41.2 %, 学习交流 32.8 %, 婚恋交友 29.6 %)
PLATFORMS = [("微信", 0.920), ("抖音", 0.684), ("快手", 0.356), ("哔哩哔哩", 0.273), ("微博", 0.241), ("小红书", 0.215), ("视频号", 0.182)]
NEEDS = [
    ("运动健身", "运动健身", 0.412),
    ("学习交流", "学习提升", 0.328),
    ("婚恋交友", "婚恋交友", 0.296),
    ("职业技能培训", "就业创业", 0.275),
    ("劳动权益保障", "权益保障", 0.221),
    ("心理疏导", "心理健康", 0.124),
]
SATISFACTION_SCALE = [(5, 0.28), (4, 0.37), (3, 0.24), (2, 0.07), (1, 0.04)]
AGE_MIX = [("16-20", 0.12), ("21-25", 0.34), ("26-30", 0.31), ("31-35", 0.19), ("36+", 0.04)]
ONLINE_OCCUPATIONS = [("网络主播", 24), ("短视频创作者", 30), ("签约作家", 6), ("网络写手", 10), ("电竞从业者", 8), ("自由撰稿人", 7), ("电商从业者", 15)]
SUGGESTIONS = ["希望多组织线下交流活动", "夜校课程时间能否安排在晚上九点以后", "希望提供直播技能培训", "多办联谊活动", "希望有专门的创作者交流空间"]


def _exact(rng, n: int, share: float, weights: list[float]) -> set[int]:
    """Exactly round(share × n) of range(n), drawn with the given weights (Efraimidis–Spirakis), so
    the marginal is the seed's figure to the decimal while the cross-tabs show real differences."""
    k = round(share * n)
    keys = sorted(range(n), key=lambda i: rng.random() ** (1.0 / weights[i]), reverse=True)
    return set(keys[:k])


def _ensure_one(chosen: dict[int, set[int]], total: int, rng) -> None:
    """Give every respondent at least one option of a required multiple-choice question by moving
    options from respondents who have several: each option keeps exactly its count."""
    held: dict[int, list[int]] = {i: [] for i in range(total)}
    for pk, members in chosen.items():
        for i in members:
            held[i].append(pk)
    donors = [i for i, options in held.items() if len(options) >= 2]
    rng.shuffle(donors)
    for i in (i for i, options in held.items() if not options):
        while donors:
            j = donors[-1]
            pk = rng.choice(held[j])
            chosen[pk].discard(j)
            chosen[pk].add(i)
            held[j].remove(pk)
            held[i].append(pk)
            if len(held[j]) < 2:
                donors.pop()
            break


def _seed_survey(unit: OrgUnit, total: int, synth: Synth, *, title: str = "义乌市网络文化青年群体状况调研") -> None:
    from tuanju.people.models import Category as PeopleCategory
    from tuanju.surveys.models import (
        Answer,
        Choice,
        Mode,
        OnePer,
        Question,
        QuestionKind,
        Response,
        SkipRule,
        Survey,
    )

    rng = synth.rng
    now = timezone.now()
    survey = Survey.objects.create(
        unit=unit, title=title, mode=Mode.ANONYMOUS, one_per=OnePer.DEVICE, ask_profile=True, status="published",
        description="本调研了解网络文化青年的平台使用和服务需求，匿名填写，约需3分钟。结果用于改进团组织的服务。",
        thank_you="感谢参与！团组织将根据大家的需求开展服务。", published_at=now - timedelta(days=75),
    )

    def question(position, kind, text, choices=(), **extra):
        q = Question.objects.create(survey=survey, position=position, kind=kind, text=text, **extra)
        made = [Choice.objects.create(question=q, position=i, text=t, tag=tag) for i, (t, tag) in enumerate(choices)]
        return q, made

    q1, platforms = question(0, QuestionKind.MULTIPLE, "您常用的网络平台有哪些？", [(p, "") for p, _s in PLATFORMS])
    q2, joined = question(1, QuestionKind.SINGLE, "您是否参加过团组织开展的活动？", [("参加过", ""), ("没有参加过", "")])
    q3, kinds = question(2, QuestionKind.MULTIPLE, "您参加过哪些活动？", [("志愿服务", "志愿服务"), ("技能培训", "就业创业"), ("联谊交友", "婚恋交友"), ("文体活动", "运动健身")])
    q4, needs = question(3, QuestionKind.MULTIPLE, "您最希望团组织提供哪些服务？", [(t, tag) for t, tag, _s in NEEDS])
    q5, _ = question(4, QuestionKind.SCALE, "您对所在地团组织服务的满意度", scale_min=1, scale_max=5, scale_min_label="很不满意", scale_max_label="非常满意")
    q6, _ = question(5, QuestionKind.TEXT, "您对团组织还有什么建议？", required=False)
    SkipRule.objects.create(question=q2, choice=joined[1], target=q4)

    occupations = {c.name: c.pk for c in PeopleCategory.objects.filter(name__in=[o for o, _w in ONLINE_OCCUPATIONS])}
    areas = list(OrgUnit.objects.filter(path__startswith=unit.path, depth=unit.depth + 1).order_by("path").values_list("pk", flat=True)) or [unit.pk]
    profiles = []
    for _ in range(total):
        occupation = _weighted(rng, ONLINE_OCCUPATIONS)
        profiles.append(
            {
                "gender": "M" if rng.random() < 0.58 else "F",
                "band": _weighted(rng, AGE_MIX),
                "occupation": occupation,
                "category": occupations.get(occupation),
                "unit": rng.choice(areas),
            }
        )
    creator = {"网络主播", "短视频创作者"}
    weights = {
        "微信": [1.0] * total,
        "抖音": [1.8 if p["occupation"] in creator else 1.0 for p in profiles],
        "快手": [1.5 if p["occupation"] in creator else 1.0 for p in profiles],
        "哔哩哔哩": [1.6 if p["band"] in ("16-20", "21-25") else 1.0 for p in profiles],
    }
    need_weights = {
        "运动健身": [1.5 if p["gender"] == "M" else 1.0 for p in profiles],
        "学习交流": [1.8 if p["band"] in ("16-20", "21-25") else 1.0 for p in profiles],
        "婚恋交友": [2.2 if p["band"] in ("21-25", "26-30") else 0.7 for p in profiles],
        "劳动权益保障": [1.8 if p["occupation"] == "电商从业者" else 1.0 for p in profiles],
    }
    chosen_platforms = {c.pk: _exact(rng, total, share, weights.get(c.text, [1.0] * total)) for c, (_t, share) in zip(platforms, PLATFORMS, strict=True)}
    took_part = _exact(rng, total, 0.23, [1.0] * total)
    chosen_needs = {c.pk: _exact(rng, total, share, need_weights.get(c.text, [1.0] * total)) for c, (_t, _tag, share) in zip(needs, NEEDS, strict=True)}
    _ensure_one(chosen_platforms, total, rng)
    _ensure_one(chosen_needs, total, rng)
    response_columns = [
        "survey_id", "respondent_key", "channel", "name", "phone_masked", "unit_id", "gender", "age_band",
        "category_id", "submitted_at", "duration_seconds",
    ]
    responses = [
        (
            survey.pk, f"demo-{survey.pk}-{i}", _weighted(rng, [("qr", 55), ("link", 35), ("directive", 10)]), "", "",
            p["unit"], p["gender"], p["band"], p["category"],
            survey.published_at + timedelta(minutes=rng.randint(10, 60 * 24 * 60)), rng.randint(60, 600),
        )
        for i, p in enumerate(profiles)
    ]
    with transaction.atomic():
        insert_rows(Response._meta.db_table, response_columns, responses)
        created = list(Response.objects.filter(survey=survey).order_by("pk").only("pk"))
        rows = []
        table = Answer._meta.db_table
        columns = ["response_id", "question_id", "choice_id", "value", "text"]
        for i, response in enumerate(created):
            for choice in platforms:
                if i in chosen_platforms[choice.pk]:
                    rows.append((response.pk, q1.pk, choice.pk, None, ""))
            rows.append((response.pk, q2.pk, joined[0 if i in took_part else 1].pk, None, ""))
            if i in took_part:
                for choice in rng.sample(kinds, rng.randint(1, 2)):
                    rows.append((response.pk, q3.pk, choice.pk, None, ""))
            picked = [c for c in needs if i in chosen_needs[c.pk]]
            for choice in picked:
                rows.append((response.pk, q4.pk, choice.pk, None, ""))
            rows.append((response.pk, q5.pk, None, _weighted(rng, SATISFACTION_SCALE), ""))
            if rng.random() < 0.08:
                rows.append((response.pk, q6.pk, None, None, rng.choice(SUGGESTIONS)))
        insert_rows(table, columns, rows)
        Survey.objects.filter(pk=survey.pk).update(response_count=len(created))


def _real_name_survey(unit: OrgUnit, synth: Synth) -> None:
    """A small real-name survey answered by people of the roster (their portraits get survey tags),
    and a draft in the making to show the builder."""
    from tuanju.core.crypto import cipher, mask_phone
    from tuanju.surveys import actions as survey_actions
    from tuanju.surveys.actions import ChoiceSpec, Respondent
    from tuanju.surveys.models import (
        Answer,
        Choice,
        Mode,
        OnePer,
        Question,
        QuestionKind,
        Response,
        Survey,
        age_band,
    )

    rng, c = synth.rng, cipher()
    author = User.objects.filter(unit=unit, role__in=[Role.ADMIN, Role.CADRE]).first()
    now = timezone.now()
    survey = Survey.objects.create(
        unit=unit, title="青年之家服务需求登记（实名）", mode=Mode.REAL_NAME, one_per=OnePer.PERSON, ask_profile=False,
        status="published", published_at=now - timedelta(days=30), created_by=author,
    )
    needs = Question.objects.create(survey=survey, position=0, kind=QuestionKind.MULTIPLE, text="您希望青年之家提供哪些服务？")
    choices = [Choice.objects.create(question=needs, position=i, text=t, tag=tag) for i, (t, tag, _s) in enumerate(NEEDS)]
    people = list(Person.objects.in_subtree(unit).exclude(phone_enc=None).order_by("pk")[:300])
    columns = [
        "survey_id", "respondent_key", "channel", "person_id", "name", "phone_enc", "phone_bidx", "phone_masked",
        "unit_id", "gender", "age_band", "category_id", "submitted_at",
    ]
    rows, seen = [], set()
    for person in people:
        phone = person.reveal_phone()
        key = survey_actions.respondent_key(survey, Respondent(phone=phone))
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            (
                survey.pk, key, "link", person.pk, person.name, c.encrypt(phone), c.blind_index(phone), mask_phone(phone),
                person.unit_id, person.gender, age_band(person.age), person.category_id,
                survey.published_at + timedelta(minutes=rng.randint(10, 60 * 24 * 28)),
            )
        )
    with transaction.atomic():
        insert_rows(Response._meta.db_table, columns, rows)
        answers = []
        for response_id in Response.objects.filter(survey=survey).order_by("pk").values_list("pk", flat=True):
            for choice in rng.sample(choices, rng.randint(1, 3)):
                answers.append((response_id, needs.pk, choice.pk, None, ""))
        insert_rows(Answer._meta.db_table, ["response_id", "question_id", "choice_id", "value", "text"], answers)
        Survey.objects.filter(pk=survey.pk).update(response_count=len(rows))
    if author is None:
        return
    draft = survey_actions.save_survey(Survey(), data={"unit": unit, "title": "2027年青年夜校课程意向调查", "mode": Mode.ANONYMOUS}, actor=author)
    survey_actions.save_question(
        draft, None, actor=author, kind=QuestionKind.MULTIPLE, text="您想学习哪些课程？",
        choices=[ChoiceSpec("短视频剪辑", "就业创业"), ChoiceSpec("电商直播", "就业创业"), ChoiceSpec("摄影", "文艺爱好"), ChoiceSpec("瑜伽", "运动健身")],
    )


# --- C12 one-stop insight: weekly ledgers, evaluations, tasks, checklist, notices (insights app) ----
# Runs last: it summarizes what every step above made. A year of weekly ledgers (towns report to
# their county, Yiwu and Dongyang to Jinhua) with a couple of habitually late towns, the rankings of
# the last 26 weeks, three tasks in progress, the "六个一" checklist and two notices; then the
# dashboards' figures are computed with a year of weekly and monthly history.

LEDGER_HIGHLIGHTS = [
    "走访快递网点{n}个，新联系外卖、快递小哥{m}人，建立联系台账。",
    "依托“小哥加油站”开展义诊、理发等暖心服务，服务新就业形态青年{m}人次。",
    "组织网络主播、短视频创作者开展直播电商公益培训，参训{m}人。",
    "召开青年社会组织联席会议，{n}家社团交流活动开展情况。",
    "塔群转发防汛动员指令，联络员第一时间响应，{m}人报名志愿服务。",
    "开展“青春有约”联谊活动，{m}名青年参加。",
    "推动{n}个村（社区）补齐塔群联络员，完善“1+N”联系机制。",
]
LEDGER_PROBLEMS = [
    "部分楼道单元群主流动性大，联络员需重新选配。",
    "个别社团活动频次不足，近两个月未开展活动。",
    "网约车司机群体工作时间不固定，线下活动参与率偏低。",
    "诉求办理中涉及劳动报酬的问题需人社部门协同。",
    "",
    "",
]


def insights_step(scale: str, seed: int, *, echo=print) -> dict:
    from tuanju.insights import aggregates, ledgers
    from tuanju.insights.models import Ledger

    timings: dict[str, float] = {}
    yiwu = OrgUnit.objects.filter(code=YIWU).first()
    history = Ledger.objects.filter(unit__path__startswith=yiwu.path, week_start__lt=ledgers.last_week()) if yiwu else None
    if yiwu is None or history.exists():
        return timings
    synth = Synth(seed * 1000 + 12)  # its own stream
    t0 = time.perf_counter()
    _town_cadres(yiwu)
    made = _ledger_year(synth)
    timings["insights_ledgers"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    today = timezone.localdate()
    run = aggregates.refresh(None, trigger="seed", since=today - timedelta(days=371))
    ledgers.open_ledgers(ledgers.last_week())
    ledgers.open_ledgers(ledgers.current_week())
    timings["insights_figures"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ranked = _rankings()
    _demo_tasks(synth)
    _demo_checklist()
    _demo_notices()
    aggregates.refresh(None, trigger="seed")
    timings["insights_work"] = time.perf_counter() - t0
    echo(f"insights: {made} weekly ledgers, {ranked} evaluations, figures of {run.units} units in {run.seconds:.1f} s")
    return timings


def _town_cadres(county: OrgUnit) -> None:
    """A cadre account for every town of the county (yw_town01…), sharing one password hash."""
    from django.contrib.auth.hashers import make_password

    hashed = make_password(DEMO_PASSWORD)
    for i, town in enumerate(OrgUnit.objects.filter(path__startswith=county.path, level=Level.TOWN).order_by("path"), 1):
        User.objects.update_or_create(
            username=f"yw_town{i:02d}",
            defaults={"unit": town, "role": Role.CADRE, "first_name": f"{town.name}团（工）委干部", "password": hashed,
                      "is_active": True},
        )


def _ledger_units() -> list[OrgUnit]:
    units = []
    for code in (YIWU, DONGYANG):
        county = OrgUnit.objects.filter(code=code).first()
        if county is not None:
            units.append(county)
            units.extend(OrgUnit.objects.filter(path__startswith=county.path, level=Level.TOWN).order_by("path"))
    return units


LEDGER_MEANS = {"new_people": 6, "contacts": 18, "orgs_added": 0.4, "activities": 2.5, "directives": 1.5,
                "appeals_handled": 3, "volunteer_hours": 40, "services": 25}


def _ledger_year(synth: Synth) -> int:
    """52 past weeks of submitted (or late, or missing) ledgers for Yiwu, Dongyang and their towns."""
    import math

    from tuanju.insights.ledgers import DEFAULT_FIELDS
    from tuanju.insights.models import Ledger, LedgerSchema, LedgerStatus, week_start

    rng = synth.rng
    schemas = {s.level: s for s in LedgerSchema.objects.filter(is_active=True)}
    this_week = week_start(timezone.localdate())
    units = [u for u in _ledger_units() if u.level in schemas]
    towns = [u for u in units if u.level == Level.TOWN]
    weak = {u.pk for u in rng.sample(towns, min(2, len(towns)))}  # habitually late, thin ledgers
    sizes = {u.pk: Person.objects.in_subtree(u).count() for u in units}
    cadres = {u.unit_id: u for u in User.objects.filter(unit__in=units, role__in=[Role.CADRE, Role.ADMIN]).order_by("-pk")}
    rows = []
    for unit in units:
        schema = schemas[unit.level]
        fields = [f for f in schema.fields if isinstance(f, str)] or DEFAULT_FIELDS
        scale = max(0.3, math.sqrt(max(sizes[unit.pk], 1)) / 8)
        for back in range(52, 0, -1):
            start = this_week - timedelta(weeks=back)
            due = schema.due_at(start)
            season = 0.45 if start.month == 2 else (1.25 if start.month in (7, 8) else 1.0)  # Spring Festival, summer
            growth = 0.75 + 0.5 * (52 - back) / 52
            factor = scale * season * growth * (0.55 if unit.pk in weak else 1.0)
            figures = {
                k: max(0, int(rng.gauss(LEDGER_MEANS.get(k, 2) * factor, LEDGER_MEANS.get(k, 2) * factor * 0.35) + 0.5))
                for k in fields
            }
            roll = rng.random()
            missing_p, late_p = (0.12, 0.3) if unit.pk in weak else (0.02, 0.07)
            ledger = Ledger(unit=unit, week_start=start, due_at=due, figures=figures, computed_at=due - timedelta(hours=13))
            if roll < missing_p:
                ledger.status = LedgerStatus.OPEN
            else:
                late = roll < missing_p + late_p
                ledger.status, ledger.late = LedgerStatus.SUBMITTED, late
                ledger.submitted_at = due + timedelta(hours=rng.randint(2, 60)) if late else due - timedelta(hours=rng.randint(1, 40))
                ledger.highlights = rng.choice(LEDGER_HIGHLIGHTS).format(n=rng.randint(2, 12), m=rng.randint(8, 80))
                ledger.problems = rng.choice(LEDGER_PROBLEMS)
                ledger.submitted_by = cadres.get(unit.pk)
            rows.append(ledger)
    Ledger.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _rankings() -> int:
    from tuanju.insights import ledgers, scoring

    count = 0
    last = ledgers.last_week()
    for code in (CITY, YIWU, DONGYANG):
        parent = OrgUnit.objects.filter(code=code).first()
        level = ledgers.reporting_level(parent) if parent else None
        if level is None:
            continue
        scheme = scoring.default_scheme(parent, level)
        for back in range(25, -1, -1):
            count += len(scoring.evaluate(scheme, last - timedelta(weeks=back)))
    return count


def _demo_tasks(synth: Synth) -> None:
    from tuanju.insights import actions as insights_actions
    from tuanju.insights.models import Task, TaskAssignment

    rng = synth.rng
    city_admin = User.objects.filter(username="jinhua_admin").first()
    yiwu_cadre = User.objects.filter(username="yiwu_cadre").first()
    dongyang_cadre = User.objects.filter(username="dongyang_cadre").first()
    if not (city_admin and yiwu_cadre and city_admin.unit and yiwu_cadre.unit):
        return
    now = timezone.now()
    city, yiwu = city_admin.unit, yiwu_cadre.unit
    counties = list(OrgUnit.objects.filter(path__startswith=city.path, depth=city.depth + 1).order_by("path"))
    survey = insights_actions.create_task(
        actor=city_admin, sender=city, title="开展新就业形态青年摸底走访",
        description="请各县（市、区）团委组织镇街团干部走访快递网点、外卖站点和网约车服务点，摸清新就业形态青年底数，"
        "更新花名册，并建立“1+N”联系。",
        deadline=now + timedelta(days=9), recipients=counties,
        required_figures=[{"key": "f1", "label": "走访网点数", "unit": "个"}, {"key": "f2", "label": "新联系青年", "unit": "人"}],
        remind_days=3,
    )
    for assignment in TaskAssignment.objects.filter(task=survey, unit__code__in=[YIWU, DONGYANG]).select_related("unit", "task"):
        actor = yiwu_cadre if assignment.unit.code == YIWU else dongyang_cadre
        if actor is None:
            continue
        insights_actions.mark_read(assignment, actor)
        insights_actions.report_progress(
            assignment, actor=actor, progress=60, figures={"f1": rng.randint(20, 60), "f2": rng.randint(150, 400)},
            note="已完成主城区街道走访，正在推进镇级站点。",
        )
        if assignment.unit.code == DONGYANG:
            insights_actions.report_progress(
                assignment, actor=actor, progress=100, figures={"f1": rng.randint(30, 50), "f2": rng.randint(200, 300)},
                note="全部镇街走访完成，花名册已更新。", done=True,
            )
        insights_actions.add_comment(assignment, actor=city_admin, body="请同步上传走访照片和花名册更新情况。")
        insights_actions.add_comment(assignment, actor=actor, body="收到，本周五前补传。")
    towns = list(OrgUnit.objects.filter(path__startswith=yiwu.path, level=Level.TOWN).order_by("path"))
    week = insights_actions.create_task(
        actor=yiwu_cadre, sender=yiwu, title="“小哥加油站”暖心服务周",
        description="各镇街依托小哥加油站、暖心驿站开展义诊、理发、法律咨询等服务，报送服务人次并上传活动照片。",
        deadline=now + timedelta(days=1), recipients=towns,
        required_figures=[{"key": "f1", "label": "服务人次", "unit": "人次"}, {"key": "f2", "label": "参与志愿者", "unit": "人"}],
        remind_days=2,
    )
    assignments = list(TaskAssignment.objects.filter(task=week).select_related("unit", "task").order_by("unit__path"))
    for i, assignment in enumerate(assignments):
        town_cadre = User.objects.filter(unit=assignment.unit, role=Role.CADRE).first()
        if i % 3 == 2 or town_cadre is None:
            continue  # silent: overdue once the deadline passes
        insights_actions.mark_read(assignment, town_cadre)
        done = i % 3 == 0
        insights_actions.report_progress(
            assignment, actor=town_cadre, progress=100 if done else rng.choice([30, 50, 70]),
            figures={"f1": rng.randint(40, 300), "f2": rng.randint(5, 40)},
            note="服务活动已开展，照片见附件。" if done else "活动筹备中。", done=done,
        )
        if not done:
            insights_actions.add_comment(assignment, actor=yiwu_cadre, body="请抓紧推进，按时报送。")
            insights_actions.add_comment(assignment, actor=town_cadre, body="本周六集中开展，周日前报送。")
    Task.objects.filter(pk=week.pk).update(deadline=now - timedelta(days=2), created_at=now - timedelta(days=9))
    lagging = OrgUnit.objects.filter(path__startswith=yiwu.path, level=Level.TIER1).order_by("path").first()
    if lagging is not None:
        insights_actions.create_task(
            actor=yiwu_cadre, sender=yiwu, title="补齐塔群联络员",
            description=f"{lagging.name}部分楼道单元群尚无联络员，请于截止前补齐并在群内公示。",
            deadline=now + timedelta(days=5), recipients=[lagging],
            required_figures=[{"key": "f1", "label": "补配联络员", "unit": "人"}],
        )


def _demo_checklist() -> None:
    from tuanju.insights import actions as insights_actions
    from tuanju.insights.models import ChecklistEntry, ChecklistTemplate, EntryStatus

    template = ChecklistTemplate.objects.filter(name="六个一").first()
    city_admin = User.objects.filter(username="jinhua_admin").first()
    if template is None or city_admin is None:
        return
    done, verified, doing, todo = EntryStatus.DONE, EntryStatus.VERIFIED, EntryStatus.IN_PROGRESS, EntryStatus.NOT_STARTED
    statuses = {  # the city's own items are verified by the province, so at most done here
        CITY: [done, done, done, doing, done, doing],
        YIWU: [verified, verified, done, done, done, doing],
        DONGYANG: [done, doing, todo, todo, doing, todo],
    }
    for code, states in statuses.items():
        unit = OrgUnit.objects.filter(code=code).first()
        if unit is None:
            continue
        target = insights_actions.track_unit(template, unit, actor=city_admin)
        entries = ChecklistEntry.objects.filter(target=target).select_related("item", "target__unit").order_by("item__position")
        for entry, status in zip(entries, states, strict=False):
            if status != todo:
                note = f"{unit.name}：{entry.item.title}，已形成工作方案和佐证材料。" if status != doing else "正在推进。"
                insights_actions.update_entry(entry, actor=city_admin, status=status, note=note)


def _demo_notices() -> None:
    from tuanju.insights import actions as insights_actions
    from tuanju.insights.models import Publication, PublicationKind

    city_admin = User.objects.filter(username="jinhua_admin").first()
    yiwu_cadre = User.objects.filter(username="yiwu_cadre").first()
    if not (city_admin and yiwu_cadre):
        return
    notice = insights_actions.save_publication(
        Publication(unit=city_admin.unit), actor=city_admin,
        data={"kind": PublicationKind.NOTICE, "title": "关于做好新兴青年群体工作周台账报送的通知",
              "summary": "每周一中午12时前报送上周台账，逾期将在周评价中通报。",
              "body": "各县（市、区）团委：\n\n为及时掌握新兴青年群体工作进展，请于每周一12时前在“团聚”平台报送上周工作台账，"
              "如实填写新联系青年、开展活动、转发指令、办结诉求等数据及工作亮点、存在问题。\n\n"
              "市团委将每周对各地工作进行评价排名，对推进缓慢的地区重点督导。\n\n共青团金华市委员会",
              "is_public": False},
    )
    insights_actions.publish(notice, actor=city_admin)
    insights_actions.mark_publication_read(notice, yiwu_cadre)
    case = insights_actions.save_publication(
        Publication(unit=yiwu_cadre.unit), actor=yiwu_cadre,
        data={"kind": PublicationKind.CASE, "title": "“小哥加油站”让骑手有了歇脚的家",
              "summary": "义乌依托塔群和暖心驿站，把服务送到新就业形态青年身边。",
              "body": "义乌市团委依托微信塔群，在各镇街建设“小哥加油站”，为外卖骑手、快递小哥提供休息、充电、饮水和义诊、"
              "理发等服务。\n\n通过“1+N”联系机制，团干部常态化联系骨干骑手，组建应急志愿服务队，在防汛、疫情防控中发挥了积极作用。",
              "is_public": True},
    )
    insights_actions.publish(case, actor=yiwu_cadre)
    insights_actions.mark_publication_read(case, city_admin)


# --- C8 mobilization and C9 liaison stars (mobilize and ratings apps) -----------------------------

DIRECTIVE_PLANS = [
    # (title, body, urgency, minutes ago, share of groups acknowledged, status, sign-up quota)
    ("防汛防台青年突击队紧急集结", "受台风影响，今晚至明天有大到暴雨。请各村（社区）青年突击队队员立即到村委会集结待命，"
     "协助转移低洼地带群众。收到请点“收到”，并在群内转达。", "emergency", 2, 0.62, "sent", None),
    ("周末“清河行动”志愿者招募", "本周六上午8:30在各镇街河道开展清河护河志愿服务，每镇街招募志愿者，请有意参加的青年报名。",
     "general", 3 * 1440, 0.93, "closed", 200),
    ("学习宣传团的十九届二中全会精神", "请各级团组织通过塔群组织青年学习全会精神，并于本周内反馈学习情况。", "periodic", 20 * 1440, 0.97, "sent", None),
]


def mobilize_step(scale: str, seed: int, *, echo=print) -> dict:
    """Directives as they would stand after being sent: a live emergency directive filling up,
    past ones acknowledged and closed, one awaiting approval and a draft; then liaison stars for
    this month and last, with benefits granted. Nothing is posted to any platform: the outbox
    rows are recorded as sent (robot webhooks in demo data point at real hosts)."""
    from tuanju.mobilize.models import Directive

    timings: dict[str, float] = {}
    if Directive.objects.exists():
        return timings
    synth = Synth(seed * 1000 + 8)
    t0 = time.perf_counter()
    for plan in SCALES[scale]:
        county = OrgUnit.objects.get(code=plan.code)
        sender = User.objects.filter(unit=county, role=Role.CADRE).first()
        if sender is None:
            continue
        plans = DIRECTIVE_PLANS if scale == "demo" and county.code == YIWU else DIRECTIVE_PLANS[:1]
        for title, body, urgency, minutes, share, status, quota in plans:
            _demo_directive(county, sender, synth, title=title, body=body, urgency=urgency, minutes=minutes,
                            share=share, status=status, quota=quota)
        if county.code == YIWU:
            _demo_pending(county, sender)
    timings["directives"] = time.perf_counter() - t0
    echo(f"directives: {Directive.objects.count()} in {timings['directives']:.1f} s")
    t0 = time.perf_counter()
    _demo_ratings(scale, synth)
    timings["ratings"] = time.perf_counter() - t0
    return timings


def _demo_directive(county, sender, synth, *, title, body, urgency, minutes, share, status, quota) -> None:
    from tuanju.mobilize import actions as mob
    from tuanju.mobilize import escalation, planning
    from tuanju.mobilize.actions import TargetSpec
    from tuanju.mobilize.models import Directive, GroupDelivery, Message, Receipt, Status

    rng = synth.rng
    directive = mob.save_directive(
        Directive(), actor=sender, unit=county, targets=[TargetSpec("unit", unit=county)],
        data={"title": title, "body": body, "urgency": urgency, "require_ack": True, "use_robots": True,
              "signup_enabled": quota is not None, "signup_quota": quota,
              "signup_note": "清河护河志愿服务" if quota else ""},
    )
    sent_at = timezone.now() - timedelta(minutes=minutes)
    sla = _service_seconds(urgency)
    Directive.objects.filter(pk=directive.pk).update(
        status=Status.PLANNING, sent_at=sent_at, submitted_at=sent_at, service_seconds=sla
    )
    directive.refresh_from_db()
    planning.plan(directive)
    # The outbox as the workers would have left it (no platform is contacted by demo data).
    delivered = []
    for pk, delivery_id in Message.objects.filter(directive=directive).values_list("pk", "delivery_id"):
        delivered.append((pk, delivery_id, sent_at + timedelta(seconds=rng.uniform(0.5, 25))))
    for pk, _d, at in delivered:
        Message.objects.filter(pk=pk).update(state="sent", sent_at=at, attempts=1, http_status=200)
    for _pk, delivery_id, at in delivered:
        GroupDelivery.objects.filter(pk=delivery_id).update(state="sent", attempted_at=at, delivered_at=at)
    elapsed = (timezone.now() - sent_at).total_seconds()
    horizon = min(elapsed, sla * 1.5)
    groups = list(GroupDelivery.objects.filter(directive=directive).values_list("pk", "group_id", "channel"))
    acked_groups: dict[int, object] = {}
    updates = []
    for pk, group_id, channel in groups:
        if rng.random() < share:
            at = sent_at + timedelta(seconds=rng.betavariate(1.6, 4.5) * horizon + 5)
            acked_groups[group_id] = at
            updates.append(GroupDelivery(pk=pk, acked_at=at, opened_at=at - timedelta(seconds=rng.randint(2, 40)),
                                         opens=rng.randint(1, 12),
                                         delivered_at=(at - timedelta(seconds=30)) if channel == "relay" else None,
                                         state="relayed" if channel == "relay" else "sent"))
    robot = [u for u in updates if u.delivered_at is None]
    relayed = [u for u in updates if u.delivered_at is not None]
    GroupDelivery.objects.bulk_update(robot, ["acked_at", "opened_at", "opens", "state"], batch_size=2000)
    GroupDelivery.objects.bulk_update(relayed, ["acked_at", "opened_at", "opens", "delivered_at", "state"], batch_size=2000)
    receipts = []
    limit = 120_000
    for pk, group_id in Receipt.objects.filter(directive=directive).values_list("pk", "group_id").iterator(chunk_size=20_000):
        base = acked_groups.get(group_id)
        if base is None or rng.random() > 0.8:
            continue
        at = base + timedelta(seconds=rng.expovariate(1 / max(30, horizon / 6)))
        if at > timezone.now():
            continue
        signed = at + timedelta(seconds=5) if quota and rng.random() < 0.15 else None
        receipts.append(Receipt(pk=pk, opened_at=at - timedelta(seconds=3), acked_at=at, ack_via="link", signed_up_at=signed))
        if len(receipts) >= limit:
            break
    if quota:
        chosen = [r for r in receipts if r.signed_up_at][:quota]
        for r in receipts:
            if r.signed_up_at and r not in chosen:
                r.signed_up_at = None
        Directive.objects.filter(pk=directive.pk).update(signup_count=len(chosen))
    Receipt.objects.bulk_update(receipts, ["opened_at", "acked_at", "ack_via", "signed_up_at"], batch_size=5000)
    directive.refresh_from_db()
    last = max((at for _p, _d, at in delivered), default=sent_at)
    Directive.objects.filter(pk=directive.pk).update(status=Status.SENT, attempted_at=last)
    directive.refresh_from_db()
    escalation.escalate(directive, now=timezone.now(), dispatch=False)
    Message.objects.filter(directive=directive, state="queued").update(state="sent", sent_at=timezone.now(), attempts=1)
    if status == "closed":
        mob.close(directive, actor=sender)


def _service_seconds(urgency: str) -> int:
    from tuanju.mobilize import conf as mobilize_conf

    return mobilize_conf.service_seconds(urgency)


def _demo_pending(county, sender) -> None:
    from tuanju.mobilize import actions as mob
    from tuanju.mobilize.actions import TargetSpec
    from tuanju.mobilize.models import Directive

    towns = list(OrgUnit.objects.filter(path__startswith=county.path, depth=county.depth + 1).order_by("path")[:2])
    if not towns:
        return
    pending = mob.save_directive(
        Directive(), actor=sender, unit=county, targets=[TargetSpec("level", unit=towns[0], levels=("tier1",))],
        data={"title": "村社青年议事会筹备通知", "body": "请各村（社区）联络员于下周五前报送青年议事会成员名单。", "urgency": "general"},
    )
    mob.submit(pending, actor=sender)
    mob.save_directive(
        Directive(), actor=sender, unit=county, targets=[TargetSpec("unit", unit=towns[-1])],
        data={"title": "（草稿）青年夜校报名通知", "body": "青年夜校秋季班开始报名。", "urgency": "periodic"},
    )


def _demo_ratings(scale: str, synth: Synth) -> None:
    from tuanju.ratings import actions as ratings_actions
    from tuanju.ratings.models import Benefit, LiaisonRating

    today = timezone.localdate()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    granter = User.objects.filter(username="yiwu_cadre").first()
    for plan in SCALES[scale]:
        county = OrgUnit.objects.get(code=plan.code)
        for day in (last_month, today):
            ratings_actions.compute(county, "month", day)
        ratings_actions.compute(county, "quarter", today)
    if granter is None:
        return
    hours = Benefit.objects.filter(code="volunteer_hours").first()
    party = Benefit.objects.filter(code="party").first()
    rows = LiaisonRating.objects.filter(period="month", period_start=last_month, unit__path__startswith=granter.unit.path)
    if hours:
        ratings_actions.grant(list(rows.filter(stars__gte=3).order_by("-score")[:40]), hours, actor=granter,
                              note="塔群联络员月度志愿时长激励")
    if party:
        ratings_actions.grant(list(rows.filter(stars__gte=4, person__isnull=False).order_by("-score")[:3]), party,
                              actor=granter, note="推荐为入党积极分子")


# --- C7 activities: a year of activities, registrations, attendance and hours (activities app) ------

ACTIVITY_TITLES = {
    "志愿服务": ["社区助老志愿服务", "护河巡河志愿行动", "文明交通劝导", "爱心义卖", "垃圾分类宣传", "关爱留守儿童陪伴"],
    "创业就业": ["青年创业沙龙", "直播电商实操培训", "招聘对接会", "创业项目路演", "电商选品交流会"],
    "文艺体育": ["周末篮球友谊赛", "街舞公开课", "青年夜跑", "摄影采风", "青春合唱排练", "汉服文化体验"],
    "公益慈善": ["助学结对走访", "公益募捐日", "困境儿童陪伴"],
    "文化创意": ["文创市集", "书画交流会", "网络文学创作分享"],
    "电竞": ["电竞友谊赛", "健康游戏主题分享"],
    "社区服务": ["社区青年议事会", "楼道微更新"],
    "社会实践": ["大学生返家乡实践", "乡村振兴调研"],
}
COMMUNITY_TITLES = {
    "突击应急": ["防汛抗台应急演练", "应急救护培训"],
    "志愿服务": ["小哥加油站暖心服务", "文明劝导志愿服务"],
    "工作交流": ["直播运营经验交流会", "平台规则解读沙龙"],
    "信息共享": ["就业政策宣讲会", "技能补贴申领指导"],
    "学习提升": ["青春学堂·学历提升辅导", "读书分享会"],
    "婚恋交友": ["青年联谊·户外徒步", "青年联谊·手作活动"],
    "兴趣爱好": ["周末瑜伽课", "城市徒步", "篮球约战"],
}
#: Community weekly rhythm (seed 004's 瑜伽课堂: one class every week) vs. monthly ones.
WEEKLY_COMMUNITIES = ("青年之家瑜伽课堂", "东阳青年篮球群")
#: Communities that went quiet (the frequency page flags them).
QUIET_COMMUNITIES = {"青春旅行社": 75, "义乌直播电商交流群": 40}


def activities_step(scale: str, seed: int, *, echo=print) -> dict:
    """A year of activities of committees, organizations (a few idle, for the frequency flags),
    alliances (led by the month's duty society) and communities (the yoga class weekly, with a few
    habitual no-shows so that the credit rule blocks and proposes the blacklist), through the real
    registration, leave, check-in and settlement paths; upcoming ones with open registration and a
    waitlist, and one under way with check-ins coming in."""
    from tuanju.activities.models import Activity

    timings: dict[str, float] = {}
    synth = Synth(seed * 1000 + 7)  # its own stream: other steps' draws do not shift this one
    counties = [OrgUnit.objects.filter(code=plan.code).first() for plan in SCALES[scale]]
    for county in [c for c in counties if c is not None]:
        if Activity.objects.in_subtree(county).exists():
            continue
        t0 = time.perf_counter()
        made = _county_activities(county, scale, synth)
        timings[f"activities_{county.code}"] = time.perf_counter() - t0
        echo(f"{county.name}: {made['activities']} activities, {made['registrations']} registrations in {timings[f'activities_{county.code}']:.1f} s")
    if any(counties):
        from tuanju.activities import actions as activity_actions

        activity_actions.settle_due()
    return timings


def _demo_when(rng, day, hour=None):
    """An aware datetime on ``day`` at a plausible hour (mornings, afternoons, evenings)."""
    from datetime import datetime
    from datetime import time as dtime

    hour = hour if hour is not None else rng.choice([9, 9, 14, 14, 19])
    return timezone.make_aware(datetime.combine(day, dtime(hour, rng.choice([0, 0, 30]))))


def _new_activity(organizer: dict, *, title, kind, place, starts, hours, capacity, published=True, **extra):
    """An activity saved through the real validation, published in the past when it lies there."""
    from tuanju.activities import actions as activity_actions
    from tuanju.activities.models import Activity, ActivityStatus

    data = {"title": title, "activity_type": kind, "place": place, "starts_at": starts,
            "ends_at": starts + timedelta(hours=hours), "capacity": capacity,
            "registration_opens_at": starts - timedelta(days=14), **organizer, **extra}
    activity = activity_actions.save_activity(Activity(), data=data)
    if published:
        Activity.objects.filter(pk=activity.pk).update(status=ActivityStatus.PUBLISHED, published_at=starts - timedelta(days=15))
        activity.refresh_from_db()
    return activity


def _run_activity(activity, pool: list, reliability: dict, synth: Synth, *, cadre, now) -> int:
    """Registrations (through the rules at the time: window, audience, credit, capacity), then
    cancellations and leave before the start, check-in/out around it, and settlement."""
    from tuanju.activities import actions as activity_actions
    from tuanju.activities.models import CheckMethod, Registration, RegistrationStatus

    rng = synth.rng
    if not pool:
        return 0
    wanted = min(len(pool), rng.randint(6, max(8, (activity.capacity or 30) + 4)))
    made = 0
    for person_id in rng.sample(pool, wanted):
        at = activity.starts_at - timedelta(hours=rng.randint(6, 300))
        try:
            activity_actions.register(activity, person=Person.objects.get(pk=person_id), source=rng.choice(["qr", "qr", "link", "group", "staff"]), now=at)
            made += 1
        except activity_actions.Refused:
            continue  # blocked by the credit rule, blacklisted or full: the refusal is on record
    if activity.starts_at > now:
        return made
    regs = list(Registration.objects.filter(activity=activity).select_related("person"))
    for reg in regs:
        if reg.status != RegistrationStatus.CONFIRMED:
            continue
        roll, _p_attend = rng.random(), reliability.get(reg.person_id, 0.85)
        if roll < 0.04:
            with contextlib.suppress(activity_actions.Refused):
                activity_actions.cancel_registration(reg, by_participant=True, now=activity.starts_at - timedelta(days=3))
        elif roll < 0.10:
            activity_actions.request_leave(reg, reason=rng.choice(["临时加班", "身体不适", "家中有事", "外出送单"]), now=activity.starts_at - timedelta(hours=rng.randint(2, 40)))
            activity_actions.decide_leave(reg, approve=rng.random() < 0.9, actor=cadre, now=activity.starts_at - timedelta(hours=1))
    for reg in Registration.objects.filter(activity=activity, status=RegistrationStatus.CONFIRMED).select_related("person"):
        if rng.random() > reliability.get(reg.person_id, 0.85):
            continue  # did not come
        minutes = rng.gauss(-6, 9) if rng.random() < 0.9 else rng.uniform(11, 40)
        at = activity.starts_at + timedelta(minutes=minutes)
        if at > now:
            continue  # the activity under way: these are still on their way
        method = rng.choices([CheckMethod.SELF_QR, CheckMethod.STAFF_SCAN, CheckMethod.MANUAL], [70, 25, 5])[0]
        activity_actions.check_in(reg, method=method, at=at, actor=cadre if method != CheckMethod.SELF_QR else None, note="现场核验身份证" if method == CheckMethod.MANUAL else "")
        if rng.random() < 0.88 and activity.ends_at <= now:
            out = activity.ends_at + timedelta(minutes=rng.gauss(-8, 12))
            activity_actions.check_in(reg, kind="out", method=CheckMethod.SELF_QR, at=max(out, at + timedelta(minutes=20)))
    if activity.ends_at <= now - timedelta(hours=3):
        if activity.volunteer_hours and rng.random() < 0.7:
            activity_actions.checkout_all(activity, actor=cadre, at=activity.ends_at)
        activity_actions.settle_attendance(activity, actor=cadre, now=activity.ends_at + timedelta(hours=3))
        if activity.volunteer_hours and activity.ends_at < now - timedelta(days=5):
            activity_actions.confirm_hours(activity, actor=cadre)
    return made


def _county_activities(county: OrgUnit, scale: str, synth: Synth) -> dict:
    from datetime import date as ddate

    from tuanju.groups.models import Community, CommunityMember, MemberStatus
    from tuanju.organizations.models import Alliance, DutyAssignment, Membership, Organization

    rng = synth.rng
    now = timezone.now()
    today = timezone.localdate()
    cadre = User.objects.filter(unit=county, role=Role.CADRE).first() or User.objects.filter(unit=county).first()
    people = list(Person.objects.in_subtree(county).order_by("pk").values_list("pk", flat=True)[:3000])
    if not people:
        return {"activities": 0, "registrations": 0}
    reliability = {pk: rng.choice([0.95, 0.9, 0.85, 0.85, 0.8, 0.7]) for pk in people}
    totals = {"activities": 0, "registrations": 0}

    def run(activity, pool):
        totals["activities"] += 1
        totals["registrations"] += _run_activity(activity, pool, reliability, synth, cadre=cadre, now=now)

    def saturday(weeks_ago: int) -> ddate:
        day = today - timedelta(weeks=weeks_ago)
        return day - timedelta(days=(day.weekday() - 5) % 7)

    # Communities: the yoga class every week (seed 004), the others about monthly; two went quiet.
    for community in Community.objects.filter(unit=county).select_related("category").order_by("pk"):
        members = list(CommunityMember.objects.filter(community=community, status=MemberStatus.ACTIVE).values_list("person_id", flat=True))
        if not members:
            continue
        weekly = community.name in WEEKLY_COMMUNITIES
        for pk in rng.sample(members, min(3, len(members))) if weekly else []:
            reliability[pk] = 0.25  # habitual no-shows: the credit rule catches them
        titles = COMMUNITY_TITLES.get(community.category.name, ["社群线下活动"])
        quiet = QUIET_COMMUNITIES.get(community.name)
        step = 1 if weekly else rng.choice([3, 4, 5])
        for weeks_ago in range(52, -3, -step):
            day = saturday(weeks_ago)
            if quiet and (today - day).days < quiet:
                continue
            starts = _demo_when(rng, day, 19 if weekly else None)
            activity = _new_activity(
                {"organizer_kind": "community", "community": community},
                title=titles[0] if weekly else rng.choice(titles), kind="culture" if weekly else "social",
                place=f"{county.name}青年之家", starts=starts, hours=1.5 if weekly else 2,
                capacity=20 if weekly else rng.choice([30, 40, None]),
                cancel_cutoff_hours=12, volunteer_hours=community.category.name in ("志愿服务", "突击应急"),
            )
            run(activity, members)
    # Organizations: most hold something every month or two; some went quiet, a few never started.
    orgs = list(Organization.objects.in_subtree(county).filter(is_active=True).select_related("org_type", "unit").order_by("pk")[:60])
    members_of = {}
    for org_id, person_id in Membership.objects.filter(organization__in=orgs, left_on__isnull=True).values_list("organization_id", "person_id"):
        members_of.setdefault(org_id, []).append(person_id)
    for org in orgs:
        roll = rng.random()
        if roll < 0.08:
            continue  # never held one
        last_weeks_ago = 0 if roll > 0.3 else (rng.randint(10, 20) if roll < 0.18 else rng.randint(5, 8))
        weeks_ago = 52 - rng.randint(0, 6)
        while weeks_ago >= last_weeks_ago:
            kind_name = org.org_type.name
            kind = {"志愿服务": "volunteer", "创业就业": "study", "文艺体育": "culture", "社会实践": "practice"}.get(kind_name, "other")
            activity = _new_activity(
                {"organizer_kind": "organization", "organization": org},
                title=rng.choice(ACTIVITY_TITLES.get(kind_name, ["青年交流活动"])), kind=kind,
                place=org.venue or f"{org.unit.name}党群服务中心", starts=_demo_when(rng, saturday(weeks_ago)),
                hours=rng.choice([2, 2, 3, 4]), capacity=rng.choice([15, 20, 30, None]),
                audience="open" if rng.random() < 0.7 else "members",
            )
            run(activity, members_of.get(org.pk, []) + rng.sample(people, 10))
            weeks_ago -= rng.choice([3, 4, 5, 6, 8])
    # Alliances: each month's activity is led by the duty society; one past month was missed.
    for alliance in Alliance.objects.filter(unit=county):
        duties = list(DutyAssignment.objects.filter(alliance=alliance, month__lte=today).order_by("month"))
        missed = rng.choice(duties[:-1]) if len(duties) > 1 else None
        for duty in duties:
            if duty == missed:
                continue
            day = duty.month + timedelta(days=rng.randint(8, 22))
            if day > today + timedelta(days=10):
                continue
            activity = _new_activity(
                {"organizer_kind": "alliance", "alliance": alliance, "duty_organization": duty.organization},
                title=f"{alliance.field}联盟月度联合活动·{duty.organization.name}", kind="volunteer",
                place=duty.organization.venue or f"{county.name}青年之家", starts=_demo_when(rng, day, 9), hours=3,
                capacity=50,
            )
            run(activity, rng.sample(people, 60))
    # The county committee: a few large volunteer days, one of them under way right now.
    for weeks_ago, title in ((40, "学雷锋志愿服务日"), (28, "“七彩假期”公益课堂"), (12, "青年文明号开放日"), (3, "国际志愿者日集中服务")):
        activity = _new_activity(
            {"organizer_kind": "unit", "unit": county}, title=title, kind="volunteer", place=f"{county.name}青少年宫",
            starts=_demo_when(rng, saturday(weeks_ago), 9), hours=4, capacity=80,
        )
        run(activity, rng.sample(people, 120))
    live_start = now.replace(second=0, microsecond=0) - timedelta(minutes=30)
    live = _new_activity(
        {"organizer_kind": "unit", "unit": county}, title="青年志愿者集中服务（进行中）", kind="volunteer",
        place=f"{county.name}青年之家广场", starts=live_start, hours=3, capacity=60,
    )
    run(live, rng.sample(people, 80))
    # Upcoming: open registration with a waitlist, and a draft being prepared.
    upcoming = _new_activity(
        {"organizer_kind": "unit", "unit": county}, title="青春夜校·短视频剪辑入门", kind="study",
        place=f"{county.name}青年之家三楼", starts=_demo_when(rng, today + timedelta(days=9), 19), hours=2,
        capacity=20, extra_fields=["employer"], questions=["你平时用哪款剪辑软件？"],
    )
    for person_id in rng.sample(people, 26):
        try:
            from tuanju.activities import actions as activity_actions

            activity_actions.register(upcoming, person=Person.objects.get(pk=person_id), source="qr", answers={"employer": "个体", "q1": "剪映"})
        except Exception:  # noqa: S112 - a demo registration the rules refuse is simply skipped
            continue
    _new_activity(
        {"organizer_kind": "unit", "unit": county}, title="“青春护航”暑期防溺水宣传", kind="volunteer",
        place=f"{county.name}各社区", starts=_demo_when(rng, today + timedelta(days=30), 9), hours=3, capacity=40,
        published=False,
    )
    return totals
