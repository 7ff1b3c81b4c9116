from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tuanju.core"
    verbose_name = "Core"

    def ready(self):
        from tuanju.core import lookups  # noqa: F401 - registers path__subtree
