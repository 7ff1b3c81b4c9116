import json

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tuanju.core.scope import ScopedQuerySet


class AuditEventQuerySet(ScopedQuerySet):
    scope_field = "unit"


class AuditEvent(models.Model):
    """Who did what to which object, when and from where. Rows are only ever appended."""

    ACTION_LABELS = {
        "create": _("Created"),
        "update": _("Updated"),
        "delete": _("Deleted"),
        "move": _("Moved"),
        "merge": _("Merged"),
        "rename": _("Renamed"),
        "view_pii": _("Viewed personal data"),
        "export": _("Exported"),
        "import": _("Imported"),
        "login": _("Logged in"),
        "logout": _("Logged out"),
        "login_failed": _("Login failed"),
        "locked_out": _("Locked out"),
        "token_issued": _("API token issued"),
        "load": _("Loaded reference data"),
    }

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(_("actor"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=30, db_index=True)
    object_type = models.CharField(_("object type"), max_length=60, blank=True, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    unit = models.ForeignKey(
        "hierarchy.OrgUnit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    details = models.JSONField(_("details"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"

    @property
    def action_label(self):
        return self.ACTION_LABELS.get(self.action, self.action.replace("_", " "))

    @property
    def object_type_label(self) -> str:
        """The model's human name ("person", "unit"…) rather than its internal label."""
        if not self.object_type:
            return ""
        try:
            return str(apps.get_model(self.object_type)._meta.verbose_name)
        except (LookupError, ValueError):
            return self.object_type

    @property
    def details_items(self) -> list[tuple[str, str]]:
        """Top-level details as (key, readable value) pairs for the log page."""
        items = []
        for key, value in (self.details or {}).items():
            if isinstance(value, dict | list):
                value = json.dumps(value, ensure_ascii=False)
            items.append((str(key), str(value)[:300]))
        return items
