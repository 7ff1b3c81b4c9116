"""Forms of the survey builder and of the public H5 answer page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tuanju.appeals.forms import unit_in_scope
from tuanju.hierarchy.models import OrgUnit
from tuanju.imports import normalize
from tuanju.people.forms import TablerForm
from tuanju.people.models import Category
from tuanju.surveys.actions import parse_choices
from tuanju.surveys.models import Mode, OnePer, Question, QuestionKind


class SurveyForm(TablerForm):
    unit = forms.CharField(label=_("Unit code"), max_length=32)
    title = forms.CharField(label=_("Title"), max_length=100)
    description = forms.CharField(
        label=_("Introduction"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    thank_you = forms.CharField(label=_("Thank-you message"), max_length=300, required=False)
    mode = forms.ChoiceField(label=_("Respondents"), choices=Mode.choices)
    one_per = forms.ChoiceField(label=_("Answers"), choices=OnePer.choices)
    ask_profile = forms.BooleanField(
        label=_("Ask gender, age, occupation and area (for cross-tabulation)"), required=False, initial=True
    )
    opens_at = forms.DateTimeField(
        label=_("Opens"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    closes_at = forms.DateTimeField(
        label=_("Closes"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        if kwargs.get("initial") is None and user.unit_id:
            kwargs["initial"] = {"unit": user.unit.code, "ask_profile": True}
        super().__init__(*args, **kwargs)

    def clean_unit(self):
        return unit_in_scope(self.user, self.cleaned_data.get("unit"))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("one_per") == OnePer.PERSON and cleaned.get("mode") != Mode.REAL_NAME:
            self.add_error("one_per", "“每人一份”需要实名问卷（按手机号识别）")
        return cleaned


class QuestionForm(TablerForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=QuestionKind.choices)
    text = forms.CharField(label=_("Question"), max_length=300)
    help_text = forms.CharField(label=_("Hint"), max_length=200, required=False)
    required = forms.BooleanField(label=_("Required"), required=False, initial=True)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "微信\n抖音\n快手\n学习交流 #学习提升"}),
        help_text=_("One per line. Add “#tag” to give a choice a portrait tag, e.g. 学习交流 #学习提升."),
    )
    max_choices = forms.IntegerField(
        label=_("At most (multiple choice)"), min_value=1, max_value=30, required=False
    )
    scale_min = forms.IntegerField(
        label=_("Scale from"), initial=1, min_value=-10, max_value=10, required=False
    )
    scale_max = forms.IntegerField(
        label=_("Scale to"), initial=5, min_value=-10, max_value=20, required=False
    )
    scale_min_label = forms.CharField(label=_("Label of the lowest"), max_length=20, required=False)
    scale_max_label = forms.CharField(label=_("Label of the highest"), max_length=20, required=False)

    @staticmethod
    def initial_from(question: Question) -> dict:
        return {
            "kind": question.kind,
            "text": question.text,
            "help_text": question.help_text,
            "required": question.required,
            "choices": "\n".join(f"{c.text} #{c.tag}" if c.tag else c.text for c in question.choices.all()),
            "max_choices": question.max_choices,
            "scale_min": question.scale_min,
            "scale_max": question.scale_max,
            "scale_min_label": question.scale_min_label,
            "scale_max_label": question.scale_max_label,
        }

    def action_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "text": data["text"],
            "help_text": data["help_text"],
            "required": data["required"],
            "choices": parse_choices(data["choices"]),
            "max_choices": data["max_choices"],
            "scale_min": data["scale_min"] if data["scale_min"] is not None else 1,
            "scale_max": data["scale_max"] if data["scale_max"] is not None else 5,
            "scale_min_label": data["scale_min_label"],
            "scale_max_label": data["scale_max_label"],
        }


GENDER_CHOICES = [("", "—"), ("M", "男"), ("F", "女")]


class RespondentForm(TablerForm):
    """Real-name surveys: who is answering."""

    name = forms.CharField(label=_("Name"), max_length=50)
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def clean_name(self):
        name = normalize.compact(self.cleaned_data.get("name"))
        if len(name) < 2:
            raise forms.ValidationError("请填写姓名")
        return name

    def clean_phone(self):
        try:
            return normalize.phone(self.cleaned_data.get("phone"))
        except normalize.CellError as exc:
            raise forms.ValidationError(str(exc)) from exc


class ProfileForm(TablerForm):
    """The built-in profile questions of a survey (for cross-tabulation); all optional."""

    gender = forms.ChoiceField(label=_("Gender"), choices=GENDER_CHOICES, required=False)
    age = forms.IntegerField(
        label=_("Age"),
        min_value=10,
        max_value=80,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    category = forms.ModelChoiceField(label=_("Occupation"), queryset=Category.objects.none(), required=False)
    area = forms.ChoiceField(label=_("Where do you live or work?"), required=False)

    def __init__(self, *args, unit: OrgUnit, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit = unit
        self.fields["category"].queryset = (
            Category.objects.filter(parent__isnull=False)
            .select_related("parent")
            .order_by("parent__sort", "sort")
        )
        self.fields["category"].label_from_instance = lambda c: c.name
        self.fields["category"].empty_label = "—"
        children = list(
            OrgUnit.objects.filter(path__startswith=unit.path, depth=unit.depth + 1).order_by("code")[:300]
        )
        if children:
            self.fields["area"].choices = [("", "—")] + [(c.code, c.name) for c in children]
        else:
            del self.fields["area"]

    def clean_area(self):
        code = self.cleaned_data.get("area")
        if not code:
            return None
        unit = OrgUnit.objects.filter(path__startswith=self.unit.path, code=code).first()
        if unit is None:
            raise forms.ValidationError("请选择所在区域")
        return unit
