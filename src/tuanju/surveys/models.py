"""C11: questionnaires (调研) and their answers; portraits are computed from these and the roster.

A survey belongs to a unit and is seen by that unit's subtree. Each submission is a ``Response``
with the respondent's profile kept on it (unit, gender, age band, category: from the roster for a
matched real-name respondent, else from the survey's profile questions), so cross-tabulation is
one grouped query over ``Answer`` joined to ``Response``. One answer per person or per device is
a unique ``respondent_key`` per survey.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tuanju.core.crypto import cipher, mask_phone
from tuanju.core.scope import ScopedQuerySet


def new_nonce() -> str:
    return secrets.token_urlsafe(9)[:12]


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Open for answers")
    CLOSED = "closed", _("Closed")


class Mode(models.TextChoices):
    ANONYMOUS = "anonymous", _("Anonymous")
    REAL_NAME = "real_name", _("Real name")


class OnePer(models.TextChoices):
    DEVICE = "device", _("One answer per device")
    PERSON = "person", _("One answer per person (phone number)")


class Channel(models.TextChoices):
    QR = "qr", _("QR code")
    LINK = "link", _("Link")
    DIRECTIVE = "directive", _("Directive")
    STAFF = "staff", _("Entered by staff")


#: Age bands of respondents (youth are 14–35; the last band catches older respondents).
AGE_BANDS = [
    ("u16", "16岁以下", 0, 15),
    ("16-20", "16-20岁", 16, 20),
    ("21-25", "21-25岁", 21, 25),
    ("26-30", "26-30岁", 26, 30),
    ("31-35", "31-35岁", 31, 35),
    ("36+", "35岁以上", 36, 200),
]
AGE_BAND_LABELS = {code: label for code, label, _low, _high in AGE_BANDS}


def age_band(age: int | None) -> str:
    if age is None:
        return ""
    for code, _label, low, high in AGE_BANDS:
        if low <= age <= high:
            return code
    return ""


class SurveyQuerySet(ScopedQuerySet):
    scope_field = "unit"


class Survey(models.Model):
    unit = models.ForeignKey(
        "hierarchy.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="surveys"
    )
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("introduction"), blank=True)
    thank_you = models.CharField(_("thank-you message"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT
    )
    mode = models.CharField(_("respondents"), max_length=10, choices=Mode.choices, default=Mode.ANONYMOUS)
    one_per = models.CharField(_("answers"), max_length=10, choices=OnePer.choices, default=OnePer.DEVICE)
    ask_profile = models.BooleanField(
        _("ask gender, age, occupation and area"),
        default=True,
        help_text=_("Needed for cross-tabulation of anonymous answers; real-name answers use the roster."),
    )
    opens_at = models.DateTimeField(_("opens"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes"), null=True, blank=True)
    access_nonce = models.CharField(max_length=12, default=new_nonce, editable=False)
    response_count = models.PositiveIntegerField(_("answers"), default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        now = timezone.now()
        return (
            self.status == SurveyStatus.PUBLISHED
            and (self.opens_at is None or self.opens_at <= now)
            and (self.closes_at is None or now < self.closes_at)
        )


class QuestionKind(models.TextChoices):
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    SCALE = "scale", _("Scale")
    TEXT = "text", _("Text")


CHOICE_KINDS = (QuestionKind.SINGLE, QuestionKind.MULTIPLE)


class QuestionQuerySet(ScopedQuerySet):
    scope_field = "survey__unit"


class Question(models.Model):
    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="questions"
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    kind = models.CharField(_("kind"), max_length=10, choices=QuestionKind.choices)
    text = models.CharField(_("question"), max_length=300)
    help_text = models.CharField(_("hint"), max_length=200, blank=True)
    required = models.BooleanField(_("required"), default=True)
    max_choices = models.PositiveSmallIntegerField(_("at most (choices)"), null=True, blank=True)
    scale_min = models.SmallIntegerField(_("scale from"), default=1)
    scale_max = models.SmallIntegerField(_("scale to"), default=5)
    scale_min_label = models.CharField(_("label of the lowest"), max_length=20, blank=True)
    scale_max_label = models.CharField(_("label of the highest"), max_length=20, blank=True)

    objects = QuestionQuerySet.as_manager()

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text

    @property
    def number(self) -> int:
        return self.position + 1

    @property
    def has_choices(self) -> bool:
        return self.kind in CHOICE_KINDS


class Choice(models.Model):
    question = models.ForeignKey(
        Question, verbose_name=_("question"), on_delete=models.CASCADE, related_name="choices"
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    text = models.CharField(_("choice"), max_length=100)
    tag = models.CharField(
        _("portrait tag"),
        max_length=20,
        blank=True,
        help_text=_("Choosing this adds the tag to a real-name respondent's portrait."),
    )

    class Meta:
        verbose_name = _("choice")
        verbose_name_plural = _("choices")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text


class SkipRule(models.Model):
    """After ``question``: when ``choice`` is chosen (or the scale value is within bounds), jump to
    ``target`` — skipping the questions between — or end the survey when ``target`` is empty."""

    question = models.ForeignKey(
        Question, verbose_name=_("question"), on_delete=models.CASCADE, related_name="rules"
    )
    choice = models.ForeignKey(
        Choice, verbose_name=_("answer"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    min_value = models.SmallIntegerField(_("value from"), null=True, blank=True)
    max_value = models.SmallIntegerField(_("value to"), null=True, blank=True)
    target = models.ForeignKey(
        Question, verbose_name=_("go to"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("skip rule")
        verbose_name_plural = _("skip rules")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.question_id} → {self.target_id or 'end'}"


class ResponseQuerySet(ScopedQuerySet):
    scope_field = "survey__unit"


class Response(models.Model):
    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="responses"
    )
    respondent_key = models.CharField(max_length=64, editable=False)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.LINK)
    directive_ref = models.PositiveBigIntegerField(
        _("directive"),
        null=True,
        blank=True,
        help_text=_("The directive (C8) whose link brought the answer."),
    )
    person = models.ForeignKey(
        "people.Person",
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
    )
    name = models.CharField(_("name"), max_length=50, blank=True)
    phone_enc = models.BinaryField(null=True, blank=True, editable=False)
    phone_bidx = models.CharField(max_length=32, null=True, blank=True, db_index=True, editable=False)
    phone_masked = models.CharField(_("phone"), max_length=11, blank=True, editable=False)
    unit = models.ForeignKey(
        "hierarchy.OrgUnit",
        verbose_name=_("respondent's unit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    gender = models.CharField(_("gender"), max_length=1, blank=True)
    age_band = models.CharField(_("age band"), max_length=6, blank=True)
    category = models.ForeignKey(
        "people.Category",
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now, db_index=True)
    duration_seconds = models.PositiveIntegerField(_("time taken (s)"), null=True, blank=True)

    objects = ResponseQuerySet.as_manager()

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "respondent_key"], name="one_answer_per_respondent")
        ]

    def __str__(self) -> str:
        return f"{self.survey_id}#{self.pk}"

    def set_phone(self, phone: str) -> None:
        c = cipher()
        self.phone_enc = c.encrypt(phone) if phone else None
        self.phone_bidx = c.blind_index(phone) if phone else None
        self.phone_masked = mask_phone(phone) if phone else ""

    @property
    def age_band_label(self) -> str:
        return AGE_BAND_LABELS.get(self.age_band, "")


class AnswerQuerySet(ScopedQuerySet):
    scope_field = "response__survey__unit"


class Answer(models.Model):
    """One answer: a chosen choice (one row per choice of a multiple-choice question), a scale value or a text."""

    response = models.ForeignKey(
        Response, verbose_name=_("response"), on_delete=models.CASCADE, related_name="answers"
    )
    question = models.ForeignKey(
        Question, verbose_name=_("question"), on_delete=models.CASCADE, related_name="answers"
    )
    choice = models.ForeignKey(
        Choice,
        verbose_name=_("choice"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="answers",
    )
    value = models.SmallIntegerField(_("value"), null=True, blank=True)
    text = models.TextField(_("text"), blank=True)

    objects = AnswerQuerySet.as_manager()

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        indexes = [models.Index(fields=["question", "choice"], name="answer_question_choice")]

    def __str__(self) -> str:
        return f"{self.response_id}/{self.question_id}"
