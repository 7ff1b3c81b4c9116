"""REST API of the insight app; ``register`` is called from tuanju/api_urls.py.

* ``/api/v1/insights/summary/?unit=CODE`` — the precomputed figures of a unit (default: the
  caller's) and of each child; 404 for a unit outside the caller's subtree.
* ``/api/v1/ledgers/`` — weekly ledgers of the caller's subtree (``?unit=CODE&week=YYYY-MM-DD&status=``).
* ``/api/v1/tasks/`` — tasks sent from or to the caller's subtree, with only the assignments the
  caller may see (``?status=open|closed``).
"""

from __future__ import annotations

from datetime import date

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from tuanju.core.api import ScopedReadOnlyViewSet
from tuanju.hierarchy.models import OrgUnit

from . import dashboard
from .models import Ledger, Task, TaskAssignment, week_start


class SummaryViewSet(viewsets.ViewSet):
    @extend_schema(
        parameters=[OpenApiParameter("unit", str, description="Unit code (default: your unit)")],
        responses={200: dict},
    )
    def list(self, request):
        units = OrgUnit.objects.visible_to(request.user)
        code = request.query_params.get("unit", "").strip()[:32]
        unit = get_object_or_404(units, code=code) if code else (request.user.unit or units.filter(depth=1).first())
        if unit is None:
            return Response({"detail": "no unit"}, status=404)
        return Response(dashboard.summary(unit))


class LedgerSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    missing = serializers.BooleanField(source="is_missing", read_only=True)

    class Meta:
        model = Ledger
        fields = [
            "id",
            "unit_code",
            "unit_name",
            "week_start",
            "status",
            "figures",
            "manual",
            "highlights",
            "problems",
            "due_at",
            "submitted_at",
            "late",
            "missing",
        ]


class LedgerViewSet(ScopedReadOnlyViewSet):
    serializer_class = LedgerSerializer
    queryset = Ledger.objects.select_related("unit").order_by("-week_start", "unit__path")

    @extend_schema(
        parameters=[
            OpenApiParameter("unit", str, description="Code of a unit whose subtree to list"),
            OpenApiParameter("week", str, description="A day of the week (YYYY-MM-DD)"),
            OpenApiParameter("status", str, description="open, submitted or returned"),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        qs = super().get_queryset()
        params = self.request.query_params
        if code := params.get("unit", "").strip()[:32]:
            unit = OrgUnit.objects.filter(code=code).first()
            qs = qs.filter(unit__path__startswith=unit.path) if unit else qs.none()
        if week := params.get("week", "")[:10]:
            try:
                qs = qs.filter(week_start=week_start(date.fromisoformat(week)))
            except ValueError:
                qs = qs.none()
        if status := params.get("status", ""):
            qs = qs.filter(status=status[:10])
        return qs


class AssignmentSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    overdue = serializers.BooleanField(source="is_overdue", read_only=True)

    class Meta:
        model = TaskAssignment
        fields = ["id", "unit_code", "unit_name", "status", "progress", "figures", "last_report_at", "done_at", "overdue"]


class TaskSerializer(serializers.ModelSerializer):
    sender_code = serializers.CharField(source="unit.code", read_only=True)
    sender_name = serializers.CharField(source="unit.name", read_only=True)
    assignments = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "description",
            "sender_code",
            "sender_name",
            "deadline",
            "status",
            "required_figures",
            "created_at",
            "assignments",
        ]

    def get_assignments(self, task) -> list[dict]:
        request = self.context["request"]
        rows = TaskAssignment.objects.visible_to(request.user).filter(task=task).select_related("unit", "task")
        return AssignmentSerializer(rows.order_by("unit__path"), many=True).data


class TaskViewSet(ScopedReadOnlyViewSet):
    serializer_class = TaskSerializer
    queryset = Task.objects.select_related("unit").order_by("-created_at")

    def get_queryset(self):
        qs = super().get_queryset()
        if (status := self.request.query_params.get("status", "")) in ("open", "closed"):
            qs = qs.filter(status=status)
        return qs


def register(router) -> None:
    """Register this app's viewsets on the /api/v1/ router."""
    router.register("insights/summary", SummaryViewSet, basename="insights-summary")
    router.register("ledgers", LedgerViewSet, basename="ledger")
    router.register("tasks", TaskViewSet, basename="task")
