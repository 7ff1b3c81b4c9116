"""REST API of directives; ``register`` is called from tuanju/api_urls.py.

* ``/api/v1/directives/`` — list (scoped to the caller's subtree; ``?q=``, ``?status=``,
  ``?urgency=``), create (a draft, sent at once unless ``"submit": false``; approval rules as in
  the UI), detail with the reach counts (``?unit=CODE`` narrows them to a unit), ``approve`` and
  ``close``.
* ``/api/v1/directive-acks/`` — public (no login), for a mini-program or an app: ``POST
  {"token": …, "action": "ack" | "open" | "signup"}`` with the personal link's token.
  Rate-limited like the H5 link.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from tuanju.core.api import ScopedViewSetMixin
from tuanju.groups import ratelimit
from tuanju.groups.models import Community
from tuanju.hierarchy.models import TOWER_LEVELS, OrgUnit
from tuanju.organizations.models import Alliance, Organization

from . import actions, conf, links, reach
from .models import Directive, Receipt, Status, TargetKind, Urgency
from .reach import totals_dict
from .tokens import read_receipt_token


class TargetSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TargetKind.choices)
    unit = serializers.CharField(
        required=False, allow_blank=True, help_text="Unit code (unit, level, people)"
    )
    levels = serializers.ListField(
        child=serializers.ChoiceField(choices=[(lv, lv) for lv in TOWER_LEVELS]), required=False
    )
    community = serializers.IntegerField(required=False)
    organization = serializers.IntegerField(required=False)
    alliance = serializers.IntegerField(required=False)
    filters = serializers.DictField(required=False)


class DirectiveInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=100)
    body = serializers.CharField(max_length=2000)
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    image_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    attachment_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    require_ack = serializers.BooleanField(default=True)
    signup_enabled = serializers.BooleanField(default=False)
    signup_quota = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    signup_note = serializers.CharField(required=False, allow_blank=True, max_length=200)
    use_robots = serializers.BooleanField(default=True)
    use_sms = serializers.BooleanField(default=False)
    use_email = serializers.BooleanField(default=False)
    targets = TargetSerializer(many=True)
    submit = serializers.BooleanField(default=True)


def directive_data(directive: Directive, *, detail: bool = False, request=None) -> dict:
    data = {
        "id": directive.pk,
        "title": directive.title,
        "urgency": directive.urgency,
        "status": directive.status,
        "unit": directive.unit.code,
        "unit_name": directive.unit.name,
        "service_seconds": directive.sla_seconds,
        "require_ack": directive.require_ack,
        "signup": {
            "enabled": directive.signup_enabled,
            "quota": directive.signup_quota,
            "count": directive.signup_count,
        },
        "created_at": directive.created_at,
        "sent_at": directive.sent_at,
        "attempted_at": directive.attempted_at,
        "planned": {
            "groups": directive.planned_groups,
            "people": directive.planned_people,
            "messages": directive.planned_messages,
            "seconds": directive.plan_seconds,
        },
        "reach": directive.reach_totals or None,
    }
    if detail:
        data["body"] = directive.body
        data["image_url"] = directive.image_url
        data["attachment_url"] = directive.attachment_url
        data["targets"] = [{"kind": t.kind, "label": t.label} for t in directive.targets.all()]
        data["channels"] = {
            "robots": directive.use_robots,
            "sms": directive.use_sms,
            "email": directive.use_email,
        }
    return data


def _specs(user, rows: list[dict]) -> list[actions.TargetSpec]:
    specs = []
    for row in rows:
        unit = None
        if row.get("unit"):
            unit = OrgUnit.objects.visible_to(user).filter(code=row["unit"]).first()
            if unit is None:
                raise ApiValidationError({"targets": f"您的管辖范围内没有编码为“{row['unit']}”的单位"})
        spec = actions.TargetSpec(
            row["kind"], unit=unit, levels=tuple(row.get("levels") or ()), filters=row.get("filters")
        )
        for key, model in (("community", Community), ("organization", Organization), ("alliance", Alliance)):
            if row.get(key):
                obj = model.objects.visible_to(user).filter(pk=row[key]).first()
                if obj is None:
                    raise ApiValidationError({"targets": f"找不到 {key} {row[key]}"})
                setattr(spec, key, obj)
        specs.append(spec)
    return specs


class DirectiveViewSet(
    ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    queryset = Directive.objects.select_related("unit").order_by("-created_at", "-id")
    serializer_class = DirectiveInputSerializer
    filter_backends: list = []

    def get_queryset(self):
        qs = super().get_queryset()
        params = self.request.query_params
        qs = qs.search(params.get("q", ""))
        if params.get("status") in Status.values:
            qs = qs.filter(status=params["status"])
        if params.get("urgency") in Urgency.values:
            qs = qs.filter(urgency=params["urgency"])
        return qs

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([directive_data(d) for d in page])

    @extend_schema(
        parameters=[OpenApiParameter("unit", str, description="Narrow the reach to this unit (code)")]
    )
    def retrieve(self, request, *args, **kwargs):
        directive = self.get_object()
        data = directive_data(directive, detail=True)
        if directive.planned_at is not None:
            root = directive.unit
            code = request.query_params.get("unit")
            if code:
                root = (
                    OrgUnit.objects.visible_to(request.user)
                    .filter(code=code, path__startswith=directive.unit.path)
                    .first()
                )
                if root is None:
                    raise NotFound("unit")
            result = reach.cached(directive, root)
            data["reach"] = {
                "unit": root.code,
                "computed_at": result.computed_at,
                "total": totals_dict(result.total),
                "children": [
                    {"unit": r.unit.code, "name": r.unit.name, **totals_dict(r.tally)}
                    for r in result.children
                ],
                "by_level": [{"level": lv, **totals_dict(t)} for lv, _label, t in result.by_level],
                "sla": {k: v for k, v in reach.sla_state(directive).items() if k != "deadline"},
            }
        return Response(data)

    def create(self, request, *args, **kwargs):
        serializer = DirectiveInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        targets = _specs(request.user, data.pop("targets"))
        submit = data.pop("submit")
        try:
            directive = actions.save_directive(Directive(), data=data, targets=targets, actor=request.user)
            if submit:
                actions.submit(directive, actor=request.user)
        except ValidationError as exc:
            raise ApiValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            ) from exc
        except PermissionDenied as exc:
            raise ApiPermissionDenied(str(exc)) from exc
        directive.refresh_from_db()
        return Response(directive_data(directive, detail=True), status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        directive = self.get_object()
        try:
            actions.approve(directive, actor=request.user, note=str(request.data.get("note", "")))
        except ValidationError as exc:
            raise ApiValidationError(exc.messages) from exc
        except PermissionDenied as exc:
            raise ApiPermissionDenied(str(exc)) from exc
        directive.refresh_from_db()
        return Response(directive_data(directive, detail=True))

    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        directive = self.get_object()
        try:
            actions.close(directive, actor=request.user)
        except ValidationError as exc:
            raise ApiValidationError(exc.messages) from exc
        except PermissionDenied as exc:
            raise ApiPermissionDenied(str(exc)) from exc
        return Response(directive_data(directive, detail=True))


class AckSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=40)
    action = serializers.ChoiceField(
        choices=[("ack", "ack"), ("open", "open"), ("signup", "signup")], default="ack"
    )


class AckViewSet(viewsets.GenericViewSet):
    """Public acknowledgement through a personal link's token (no login)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    serializer_class = AckSerializer

    def create(self, request):
        limits = conf.get("ACK_LIMITS")
        decision = ratelimit.hit("mob-ip", ratelimit.client_ip(request), ratelimit.Limit.parse(limits["ip"]))
        if not decision.allowed:
            return Response(
                {"error": "too many requests"}, status=429, headers={"Retry-After": str(decision.retry_after)}
            )
        serializer = AckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = serializer.validated_data["token"]
        receipt_id = read_receipt_token(token)
        if receipt_id is None:
            raise NotFound("链接无效")
        decision = ratelimit.hit("mob-link", token, ratelimit.Limit.parse(limits["link"]))
        if not decision.allowed:
            return Response(
                {"error": "too many requests"}, status=429, headers={"Retry-After": str(decision.retry_after)}
            )
        what = serializer.validated_data["action"]
        try:
            if what == "open":
                actions.mark_opened(receipt_id)
                result = {"opened": True}
            elif what == "signup":
                receipt = Receipt.objects.filter(pk=receipt_id).first()
                if receipt is None:
                    raise NotFound("链接无效")
                receipt = actions.sign_up(receipt)
                result = {"signed_up": receipt.signed_up_at is not None}
            else:
                ack = actions.acknowledge(receipt_id, via="api")
                result = {"acknowledged": True, "first": ack.created}
        except actions.AckRefused as exc:
            return Response({"ok": False, "error": exc.message}, status=exc.status)
        return Response({"ok": True, "link": links.receipt_link(receipt_id), **result})


def register(router) -> None:
    """Register this app's viewsets on the /api/v1/ router."""
    router.register("directives", DirectiveViewSet, basename="directive")
    router.register("directive-acks", AckViewSet, basename="directive-ack")
