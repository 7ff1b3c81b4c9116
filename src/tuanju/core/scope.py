"""The one visibility restriction.

A staff user is bound to one unit and sees only that unit's subtree. Every queryset a user
sees (UI lists and details, API, exports, search, charts, admin) is built with
``Model.objects.visible_to(user)``; nothing else decides scope.

Models declare where their unit lives with ``scope_field`` (a lookup path to an ``OrgUnit``
foreign key, or ``""`` for ``OrgUnit`` itself). The subtree test is a prefix match on the
unit's materialized path, which both databases answer from a b-tree index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from tuanju.hierarchy.models import OrgUnit


class ScopedQuerySet(models.QuerySet):
    #: lookup path from this model to its OrgUnit ("" when the model is OrgUnit).
    scope_field = "unit"

    def _path_lookup(self) -> str:
        field = getattr(self.model, "scope_field", self.scope_field)
        return f"{field}__path__subtree" if field else "path__subtree"

    def in_subtree(self, unit: OrgUnit) -> ScopedQuerySet:
        return self.filter(**{self._path_lookup(): unit.path})

    def visible_to(self, user) -> ScopedQuerySet:
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        unit = getattr(user, "unit", None)
        if unit is None:
            return self.none()
        return self.in_subtree(unit)


class ScopedManager(models.Manager.from_queryset(ScopedQuerySet)):
    pass


def user_sees_unit(user, unit: OrgUnit | None) -> bool:
    """True when ``unit`` lies in the subtree the user may see."""
    if unit is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    home = getattr(user, "unit", None)
    return home is not None and unit.path.startswith(home.path)
