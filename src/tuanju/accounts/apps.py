from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "tuanju.accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from tuanju.accounts import signals  # noqa: F401
