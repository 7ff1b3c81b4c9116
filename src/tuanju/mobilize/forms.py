"""Forms of the directive UI and of the public group page."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from tuanju.groups.models import Community
from tuanju.hierarchy.models import TOWER_LEVELS, Level, OrgUnit
from tuanju.imports import normalize
from tuanju.organizations.models import Alliance, Organization
from tuanju.people.forms import TablerForm
from tuanju.people.models import Category, PoliticalStatus

from . import conf
from .actions import TargetSpec
from .models import TargetKind, Urgency


def _sla_text(seconds: int) -> str:
    if seconds % 86400 == 0 and seconds >= 86400:
        return f"{seconds // 86400}天"
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600}小时"
    if seconds % 60 == 0:
        return f"{seconds // 60}分钟"
    return f"{seconds}秒"


def urgency_choices():
    levels = conf.get("SERVICE_LEVELS")
    return [(value, f"{label}（{_sla_text(int(levels[value]))}）") for value, label in Urgency.choices]


class DirectiveForm(TablerForm):
    title = forms.CharField(label=_("Title"), max_length=100)
    body = forms.CharField(label=_("Text"), max_length=2000, widget=forms.Textarea(attrs={"rows": 6}))
    urgency = forms.ChoiceField(label=_("Urgency and service level"), choices=())
    image_url = forms.URLField(label=_("Image link"), required=False, max_length=500, assume_scheme="https")
    attachment_url = forms.URLField(
        label=_("Attachment link"), required=False, max_length=500, assume_scheme="https"
    )
    require_ack = forms.BooleanField(label=_("Acknowledgement (收到) required"), required=False, initial=True)
    use_robots = forms.BooleanField(label=_("Post through group robots"), required=False, initial=True)
    use_sms = forms.BooleanField(label=_("Send text messages to every person"), required=False)
    use_email = forms.BooleanField(label=_("E-mail staff liaisons"), required=False)
    signup_enabled = forms.BooleanField(label=_("Recruit volunteers (sign-up)"), required=False)
    signup_quota = forms.IntegerField(
        label=_("Volunteer places"), required=False, min_value=1, max_value=1_000_000
    )
    signup_note = forms.CharField(label=_("What volunteers sign up for"), max_length=200, required=False)

    # Targets
    units = forms.CharField(
        label=_("Units (codes)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One or more unit codes; every tower group and young person below each of them."),
    )
    levels = forms.MultipleChoiceField(
        label=_("Only these tower levels"),
        required=False,
        choices=[(lv, Level(lv).label) for lv in TOWER_LEVELS],
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Leave empty for the whole subtree; tick levels to reach only those groups and their members."
        ),
    )
    communities = forms.ModelMultipleChoiceField(
        label=_("Communities"), queryset=Community.objects.none(), required=False
    )
    organizations = forms.ModelMultipleChoiceField(
        label=_("Organizations"), queryset=Organization.objects.none(), required=False
    )
    alliances = forms.ModelMultipleChoiceField(
        label=_("Alliances"), queryset=Alliance.objects.none(), required=False
    )
    people_filter = forms.BooleanField(label=_("Also: young people matching a filter"), required=False)
    people_unit = forms.CharField(label=_("Within unit (code)"), max_length=32, required=False)
    political_status = forms.MultipleChoiceField(
        label=_("Political status"), choices=PoliticalStatus.choices, required=False
    )
    category = forms.MultipleChoiceField(label=_("Category"), choices=(), required=False)
    backbone = forms.BooleanField(label=_("Backbone youth only"), required=False)
    age_min = forms.IntegerField(label=_("Age from"), required=False, min_value=0, max_value=120)
    age_max = forms.IntegerField(label=_("Age to"), required=False, min_value=0, max_value=120)

    TARGET_FIELDS = (
        "units",
        "levels",
        "communities",
        "organizations",
        "alliances",
        "people_filter",
        "people_unit",
        "political_status",
        "category",
        "backbone",
        "age_min",
        "age_max",
    )

    def __init__(self, *args, user, unit: OrgUnit, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.unit = user, unit
        self.fields["urgency"].choices = urgency_choices()
        self.fields["communities"].queryset = (
            Community.objects.visible_to(user).filter(unit__path__startswith=unit.path).order_by("name")
        )
        self.fields["organizations"].queryset = (
            Organization.objects.visible_to(user)
            .filter(unit__path__startswith=unit.path, is_active=True)
            .order_by("name")
        )
        self.fields["alliances"].queryset = (
            Alliance.objects.visible_to(user).filter(unit__path__startswith=unit.path).order_by("name")
        )
        self.fields["category"].choices = [
            (str(c.pk), str(c)) for c in Category.objects.select_related("parent")
        ]
        for name in ("communities", "organizations", "alliances", "political_status", "category"):
            self.fields[name].widget.attrs["size"] = 5
        for name in ("levels",):
            self.fields[name].widget.attrs["class"] = "form-check-input"
        if not conf.channel("sms").get("url"):
            self.fields["use_sms"].disabled = True
            self.fields["use_sms"].help_text = _("No SMS gateway is configured.")

    def _units(self) -> list[OrgUnit]:
        codes = [c for c in re.split(r"[\s,，、;；]+", self.cleaned_data.get("units") or "") if c]
        units = []
        for code in dict.fromkeys(codes):
            unit = (
                OrgUnit.objects.visible_to(self.user)
                .filter(code=code[:32], path__startswith=self.unit.path)
                .first()
            )
            if unit is None:
                raise forms.ValidationError(f"本单位范围内没有编码为“{code}”的单位")
            units.append(unit)
        return units

    def clean(self):
        data = super().clean()
        if data.get("signup_enabled") and not data.get("signup_note"):
            self.add_error("signup_note", "请说明志愿者报名做什么")
        if (
            data.get("age_min") is not None
            and data.get("age_max") is not None
            and data["age_min"] > data["age_max"]
        ):
            self.add_error("age_max", "年龄上限不能小于下限")
        try:
            self.cleaned_data["targets"] = self.targets()
        except forms.ValidationError as exc:
            self.add_error("units", exc)
        return self.cleaned_data

    def targets(self) -> list[TargetSpec]:
        data = self.cleaned_data
        specs: list[TargetSpec] = []
        levels = tuple(data.get("levels") or ())
        for unit in self._units():
            specs.append(
                TargetSpec(TargetKind.LEVEL if levels else TargetKind.UNIT, unit=unit, levels=levels)
            )
        specs += [TargetSpec(TargetKind.COMMUNITY, community=c) for c in data.get("communities") or []]
        specs += [
            TargetSpec(TargetKind.ORGANIZATION, organization=o) for o in data.get("organizations") or []
        ]
        specs += [TargetSpec(TargetKind.ALLIANCE, alliance=a) for a in data.get("alliances") or []]
        if data.get("people_filter"):
            unit = self.unit
            code = normalize.text(data.get("people_unit") or "")
            if code:
                unit = (
                    OrgUnit.objects.visible_to(self.user)
                    .filter(code=code, path__startswith=self.unit.path)
                    .first()
                )
                if unit is None:
                    raise forms.ValidationError(f"本单位范围内没有编码为“{code}”的单位")
            filters = {
                "political_status": data.get("political_status") or [],
                "category": data.get("category") or [],
                "backbone": bool(data.get("backbone")),
                "age_min": data.get("age_min"),
                "age_max": data.get("age_max"),
            }
            specs.append(TargetSpec(TargetKind.PEOPLE, unit=unit, filters=filters))
        if not specs:
            raise forms.ValidationError("请至少选择一个发送对象：单位、社群、组织、联盟或青年筛选")
        return specs

    def directive_data(self) -> dict:
        keys = (
            "title",
            "body",
            "urgency",
            "image_url",
            "attachment_url",
            "require_ack",
            "use_robots",
            "use_sms",
            "use_email",
            "signup_enabled",
            "signup_quota",
            "signup_note",
        )
        return {k: self.cleaned_data.get(k) for k in keys}

    @staticmethod
    def initial_from(directive) -> dict:
        initial = {
            k: getattr(directive, k)
            for k in (
                "title",
                "body",
                "urgency",
                "image_url",
                "attachment_url",
                "require_ack",
                "use_robots",
                "use_sms",
                "use_email",
                "signup_enabled",
                "signup_quota",
                "signup_note",
            )
        }
        units, levels = [], set()
        for t in directive.targets.select_related("unit"):
            if t.kind in (TargetKind.UNIT, TargetKind.LEVEL) and t.unit:
                units.append(t.unit.code)
                levels.update(t.level_list)
            elif t.kind == TargetKind.COMMUNITY and t.community_id:
                initial.setdefault("communities", []).append(t.community_id)
            elif t.kind == TargetKind.ORGANIZATION and t.organization_id:
                initial.setdefault("organizations", []).append(t.organization_id)
            elif t.kind == TargetKind.ALLIANCE and t.alliance_id:
                initial.setdefault("alliances", []).append(t.alliance_id)
            elif t.kind == TargetKind.PEOPLE:
                f = t.filters or {}
                initial.update(
                    people_filter=True,
                    people_unit=t.unit.code if t.unit else "",
                    political_status=f.get("political_status", []),
                    category=[str(c) for c in f.get("category", [])],
                    backbone=f.get("backbone", False),
                    age_min=f.get("age_min"),
                    age_max=f.get("age_max"),
                )
        initial["units"] = " ".join(units)
        initial["levels"] = sorted(levels)
        return initial


class GroupAckForm(TablerForm):
    """The group page: whoever opens the group link confirms with their registered phone."""

    phone = forms.CharField(label=_("Mobile phone"), max_length=20)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone"].widget.attrs.update(
            {
                "class": "form-control form-control-lg",
                "inputmode": "numeric",
                "autocomplete": "tel",
                "placeholder": "11 位手机号",
            }
        )

    def clean_phone(self):
        phone = re.sub(r"\D", "", self.cleaned_data["phone"])
        if phone.startswith("86") and len(phone) == 13:
            phone = phone[2:]
        if not re.fullmatch(r"1[3-9]\d{9}", phone):
            raise forms.ValidationError("请填写正确的 11 位手机号")
        return phone


class DecisionForm(TablerForm):
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
