"""Surveys for staff: list, builder (questions, choices, skip logic), publishing by QR code and
link, results with cross-tabulation and charts, raw-answer export, PDF report; portraits of a
person and of a group with recommendations.

Scope: ``Survey.objects.visible_to(user)`` / ``Person.objects.visible_to(user)`` everywhere.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tuanju.appeals import qr
from tuanju.core.views import paginate
from tuanju.hierarchy.models import OrgUnit
from tuanju.people.models import Category, Person
from tuanju.surveys import actions, exporting, portraits, recommend, results, tokens
from tuanju.surveys.forms import QuestionForm, SurveyForm
from tuanju.surveys.models import (
    CHOICE_KINDS,
    Choice,
    Question,
    QuestionKind,
    Response,
    SkipRule,
    Survey,
    SurveyStatus,
)


def _visible(request, pk) -> Survey:
    return get_object_or_404(
        Survey.objects.visible_to(request.user).select_related("unit", "created_by"), pk=pk
    )


def _writer(request) -> None:
    if not request.user.can_write or request.user.department_id:
        raise PermissionDenied(_("Your role may not change surveys."))


def _errors(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# --- List and settings --------------------------------------------------------------------------


@login_required
@require_GET
def survey_list(request):
    surveys = Survey.objects.visible_to(request.user).select_related("unit")
    status = request.GET.get("status", "")
    if status in SurveyStatus.values:
        surveys = surveys.filter(status=status)
    if term := request.GET.get("q", "").strip()[:50]:
        surveys = surveys.filter(title__contains=term)
    return render(
        request,
        "surveys/list.html",
        {
            "page_obj": paginate(request, surveys.order_by("-created_at", "-pk")),
            "statuses": SurveyStatus.choices,
            "status": status,
            "q": request.GET.get("q", ""),
            "can_write": request.user.can_write and not request.user.department_id,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def survey_edit(request, pk=None):
    _writer(request)
    survey = _visible(request, pk) if pk else None
    initial = None
    if survey is not None:
        initial = {f: getattr(survey, f) for f in actions.SURVEY_FIELDS if f != "unit"} | {
            "unit": survey.unit.code
        }
    form = SurveyForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = actions.save_survey(survey or Survey(), data=form.cleaned_data, actor=request.user)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                form.add_error(None, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("surveys:detail", pk=saved.pk)
    title = survey.title if survey else _("New survey")
    return render(request, "surveys/form.html", {"form": form, "title": title, "survey": survey})


# --- Builder -----------------------------------------------------------------------------------------


def _builder_context(request, survey: Survey, **extra) -> dict:
    structure = actions.Structure.load(survey)
    questions = structure.questions
    for question in questions:
        question.loaded_choices = structure.choices.get(question.pk, [])
        question.loaded_rules = structure.rules.get(question.pk, [])
        question.later = [q for q in questions if (q.position, q.pk) > (question.position, question.pk)]
    editable = survey.status == SurveyStatus.DRAFT or not survey.responses.exists()
    can_write = request.user.can_write and not request.user.department_id
    context = {
        "survey": survey,
        "questions": questions,
        "question_form": QuestionForm(
            initial={"kind": QuestionKind.SINGLE, "required": True, "scale_min": 1, "scale_max": 5}
        ),
        "editable": editable and can_write,
        "can_write": can_write,
        "choice_kinds": CHOICE_KINDS,
    }
    context.update(extra)
    return context


@login_required
@require_GET
def survey_detail(request, pk):
    survey = _visible(request, pk)
    return render(request, "surveys/detail.html", _builder_context(request, survey))


@login_required
@require_http_methods(["GET", "POST"])
def question_edit(request, pk, question_pk=None):
    _writer(request)
    survey = _visible(request, pk)
    question = get_object_or_404(Question, pk=question_pk, survey=survey) if question_pk else None
    initial = QuestionForm.initial_from(question) if question else None
    form = QuestionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_question(survey, question, actor=request.user, **form.action_kwargs())
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                form.add_error(None, exc)
        else:
            messages.success(request, _("Question saved."))
            return redirect(f"{reverse('surveys:detail', args=[survey.pk])}#questions")
    if request.method == "POST" and question is None:
        return render(
            request, "surveys/detail.html", _builder_context(request, survey, question_form=form), status=400
        )
    return render(
        request, "surveys/question_form.html", {"form": form, "survey": survey, "question": question}
    )


@login_required
@require_POST
def question_delete(request, pk, question_pk):
    _writer(request)
    survey = _visible(request, pk)
    question = get_object_or_404(Question, pk=question_pk, survey=survey)
    try:
        actions.delete_question(question, actor=request.user)
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("surveys:detail", pk=survey.pk)


@login_required
@require_POST
def question_move(request, pk, question_pk):
    _writer(request)
    survey = _visible(request, pk)
    question = get_object_or_404(Question, pk=question_pk, survey=survey)
    try:
        actions.move_question(
            question, actor=request.user, offset=-1 if request.POST.get("direction") == "up" else 1
        )
    except ValidationError as exc:
        _errors(request, exc)
    return redirect(f"{reverse('surveys:detail', args=[survey.pk])}#q{question.pk}")


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
@require_POST
def rule_add(request, pk, question_pk):
    _writer(request)
    survey = _visible(request, pk)
    question = get_object_or_404(Question, pk=question_pk, survey=survey)
    target_value = request.POST.get("target", "")
    target = (
        None
        if target_value == "end"
        else Question.objects.filter(survey=survey, pk=_int(target_value)).first()
    )
    if target_value != "end" and target is None:
        messages.error(request, "请选择跳转到的题目或“结束问卷”")
        return redirect(f"{reverse('surveys:detail', args=[survey.pk])}#q{question.pk}")
    choice = Choice.objects.filter(question=question, pk=_int(request.POST.get("choice"))).first()
    try:
        actions.add_rule(
            question,
            actor=request.user,
            target=target,
            choice=choice,
            min_value=_int(request.POST.get("min_value")),
            max_value=_int(request.POST.get("max_value")),
        )
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Skip rule added."))
    return redirect(f"{reverse('surveys:detail', args=[survey.pk])}#q{question.pk}")


@login_required
@require_POST
def rule_delete(request, pk, rule_pk):
    _writer(request)
    survey = _visible(request, pk)
    rule = get_object_or_404(SkipRule, pk=rule_pk, question__survey=survey)
    try:
        actions.delete_rule(rule, actor=request.user)
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("surveys:detail", pk=survey.pk)


# --- Publishing ------------------------------------------------------------------------------------


@login_required
@require_POST
def survey_publish(request, pk):
    _writer(request)
    survey = _visible(request, pk)
    try:
        actions.publish(survey, actor=request.user)
    except ValidationError as exc:
        _errors(request, exc)
        return redirect("surveys:detail", pk=survey.pk)
    messages.success(request, _("The survey is open for answers."))
    return redirect("surveys:publish", pk=survey.pk)


@login_required
@require_POST
def survey_close(request, pk):
    _writer(request)
    survey = _visible(request, pk)
    try:
        actions.close(survey, actor=request.user)
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("surveys:detail", pk=survey.pk)


@login_required
@require_POST
def survey_rotate(request, pk):
    _writer(request)
    survey = _visible(request, pk)
    actions.rotate_links(survey, actor=request.user)
    messages.success(request, _("New links made; the old links and QR codes no longer work."))
    return redirect("surveys:publish", pk=survey.pk)


@login_required
@require_GET
def survey_publish_page(request, pk):
    survey = _visible(request, pk)
    link = qr.absolute(request, reverse("h5-surveys:answer", args=[tokens.survey_token(survey, "link")]))
    qr_link = qr.absolute(request, reverse("h5-surveys:answer", args=[tokens.survey_token(survey, "qr")]))
    if request.GET.get("format") == "svg":
        response = HttpResponse(qr.svg_bytes(qr_link), content_type="image/svg+xml")
        response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}-qr.svg"'
        return response
    by_channel = dict(survey.responses.order_by().values_list("channel").annotate(n=Count("pk")))
    return render(
        request,
        "surveys/publish.html",
        {
            "survey": survey,
            "link": link,
            "qr_link": qr_link,
            "qr": qr.svg_data_uri(qr_link, scale=7),
            "by_channel": by_channel,
            "can_write": request.user.can_write and not request.user.department_id,
        },
    )


# --- Results ---------------------------------------------------------------------------------------


def _base_unit(request, survey: Survey) -> OrgUnit:
    code = request.GET.get("unit", "").strip()[:32]
    if code:
        unit = (
            OrgUnit.objects.visible_to(request.user)
            .filter(code=code, path__startswith=survey.unit.path)
            .first()
        )
        if unit is not None:
            return unit
    return survey.unit


def _responses(request, survey: Survey, base: OrgUnit):
    responses = Response.objects.visible_to(request.user).filter(survey=survey)
    if base.pk != survey.unit_id:
        responses = responses.filter(unit__path__startswith=base.path)
    category = _int(request.GET.get("category"))
    if category:
        responses = responses.filter(
            category__in=Category.objects.filter(pk=category) | Category.objects.filter(parent_id=category)
        )
    return responses


@login_required
@require_GET
def survey_results(request, pk):
    survey = _visible(request, pk)
    base = _base_unit(request, survey)
    responses = _responses(request, survey, base)
    by = request.GET.get("by", "category")
    if by not in results.DIMENSIONS:
        by = "category"
    frequencies = results.frequencies(survey, responses)
    chartable = [r for r in frequencies if r.kind != QuestionKind.TEXT]
    question = None
    table = None
    question_pk = _int(request.GET.get("question"))
    if chartable:
        question = next(
            (r.question for r in chartable if r.question.pk == question_pk), chartable[0].question
        )
        table = results.crosstab(question, by, base_unit=base, responses=responses)
    charts = [
        {
            "id": r.question.pk,
            "labels": [row.text for row in r.rows],
            "percents": [row.percent for row in r.rows],
            "counts": [row.count for row in r.rows],
        }
        for r in chartable
    ]
    crosstab_chart = None
    if table is not None:
        crosstab_chart = {
            "rows": [row["label"] for row in table.rows],
            "series": [
                {"name": label, "data": [row["percents"][i] for row in table.rows]}
                for i, (_key, label) in enumerate(table.columns)
            ],
        }
    context = {
        "survey": survey,
        "results": frequencies,
        "respondents": responses.count(),
        "profile": results.profile_breakdown(responses),
        "dimensions": results.DIMENSIONS.items(),
        "by": by,
        "question": question,
        "chartable": chartable,
        "table": table,
        "charts": charts,
        "crosstab_chart": crosstab_chart,
        "base": base,
        "units": OrgUnit.objects.filter(
            path__startswith=survey.unit.path, depth=survey.unit.depth + 1
        ).order_by("code")[:200],
        "categories": Category.objects.filter(parent__isnull=True),
        "category": request.GET.get("category", ""),
    }
    return render(request, "surveys/results.html", context)


@login_required
@require_GET
def survey_export(request, pk):
    survey = _visible(request, pk)
    responses = _responses(request, survey, _base_unit(request, survey))
    handle = exporting.to_tempfile(survey, responses, actor=request.user)
    return FileResponse(
        handle, as_attachment=True, filename=f"{survey.title[:40]}-答卷-{timezone.localdate():%Y%m%d}.xlsx"
    )


@login_required
@require_GET
def survey_report(request, pk):
    from tuanju.surveys.report import render_pdf

    survey = _visible(request, pk)
    base = _base_unit(request, survey)
    responses = _responses(request, survey, base)
    by = request.GET.get("by", "category")
    pdf = render_pdf(
        survey,
        responses,
        actor=request.user,
        crosstab_by=by if by in results.DIMENSIONS else "category",
        base_unit=base,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}-report.pdf"'
    return response


@login_required
@require_GET
def survey_responses(request, pk):
    survey = _visible(request, pk)
    responses = (
        Response.objects.visible_to(request.user)
        .filter(survey=survey)
        .select_related("unit", "category", "person")
    )
    return render(
        request, "surveys/responses.html", {"survey": survey, "page_obj": paginate(request, responses)}
    )


@login_required
@require_POST
def response_delete(request, pk, response_pk):
    _writer(request)
    survey = _visible(request, pk)
    response = get_object_or_404(Response, pk=response_pk, survey=survey)
    actions.delete_response(response, actor=request.user)
    messages.success(request, _("Answer deleted."))
    return redirect("surveys:responses", pk=survey.pk)


# --- Portraits -------------------------------------------------------------------------------------


@login_required
@require_GET
def person_portrait(request, person_pk):
    person = get_object_or_404(
        Person.objects.visible_to(request.user).select_related("unit", "category", "category__parent"),
        pk=person_pk,
    )
    tags = portraits.person_tags(person)
    recommendations = recommend.recommend(person, tags=tags)
    inbox = qr.absolute(request, reverse("h5-surveys:inbox", args=[tokens.person_token(person)]))
    return render(
        request,
        "surveys/portrait_person.html",
        {
            "person": person,
            "breadcrumb": person.unit.breadcrumb(),
            "groups": portraits.grouped(tags),
            "recommendations": recommendations,
            "inbox": inbox,
            "responses": person.survey_responses.select_related("survey").order_by("-submitted_at")[:20],
        },
    )


@login_required
@require_GET
def group_portrait(request):
    if request.user.department_id:
        raise Http404
    code = request.GET.get("unit", "").strip()[:32]
    unit = OrgUnit.objects.visible_to(request.user).filter(code=code).first() if code else request.user.unit
    if unit is None:
        unit = OrgUnit.objects.visible_to(request.user).order_by("depth", "path").first()
    if unit is None:
        raise Http404
    category = Category.objects.filter(pk=_int(request.GET.get("category"))).first()
    people = Person.objects.visible_to(request.user).filter(unit__path__startswith=unit.path)
    if category is not None:
        people = people.filter(category__in=[category, *category.children.all()])
    total, tags = portraits.group_portrait(people)
    needs = portraits.respondent_needs(unit, category)
    communities = _group_communities(unit, needs, tags)
    children = OrgUnit.objects.filter(path__startswith=unit.path, depth=unit.depth + 1).order_by("code")[:200]
    return render(
        request,
        "surveys/portrait_group.html",
        {
            "unit": unit,
            "breadcrumb": unit.breadcrumb(),
            "category": category,
            "categories": Category.objects.select_related("parent"),
            "children": children,
            "total": total,
            "tags": tags,
            "needs": needs,
            "communities": communities,
            "chart": [{"name": t.name, "value": t.percent} for t in tags[:20]],
        },
    )


def _group_communities(unit, needs, tags) -> list[dict]:
    """Communities under the unit worth promoting to the group, with the shares that make them fit."""
    community_model, _member = recommend.CommunitySource().models()
    if community_model is None:
        return []
    shares: dict[str, tuple[float, str]] = {}
    for need in needs:
        shares[need["tag"]] = (need["percent"], f"{need['percent']}%的答卷人选择了“{need['tag']}”")
    for tag in tags:
        if tag.group == "interest" and tag.percent > shares.get(tag.name, (0, ""))[0]:
            shares[tag.name] = (tag.percent, f"{tag.percent}%的青年有“{tag.name}”标签")
    found = []
    for community in community_model.objects.filter(
        is_open=True, unit__path__startswith=unit.path[:16]
    ).select_related("category", "unit")[:300]:
        reasons, score = [], 0.0
        for tag, categories in recommend.COMMUNITY_CATEGORIES.items():
            if community.category.name in categories and tag in shares:
                score += shares[tag][0]
                reasons.append(shares[tag][1])
        if reasons:
            found.append({"community": community, "score": round(score, 1), "reasons": reasons})
    found.sort(key=lambda r: -r["score"])
    return found[:10]


@login_required
@require_GET
def community_audience(request, community_pk):
    """Who in the caller's scope should be told about a community, with the reasons."""
    community_model, _member = recommend.CommunitySource().models()
    if community_model is None:
        raise Http404
    community = get_object_or_404(
        community_model.objects.visible_to(request.user).select_related("category", "unit"), pk=community_pk
    )
    people = Person.objects.visible_to(request.user).filter(unit__path__startswith=community.unit.path[:16])
    audience = recommend.community_audience(community, people, limit=100)
    return render(request, "surveys/audience.html", {"community": community, "audience": audience})
