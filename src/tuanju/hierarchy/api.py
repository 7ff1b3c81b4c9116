import django_filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from tuanju.core.api import ScopedReadOnlyViewSet
from tuanju.hierarchy import actions
from tuanju.hierarchy.models import Level, OrgUnit


class UnitSerializer(serializers.ModelSerializer):
    parent_code = serializers.SerializerMethodField()

    class Meta:
        model = OrgUnit
        fields = ["id", "code", "name", "level", "kind", "depth", "numchild", "parent_code", "pinyin"]

    def get_parent_code(self, unit) -> str | None:
        if unit.depth <= 1:
            return None
        parent_path = unit.path[: -OrgUnit.steplen]
        cache = self.context.setdefault("_parent_codes", {})
        if parent_path not in cache:
            cache[parent_path] = (
                OrgUnit.objects.filter(path=parent_path).values_list("code", flat=True).first()
            )
        return cache[parent_path]


class UnitFilter(django_filters.FilterSet):
    parent = django_filters.CharFilter(method="filter_parent", label="Parent unit code")
    within = django_filters.CharFilter(method="filter_within", label="Code of a unit whose subtree to list")
    level = django_filters.ChoiceFilter(choices=Level.choices)
    code = django_filters.CharFilter()
    q = django_filters.CharFilter(method="filter_q", label="Name, code prefix or pinyin initials")

    class Meta:
        model = OrgUnit
        fields = ["parent", "within", "level", "code", "q"]

    def filter_parent(self, queryset, name, value):
        parent = OrgUnit.objects.filter(code=value).first()
        if parent is None:
            return queryset.none()
        return queryset.filter(path__startswith=parent.path, depth=parent.depth + 1)

    def filter_within(self, queryset, name, value):
        unit = OrgUnit.objects.filter(code=value).first()
        return queryset.filter(path__startswith=unit.path) if unit else queryset.none()

    def filter_q(self, queryset, name, value):
        return queryset.search(value[:50])


class UnitViewSet(ScopedReadOnlyViewSet):
    """Units of the caller's subtree. Filter by ``parent``, ``within``, ``level``, ``code`` or ``q``."""

    queryset = OrgUnit.objects.all()
    serializer_class = UnitSerializer
    filterset_class = UnitFilter
    ordering_fields = ["path", "code", "name"]
    search_fields = []

    @extend_schema(
        responses=inline_serializer(
            "SubtreeCounts",
            {
                "code": serializers.CharField(),
                "by_level": serializers.DictField(child=serializers.IntegerField()),
                "children": serializers.ListField(child=serializers.DictField()),
            },
        )
    )
    @action(detail=True, url_path="subtree-counts")
    def subtree_counts(self, request, pk=None):
        unit = self.get_object()
        counts = actions.subtree_counts(unit)
        per_child = counts["per_child_descendants"]
        children = [
            {
                "code": child.code,
                "name": child.name,
                "level": child.level,
                "units_below": per_child.get(child.path, 0),
            }
            for child in OrgUnit.objects.get_children(unit)
        ]
        return Response({"code": unit.code, "by_level": counts["by_level"], "children": children})
