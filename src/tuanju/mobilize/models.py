"""C8 mobilization: directives (指令) sent down the tower, their delivery and acknowledgement.

A ``Directive`` names its targets (``DirectiveTarget`` rows: units' subtrees, tower levels,
communities, organizations, alliances, a filter of people). Sending it *plans* the fan-out in a
few set-based statements:

* one ``GroupDelivery`` per target group (de-duplicated): what reached the group, when it was
  opened, acknowledged, escalated;
* one ``Receipt`` per target person (de-duplicated): the personal H5 link's opened /
  acknowledged / signed-up record, attributed to the person's home group and unit;
* one ``Message`` per outbound message (robot post, SMS, e-mail): the outbox the delivery tasks
  work through. A message's state lives in the database, claimed under a lease, so a worker
  killed mid-fan-out loses nothing (a sweeper re-queues what it held) and its ``idem_key`` keeps
  the planner from ever making a second message for the same group and purpose.

Scope: a directive is seen by the staff of its unit's subtree (``scope_field = "unit"``); its
deliveries and receipts carry the unit of the group / person, so the staff of a town see the
part of a county directive that reached their town (``Directive.objects.reaching(user)``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tuanju.core.scope import ScopedQuerySet

from . import conf


class Urgency(models.TextChoices):
    EMERGENCY = "emergency", _("Emergency")
    URGENT = "urgent", _("Urgent")
    GENERAL = "general", _("General")
    PERIODIC = "periodic", _("Periodic")


#: The Chinese names used in messages sent to groups and phones.
URGENCY_LABELS = {"emergency": "紧急", "urgent": "急", "general": "一般", "periodic": "周期"}


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Awaiting approval")
    REJECTED = "rejected", _("Rejected")
    PLANNING = "planning", _("Planning")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Withdrawn")


#: Statuses in which the directive is out and people can acknowledge it.
LIVE_STATUSES = (Status.PLANNING, Status.SENDING, Status.SENT)


class DirectiveQuerySet(ScopedQuerySet):
    scope_field = "unit"

    def search(self, term: str):
        term = " ".join((term or "").split())[:50]
        if not term:
            return self
        return self.filter(Q(title__contains=term) | Q(body__contains=term))

    def live(self):
        return self.filter(status__in=LIVE_STATUSES)

    def reaching(self, user):
        """Directives sent from above the user's unit that reached groups or people of its subtree."""
        if user is None or not user.is_authenticated or not user.is_active or user.is_superuser:
            return self.none()
        unit = getattr(user, "unit", None)
        if unit is None:
            return self.none()
        groups = GroupDelivery.objects.filter(unit__path__startswith=unit.path).values("directive_id")
        people = Receipt.objects.filter(unit__path__startswith=unit.path).values("directive_id")
        return (
            self.exclude(unit__path__startswith=unit.path)
            .filter(status__in=(*LIVE_STATUSES, Status.CLOSED))
            .filter(Q(pk__in=groups) | Q(pk__in=people))
        )


class Directive(models.Model):
    unit = models.ForeignKey(
        "hierarchy.OrgUnit",
        verbose_name=_("sending committee"),
        on_delete=models.PROTECT,
        related_name="directives",
    )
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"), max_length=2000)
    image_url = models.URLField(_("image link"), max_length=500, blank=True)
    attachment_url = models.URLField(_("attachment link"), max_length=500, blank=True)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.GENERAL)
    #: The service level in force when the directive went out (settings may change later).
    service_seconds = models.PositiveIntegerField(_("service level (seconds)"), default=0)
    require_ack = models.BooleanField(_("acknowledgement required"), default=True)
    signup_enabled = models.BooleanField(_("volunteer sign-up"), default=False)
    signup_quota = models.PositiveIntegerField(_("sign-up quota"), null=True, blank=True)
    signup_note = models.CharField(_("what volunteers sign up for"), max_length=200, blank=True)
    signup_count = models.PositiveIntegerField(_("signed up"), default=0)
    use_robots = models.BooleanField(_("post through group robots"), default=True)
    use_sms = models.BooleanField(_("send text messages"), default=False)
    use_email = models.BooleanField(_("send e-mail to staff liaisons"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sender"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approver"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.CharField(_("approval note"), max_length=200, blank=True)
    #: The clock of the service level starts here.
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True, db_index=True)
    planned_at = models.DateTimeField(_("planned"), null=True, blank=True)
    plan_seconds = models.FloatField(_("planning time (s)"), null=True, blank=True)
    planned_groups = models.PositiveIntegerField(_("groups"), default=0)
    planned_people = models.PositiveIntegerField(_("people"), default=0)
    planned_messages = models.PositiveIntegerField(_("messages"), default=0)
    #: When every planned message had its first attempt.
    attempted_at = models.DateTimeField(_("every group attempted"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    escalation_step = models.PositiveSmallIntegerField(_("escalation rounds done"), default=0)
    copied_from = models.ForeignKey(
        "self",
        verbose_name=_("copied from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="copies",
    )
    #: The last computed reach totals (for lists; the live view computes its own).
    reach_totals = models.JSONField(_("reach"), default=dict, blank=True)
    reach_at = models.DateTimeField(null=True, blank=True)

    objects = DirectiveQuerySet.as_manager()

    class Meta:
        verbose_name = _("directive")
        verbose_name_plural = _("directives")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(signup_quota__isnull=True) | Q(signup_quota__gt=0), name="mobilize_quota_positive"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def urgency_label(self) -> str:
        return URGENCY_LABELS.get(self.urgency, self.urgency)

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def sla_seconds(self) -> int:
        return self.service_seconds or conf.service_seconds(self.urgency)

    @property
    def deadline(self):
        if not self.sent_at:
            return None
        return self.sent_at + timezone.timedelta(seconds=self.sla_seconds)

    @property
    def signup_left(self) -> int | None:
        if not self.signup_enabled or self.signup_quota is None:
            return None
        return max(0, self.signup_quota - self.signup_count)


class TargetKind(models.TextChoices):
    UNIT = "unit", _("A unit's subtree")
    LEVEL = "level", _("Tower levels of a unit's subtree")
    COMMUNITY = "community", _("Community")
    ORGANIZATION = "organization", _("Organization")
    ALLIANCE = "alliance", _("Alliance")
    PEOPLE = "people", _("People matching a filter")


class DirectiveTarget(models.Model):
    """One target of a directive. ``label`` keeps what it was called when the directive was sent."""

    directive = models.ForeignKey(Directive, on_delete=models.CASCADE, related_name="targets")
    kind = models.CharField(_("kind"), max_length=12, choices=TargetKind.choices)
    unit = models.ForeignKey(
        "hierarchy.OrgUnit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: For LEVEL: a comma-separated list of tier1/tier2/tier3.
    levels = models.CharField(_("levels"), max_length=30, blank=True)
    community = models.ForeignKey(
        "groups.Community", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organization = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    alliance = models.ForeignKey(
        "organizations.Alliance", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: For PEOPLE: {"political_status": [...], "category": [ids], "backbone": true, "age_min": 18, "age_max": 35}
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    label = models.CharField(_("target"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("directive target")
        verbose_name_plural = _("directive targets")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.label or self.get_kind_display()

    @property
    def level_list(self) -> list[str]:
        return [level for level in self.levels.split(",") if level]


class Channel(models.TextChoices):
    WEWORK = "wework", _("WeChat Work robot")
    DINGTALK = "dingtalk", _("DingTalk robot")
    FEISHU = "feishu", _("Feishu robot")
    RELAY = "relay", _("Relayed by the liaison")
    SMS = "sms", _("Text message")
    EMAIL = "email", _("E-mail")


ROBOT_CHANNELS = ("wework", "dingtalk", "feishu")


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Queued")
    SENT = "sent", _("Delivered")
    RETRYING = "retrying", _("Retrying")
    FAILED = "failed", _("Failed")
    RELAY = "relay", _("Waiting for the liaison to relay")
    RELAYED = "relayed", _("Relayed")


class GroupDeliveryQuerySet(ScopedQuerySet):
    scope_field = "unit"

    def silent(self):
        return self.filter(acked_at__isnull=True)


class GroupDelivery(models.Model):
    """A directive's passage through one group."""

    directive = models.ForeignKey(
        Directive, on_delete=models.CASCADE, related_name="group_deliveries", db_index=False
    )
    group = models.ForeignKey(
        "groups.ChatGroup", null=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    unit = models.ForeignKey("hierarchy.OrgUnit", on_delete=models.PROTECT, related_name="+")
    level = models.CharField(_("level"), max_length=10, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    state = models.CharField(_("state"), max_length=10, choices=DeliveryState.choices, db_default="pending")
    attempted_at = models.DateTimeField(_("first attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    opened_at = models.DateTimeField(_("link first opened"), null=True, blank=True)
    opens = models.PositiveIntegerField(_("link opens"), db_default=0, default=0)
    acked_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acked_by = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.CharField(_("error"), max_length=300, db_default="", default="", blank=True)
    escalations = models.PositiveSmallIntegerField(_("escalations"), db_default=0, default=0)
    escalated_at = models.DateTimeField(_("last escalated"), null=True, blank=True)

    objects = GroupDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("group delivery")
        verbose_name_plural = _("group deliveries")
        constraints = [
            models.UniqueConstraint(fields=["directive", "group"], name="mobilize_one_delivery_per_group"),
        ]

    def __str__(self) -> str:
        return f"{self.directive_id} → {self.group_id}"

    @property
    def is_delivered(self) -> bool:
        return self.delivered_at is not None


class ReceiptQuerySet(ScopedQuerySet):
    scope_field = "unit"


class Receipt(models.Model):
    """One person's copy of a directive: their personal link and what they did with it."""

    directive = models.ForeignKey(
        Directive, on_delete=models.CASCADE, related_name="receipts", db_index=False
    )
    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, related_name="directive_receipts", db_index=False
    )
    unit = models.ForeignKey("hierarchy.OrgUnit", on_delete=models.PROTECT, related_name="+", db_index=False)
    #: The person's home group when it is among the directive's groups.
    group = models.ForeignKey(
        "groups.ChatGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    #: True when the person looks after one of the directive's groups (and relays it there).
    is_liaison = models.BooleanField(db_default=False, default=False)
    #: Sent to the person directly (text message or e-mail).
    delivered_at = models.DateTimeField(_("sent to the person"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    acked_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    ack_via = models.CharField(_("acknowledged through"), max_length=8, db_default="", default="", blank=True)
    signed_up_at = models.DateTimeField(_("signed up"), null=True, blank=True)

    objects = ReceiptQuerySet.as_manager()

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        constraints = [
            # Serves de-duplication, the link's lookups and a person's history (ratings).
            models.UniqueConstraint(fields=["person", "directive"], name="mobilize_one_receipt_per_person"),
        ]
        indexes = [models.Index(fields=["directive", "unit"], name="mobilize_receipt_unit")]

    def __str__(self) -> str:
        return f"{self.directive_id} → {self.person_id}"


class MessageState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    RETRY = "retry", _("Waiting to retry")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Purpose(models.TextChoices):
    DIRECTIVE = "directive", _("Directive")
    REMINDER = "reminder", _("Reminder to the group")
    ESCALATION = "escalation", _("Escalation")


class MessageQuerySet(ScopedQuerySet):
    scope_field = "directive__unit"

    def due(self, now=None):
        now = now or timezone.now()
        return self.filter(state__in=(MessageState.QUEUED, MessageState.RETRY), next_attempt_at__lte=now)


class Message(models.Model):
    """One outbound message: the outbox row the delivery tasks claim, send and record."""

    directive = models.ForeignKey(Directive, on_delete=models.CASCADE, related_name="messages")
    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.choices, db_default="directive")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    delivery = models.ForeignKey(
        GroupDelivery, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    receipt = models.ForeignKey(
        Receipt, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    #: Extra content (an escalation's list of silent groups…).
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=MessageState.choices, db_default="queued")
    attempts = models.PositiveSmallIntegerField(_("attempts"), db_default=0, default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    lease_token = models.CharField(max_length=32, blank=True, db_default="", default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    #: Deterministic per (directive, recipient, purpose): the planner can never make a second one.
    idem_key = models.CharField(max_length=80, unique=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    provider_id = models.CharField(
        _("provider message id"), max_length=100, blank=True, db_default="", default=""
    )
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True, db_default="", default="")
    created_at = models.DateTimeField(_("created"), db_default=models.functions.Now())

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="mobilize_message_due"),
            models.Index(fields=["directive", "state"], name="mobilize_message_directive"),
            models.Index(fields=["lease_token"], name="mobilize_message_lease", condition=~Q(lease_token="")),
        ]

    def __str__(self) -> str:
        return self.idem_key


class EscalationQuerySet(ScopedQuerySet):
    scope_field = "delivery__unit"


class Escalation(models.Model):
    """A group that had not acknowledged in time, and whom that was reported to."""

    directive = models.ForeignKey(Directive, on_delete=models.CASCADE, related_name="escalations")
    delivery = models.ForeignKey(GroupDelivery, on_delete=models.CASCADE, related_name="escalation_records")
    step = models.PositiveSmallIntegerField(_("round"))
    share = models.FloatField(_("share of the service level"))
    created_at = models.DateTimeField(_("escalated"), default=timezone.now)
    liaisons = models.CharField(_("liaisons notified"), max_length=300, blank=True)
    cadres = models.CharField(_("cadres notified"), max_length=300, blank=True)
    cadre_unit = models.ForeignKey(
        "hierarchy.OrgUnit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channels = models.CharField(_("through"), max_length=100, blank=True)

    objects = EscalationQuerySet.as_manager()

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "step"], name="mobilize_escalate_once_per_step")
        ]

    def __str__(self) -> str:
        return f"{self.directive_id}/{self.delivery_id} #{self.step}"
