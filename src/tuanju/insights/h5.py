"""Public mobile pages (H5) of the notices and showcases a unit chose to make public. No login."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from tuanju.hierarchy.models import OrgUnit

from .models import Publication, PublicationStatus


def _public():
    return Publication.objects.filter(status=PublicationStatus.PUBLISHED, is_public=True).select_related("unit")


@require_GET
@cache_control(public=True, max_age=300)
def public_detail(request, key: str):
    publication = get_object_or_404(_public(), public_key=key[:16])
    return render(request, "insights/h5/detail.html", {"publication": publication})


@require_GET
@cache_control(public=True, max_age=300)
def public_list(request, code: str):
    """A unit's public page: what it and the units above it made public."""
    unit = OrgUnit.objects.filter(code=code[:32]).first()
    if unit is None:
        raise Http404
    ancestors = [unit.path[:i] for i in range(unit.steplen, len(unit.path) + 1, unit.steplen)]
    items = _public().filter(unit__path__in=ancestors).order_by("-published_at")[:50]
    return render(request, "insights/h5/list.html", {"unit": unit, "items": items})
