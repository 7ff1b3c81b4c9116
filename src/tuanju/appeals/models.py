"""C10: appeals (诉求, 接诉即办) and service stations (暖心驿站, 小哥加油站, 筑梦空间…).

Visibility
----------
Every model here is scoped by its unit like the rest of Tuanju, with one addition for
**partner departments** (人社、司法、民政、卫健…): a ``Department`` is bound to a unit, and a
staff account with ``user.department`` set is a department account. ``Appeal.objects.visible_to``
gives such an account exactly the appeals currently routed to its department — nothing by
unit, whatever ``user.unit`` says. Department accounts are created without a unit, so every
other model's ``visible_to`` (people, organizations, stations…) gives them nothing.
Unit-bound staff keep the usual subtree scope.
"""

from __future__ import annotations

import secrets
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tuanju.core.crypto import cipher, mask_phone
from tuanju.core.scope import ScopedQuerySet


def new_key() -> str:
    return secrets.token_urlsafe(12)[:16]


class DepartmentKind(models.TextChoices):
    HR = "hr", _("Human resources and social security")
    JUSTICE = "justice", _("Justice")
    CIVIL = "civil", _("Civil affairs")
    HEALTH = "health", _("Health")
    HOUSING = "housing", _("Housing")
    EDUCATION = "education", _("Education")
    POLICE = "police", _("Public security")
    MARKET = "market", _("Market regulation")
    TRANSPORT = "transport", _("Transport")
    UNION = "union", _("Trade union")
    WOMEN = "women", _("Women's federation")
    LEAGUE = "league", _("Youth league")
    OTHER = "other", _("Other")


class DepartmentQuerySet(ScopedQuerySet):
    scope_field = "unit"

    def routable_for(self, unit):
        """Departments an appeal of ``unit`` can be sent to: bound to the unit, an ancestor, or below it."""
        ancestors = [unit.path[:i] for i in range(unit.steplen, len(unit.path) + 1, unit.steplen)]
        return self.filter(is_active=True).filter(
            Q(unit__path__in=ancestors) | Q(unit__path__startswith=unit.path)
        )


class Department(models.Model):
    """A partner department (人社局、司法局…) that receives routed appeals and has its own accounts."""

    unit = models.ForeignKey(
        "hierarchy.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="departments"
    )
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(
        _("kind"), max_length=12, choices=DepartmentKind.choices, default=DepartmentKind.OTHER
    )
    contact_name = models.CharField(_("contact person"), max_length=30, blank=True)
    phone = models.CharField(_("office phone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = DepartmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("partner department")
        verbose_name_plural = _("partner departments")
        ordering = ["unit__path", "name"]
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="unique_department_per_unit")]

    def __str__(self) -> str:
        return self.name


class AppealCategory(models.Model):
    """Configurable appeal categories (seeded by a data migration; staff edit them in the UI)."""

    name = models.CharField(_("name"), max_length=20, unique=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    time_limit_days = models.PositiveSmallIntegerField(
        _("time limit (working days)"), default=5, help_text=_("Default deadline after assignment.")
    )
    department_kind = models.CharField(
        _("usual department"), max_length=12, choices=DepartmentKind.choices, blank=True
    )
    synonyms = models.CharField(
        _("synonyms"),
        max_length=300,
        blank=True,
        help_text=_("Other names used in 12345 exports, separated by commas."),
    )
    sort = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("appeal category")
        verbose_name_plural = _("appeal categories")
        ordering = ["sort", "id"]

    def __str__(self) -> str:
        return self.name

    def synonym_list(self) -> list[str]:
        return [
            s.strip() for s in self.synonyms.replace("，", ",").replace("、", ",").split(",") if s.strip()
        ]


class Status(models.TextChoices):
    RECEIVED = "received", _("Received")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    REPLIED = "replied", _("Replied")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = (Status.RECEIVED, Status.ASSIGNED, Status.IN_PROGRESS)
#: statuses with a running deadline
HANDLING_STATUSES = (Status.ASSIGNED, Status.IN_PROGRESS)


class Source(models.TextChoices):
    H5 = "h5", _("Phone (H5 form)")
    STAFF = "staff", _("Entered by staff")
    HOTLINE = "hotline", _("12345 hotline")
    STATION = "station", _("Service station")
    API = "api", _("API")


class Satisfaction(models.IntegerChoices):
    SATISFIED = 3, _("Satisfied")
    FAIR = 2, _("Basically satisfied")
    UNSATISFIED = 1, _("Unsatisfied")


class AppealQuerySet(ScopedQuerySet):
    scope_field = "unit"

    def visible_to(self, user):
        """Unit staff: the unit subtree. Department accounts: only what is routed to their department."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        department_id = getattr(user, "department_id", None)
        if department_id:
            return self.filter(department_id=department_id)
        return super().visible_to(user)

    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def handling(self):
        return self.filter(status__in=HANDLING_STATUSES)

    def overdue(self, today: date | None = None):
        today = today or timezone.localdate()
        return self.handling().filter(due_date__lt=today)

    def due_by(self, day: date):
        """Handling appeals whose deadline is ``day`` or earlier (not yet replied)."""
        return self.handling().filter(due_date__lte=day)

    def search(self, term: str):
        term = (term or "").strip()[:60]
        if not term:
            return self
        compact = term.replace(" ", "").upper()
        if compact.startswith("SQ") and compact[2:].isdigit() and len(compact) > 10:
            return self.filter(pk=int(compact[10:]))
        if len(compact) == 11 and compact.isdigit():
            return self.filter(phone_bidx=cipher().blind_index(compact))
        return self.filter(Q(hotline_number=term) | Q(title__contains=term) | Q(content__contains=term))


class Appeal(models.Model):
    """One work order (工单): what a young person asks for, who handles it, by when, and the outcome."""

    unit = models.ForeignKey(
        "hierarchy.OrgUnit",
        verbose_name=_("responsible unit"),
        on_delete=models.PROTECT,
        related_name="appeals",
        help_text=_("The unit responsible now; routing to a unit moves the appeal there."),
    )
    intake_unit = models.ForeignKey(
        "hierarchy.OrgUnit", verbose_name=_("received by"), on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("partner department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appeals",
    )
    station = models.ForeignKey(
        "appeals.Station",
        verbose_name=_("service station"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appeals",
    )
    category = models.ForeignKey(
        AppealCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="appeals"
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.STAFF)
    hotline_number = models.CharField(
        _("12345 work-order number"), max_length=40, null=True, blank=True, unique=True
    )
    hotline_category = models.CharField(_("12345 category"), max_length=60, blank=True)
    title = models.CharField(_("title"), max_length=100)
    content = models.TextField(_("content"))
    location = models.CharField(_("place"), max_length=200, blank=True)

    contact_name = models.CharField(_("name"), max_length=50, blank=True)
    phone_enc = models.BinaryField(_("phone (encrypted)"), null=True, blank=True, editable=False)
    phone_bidx = models.CharField(max_length=32, null=True, blank=True, db_index=True, editable=False)
    phone_masked = models.CharField(_("phone"), max_length=20, blank=True, editable=False)
    person = models.ForeignKey(
        "people.Person",
        verbose_name=_("person in the roster"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appeals",
    )
    is_anonymous = models.BooleanField(
        _("anonymous to the handler"),
        default=False,
        help_text=_("Name and phone are hidden from whoever handles the appeal."),
    )
    consent_version = models.CharField(_("privacy notice accepted"), max_length=20, blank=True)
    consent_at = models.DateTimeField(_("consent given"), null=True, blank=True)

    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED)
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    time_limit_days = models.PositiveSmallIntegerField(_("time limit (working days)"), null=True, blank=True)
    due_date = models.DateField(_("deadline"), null=True, blank=True, db_index=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    replied_at = models.DateTimeField(_("replied"), null=True, blank=True)
    reply_text = models.TextField(_("reply"), blank=True)
    replied_late = models.BooleanField(_("replied after the deadline"), default=False)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"), choices=Satisfaction.choices, null=True, blank=True
    )
    rating_comment = models.CharField(_("rating comment"), max_length=300, blank=True)
    rated_at = models.DateTimeField(_("rated"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    close_reason = models.CharField(_("closing note"), max_length=200, blank=True)
    access_key = models.CharField(max_length=16, default=new_key, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = AppealQuerySet.as_manager()

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "due_date"], name="appeal_status_due")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def number(self) -> str:
        """The work-order number shown to people and staff: SQ + date + id (no extra column to keep unique)."""
        if self.pk is None:
            return ""
        return f"SQ{timezone.localtime(self.received_at):%Y%m%d}{self.pk:07d}"

    def set_phone(self, phone: str) -> None:
        c = cipher()
        self.phone_enc = c.encrypt(phone) if phone else None
        self.phone_bidx = c.blind_index(phone) if phone else None
        self.phone_masked = mask_phone(phone) if phone else ""

    def reveal_phone(self) -> str:
        """Decrypt; callers audit-log the view (appeals.actions.reveal_contact does)."""
        return cipher().decrypt(self.phone_enc)

    @property
    def handler_name(self) -> str:
        return self.department.name if self.department_id else self.unit.name

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, today: date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.status in HANDLING_STATUSES and self.due_date is not None and self.due_date < today

    def is_near_due(self, today: date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.status in HANDLING_STATUSES and self.due_date is not None and self.due_date == today


class EventKind(models.TextChoices):
    RECEIVED = "received", _("Received")
    ASSIGNED = "assigned", _("Assigned")
    REASSIGNED = "reassigned", _("Reassigned")
    RETURNED = "returned", _("Returned")
    ACCEPTED = "accepted", _("Accepted")
    NOTE = "note", _("Note")
    REPLIED = "replied", _("Replied")
    RATED = "rated", _("Rated")
    REOPENED = "reopened", _("Reopened")
    CLOSED = "closed", _("Closed")
    REMINDED = "reminded", _("Reminder sent")


#: events a young person sees on the H5 status page
PUBLIC_EVENTS = (
    EventKind.RECEIVED,
    EventKind.ASSIGNED,
    EventKind.REASSIGNED,
    EventKind.ACCEPTED,
    EventKind.REPLIED,
    EventKind.RATED,
    EventKind.REOPENED,
    EventKind.CLOSED,
)


class AppealEventQuerySet(ScopedQuerySet):
    scope_field = "appeal__unit"


class AppealEvent(models.Model):
    """The work order's timeline: each step, who took it and when."""

    appeal = models.ForeignKey(
        Appeal, verbose_name=_("appeal"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("step"), max_length=12, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(_("by"), max_length=150, blank=True)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    handler = models.CharField(_("handler"), max_length=100, blank=True)
    note = models.TextField(_("note"), blank=True)
    at = models.DateTimeField(_("time"), default=timezone.now)

    objects = AppealEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("appeal step")
        verbose_name_plural = _("appeal steps")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.kind}"


def photo_path(instance, filename: str) -> str:
    now = timezone.localdate()
    return f"appeals/{now:%Y/%m}/{secrets.token_hex(12)}.jpg"


class AppealPhotoQuerySet(ScopedQuerySet):
    scope_field = "appeal__unit"


class AppealPhoto(models.Model):
    """A photo attached to an appeal: re-encoded as JPEG on upload (EXIF and GPS removed), served only through a scoped view."""

    appeal = models.ForeignKey(
        Appeal, verbose_name=_("appeal"), on_delete=models.CASCADE, related_name="photos"
    )
    image = models.FileField(_("photo"), upload_to=photo_path)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(default=0)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = AppealPhotoQuerySet.as_manager()

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.image.name


class NoticeKind(models.TextChoices):
    NEAR_DUE = "near_due", _("Deadline today")
    OVERDUE = "overdue", _("Overdue")
    ASSIGNED = "assigned", _("New assignment")
    REPLY = "reply", _("Reply to the person")


class NoticeChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class NoticeStatus(models.TextChoices):
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    NO_RECIPIENT = "no_recipient", _("No recipient")


class AppealNotificationQuerySet(ScopedQuerySet):
    scope_field = "appeal__unit"


class AppealNotification(models.Model):
    """Each reminder and notice sent about an appeal. One per (appeal, kind, channel, recipient, day):
    a retried task finds the row and does not send twice."""

    appeal = models.ForeignKey(
        Appeal, verbose_name=_("appeal"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=NoticeKind.choices)
    channel = models.CharField(_("channel"), max_length=6, choices=NoticeChannel.choices)
    recipient = models.CharField(_("recipient"), max_length=120)
    day = models.DateField(_("day"))
    status = models.CharField(_("status"), max_length=12, choices=NoticeStatus.choices)
    error = models.CharField(_("error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    objects = AppealNotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("appeal notification")
        verbose_name_plural = _("appeal notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["appeal", "kind", "channel", "recipient", "day"], name="unique_appeal_notice_per_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.kind} → {self.recipient}"


class CalendarDay(models.Model):
    """An override of the working-day calendar (a holiday or an adjusted working day the package
    does not know yet, e.g. next year's schedule right after the State Council publishes it)."""

    day = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'workday' if self.is_workday else 'holiday'}"


# --- Service stations ----------------------------------------------------------------------------


class StationKind(models.TextChoices):
    WARM = "warm", _("Warm-heart station (暖心驿站)")
    COURIER = "courier", _("Courier rest stop (小哥加油站)")
    DREAM = "dream", _("Dream space (筑梦空间)")
    YOUTH_HOME = "youth_home", _("Youth home (青年之家)")
    MOBILE_BRANCH = "mobile", _("Mobile league branch (流动团支部)")


class ServiceType(models.Model):
    """What a station offers (体检、义诊、理发、法律咨询…); configurable, seeded by a data migration."""

    name = models.CharField(_("name"), max_length=20, unique=True)
    tag = models.CharField(
        _("portrait tag"), max_length=20, blank=True, help_text=_("Need this service meets, for portraits.")
    )
    sort = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["sort", "id"]

    def __str__(self) -> str:
        return self.name


class StationQuerySet(ScopedQuerySet):
    scope_field = "unit"


class Station(models.Model):
    unit = models.ForeignKey(
        "hierarchy.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="stations"
    )
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=12, choices=StationKind.choices)
    address = models.CharField(_("address"), max_length=200)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    opening_hours = models.CharField(_("opening hours"), max_length=100, blank=True)
    services = models.ManyToManyField(
        ServiceType, verbose_name=_("services"), blank=True, related_name="stations"
    )
    host = models.CharField(
        _("run by"), max_length=100, blank=True, help_text=_("e.g. 市总工会、市妇联、团市委")
    )
    contact_name = models.CharField(_("contact person"), max_length=30, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    description = models.CharField(_("description"), max_length=500, blank=True)
    is_active = models.BooleanField(_("open"), default=True)
    checkin_nonce = models.CharField(max_length=16, default=new_key, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = StationQuerySet.as_manager()

    class Meta:
        verbose_name = _("service station")
        verbose_name_plural = _("service stations")
        ordering = ["unit__path", "name"]

    def __str__(self) -> str:
        return self.name


class RecordSource(models.TextChoices):
    QR = "qr", _("QR check-in")
    STAFF = "staff", _("Entered by staff")


class ServiceRecordQuerySet(ScopedQuerySet):
    scope_field = "unit"


class ServiceRecord(models.Model):
    """服务人次: people served at a station on a day (1 for a QR check-in; a count for staff entry)."""

    station = models.ForeignKey(
        Station, verbose_name=_("station"), on_delete=models.CASCADE, related_name="records"
    )
    unit = models.ForeignKey(
        "hierarchy.OrgUnit",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The station's unit, kept on the record so counts roll up in one grouped query."),
    )
    service = models.ForeignKey(
        ServiceType,
        verbose_name=_("service"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    served_on = models.DateField(_("date"), default=timezone.localdate, db_index=True)
    people_count = models.PositiveIntegerField(_("people served"), default=1)
    source = models.CharField(
        _("source"), max_length=6, choices=RecordSource.choices, default=RecordSource.STAFF
    )
    person = models.ForeignKey(
        "people.Person",
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    device_key = models.CharField(max_length=32, blank=True, editable=False)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    objects = ServiceRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("service record")
        verbose_name_plural = _("service records")
        ordering = ["-served_on", "-id"]
        indexes = [models.Index(fields=["station", "served_on"], name="service_station_day")]

    def __str__(self) -> str:
        return f"{self.station} {self.served_on} ×{self.people_count}"
