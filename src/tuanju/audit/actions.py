"""Writing the audit trail. Every domain write and every view of personal data calls ``record``."""

from __future__ import annotations

import ipaddress

from django.conf import settings

from tuanju.audit.middleware import current_request
from tuanju.audit.models import AuditEvent


def _valid_ip(value: str) -> str | None:
    """``value`` if it is an IP address, else None: headers are client input, the column is typed."""
    value = (value or "").strip()
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return None
    return value


def _client_ip(request) -> str | None:
    if request is None:
        return None
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if ip := _valid_ip(forwarded.split(",")[0]):
            return ip
    return _valid_ip(request.META.get("REMOTE_ADDR", ""))


def _unit_of(obj):
    from tuanju.hierarchy.models import OrgUnit

    if isinstance(obj, OrgUnit):
        return obj
    return getattr(obj, "unit", None)


def record(
    actor, action: str, obj=None, *, unit=None, details: dict | None = None, request=None
) -> AuditEvent:
    """Append one audit event. ``unit`` defaults to the object's own unit, which scopes who sees it."""
    request = request or current_request()
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    unit = unit if unit is not None else (_unit_of(obj) if obj is not None else None)
    if unit is None and actor is not None:
        unit = getattr(actor, "unit", None)
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=(actor.get_username() if actor is not None else "")[:150],
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        unit=unit,
        details=details or {},
        ip=_client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else ""),
    )


def diff(before: dict, after: dict) -> dict:
    """The changed fields as {field: [old, new]}, for the audit details."""
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}
