"""The one set of group filters, shared by the list page, its export and the API."""

from __future__ import annotations

from tuanju.hierarchy.models import TOWER_LEVELS, OrgUnit

from .models import GroupKind, Platform, RobotStatus

LIST_KEYS = ("q", "unit", "kind", "level", "platform", "liaison", "robot", "sort")
SORTS = {
    "unit": "unit__path",
    "name": "name",
    "size": "-member_count",
    "-size": "member_count",
    "activity": "-last_activity_at",
    "liaisons": "liaison_count",
}


def filter_groups(groups, params):
    """The one set of group filters (list page, export, API)."""
    get = params.get
    if code := (get("unit") or "").strip():
        unit = OrgUnit.objects.filter(code=code[:32]).first()
        groups = groups.filter(unit__path__startswith=unit.path) if unit else groups.none()
    if (kind := get("kind") or "") in GroupKind.values:
        groups = groups.filter(kind=kind)
    if (level := get("level") or "") in [str(v) for v in TOWER_LEVELS]:
        groups = groups.filter(unit__level=level, kind=GroupKind.TOWER)
    if (platform := get("platform") or "") in Platform.values:
        groups = groups.filter(platform=platform)
    if get("liaison") == "none":
        groups = groups.filter(liaison_count=0)
    elif get("liaison") == "some":
        groups = groups.filter(liaison_count__gt=0)
    robot = get("robot") or ""
    if robot == "none":
        groups = groups.filter(webhook_url_enc__isnull=True)
    elif robot == RobotStatus.FAILING:
        groups = groups.filter(robot_status=RobotStatus.FAILING)
    elif robot == RobotStatus.OK:
        groups = groups.filter(robot_status=RobotStatus.OK)
    if term := (get("q") or "").strip():
        groups = groups.search(term)
    return groups.order_by(SORTS.get(get("sort") or "", "unit__path"), "pk")
