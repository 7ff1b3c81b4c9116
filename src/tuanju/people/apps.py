from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "tuanju.people"
    verbose_name = _("Youth roster")

    def ready(self):
        from tuanju.people import actions  # noqa: F401 - registers the roster import
