"""Portraits (精准画像): explainable tags of a person and the distribution of tags in a group.

Every tag says where it comes from and why, so staff can check it:

* roster fields — occupation and its group (外卖骑手 / 生活新业态青年), generation (95后, 00后),
  political status, backbone / talent pool / mentor, education, platform, the roster's own tags,
  and interest or need keywords found in the roster's 兴趣爱好 / 需求 / 特长 text;
* survey answers — a real-name respondent's chosen options carrying a portrait tag (or whose
  text matches a keyword);
* community and activity history — interest communities joined, activities attended (when the
  groups and activities apps are installed);
* appeals filed and services used at stations.

Group portraits count, per tag, the people of a roster group (a unit's subtree, optionally one
category) who carry it, with grouped queries rather than person by person; they add the tags
chosen by the anonymous survey respondents of the same unit and category.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Count, Q
from django.db.models.functions import ExtractYear

from tuanju.people.models import Category, Person, PoliticalStatus

#: interest and need tags, and the words that reveal them in free text and option labels
KEYWORDS: dict[str, tuple[str, ...]] = {
    "学习提升": ("学习", "学历", "培训", "考证", "读书", "进修", "课程", "专升本", "深造"),
    "婚恋交友": ("婚恋", "交友", "相亲", "联谊", "脱单"),
    "运动健身": ("运动", "健身", "篮球", "足球", "跑步", "羽毛球", "骑行", "游泳", "瑜伽", "户外"),
    "文艺爱好": ("音乐", "唱歌", "舞蹈", "街舞", "绘画", "摄影", "书法", "电影", "动漫", "写作", "文艺"),
    "志愿服务": ("志愿", "公益", "义工"),
    "就业创业": ("就业", "创业", "求职", "职业", "技能", "带货"),
    "权益保障": ("权益", "社保", "劳动", "工资", "法律", "维权", "保险"),
    "心理健康": ("心理", "压力", "情绪", "焦虑", "倾诉"),
    "住房": ("住房", "租房", "公寓", "宿舍"),
    "身体健康": ("体检", "义诊", "健康", "医疗"),
}
INTEREST_TAGS = tuple(KEYWORDS)
GROUP_LABELS = {
    "basic": "基本属性",
    "role": "身份与角色",
    "platform": "平台与单位",
    "interest": "兴趣与需求",
    "community": "社群参与",
}
POLITICAL_TAGS = {
    PoliticalStatus.LEAGUE: "共青团员",
    PoliticalStatus.PARTY: "中共党员",
    PoliticalStatus.PROBATIONARY: "中共预备党员",
    PoliticalStatus.DEMOCRATIC: "民主党派",
}
HIGHER_EDUCATION = ("大专", "本科", "硕士", "博士", "研究生")


@dataclass(frozen=True)
class PortraitTag:
    name: str
    group: str  # basic | role | platform | interest | community
    source: str  # roster | survey | community | activity | appeal | station
    reason: str

    @property
    def source_label(self) -> str:
        return {
            "roster": "花名册",
            "survey": "调研",
            "community": "社群",
            "activity": "活动",
            "appeal": "诉求",
            "station": "服务阵地",
        }[self.source]


def keyword_tags(text: str) -> list[str]:
    """Interest / need tags whose keywords occur in ``text``."""
    if not text:
        return []
    return [tag for tag, words in KEYWORDS.items() if tag in text or any(w in text for w in words)]


def generation(year: int | None) -> str:
    """'95后' style labels of a birth year (the way cadres describe cohorts)."""
    if not year:
        return ""
    if year < 1980:
        return "80前"
    decade = year // 10 % 10
    return f"{decade}{'5' if year % 10 >= 5 else '0'}后"


def _community_models():
    try:
        return apps.get_model("groups", "Community"), apps.get_model("groups", "CommunityMember")
    except LookupError:
        return None, None


def _registration_model():
    try:
        return apps.get_model("activities", "Registration")
    except LookupError:
        return None


def person_tags(person: Person) -> list[PortraitTag]:
    tags: list[PortraitTag] = []
    seen: set[str] = set()

    def add(name, group, source, reason):
        if name and name not in seen:
            seen.add(name)
            tags.append(PortraitTag(name, group, source, reason))

    if person.category_id:
        category = person.category
        add(category.name, "basic", "roster", "花名册中的群体类别")
        if category.parent_id:
            add(category.parent.name, "basic", "roster", f"“{category.name}”属于{category.parent.name}")
    if person.birth_date:
        add(generation(person.birth_date.year), "basic", "roster", f"{person.birth_date.year}年出生")
    if person.political_status in POLITICAL_TAGS:
        add(POLITICAL_TAGS[person.political_status], "basic", "roster", "花名册中的政治面貌")
    if person.education and person.education.startswith(HIGHER_EDUCATION):
        add("大专及以上", "basic", "roster", f"学历：{person.education}")
    if person.is_backbone:
        add("骨干青年", "role", "roster", "花名册标记为骨干")
    if person.in_talent_pool:
        add("人才库", "role", "roster", "已入人才库")
    if person.is_mentor:
        add("梦想导师", "role", "roster", "花名册标记为梦想导师")
    if person.employer:
        add(f"平台：{person.employer}", "platform", "roster", "花名册中的工作单位/平台")
    for tag in person.tags.all():
        add(tag.name, "role", "roster", "花名册标签")
    for field, label in (("interests", "兴趣爱好"), ("needs", "需求"), ("skills", "特长")):
        text = getattr(person, field)
        for name in keyword_tags(text):
            add(name, "interest", "roster", f"{label}：“{text[:30]}”")

    from tuanju.surveys.models import Answer

    answers = (
        Answer.objects.filter(response__person=person, choice__isnull=False)
        .select_related("choice", "response__survey")
        .order_by("-response__submitted_at")[:200]
    )
    for answer in answers:
        names = [answer.choice.tag] if answer.choice.tag else keyword_tags(answer.choice.text)
        for name in names:
            add(
                name,
                "interest",
                "survey",
                f"在调研《{answer.response.survey.title}》中选择了“{answer.choice.text}”",
            )

    _community, member_model = _community_models()
    if member_model is not None:
        memberships = member_model.objects.filter(person=person, status="active").select_related(
            "community__category"
        )
        for member in memberships[:50]:
            add(
                f"社群：{member.community.category.name}",
                "community",
                "community",
                f"已加入“{member.community.name}”",
            )

    registration_model = _registration_model()
    if registration_model is not None:
        from tuanju.surveys.recommend import ACTIVITY_TAGS

        attended = (
            registration_model.objects.filter(person=person, checked_in_at__isnull=False)
            .select_related("activity")
            .order_by("-checked_in_at")[:50]
        )
        for registration in attended:
            activity = registration.activity
            for name in ACTIVITY_TAGS.get(activity.activity_type, ()):
                add(
                    name,
                    "interest",
                    "activity",
                    f"{registration.checked_in_at:%Y-%m}参加了“{activity.title}”",
                )
                break

    from tuanju.appeals.models import Appeal, ServiceRecord

    for appeal in (
        Appeal.objects.filter(person=person).select_related("category").order_by("-received_at")[:20]
    ):
        name = appeal.category.name if appeal.category.name in KEYWORDS else ""
        add(name, "interest", "appeal", f"{appeal.received_at:%Y-%m}提交过“{appeal.category.name}”类诉求")
    records = ServiceRecord.objects.filter(person=person, service__isnull=False).select_related(
        "service", "station"
    )
    for entry in records.order_by("-served_on")[:20]:
        if entry.service.tag:
            add(
                entry.service.tag,
                "interest",
                "station",
                f"{entry.served_on:%Y-%m-%d}在“{entry.station.name}”使用了{entry.service.name}",
            )
    return tags


def grouped(tags: list[PortraitTag]) -> list[tuple[str, list[PortraitTag]]]:
    return [
        (GROUP_LABELS[g], [t for t in tags if t.group == g])
        for g in GROUP_LABELS
        if any(t.group == g for t in tags)
    ]


# --- Groups ----------------------------------------------------------------------------------------


@dataclass
class GroupTag:
    name: str
    group: str
    count: int
    percent: float
    source: str


def group_people(unit, category: Category | None = None):
    people = Person.objects.in_subtree(unit)
    if category is not None:
        people = people.filter(category__in=[category, *category.children.all()])
    return people


def group_portrait(people, *, limit: int = 60) -> tuple[int, list[GroupTag]]:
    """(people, tags with counts and percentages) of a roster group, in grouped queries.

    Within one source the counts add up (each person falls in one row of each grouping); across
    sources a tag counts the largest of them, a lower bound of the people carrying it."""
    total = people.count()
    if not total:
        return 0, []
    per_source: Counter = Counter()
    names = dict(Category.objects.values_list("pk", "name"))
    for pk, n in people.order_by().values_list("category_id").annotate(n=Count("pk")):
        if pk:
            per_source[(names[pk], "basic", "roster")] += n
    parents = people.filter(category__parent__isnull=False).order_by().values_list("category__parent_id")
    for pk, n in parents.annotate(n=Count("pk")):
        per_source[(names[pk], "basic", "roster")] += n
    years = (
        people.filter(birth_date__isnull=False)
        .annotate(y=ExtractYear("birth_date"))
        .order_by()
        .values_list("y")
    )
    for year, n in years.annotate(n=Count("pk")):
        per_source[(generation(year), "basic", "roster")] += n
    for status, n in people.order_by().values_list("political_status").annotate(n=Count("pk")):
        if status in POLITICAL_TAGS:
            per_source[(POLITICAL_TAGS[status], "basic", "roster")] += n
    flags = people.aggregate(
        backbone=Count("pk", filter=Q(is_backbone=True)), talent=Count("pk", filter=Q(in_talent_pool=True))
    )
    per_source[("骨干青年", "role", "roster")] += flags["backbone"]
    per_source[("人才库", "role", "roster")] += flags["talent"]
    employers = people.exclude(employer="").order_by().values_list("employer").annotate(n=Count("pk"))
    for employer, n in employers.order_by("-n")[:8]:
        per_source[(f"平台：{employer}", "platform", "roster")] += n
    texts = (
        people.exclude(interests="", needs="", skills="")
        .order_by()
        .values_list("interests", "needs", "skills")
        .annotate(n=Count("pk"))
    )
    for interests, needs, skills, n in texts[:5000]:
        for name in set(keyword_tags(interests) + keyword_tags(needs) + keyword_tags(skills)):
            per_source[(name, "interest", "roster")] += n

    from tuanju.appeals.models import Appeal
    from tuanju.surveys.models import Answer

    survey_tags = (
        Answer.objects.filter(response__person__in=people, choice__isnull=False)
        .exclude(choice__tag="")
        .order_by()
        .values_list("choice__tag")
        .annotate(n=Count("response__person", distinct=True))
    )
    for name, n in survey_tags:
        per_source[(name, "interest", "survey")] += n
    _community, member_model = _community_models()
    if member_model is not None:
        rows = (
            member_model.objects.filter(person__in=people, status="active")
            .order_by()
            .values_list("community__category__name")
            .annotate(n=Count("person", distinct=True))
        )
        for name, n in rows:
            per_source[(f"社群：{name}", "community", "community")] += n
    appeals = Appeal.objects.filter(person__in=people).order_by().values_list("category__name")
    for name, n in appeals.annotate(n=Count("person", distinct=True)):
        if name in KEYWORDS:
            per_source[(name, "interest", "appeal")] += n
    merged: dict[tuple[str, str], tuple[int, set[str]]] = {}
    for (name, group, source), n in per_source.items():
        if not name or not n:
            continue
        best, sources = merged.get((name, group), (0, set()))
        merged[(name, group)] = (max(best, n), sources | {source})
    labels = {"roster": "花名册", "survey": "调研", "community": "社群", "appeal": "诉求"}
    tags = [
        GroupTag(
            name,
            group,
            min(n, total),
            round(100.0 * min(n, total) / total, 1),
            "、".join(labels[s] for s in sorted(sources)),
        )
        for (name, group), (n, sources) in merged.items()
    ]
    tags.sort(key=lambda t: (-t.count, t.name))
    return total, tags[:limit]


def respondent_needs(unit, category: Category | None = None, *, survey=None) -> list[dict]:
    """Tags chosen in surveys by respondents (anonymous ones too) of a unit and category:
    percentage of those respondents choosing each tag."""
    from tuanju.surveys.models import Answer, Response

    responses = Response.objects.filter(unit__path__startswith=unit.path)
    if category is not None:
        responses = responses.filter(category__in=[category, *category.children.all()])
    if survey is not None:
        responses = responses.filter(survey=survey)
    total = responses.filter(answers__choice__tag__gt="").values("pk").distinct().count()
    if not total:
        return []
    rows = (
        Answer.objects.filter(response__in=responses, choice__isnull=False)
        .exclude(choice__tag="")
        .order_by()
        .values_list("choice__tag")
        .annotate(n=Count("response_id", distinct=True))
        .order_by("-n")
    )
    return [
        {"tag": name, "count": n, "percent": round(100.0 * n / total, 1), "respondents": total}
        for name, n in rows
    ]
