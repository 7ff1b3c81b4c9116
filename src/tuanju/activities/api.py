"""REST API of activities; ``register`` is called from tuanju/api_urls.py.

* ``/api/v1/activities/`` — activities of the caller's subtree (list with filters, detail).
* ``/api/v1/activities/{id}/registrations/`` — its registrations (personal data masked).
* ``/api/v1/activities/{id}/checkins/`` — ``GET`` the check-in log; ``POST`` checks someone in
  or out (a scanner app: ``{"scan_token": …}`` from the participant's QR code, or
  ``{"registration": id}``; ``"kind": "in" | "out"``). Writers and youth liaisons only.

A detail outside the caller's scope is a 404; lists are empty.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from tuanju.core.api import ScopedViewSetMixin
from tuanju.hierarchy.models import OrgUnit

from . import actions, tokens
from .models import Activity, ActivityType, CheckIn, CheckMethod, OrganizerKind, Registration

FILTERS = [
    OpenApiParameter("unit", str, description="Code of a unit whose subtree to list"),
    OpenApiParameter("organizer_kind", str, description="unit, organization, alliance or community"),
    OpenApiParameter(
        "type", str, description="volunteer, emergency, study, culture, social, practice, talk, other"
    ),
    OpenApiParameter("status", str, description="draft, published or cancelled"),
    OpenApiParameter("from", str, description="Starting on or after (YYYY-MM-DD)"),
    OpenApiParameter("to", str, description="Starting on or before (YYYY-MM-DD)"),
    OpenApiParameter(
        "organization", int, description="Organization id (its own and its alliance duty activities)"
    ),
    OpenApiParameter("community", int, description="Community id"),
    OpenApiParameter("q", str, description="Title, organizer or place"),
]


def _dt(value):
    return serializers.DateTimeField().to_representation(value) if value else None


class ActivitySerializer(serializers.Serializer):
    def to_representation(self, a: Activity) -> dict:
        data = {
            "id": a.pk,
            "title": a.title,
            "type": a.activity_type,
            "status": a.status,
            "phase": a.phase(),
            "organizer": {
                "kind": a.organizer_kind,
                "name": a.organizer_name,
                "organization": a.organization_id,
                "alliance": a.alliance_id,
                "duty_organization": a.duty_organization_id,
                "community": a.community_id,
            },
            "unit": a.unit.code,
            "unit_name": a.unit.name,
            "place": a.place,
            "latitude": str(a.latitude) if a.latitude is not None else None,
            "longitude": str(a.longitude) if a.longitude is not None else None,
            "starts_at": _dt(a.starts_at),
            "ends_at": _dt(a.ends_at),
            "registration_opens_at": _dt(a.opens_at),
            "registration_closes_at": _dt(a.closes_at),
            "cancel_deadline": _dt(a.cancel_deadline),
            "capacity": a.capacity,
            "waitlist": a.waitlist_enabled,
            "audience": a.audience,
            "volunteer_hours": a.volunteer_hours,
            "settled_at": _dt(a.settled_at),
            "hours_confirmed_at": _dt(a.hours_confirmed_at),
        }
        for key in ("confirmed_count", "waitlist_count", "checked_in_count"):
            if hasattr(a, key):
                data[key] = getattr(a, key)
        if self.context.get("detail"):
            data.update(
                description=a.description,
                requires_resident_id=a.requires_resident_id,
                extra_fields=a.extra_fields,
                questions=a.questions,
                late_after_minutes=a.late_after_minutes,
                summary=a.summary,
                photos=a.photos.count(),
            )
        return data


class RegistrationSerializer(serializers.Serializer):
    def to_representation(self, r: Registration) -> dict:
        person = r.person
        return {
            "id": r.pk,
            "person": r.person_id,
            "name": person.name,
            "phone": person.phone_masked,
            "unit": person.unit.code,
            "status": r.status,
            "source": r.source,
            "registered_at": _dt(r.registered_at),
            "promoted_at": _dt(r.promoted_at),
            "cancelled_at": _dt(r.cancelled_at),
            "cancel_kind": r.cancel_kind,
            "leave": {
                "status": r.leave_status,
                "reason": r.leave_reason,
                "requested_at": _dt(r.leave_requested_at),
            }
            if r.leave_status
            else None,
            "checked_in_at": _dt(r.checked_in_at),
            "checkin_method": r.checkin_method,
            "checked_out_at": _dt(r.checked_out_at),
            "late_minutes": r.late_minutes,
            "outcome": r.outcome,
            "hours_computed": str(r.hours_computed) if r.hours_computed is not None else None,
            "hours": str(r.hours) if r.hours is not None and r.hours_confirmed_at else None,
        }


class CheckInSerializer(serializers.Serializer):
    def to_representation(self, c: CheckIn) -> dict:
        return {
            "id": c.pk,
            "registration": c.registration_id,
            "name": c.registration.person.name,
            "kind": c.kind,
            "method": c.method,
            "at": _dt(c.at),
            "late_minutes": c.late_minutes,
            "by": c.by.get_username() if c.by_id else None,
            "note": c.note,
        }


class CheckInRequest(serializers.Serializer):
    registration = serializers.IntegerField(required=False, min_value=1)
    scan_token = serializers.CharField(required=False, max_length=500)
    kind = serializers.ChoiceField(choices=["in", "out"], default="in")
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)

    def validate(self, attrs):
        if not attrs.get("registration") and not attrs.get("scan_token"):
            raise serializers.ValidationError("请提供 registration 或 scan_token")
        return attrs


class CanCheckIn(permissions.BasePermission):
    message = "需要可签到的工作人员账号（干部、管理员或青春联络员）。"

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active and (user.is_superuser or user.unit_id)):
            return False
        return request.method in permissions.SAFE_METHODS or actions.can_check_in(user)


@extend_schema_view(list=extend_schema(parameters=FILTERS))
class ActivityViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Activities of the caller's subtree: organizer, time, place, registration rules and counts."""

    queryset = Activity.objects.select_related("unit")
    serializer_class = ActivitySerializer
    filter_backends: list = []

    def get_queryset(self):
        qs = super().get_queryset().with_counts()
        params = self.request.query_params
        if code := (params.get("unit") or "").strip()[:32]:
            unit = OrgUnit.objects.visible_to(self.request.user).filter(code=code).first()
            qs = qs.in_subtree(unit) if unit else qs.none()
        if params.get("organizer_kind") in OrganizerKind.values:
            qs = qs.filter(organizer_kind=params["organizer_kind"])
        if params.get("type") in ActivityType.values:
            qs = qs.filter(activity_type=params["type"])
        if params.get("status") in ("draft", "published", "cancelled"):
            qs = qs.filter(status=params["status"])
        if (org := params.get("organization", "")).isdigit():
            qs = qs.for_organization([int(org)])
        if (community := params.get("community", "")).isdigit():
            qs = qs.filter(community_id=int(community))
        for key, lookup in (("from", "starts_at__date__gte"), ("to", "starts_at__date__lte")):
            value = (params.get(key) or "").strip()[:10]
            if value:
                try:
                    qs = qs.filter(**{lookup: timezone.datetime.fromisoformat(value).date()})
                except ValueError:
                    return qs.none()
        return qs.search(params.get("q", "")).order_by("-starts_at", "-pk")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["detail"] = self.action == "retrieve"
        return context

    @extend_schema(
        parameters=[OpenApiParameter("status", str, description="confirmed, waitlisted, leave or cancelled")]
    )
    @action(detail=True, methods=["get"])
    def registrations(self, request, pk=None):
        activity = self.get_object()
        regs = activity.registrations.select_related("person", "person__unit").order_by("registered_at", "pk")
        if (value := request.query_params.get("status")) in ("confirmed", "waitlisted", "leave", "cancelled"):
            regs = regs.filter(status=value)
        page = self.paginate_queryset(regs)
        return self.get_paginated_response(RegistrationSerializer(page, many=True).data)

    @extend_schema(request=CheckInRequest)
    @action(detail=True, methods=["get", "post"], permission_classes=[CanCheckIn])
    def checkins(self, request, pk=None):
        activity = self.get_object()
        if request.method == "GET":
            rows = CheckIn.objects.filter(activity=activity).select_related("registration__person", "by")
            page = self.paginate_queryset(rows)
            return self.get_paginated_response(CheckInSerializer(page, many=True).data)
        if not actions.can_check_in(request.user):
            raise PermissionDenied
        body = CheckInRequest(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data.get("scan_token"):
            try:
                rid, nonce = tokens.read_scan(data["scan_token"])
            except tokens.TokenInvalid:
                return Response({"detail": tokens.TokenInvalid.message}, status=status.HTTP_400_BAD_REQUEST)
        else:
            rid, nonce = data["registration"], None
        reg = get_object_or_404(Registration.objects.select_related("person"), pk=rid, activity=activity)
        if nonce is not None and reg.ticket_nonce != nonce:
            return Response({"detail": tokens.TokenInvalid.message}, status=status.HTTP_400_BAD_REQUEST)
        reg.activity = activity
        note = data.get("note", "")
        method = CheckMethod.STAFF_SCAN if data.get("scan_token") else CheckMethod.API
        try:
            result = actions.check_in(reg, kind=data["kind"], method=method, actor=request.user, note=note)
        except actions.Refused as exc:
            return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_409_CONFLICT)
        return Response(
            {
                "done": result.done,
                "kind": result.kind,
                "at": _dt(result.at),
                "late_minutes": result.late_minutes,
                "hours_computed": str(result.hours) if result.hours is not None else None,
                "registration": RegistrationSerializer(result.registration).data,
            },
            status=status.HTTP_201_CREATED if result.done else status.HTTP_200_OK,
        )


def register(router) -> None:
    """Register this app's viewsets on the /api/v1/ router."""
    router.register("activities", ActivityViewSet, basename="activity")
