from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppealsConfig(AppConfig):
    name = "tuanju.appeals"
    verbose_name = _("Appeals and services")

    def ready(self):
        from tuanju.appeals.importing import HotlineSpec
        from tuanju.imports.actions import register

        register("hotline")(HotlineSpec)
