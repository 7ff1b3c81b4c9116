"""REST API of surveys and portraits; ``register`` is called from tuanju/api_urls.py.

/api/v1/surveys/ — surveys of the caller's subtree with their questions; ``results`` gives the
frequencies and percentages, ``crosstab`` a cross-tabulation (``?question=&by=category|occupation|
age_band|gender|unit&unit=CODE``).
/api/v1/portraits/{person id}/ — a person's tags (with their sources and reasons) and
recommendations.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response as ApiResponse

from tuanju.core.api import ScopedReadOnlyViewSet
from tuanju.hierarchy.models import OrgUnit
from tuanju.people.models import Person
from tuanju.surveys import portraits, recommend, results
from tuanju.surveys.models import Choice, Question, Response, Survey


class ChoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Choice
        fields = ["id", "text", "tag"]


class QuestionSerializer(serializers.ModelSerializer):
    choices = ChoiceSerializer(many=True, read_only=True)
    rules = serializers.SerializerMethodField()

    class Meta:
        model = Question
        fields = [
            "id",
            "position",
            "kind",
            "text",
            "help_text",
            "required",
            "max_choices",
            "scale_min",
            "scale_max",
            "scale_min_label",
            "scale_max_label",
            "choices",
            "rules",
        ]

    def get_rules(self, question) -> list[dict]:
        return [
            {"choice": r.choice_id, "min_value": r.min_value, "max_value": r.max_value, "target": r.target_id}
            for r in question.rules.all()
        ]


class SurveySerializer(serializers.ModelSerializer):
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    questions = QuestionSerializer(many=True, read_only=True)

    class Meta:
        model = Survey
        fields = [
            "id",
            "unit",
            "title",
            "description",
            "status",
            "mode",
            "one_per",
            "ask_profile",
            "opens_at",
            "closes_at",
            "published_at",
            "closed_at",
            "response_count",
            "questions",
        ]


class SurveyViewSet(ScopedReadOnlyViewSet):
    """Surveys of the caller's subtree, with their questions, results and cross-tabulations."""

    queryset = Survey.objects.select_related("unit").prefetch_related(
        "questions__choices", "questions__rules"
    )
    serializer_class = SurveySerializer
    filterset_fields = ["status", "mode"]
    search_fields = ["title"]
    ordering_fields = ["created_at", "published_at", "response_count"]

    def _responses(self, survey):
        return Response.objects.visible_to(self.request.user).filter(survey=survey)

    @extend_schema(responses={200: dict})
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        """Per question: respondents, and per choice (or scale value) the count and percentage."""
        survey = self.get_object()
        out = []
        for result in results.frequencies(survey, self._responses(survey)):
            out.append(
                {
                    "question": result.question.pk,
                    "text": result.question.text,
                    "kind": result.kind,
                    "respondents": result.respondents,
                    "mean": result.mean,
                    "rows": [
                        {"id": r.id, "text": r.text, "count": r.count, "percent": r.percent}
                        for r in result.rows
                    ],
                    "texts": result.texts,
                }
            )
        return ApiResponse(
            {"survey": survey.pk, "responses": self._responses(survey).count(), "questions": out}
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("question", int, required=True),
            OpenApiParameter("by", str, description="category, occupation, age_band, gender or unit"),
            OpenApiParameter(
                "unit", str, description="Base unit code for by=unit (defaults to the survey's unit)"
            ),
        ],
        responses={200: dict},
    )
    @action(detail=True, methods=["get"])
    def crosstab(self, request, pk=None):
        survey = self.get_object()
        question = survey.questions.filter(pk=request.query_params.get("question") or 0).first()
        if question is None:
            raise ValidationError({"question": "请指定本问卷的一道题"})
        by = request.query_params.get("by", "category")
        if by not in results.DIMENSIONS:
            raise ValidationError({"by": f"可选：{', '.join(results.DIMENSIONS)}"})
        base = survey.unit
        if code := request.query_params.get("unit"):
            base = (
                OrgUnit.objects.visible_to(request.user)
                .filter(code=code, path__startswith=survey.unit.path)
                .first()
            )
            if base is None:
                raise NotFound("unit")
        try:
            table = results.crosstab(question, by, base_unit=base, responses=self._responses(survey))
        except ValueError as exc:
            raise ValidationError({"question": str(exc)}) from exc
        return ApiResponse(
            {
                "question": question.pk,
                "by": by,
                "columns": [{"id": key, "text": label} for key, label in table.columns],
                "rows": [
                    {
                        "key": row["key"],
                        "label": row["label"],
                        "respondents": row["respondents"],
                        "counts": row["counts"],
                        "percents": row["percents"],
                    }
                    for row in table.rows
                ],
                "total": table.total,
            }
        )


class PortraitViewSet(viewsets.GenericViewSet):
    """A person's portrait: tags with source and reason, and rule-based recommendations."""

    queryset = Person.objects.select_related("unit", "category", "category__parent")
    serializer_class = serializers.Serializer

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)

    @extend_schema(responses={200: dict})
    def retrieve(self, request, pk=None):
        person = self.get_object()
        tags = portraits.person_tags(person)
        recs = recommend.recommend(person, tags=tags)
        return ApiResponse(
            {
                "person": person.pk,
                "tags": [
                    {"name": t.name, "group": t.group, "source": t.source, "reason": t.reason} for t in tags
                ],
                "recommendations": [
                    {
                        "kind": r.kind,
                        "id": r.target_id,
                        "title": r.title,
                        "score": r.score,
                        "reasons": r.reasons,
                    }
                    for r in recs
                ],
            }
        )


def register(router) -> None:
    """Register this app's viewsets on the /api/v1/ router."""
    router.register("surveys", SurveyViewSet, basename="survey")
    router.register("portraits", PortraitViewSet, basename="portrait")
