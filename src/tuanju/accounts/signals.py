"""Login history goes to the audit log."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from tuanju.audit.actions import record


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    record(user, "login", user, request=request)


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        record(user, "logout", user, request=request)


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    record(
        None,
        "login_failed",
        None,
        request=request,
        details={"username": credentials.get("username", "")[:150]},
    )


@receiver(user_locked_out)
def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    record(None, "locked_out", None, request=request, details={"username": (username or "")[:150]})
