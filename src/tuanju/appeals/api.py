"""REST API of appeals and service stations; ``register`` is called from tuanju/api_urls.py.

/api/v1/appeals/ — work orders visible to the caller (unit subtree; a partner department's account:
only what is routed to it). Create (staff entry) and the life-cycle steps as POST actions.
/api/v1/stations/ — service stations of the caller's subtree, with people served.
/api/v1/service-records/ — 服务人次 records (read; create by staff).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, Sum
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from tuanju.appeals import actions
from tuanju.appeals.filters import filter_appeals, filter_stations
from tuanju.appeals.models import (
    Appeal,
    AppealCategory,
    Department,
    ServiceRecord,
    ServiceType,
    Source,
    Station,
)
from tuanju.core.api import ScopedReadOnlyViewSet, ScopedViewSetMixin
from tuanju.core.permissions import IsStaffWithUnit
from tuanju.hierarchy.models import OrgUnit


class StaffOrDepartment(permissions.BasePermission):
    """Like IsStaffWithUnit, but a partner department's account (no unit) is let in as well."""

    message = "需要登录并绑定单位或协作部门的工作人员账号。"

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if not (user.is_superuser or user.unit_id or user.department_id):
            return False
        return request.method in permissions.SAFE_METHODS or user.can_write


def _drf_errors(exc: DjangoValidationError):
    if hasattr(exc, "message_dict"):
        return ValidationError(exc.message_dict)
    return ValidationError({"non_field_errors": exc.messages})


class AppealSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    category = serializers.SlugRelatedField(
        slug_field="name", queryset=AppealCategory.objects.filter(is_active=True)
    )
    unit = serializers.SlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all())
    intake_unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    department = serializers.SlugRelatedField(slug_field="name", read_only=True)
    handler = serializers.CharField(source="handler_name", read_only=True)
    overdue = serializers.SerializerMethodField()
    contact_name = serializers.CharField(required=False, allow_blank=True, max_length=50)
    phone = serializers.CharField(required=False, allow_blank=True, write_only=True, max_length=20)
    phone_masked = serializers.SerializerMethodField()

    class Meta:
        model = Appeal
        fields = [
            "id",
            "number",
            "hotline_number",
            "unit",
            "intake_unit",
            "department",
            "handler",
            "category",
            "source",
            "title",
            "content",
            "location",
            "contact_name",
            "phone",
            "phone_masked",
            "is_anonymous",
            "status",
            "received_at",
            "assigned_at",
            "time_limit_days",
            "due_date",
            "overdue",
            "replied_at",
            "reply_text",
            "replied_late",
            "satisfaction",
            "rating_comment",
            "reopen_count",
            "closed_at",
            "close_reason",
        ]
        extra_kwargs = {"title": {"required": False, "allow_blank": True}, "source": {"required": False}}
        read_only_fields = [
            "status",
            "assigned_at",
            "time_limit_days",
            "due_date",
            "replied_at",
            "reply_text",
            "replied_late",
            "satisfaction",
            "rating_comment",
            "reopen_count",
            "closed_at",
            "close_reason",
        ]

    def get_overdue(self, appeal) -> bool:
        return appeal.is_overdue()

    def get_phone_masked(self, appeal) -> str:
        return appeal.phone_masked if actions.may_see_identity(self.context["request"].user, appeal) else ""

    def to_representation(self, appeal):
        data = super().to_representation(appeal)
        if not actions.may_see_identity(self.context["request"].user, appeal):
            data["contact_name"] = "匿名"
        return data

    def validate_unit(self, unit):
        from tuanju.core.scope import user_sees_unit

        if not user_sees_unit(self.context["request"].user, unit):
            raise ValidationError("单位不在您的管辖范围内")
        return unit

    def validate_source(self, source):
        if source not in (Source.STAFF, Source.HOTLINE, Source.API, Source.STATION):
            raise ValidationError("来源不正确")
        return source

    def validate_phone(self, phone):
        from tuanju.imports import normalize

        try:
            return normalize.phone(phone) if phone else ""
        except normalize.CellError as exc:
            raise ValidationError(str(exc)) from exc

    def create(self, validated):
        user = self.context["request"].user
        if user.department_id:
            raise PermissionDenied("协作部门账号不能登记诉求")
        new = actions.NewAppeal(
            unit=validated["unit"],
            category=validated["category"],
            content=validated.get("content", ""),
            source=validated.get("source") or Source.API,
            title=validated.get("title", ""),
            location=validated.get("location", ""),
            contact_name=validated.get("contact_name", ""),
            phone=validated.get("phone", ""),
            is_anonymous=validated.get("is_anonymous", False),
            received_at=validated.get("received_at"),
            hotline_number=validated.get("hotline_number"),
        )
        try:
            return actions.file_appeal(new, actor=user)
        except DjangoValidationError as exc:
            raise _drf_errors(exc) from exc


class RouteSerializer(serializers.Serializer):
    department = serializers.IntegerField(required=False, help_text="Partner department id")
    unit = serializers.CharField(required=False, help_text="Unit code")
    time_limit_days = serializers.IntegerField(required=False, min_value=1, max_value=actions.MAX_TIME_LIMIT)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class TextSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, max_length=actions.MAX_CONTENT)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


APPEAL_FILTERS = [
    OpenApiParameter("status", str, description="received, assigned, in_progress, replied, closed or open"),
    OpenApiParameter("category", int),
    OpenApiParameter("source", str),
    OpenApiParameter("department", int),
    OpenApiParameter("unit", str, description="Unit code: that unit's subtree"),
    OpenApiParameter(
        "due", str, description="overdue, near (due today or next working day), late (replied late)"
    ),
    OpenApiParameter("since", str, description="Received on or after (YYYY-MM-DD)"),
    OpenApiParameter("until", str, description="Received on or before (YYYY-MM-DD)"),
    OpenApiParameter("q", str, description="Work-order number, 12345 number, words, or a full phone number"),
]


@extend_schema_view(list=extend_schema(parameters=APPEAL_FILTERS))
class AppealViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Appeals (work orders) visible to the caller; life-cycle steps are POST actions."""

    queryset = Appeal.objects.select_related("category", "unit", "intake_unit", "department")
    serializer_class = AppealSerializer
    permission_classes = [StaffOrDepartment]
    filter_backends = []

    def get_queryset(self):
        appeals = super().get_queryset()
        if self.action == "list":
            appeals = filter_appeals(appeals, self.request.query_params)
        return appeals

    def _step(self, function, **kwargs):
        appeal = self.get_object()
        try:
            function(appeal, actor=self.request.user, **kwargs)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        except DjangoValidationError as exc:
            raise _drf_errors(exc) from exc
        appeal.refresh_from_db()
        return Response(AppealSerializer(appeal, context=self.get_serializer_context()).data)

    @extend_schema(request=RouteSerializer, responses=AppealSerializer)
    @action(detail=True, methods=["post"])
    def route(self, request, pk=None):
        """Assign or reassign to a partner department (id) or a unit (code), with a working-day time limit."""
        data = RouteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        appeal = self.get_object()
        department = unit = None
        if values.get("department"):
            department = (
                actions.routable_departments(request.user, appeal).filter(pk=values["department"]).first()
            )
            if department is None:
                raise ValidationError({"department": "不能转交给该部门"})
        if values.get("unit"):
            unit = OrgUnit.objects.visible_to(request.user).filter(code=values["unit"]).first()
            if unit is None:
                raise ValidationError({"unit": "单位不在您的管辖范围内"})
        return self._step(
            actions.route,
            unit=unit,
            department=department,
            time_limit_days=values.get("time_limit_days"),
            note=values.get("note", ""),
        )

    @extend_schema(request=None, responses=AppealSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._step(actions.accept)

    @extend_schema(request=TextSerializer, responses=AppealSerializer)
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        return self._step(actions.reply, text=request.data.get("text", ""))

    @extend_schema(request=TextSerializer, responses=AppealSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        return self._step(actions.return_appeal, reason=request.data.get("reason", ""))

    @extend_schema(request=TextSerializer, responses=AppealSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._step(actions.close, reason=request.data.get("reason", ""))


class DepartmentSerializer(serializers.ModelSerializer):
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Department
        fields = ["id", "unit", "name", "kind", "contact_name", "phone", "email", "is_active"]


class DepartmentViewSet(ScopedReadOnlyViewSet):
    """Partner departments of the caller's subtree."""

    queryset = Department.objects.select_related("unit")
    serializer_class = DepartmentSerializer
    search_fields = ["name"]


class StationSerializer(serializers.ModelSerializer):
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    services = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    served_total = serializers.IntegerField(read_only=True)
    served_year = serializers.IntegerField(read_only=True)

    class Meta:
        model = Station
        fields = [
            "id",
            "unit",
            "unit_name",
            "name",
            "kind",
            "address",
            "latitude",
            "longitude",
            "opening_hours",
            "services",
            "host",
            "contact_name",
            "contact_phone",
            "description",
            "is_active",
            "served_total",
            "served_year",
        ]


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("kind", str, description="warm, courier, dream, youth_home, mobile"),
            OpenApiParameter("unit", str, description="Unit code: that unit's subtree"),
            OpenApiParameter("q", str, description="Name or address"),
        ]
    )
)
class StationViewSet(ScopedReadOnlyViewSet):
    """Service stations of the caller's subtree with people served (total and this year)."""

    queryset = Station.objects.select_related("unit").prefetch_related("services")
    serializer_class = StationSerializer
    permission_classes = [IsStaffWithUnit]
    filter_backends = []

    def get_queryset(self):
        year = timezone.localdate().year
        stations = filter_stations(super().get_queryset(), self.request.query_params)
        return stations.annotate(
            served_total=Sum("records__people_count"),
            served_year=Sum("records__people_count", filter=Q(records__served_on__year=year)),
        )


class ServiceRecordSerializer(serializers.ModelSerializer):
    station = serializers.PrimaryKeyRelatedField(queryset=Station.objects.none())
    service = serializers.SlugRelatedField(
        slug_field="name",
        queryset=ServiceType.objects.filter(is_active=True),
        required=False,
        allow_null=True,
    )

    class Meta:
        model = ServiceRecord
        fields = ["id", "station", "service", "served_on", "people_count", "source", "note", "created_at"]
        read_only_fields = ["source", "created_at"]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["station"].queryset = Station.objects.visible_to(request.user)
        return fields

    def create(self, validated):
        try:
            return actions.record_service(
                validated["station"],
                people_count=validated.get("people_count", 1),
                service=validated.get("service"),
                served_on=validated.get("served_on"),
                note=validated.get("note", ""),
                source="staff",
                actor=self.context["request"].user,
            )
        except DjangoValidationError as exc:
            raise _drf_errors(exc) from exc


class ServiceRecordViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """服务人次 records of the caller's subtree. Filter by ``station`` (id), ``since``, ``until``."""

    queryset = ServiceRecord.objects.select_related("station", "service")
    serializer_class = ServiceRecordSerializer
    permission_classes = [IsStaffWithUnit]
    filterset_fields = {"station": ["exact"], "served_on": ["gte", "lte"]}
    ordering_fields = ["served_on", "id"]
    search_fields = []


def register(router) -> None:
    """Register this app's viewsets on the /api/v1/ router."""
    router.register("appeals", AppealViewSet, basename="appeal")
    router.register("departments", DepartmentViewSet, basename="department")
    router.register("stations", StationViewSet, basename="station")
    router.register("service-records", ServiceRecordViewSet, basename="service-record")
