from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.db.models.functions import Lower
from django.shortcuts import render
from django.utils import timezone

from tuanju.audit.models import AuditEvent
from tuanju.core.views import paginate


def _day(value: str, end: bool = False):
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


@login_required
def event_list(request):
    events = AuditEvent.objects.visible_to(request.user).select_related("unit")
    params = {
        key: request.GET.get(key, "").strip()[:100]
        for key in ("actor", "action", "object_type", "object_id", "since", "until")
    }
    if params["actor"]:
        # Lower() rather than __icontains, which SQLite's case_sensitive_like makes case-sensitive.
        events = events.alias(actor_lower=Lower("actor_name")).filter(
            actor_lower__contains=params["actor"].lower()
        )
    if params["action"]:
        events = events.filter(action=params["action"])
    if params["object_type"]:
        events = events.filter(object_type=params["object_type"])
    if params["object_id"]:
        events = events.filter(object_id=params["object_id"])
    if since := _day(params["since"]):
        events = events.filter(at__gte=since)
    if until := _day(params["until"], end=True):
        events = events.filter(at__lte=until)
    context = {
        "page_obj": paginate(request, events),
        "params": params,
        "actions": sorted(AuditEvent.ACTION_LABELS.items(), key=lambda kv: kv[0]),
    }
    return render(request, "audit/list.html", context)
