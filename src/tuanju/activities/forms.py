"""Forms of the activities staff UI and of the public H5 pages (whose errors are Chinese)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tuanju.core.crypto import cipher
from tuanju.groups.models import Community
from tuanju.hierarchy.models import OrgUnit
from tuanju.imports import normalize
from tuanju.organizations.models import Alliance, Organization
from tuanju.people.forms import TablerForm
from tuanju.people.importing import person_name
from tuanju.people.models import Person

from .models import EXTRA_FIELDS, MAX_QUESTIONS, Activity, ActivityType, Audience, OrganizerKind

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _datetime(label, *, required=True, help_text=""):
    return forms.DateTimeField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        error_messages={"required": "请填写时间", "invalid": "时间格式不正确"},
    )


def unit_in_scope(user, code: str) -> OrgUnit:
    code = (code or "").strip()[:32]
    unit = OrgUnit.objects.visible_to(user).filter(code=code).first() if code else None
    if unit is None:
        raise forms.ValidationError(f"您的管辖范围内没有编码为“{code}”的单位", code="unit_scope")
    return unit


class ActivityForm(TablerForm):
    organizer_kind = forms.ChoiceField(label=_("Organizer"), choices=OrganizerKind.choices)
    unit = forms.CharField(
        label=_("Organizing committee (unit code)"),
        max_length=32,
        required=False,
        help_text=_("For an activity of a league committee."),
    )
    organization = forms.ModelChoiceField(
        label=_("Youth social organization"), queryset=Organization.objects.none(), required=False
    )
    alliance = forms.ModelChoiceField(label=_("Alliance"), queryset=Alliance.objects.none(), required=False)
    duty_organization = forms.ModelChoiceField(
        label=_("Duty society"),
        queryset=Organization.objects.none(),
        required=False,
        help_text=_("Empty: the society on the alliance's duty schedule for that month."),
    )
    community = forms.ModelChoiceField(
        label=_("Community"), queryset=Community.objects.none(), required=False
    )
    title = forms.CharField(label=_("Title"), max_length=100, error_messages={"required": "请填写活动名称"})
    activity_type = forms.ChoiceField(label=_("Type"), choices=ActivityType.choices)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 5}), max_length=5000
    )
    place = forms.CharField(label=_("Place"), max_length=200, error_messages={"required": "请填写活动地点"})
    latitude = forms.DecimalField(label=_("Latitude"), required=False, max_digits=9, decimal_places=6)
    longitude = forms.DecimalField(label=_("Longitude"), required=False, max_digits=9, decimal_places=6)
    starts_at = _datetime(_("Starts"))
    ends_at = _datetime(_("Ends"))
    registration_opens_at = _datetime(
        _("Registration opens"), required=False, help_text=_("Empty: as soon as it is published.")
    )
    registration_closes_at = _datetime(
        _("Registration closes"), required=False, help_text=_("Empty: at the start.")
    )
    cancel_cutoff_hours = forms.IntegerField(
        label=_("Online cancellation until (hours before the start)"), min_value=0, max_value=720
    )
    capacity = forms.IntegerField(
        label=_("Places"), required=False, min_value=1, help_text=_("Empty: no limit.")
    )
    waitlist_enabled = forms.BooleanField(label=_("Waitlist when full"), required=False)
    waitlist_limit = forms.IntegerField(
        label=_("Waitlist size limit"), required=False, min_value=1, help_text=_("Empty: no limit.")
    )
    audience = forms.ChoiceField(label=_("Who may register"), choices=Audience.choices)
    audience_unit = forms.CharField(
        label=_("Area (unit code)"),
        max_length=32,
        required=False,
        help_text=_("For “youth of a unit's area”: the unit whose roster may register."),
    )
    requires_resident_id = forms.BooleanField(
        label=_("Registration requires the resident ID"), required=False
    )
    extra_fields = forms.MultipleChoiceField(
        label=_("Also ask for"),
        choices=list(EXTRA_FIELDS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Every field asked for is required, except the remark."),
    )
    questions = forms.CharField(
        label=_("Own questions"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One question per line (at most three); each must be answered."),
    )
    volunteer_hours = forms.BooleanField(label=_("Earns volunteer hours"), required=False)
    late_after_minutes = forms.IntegerField(label=_("Late after (minutes)"), min_value=0, max_value=240)

    field_order = [
        "organizer_kind", "unit", "organization", "alliance", "duty_organization", "community",
        "title", "activity_type", "place", "latitude", "longitude", "starts_at", "ends_at",
        "registration_opens_at", "registration_closes_at", "capacity", "waitlist_enabled", "waitlist_limit",
        "cancel_cutoff_hours", "late_after_minutes", "audience", "audience_unit", "requires_resident_id",
        "volunteer_hours", "extra_fields", "questions", "description",
    ]  # fmt: skip

    def __init__(self, *args, user, activity: Activity | None = None, **kwargs):
        self.user = user
        self.activity = activity
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = (
            Organization.objects.visible_to(user).filter(is_active=True).order_by("unit__path", "name")
        )
        self.fields["duty_organization"].queryset = Organization.objects.visible_to(user).order_by("name")
        self.fields["alliance"].queryset = Alliance.objects.visible_to(user).filter(is_active=True)
        self.fields["community"].queryset = Community.objects.visible_to(user).order_by("unit__path", "name")
        self.fields["extra_fields"].widget.attrs["class"] = "form-check-input"
        if activity is not None and activity.pk and activity.status != "draft":
            for name in ("organizer_kind", "unit", "organization", "alliance", "community"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("The organizer cannot change after publishing.")

    @staticmethod
    def initial_from(activity: Activity) -> dict:
        data = {name: getattr(activity, name) for name in (
            "organizer_kind", "organization", "alliance", "duty_organization", "community", "title",
            "activity_type", "description", "place", "latitude", "longitude", "starts_at", "ends_at",
            "registration_opens_at", "registration_closes_at", "cancel_cutoff_hours", "capacity",
            "waitlist_enabled", "waitlist_limit", "audience", "requires_resident_id", "extra_fields",
            "volunteer_hours", "late_after_minutes",
        )}  # fmt: skip
        data["unit"] = activity.unit.code if activity.unit_id else ""
        data["audience_unit"] = activity.audience_unit.code if activity.audience_unit_id else ""
        data["questions"] = "\n".join(activity.questions or [])
        return data

    def clean_unit(self):
        code = self.cleaned_data.get("unit")
        return unit_in_scope(self.user, code) if code else None

    def clean_audience_unit(self):
        code = self.cleaned_data.get("audience_unit")
        return unit_in_scope(self.user, code) if code else None

    def clean_questions(self):
        lines = [
            " ".join(line.split())[:60] for line in (self.cleaned_data.get("questions") or "").splitlines()
        ]
        lines = [line for line in lines if line]
        if len(lines) > MAX_QUESTIONS:
            raise forms.ValidationError(f"自定义问题最多{MAX_QUESTIONS}个", code="too_many")
        return lines

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("organizer_kind")
        needed = {
            OrganizerKind.UNIT: ("unit", "请填写主办团委的单位编码"),
            OrganizerKind.ORGANIZATION: ("organization", "请选择青年社会组织"),
            OrganizerKind.ALLIANCE: ("alliance", "请选择联盟"),
            OrganizerKind.COMMUNITY: ("community", "请选择社群"),
        }.get(kind)
        if (
            needed
            and not self.fields[needed[0]].disabled
            and not cleaned.get(needed[0])
            and needed[0] not in self.errors
        ):
            self.add_error(needed[0], needed[1])
        return cleaned

    def activity_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if not self.fields[k].disabled}
        return data


class PersonLookupForm(TablerForm):
    """One roster person of the user's scope, by resident ID, mobile phone or exact name."""

    person = forms.CharField(
        label=_("Young person"),
        max_length=40,
        help_text=_("Resident ID, mobile phone or exact name of someone in the roster."),
        error_messages={"required": "请填写身份证号、手机号或姓名"},
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_person(self):
        text = normalize.compact(self.cleaned_data["person"])
        people = Person.objects.visible_to(self.user).select_related("unit")
        c = cipher()
        upper = text.upper()
        if len(upper) == 18 and upper[:17].isdigit():
            found = list(people.filter(resident_id_bidx=c.blind_index(upper))[:2])
        elif len(text) == 11 and text.isdigit():
            found = list(people.filter(phone_bidx=c.blind_index(text))[:2])
        else:
            found = list(people.filter(name=text)[:2])
        if not found:
            raise forms.ValidationError(f"您的管辖范围内找不到“{text}”", code="not_found")
        if len(found) > 1:
            raise forms.ValidationError(f"“{text}”对应多人，请改用身份证号或手机号", code="ambiguous")
        return found[0]


class ReasonForm(TablerForm):
    reason = forms.CharField(label=_("Reason"), max_length=200, error_messages={"required": "请填写原因"})


class OptionalReasonForm(TablerForm):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class LeaveDecisionForm(TablerForm):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class ManualCheckForm(TablerForm):
    kind = forms.ChoiceField(choices=[("in", _("Check in")), ("out", _("Check out"))])
    at = _datetime(_("Time"), required=False, help_text=_("Empty: now."))
    note = forms.CharField(
        label=_("Reason"), max_length=200, error_messages={"required": "手工签到请注明原因"}
    )


class SummaryForm(TablerForm):
    summary = forms.CharField(
        label=_("Summary"), required=False, widget=forms.Textarea(attrs={"rows": 8}), max_length=10_000
    )


class PhotoForm(TablerForm):
    photos = forms.FileField(label=_("Photos"), widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))
    caption = forms.CharField(label=_("Caption"), max_length=100, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["photos"].widget.allow_multiple_selected = True
        self.fields["photos"].widget.attrs["multiple"] = True


class ProposalDecisionForm(TablerForm):
    decision = forms.ChoiceField(choices=[("accept", _("Blacklist")), ("dismiss", _("Dismiss"))])
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


# --- Public H5 forms (Chinese errors: the public reads them) --------------------------------------

H5_INPUT = "form-control form-control-lg"


class RegisterForm(forms.Form):
    name = forms.CharField(max_length=50, error_messages={"required": "请填写姓名", "max_length": "姓名过长"})
    phone = forms.CharField(
        max_length=20, error_messages={"required": "请填写手机号", "max_length": "手机号格式不正确"}
    )
    resident_id = forms.CharField(
        max_length=30, required=False, error_messages={"max_length": "身份证号格式不正确"}
    )
    agree = forms.BooleanField(required=False)

    def __init__(self, *args, activity: Activity, **kwargs):
        self.activity = activity
        super().__init__(*args, **kwargs)
        if activity.requires_resident_id:
            self.fields["resident_id"].required = True
            self.fields["resident_id"].error_messages["required"] = "本活动实名报名，请填写身份证号"
        for key, label in activity.extra_field_labels():
            self.fields[key] = forms.CharField(
                label=label,
                max_length=200,
                required=key != "remark",
                error_messages={"required": f"请填写{label}"},
            )
        for index, question in enumerate(activity.questions or []):
            self.fields[f"q{index + 1}"] = forms.CharField(
                label=question,
                max_length=300,
                widget=forms.Textarea(attrs={"rows": 2}),
                error_messages={"required": "请回答此问题"},
            )
        if activity.community_id:
            self.fields["agree"].required = True
            self.fields["agree"].error_messages["required"] = "请阅读并勾选报名须知"
        attrs = {
            "name": {"autocomplete": "name", "placeholder": "请输入真实姓名"},
            "phone": {"inputmode": "tel", "autocomplete": "tel", "placeholder": "11位手机号"},
            "resident_id": {"autocomplete": "off", "placeholder": "18位身份证号"},
        }
        for key, field in self.fields.items():
            if key == "agree":
                field.widget.attrs["class"] = "form-check-input"
                continue
            field.widget.attrs.update(attrs.get(key, {}), **{"class": H5_INPUT})

    def clean_name(self):
        try:
            name = person_name(self.cleaned_data["name"])
        except normalize.CellError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc
        if not name:
            raise forms.ValidationError("请填写姓名", code="required")
        return name

    def clean_phone(self):
        try:
            phone = normalize.phone(self.cleaned_data["phone"])
        except normalize.CellError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc
        if not phone:
            raise forms.ValidationError("请填写手机号", code="required")
        return phone

    def clean_resident_id(self):
        try:
            return normalize.resident_id(self.cleaned_data.get("resident_id"))
        except normalize.CellError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc

    def answers(self) -> dict:
        keys = [k for k, _label in self.activity.extra_field_labels()]
        keys += [f"q{i + 1}" for i in range(len(self.activity.questions or []))]
        return {k: self.cleaned_data.get(k, "") for k in keys}

    def extra_bound_fields(self):
        return [self[k] for k in self.fields if k not in ("name", "phone", "resident_id", "agree")]


class LeaveRequestForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        error_messages={"required": "请填写请假原因", "max_length": "请假原因不超过200字"},
        widget=forms.Textarea(
            attrs={"rows": 2, "class": H5_INPUT, "placeholder": "例如：临时加班、身体不适"}
        ),
    )


class CheckinPhoneForm(forms.Form):
    form_token = forms.CharField(max_length=500, widget=forms.HiddenInput)
    phone = forms.CharField(
        max_length=20,
        required=False,
        widget=forms.TextInput(
            attrs={
                "class": H5_INPUT,
                "inputmode": "tel",
                "autocomplete": "tel",
                "placeholder": "报名时填写的手机号",
            }
        ),
    )
    name = forms.CharField(
        max_length=50,
        required=False,
        widget=forms.TextInput(
            attrs={
                "class": H5_INPUT,
                "autocomplete": "name",
                "placeholder": "姓名（同一手机号多人报名时填写）",
            }
        ),
    )
    ticket = forms.IntegerField(required=False, widget=forms.HiddenInput)
