from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GroupsConfig(AppConfig):
    name = "tuanju.groups"
    verbose_name = _("Tower groups and interest communities")

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the counter-keeping receivers
