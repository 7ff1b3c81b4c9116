"""REST API of the star rating; ``register`` is called from tuanju/api_urls.py.

``/api/v1/liaison-ratings/`` — ratings of the caller's subtree (``?period=month|quarter|year``,
``?start=YYYY-MM``, ``?unit=CODE``, ``?stars=N`` for N stars and above), with the breakdown and
the benefits granted.
"""

from __future__ import annotations

from rest_framework import serializers

from tuanju.core.api import ScopedReadOnlyViewSet
from tuanju.hierarchy.models import OrgUnit

from .models import LiaisonRating, PeriodKind, period_bounds


class RatingSerializer(serializers.Serializer):
    def to_representation(self, r: LiaisonRating) -> dict:
        return {
            "id": r.pk,
            "liaison": r.name,
            "kind": "person" if r.person_id else "staff",
            "person": r.person_id,
            "user": r.user_id,
            "unit": r.unit.code,
            "period": r.period,
            "period_start": r.period_start.isoformat(),
            "groups": r.groups,
            "score": r.score,
            "stars": r.stars,
            "formula": r.formula.version,
            "metrics": r.metrics,
            "points": r.points,
            "benefits": [g.benefit.code for g in r.grants.all() if g.revoked_at is None],
        }


class RatingViewSet(ScopedReadOnlyViewSet):
    queryset = LiaisonRating.objects.select_related("unit", "formula").prefetch_related("grants__benefit")
    serializer_class = RatingSerializer
    filter_backends: list = []

    def get_queryset(self):
        qs = super().get_queryset()
        params = self.request.query_params
        if params.get("period") in PeriodKind.values:
            qs = qs.filter(period=params["period"])
            start = params.get("start", "")
            if start:
                from datetime import date

                try:
                    year, month = (int(x) for x in start.split("-")[:2])
                    qs = qs.filter(period_start=period_bounds(params["period"], date(year, month, 1))[0])
                except ValueError:
                    return qs.none()
        if params.get("unit"):
            unit = OrgUnit.objects.visible_to(self.request.user).filter(code=params["unit"]).first()
            qs = qs.in_subtree(unit) if unit else qs.none()
        if params.get("stars", "").isdigit():
            qs = qs.filter(stars__gte=int(params["stars"]))
        return qs.order_by("-period_start", "-score", "pk")


def register(router) -> None:
    """Register this app's viewsets on the /api/v1/ router."""
    router.register("liaison-ratings", RatingViewSet, basename="liaison-rating")
