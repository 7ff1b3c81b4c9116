"""Extension points that later apps plug into. Nothing here imports those apps.

Activities (C7)
    The "有活动" part of the 四有 check and the monthly duty (活动轮值) warning need to know
    which organizations held an activity and when. Until an activities app registers a source,
    both are *unknown*: the 四有 check is decided on the three criteria the data can show
    (leader, venue, members) and the activity criterion shows as "not counted yet"; duty
    months show "activity unknown" instead of a warning. The activities app registers in its
    ``AppConfig.ready()``::

        from tuanju.organizations import hooks

        class MyActivities:
            def active_since(self, since):             # -> QuerySet or iterable of organization ids
                return Activity.objects.filter(starts_at__date__gte=since).values("organization_id")

            def held_in_month(self, org_ids, month):   # month = first day of the month
                ...                                     # -> {organization id: [ActivityRef, …]}

        hooks.register_activity_source(MyActivities())

Alliance groups (C5/C6)
    The alliance page has a section for the alliance's messaging groups (社团群, 理事群, 总群).
    The groups app fills it by registering a panel function, called with the request and the
    alliance, that returns a ``Panel`` (or ``None`` to show nothing)::

        hooks.register_alliance_panel(lambda request, alliance: hooks.Panel(
            title="联盟群", template="groups/_alliance_groups.html", context={...}))

    Panels render in ``organizations/_alliance_groups.html`` (the ``alliance_groups`` block of the
    alliance page); each panel's template sees ``alliance``, ``panel`` and ``panel.context``. With
    no panel registered the section shows a placeholder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol


@dataclass(frozen=True)
class ActivityRef:
    """One activity as the organization pages show it."""

    title: str
    held_on: date
    url: str = ""


class ActivitySource(Protocol):
    def active_since(self, since: date) -> Iterable[int]:
        """Ids of the organizations with at least one activity on or after ``since``.

        May be a ``values("organization_id")`` queryset: it is used as a subquery.
        """

    def held_in_month(self, org_ids: Iterable[int], month: date) -> dict[int, list[ActivityRef]]:
        """The activities each of ``org_ids`` held in ``month`` (first day of the month)."""


@dataclass
class Panel:
    title: str
    template: str
    context: dict = field(default_factory=dict)


_activity_source: ActivitySource | None = None
_alliance_panels: list[Callable] = []


def register_activity_source(source: ActivitySource | None) -> None:
    """Install (or with ``None`` remove) the source of organizations' activities."""
    global _activity_source  # noqa: PLW0603 - one process-wide registry, set at start-up
    _activity_source = source


def activity_source() -> ActivitySource | None:
    return _activity_source


def active_since(since: date):
    """Organization ids active since ``since``, or ``None`` while no activity source exists."""
    return None if _activity_source is None else _activity_source.active_since(since)


def held_in_month(org_ids: Iterable[int], month: date) -> dict[int, list[ActivityRef]] | None:
    """Activities per organization in ``month``, or ``None`` (unknown) while no source exists."""
    return None if _activity_source is None else _activity_source.held_in_month(list(org_ids), month)


def register_alliance_panel(func: Callable) -> Callable:
    """Add a panel to the alliance page's groups section (usable as a decorator)."""
    if func not in _alliance_panels:
        _alliance_panels.append(func)
    return func


def unregister_alliance_panel(func: Callable) -> None:
    if func in _alliance_panels:
        _alliance_panels.remove(func)


def alliance_panels(request, alliance) -> list[Panel]:
    panels = []
    for func in _alliance_panels:
        panel = func(request, alliance)
        if panel is not None:
            panels.append(panel)
    return panels
