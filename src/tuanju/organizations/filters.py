"""One set of organization filters shared by the list page, its export, the CLI export and the API."""

from __future__ import annotations

from tuanju.hierarchy.models import OrgUnit
from tuanju.organizations.models import FourHave, OrgType, RegistrationStatus

SORTS = {
    "name": "name_pinyin",
    "-name": "-name_pinyin",
    "founded": "founded_on",
    "-founded": "-founded_on",
    "members": "member_count",
    "-members": "-member_count",
    "created": "created_at",
    "-created": "-created_at",
    "unit": "unit__path",
}
FILTER_KEYS = (
    "q",
    "unit",
    "type",
    "registration",
    "four_have",
    "missing",
    "tag",
    "incubation",
    "cloud",
    "league",
    "state",
    "sort",
)
TRUE = ("1", "true", "on", True)


def filter_organizations(organizations, params):
    """Apply the filters in ``params`` (a QueryDict or dict) to an already scoped queryset.

    The result carries the 四有 annotations (``member_count``, ``four_have``…).
    """
    get = params.get
    orgs = organizations.with_four_have()
    if code := (get("unit") or "").strip():
        unit = OrgUnit.objects.filter(code=code[:32]).first()
        orgs = orgs.filter(unit__path__startswith=unit.path) if unit else orgs.none()
    if kind := str(get("type") or "").strip():
        type_ = OrgType.objects.filter(name=kind[:20]).first()
        if type_ is None and kind.isdigit():
            type_ = OrgType.objects.filter(pk=int(kind)).first()
        orgs = orgs.filter(org_type=type_) if type_ else orgs.none()
    if (status := get("registration") or "") in RegistrationStatus.values:
        orgs = orgs.filter(registration_status=status)
    four_have = get("four_have") or ""
    if four_have == "pass":
        orgs = orgs.filter(four_have=True)
    elif four_have == "fail":
        orgs = orgs.filter(four_have=False)
    if (missing := get("missing") or "") in FourHave.ALL:
        orgs = orgs.failing_criterion(missing)
    if tag := (get("tag") or "").strip():
        orgs = orgs.filter(tags__name=tag[:30])
    if get("incubation") in TRUE:
        orgs = orgs.filter(is_incubation_base=True)
    if get("cloud") in TRUE:
        orgs = orgs.filter(is_cloud_resident=True)
    if get("league") in TRUE:
        orgs = orgs.filter(is_league_affiliated=True)
    state = get("state") or "active"
    if state == "active":
        orgs = orgs.filter(is_active=True)
    elif state == "inactive":
        orgs = orgs.filter(is_active=False)
    if term := (get("q") or "").strip():
        orgs = orgs.search(term)
    return orgs.order_by(SORTS.get(get("sort") or "", "unit__path"), "name_pinyin", "pk")


def describe(params) -> dict:
    """The filters in ``params`` for the audit log."""
    return {key: str(params.get(key))[:50] for key in FILTER_KEYS if params.get(key) not in (None, "")}
