"""Public mobile (H5) survey pages: answer a survey from a QR code, link or directive; a person's
own recommendations page. No login.

One answer per device: a signed, HTTP-only device cookie whose HMAC is the respondent key (plus a
per-address rate limit, so clearing cookies does not let one phone flood a survey). One answer per
person: the key is the phone number's blind index. Skip logic runs in the page's script for
comfort and again on the server, which decides.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.core import signing
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from tuanju.appeals import device, ratelimit
from tuanju.appeals.h5 import limited
from tuanju.people.models import Person
from tuanju.surveys import actions, recommend, tokens
from tuanju.surveys.forms import ProfileForm, RespondentForm
from tuanju.surveys.models import Channel, Mode, OnePer, QuestionKind, Response, Survey

STARTED_SALT = "tuanju.surveys.started"
RECEIPT_SALT = "tuanju.surveys.receipt"


def _survey_for(token: str):
    link = tokens.read_survey_token(token)
    if link is None:
        return None, None
    survey = Survey.objects.select_related("unit").filter(pk=link.survey_id).first()
    if survey is None or survey.access_nonce != link.nonce:
        return None, None
    return survey, link


def parse_answers(post, structure: actions.Structure) -> dict[int, object]:
    raw: dict[int, object] = {}
    for question in structure.questions:
        name = f"q{question.pk}"
        if question.kind == QuestionKind.MULTIPLE:
            values = []
            for item in post.getlist(name):
                try:
                    values.append(int(item))
                except ValueError:
                    values.append(-1)
            raw[question.pk] = set(values)
        elif question.kind in (QuestionKind.SINGLE, QuestionKind.SCALE):
            value = post.get(name, "")
            try:
                raw[question.pk] = int(value) if value != "" else None
            except ValueError:
                raw[question.pk] = -1
        else:
            raw[question.pk] = post.get(name, "")
    return raw


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def answer(request, token):
    decision = ratelimit.hit("survey-ip", ratelimit.client_ip(request))
    if not decision.allowed:
        return limited(request, decision)
    survey, link = _survey_for(token)
    if survey is None:
        raise Http404
    dev, is_new = device.device_id(request)
    if not survey.is_open:
        return render(
            request,
            "surveys/h5/closed.html",
            {"survey": survey},
            status=410 if survey.status == "closed" else 200,
        )
    structure = actions.Structure.load(survey)
    respondent_form = (
        RespondentForm(request.POST or None, prefix="r") if survey.mode == Mode.REAL_NAME else None
    )
    profile_form = (
        ProfileForm(request.POST or None, unit=survey.unit, prefix="p") if survey.ask_profile else None
    )
    respondent = actions.Respondent(device=device.key(dev, "survey"))
    errors: dict[str, str] = {}
    given: dict[int, object] = {}
    if survey.one_per == OnePer.DEVICE and actions.already_answered(survey, respondent):
        return _with_cookie(render(request, "surveys/h5/already.html", {"survey": survey}), dev, is_new)
    if request.method == "POST":
        decision = ratelimit.hit("survey-submit-ip", ratelimit.client_ip(request))
        if not decision.allowed:
            return limited(request, decision)
        given = parse_answers(request.POST, structure)
        forms_ok = all(f is None or f.is_valid() for f in (respondent_form, profile_form))
        if forms_ok:
            if respondent_form is not None:
                respondent.name = respondent_form.cleaned_data["name"]
                respondent.phone = respondent_form.cleaned_data["phone"]
            if profile_form is not None:
                data = profile_form.cleaned_data
                respondent.gender = data.get("gender") or ""
                respondent.age = data.get("age")
                respondent.category_id = data["category"].pk if data.get("category") else None
                respondent.unit_id = data["area"].pk if data.get("area") else None
            try:
                started = signing.loads(request.POST.get("started", ""), salt=STARTED_SALT, max_age=86400)
                started_at = datetime.fromtimestamp(int(started), tz=UTC)
            except (signing.BadSignature, TypeError, ValueError):
                started_at = None
            try:
                response = actions.submit(
                    survey,
                    given,
                    respondent,
                    channel=link.channel,
                    directive=link.directive,
                    started_at=started_at,
                    structure=structure,
                )
            except actions.AlreadyAnswered:
                return _with_cookie(
                    render(request, "surveys/h5/already.html", {"survey": survey}), dev, is_new
                )
            except actions.SurveyError as exc:
                errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
                errors = {
                    key: " ".join(value) if isinstance(value, list) else value
                    for key, value in errors.items()
                }
                for key in ("name", "phone"):
                    if key in errors and respondent_form is not None:
                        respondent_form.add_error(key, errors[key])
            else:
                receipt = signing.dumps({"r": response.pk}, salt=RECEIPT_SALT, compress=True)
                return _with_cookie(redirect("h5-surveys:thanks", receipt=receipt), dev, is_new)
    for question in structure.questions:
        question.loaded_choices = structure.choices.get(question.pk, [])
        question.error = errors.get(f"q{question.pk}", "")
        question.given = given.get(question.pk)
        question.scale_values = (
            list(range(question.scale_min, question.scale_max + 1))
            if question.kind == QuestionKind.SCALE
            else []
        )
    context = {
        "survey": survey,
        "questions": structure.questions,
        "rules": structure.rules_json(),
        "respondent_form": respondent_form,
        "profile_form": profile_form,
        "errors": errors,
        "general_error": errors.get("__all__", ""),
        "started": signing.dumps(int(time.time()), salt=STARTED_SALT),
    }
    status = 400 if errors else 200
    return _with_cookie(render(request, "surveys/h5/answer.html", context, status=status), dev, is_new)


def _with_cookie(response, dev: str, is_new: bool):
    if is_new:
        device.remember(response, dev)
    return response


@never_cache
@require_GET
def thanks(request, receipt):
    try:
        pk = int(signing.loads(receipt, salt=RECEIPT_SALT, max_age=3600)["r"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise Http404 from exc
    response = (
        Response.objects.select_related("survey", "person", "person__unit", "person__category")
        .filter(pk=pk)
        .first()
    )
    if response is None:
        raise Http404
    recommendations, inbox = [], ""
    if response.person_id:
        recommendations = recommend.recommend(response.person, limit=3)
        inbox = tokens.person_token(response.person)
    return render(
        request,
        "surveys/h5/thanks.html",
        {"survey": response.survey, "recommendations": recommendations, "inbox": inbox},
    )


@never_cache
@require_GET
def inbox(request, token):
    """A young person's recommendations (communities, stations…) with the reasons, from a signed link."""
    decision = ratelimit.hit("h5-view-ip", ratelimit.client_ip(request))
    if not decision.allowed:
        return limited(request, decision)
    pk = tokens.read_person_token(token)
    person = (
        Person.objects.select_related("unit", "category", "category__parent").filter(pk=pk).first()
        if pk
        else None
    )
    if person is None:
        raise Http404
    open_surveys = (
        Survey.objects.filter(
            status="published",
            unit__path__in=[person.unit.path[:i] for i in range(4, len(person.unit.path) + 1, 4)],
        )
        .exclude(responses__person=person)
        .order_by("-published_at")[:5]
    )
    return render(
        request,
        "surveys/h5/inbox.html",
        {
            "person": person,
            "recommendations": recommend.recommend(person),
            "surveys": [(s, tokens.survey_token(s, Channel.LINK)) for s in open_surveys if s.is_open],
        },
    )
