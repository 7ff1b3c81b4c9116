from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tuanju.core"
    verbose_name = "Core"
