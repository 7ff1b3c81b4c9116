from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tuanju.core.scope import ScopedQuerySet


class ImportJobQuerySet(ScopedQuerySet):
    scope_field = "unit"


class ImportJob(models.Model):
    """One uploaded spreadsheet and its progress through a background import."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=20)
    unit = models.ForeignKey(
        "hierarchy.OrgUnit", verbose_name=_("unit"), on_delete=models.CASCADE, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    original_name = models.CharField(_("file"), max_length=200)
    stored_path = models.CharField(max_length=500)
    report_path = models.CharField(max_length=500, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    update_existing = models.BooleanField(_("update existing"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_estimate = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    notes = models.JSONField(default=list, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.original_name}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_estimate:
            return 0
        return min(99, int(self.rows_done * 100 / self.rows_estimate))

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
