"""Domain operations on surveys: building, publishing, answering (with skip logic and the
one-answer rule). Views, API, commands and the demo call these; every write is audit-logged."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.dispatch import Signal
from django.utils import timezone
from django.utils.crypto import salted_hmac

from tuanju.audit.actions import record
from tuanju.core.crypto import cipher
from tuanju.core.scope import user_sees_unit
from tuanju.surveys.models import (
    CHOICE_KINDS,
    Answer,
    Channel,
    Choice,
    Mode,
    OnePer,
    Question,
    QuestionKind,
    Response,
    SkipRule,
    Survey,
    SurveyStatus,
    age_band,
)

MAX_TEXT = 1000
MAX_CHOICES = 30
MAX_SCALE_POINTS = 11

#: Sent after a survey is published: ``survey``, ``actor``, ``links`` ({channel: path}). The
#: mobilization app (C8) listens to send it down the tower groups as a directive.
survey_published = Signal()


class SurveyError(ValidationError):
    pass


class AlreadyAnswered(SurveyError):
    pass


def _require_writer(actor, survey: Survey | None = None) -> None:
    if actor is None or not actor.can_write or getattr(actor, "department_id", None):
        raise PermissionDenied("当前账号不能编辑调研问卷")
    if survey is not None and not user_sees_unit(actor, survey.unit):
        raise PermissionDenied("问卷不在您的管辖范围内")


def _require_editable(survey: Survey) -> None:
    if survey.status != SurveyStatus.DRAFT and survey.responses.exists():
        raise SurveyError("问卷已有答卷，不能再修改题目和选项（可复制为新问卷）")


# --- Building -------------------------------------------------------------------------------------


SURVEY_FIELDS = [
    "unit",
    "title",
    "description",
    "thank_you",
    "mode",
    "one_per",
    "ask_profile",
    "opens_at",
    "closes_at",
]


@transaction.atomic
def save_survey(survey: Survey, *, data: dict, actor) -> Survey:
    _require_writer(actor)
    creating = survey.pk is None
    before = {} if creating else {f: str(getattr(survey, f)) for f in SURVEY_FIELDS}
    for key, value in data.items():
        setattr(survey, key, value)
    if not user_sees_unit(actor, survey.unit):
        raise SurveyError({"unit": "单位不在您的管辖范围内"})
    if survey.one_per == OnePer.PERSON and survey.mode != Mode.REAL_NAME:
        raise SurveyError({"one_per": "“每人一份”需要实名问卷（按手机号识别）"})
    if survey.opens_at and survey.closes_at and survey.closes_at <= survey.opens_at:
        raise SurveyError({"closes_at": "截止时间应晚于开始时间"})
    if creating:
        survey.created_by = actor
    survey.full_clean()
    survey.save()
    after = {f: str(getattr(survey, f)) for f in SURVEY_FIELDS}
    record(
        actor,
        "create" if creating else "update",
        survey,
        details={"changes": {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}},
    )
    return survey


@dataclass
class ChoiceSpec:
    text: str
    tag: str = ""


def parse_choices(text: str) -> list[ChoiceSpec]:
    """One choice per line; ``文字 #标签`` gives the choice a portrait tag."""
    specs = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        label, _sep, tag = line.partition("#")
        label, tag = label.strip()[:100], tag.strip()[:20]
        if label:
            specs.append(ChoiceSpec(label, tag))
    return specs


def _validate_question(
    kind: str, text: str, choices: list[ChoiceSpec], scale_min: int, scale_max: int, max_choices
):
    errors = {}
    if not (text or "").strip():
        errors["text"] = "请填写题目"
    if kind in CHOICE_KINDS:
        if len(choices) < 2:
            errors["choices"] = "选择题至少需要两个选项"
        elif len(choices) > MAX_CHOICES:
            errors["choices"] = f"选项不能超过{MAX_CHOICES}个"
        elif len({c.text for c in choices}) != len(choices):
            errors["choices"] = "选项不能重复"
        if kind == QuestionKind.MULTIPLE and max_choices is not None and not 1 <= max_choices <= len(choices):
            errors["max_choices"] = "最多可选数应在1与选项数之间"
    if kind == QuestionKind.SCALE and not (
        scale_min < scale_max and scale_max - scale_min + 1 <= MAX_SCALE_POINTS
    ):
        errors["scale_max"] = f"量表范围应为2至{MAX_SCALE_POINTS}级"
    if errors:
        raise SurveyError(errors)


@transaction.atomic
def save_question(
    survey: Survey,
    question: Question | None,
    *,
    actor,
    kind: str,
    text: str,
    required: bool = True,
    help_text: str = "",
    choices: list[ChoiceSpec] | None = None,
    max_choices: int | None = None,
    scale_min: int = 1,
    scale_max: int = 5,
    scale_min_label: str = "",
    scale_max_label: str = "",
) -> Question:
    _require_writer(actor, survey)
    _require_editable(survey)
    choices = choices or []
    _validate_question(kind, text, choices, scale_min, scale_max, max_choices)
    creating = question is None
    if creating:
        last = survey.questions.order_by("-position").values_list("position", flat=True).first()
        question = Question(survey=survey, position=0 if last is None else last + 1)
    question.kind = kind
    question.text = text.strip()[:300]
    question.help_text = (help_text or "").strip()[:200]
    question.required = required
    question.max_choices = max_choices if kind == QuestionKind.MULTIPLE else None
    question.scale_min, question.scale_max = scale_min, scale_max
    question.scale_min_label, question.scale_max_label = scale_min_label[:20], scale_max_label[:20]
    question.save()
    if kind in CHOICE_KINDS:
        existing = {c.text: c for c in question.choices.all()}
        keep = []
        for position, spec in enumerate(choices):
            choice = existing.get(spec.text) or Choice(question=question, text=spec.text)
            choice.position, choice.tag = position, spec.tag
            choice.save()
            keep.append(choice.pk)
        question.choices.exclude(pk__in=keep).delete()
    else:
        question.choices.all().delete()
        question.rules.filter(choice__isnull=False).delete()
    record(actor, "create" if creating else "update", survey, details={"question": question.pk, "kind": kind})
    return question


@transaction.atomic
def delete_question(question: Question, *, actor) -> None:
    survey = question.survey
    _require_writer(actor, survey)
    _require_editable(survey)
    pk = question.pk
    question.delete()
    for position, q in enumerate(survey.questions.order_by("position", "id")):
        if q.position != position:
            Question.objects.filter(pk=q.pk).update(position=position)
    record(actor, "update", survey, details={"question_deleted": pk})


@transaction.atomic
def move_question(question: Question, *, actor, offset: int) -> None:
    survey = question.survey
    _require_writer(actor, survey)
    _require_editable(survey)
    ordered = list(survey.questions.order_by("position", "id"))
    index = ordered.index(question)
    target = max(0, min(len(ordered) - 1, index + offset))
    ordered.insert(target, ordered.pop(index))
    for position, q in enumerate(ordered):
        Question.objects.filter(pk=q.pk).update(position=position)
    # a jump must go forward: drop rules the new order turned backwards
    positions = {q.pk: n for n, q in enumerate(ordered)}
    for rule in SkipRule.objects.filter(question__survey=survey, target__isnull=False):
        if positions[rule.target_id] <= positions[rule.question_id]:
            rule.delete()
    record(actor, "update", survey, details={"question_moved": question.pk, "to": target})


@transaction.atomic
def add_rule(
    question: Question,
    *,
    actor,
    target: Question | None,
    choice: Choice | None = None,
    min_value: int | None = None,
    max_value: int | None = None,
) -> SkipRule:
    """Skip logic: after ``question``, when the answer matches, go to ``target`` (None: end the survey)."""
    survey = question.survey
    _require_writer(actor, survey)
    _require_editable(survey)
    if question.kind in CHOICE_KINDS:
        if choice is None or choice.question_id != question.pk:
            raise SurveyError({"choice": "请选择本题的一个选项"})
    elif question.kind == QuestionKind.SCALE:
        if min_value is None and max_value is None:
            raise SurveyError({"min_value": "请填写触发跳转的分值范围"})
        choice = None
    else:
        raise SurveyError("填空题不能设置跳转")
    if target is not None:
        if target.survey_id != survey.pk:
            raise SurveyError({"target": "跳转目标不在本问卷中"})
        if (target.position, target.pk) <= (question.position, question.pk):
            raise SurveyError({"target": "只能跳转到后面的题目"})
    rule = SkipRule.objects.create(
        question=question, choice=choice, min_value=min_value, max_value=max_value, target=target
    )
    record(
        actor,
        "update",
        survey,
        details={"rule": rule.pk, "question": question.pk, "target": target.pk if target else "end"},
    )
    return rule


@transaction.atomic
def delete_rule(rule: SkipRule, *, actor) -> None:
    survey = rule.question.survey
    _require_writer(actor, survey)
    _require_editable(survey)
    record(actor, "update", survey, details={"rule_deleted": rule.pk})
    rule.delete()


# --- Publishing -----------------------------------------------------------------------------------


@transaction.atomic
def publish(survey: Survey, *, actor) -> Survey:
    from django.urls import reverse

    from tuanju.surveys import tokens

    _require_writer(actor, survey)
    if survey.status == SurveyStatus.PUBLISHED:
        return survey
    if not survey.questions.exists():
        raise SurveyError("问卷还没有题目")
    empty = [q.number for q in survey.questions.filter(kind__in=CHOICE_KINDS) if q.choices.count() < 2]
    if empty:
        raise SurveyError(f"第{'、'.join(map(str, empty))}题的选项不足两个")
    survey.status = SurveyStatus.PUBLISHED
    survey.published_at = survey.published_at or timezone.now()
    survey.closed_at = None
    survey.save()
    record(actor, "publish", survey, details={"mode": survey.mode, "one_per": survey.one_per})
    links = {c: reverse("h5-surveys:answer", args=[tokens.survey_token(survey, c)]) for c in ("qr", "link")}
    transaction.on_commit(
        lambda: survey_published.send(sender=Survey, survey=survey, actor=actor, links=links)
    )
    return survey


@transaction.atomic
def close(survey: Survey, *, actor) -> Survey:
    _require_writer(actor, survey)
    if survey.status != SurveyStatus.PUBLISHED:
        raise SurveyError("只有正在收集的问卷可以结束")
    survey.status, survey.closed_at = SurveyStatus.CLOSED, timezone.now()
    survey.save()
    record(actor, "close", survey, details={"responses": survey.response_count})
    return survey


def rotate_links(survey: Survey, *, actor) -> Survey:
    from tuanju.surveys.models import new_nonce

    _require_writer(actor, survey)
    survey.access_nonce = new_nonce()
    survey.save(update_fields=["access_nonce", "updated_at"])
    record(actor, "update", survey, details={"links": "rotated"})
    return survey


def directive_link(survey: Survey, directive_id: int) -> str:
    """The H5 path to send with a directive (C8); answers through it are counted for that directive."""
    from django.urls import reverse

    from tuanju.surveys import tokens

    return reverse("h5-surveys:answer", args=[tokens.survey_token(survey, Channel.DIRECTIVE, directive_id)])


# --- Answering ------------------------------------------------------------------------------------


@dataclass
class Structure:
    """A survey's questions, choices and rules, loaded once (the H5 page and each submission use it)."""

    survey: Survey
    questions: list[Question]
    choices: dict[int, list[Choice]] = field(default_factory=dict)
    rules: dict[int, list[SkipRule]] = field(default_factory=dict)

    @classmethod
    def load(cls, survey: Survey) -> Structure:
        questions = list(survey.questions.order_by("position", "id"))
        choices: dict[int, list[Choice]] = {}
        for choice in Choice.objects.filter(question__survey=survey).order_by("position", "id"):
            choices.setdefault(choice.question_id, []).append(choice)
        rules: dict[int, list[SkipRule]] = {}
        for rule in SkipRule.objects.filter(question__survey=survey).order_by("id"):
            rules.setdefault(rule.question_id, []).append(rule)
        return cls(survey, questions, choices, rules)

    def rule_fires(self, rule: SkipRule, answer) -> bool:
        if answer is None or answer == "" or answer == set():
            return False
        if rule.choice_id is not None:
            return rule.choice_id == answer or (isinstance(answer, set) and rule.choice_id in answer)
        if isinstance(answer, int):
            low = rule.min_value if rule.min_value is not None else -32768
            high = rule.max_value if rule.max_value is not None else 32767
            return low <= answer <= high
        return False

    def path(self, answers: dict[int, object]) -> list[Question]:
        """The questions a respondent with ``answers`` is asked, following the skip rules in order."""
        index = {q.pk: n for n, q in enumerate(self.questions)}
        shown, i = [], 0
        while i < len(self.questions):
            question = self.questions[i]
            shown.append(question)
            fired = next(
                (r for r in self.rules.get(question.pk, []) if self.rule_fires(r, answers.get(question.pk))),
                None,
            )
            if fired is None:
                i += 1
            elif fired.target_id is None:
                break
            else:
                i = max(i + 1, index.get(fired.target_id, i + 1))
        return shown

    def rules_json(self) -> list[dict]:
        """The rules for the page's script (the server applies them again on submit)."""
        return [
            {
                "q": rule.question_id,
                "choice": rule.choice_id,
                "min": rule.min_value,
                "max": rule.max_value,
                "target": rule.target_id,
            }
            for rules in self.rules.values()
            for rule in rules
        ]


@dataclass
class Respondent:
    name: str = ""
    phone: str = ""
    gender: str = ""
    age: int | None = None
    category_id: int | None = None
    unit_id: int | None = None
    device: str = ""


def clean_answers(structure: Structure, raw: dict[int, object]) -> tuple[dict[int, object], dict[str, str]]:
    """Check each given answer against its question: choice ids of the question, limits, ranges."""
    answers, errors = {}, {}
    by_id = {q.pk: q for q in structure.questions}
    for qid, value in raw.items():
        question = by_id.get(qid)
        if question is None:
            continue
        allowed = {c.pk for c in structure.choices.get(qid, [])}
        key = f"q{qid}"
        if question.kind == QuestionKind.SINGLE:
            if value in (None, ""):
                continue
            if value not in allowed:
                errors[key] = "请选择有效的选项"
                continue
            answers[qid] = value
        elif question.kind == QuestionKind.MULTIPLE:
            chosen = set(value or [])
            if not chosen:
                continue
            if not chosen <= allowed:
                errors[key] = "请选择有效的选项"
            elif question.max_choices and len(chosen) > question.max_choices:
                errors[key] = f"最多选择{question.max_choices}项"
            else:
                answers[qid] = chosen
        elif question.kind == QuestionKind.SCALE:
            if value in (None, ""):
                continue
            if not isinstance(value, int) or not question.scale_min <= value <= question.scale_max:
                errors[key] = f"请在{question.scale_min}至{question.scale_max}之间选择"
                continue
            answers[qid] = value
        else:
            text = str(value or "").strip()
            if len(text) > MAX_TEXT:
                errors[key] = f"不能超过{MAX_TEXT}个字"
            elif text:
                answers[qid] = text
    return answers, errors


def respondent_key(survey: Survey, respondent: Respondent) -> str:
    if survey.one_per == OnePer.PERSON:
        basis = "phone:" + (cipher().blind_index(respondent.phone) or "")
    else:
        basis = "device:" + respondent.device
    return salted_hmac("tuanju.surveys.respondent", f"{survey.pk}|{basis}").hexdigest()[:40]


def already_answered(survey: Survey, respondent: Respondent) -> bool:
    if survey.one_per == OnePer.PERSON and not respondent.phone:
        return False
    if survey.one_per == OnePer.DEVICE and not respondent.device:
        return False
    return Response.objects.filter(survey=survey, respondent_key=respondent_key(survey, respondent)).exists()


def _profile(survey: Survey, respondent: Respondent):
    """(person, unit_id, gender, age band, category_id): the roster wins for a matched real-name respondent."""
    from tuanju.people.models import Person

    person = None
    if survey.mode == Mode.REAL_NAME and respondent.phone:
        matches = list(
            Person.objects.in_subtree(survey.unit).filter(phone_bidx=cipher().blind_index(respondent.phone))[
                :2
            ]
        )
        if len(matches) == 1 and (not respondent.name or matches[0].name == respondent.name):
            person = matches[0]
    if person is not None:
        return person, person.unit_id, person.gender, age_band(person.age), person.category_id
    return None, respondent.unit_id, respondent.gender, age_band(respondent.age), respondent.category_id


@transaction.atomic
def submit(
    survey: Survey,
    raw_answers: dict[int, object],
    respondent: Respondent,
    *,
    channel: str = Channel.LINK,
    directive: int | None = None,
    started_at=None,
    structure: Structure | None = None,
) -> Response:
    """Record one respondent's answers. Raises SurveyError ({field: reason}) or AlreadyAnswered."""
    if not survey.is_open:
        raise SurveyError("问卷未开放或已结束")
    structure = structure or Structure.load(survey)
    answers, errors = clean_answers(structure, raw_answers)
    shown = structure.path(answers)
    for question in shown:
        if question.required and question.pk not in answers and f"q{question.pk}" not in errors:
            errors[f"q{question.pk}"] = "此题为必答题"
    if survey.mode == Mode.REAL_NAME:
        if len((respondent.name or "").strip()) < 2:
            errors["name"] = "请填写姓名"
        if not respondent.phone:
            errors["phone"] = "请填写手机号"
    if errors:
        raise SurveyError(errors)
    if already_answered(survey, respondent):
        raise AlreadyAnswered("您已经提交过这份问卷，感谢参与！")
    person, unit_id, gender, band, category_id = _profile(survey, respondent)
    if unit_id is not None:
        from tuanju.hierarchy.models import OrgUnit

        if not OrgUnit.objects.filter(pk=unit_id, path__startswith=survey.unit.path).exists():
            unit_id = survey.unit_id
    response = Response(
        survey=survey,
        respondent_key=respondent_key(survey, respondent),
        channel=channel,
        directive_ref=directive,
        person=person,
        name=(respondent.name or "").strip()[:50] if survey.mode == Mode.REAL_NAME else "",
        unit_id=unit_id or survey.unit_id,
        gender=gender or "",
        age_band=band,
        category_id=category_id,
    )
    if survey.mode == Mode.REAL_NAME:
        response.set_phone(respondent.phone)
    if started_at is not None:
        response.duration_seconds = max(0, int((timezone.now() - started_at).total_seconds()))
    try:
        with transaction.atomic():
            response.save()
    except IntegrityError as exc:  # the same respondent, a moment earlier, from another request
        raise AlreadyAnswered("您已经提交过这份问卷，感谢参与！") from exc
    visible = {q.pk for q in shown}
    rows = []
    for qid, value in answers.items():
        if qid not in visible:
            continue  # an answer to a question the skip logic jumped over is not kept
        if isinstance(value, set):
            rows.extend(Answer(response=response, question_id=qid, choice_id=c) for c in sorted(value))
        elif isinstance(value, int) and structure_kind(structure, qid) == QuestionKind.SINGLE:
            rows.append(Answer(response=response, question_id=qid, choice_id=value))
        elif isinstance(value, int):
            rows.append(Answer(response=response, question_id=qid, value=value))
        else:
            rows.append(Answer(response=response, question_id=qid, text=value))
    Answer.objects.bulk_create(rows)
    Survey.objects.filter(pk=survey.pk).update(response_count=F("response_count") + 1)
    record(
        None,
        "answer",
        survey,
        details={"response": response.pk, "channel": channel, "matched": person is not None},
    )
    return response


def structure_kind(structure: Structure, qid: int) -> str:
    return next(q.kind for q in structure.questions if q.pk == qid)


@transaction.atomic
def delete_response(response: Response, *, actor) -> None:
    survey = response.survey
    _require_writer(actor, survey)
    pk = response.pk
    response.delete()
    Survey.objects.filter(pk=survey.pk, response_count__gt=0).update(response_count=F("response_count") - 1)
    record(actor, "delete", survey, details={"response": pk})
