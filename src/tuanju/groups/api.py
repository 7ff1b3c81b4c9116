"""REST API of groups and communities; ``register`` is called from tuanju/api_urls.py.

* ``/api/v1/groups/`` — tower, organization and alliance groups of the caller's subtree (list,
  detail, ``members``), and ``/api/v1/groups/coverage/?unit=CODE``. Robot webhooks are never
  output: only whether one is configured and its state.
* ``/api/v1/communities/`` — communities of the caller's subtree (list, detail, ``members``).
* ``/api/v1/communities/join/`` — public (no login), for a mini-program or an app: ``GET
  ?token=`` describes the community an invite token opens, ``POST`` joins. Rate-limited per IP
  and per phone like the H5 page; the token is the signed, expiring invite.

Personal data goes out masked.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from tuanju.core.api import ScopedViewSetMixin
from tuanju.core.crypto import cipher
from tuanju.hierarchy.models import OrgUnit
from tuanju.imports import normalize

from . import actions, ratelimit
from .coverage import coverage
from .filters import filter_groups
from .h5 import community_for_token
from .models import ChatGroup, Community, CommunityMember, MemberStatus
from .tokens import InviteExpired, InviteInvalid

GROUP_FILTERS = [
    OpenApiParameter("unit", str, description="Code of a unit whose subtree to list"),
    OpenApiParameter(
        "kind", str, description="tower, organization, alliance_members, alliance_council, alliance_all…"
    ),
    OpenApiParameter("level", str, description="tier1, tier2 or tier3 (tower groups)"),
    OpenApiParameter("platform", str, description="wework, wechat, dingtalk, feishu, qq"),
    OpenApiParameter("liaison", str, description="none: groups without a liaison; some: with one"),
    OpenApiParameter("robot", str, description="ok, failing or none"),
    OpenApiParameter("q", str, description="Group or unit name, or unit code prefix"),
    OpenApiParameter("sort", str, description="unit, name, size, -size, activity, liaisons"),
]


class LiaisonSerializer(serializers.Serializer):
    def to_representation(self, liaison) -> dict:
        return {
            "id": liaison.pk,
            "kind": "staff" if liaison.user_id else "person",
            "user": liaison.user_id,
            "person": liaison.person_id,
            "name": liaison.display_name,
            "note": liaison.note,
            "since": liaison.since.isoformat(),
        }


class ChatGroupSerializer(serializers.Serializer):
    def to_representation(self, group: ChatGroup) -> dict:
        data = {
            "id": group.pk,
            "kind": group.kind,
            "name": group.name,
            "unit": group.unit.code,
            "unit_name": group.unit.name,
            "level": group.unit.level if group.kind == "tower" else None,
            "parent": group.parent_id,
            "ref_type": group.ref_type,
            "ref_id": group.ref_id,
            "platform": group.platform,
            "external_id": group.external_id,
            "external_name": group.external_name,
            "robot": {
                "configured": group.has_robot,
                "status": group.robot_status,
                "error": group.robot_error,
                "checked_at": serializers.DateTimeField().to_representation(group.robot_checked_at)
                if group.robot_checked_at
                else None,
            },
            "owner": group.owner_name,
            "member_count": group.member_count,
            "placed_count": group.placed_count,
            "liaison_count": group.liaison_count,
            "last_activity_at": serializers.DateTimeField().to_representation(group.last_activity_at)
            if group.last_activity_at
            else None,
            "created_at": serializers.DateTimeField().to_representation(group.created_at),
        }
        if self.context.get("detail"):
            data["liaisons"] = LiaisonSerializer(
                group.liaisons.select_related("user", "person").order_by("since", "pk"), many=True
            ).data
        return data


class GroupMemberSerializer(serializers.Serializer):
    def to_representation(self, member) -> dict:
        person = member.person
        return {
            "id": member.pk,
            "person": member.person_id,
            "name": person.name,
            "unit": person.unit.code,
            "phone": person.phone_masked,
            "joined_on": member.joined_on.isoformat(),
            "source": member.source,
            "home": member.is_primary,
        }


@extend_schema_view(list=extend_schema(parameters=GROUP_FILTERS))
class ChatGroupViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Groups of the caller's subtree: tower groups (one per tier-1/2/3 unit) and organization groups."""

    queryset = ChatGroup.objects.select_related("unit", "owner_user", "owner_person")
    serializer_class = ChatGroupSerializer
    filter_backends = []  # groups.filters.filter_groups is the one set of filters
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        groups = super().get_queryset()
        if self.action == "list":
            groups = filter_groups(groups, self.request.query_params)
        return groups

    def retrieve(self, request, *args, **kwargs):
        group = self.get_object()
        return Response(ChatGroupSerializer(group, context={"detail": True}).data)

    @extend_schema(responses=GroupMemberSerializer(many=True))
    @action(detail=True, methods=["get"])
    def members(self, request, pk=None):
        """The group's members (personal data masked), home members first."""
        group = self.get_object()
        members = group.members.select_related("person", "person__unit").order_by("-is_primary", "pk")
        page = self.paginate_queryset(members)
        data = GroupMemberSerializer(page if page is not None else members, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(
        parameters=[OpenApiParameter("unit", str, description="Unit code (default: the caller's unit)")]
    )
    @action(detail=False, methods=["get"])
    def coverage(self, request):
        """Tower coverage of a unit: groups vs units, people in groups vs roster, liaisons, gaps per child."""
        code = (request.query_params.get("unit") or "").strip()[:32]
        units = OrgUnit.objects.visible_to(request.user)
        if code:
            unit = get_object_or_404(units, code=code)
        elif request.user.unit_id:
            unit = request.user.unit
        else:
            unit = get_object_or_404(units.order_by("path")[:1])
        return Response(coverage(unit).as_dict())


class CommunitySerializer(serializers.Serializer):
    def to_representation(self, c: Community) -> dict:
        data = {
            "id": c.pk,
            "name": c.name,
            "category": c.category.name,
            "unit": c.unit.code,
            "unit_name": c.unit.name,
            "description": c.description,
            "requires_resident_id": c.requires_resident_id,
            "requires_approval": c.requires_approval,
            "is_open": c.is_open,
            "max_members": c.max_members,
            "absence_limit": c.absence_limit,
            "charter_version": c.charter_version,
            "member_count": getattr(c, "active_count", None),
            "pending_count": getattr(c, "pending_count", None),
            "chat_group": c.chat_group_id,
            "created_at": serializers.DateTimeField().to_representation(c.created_at),
        }
        if self.context.get("detail"):
            data["charter"] = c.charter
        return data


class CommunityMemberSerializer(serializers.Serializer):
    def to_representation(self, m: CommunityMember) -> dict:
        return {
            "id": m.pk,
            "person": m.person_id,
            "name": m.person.name,
            "phone": m.person.phone_masked,
            "role": m.role,
            "status": m.status,
            "source": m.source,
            "matched_roster": m.matched_roster,
            "applied_at": serializers.DateTimeField().to_representation(m.applied_at),
            "joined_at": serializers.DateTimeField().to_representation(m.joined_at) if m.joined_at else None,
        }


class JoinSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=500)
    name = serializers.CharField(max_length=50)
    phone = serializers.CharField(max_length=20)
    resident_id = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    accept_charter = serializers.BooleanField()
    charter_version = serializers.IntegerField(required=False, allow_null=True)


class CommunityViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Interest communities of the caller's subtree. ``join`` is the public endpoint."""

    queryset = Community.objects.select_related("unit", "category")
    serializer_class = CommunitySerializer
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]
    filterset_fields = ["category", "is_open"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return super().get_queryset().with_counts().order_by("unit__path", "name")

    def retrieve(self, request, *args, **kwargs):
        return Response(CommunitySerializer(self.get_object(), context={"detail": True}).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status", str, description="active (default), pending, rejected, left, removed, all"
            )
        ],
        responses=CommunityMemberSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def members(self, request, pk=None):
        community = self.get_object()
        members = community.members.select_related("person").order_by("role", "pk")
        wanted = request.query_params.get("status", MemberStatus.ACTIVE)
        if wanted != "all":
            members = members.filter(status=wanted if wanted in MemberStatus.values else MemberStatus.ACTIVE)
        page = self.paginate_queryset(members)
        data = CommunityMemberSerializer(page if page is not None else members, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(
        parameters=[OpenApiParameter("token", str, description="GET: the invite token to describe")],
        request=JoinSerializer,
        auth=[],
    )
    @action(
        detail=False,
        methods=["get", "post"],
        permission_classes=[AllowAny],
        authentication_classes=[],
        filter_backends=[],
        pagination_class=None,
    )
    def join(self, request):
        """Public. GET ``?token=``: the community an invite opens. POST: join it (name, phone, ID)."""
        ip = ratelimit.client_ip(request)
        scope = "join-ip" if request.method == "POST" else "h5-view-ip"
        decision = ratelimit.hit(scope, ip)
        if not decision.allowed:
            return _too_many(decision)
        token = request.data.get("token") if request.method == "POST" else request.query_params.get("token")
        try:
            community, channel = community_for_token(token or "")
        except InviteInvalid as exc:
            code = status.HTTP_410_GONE if isinstance(exc, InviteExpired) else status.HTTP_404_NOT_FOUND
            return Response({"detail": exc.message}, status=code)
        if request.method == "GET":
            member_count = community.members.filter(status=MemberStatus.ACTIVE).count()
            return Response(
                {
                    "name": community.name,
                    "category": community.category.name,
                    "unit_name": community.unit.name,
                    "description": community.description,
                    "charter": community.charter,
                    "charter_version": community.charter_version,
                    "requires_resident_id": community.requires_resident_id,
                    "requires_approval": community.requires_approval,
                    "is_open": community.is_open,
                    "member_count": member_count,
                }
            )
        serializer = JoinSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            phone = normalize.phone(data["phone"])
        except normalize.CellError:
            phone = data["phone"].strip()
        decision = ratelimit.hit("join-phone", cipher().blind_index(phone) or "-")
        if not decision.allowed:
            return _too_many(decision)
        try:
            result = actions.join_community(
                community,
                name=data["name"],
                phone=data["phone"],
                resident_id=data.get("resident_id", ""),
                accepted_charter=data["accept_charter"],
                charter_version=data.get("charter_version"),
                source="api",
            )
        except actions.JoinRefused as exc:
            return Response({exc.field or "detail": [exc.message]}, status=status.HTTP_400_BAD_REQUEST)
        code = status.HTTP_201_CREATED if result.outcome in ("joined", "pending") else status.HTTP_200_OK
        return Response({"outcome": result.outcome, "status": result.member.status}, status=code)


def _too_many(decision) -> Response:
    response = Response({"detail": f"操作太频繁，请 {decision.retry_minutes} 分钟后再试。"}, status=429)
    response["Retry-After"] = str(decision.retry_after)
    return response


def register(router) -> None:
    """Called from tuanju/api_urls.py."""
    router.register("groups", ChatGroupViewSet, basename="group")
    router.register("communities", CommunityViewSet, basename="community")
