"""One set of roster filters shared by the list page, its export, the CLI export and the API."""

from __future__ import annotations

from django.db.models import Q

from tuanju.hierarchy.models import OrgUnit
from tuanju.people.models import Category, PoliticalStatus

SORTS = {
    "name": "name_pinyin",
    "-name": "-name_pinyin",
    "birth": "birth_date",
    "-birth": "-birth_date",
    "created": "created_at",
    "-created": "-created_at",
    "unit": "unit__path",
}


def _int(value, low=0, high=150):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def filter_people(people, params) -> object:
    """Apply the filters in ``params`` (a QueryDict or dict) to an already scoped queryset."""
    get = params.get
    if code := (get("unit") or "").strip():
        unit = OrgUnit.objects.filter(code=code[:32]).first()
        people = people.filter(unit__path__startswith=unit.path) if unit else people.none()
    if category := (get("category") or "").strip():
        cat = Category.objects.filter(Q(name=category[:40]) | Q(pk=_int(category, 0, 10**9) or 0)).first()
        people = people.filter(Q(category=cat) | Q(category__parent=cat)) if cat else people.none()
    if (status := get("political_status") or "") in PoliticalStatus.values:
        people = people.filter(political_status=status)
    if get("backbone") in ("1", "true", True):
        people = people.filter(is_backbone=True)
    if get("talent") in ("1", "true", True):
        people = people.filter(in_talent_pool=True)
    if tag := (get("tag") or "").strip():
        people = people.filter(tags__name=tag[:30])
    low, high = _int(get("min_age")), _int(get("max_age"))
    if low is not None or high is not None:
        people = people.aged_between(low, high)
    if term := (get("q") or "").strip():
        people = people.search(term)
    return people.order_by(SORTS.get(get("sort") or "", "unit__path"), "pk")
