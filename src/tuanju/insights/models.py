"""C12 one-stop insight: precomputed figures, the weekly ledger (周台账) and its evaluation, tasks sent
down the hierarchy (任务下达、定期督导、及时反馈), the key-city checklist ("六个一") and publishing.

Derived tables
--------------
``UnitSnapshot`` (current figures of every unit's subtree) and ``PeriodStat`` (weekly and monthly
flows of the units down to the history level) are rebuilt by ``insights.aggregates`` from the
other apps' data. They hold a plain ``unit_id`` and a copy of the unit's path rather than a foreign
key: they are caches, and a foreign key would make the hierarchy's merge repoint (and collide on)
rows that the next refresh rebuilds anyway.

Unique keys and unit merges
---------------------------
``hierarchy.actions.merge_units`` repoints every foreign key to the merged unit. A unique constraint
that contains a unit (one ledger per unit and week, one assignment per task and unit…) would make
such a merge fail whenever both units have a row, so those keys are kept by the code that creates
rows (``get_or_create`` under the periodic task's lock) and served by plain indexes.
"""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tuanju.core.scope import ScopedQuerySet
from tuanju.hierarchy.models import Level


def new_key() -> str:
    return secrets.token_urlsafe(12)[:16]


def week_start(day) -> object:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


# --- Precomputed figures --------------------------------------------------------------------


class DerivedQuerySet(ScopedQuerySet):
    """Caches keyed by ``unit_id`` with a copy of the unit's path (see the module docstring)."""

    scope_field = ""

    def _path_lookup(self) -> str:
        return "path__startswith"


class UnitSnapshot(models.Model):
    """The current figures of one unit's subtree: additive counts keyed like ``people.total``."""

    unit_id = models.BigIntegerField(primary_key=True)
    path = models.CharField(max_length=255, db_index=True)
    depth = models.PositiveSmallIntegerField(default=0)
    data = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    objects = DerivedQuerySet.as_manager()

    class Meta:
        verbose_name = _("unit snapshot")
        verbose_name_plural = _("unit snapshots")

    def __str__(self) -> str:
        return f"{self.unit_id} @ {self.computed_at:%Y-%m-%d %H:%M}"


class Period(models.TextChoices):
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")


class PeriodStat(models.Model):
    """Flows of one unit's subtree in one week or month (new people, activities held, appeals…)."""

    unit_id = models.BigIntegerField()
    path = models.CharField(max_length=255)
    period = models.CharField(max_length=5, choices=Period.choices)
    start = models.DateField()
    data = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    objects = DerivedQuerySet.as_manager()

    class Meta:
        verbose_name = _("period figures")
        verbose_name_plural = _("period figures")
        constraints = [
            models.UniqueConstraint(fields=["unit_id", "period", "start"], name="insights_one_stat_per_period")
        ]
        indexes = [models.Index(fields=["path", "period", "start"], name="insights_stat_path")]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.period} {self.start}"


class RefreshRun(models.Model):
    """One refresh of the precomputed figures (periodic, on demand or from the command line)."""

    scope_code = models.CharField(_("scope"), max_length=32, blank=True)
    trigger = models.CharField(_("trigger"), max_length=10, default="periodic")
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    seconds = models.FloatField(_("seconds"), null=True, blank=True)
    units = models.PositiveIntegerField(_("units"), default=0)
    absent = models.JSONField(_("metrics not available"), default=list, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("figures refresh")
        verbose_name_plural = _("figures refreshes")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.scope_code or '*'} {self.started_at:%Y-%m-%d %H:%M}"


# --- Weekly ledger (周台账) -------------------------------------------------------------------


class LedgerSchema(models.Model):
    """Which units keep a weekly ledger (one schema per level), with which fields and by when."""

    level = models.CharField(_("level"), max_length=10, choices=Level.choices, unique=True)
    fields = models.JSONField(
        _("fields"),
        default=list,
        help_text=_("Keys of the standard fields, and custom figures as {key, label}."),
    )
    due_hours = models.PositiveSmallIntegerField(
        _("due (hours after the week ends)"), default=12, help_text=_("12 = Monday noon.")
    )
    is_active = models.BooleanField(_("in use"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("ledger schema")
        verbose_name_plural = _("ledger schemas")
        ordering = ["level"]

    def __str__(self) -> str:
        return self.get_level_display()

    def due_at(self, start) -> datetime:
        """When the ledger of the week starting ``start`` is due."""
        end = datetime.combine(start + timedelta(days=7), time.min)
        return timezone.make_aware(end + timedelta(hours=self.due_hours))


class LedgerStatus(models.TextChoices):
    OPEN = "open", _("Not submitted")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned for revision")


class LedgerQuerySet(ScopedQuerySet):
    scope_field = "unit"

    def missing(self, now=None):
        now = now or timezone.now()
        return self.exclude(status=LedgerStatus.SUBMITTED).filter(due_at__lt=now)

    def late(self):
        return self.filter(status=LedgerStatus.SUBMITTED, late=True)


class Ledger(models.Model):
    """One unit's weekly ledger: figures computed from the data, confirmed by a cadre with text."""

    unit = models.ForeignKey(
        "hierarchy.OrgUnit", verbose_name=_("unit"), on_delete=models.CASCADE, related_name="ledgers"
    )
    week_start = models.DateField(_("week"))
    status = models.CharField(
        _("status"), max_length=10, choices=LedgerStatus.choices, default=LedgerStatus.OPEN
    )
    figures = models.JSONField(_("computed figures"), default=dict, blank=True)
    manual = models.JSONField(_("reported figures"), default=dict, blank=True)
    highlights = models.TextField(_("highlights"), blank=True)
    problems = models.TextField(_("problems"), blank=True)
    due_at = models.DateTimeField(_("due"))
    computed_at = models.DateTimeField(_("computed"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    late = models.BooleanField(_("late"), default=False)
    return_reason = models.CharField(_("reason for returning"), max_length=300, blank=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("weekly ledger")
        verbose_name_plural = _("weekly ledgers")
        ordering = ["-week_start", "unit__path"]
        indexes = [
            models.Index(fields=["unit", "week_start"], name="insights_ledger_unit_week"),
            models.Index(fields=["week_start", "status"], name="insights_ledger_week"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.week_start}"

    @property
    def week_end(self):
        return self.week_start + timedelta(days=6)

    @property
    def is_missing(self) -> bool:
        return self.status != LedgerStatus.SUBMITTED and self.due_at < timezone.now()

    def value(self, key: str):
        if key in self.manual:
            return self.manual[key]
        return self.figures.get(key)


# --- Evaluation and ranking -----------------------------------------------------------------


class ScoringScheme(models.Model):
    """How a unit scores and ranks the units below it at one level, and when one is lagging."""

    unit = models.ForeignKey(
        "hierarchy.OrgUnit",
        verbose_name=_("ranking unit"),
        on_delete=models.CASCADE,
        related_name="scoring_schemes",
    )
    level = models.CharField(_("ranked level"), max_length=10, choices=Level.choices)
    name = models.CharField(_("name"), max_length=60)
    weights = models.JSONField(_("weights"), default=dict)
    threshold = models.FloatField(_("lagging below this score"), default=60)
    bottom_share = models.FloatField(_("lagging share at the bottom"), default=0.10)
    is_active = models.BooleanField(_("in use"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("scoring scheme")
        verbose_name_plural = _("scoring schemes")
        ordering = ["unit__path", "level"]

    def __str__(self) -> str:
        return self.name


class EvaluationQuerySet(ScopedQuerySet):
    scope_field = "unit"


class Evaluation(models.Model):
    """One ranked unit's score in one week under one scheme."""

    scheme = models.ForeignKey(
        ScoringScheme, verbose_name=_("scheme"), on_delete=models.CASCADE, related_name="evaluations"
    )
    unit = models.ForeignKey(
        "hierarchy.OrgUnit", verbose_name=_("unit"), on_delete=models.CASCADE, related_name="evaluations"
    )
    period_start = models.DateField(_("week"))
    score = models.FloatField(_("score"))
    rank = models.PositiveIntegerField(_("rank"))
    total = models.PositiveIntegerField(_("of"))
    lagging = models.BooleanField(_("lagging"), default=False)
    values = models.JSONField(_("criteria"), default=dict)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    objects = EvaluationQuerySet.as_manager()

    class Meta:
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        ordering = ["-period_start", "rank"]
        indexes = [
            models.Index(fields=["scheme", "period_start"], name="insights_eval_scheme_week"),
            models.Index(fields=["unit", "period_start"], name="insights_eval_unit_week"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.period_start} {self.score:.1f}"


# --- Tasks down the hierarchy ---------------------------------------------------------------


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class TaskQuerySet(ScopedQuerySet):
    scope_field = "unit"

    def visible_to(self, user):
        """Tasks sent from the user's subtree, and tasks sent to a unit of it."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        unit = getattr(user, "unit", None)
        if unit is None:
            return self.none()
        received = TaskAssignment.objects.filter(task=OuterRef("pk"), unit__path__startswith=unit.path)
        return self.filter(Q(unit__path__startswith=unit.path) | Exists(received))


class Task(models.Model):
    unit = models.ForeignKey(
        "hierarchy.OrgUnit", verbose_name=_("sent by"), on_delete=models.CASCADE, related_name="sent_tasks"
    )
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    deadline = models.DateTimeField(_("deadline"))
    required_figures = models.JSONField(
        _("figures to report"), default=list, blank=True, help_text=_("[{key, label, unit}]")
    )
    remind_days = models.PositiveSmallIntegerField(
        _("remind this many days before the deadline"), default=2
    )
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sent by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.status == TaskStatus.OPEN and self.deadline < timezone.now()


def attachment_path(instance, filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower()[:8] if "." in filename else "bin"
    return f"insights/{timezone.localdate():%Y/%m}/{secrets.token_hex(12)}.{suffix}"


class TaskAttachment(models.Model):
    task = models.ForeignKey(Task, verbose_name=_("task"), on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=attachment_path)
    name = models.CharField(_("name"), max_length=150)
    size = models.PositiveIntegerField(_("size"), default=0)
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class AssignmentStatus(models.TextChoices):
    PENDING = "pending", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")


class AssignmentQuerySet(ScopedQuerySet):
    scope_field = "unit"

    def overdue(self, now=None):
        now = now or timezone.now()
        return self.exclude(status=AssignmentStatus.DONE).filter(
            task__deadline__lt=now, task__status=TaskStatus.OPEN
        )


class TaskAssignment(models.Model):
    """The task as one receiving unit has it: its progress, figures and evidence."""

    task = models.ForeignKey(Task, verbose_name=_("task"), on_delete=models.CASCADE, related_name="assignments")
    unit = models.ForeignKey(
        "hierarchy.OrgUnit", verbose_name=_("unit"), on_delete=models.CASCADE, related_name="task_assignments"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=AssignmentStatus.choices, default=AssignmentStatus.PENDING
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    figures = models.JSONField(_("reported figures"), default=dict, blank=True)
    read_at = models.DateTimeField(_("first opened"), null=True, blank=True)
    last_report_at = models.DateTimeField(_("last report"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("task assignment")
        verbose_name_plural = _("task assignments")
        ordering = ["task", "unit__path"]
        indexes = [models.Index(fields=["task", "unit"], name="insights_assignment_task_unit")]

    def __str__(self) -> str:
        return f"{self.task} → {self.unit}"

    @property
    def is_overdue(self) -> bool:
        return (
            self.status != AssignmentStatus.DONE
            and self.task.status == TaskStatus.OPEN
            and self.task.deadline < timezone.now()
        )

    @property
    def done_late(self) -> bool:
        return self.done_at is not None and self.done_at > self.task.deadline


class TaskReportQuerySet(ScopedQuerySet):
    scope_field = "assignment__unit"


class TaskReport(models.Model):
    """A progress report of one receiving unit (figures so far, a note, evidence files)."""

    assignment = models.ForeignKey(
        TaskAssignment, verbose_name=_("assignment"), on_delete=models.CASCADE, related_name="reports"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"))
    figures = models.JSONField(_("figures"), default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)
    marked_done = models.BooleanField(_("marked done"), default=False)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    objects = TaskReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.assignment} {self.progress}%"


class TaskEvidenceQuerySet(ScopedQuerySet):
    scope_field = "assignment__unit"


class TaskEvidence(models.Model):
    assignment = models.ForeignKey(
        TaskAssignment, verbose_name=_("assignment"), on_delete=models.CASCADE, related_name="evidence"
    )
    report = models.ForeignKey(
        TaskReport, null=True, blank=True, on_delete=models.SET_NULL, related_name="evidence"
    )
    file = models.FileField(_("file"), upload_to=attachment_path)
    name = models.CharField(_("name"), max_length=150)
    size = models.PositiveIntegerField(_("size"), default=0)
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = TaskEvidenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class CommentKind(models.TextChoices):
    SUPERVISION = "supervision", _("Supervision")
    FEEDBACK = "feedback", _("Feedback")


class TaskCommentQuerySet(ScopedQuerySet):
    scope_field = "assignment__unit"


class TaskComment(models.Model):
    """督导 from the sending side and 反馈 from the receiving side, threaded per receiving unit."""

    assignment = models.ForeignKey(
        TaskAssignment, verbose_name=_("assignment"), on_delete=models.CASCADE, related_name="comments"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=CommentKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_unit = models.ForeignKey(
        "hierarchy.OrgUnit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    objects = TaskCommentQuerySet.as_manager()

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.assignment_id}"


class ReminderKind(models.TextChoices):
    DUE_SOON = "due_soon", _("Deadline approaching")
    OVERDUE = "overdue", _("Overdue")


class TaskReminder(models.Model):
    """A reminder sent to a receiving unit; one per assignment, kind and day (retries never resend)."""

    assignment = models.ForeignKey(TaskAssignment, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=10, choices=ReminderKind.choices)
    day = models.DateField()
    recipients = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("task reminder")
        verbose_name_plural = _("task reminders")
        constraints = [
            models.UniqueConstraint(fields=["assignment", "kind", "day"], name="insights_one_reminder_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id} {self.kind} {self.day}"


# --- Key-city checklist ("六个一") ------------------------------------------------------------


class ChecklistTemplate(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("checklist")
        verbose_name_plural = _("checklists")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ChecklistItem(models.Model):
    template = models.ForeignKey(
        ChecklistTemplate, verbose_name=_("checklist"), on_delete=models.CASCADE, related_name="items"
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    title = models.CharField(_("item"), max_length=60)
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["template", "position", "id"]

    def __str__(self) -> str:
        return self.title


class ChecklistTargetQuerySet(ScopedQuerySet):
    scope_field = "unit"


class ChecklistTarget(models.Model):
    """A unit tracked against a checklist (e.g. one of the 72 key cities)."""

    template = models.ForeignKey(
        ChecklistTemplate, verbose_name=_("checklist"), on_delete=models.CASCADE, related_name="targets"
    )
    unit = models.ForeignKey(
        "hierarchy.OrgUnit", verbose_name=_("unit"), on_delete=models.CASCADE, related_name="checklists"
    )
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    objects = ChecklistTargetQuerySet.as_manager()

    class Meta:
        verbose_name = _("tracked unit")
        verbose_name_plural = _("tracked units")
        ordering = ["template", "unit__path"]
        indexes = [models.Index(fields=["template", "unit"], name="insights_target_unit")]

    def __str__(self) -> str:
        return f"{self.template} · {self.unit}"


class EntryStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    VERIFIED = "verified", _("Verified")


class ChecklistEntryQuerySet(ScopedQuerySet):
    scope_field = "target__unit"


class ChecklistEntry(models.Model):
    target = models.ForeignKey(
        ChecklistTarget, verbose_name=_("tracked unit"), on_delete=models.CASCADE, related_name="entries"
    )
    item = models.ForeignKey(ChecklistItem, verbose_name=_("item"), on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        _("status"), max_length=12, choices=EntryStatus.choices, default=EntryStatus.NOT_STARTED
    )
    note = models.TextField(_("evidence and notes"), blank=True)
    evidence = models.FileField(_("evidence file"), upload_to=attachment_path, blank=True)
    evidence_name = models.CharField(max_length=150, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(_("updated"), null=True, blank=True)

    objects = ChecklistEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("checklist entry")
        verbose_name_plural = _("checklist entries")
        ordering = ["target", "item__position"]
        constraints = [models.UniqueConstraint(fields=["target", "item"], name="insights_one_entry_per_item")]

    def __str__(self) -> str:
        return f"{self.target} {self.item}"


# --- Publishing -----------------------------------------------------------------------------


class PublicationKind(models.TextChoices):
    NOTICE = "notice", _("Notice")
    CASE = "case", _("Typical case")
    PRACTICE = "practice", _("Good practice")


class PublicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class PublicationQuerySet(ScopedQuerySet):
    scope_field = "unit"

    def visible_to(self, user):
        """What the user's subtree published, and what was published to it from above."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        unit = getattr(user, "unit", None)
        if unit is None:
            return self.none()
        ancestors = [unit.path[:i] for i in range(unit.steplen, len(unit.path), unit.steplen)]
        from_above = Q(unit__path__in=ancestors, status=PublicationStatus.PUBLISHED)
        return self.filter(Q(unit__path__startswith=unit.path) | from_above)

    def published(self):
        return self.filter(status=PublicationStatus.PUBLISHED)


class Publication(models.Model):
    """A notice or a showcase published by a unit to its subtree (optionally on a public H5 page)."""

    unit = models.ForeignKey(
        "hierarchy.OrgUnit", verbose_name=_("published by"), on_delete=models.CASCADE, related_name="publications"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=PublicationKind.choices, default=PublicationKind.NOTICE)
    title = models.CharField(_("title"), max_length=120)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    body = models.TextField(_("text"))
    status = models.CharField(
        _("status"), max_length=10, choices=PublicationStatus.choices, default=PublicationStatus.DRAFT
    )
    is_public = models.BooleanField(
        _("also on a public page"), default=False, help_text=_("Anyone with the link can read it on a phone.")
    )
    public_key = models.CharField(max_length=16, default=new_key, editable=False, db_index=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = PublicationQuerySet.as_manager()

    class Meta:
        verbose_name = _("publication")
        verbose_name_plural = _("publications")
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return self.title


class ReadReceiptQuerySet(ScopedQuerySet):
    scope_field = "unit"


class ReadReceipt(models.Model):
    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey("hierarchy.OrgUnit", null=True, on_delete=models.SET_NULL, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    objects = ReadReceiptQuerySet.as_manager()

    class Meta:
        verbose_name = _("read receipt")
        verbose_name_plural = _("read receipts")
        ordering = ["-read_at"]
        constraints = [models.UniqueConstraint(fields=["publication", "user"], name="insights_read_once")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.publication_id}"
