from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "tuanju.activities"
    verbose_name = _("Activities")

    def ready(self) -> None:
        # The 四有 "有活动" criterion and the alliance duty board read activities from here.
        from tuanju.organizations import hooks

        from .hooks import ActivitySource

        hooks.register_activity_source(ActivitySource())
