from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "tuanju.demo"
    verbose_name = "Demo and benchmark data"
