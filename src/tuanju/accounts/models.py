from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from tuanju.core.scope import ScopedQuerySet


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    CADRE = "cadre", _("League cadre")
    LIAISON = "liaison", _("Youth liaison")
    VIEWER = "viewer", _("Read-only")


#: Roles that may create and change records in their subtree.
WRITER_ROLES = {Role.ADMIN, Role.CADRE}


class StaffQuerySet(ScopedQuerySet):
    scope_field = "unit"


class StaffManager(UserManager.from_queryset(StaffQuerySet)):
    pass


class User(AbstractUser):
    """A staff account, bound to one unit whose subtree it sees."""

    unit = models.ForeignKey(
        "hierarchy.OrgUnit",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.VIEWER)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    # A partner department's account (人社、司法…): it sees only the appeals routed to its
    # department (appeals.models.AppealQuerySet.visible_to) and is created without a unit, so
    # every other scoped queryset gives it nothing.
    department = models.ForeignKey(
        "appeals.Department",
        verbose_name=_("partner department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
    )

    objects = StaffManager()

    class Meta:
        verbose_name = _("staff account")
        verbose_name_plural = _("staff accounts")

    @property
    def can_write(self) -> bool:
        return self.is_superuser or self.role in WRITER_ROLES

    @property
    def can_manage_units(self) -> bool:
        return self.is_superuser or self.role == Role.ADMIN

    @property
    def can_unmask(self) -> bool:
        return self.is_superuser or self.role in settings.TUANJU["UNMASK_ROLES"]

    @property
    def is_department_user(self) -> bool:
        return self.department_id is not None

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username
