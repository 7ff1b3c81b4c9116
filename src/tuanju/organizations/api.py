"""REST API of organizations and alliances (``/api/v1/organizations/``, ``/api/v1/alliances/``).

Scoped like every endpoint: lists hold only the caller's subtree and a record outside it is a
404. Contact phones go out masked unless ``?unmask=1`` by a role that may see personal data
(audit-logged). Writes go through ``organizations.actions`` (the same rules as the UI and the
import) and answer their Chinese messages as 400 errors.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from tuanju.audit.actions import record
from tuanju.core.api import ScopedViewSetMixin
from tuanju.hierarchy.models import OrgUnit
from tuanju.imports import normalize
from tuanju.organizations import actions, uscc
from tuanju.organizations.filters import filter_organizations
from tuanju.organizations.forms import parse_month
from tuanju.organizations.models import (
    Alliance,
    FourHave,
    JoinMethod,
    MemberRole,
    Organization,
    OrgType,
    RegistrationStatus,
)
from tuanju.people.models import Person

UNMASK_DENIED = "当前角色无权查看完整的联系电话。"
FILTER_PARAMETERS = [
    OpenApiParameter("q", str, description="Name, pinyin initials or credit code"),
    OpenApiParameter("unit", str, description="Code of a unit whose subtree to list"),
    OpenApiParameter("type", str, description="Organization type name (or id)"),
    OpenApiParameter("registration", str, description="registered, filed or unregistered"),
    OpenApiParameter("four_have", str, description="pass or fail"),
    OpenApiParameter("missing", str, description="leader, venue, team or activity"),
    OpenApiParameter("tag", str),
    OpenApiParameter("incubation", bool),
    OpenApiParameter("cloud", bool),
    OpenApiParameter("league", bool),
    OpenApiParameter("state", str, description="active (default), inactive or all"),
    OpenApiParameter(
        "sort", str, description="name, -name, founded, -founded, members, -members, created, unit"
    ),
]
UNMASK_PARAMETER = OpenApiParameter(
    "unmask", OpenApiTypes.BOOL, description="1: full contact phones (permitted roles; audit-logged)"
)


def _raise(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        raise serializers.ValidationError(
            {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
        )
    raise serializers.ValidationError({"non_field_errors": exc.messages})


def _visible(user, model, pk, label: str):
    obj = model.objects.visible_to(user).filter(pk=pk).first() if pk is not None else None
    if pk is not None and obj is None:
        raise serializers.ValidationError(f"{label} {pk} 不存在或不在您的管辖范围内")
    return obj


def _unit(user, code: str) -> OrgUnit:
    unit = OrgUnit.objects.visible_to(user).filter(code=(code or "").strip()[:32]).first()
    if unit is None:
        raise serializers.ValidationError(f"您的管辖范围内没有编码为“{code}”的单位")
    return unit


class OrganizationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    unit = serializers.CharField(required=False, help_text="Unit code (defaults to the caller's unit)")
    unit_name = serializers.CharField(read_only=True)
    name = serializers.CharField(max_length=100)
    org_type = serializers.CharField(help_text="Type name (e.g. 志愿服务) or id")
    registration_status = serializers.ChoiceField(choices=RegistrationStatus.choices, required=False)
    uscc = serializers.CharField(
        required=False, allow_blank=True, help_text="Unified social credit code (GB 32100)"
    )
    founded_on = serializers.DateField(required=False, allow_null=True)
    venue = serializers.CharField(required=False, allow_blank=True, max_length=200)
    contact_name = serializers.CharField(required=False, allow_blank=True, max_length=50)
    contact_phone = serializers.CharField(
        required=False, allow_blank=True, help_text="11-digit mobile; masked on output unless ?unmask=1"
    )
    leader = serializers.IntegerField(required=False, allow_null=True, help_text="Person id (roster)")
    leader_name = serializers.CharField(read_only=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=30), required=False)
    introduction = serializers.CharField(required=False, allow_blank=True)
    charter = serializers.CharField(required=False, allow_blank=True)
    is_league_affiliated = serializers.BooleanField(required=False)
    is_incubation_base = serializers.BooleanField(required=False)
    is_cloud_resident = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)
    member_count = serializers.IntegerField(read_only=True)
    group_member_count = serializers.IntegerField(read_only=True)
    four_have = serializers.DictField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, org: Organization) -> dict:
        plain = self.context.get("plain", {})
        has = {
            FourHave.ORGANIZATION: getattr(org, "has_leader", None),
            FourHave.VENUE: getattr(org, "has_venue", None),
            FourHave.TEAM: getattr(org, "has_team", None),
            FourHave.ACTIVITY: getattr(org, "has_activity", None),
        }
        return {
            "id": org.pk,
            "unit": org.unit.code,
            "unit_name": org.unit.name,
            "name": org.name,
            "org_type": org.org_type.name,
            "registration_status": org.registration_status,
            "uscc": org.uscc or "",
            "founded_on": org.founded_on.isoformat() if org.founded_on else None,
            "venue": org.venue,
            "contact_name": org.contact_name,
            "contact_phone": plain.get(org.pk, org.contact_phone_masked),
            "leader": org.leader_id,
            "leader_name": org.leader.name if org.leader_id else "",
            "tags": [t.name for t in org.tags.all()],
            "introduction": org.introduction,
            "charter": org.charter,
            "is_league_affiliated": org.is_league_affiliated,
            "is_incubation_base": org.is_incubation_base,
            "is_cloud_resident": org.is_cloud_resident,
            "is_active": org.is_active,
            "member_count": getattr(org, "member_count", None),
            "group_member_count": getattr(org, "group_member_count", None),
            "four_have": {"ok": getattr(org, "four_have", None), **has},
            "created_at": serializers.DateTimeField().to_representation(org.created_at),
            "updated_at": serializers.DateTimeField().to_representation(org.updated_at),
        }

    def validate(self, attrs: dict) -> dict:
        user = self.context["request"].user
        data: dict = {}
        if "unit" in attrs or self.instance is None:
            code = attrs.get("unit") or (user.unit.code if user.unit_id else "")
            data["unit"] = _unit(user, code)
        if "org_type" in attrs:
            raw = str(attrs["org_type"]).strip()
            org_type = OrgType.objects.filter(name=raw).first() or (
                OrgType.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
            )
            if org_type is None:
                raise serializers.ValidationError({"org_type": [f"组织类型“{raw}”不存在"]})
            data["org_type"] = org_type
        for key in (
            "name",
            "registration_status",
            "founded_on",
            "venue",
            "contact_name",
            "introduction",
            "charter",
        ):
            if key in attrs:
                data[key] = attrs[key] if attrs[key] is not None or key == "founded_on" else ""
        for key in ("is_league_affiliated", "is_incubation_base", "is_cloud_resident", "is_active"):
            if key in attrs:
                data[key] = attrs[key]
        if "uscc" in attrs:
            code = uscc.normalize(attrs["uscc"])
            if code and (reasons := uscc.explain(code)):
                raise serializers.ValidationError({"uscc": [reasons]})
            data["uscc"] = code
        if "leader" in attrs:
            data["leader"] = _visible(user, Person, attrs["leader"], "人员")
        phone = None
        if attrs.get("contact_phone"):
            try:
                phone = normalize.phone(attrs["contact_phone"])
            except normalize.CellError as exc:
                raise serializers.ValidationError({"contact_phone": [str(exc)]}) from exc
        elif self.instance is None:
            phone = ""
        return {"data": data, "contact_phone": phone, "tags": attrs.get("tags")}

    def _save(self, org: Organization, validated: dict) -> Organization:
        try:
            saved = actions.save_organization(org, actor=self.context["request"].user, **validated)
        except DjangoValidationError as exc:
            _raise(exc)
        return (
            Organization.objects.with_four_have()
            .select_related("unit", "org_type", "leader")
            .get(pk=saved.pk)
        )

    def create(self, validated_data) -> Organization:
        return self._save(Organization(), validated_data)

    def update(self, org: Organization, validated_data) -> Organization:
        return self._save(Organization.objects.get(pk=org.pk), validated_data)


class MembershipSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    person = serializers.IntegerField(help_text="Person id (roster)")
    person_name = serializers.CharField(read_only=True)
    phone = serializers.CharField(read_only=True, help_text="masked")
    role = serializers.ChoiceField(choices=MemberRole.choices, default=MemberRole.MEMBER)
    joined_on = serializers.DateField(required=False)
    left_on = serializers.DateField(read_only=True)

    def to_representation(self, m) -> dict:
        return {
            "id": m.pk,
            "person": m.person_id,
            "person_name": m.person.name,
            "phone": m.person.phone_masked,
            "role": m.role,
            "joined_on": m.joined_on.isoformat(),
            "left_on": m.left_on.isoformat() if m.left_on else None,
        }


@extend_schema_view(
    list=extend_schema(parameters=[*FILTER_PARAMETERS, UNMASK_PARAMETER]),
    retrieve=extend_schema(parameters=[UNMASK_PARAMETER]),
)
class OrganizationViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Youth social organizations of the caller's subtree, with their 四有 check. No delete: set ``is_active``."""

    queryset = Organization.objects.select_related("unit", "org_type", "leader").prefetch_related("tags")
    serializer_class = OrganizationSerializer
    filter_backends = []  # organizations.filters.filter_organizations applies the one set of filters

    def get_queryset(self):
        orgs = super().get_queryset()
        if self.action == "list":
            return filter_organizations(orgs, self.request.query_params)
        return orgs.with_four_have()

    def _plain(self, orgs) -> dict:
        if self.request.query_params.get("unmask") not in ("1", "true"):
            return {}
        user = self.request.user
        if not user.can_unmask:
            raise PermissionDenied(UNMASK_DENIED)
        orgs = list(orgs)
        for org in orgs:
            record(user, "view_pii", org, details={"field": "contact_phone", "via": "api"})
        return {org.pk: org.reveal_contact_phone() for org in orgs}

    def list(self, request, *args, **kwargs):
        queryset = self.get_queryset()
        page = self.paginate_queryset(queryset)
        orgs = list(page if page is not None else queryset)
        context = self.get_serializer_context() | {"plain": self._plain(orgs)}
        data = OrganizationSerializer(orgs, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request, *args, **kwargs):
        org = self.get_object()
        context = self.get_serializer_context() | {"plain": self._plain([org])}
        return Response(OrganizationSerializer(org, context=context).data)

    @extend_schema(request=MembershipSerializer, responses=MembershipSerializer(many=True))
    @action(detail=True, methods=["get", "post"])
    def members(self, request, pk=None):
        """GET: current individual members (``?former=1`` includes those who left). POST: add one."""
        org = self.get_object()
        if request.method == "POST":
            serializer = MembershipSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            person = _visible(request.user, Person, serializer.validated_data["person"], "人员")
            try:
                membership = actions.add_member(
                    Organization.objects.get(pk=org.pk),
                    person,
                    role=serializer.validated_data["role"],
                    joined_on=serializer.validated_data.get("joined_on"),
                    actor=request.user,
                )
            except DjangoValidationError as exc:
                _raise(exc)
            return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)
        members = org.memberships.select_related("person").order_by("joined_on", "pk")
        if request.query_params.get("former") not in ("1", "true"):
            members = members.filter(left_on__isnull=True)
        page = self.paginate_queryset(members)
        data = MembershipSerializer(page if page is not None else members, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(request=None, responses=MembershipSerializer)
    @action(detail=True, methods=["post"], url_path=r"members/(?P<member_id>\d+)/leave")
    def leave(self, request, pk=None, member_id=None):
        """Record that a member left (today, or ``left_on``)."""
        org = self.get_object()
        membership = get_object_or_404(
            org.memberships.select_related("person", "organization__unit"), pk=member_id
        )
        left_on = (
            serializers.DateField(required=False).run_validation(request.data.get("left_on"))
            if request.data.get("left_on")
            else None
        )
        try:
            actions.end_membership(membership, left_on=left_on, actor=request.user)
        except DjangoValidationError as exc:
            _raise(exc)
        return Response(MembershipSerializer(membership).data)


# --- Alliances ----------------------------------------------------------------------------------------


class AllianceSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    unit = serializers.CharField(
        required=False, help_text="League committee unit code (defaults to the caller's)"
    )
    unit_name = serializers.CharField(read_only=True)
    name = serializers.CharField(max_length=100)
    field = serializers.CharField(max_length=20)
    leader = serializers.IntegerField(
        required=False, allow_null=True, help_text="Organization id of the 盟主 society"
    )
    leader_name = serializers.CharField(read_only=True)
    secretary_general = serializers.IntegerField(required=False, allow_null=True, help_text="Person id")
    secretary_general_name = serializers.CharField(read_only=True)
    founded_on = serializers.DateField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    council = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    member_count = serializers.IntegerField(read_only=True)

    def to_representation(self, alliance: Alliance) -> dict:
        return {
            "id": alliance.pk,
            "unit": alliance.unit.code,
            "unit_name": alliance.unit.name,
            "name": alliance.name,
            "field": alliance.field,
            "leader": alliance.leader_id,
            "leader_name": alliance.leader.name if alliance.leader_id else "",
            "secretary_general": alliance.secretary_general_id,
            "secretary_general_name": alliance.secretary_general.name
            if alliance.secretary_general_id
            else "",
            "founded_on": alliance.founded_on.isoformat() if alliance.founded_on else None,
            "description": alliance.description,
            "is_active": alliance.is_active,
            "council": [m.organization_id for m in alliance.council()],
            "member_count": alliance.members.count(),
        }

    def validate(self, attrs: dict) -> dict:
        user = self.context["request"].user
        data: dict = {}
        if "unit" in attrs or self.instance is None:
            data["unit"] = _unit(user, attrs.get("unit") or (user.unit.code if user.unit_id else ""))
        for key in ("name", "field", "founded_on", "description", "is_active"):
            if key in attrs:
                data[key] = attrs[key]
        if "leader" in attrs:
            data["leader"] = _visible(user, Organization, attrs["leader"], "组织")
        if "secretary_general" in attrs:
            data["secretary_general"] = _visible(user, Person, attrs["secretary_general"], "人员")
        return {"data": data}

    def _save(self, alliance: Alliance, validated: dict) -> Alliance:
        try:
            saved = actions.save_alliance(alliance, actor=self.context["request"].user, **validated)
        except DjangoValidationError as exc:
            _raise(exc)
        return Alliance.objects.select_related("unit", "leader", "secretary_general").get(pk=saved.pk)

    def create(self, validated_data) -> Alliance:
        return self._save(Alliance(), validated_data)

    def update(self, alliance: Alliance, validated_data) -> Alliance:
        return self._save(alliance, validated_data)


class AllianceMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    organization = serializers.IntegerField()
    organization_name = serializers.CharField(read_only=True)
    join_method = serializers.ChoiceField(choices=JoinMethod.choices)
    joined_on = serializers.DateField(required=False)
    is_council = serializers.BooleanField(read_only=True)
    council_order = serializers.IntegerField(read_only=True)

    def to_representation(self, m) -> dict:
        return {
            "id": m.pk,
            "organization": m.organization_id,
            "organization_name": m.organization.name,
            "join_method": m.join_method,
            "joined_on": m.joined_on.isoformat(),
            "is_council": m.is_council,
            "council_order": m.council_order,
        }


class CouncilSerializer(serializers.Serializer):
    organizations = serializers.ListField(
        child=serializers.IntegerField(), help_text="Organization ids of 6–21 member societies, in duty order"
    )


class ScheduleSerializer(serializers.Serializer):
    start = serializers.CharField(required=False, help_text="YYYY-MM (default: this month)")
    months = serializers.IntegerField(required=False, default=12, min_value=1, max_value=36)
    replace = serializers.BooleanField(required=False, default=False)


class AllianceViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Alliances (8+X) of the caller's subtree: members, council, duty schedule and joint meetings."""

    queryset = Alliance.objects.select_related("unit", "leader", "secretary_general")
    serializer_class = AllianceSerializer
    search_fields = ["name", "field"]
    ordering_fields = ["name", "founded_on"]
    filterset_fields = ["field", "is_active"]

    def _alliance(self) -> Alliance:
        return self.get_object()

    @extend_schema(request=AllianceMemberSerializer, responses=AllianceMemberSerializer(many=True))
    @action(detail=True, methods=["get", "post"])
    def members(self, request, pk=None):
        alliance = self._alliance()
        if request.method == "POST":
            serializer = AllianceMemberSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            org = _visible(request.user, Organization, serializer.validated_data["organization"], "组织")
            try:
                member = actions.add_alliance_member(
                    alliance,
                    org,
                    join_method=serializer.validated_data["join_method"],
                    joined_on=serializer.validated_data.get("joined_on"),
                    actor=request.user,
                )
            except DjangoValidationError as exc:
                _raise(exc)
            return Response(AllianceMemberSerializer(member).data, status=status.HTTP_201_CREATED)
        members = alliance.members.select_related("organization").order_by(
            "-is_council", "council_order", "pk"
        )
        return Response(AllianceMemberSerializer(members, many=True).data)

    @extend_schema(request=CouncilSerializer, responses=AllianceMemberSerializer(many=True))
    @action(detail=True, methods=["post"])
    def council(self, request, pk=None):
        """Replace the council: 6 to 21 member societies, in duty-rotation order."""
        alliance = self._alliance()
        serializer = CouncilSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = serializer.validated_data["organizations"]
        orgs = {o.pk: o for o in Organization.objects.visible_to(request.user).filter(pk__in=ids)}
        missing = [i for i in ids if i not in orgs]
        if missing:
            raise serializers.ValidationError(
                {"organizations": [f"组织 {missing[0]} 不存在或不在您的管辖范围内"]}
            )
        try:
            council = actions.set_council(alliance, [orgs[i] for i in ids], actor=request.user)
        except DjangoValidationError as exc:
            _raise(exc)
        return Response(AllianceMemberSerializer(council, many=True).data)

    @extend_schema(request=ScheduleSerializer)
    @action(detail=True, methods=["get", "post"])
    def schedule(self, request, pk=None):
        """GET: the duty months (``?from=YYYY-MM``, ``?months=``) with their state. POST: generate in turn."""
        alliance = self._alliance()
        if request.method == "POST":
            serializer = ScheduleSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            start = parse_month(data.get("start", "")) if data.get("start") else None
            if data.get("start") and start is None:
                raise serializers.ValidationError({"start": ["月份格式应为 YYYY-MM"]})
            try:
                written = actions.generate_duty_schedule(
                    alliance, start=start, months=data["months"], replace=data["replace"], actor=request.user
                )
            except DjangoValidationError as exc:
                _raise(exc)
            return Response({"written": written}, status=status.HTTP_201_CREATED)
        try:
            months = max(1, min(36, int(request.query_params.get("months", 15))))
        except ValueError:
            months = 15
        rows = actions.duty_board(
            alliance, start=parse_month(request.query_params.get("from", "")), months=months
        )
        return Response(
            [
                {
                    "month": row.month.strftime("%Y-%m"),
                    "organization": row.duty.organization_id if row.duty else None,
                    "organization_name": row.duty.organization.name if row.duty else "",
                    "theme": row.duty.theme if row.duty else "",
                    "state": row.state,
                    "warning": row.warning,
                }
                for row in rows
            ]
        )

    @action(detail=True, methods=["get"])
    def meetings(self, request, pk=None):
        """Joint meetings, newest first, and the quarters without one."""
        alliance = self._alliance()
        meetings = alliance.meetings.prefetch_related("attendees")
        return Response(
            {
                "meetings": [
                    {
                        "id": m.pk,
                        "held_on": m.held_on.isoformat(),
                        "status": m.status,
                        "title": m.title,
                        "location": m.location,
                        "attendees": [o.pk for o in m.attendees.all()],
                        "minutes": m.minutes,
                        "decisions": m.decisions,
                    }
                    for m in meetings
                ],
                "quarters_without_meeting": [
                    q.label for q in actions.meeting_quarters(alliance, ahead=0) if q.warning
                ],
            }
        )


def register(router) -> None:
    """Called from tuanju/api_urls.py."""
    router.register("organizations", OrganizationViewSet, basename="organization")
    router.register("alliances", AllianceViewSet, basename="alliance")
