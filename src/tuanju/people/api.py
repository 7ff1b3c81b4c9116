"""REST API of the youth roster: people (no delete) and the contact log (read-only).

Resident IDs and phones go out masked. A role that may see personal data gets them in full
with ``?unmask=1`` on a read, and every such read is audit-logged (``view_pii``). Writes are
validated by the same rules as the form and the spreadsheet import.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from tuanju.core.api import ScopedReadOnlyViewSet, ScopedViewSetMixin
from tuanju.people import actions
from tuanju.people.filters import filter_people
from tuanju.people.forms import PersonForm
from tuanju.people.models import ContactLog, Person

UNMASK_DENIED = "当前角色无权查看完整的身份证号和手机号。"

FILTER_PARAMETERS = [
    OpenApiParameter("unit", str, description="Code of a unit whose subtree to list"),
    OpenApiParameter(
        "category", str, description="Category name or id (a top category includes its children)"
    ),
    OpenApiParameter("political_status", str, description="masses, league, party, probationary…"),
    OpenApiParameter("backbone", bool, description="1: backbone youth only"),
    OpenApiParameter("talent", bool, description="1: talent pool only"),
    OpenApiParameter("tag", str, description="Tag name"),
    OpenApiParameter("min_age", int),
    OpenApiParameter("max_age", int),
    OpenApiParameter(
        "q", str, description="Name, pinyin initials, last 4 phone digits, full phone or full ID"
    ),
    OpenApiParameter("sort", str, description="name, -name, birth, -birth, created, -created, unit"),
]
UNMASK_PARAMETER = OpenApiParameter(
    "unmask", OpenApiTypes.BOOL, description="1: full resident ID and phone (permitted roles; audit-logged)"
)


class PersonSerializer(serializers.Serializer):
    """A person; input goes through ``PersonForm`` so the API accepts exactly what the form does."""

    id = serializers.IntegerField(read_only=True)
    unit = serializers.CharField(required=False, help_text="Unit code (defaults to the caller's unit)")
    unit_name = serializers.CharField(read_only=True)
    name = serializers.CharField()
    resident_id = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="18-character resident ID; masked on output unless ?unmask=1. Empty on update: keep.",
    )
    phone = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="11-digit mobile number; masked on output unless ?unmask=1. Empty on update: keep.",
    )
    gender = serializers.CharField(required=False, allow_blank=True, help_text="M, F, 男 or 女")
    birth_date = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="YYYY-MM-DD (also 1999.3.5, 1999年3月5日)",
    )
    age = serializers.IntegerField(read_only=True, allow_null=True)
    political_status = serializers.CharField(
        required=False, allow_blank=True, help_text="masses, league, party… or the Chinese label"
    )
    ethnicity = serializers.CharField(required=False, allow_blank=True)
    education = serializers.CharField(required=False, allow_blank=True)
    category = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="Category name (or id)"
    )
    employer = serializers.CharField(required=False, allow_blank=True)
    skills = serializers.CharField(required=False, allow_blank=True)
    interests = serializers.CharField(required=False, allow_blank=True)
    needs = serializers.CharField(required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    is_backbone = serializers.BooleanField(required=False)
    in_talent_pool = serializers.BooleanField(required=False)
    is_mentor = serializers.BooleanField(required=False)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    source = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, person: Person) -> dict:
        plain = self.context.get("plain", {}).get(person.pk)
        return {
            "id": person.pk,
            "unit": person.unit.code,
            "unit_name": person.unit.name,
            "name": person.name,
            "resident_id": plain[0] if plain else person.resident_id_masked,
            "phone": plain[1] if plain else person.phone_masked,
            "gender": person.gender,
            "birth_date": person.birth_date.isoformat() if person.birth_date else None,
            "age": person.age,
            "political_status": person.political_status,
            "ethnicity": person.ethnicity,
            "education": person.education,
            "category": person.category.name if person.category_id else None,
            "employer": person.employer,
            "skills": person.skills,
            "interests": person.interests,
            "needs": person.needs,
            "notes": person.notes,
            "is_backbone": person.is_backbone,
            "in_talent_pool": person.in_talent_pool,
            "is_mentor": person.is_mentor,
            "tags": [tag.name for tag in person.tags.all()],
            "source": person.source,
            "created_at": serializers.DateTimeField().to_representation(person.created_at),
            "updated_at": serializers.DateTimeField().to_representation(person.updated_at),
        }

    def validate(self, attrs: dict) -> dict:
        user = self.context["request"].user
        data = PersonForm.initial_from(self.instance) if self.instance is not None else {}
        data.update({key: "" if value is None else value for key, value in attrs.items()})
        if self.instance is None and not data.get("unit") and user.unit_id:
            data["unit"] = user.unit.code
        form = PersonForm(data=data, user=user, instance=self.instance)
        if not form.is_valid():
            errors = {
                ("non_field_errors" if field == "__all__" else field): [str(e) for e in messages]
                for field, messages in form.errors.items()
            }
            raise serializers.ValidationError(errors)
        self._form = form
        return form.cleaned_data

    def create(self, validated_data) -> Person:
        return actions.save_person(Person(), actor=self.context["request"].user, **self._form.save_args())

    def update(self, person: Person, validated_data) -> Person:
        return actions.save_person(person, actor=self.context["request"].user, **self._form.save_args())


@extend_schema_view(
    list=extend_schema(parameters=[*FILTER_PARAMETERS, UNMASK_PARAMETER]),
    retrieve=extend_schema(parameters=[UNMASK_PARAMETER]),
)
class PersonViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Young people of the caller's subtree. There is no delete: people leave the roster in the UI."""

    queryset = Person.objects.select_related("unit", "category").prefetch_related("tags")
    serializer_class = PersonSerializer
    filter_backends = []  # people.filters.filter_people applies the roster's one set of filters

    def get_queryset(self):
        people = super().get_queryset()
        if self.action == "list":
            people = filter_people(people, self.request.query_params)
        return people

    def _unmask(self) -> bool:
        if self.request.query_params.get("unmask") not in ("1", "true"):
            return False
        if not self.request.user.can_unmask:
            raise PermissionDenied(UNMASK_DENIED)
        return True

    def list(self, request, *args, **kwargs):
        unmask = self._unmask()
        queryset = self.get_queryset()
        page = self.paginate_queryset(queryset)
        people = list(page if page is not None else queryset)
        context = self.get_serializer_context()
        if unmask:
            context["plain"] = actions.reveal_many(people, actor=request.user, via="api")
        data = PersonSerializer(people, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request, *args, **kwargs):
        person = self.get_object()
        context = self.get_serializer_context()
        if self._unmask():
            context["plain"] = actions.reveal_many([person], actor=request.user, via="api")
        return Response(PersonSerializer(person, context=context).data)


class ContactLogSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name", read_only=True)
    cadre = serializers.CharField(source="cadre.username", read_only=True)
    cadre_name = serializers.CharField(source="cadre.display_name", read_only=True)

    class Meta:
        model = ContactLog
        fields = [
            "id",
            "person",
            "person_name",
            "cadre",
            "cadre_name",
            "contacted_on",
            "channel",
            "summary",
            "follow_up",
            "created_at",
        ]


class ContactLogFilter(django_filters.FilterSet):
    # A plain number, not a model choice: an id outside the caller's scope simply matches nothing.
    person = django_filters.NumberFilter(field_name="person_id", label="Person id")
    channel = django_filters.CharFilter()
    since = django_filters.DateFilter(field_name="contacted_on", lookup_expr="gte")
    until = django_filters.DateFilter(field_name="contacted_on", lookup_expr="lte")

    class Meta:
        model = ContactLog
        fields = ["person", "channel", "since", "until"]


class ContactLogViewSet(ScopedReadOnlyViewSet):
    """Contacts with the youth of the caller's subtree. Filter by ``person`` (id), ``channel``, ``since``, ``until``."""

    queryset = ContactLog.objects.select_related("person", "cadre")
    serializer_class = ContactLogSerializer
    filterset_class = ContactLogFilter
    ordering_fields = ["contacted_on", "id"]
    search_fields = []


def register(router) -> None:
    """Called from tuanju/api_urls.py."""
    router.register("people", PersonViewSet, basename="person")
    router.register("contacts", ContactLogViewSet, basename="contact")
