"""One set of appeal filters shared by the list page, its export and the API."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from tuanju.appeals.models import HANDLING_STATUSES, AppealCategory, Department, Source, StationKind, Status
from tuanju.appeals.workdays import WorkCalendar
from tuanju.hierarchy.models import OrgUnit

FILTER_KEYS = (
    "status",
    "category",
    "source",
    "department",
    "unit",
    "due",
    "q",
    "since",
    "until",
    "sort",
    "rated",
)
SORTS = {
    "received": "received_at",
    "-received": "-received_at",
    "due": "due_date",
    "-due": "-due_date",
    "status": "status",
}


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _date(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def filter_appeals(appeals, params, *, today: date | None = None):
    """Apply ``params`` (QueryDict or dict) to an already scoped queryset."""
    get = params.get
    today = today or timezone.localdate()
    if (status := get("status") or "") in Status.values:
        appeals = appeals.filter(status=status)
    elif status == "open":
        appeals = appeals.open()
    if category := _int(get("category")):
        appeals = appeals.filter(category_id=category)
    if (source := get("source") or "") in Source.values:
        appeals = appeals.filter(source=source)
    if department := _int(get("department")):
        appeals = appeals.filter(department_id=department)
    if code := (get("unit") or "").strip():
        unit = OrgUnit.objects.filter(code=code[:32]).first()
        appeals = appeals.filter(unit__path__startswith=unit.path) if unit else appeals.none()
    due = get("due") or ""
    if due == "overdue":
        appeals = appeals.overdue(today)
    elif due == "near":
        horizon = WorkCalendar().next_workday(today)
        appeals = appeals.filter(status__in=HANDLING_STATUSES, due_date__gte=today, due_date__lte=horizon)
    elif due == "late":
        appeals = appeals.filter(replied_late=True)
    rated = get("rated") or ""
    if rated.isdigit():
        appeals = appeals.filter(satisfaction=int(rated))
    if since := _date(get("since")):
        appeals = appeals.filter(received_at__date__gte=since)
    if until := _date(get("until")):
        end = timezone.make_aware(datetime.combine(until + timedelta(days=1), time.min))
        appeals = appeals.filter(received_at__lt=end)
    if term := (get("q") or "").strip():
        appeals = appeals.search(term)
    return appeals.order_by(SORTS.get(get("sort") or "", "-received_at"), "-pk")


def choices_context(user) -> dict:
    """The options of the filter bar."""
    return {
        "statuses": Status.choices,
        "sources": Source.choices,
        "categories": AppealCategory.objects.all(),
        "departments": Department.objects.visible_to(user).order_by("name")
        if not user.department_id
        else Department.objects.filter(pk=user.department_id),
    }


STATION_FILTER_KEYS = ("kind", "unit", "q", "active")


def filter_stations(stations, params):
    get = params.get
    if (kind := get("kind") or "") in StationKind.values:
        stations = stations.filter(kind=kind)
    if code := (get("unit") or "").strip():
        unit = OrgUnit.objects.filter(code=code[:32]).first()
        stations = stations.filter(unit__path__startswith=unit.path) if unit else stations.none()
    if term := (get("q") or "").strip()[:40]:
        stations = stations.filter(name__contains=term) | stations.filter(address__contains=term)
    if get("active") == "0":
        stations = stations.filter(is_active=False)
    elif get("active") == "1":
        stations = stations.filter(is_active=True)
    return stations.order_by("unit__path", "name", "pk")
