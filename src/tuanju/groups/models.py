"""C5 tower groups (微信塔群) and C6 interest communities (分众网络社群).

A ``ChatGroup`` mirrors one messaging group that lives on an external platform (WeChat,
WeChat Work, DingTalk, Feishu, QQ). Tower groups are the ones built from the unit tree, one per
unit of the three tower levels, each linked to the group of the unit above. Organization and
alliance groups (each society a group, each alliance a members and a council group, plus an
all-alliances group) use the same model with another ``kind`` and a generic reference to the
record they belong to.

Group sizes are kept on the group (``member_count``), and so is ``placed_count``: the members
whose *home* membership is in this group. Every person has at most one home membership (the
first group they were placed in), so "people in any group" below a unit is the sum of
``placed_count`` over the groups of the subtree: coverage at the city root reads 37,074 group
rows rather than probing a million people (see groups/coverage.py).

A ``Community`` is an interest community with a charter, roles and real-name members who join
from their phone; ``CreditRecord`` is the per-person history the activities write to.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tuanju.core.crypto import cipher
from tuanju.core.scope import ScopedQuerySet


class Platform(models.TextChoices):
    WEWORK = "wework", _("WeChat Work")
    WECHAT = "wechat", _("WeChat")
    DINGTALK = "dingtalk", _("DingTalk")
    FEISHU = "feishu", _("Feishu")
    QQ = "qq", _("QQ")


#: Platforms whose groups can carry a custom robot reachable by webhook.
ROBOT_PLATFORMS = (Platform.WEWORK, Platform.DINGTALK, Platform.FEISHU)


class GroupKind(models.TextChoices):
    TOWER = "tower", _("Tower group")
    ORGANIZATION = "organization", _("Organization group")
    ALLIANCE_MEMBERS = "alliance_members", _("Alliance members group")
    ALLIANCE_COUNCIL = "alliance_council", _("Alliance council group")
    ALLIANCE_ALL = "alliance_all", _("All-alliances group")
    COMMUNITY = "community", _("Community group")
    OTHER = "other", _("Other group")


class RobotStatus(models.TextChoices):
    NONE = "", _("Not configured")
    OK = "ok", _("Working")
    FAILING = "failing", _("Failing")


class MemberSource(models.TextChoices):
    PLACED = "placed", _("Placed by the tower build")
    MANUAL = "manual", _("Added by staff")
    IMPORT = "import", _("Imported")
    SYNC = "sync", _("Synchronized from the platform")
    API = "api", _("API")


def default_joined_on():
    return timezone.localdate()


class ChatGroupQuerySet(ScopedQuerySet):
    scope_field = "unit"

    def towers(self):
        return self.filter(kind=GroupKind.TOWER)

    def without_liaison(self):
        return self.filter(liaison_count=0)

    def search(self, term: str):
        term = (term or "").strip()[:50]
        if not term:
            return self
        if term.isdigit():
            return self.filter(unit__code__startswith=term)
        return self.filter(
            Q(name__contains=term) | Q(external_name__contains=term) | Q(unit__name__contains=term)
        )


class ChatGroup(models.Model):
    unit = models.ForeignKey(
        "hierarchy.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="chat_groups"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=GroupKind.choices, default=GroupKind.TOWER)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent group"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
    )
    # What a non-tower group belongs to ("organizations.organization", 12); no FK, so the
    # groups app does not depend on the organizations app.
    ref_type = models.CharField(_("belongs to (type)"), max_length=50, blank=True)
    ref_id = models.PositiveBigIntegerField(_("belongs to (id)"), null=True, blank=True)

    # The external group this record mirrors.
    platform = models.CharField(
        _("platform"), max_length=10, choices=Platform.choices, default=Platform.WECHAT
    )
    external_id = models.CharField(_("external group id"), max_length=100, blank=True)
    external_name = models.CharField(_("external group name"), max_length=100, blank=True)
    webhook_url_enc = models.BinaryField(
        _("robot webhook (encrypted)"), null=True, blank=True, editable=False
    )
    webhook_secret_enc = models.BinaryField(
        _("robot secret (encrypted)"), null=True, blank=True, editable=False
    )
    webhook_hint = models.CharField(_("robot webhook"), max_length=80, blank=True, editable=False)
    robot_status = models.CharField(
        _("robot status"), max_length=10, choices=RobotStatus.choices, blank=True, default=RobotStatus.NONE
    )
    robot_error = models.CharField(_("robot error"), max_length=300, blank=True)
    robot_checked_at = models.DateTimeField(_("robot checked"), null=True, blank=True)

    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner (staff)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_groups",
    )
    owner_person = models.ForeignKey(
        "people.Person",
        verbose_name=_("owner (roster)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_groups",
    )
    member_count = models.PositiveIntegerField(_("size"), default=0)
    placed_count = models.PositiveIntegerField(_("people placed here"), default=0)
    liaison_count = models.PositiveSmallIntegerField(_("liaisons"), default=0)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ChatGroupQuerySet.as_manager()

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        constraints = [
            models.UniqueConstraint(
                fields=["unit"], condition=Q(kind="tower"), name="groups_one_tower_group_per_unit"
            ),
        ]
        indexes = [models.Index(fields=["ref_type", "ref_id"], name="groups_chatgroup_ref")]

    def __str__(self) -> str:
        return self.name

    # The robot webhook: the only way in and out of the encrypted columns.
    def set_webhook(self, url: str | None, secret: str | None = None) -> None:
        c = cipher()
        url = (url or "").strip()
        self.webhook_url_enc = c.encrypt(url) if url else None
        self.webhook_secret_enc = c.encrypt(secret.strip()) if url and secret and secret.strip() else None
        self.webhook_hint = webhook_hint(url)
        self.robot_status = RobotStatus.OK if url else RobotStatus.NONE
        self.robot_error = ""

    def reveal_webhook_url(self) -> str:
        return cipher().decrypt(self.webhook_url_enc)

    def reveal_webhook_secret(self) -> str:
        return cipher().decrypt(self.webhook_secret_enc)

    @property
    def has_robot(self) -> bool:
        return bool(self.webhook_url_enc)

    @property
    def owner_name(self) -> str:
        if self.owner_person_id:
            return self.owner_person.name
        if self.owner_user_id:
            return self.owner_user.display_name
        return ""


def webhook_hint(url: str) -> str:
    """What staff see of a robot webhook: its host and the last four characters of its key."""
    if not url:
        return ""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{host}/…{url[-4:]}"[:80]


class GroupLiaisonQuerySet(ScopedQuerySet):
    scope_field = "group__unit"


class GroupLiaison(models.Model):
    """青春联络员: a staff account or a roster person who looks after a group."""

    group = models.ForeignKey(
        ChatGroup, verbose_name=_("group"), on_delete=models.CASCADE, related_name="liaisons"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff account"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="liaison_groups",
    )
    person = models.ForeignKey(
        "people.Person",
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="liaison_groups",
    )
    note = models.CharField(_("note"), max_length=100, blank=True)
    since = models.DateField(_("since"), default=default_joined_on)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = GroupLiaisonQuerySet.as_manager()

    class Meta:
        verbose_name = _("liaison")
        verbose_name_plural = _("liaisons")
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, person__isnull=True)
                | Q(user__isnull=True, person__isnull=False),
                name="groups_liaison_user_xor_person",
            ),
            models.UniqueConstraint(
                fields=["group", "user"], condition=Q(user__isnull=False), name="groups_unique_liaison_user"
            ),
            models.UniqueConstraint(
                fields=["group", "person"],
                condition=Q(person__isnull=False),
                name="groups_unique_liaison_person",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.user.display_name if self.user_id else self.person.name


class GroupMemberQuerySet(ScopedQuerySet):
    scope_field = "group__unit"


class GroupMember(models.Model):
    group = models.ForeignKey(
        ChatGroup, verbose_name=_("group"), on_delete=models.CASCADE, related_name="members"
    )
    # The (person, group) unique index serves lookups by person.
    person = models.ForeignKey(
        "people.Person",
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="group_memberships",
        db_index=False,
    )
    joined_on = models.DateField(_("joined"), default=default_joined_on)
    source = models.CharField(
        _("source"), max_length=10, choices=MemberSource.choices, default=MemberSource.MANUAL
    )
    #: The person's home membership (their first group); counted once in coverage.
    is_primary = models.BooleanField(_("home group"), default=False)

    objects = GroupMemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("group member")
        verbose_name_plural = _("group members")
        constraints = [
            models.UniqueConstraint(fields=["person", "group"], name="groups_unique_member"),
            models.UniqueConstraint(
                fields=["person"], condition=Q(is_primary=True), name="groups_one_home_group_per_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} @ {self.group}"


# --- C6 interest communities -------------------------------------------------------------------


class CommunityCategory(models.Model):
    """突击应急、志愿服务… (configurable; seeded by a data migration)."""

    name = models.CharField(_("name"), max_length=20, unique=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    sort = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("community category")
        verbose_name_plural = _("community categories")
        ordering = ["sort", "id"]

    def __str__(self) -> str:
        return self.name


class CommunityRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    ORGANIZER = "organizer", _("Organizing member")
    PUBLICITY = "publicity", _("Publicity member")
    SEED = "seed", _("Seed youth")
    MEMBER = "member", _("Member")


ROLE_ORDER = [role.value for role in CommunityRole]


class MemberStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    ACTIVE = "active", _("Member")
    REJECTED = "rejected", _("Rejected")
    LEFT = "left", _("Left")
    REMOVED = "removed", _("Removed")


class JoinSource(models.TextChoices):
    QR = "qr", _("QR code")
    LINK = "link", _("Invite link")
    STAFF = "staff", _("Added by staff")
    API = "api", _("API")


def default_absence_limit() -> int:
    return int(getattr(settings, "TUANJU", {}).get("CREDIT_ABSENCE_LIMIT", 3))


def new_nonce() -> str:
    return secrets.token_urlsafe(6)


class CommunityQuerySet(ScopedQuerySet):
    scope_field = "unit"

    def search(self, term: str):
        term = (term or "").strip()[:50]
        return self.filter(name__contains=term) if term else self

    def with_counts(self):
        return self.annotate(
            active_count=models.Count(
                "members", filter=Q(members__status=MemberStatus.ACTIVE), distinct=True
            ),
            pending_count=models.Count(
                "members", filter=Q(members__status=MemberStatus.PENDING), distinct=True
            ),
        )


class Community(models.Model):
    unit = models.ForeignKey(
        "hierarchy.OrgUnit",
        verbose_name=_("league committee"),
        on_delete=models.PROTECT,
        related_name="communities",
    )
    name = models.CharField(_("name"), max_length=60)
    category = models.ForeignKey(
        CommunityCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="communities"
    )
    description = models.CharField(_("introduction"), max_length=500, blank=True)
    charter = models.TextField(_("charter"), blank=True)
    charter_version = models.PositiveIntegerField(_("charter version"), default=1)
    charter_updated_at = models.DateTimeField(_("charter updated"), null=True, blank=True)
    requires_resident_id = models.BooleanField(_("joining requires the resident ID"), default=False)
    requires_approval = models.BooleanField(_("joining requires approval"), default=True)
    is_open = models.BooleanField(_("open for joining"), default=True)
    max_members = models.PositiveIntegerField(_("member limit"), null=True, blank=True)
    absence_limit = models.PositiveSmallIntegerField(
        _("unexcused absences before a block"), default=default_absence_limit
    )
    #: Rotating it revokes every invite link and QR code issued so far.
    invite_nonce = models.CharField(max_length=16, default=new_nonce, editable=False)
    chat_group = models.OneToOneField(
        ChatGroup,
        verbose_name=_("messaging group"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="community",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = CommunityQuerySet.as_manager()

    class Meta:
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="groups_unique_community_name")]

    def __str__(self) -> str:
        return self.name


class CommunityMemberQuerySet(ScopedQuerySet):
    scope_field = "community__unit"

    def active(self):
        return self.filter(status=MemberStatus.ACTIVE)

    def pending(self):
        return self.filter(status=MemberStatus.PENDING)


class CommunityMember(models.Model):
    community = models.ForeignKey(
        Community, verbose_name=_("community"), on_delete=models.CASCADE, related_name="members"
    )
    person = models.ForeignKey(
        "people.Person",
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="community_memberships",
    )
    role = models.CharField(
        _("role"), max_length=10, choices=CommunityRole.choices, default=CommunityRole.MEMBER
    )
    status = models.CharField(
        _("status"), max_length=10, choices=MemberStatus.choices, default=MemberStatus.PENDING, db_index=True
    )
    source = models.CharField(
        _("source"), max_length=10, choices=JoinSource.choices, default=JoinSource.STAFF
    )
    #: True when the joiner was found in the roster; False when the join added them to it.
    matched_roster = models.BooleanField(_("found in the roster"), default=True)
    applied_at = models.DateTimeField(_("applied"), default=timezone.now)
    joined_at = models.DateTimeField(_("joined"), null=True, blank=True)
    charter_version = models.PositiveIntegerField(_("charter version accepted"), null=True, blank=True)
    charter_accepted_at = models.DateTimeField(_("charter accepted"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)

    objects = CommunityMemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("community member")
        verbose_name_plural = _("community members")
        constraints = [
            models.UniqueConstraint(fields=["community", "person"], name="groups_unique_community_member"),
            models.UniqueConstraint(
                fields=["community"],
                condition=Q(role="owner", status="active"),
                name="groups_one_owner_per_community",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} @ {self.community}"


class BlacklistQuerySet(ScopedQuerySet):
    scope_field = "community__unit"

    def in_force(self):
        return self.filter(lifted_at__isnull=True)


class BlacklistEntry(models.Model):
    """黑名单: a person who may not join or re-join a community until the entry is lifted."""

    community = models.ForeignKey(
        Community, verbose_name=_("community"), on_delete=models.CASCADE, related_name="blacklist"
    )
    person = models.ForeignKey(
        "people.Person",
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="community_blacklist",
    )
    reason = models.CharField(_("reason"), max_length=300)
    warnings = models.PositiveSmallIntegerField(_("warnings before"), default=0)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), default=timezone.now)
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lift_reason = models.CharField(_("reason for lifting"), max_length=200, blank=True)

    objects = BlacklistQuerySet.as_manager()

    class Meta:
        verbose_name = _("blacklist entry")
        verbose_name_plural = _("blacklist")
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "person"],
                condition=Q(lifted_at__isnull=True),
                name="groups_one_blacklist_entry_in_force",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} ✕ {self.community}"


class CreditKind(models.TextChoices):
    ATTENDED = "attended", _("Attended")
    ABSENT = "absent", _("Unexcused absence")
    EXCUSED = "excused", _("Excused absence")
    BLOCKED = "blocked", _("Registration refused")
    WARNING = "warning", _("Warning")
    BLACKLISTED = "blacklisted", _("Blacklisted")
    LIFTED = "lifted", _("Blacklist lifted")
    PRAISE = "praise", _("Commendation")
    NOTE = "note", _("Note")


class CreditRecordQuerySet(ScopedQuerySet):
    scope_field = "unit"


class CreditRecord(models.Model):
    """信用评价: one entry of a person's credit history (written by communities and activities).

    ``unit`` is the committee whose staff see the entry (the community's unit, or the
    organizer's for an activity outside any community). ``ref_type``/``ref_id`` point at what
    the entry is about (e.g. "activities.activity", 12) without a dependency on that app.
    """

    unit = models.ForeignKey(
        "hierarchy.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="credit_records"
    )
    person = models.ForeignKey(
        "people.Person", verbose_name=_("person"), on_delete=models.CASCADE, related_name="credit_records"
    )
    community = models.ForeignKey(
        Community,
        verbose_name=_("community"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="credit_records",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=CreditKind.choices)
    points = models.SmallIntegerField(_("points"), default=0)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    ref_type = models.CharField(max_length=50, blank=True)
    ref_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    objects = CreditRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("credit record")
        verbose_name_plural = _("credit records")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["person", "community", "created_at"], name="groups_credit_person"),
            models.Index(fields=["ref_type", "ref_id"], name="groups_credit_ref"),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.get_kind_display()}"
