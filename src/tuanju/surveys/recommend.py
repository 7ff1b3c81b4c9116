"""Rule-based, explainable recommendations of communities, stations and (later) activities.

A *target source* proposes things a person could join or use and scores each with rules that
say why (“你在调研中选择了“婚恋交友”” +3, “就在你所在的社区” +2 …). Sources are pluggable:

    from tuanju.surveys.recommend import register_source
    register_source(MyActivitySource())   # e.g. in the activities app's AppConfig.ready()

A source has ``name``, ``label`` and ``candidates(person, tags) -> list[Recommendation]``. Built in:
interest communities and activities (when the groups and activities apps' models exist) and
service stations. A target is
recommended when its score reaches ``MIN_SCORE`` and at least one reason comes from the person's
interests or needs (nearness alone is not a reason to recommend).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.urls import NoReverseMatch, reverse

from tuanju.people.models import Person
from tuanju.surveys.portraits import PortraitTag, person_tags

MIN_SCORE = 3

#: interest / need tag → community categories (C6) that serve it
COMMUNITY_CATEGORIES = {
    "学习提升": ("学习提升",),
    "婚恋交友": ("婚恋交友",),
    "运动健身": ("兴趣爱好",),
    "文艺爱好": ("兴趣爱好",),
    "志愿服务": ("志愿服务", "突击应急"),
    "就业创业": ("工作交流", "信息共享"),
    "权益保障": ("信息共享",),
}
OUTDOOR_WORK = {"外卖骑手", "快递员", "网约车司机", "货车司机"}
CREATIVE_GROUPS = {"网络文化青年", "独立文艺青年"}


@dataclass
class Recommendation:
    kind: str  # community | station | activity
    target_id: int
    title: str
    subtitle: str = ""
    score: int = 0
    reasons: list[str] = field(default_factory=list)
    staff_url: str = ""
    public_url: str = ""
    #: a reason came from the person's interests or needs
    matched: bool = False

    def add(self, points: int, reason: str, *, interest: bool = False) -> None:
        self.score += points
        self.reasons.append(f"{reason}（+{points}）")
        self.matched = self.matched or interest


SOURCES: list = []


def register_source(source) -> None:
    if all(existing.name != source.name for existing in SOURCES):
        SOURCES.append(source)


def _interest_tags(tags: list[PortraitTag]) -> dict[str, PortraitTag]:
    return {t.name: t for t in tags if t.group == "interest"}


def _proximity(rec: Recommendation, person_path: str, unit_path: str, steplen: int = 4) -> None:
    """Nearness points: the same village/community (tier 1) or the same town (paths share the prefix)."""
    town, village = steplen * 5, steplen * 6
    if (
        len(unit_path) >= village
        and len(person_path) >= village
        and unit_path[:village] == person_path[:village]
    ):
        rec.add(2, "就在你所在的村社区")
    elif len(unit_path) >= town and len(person_path) >= town and unit_path[:town] == person_path[:town]:
        rec.add(1, "在你所在的街道乡镇")


def _county_path(path: str, steplen: int = 4) -> str:
    # nation/province/city/county: the county's path has four steps
    return path[: steplen * 4]


class CommunitySource:
    name = "community"
    label = "兴趣社群"

    def models(self):
        try:
            return apps.get_model("groups", "Community"), apps.get_model("groups", "CommunityMember")
        except LookupError:
            return None, None

    def candidates(self, person: Person, tags: list[PortraitTag]) -> list[Recommendation]:
        community_model, member_model = self.models()
        if community_model is None:
            return []
        interests = _interest_tags(tags)
        occupation = person.category.name if person.category_id else ""
        joined = set(
            member_model.objects.filter(person=person)
            .exclude(status__in=["left", "removed", "rejected"])
            .values_list("community_id", flat=True)
        )
        county = _county_path(person.unit.path)
        found = []
        communities = community_model.objects.filter(
            is_open=True, unit__path__startswith=county
        ).select_related("category", "unit")
        for community in communities.exclude(pk__in=joined)[:500]:
            rec = Recommendation(
                "community",
                community.pk,
                community.name,
                f"{community.category.name} · {community.unit.name}",
            )
            for tag, categories in COMMUNITY_CATEGORIES.items():
                if community.category.name in categories and tag in interests:
                    rec.add(3, f"你关注“{tag}”：{interests[tag].reason}", interest=True)
            _proximity(rec, person.unit.path, community.unit.path)
            if occupation:
                peers = member_model.objects.filter(
                    community=community, status="active", person__category_id=person.category_id
                ).count()
                if peers >= 3:
                    rec.add(1, f"已有{peers}位{occupation}加入")
            if rec.matched and rec.score >= MIN_SCORE:
                rec.staff_url = _reverse("groups:community-detail", community.pk)
                rec.public_url = self.public_url(community)
                found.append(rec)
        return found

    def public_url(self, community) -> str:
        try:
            from tuanju.groups.tokens import make_invite

            return reverse("h5:join", args=[make_invite(community, channel="link")])
        except (ImportError, NoReverseMatch, TypeError):
            return ""


class StationSource:
    name = "station"
    label = "服务阵地"

    def candidates(self, person: Person, tags: list[PortraitTag]) -> list[Recommendation]:
        from tuanju.appeals.models import Station, StationKind

        interests = _interest_tags(tags)
        occupation = person.category.name if person.category_id else ""
        group = person.category.parent.name if person.category_id and person.category.parent_id else ""
        county = _county_path(person.unit.path)
        found = []
        stations = (
            Station.objects.filter(is_active=True, unit__path__startswith=county)
            .select_related("unit")
            .prefetch_related("services")
        )
        for station in stations[:500]:
            rec = Recommendation(
                "station", station.pk, station.name, f"{station.get_kind_display()} · {station.address}"
            )
            for service in station.services.all():
                if service.tag and service.tag in interests:
                    rec.add(2, f"提供“{service.name}”，对应你的“{service.tag}”需要", interest=True)
            if occupation in OUTDOOR_WORK and station.kind in (StationKind.WARM, StationKind.COURIER):
                rec.add(2, f"为{occupation}等户外劳动者提供歇脚、补给", interest=True)
            if group in CREATIVE_GROUPS and station.kind in (StationKind.DREAM, StationKind.YOUTH_HOME):
                rec.add(2, f"面向{group}的交流与展示空间", interest=True)
            _proximity(rec, person.unit.path, station.unit.path)
            if rec.matched and rec.score >= MIN_SCORE:
                rec.staff_url = _reverse("appeals:station-detail", station.pk)
                found.append(rec)
        return found


#: activity types (C7) → interest / need tags they serve
ACTIVITY_TAGS = {
    "volunteer": ("志愿服务",),
    "emergency": ("志愿服务",),
    "practice": ("志愿服务",),
    "study": ("学习提升", "就业创业"),
    "talk": ("学习提升", "就业创业", "权益保障"),
    "culture": ("运动健身", "文艺爱好"),
    "social": ("婚恋交友",),
}


class ActivitySource:
    """Upcoming published activities (when the activities app's models exist) open to the person."""

    name = "activity"
    label = "活动"

    def models(self):
        try:
            return apps.get_model("activities", "Activity"), apps.get_model("activities", "Registration")
        except LookupError:
            return None, None

    def candidates(self, person: Person, tags: list[PortraitTag]) -> list[Recommendation]:
        from django.db.models import Q
        from django.utils import timezone

        activity_model, registration_model = self.models()
        if activity_model is None:
            return []
        interests = _interest_tags(tags)
        communities = {t.reason for t in tags if t.group == "community"}
        registered = set(
            registration_model.objects.filter(
                person=person, status__in=["confirmed", "waitlisted"]
            ).values_list("activity_id", flat=True)
        )
        ancestors = [person.unit.path[:i] for i in range(4, len(person.unit.path) + 1, 4)]
        activities = (
            activity_model.objects.filter(
                status="published",
                ends_at__gt=timezone.now(),
                unit__path__startswith=_county_path(person.unit.path),
            )
            .filter(Q(audience="open") | Q(audience="subtree", audience_unit__path__in=ancestors))
            .exclude(pk__in=registered)
            .select_related("unit", "community")
            .order_by("starts_at")[:300]
        )
        found = []
        for activity in activities:
            when = timezone.localtime(activity.starts_at)
            rec = Recommendation(
                "activity", activity.pk, activity.title, f"{when:%m-%d %H:%M} · {activity.place}"
            )
            for tag in ACTIVITY_TAGS.get(activity.activity_type, ()):
                if tag in interests:
                    rec.add(3, f"你关注“{tag}”：{interests[tag].reason}", interest=True)
            if activity.community_id and any(activity.community.name in reason for reason in communities):
                rec.add(2, f"由你加入的社群“{activity.community.name}”组织", interest=True)
            _proximity(rec, person.unit.path, activity.unit.path)
            if rec.matched and rec.score >= MIN_SCORE:
                rec.staff_url = _reverse("activities:detail", activity.pk)
                found.append(rec)
        return found


def _reverse(name: str, pk: int) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


register_source(CommunitySource())
register_source(ActivitySource())
register_source(StationSource())


def recommend(
    person: Person, *, limit: int = 8, tags: list[PortraitTag] | None = None
) -> list[Recommendation]:
    """The best-scoring targets of every source for ``person``, each with its reasons."""
    tags = person_tags(person) if tags is None else tags
    found: list[Recommendation] = []
    for source in SOURCES:
        found.extend(source.candidates(person, tags))
    found.sort(key=lambda r: (-r.score, r.kind, r.title))
    return found[:limit]


def community_audience(community, people, *, limit: int = 200) -> list[tuple[Person, list[str]]]:
    """People of ``people`` (a scoped queryset) whose interests match ``community``'s category, with why.

    Candidates are found with queries (survey answers, roster text, appeals); each is then scored
    like a personal recommendation so the reasons shown are the same."""
    from django.db.models import Q

    from tuanju.surveys.portraits import KEYWORDS

    tags = [tag for tag, categories in COMMUNITY_CATEGORIES.items() if community.category.name in categories]
    if not tags:
        return []
    words = [w for tag in tags for w in (tag, *KEYWORDS.get(tag, ()))]
    text = Q()
    for word in words:
        text |= Q(interests__contains=word) | Q(needs__contains=word)
    matched = people.filter(
        Q(survey_responses__answers__choice__tag__in=tags) | text | Q(appeals__category__name__in=tags)
    ).distinct()
    source = CommunitySource()
    out = []
    for person in matched.select_related("unit", "category", "category__parent")[: limit * 2]:
        for rec in source.candidates(person, person_tags(person)):
            if rec.target_id == community.pk:
                out.append((person, rec.reasons))
                break
        if len(out) >= limit:
            break
    return out
