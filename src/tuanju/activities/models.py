"""C7 activities: organized events with registration, the credit rule, leave, QR check-in and
volunteer hours.

An ``Activity`` is organized by a league committee (unit), a youth social organization, an
alliance (led in a month by its duty society) or an interest community; ``unit`` is always the
organizer's committee and is what scopes it. A young person's ``Registration`` carries the whole
story of their participation: place or waitlist, cancellation, leave (请假), check-in and
check-out, the settled outcome (attended / absent / excused) and the volunteer hours.
``CheckIn`` rows are the log of every scan and manual check-in.

The credit rule (seed 004) lives on communities: ``CreditBlock`` is one breach (N consecutive
unexcused absences), which blocks the community's next activity; ``BlacklistProposal`` is the
suggestion, after repeated breaches, that the community's owner puts the person on the
blacklist. Every step is explained on the person's credit record (``groups.CreditRecord``).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tuanju.core.scope import ScopedQuerySet

from . import conf


def new_nonce() -> str:
    return secrets.token_urlsafe(6)


def default_cancel_cutoff() -> int:
    return int(conf.get("ACTIVITY_CANCEL_CUTOFF_HOURS"))


def default_late_after() -> int:
    return int(conf.get("ACTIVITY_LATE_AFTER_MINUTES"))


class OrganizerKind(models.TextChoices):
    UNIT = "unit", _("League committee")
    ORGANIZATION = "organization", _("Youth social organization")
    ALLIANCE = "alliance", _("Alliance")
    COMMUNITY = "community", _("Interest community")


class ActivityType(models.TextChoices):
    VOLUNTEER = "volunteer", _("Volunteer service")
    EMERGENCY = "emergency", _("Emergency response")
    STUDY = "study", _("Study and training")
    CULTURE = "culture", _("Culture and sports")
    SOCIAL = "social", _("Friendship and social")
    PRACTICE = "practice", _("Social practice")
    TALK = "talk", _("Talk or seminar")
    OTHER = "other", _("Other")


#: Types whose participants usually earn volunteer hours (the form's default).
HOURS_TYPES = (ActivityType.VOLUNTEER, ActivityType.EMERGENCY, ActivityType.PRACTICE)


class Audience(models.TextChoices):
    OPEN = "open", _("Open to every young person")
    MEMBERS = "members", _("Members of the organizer only")
    SUBTREE = "subtree", _("Youth of a unit's area only")


class ActivityStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    CANCELLED = "cancelled", _("Cancelled")


#: Optional registration fields an activity may ask for (key → label shown on the form).
EXTRA_FIELDS = {
    "employer": "工作单位或平台",
    "skills": "特长",
    "size": "服装尺码",
    "diet": "饮食禁忌",
    "remark": "备注",
}
MAX_QUESTIONS = 3


class ActivityQuerySet(ScopedQuerySet):
    scope_field = "unit"

    def published(self):
        return self.filter(status=ActivityStatus.PUBLISHED)

    def held(self, now=None):
        """Published activities that have started (what counts as "an activity was held")."""
        return self.published().filter(starts_at__lte=now or timezone.now())

    def upcoming(self, now=None):
        return self.published().filter(ends_at__gt=now or timezone.now())

    def search(self, term: str):
        term = " ".join((term or "").split())[:50]
        if not term:
            return self
        return self.filter(
            Q(title__contains=term) | Q(organizer_name__contains=term) | Q(place__contains=term)
        )

    def for_organization(self, org_ids):
        """Activities an organization led: its own, and its alliances' in the months it was on duty."""
        return self.filter(Q(organization__in=org_ids) | Q(duty_organization__in=org_ids))

    def with_counts(self):
        return self.annotate(
            confirmed_count=Count("registrations", filter=Q(registrations__status="confirmed")),
            waitlist_count=Count("registrations", filter=Q(registrations__status="waitlisted")),
            checked_in_count=Count("registrations", filter=Q(registrations__checked_in_at__isnull=False)),
        )


class Activity(models.Model):
    unit = models.ForeignKey(
        "hierarchy.OrgUnit",
        verbose_name=_("league committee"),
        on_delete=models.PROTECT,
        related_name="activities",
    )
    organizer_kind = models.CharField(_("organizer"), max_length=12, choices=OrganizerKind.choices)
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("organization"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
    )
    alliance = models.ForeignKey(
        "organizations.Alliance",
        verbose_name=_("alliance"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
    )
    duty_organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("duty society"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duty_activities",
        help_text=_("For an alliance activity: the council society on duty that leads it."),
    )
    community = models.ForeignKey(
        "groups.Community",
        verbose_name=_("community"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
    )
    #: The organizer's name when the activity was saved (kept if the organizer is deleted later).
    organizer_name = models.CharField(_("organizer"), max_length=100)

    title = models.CharField(_("title"), max_length=100)
    activity_type = models.CharField(_("type"), max_length=12, choices=ActivityType.choices)
    description = models.TextField(_("description"), blank=True)
    place = models.CharField(_("place"), max_length=200)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    registration_opens_at = models.DateTimeField(_("registration opens"), null=True, blank=True)
    registration_closes_at = models.DateTimeField(_("registration closes"), null=True, blank=True)
    cancel_cutoff_hours = models.PositiveSmallIntegerField(
        _("online cancellation until (hours before the start)"), default=default_cancel_cutoff
    )
    capacity = models.PositiveIntegerField(_("places"), null=True, blank=True)
    waitlist_enabled = models.BooleanField(_("waitlist when full"), default=True)
    waitlist_limit = models.PositiveIntegerField(_("waitlist size limit"), null=True, blank=True)
    audience = models.CharField(
        _("who may register"), max_length=10, choices=Audience.choices, default=Audience.OPEN
    )
    audience_unit = models.ForeignKey(
        "hierarchy.OrgUnit",
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    requires_resident_id = models.BooleanField(_("registration requires the resident ID"), default=False)
    extra_fields = models.JSONField(_("extra registration fields"), default=list, blank=True)
    questions = models.JSONField(_("own questions"), default=list, blank=True)
    volunteer_hours = models.BooleanField(_("earns volunteer hours"), default=True)
    late_after_minutes = models.PositiveSmallIntegerField(
        _("late after (minutes)"), default=default_late_after
    )

    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ActivityStatus.choices,
        default=ActivityStatus.DRAFT,
        db_index=True,
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=200, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    summary_updated_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(_("attendance settled"), null=True, blank=True)
    hours_confirmed_at = models.DateTimeField(_("hours confirmed"), null=True, blank=True)
    hours_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: Rotating these revokes the registration links / the check-in QR codes issued so far.
    link_nonce = models.CharField(max_length=16, default=new_nonce, editable=False)
    checkin_nonce = models.CharField(max_length=16, default=new_nonce, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-starts_at", "-id"]
        indexes = [
            models.Index(fields=["unit", "starts_at"], name="act_unit_start"),
            models.Index(fields=["community", "starts_at"], name="act_community_start"),
            models.Index(fields=["organization", "starts_at"], name="act_org_start"),
            models.Index(fields=["duty_organization", "starts_at"], name="act_duty_start"),
            models.Index(fields=["status", "ends_at"], name="act_status_end"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="act_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    # --- derived ----------------------------------------------------------------------------

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    @property
    def duration_hours(self) -> Decimal:
        return (Decimal(self.duration.total_seconds()) / 3600).quantize(Decimal("0.01"))

    @property
    def opens_at(self):
        return self.registration_opens_at or self.published_at or self.created_at

    @property
    def closes_at(self):
        return self.registration_closes_at or self.starts_at

    @property
    def cancel_deadline(self):
        return self.starts_at - timedelta(hours=self.cancel_cutoff_hours)

    @property
    def checkin_opens_at(self):
        return self.starts_at - timedelta(minutes=int(conf.get("ACTIVITY_CHECKIN_OPENS_MINUTES")))

    @property
    def checkin_closes_at(self):
        return self.ends_at + timedelta(minutes=int(conf.get("ACTIVITY_CHECKIN_CLOSES_MINUTES")))

    def phase(self, now=None) -> str:
        """draft | cancelled | upcoming (registration not open) | open | closed | ongoing | ended."""
        now = now or timezone.now()
        if self.status != ActivityStatus.PUBLISHED:
            return self.status
        if now >= self.ends_at:
            return "ended"
        if now >= self.starts_at:
            return "ongoing"
        if now < self.opens_at:
            return "upcoming"
        if now >= self.closes_at:
            return "closed"
        return "open"

    def registration_open(self, now=None) -> bool:
        return self.phase(now) == "open"

    @property
    def organizer(self):
        return {
            OrganizerKind.ORGANIZATION: self.organization,
            OrganizerKind.ALLIANCE: self.alliance,
            OrganizerKind.COMMUNITY: self.community,
        }.get(self.organizer_kind, self.unit)

    @property
    def map_url(self) -> str:
        """A map link (AMap's URI API opens the app on a phone or the web map elsewhere)."""
        if self.latitude is None or self.longitude is None:
            return ""
        from urllib.parse import quote

        return (
            f"https://uri.amap.com/marker?position={self.longitude},{self.latitude}"
            f"&name={quote(self.place)}&coordinate=wgs84&callnative=1"
        )

    def extra_field_labels(self) -> list[tuple[str, str]]:
        return [(key, EXTRA_FIELDS[key]) for key in self.extra_fields or [] if key in EXTRA_FIELDS]


class RegistrationStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    WAITLISTED = "waitlisted", _("Waitlisted")
    ON_LEAVE = "leave", _("On leave")
    CANCELLED = "cancelled", _("Cancelled")


#: Registrations that hold a place or wait for one.
LIVE_STATUSES = (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)


class LeaveStatus(models.TextChoices):
    NONE = "", _("None")
    PENDING = "pending", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Outcome(models.TextChoices):
    NONE = "", _("Not settled")
    ATTENDED = "attended", _("Attended")
    ABSENT = "absent", _("Unexcused absence")
    EXCUSED = "excused", _("Excused")


class CancelKind(models.TextChoices):
    SELF = "self", _("By the participant")
    STAFF = "staff", _("By staff")
    CREDIT = "credit", _("Credit rule")
    ACTIVITY = "activity", _("Activity cancelled")


class RegistrationSource(models.TextChoices):
    QR = "qr", _("QR code")
    LINK = "link", _("Link")
    GROUP = "group", _("Group message")
    STAFF = "staff", _("By staff")
    API = "api", _("API")


class CheckMethod(models.TextChoices):
    SELF_QR = "self_qr", _("Scanned the activity's code")
    STAFF_SCAN = "staff_scan", _("Staff scanned the ticket")
    MANUAL = "manual", _("Manual by staff")
    API = "api", _("API")


class RegistrationQuerySet(ScopedQuerySet):
    scope_field = "activity__unit"

    def live(self):
        return self.filter(status__in=LIVE_STATUSES)

    def confirmed(self):
        return self.filter(status=RegistrationStatus.CONFIRMED)

    def waitlisted(self):
        return self.filter(status=RegistrationStatus.WAITLISTED)

    def with_hours(self):
        """Registrations whose volunteer hours the organizer confirmed (and that are above zero)."""
        return self.filter(hours__gt=0, hours_confirmed_at__isnull=False, activity__volunteer_hours=True)

    def search(self, term: str):
        from tuanju.core.crypto import cipher

        term = "".join((term or "").split())[:40]
        if not term:
            return self
        if len(term) == 11 and term.isdigit():
            return self.filter(person__phone_bidx=cipher().blind_index(term))
        if len(term) == 4 and term.isdigit():
            return self.filter(person__phone_last4=term)
        if term.isascii() and term.isalpha():
            return self.filter(person__name_pinyin__startswith=term.lower())
        return self.filter(person__name__contains=term)


class Registration(models.Model):
    activity = models.ForeignKey(
        Activity, verbose_name=_("activity"), on_delete=models.CASCADE, related_name="registrations"
    )
    person = models.ForeignKey(
        "people.Person",
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="activity_registrations",
    )
    status = models.CharField(_("status"), max_length=10, choices=RegistrationStatus.choices)
    source = models.CharField(_("source"), max_length=8, choices=RegistrationSource.choices)
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    registered_at = models.DateTimeField(_("registered"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("place since"), null=True, blank=True)
    waitlisted_at = models.DateTimeField(_("waitlisted"), null=True, blank=True)
    promoted_at = models.DateTimeField(_("promoted from the waitlist"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancel_kind = models.CharField(_("cancelled how"), max_length=8, choices=CancelKind.choices, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    leave_status = models.CharField(_("leave"), max_length=8, choices=LeaveStatus.choices, blank=True)
    leave_reason = models.CharField(_("reason for leave"), max_length=200, blank=True)
    leave_requested_at = models.DateTimeField(_("leave requested"), null=True, blank=True)
    leave_decided_at = models.DateTimeField(_("leave decided"), null=True, blank=True)
    leave_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    leave_note = models.CharField(_("decision note"), max_length=200, blank=True)

    checked_in_at = models.DateTimeField(_("checked in"), null=True, blank=True)
    checkin_method = models.CharField(
        _("check-in by"), max_length=10, choices=CheckMethod.choices, blank=True
    )
    checked_out_at = models.DateTimeField(_("checked out"), null=True, blank=True)
    checkout_method = models.CharField(
        _("check-out by"), max_length=10, choices=CheckMethod.choices, blank=True
    )
    #: Minutes after the start at check-in, when later than the activity's grace period.
    late_minutes = models.PositiveIntegerField(_("late (minutes)"), null=True, blank=True)

    outcome = models.CharField(_("attendance"), max_length=8, choices=Outcome.choices, blank=True)
    settled_at = models.DateTimeField(_("settled"), null=True, blank=True)
    outcome_note = models.CharField(_("attendance note"), max_length=300, blank=True)

    hours_computed = models.DecimalField(
        _("hours (computed)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    hours = models.DecimalField(_("volunteer hours"), max_digits=5, decimal_places=2, null=True, blank=True)
    hours_confirmed_at = models.DateTimeField(_("hours confirmed"), null=True, blank=True)
    hours_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hours_note = models.CharField(_("hours note"), max_length=200, blank=True)

    #: Rotating it revokes the person's ticket link and ticket QR code.
    ticket_nonce = models.CharField(max_length=16, default=new_nonce, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by (staff)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = RegistrationQuerySet.as_manager()

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        ordering = ["registered_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "person"], name="act_one_registration_per_person"),
        ]
        indexes = [
            models.Index(fields=["activity", "status", "registered_at"], name="act_reg_activity_status"),
            models.Index(fields=["person", "outcome"], name="act_reg_person_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.person} → {self.activity}"

    @property
    def is_late(self) -> bool:
        return bool(self.late_minutes)


class CheckKind(models.TextChoices):
    IN = "in", _("Check-in")
    OUT = "out", _("Check-out")


class CheckInQuerySet(ScopedQuerySet):
    scope_field = "activity__unit"


class CheckIn(models.Model):
    """One check-in or check-out event (the log behind ``Registration.checked_in_at``…)."""

    activity = models.ForeignKey(
        Activity, verbose_name=_("activity"), on_delete=models.CASCADE, related_name="checkins"
    )
    registration = models.ForeignKey(
        Registration, verbose_name=_("registration"), on_delete=models.CASCADE, related_name="checkins"
    )
    kind = models.CharField(_("kind"), max_length=3, choices=CheckKind.choices)
    method = models.CharField(_("method"), max_length=10, choices=CheckMethod.choices)
    at = models.DateTimeField(_("time"))
    late_minutes = models.PositiveIntegerField(_("late (minutes)"), null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = CheckInQuerySet.as_manager()

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["activity", "at"], name="act_checkin_activity_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.registration_id} {self.at:%H:%M}"


class PhotoQuerySet(ScopedQuerySet):
    scope_field = "activity__unit"


class Photo(models.Model):
    """A picture of the activity's album (re-encoded JPEG without metadata)."""

    activity = models.ForeignKey(
        Activity, verbose_name=_("activity"), on_delete=models.CASCADE, related_name="photos"
    )
    image = models.FileField(_("photo"), upload_to="activities/%Y/%m/")
    caption = models.CharField(_("caption"), max_length=100, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    objects = PhotoQuerySet.as_manager()

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.caption or f"{self.activity} #{self.pk}"


class CreditBlockQuerySet(ScopedQuerySet):
    scope_field = "community__unit"

    def in_force(self):
        return self.filter(served_at__isnull=True, revoked_at__isnull=True)


class CreditBlock(models.Model):
    """One breach of a community's credit rule: ``absences`` (the activity ids of N consecutive
    unexcused absences, ``trigger`` the last of them) block the community's next activity
    (``blocked_activity``, fixed once known); served when that activity ends."""

    community = models.ForeignKey(
        "groups.Community",
        verbose_name=_("community"),
        on_delete=models.CASCADE,
        related_name="credit_blocks",
    )
    person = models.ForeignKey(
        "people.Person", verbose_name=_("person"), on_delete=models.CASCADE, related_name="credit_blocks"
    )
    trigger = models.ForeignKey(
        Activity, verbose_name=_("last absence"), on_delete=models.CASCADE, related_name="+"
    )
    trigger_starts_at = models.DateTimeField()
    absences = models.JSONField(_("absences"), default=list)
    limit = models.PositiveSmallIntegerField(_("limit"))
    blocked_activity = models.ForeignKey(
        Activity,
        verbose_name=_("blocked activity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    served_at = models.DateTimeField(_("served"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoke_reason = models.CharField(_("reason for revoking"), max_length=200, blank=True)

    objects = CreditBlockQuerySet.as_manager()

    class Meta:
        verbose_name = _("registration block")
        verbose_name_plural = _("registration blocks")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "trigger"],
                condition=Q(revoked_at__isnull=True),
                name="act_one_block_per_trigger",
            ),
        ]
        indexes = [models.Index(fields=["person", "community", "trigger_starts_at"], name="act_block_person")]

    def __str__(self) -> str:
        return f"{self.person} ⊘ {self.community}"

    @property
    def unit(self):
        return self.community.unit


class ProposalStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting the owner's decision")
    ACCEPTED = "accepted", _("Blacklisted")
    DISMISSED = "dismissed", _("Dismissed")


class ProposalQuerySet(ScopedQuerySet):
    scope_field = "community__unit"

    def pending(self):
        return self.filter(status=ProposalStatus.PENDING)


class BlacklistProposal(models.Model):
    """After repeated blocks, the system proposes the blacklist; the community's owner decides."""

    community = models.ForeignKey(
        "groups.Community",
        verbose_name=_("community"),
        on_delete=models.CASCADE,
        related_name="blacklist_proposals",
    )
    person = models.ForeignKey(
        "people.Person",
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="blacklist_proposals",
    )
    blocks = models.PositiveSmallIntegerField(_("blocks"))
    reason = models.CharField(_("reason"), max_length=300)
    status = models.CharField(
        _("status"), max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.PENDING
    )
    created_at = models.DateTimeField(_("proposed"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)

    objects = ProposalQuerySet.as_manager()

    class Meta:
        verbose_name = _("blacklist proposal")
        verbose_name_plural = _("blacklist proposals")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "person"],
                condition=Q(status="pending"),
                name="act_one_pending_proposal",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} → {self.community}"

    @property
    def unit(self):
        return self.community.unit
