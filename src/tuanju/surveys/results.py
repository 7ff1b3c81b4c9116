"""Survey results: frequencies with percentages and cross-tabulations, each in grouped queries.

Percentages are of the respondents who answered the question (the way the seed reports
“微信 92.0 %、抖音 68.4 %”: a multiple-choice question's percentages add up to more than 100).
A cross-tabulation groups the answers of one question by one or more respondent dimensions —
category (the top group of the roster taxonomy), occupation (the category itself), age band,
gender, unit (the child of a base unit the respondent belongs to) — in one query; the respondents
per dimension value come from the same rows for a single-choice question and from one more
grouped query otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Avg, Count, F, IntegerField, Value
from django.db.models.functions import Coalesce, Substr

from tuanju.hierarchy.models import OrgUnit
from tuanju.people.models import Category
from tuanju.surveys.models import AGE_BAND_LABELS, AGE_BANDS, CHOICE_KINDS, Answer, Question, QuestionKind

DIMENSIONS = {
    "category": "群体类别",
    "occupation": "职业",
    "age_band": "年龄段",
    "gender": "性别",
    "unit": "所在单位",
}
GENDER_LABELS = {"M": "男", "F": "女"}
UNKNOWN = "未填写"


def pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


@dataclass
class ChoiceRow:
    id: int
    text: str
    count: int
    percent: float
    tag: str = ""


@dataclass
class QuestionResult:
    question: Question
    respondents: int
    rows: list[ChoiceRow] = field(default_factory=list)
    mean: float | None = None
    texts: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.question.kind


def frequencies(survey, responses=None, *, text_samples: int = 20) -> list[QuestionResult]:
    """Every question's result; ``responses`` narrows to a (scoped, filtered) response queryset."""
    answers = Answer.objects.filter(question__survey=survey)
    if responses is not None:
        answers = answers.filter(response__in=responses)
    questions = list(survey.questions.order_by("position", "id").prefetch_related("choices"))
    answered = dict(
        answers.order_by().values_list("question_id").annotate(n=Count("response_id", distinct=True))
    )
    per_choice = {
        (q, c): n
        for q, c, n in answers.filter(choice__isnull=False)
        .order_by()
        .values_list("question_id", "choice_id")
        .annotate(n=Count("id"))
    }
    per_value = {
        (q, v): n
        for q, v, n in answers.filter(value__isnull=False)
        .order_by()
        .values_list("question_id", "value")
        .annotate(n=Count("id"))
    }
    means = dict(
        answers.filter(value__isnull=False).order_by().values_list("question_id").annotate(m=Avg("value"))
    )
    results = []
    for question in questions:
        total = answered.get(question.pk, 0)
        result = QuestionResult(question, total)
        if question.kind in CHOICE_KINDS:
            for choice in question.choices.all():
                n = per_choice.get((question.pk, choice.pk), 0)
                result.rows.append(ChoiceRow(choice.pk, choice.text, n, pct(n, total), choice.tag))
        elif question.kind == QuestionKind.SCALE:
            for value in range(question.scale_min, question.scale_max + 1):
                n = per_value.get((question.pk, value), 0)
                result.rows.append(ChoiceRow(value, str(value), n, pct(n, total)))
            mean = means.get(question.pk)
            result.mean = round(float(mean), 2) if mean is not None else None
        else:
            result.texts = list(
                answers.filter(question=question)
                .exclude(text="")
                .order_by("-response__submitted_at")
                .values_list("text", flat=True)[:text_samples]
            )
        results.append(result)
    return results


def _dimension_expression(dimension: str, base_unit: OrgUnit | None):
    if dimension == "category":
        return Coalesce(
            F("response__category__parent_id"), F("response__category_id"), output_field=IntegerField()
        )
    if dimension == "occupation":
        return F("response__category_id")
    if dimension == "age_band":
        return F("response__age_band")
    if dimension == "gender":
        return F("response__gender")
    if dimension == "unit":
        if base_unit is None:
            raise ValueError("a cross-tabulation by unit needs a base unit")
        return Substr(F("response__unit__path"), 1, len(base_unit.path) + base_unit.steplen)
    raise ValueError(f"unknown dimension {dimension!r}; choose from {', '.join(DIMENSIONS)}")


def crosstab_counts(
    question: Question, dimensions: list[str], *, base_unit: OrgUnit | None = None, responses=None
):
    """``({(dim values…, choice or value): answers}, {(dim values…): respondents})`` in grouped queries."""
    answers = Answer.objects.filter(question=question)
    if responses is not None:
        answers = answers.filter(response__in=responses)
    if base_unit is not None and "unit" in dimensions:
        answers = answers.filter(response__unit__path__startswith=base_unit.path)
    names = [f"d{i}" for i in range(len(dimensions))]
    annotations = {
        name: _dimension_expression(dim, base_unit) for name, dim in zip(names, dimensions, strict=True)
    }
    target = "choice_id" if question.kind in CHOICE_KINDS else "value"
    grouped = answers.annotate(**annotations).order_by().values(*names, target).annotate(n=Count("id"))
    cells = {(*(row[n] for n in names), row[target]): row["n"] for row in grouped}
    if question.kind == QuestionKind.SINGLE or question.kind == QuestionKind.SCALE:
        totals: dict[tuple, int] = {}
        for key, n in cells.items():
            totals[key[:-1]] = totals.get(key[:-1], 0) + n
    else:
        rows = (
            answers.annotate(**annotations)
            .order_by()
            .values(*names)
            .annotate(n=Count("response_id", distinct=True))
        )
        totals = {tuple(row[n] for n in names): row["n"] for row in rows}
    return cells, totals


def _labels(dimension: str, keys, base_unit: OrgUnit | None) -> dict:
    keys = [k for k in keys if k not in (None, "")]
    if dimension in ("category", "occupation"):
        return dict(Category.objects.filter(pk__in=keys).values_list("pk", "name"))
    if dimension == "age_band":
        return dict(AGE_BAND_LABELS)
    if dimension == "gender":
        return dict(GENDER_LABELS)
    if dimension == "unit":
        names = dict(OrgUnit.objects.filter(path__in=keys).values_list("path", "name"))
        if base_unit is not None and base_unit.path in names:
            names[base_unit.path] = f"{base_unit.name}（本级）"
        return names
    return {}


def _order(dimension: str, keys: list, labels: dict) -> list:
    if dimension == "age_band":
        order = [code for code, *_ in AGE_BANDS]
        return sorted(keys, key=lambda k: order.index(k) if k in order else 99)
    return sorted(keys, key=lambda k: (k in (None, ""), str(labels.get(k, k))))


@dataclass
class Crosstab:
    question: Question
    dimension: str
    columns: list[tuple[object, str]]
    rows: list[dict]
    total: dict


def crosstab(
    question: Question, dimension: str, *, base_unit: OrgUnit | None = None, responses=None
) -> Crosstab:
    """A table: one row per value of ``dimension``, one column per choice (or scale value), with
    counts and row percentages, and a total row equal to the question's frequencies."""
    cells, totals = crosstab_counts(question, [dimension], base_unit=base_unit, responses=responses)
    if question.kind in CHOICE_KINDS:
        columns = [(c.pk, c.text) for c in question.choices.all()]
    elif question.kind == QuestionKind.SCALE:
        columns = [(v, str(v)) for v in range(question.scale_min, question.scale_max + 1)]
    else:
        raise ValueError("text questions are not cross-tabulated")
    labels = _labels(dimension, [k[0] for k in totals], base_unit)
    rows = []
    for (key,) in [(k[0],) for k in totals]:
        respondents = totals[(key,)]
        counts = [cells.get((key, col), 0) for col, _label in columns]
        rows.append(
            {
                "key": key,
                "label": labels.get(key, UNKNOWN) if key not in (None, "") else UNKNOWN,
                "respondents": respondents,
                "counts": counts,
                "percents": [pct(n, respondents) for n in counts],
            }
        )
    order = _order(dimension, [r["key"] for r in rows], labels)
    rows.sort(key=lambda r: order.index(r["key"]))
    all_respondents = (
        sum(totals.values())
        if question.kind != QuestionKind.MULTIPLE
        else _respondents(question, base_unit if dimension == "unit" else None, responses)
    )
    column_totals = [sum(r["counts"][i] for r in rows) for i in range(len(columns))]
    total = {
        "respondents": all_respondents,
        "counts": column_totals,
        "percents": [pct(n, all_respondents) for n in column_totals],
    }
    return Crosstab(question, dimension, columns, rows, total)


def _respondents(question: Question, base_unit, responses) -> int:
    answers = Answer.objects.filter(question=question)
    if responses is not None:
        answers = answers.filter(response__in=responses)
    if base_unit is not None:
        answers = answers.filter(response__unit__path__startswith=base_unit.path)
    return answers.values("response_id").distinct().count()


def profile_breakdown(responses) -> dict[str, list[dict]]:
    """Who answered: counts per gender, age band and category (for the results page and the PDF)."""
    out = {}
    gender = dict(responses.order_by().values_list("gender").annotate(n=Count("id")))
    out["gender"] = [
        {"label": GENDER_LABELS.get(k, UNKNOWN), "n": n}
        for k, n in sorted(gender.items(), key=lambda kv: kv[0] or "~")
    ]
    bands = dict(responses.order_by().values_list("age_band").annotate(n=Count("id")))
    out["age_band"] = [
        {"label": label, "n": bands.get(code, 0)} for code, label, *_ in AGE_BANDS if bands.get(code)
    ]
    if bands.get(""):
        out["age_band"].append({"label": UNKNOWN, "n": bands[""]})
    top = (
        responses.annotate(
            top=Coalesce(F("category__parent_id"), F("category_id"), Value(None), output_field=IntegerField())
        )
        .order_by()
        .values_list("top")
        .annotate(n=Count("id"))
    )
    names = dict(Category.objects.values_list("pk", "name"))
    out["category"] = sorted(
        ({"label": names.get(k, UNKNOWN), "n": n} for k, n in top), key=lambda r: -r["n"]
    )
    return out
