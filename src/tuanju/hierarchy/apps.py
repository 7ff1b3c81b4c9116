from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HierarchyConfig(AppConfig):
    name = "tuanju.hierarchy"
    verbose_name = _("Organization hierarchy")
