"""C3 youth social organizations (青年社会组织) and C4 alliances (联盟, the "8+X" model).

Every model here is scoped through the unit of its organization or alliance
(``core.scope``). The "四有" check is computed from the data by ``OrganizationQuerySet``;
activities are plugged in through ``hooks`` once the activities app exists.
"""

from __future__ import annotations

import calendar
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Count, ExpressionWrapper, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tuanju.core.crypto import cipher, mask_phone
from tuanju.core.scope import ScopedQuerySet
from tuanju.core.text import pinyin_initials
from tuanju.organizations import hooks

DEFAULT_MIN_MEMBERS = 5
DEFAULT_ACTIVITY_MONTHS = 2
COUNCIL_MIN = 6
COUNCIL_MAX = 21


def min_members() -> int:
    """N of the 四有 "有队伍" criterion: ``TUANJU["ORG_MIN_MEMBERS"]`` (default 5)."""
    return int(getattr(settings, "TUANJU", {}).get("ORG_MIN_MEMBERS", DEFAULT_MIN_MEMBERS))


def activity_months() -> int:
    """The 四有 "有活动" window in months: ``TUANJU["ORG_ACTIVITY_MONTHS"]`` (default 2)."""
    return int(getattr(settings, "TUANJU", {}).get("ORG_ACTIVITY_MONTHS", DEFAULT_ACTIVITY_MONTHS))


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier (clamped to the end of a shorter month)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


class OrgType(models.Model):
    """Configurable organization types; the three county types first (data migration 0002)."""

    name = models.CharField(_("name"), max_length=20, unique=True)
    is_county_type = models.BooleanField(
        _("county league type"),
        default=False,
        help_text=_("One of the three types every county league builds (志愿服务, 创业就业, 文艺体育)."),
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    sort = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("organization type")
        verbose_name_plural = _("organization types")
        ordering = ["sort", "id"]

    def __str__(self) -> str:
        return self.name


class OrgTag(models.Model):
    name = models.CharField(_("name"), max_length=30, unique=True)

    class Meta:
        verbose_name = _("organization tag")
        verbose_name_plural = _("organization tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RegistrationStatus(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    FILED = "filed", _("Filed")
    UNREGISTERED = "unregistered", _("Not registered")


#: The Chinese names used in spreadsheets and messages.
REGISTRATION_LABELS = {
    RegistrationStatus.REGISTERED: "民政登记",
    RegistrationStatus.FILED: "备案",
    RegistrationStatus.UNREGISTERED: "未登记",
}


class FourHave:
    """Keys of the four 四有 criteria, in the order the seeds list them."""

    ORGANIZATION = "leader"  # 有组织: a leader is set
    VENUE = "venue"  # 有场所
    TEAM = "team"  # 有队伍: at least N members
    ACTIVITY = "activity"  # 有活动: an activity within the window (once activities exist)
    ALL = (ORGANIZATION, VENUE, TEAM, ACTIVITY)
    LABELS = {
        ORGANIZATION: _("Organized (leader set)"),
        VENUE: _("Venue"),
        TEAM: _("Team (enough members)"),
        ACTIVITY: _("Recent activity"),
    }
    SHORT = {ORGANIZATION: "有组织", VENUE: "有场所", TEAM: "有队伍", ACTIVITY: "有活动"}


def _active_count(model, fk: str):
    """A correlated count of the active (not left) rows of ``model`` pointing at the outer row."""
    rows = (
        model.objects.filter(**{fk: OuterRef("pk"), "left_on__isnull": True})
        .order_by()
        .values(fk)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=models.IntegerField()), Value(0))


class OrganizationQuerySet(ScopedQuerySet):
    scope_field = "unit"

    def search(self, term: str):
        """Name, pinyin initials, or (a prefix of) the unified social credit code."""
        term = " ".join((term or "").split())[:50]
        if not term:
            return self
        upper = term.replace(" ", "").upper()
        if len(upper) >= 6 and upper.isalnum() and any(ch.isdigit() for ch in upper):
            return self.filter(uscc__startswith=upper)
        if term.isascii() and term.replace(" ", "").isalpha():
            return self.filter(
                Q(name_pinyin__startswith=term.replace(" ", "").lower()) | Q(name__icontains=term)
            )
        return self.filter(name__contains=term)

    def with_counts(self):
        return self.annotate(
            member_count=_active_count(Membership, "organization"),
            group_member_count=_active_count(GroupMembership, "organization"),
        )

    def with_four_have(self, *, today: date | None = None):
        """Annotate the 四有 criteria: ``has_leader``, ``has_venue``, ``has_team``, ``has_activity``
        (``None`` while activities are not counted) and ``four_have`` (all known criteria met)."""
        qs = self if "member_count" in self.query.annotations else self.with_counts()
        today = today or timezone.localdate()
        active = hooks.active_since(months_before(today, activity_months()))
        qs = qs.annotate(
            has_leader=ExpressionWrapper(Q(leader__isnull=False), output_field=models.BooleanField()),
            has_venue=ExpressionWrapper(~Q(venue=""), output_field=models.BooleanField()),
            has_team=ExpressionWrapper(
                Q(member_count__gte=min_members()), output_field=models.BooleanField()
            ),
        )
        if active is None:
            qs = qs.annotate(has_activity=Value(None, output_field=models.BooleanField(null=True)))
        else:
            qs = qs.annotate(
                has_activity=ExpressionWrapper(Q(pk__in=active), output_field=models.BooleanField())
            )
        return qs.annotate(
            four_have=ExpressionWrapper(~self._failing_q(active), output_field=models.BooleanField())
        )

    @staticmethod
    def _failing_q(active) -> Q:
        q = Q(leader__isnull=True) | Q(venue="") | Q(member_count__lt=min_members())
        if active is not None:
            q |= ~Q(pk__in=active)
        return q

    def failing_criterion(self, key: str, *, today: date | None = None):
        """Organizations missing one criterion (``FourHave`` key); ``none()`` for an uncounted one."""
        qs = self if "four_have" in self.query.annotations else self.with_four_have(today=today)
        field = {
            FourHave.ORGANIZATION: "has_leader",
            FourHave.VENUE: "has_venue",
            FourHave.TEAM: "has_team",
            FourHave.ACTIVITY: "has_activity",
        }[key]
        if key == FourHave.ACTIVITY and hooks.activity_source() is None:
            return qs.none()
        return qs.filter(**{field: False})

    def failing_four_have(self, *, today: date | None = None):
        qs = self if "four_have" in self.query.annotations else self.with_four_have(today=today)
        return qs.filter(four_have=False)

    def passing_four_have(self, *, today: date | None = None):
        qs = self if "four_have" in self.query.annotations else self.with_four_have(today=today)
        return qs.filter(four_have=True)


class Organization(models.Model):
    unit = models.ForeignKey(
        "hierarchy.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="organizations"
    )
    name = models.CharField(_("name"), max_length=100)
    name_pinyin = models.CharField(_("pinyin initials"), max_length=100, blank=True, db_index=True)
    org_type = models.ForeignKey(
        OrgType, verbose_name=_("type"), on_delete=models.PROTECT, related_name="organizations"
    )
    registration_status = models.CharField(
        _("registration"),
        max_length=12,
        choices=RegistrationStatus.choices,
        default=RegistrationStatus.UNREGISTERED,
    )
    uscc = models.CharField(
        _("unified social credit code"), max_length=18, null=True, blank=True, unique=True
    )
    founded_on = models.DateField(_("founded"), null=True, blank=True)
    charter = models.TextField(_("charter"), blank=True)
    introduction = models.TextField(_("introduction"), blank=True)
    venue = models.CharField(_("venue"), max_length=200, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone_enc = models.BinaryField(null=True, blank=True, editable=False)
    contact_phone_bidx = models.CharField(max_length=32, null=True, blank=True, db_index=True, editable=False)
    contact_phone_masked = models.CharField(_("contact phone"), max_length=11, blank=True, editable=False)
    leader = models.ForeignKey(
        "people.Person",
        verbose_name=_("leader"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_organizations",
    )
    logo = models.FileField(_("logo"), upload_to="organizations/logos/%Y/", blank=True)
    tags = models.ManyToManyField(OrgTag, verbose_name=_("tags"), blank=True, related_name="organizations")
    is_league_affiliated = models.BooleanField(_("league-affiliated (团属)"), default=True)
    is_incubation_base = models.BooleanField(_("incubation base"), default=False)
    is_cloud_resident = models.BooleanField(_("cloud residency (云入驻)"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        verbose_name = _("youth social organization")
        verbose_name_plural = _("youth social organizations")
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="org_unique_name_in_unit")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name_pinyin = pinyin_initials(self.name)[:100]
        if not self.uscc:
            self.uscc = None
        super().save(*args, **kwargs)

    def set_contact_phone(self, phone: str) -> None:
        c = cipher()
        self.contact_phone_enc = c.encrypt(phone) if phone else None
        self.contact_phone_bidx = c.blind_index(phone) if phone else None
        self.contact_phone_masked = mask_phone(phone)

    def reveal_contact_phone(self) -> str:
        """Decrypt; callers audit-log the view (organizations.actions.reveal_contact_phone does)."""
        return cipher().decrypt(self.contact_phone_enc)

    def four_have_status(self, *, today: date | None = None) -> dict:
        """The 四有 check of this one organization: {key: True/False/None} plus ``ok``."""
        count = getattr(self, "member_count", None)
        if count is None:
            count = self.memberships.filter(left_on__isnull=True).count()
        result = {
            FourHave.ORGANIZATION: self.leader_id is not None,
            FourHave.VENUE: bool(self.venue),
            FourHave.TEAM: count >= min_members(),
            FourHave.ACTIVITY: None,
        }
        today = today or timezone.localdate()
        active = hooks.active_since(months_before(today, activity_months()))
        if active is not None:
            result[FourHave.ACTIVITY] = Organization.objects.filter(pk=self.pk, pk__in=active).exists()
        result["ok"] = all(v is not False for v in result.values())
        return result


class MemberRole(models.TextChoices):
    PRESIDENT = "president", _("President")
    VICE = "vice", _("Vice president")
    SECRETARY = "secretary", _("Secretary-general")
    DIRECTOR = "director", _("Council member")
    BACKBONE = "backbone", _("Backbone")
    MEMBER = "member", _("Member")
    VOLUNTEER = "volunteer", _("Volunteer")


#: display order of roles (the leadership first)
ROLE_ORDER = list(MemberRole.values)

ROLE_LABELS = {
    MemberRole.PRESIDENT: "会长",
    MemberRole.VICE: "副会长",
    MemberRole.SECRETARY: "秘书长",
    MemberRole.DIRECTOR: "理事",
    MemberRole.BACKBONE: "骨干",
    MemberRole.MEMBER: "会员",
    MemberRole.VOLUNTEER: "志愿者",
}


class MembershipQuerySet(ScopedQuerySet):
    scope_field = "organization__unit"

    def active(self):
        return self.filter(left_on__isnull=True)


class Membership(models.Model):
    """An individual member (个人会员): a person of the roster in an organization."""

    organization = models.ForeignKey(
        Organization, verbose_name=_("organization"), on_delete=models.CASCADE, related_name="memberships"
    )
    person = models.ForeignKey(
        "people.Person", verbose_name=_("person"), on_delete=models.CASCADE, related_name="org_memberships"
    )
    role = models.CharField(_("role"), max_length=10, choices=MemberRole.choices, default=MemberRole.MEMBER)
    joined_on = models.DateField(_("joined"))
    left_on = models.DateField(_("left"), null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("individual member")
        verbose_name_plural = _("individual members")
        ordering = ["organization", "joined_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "person"],
                condition=Q(left_on__isnull=True),
                name="org_one_active_membership",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} @ {self.organization}"


class GroupMembershipQuerySet(ScopedQuerySet):
    scope_field = "organization__unit"

    def active(self):
        return self.filter(left_on__isnull=True)


class GroupMembership(models.Model):
    """A group member (团体会员): another organization that is a member of this one."""

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="group_memberships",
    )
    member = models.ForeignKey(
        Organization,
        verbose_name=_("member organization"),
        on_delete=models.CASCADE,
        related_name="memberships_as_group",
    )
    joined_on = models.DateField(_("joined"))
    left_on = models.DateField(_("left"), null=True, blank=True)

    objects = GroupMembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("group member")
        verbose_name_plural = _("group members")
        ordering = ["organization", "joined_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "member"],
                condition=Q(left_on__isnull=True),
                name="org_one_active_group_membership",
            ),
            models.CheckConstraint(
                condition=~Q(organization=models.F("member")), name="org_not_own_group_member"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} @ {self.organization}"


class ProjectStatus(models.TextChoices):
    APPLYING = "applying", _("Applying")
    ONGOING = "ongoing", _("In progress")
    COMPLETED = "completed", _("Completed")
    TERMINATED = "terminated", _("Terminated")


PROJECT_STATUS_LABELS = {
    ProjectStatus.APPLYING: "申报中",
    ProjectStatus.ONGOING: "实施中",
    ProjectStatus.COMPLETED: "已结项",
    ProjectStatus.TERMINATED: "已终止",
}


class ServiceProjectQuerySet(ScopedQuerySet):
    scope_field = "organization__unit"


class ServiceProject(models.Model):
    """A government-purchased service project (政府购买服务项目) the organization undertakes."""

    organization = models.ForeignKey(
        Organization, verbose_name=_("organization"), on_delete=models.CASCADE, related_name="projects"
    )
    title = models.CharField(_("title"), max_length=200)
    funder = models.CharField(
        _("funder"), max_length=100, help_text=_("The purchasing department, e.g. 区民政局.")
    )
    amount = models.DecimalField(_("amount (yuan)"), max_digits=12, decimal_places=2)
    starts_on = models.DateField(_("start"))
    ends_on = models.DateField(_("end"))
    status = models.CharField(
        _("status"), max_length=10, choices=ProjectStatus.choices, default=ProjectStatus.ONGOING
    )
    deliverables = models.TextField(_("deliverables"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ServiceProjectQuerySet.as_manager()

    class Meta:
        verbose_name = _("purchased service project")
        verbose_name_plural = _("purchased service projects")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="org_project_period"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="org_project_amount"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def unit(self):
        return self.organization.unit


class AbsorptionKind(models.TextChoices):
    NPC = "npc", _("People's congress deputy")
    CPPCC = "cppcc", _("CPPCC member")
    YOUTH_FEDERATION = "yf", _("Youth federation member")
    PARTY_RECOMMENDATION = "party", _("Recommended for Party membership")
    PARTY_CONGRESS = "party_congress", _("Party congress delegate")
    LEAGUE_CONGRESS = "league_congress", _("League congress delegate")
    LEAGUE_CADRE = "league_cadre", _("Part-time league cadre")


ABSORPTION_LABELS = {
    AbsorptionKind.NPC: "人大代表",
    AbsorptionKind.CPPCC: "政协委员",
    AbsorptionKind.YOUTH_FEDERATION: "青联委员",
    AbsorptionKind.PARTY_RECOMMENDATION: "推优入党",
    AbsorptionKind.PARTY_CONGRESS: "党代表",
    AbsorptionKind.LEAGUE_CONGRESS: "团代表",
    AbsorptionKind.LEAGUE_CADRE: "挂兼职团干部",
}


class AbsorptionLevel(models.TextChoices):
    NATION = "nation", _("National")
    PROVINCE = "province", _("Provincial")
    CITY = "city", _("City")
    COUNTY = "county", _("County")
    TOWN = "town", _("Town")


class AbsorptionQuerySet(ScopedQuerySet):
    scope_field = "organization__unit"


class PoliticalAbsorption(models.Model):
    """政治吸纳: a backbone member serving as deputy / committee member, or recommended to the Party."""

    organization = models.ForeignKey(
        Organization, verbose_name=_("organization"), on_delete=models.CASCADE, related_name="absorptions"
    )
    person = models.ForeignKey(
        "people.Person", verbose_name=_("person"), on_delete=models.CASCADE, related_name="absorptions"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=AbsorptionKind.choices)
    level = models.CharField(_("level"), max_length=10, choices=AbsorptionLevel.choices, blank=True)
    year = models.PositiveSmallIntegerField(_("year"))
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = AbsorptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("political absorption record")
        verbose_name_plural = _("political absorption records")
        ordering = ["-year", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["person", "kind", "level", "year"], name="org_absorption_once")
        ]

    def __str__(self) -> str:
        return f"{self.person} {ABSORPTION_LABELS.get(self.kind, self.kind)} {self.year}"

    @property
    def unit(self):
        return self.organization.unit


# --- C4 alliances -----------------------------------------------------------------------------


class JoinMethod(models.TextChoices):
    BUILT = "built", _("Built (主动建设)")
    ABSORBED = "absorbed", _("Absorbed whole (整体吸纳)")
    REORGANIZED = "reorganized", _("Reorganized (重新组建)")
    GUIDED = "guided", _("Guided (引导争取)")


JOIN_LABELS = {
    JoinMethod.BUILT: "主动建设",
    JoinMethod.ABSORBED: "整体吸纳",
    JoinMethod.REORGANIZED: "重新组建",
    JoinMethod.GUIDED: "引导争取",
}
#: Suggested fields of an alliance (seed 004's eight plus the brief's examples); free text is allowed.
ALLIANCE_FIELDS = [
    "志愿服务",
    "创业创新",
    "青年社会组织",
    "大学生社会实践",
    "青年网络从业者",
    "青年新文艺",
    "青年体育同好",
    "青年之家",
    "公益",
    "文创",
    "体育",
    "电竞",
]


class AllianceQuerySet(ScopedQuerySet):
    scope_field = "unit"

    def search(self, term: str):
        term = " ".join((term or "").split())[:50]
        if not term:
            return self
        return self.filter(Q(name__contains=term) | Q(field__contains=term))


class Alliance(models.Model):
    """An alliance of societies led by the league (8+X): a leading society, a secretary-general,
    a council of 6–21 member societies, quarterly joint meetings and a monthly rotating duty."""

    unit = models.ForeignKey(
        "hierarchy.OrgUnit",
        verbose_name=_("league committee"),
        on_delete=models.PROTECT,
        related_name="alliances",
    )
    name = models.CharField(_("name"), max_length=100)
    field = models.CharField(_("field"), max_length=20)
    leader = models.ForeignKey(
        Organization,
        verbose_name=_("leading society (盟主)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_alliances",
    )
    secretary_general = models.ForeignKey(
        "people.Person",
        verbose_name=_("secretary-general"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alliances_as_secretary",
    )
    founded_on = models.DateField(_("founded"), default=timezone.localdate)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = AllianceQuerySet.as_manager()

    class Meta:
        verbose_name = _("alliance")
        verbose_name_plural = _("alliances")
        ordering = ["unit__path", "name"]
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="alliance_unique_name_in_unit")]

    def __str__(self) -> str:
        return self.name

    def council(self):
        return (
            self.members.filter(is_council=True)
            .select_related("organization")
            .order_by("council_order", "id")
        )


class AllianceMemberQuerySet(ScopedQuerySet):
    scope_field = "alliance__unit"


class AllianceMember(models.Model):
    alliance = models.ForeignKey(
        Alliance, verbose_name=_("alliance"), on_delete=models.CASCADE, related_name="members"
    )
    organization = models.ForeignKey(
        Organization, verbose_name=_("society"), on_delete=models.CASCADE, related_name="alliance_memberships"
    )
    join_method = models.CharField(_("joined by"), max_length=12, choices=JoinMethod.choices)
    joined_on = models.DateField(_("joined"), default=timezone.localdate)
    is_council = models.BooleanField(_("council member"), default=False)
    #: the council's rotation order for the monthly duty
    council_order = models.PositiveSmallIntegerField(_("duty order"), default=0)

    objects = AllianceMemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("alliance member")
        verbose_name_plural = _("alliance members")
        ordering = ["alliance", "-is_council", "council_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["alliance", "organization"], name="alliance_member_once")
        ]

    def __str__(self) -> str:
        return f"{self.organization} @ {self.alliance}"


class MeetingStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    HELD = "held", _("Held")
    CANCELLED = "cancelled", _("Cancelled")


class JointMeetingQuerySet(ScopedQuerySet):
    scope_field = "alliance__unit"


class JointMeeting(models.Model):
    """A quarterly joint meeting of the council (季度联席会议)."""

    alliance = models.ForeignKey(
        Alliance, verbose_name=_("alliance"), on_delete=models.CASCADE, related_name="meetings"
    )
    held_on = models.DateField(_("date"))
    status = models.CharField(
        _("status"), max_length=10, choices=MeetingStatus.choices, default=MeetingStatus.PLANNED
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    attendees = models.ManyToManyField(
        Organization, verbose_name=_("council members present"), blank=True, related_name="+"
    )
    minutes = models.TextField(_("minutes"), blank=True)
    decisions = models.TextField(_("decisions"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = JointMeetingQuerySet.as_manager()

    class Meta:
        verbose_name = _("joint meeting")
        verbose_name_plural = _("joint meetings")
        ordering = ["-held_on", "-id"]

    def __str__(self) -> str:
        return self.title or f"{self.alliance} {self.quarter_label}"

    @property
    def quarter(self) -> tuple[int, int]:
        return self.held_on.year, (self.held_on.month - 1) // 3 + 1

    @property
    def quarter_label(self) -> str:
        year, q = self.quarter
        return f"{year}年第{q}季度"

    @property
    def unit(self):
        return self.alliance.unit


class DutyAssignmentQuerySet(ScopedQuerySet):
    scope_field = "alliance__unit"


class DutyAssignment(models.Model):
    """活动轮值: the council society that leads the alliance's activity in a month."""

    alliance = models.ForeignKey(
        Alliance, verbose_name=_("alliance"), on_delete=models.CASCADE, related_name="duties"
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    organization = models.ForeignKey(
        Organization, verbose_name=_("duty society"), on_delete=models.CASCADE, related_name="duties"
    )
    theme = models.CharField(_("theme"), max_length=200, blank=True)

    objects = DutyAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("duty month")
        verbose_name_plural = _("duty schedule")
        ordering = ["alliance", "month"]
        constraints = [
            models.UniqueConstraint(fields=["alliance", "month"], name="alliance_one_duty_per_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="alliance_duty_first_of_month"),
        ]

    def __str__(self) -> str:
        return f"{self.alliance} {self.month:%Y-%m}: {self.organization}"

    @property
    def unit(self):
        return self.alliance.unit


def quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def next_quarter(start: date) -> date:
    return add_months(start, 3)
