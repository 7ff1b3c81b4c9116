"""Forms of the groups and communities UI, and of the public H5 join page."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tuanju.accounts.models import Role, User
from tuanju.core.crypto import cipher
from tuanju.hierarchy.models import TOWER_LEVELS, Level, OrgUnit
from tuanju.imports import normalize
from tuanju.people.forms import TablerForm
from tuanju.people.importing import person_name
from tuanju.people.models import Person

from .models import (
    ChatGroup,
    CommunityCategory,
    CommunityRole,
    GroupKind,
    Platform,
)
from .tokens import VALIDITY_CHOICES

LIAISON_ROLES = (Role.ADMIN, Role.CADRE, Role.LIAISON)


def unit_in_scope(user, code: str) -> OrgUnit:
    code = (code or "").strip()
    unit = OrgUnit.objects.visible_to(user).filter(code=code[:32]).first() if code else None
    if unit is None:
        raise forms.ValidationError(f"您的管辖范围内没有编码为“{code}”的单位", code="unit_scope")
    return unit


def find_person(user, text: str) -> Person:
    """The one person of the user's scope named by a resident ID, a phone number or an exact name."""
    text = normalize.compact(text)
    if not text:
        raise forms.ValidationError("请填写身份证号、手机号或姓名", code="required")
    people = Person.objects.visible_to(user)
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


def staff_choices(user):
    return (
        User.objects.visible_to(user)
        .filter(is_active=True, role__in=LIAISON_ROLES)
        .select_related("unit")
        .order_by("unit__path", "username")
    )


class PersonOrStaffForm(TablerForm):
    """A liaison or an owner: a staff account, or a roster person found by ID, phone or name."""

    user = forms.ModelChoiceField(label=_("Staff account"), queryset=User.objects.none(), required=False)
    person = forms.CharField(
        label=_("Or a young person"),
        max_length=40,
        required=False,
        help_text=_("Resident ID, mobile phone or exact name of someone in the roster."),
    )
    note = forms.CharField(label=_("Note"), max_length=100, required=False)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = staff_choices(user)
        self.fields["user"].label_from_instance = lambda u: (
            f"{u.display_name}（{u.unit.name if u.unit else ''}）"
        )

    def clean(self):
        cleaned = super().clean()
        staff, text = cleaned.get("user"), (cleaned.get("person") or "").strip()
        if staff and text:
            raise forms.ValidationError("请只选择一名工作人员或填写一名青年", code="both")
        if not staff and not text:
            raise forms.ValidationError("请选择一名工作人员或填写一名青年", code="none")
        cleaned["person_obj"] = None
        if text:
            try:
                cleaned["person_obj"] = find_person(self.user, text)
            except forms.ValidationError as exc:
                self.add_error("person", exc)
        return cleaned


class GroupEditForm(TablerForm):
    name = forms.CharField(label=_("Name"), max_length=100, error_messages={"required": "请填写群名称"})
    platform = forms.ChoiceField(label=_("Platform"), choices=Platform.choices)
    external_name = forms.CharField(label=_("Name on the platform"), max_length=100, required=False)
    external_id = forms.CharField(
        label=_("Group id on the platform"),
        max_length=100,
        required=False,
        help_text=_("The chat id of WeChat Work or DingTalk, or a WeChat group number."),
    )
    webhook_url = forms.CharField(
        label=_("Robot webhook URL"),
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_("Stored encrypted; leave empty to keep the current one."),
    )
    webhook_secret = forms.CharField(
        label=_("Robot signing secret"),
        max_length=200,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("DingTalk and Feishu robots with signature verification. Leave empty to keep."),
    )
    clear_webhook = forms.BooleanField(label=_("Remove the robot"), required=False)
    notes = forms.CharField(label=_("Notes"), max_length=300, required=False)

    @staticmethod
    def initial_from(group: ChatGroup) -> dict:
        return {k: getattr(group, k) for k in ("name", "platform", "external_name", "external_id", "notes")}


class GroupCreateForm(GroupEditForm):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[c for c in GroupKind.choices if c[0] not in (GroupKind.TOWER, GroupKind.COMMUNITY)],
    )
    unit = forms.CharField(label=_("Unit code"), max_length=32)
    ref_type = forms.CharField(
        label=_("Belongs to (type)"),
        max_length=50,
        required=False,
        help_text=_("e.g. organizations.organization or organizations.alliance"),
    )
    ref_id = forms.IntegerField(label=_("Belongs to (id)"), required=False, min_value=1)
    field_order = ["kind", "unit", "name", "ref_type", "ref_id"]

    def __init__(self, *args, user, **kwargs):
        self.user = user
        if user.unit_id:
            kwargs.setdefault("initial", {}).setdefault("unit", user.unit.code)
        super().__init__(*args, **kwargs)
        del self.fields["clear_webhook"]

    def clean_unit(self):
        return unit_in_scope(self.user, self.cleaned_data.get("unit"))


class PeopleLinesForm(TablerForm):
    """Several roster people at once: one resident ID, phone or exact name per line."""

    lines = forms.CharField(
        label=_("People"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One resident ID, mobile phone or exact name per line (at most 200)."),
        error_messages={"required": "请至少填写一人"},
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_lines(self):
        raw = [line.strip() for line in self.cleaned_data["lines"].splitlines() if line.strip()]
        if len(raw) > 200:
            raise forms.ValidationError("一次最多200人", code="too_many")
        people, problems = [], []
        for line in raw:
            try:
                people.append(find_person(self.user, line))
            except forms.ValidationError as exc:
                problems.extend(exc.messages)
        if problems:
            raise forms.ValidationError(problems)
        return list({p.pk: p for p in people}.values())


class CommunityMembersForm(PeopleLinesForm):
    role = forms.ChoiceField(label=_("Role"), choices=CommunityRole.choices, initial=CommunityRole.MEMBER)


class BulkLiaisonForm(PersonOrStaffForm):
    groups = forms.ModelMultipleChoiceField(
        queryset=ChatGroup.objects.none(), error_messages={"required": "请至少选择一个群"}
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["groups"].queryset = ChatGroup.objects.visible_to(user)


class CommunityForm(TablerForm):
    unit = forms.CharField(label=_("League committee (unit code)"), max_length=32)
    name = forms.CharField(label=_("Name"), max_length=60, error_messages={"required": "请填写社群名称"})
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=CommunityCategory.objects.none(), empty_label=None
    )
    description = forms.CharField(
        label=_("Introduction"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to young people on the join page."),
    )
    requires_resident_id = forms.BooleanField(label=_("Joining requires the resident ID"), required=False)
    requires_approval = forms.BooleanField(label=_("Joining requires approval"), required=False, initial=True)
    is_open = forms.BooleanField(label=_("Open for joining"), required=False, initial=True)
    max_members = forms.IntegerField(
        label=_("Member limit"), required=False, min_value=1, help_text=_("e.g. 500 for a WeChat group")
    )
    absence_limit = forms.IntegerField(
        label=_("Unexcused absences before registration is blocked"), min_value=1, max_value=20, initial=3
    )
    platform = forms.ChoiceField(
        label=_("Platform of its messaging group"), choices=Platform.choices, initial=Platform.WECHAT
    )

    def __init__(self, *args, user, instance=None, **kwargs):
        self.user = user
        self.instance = instance
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "unit": instance.unit.code,
                    "name": instance.name,
                    "category": instance.category_id,
                    "description": instance.description,
                    "requires_resident_id": instance.requires_resident_id,
                    "requires_approval": instance.requires_approval,
                    "is_open": instance.is_open,
                    "max_members": instance.max_members,
                    "absence_limit": instance.absence_limit,
                },
            )
        elif user.unit_id:
            kwargs.setdefault("initial", {}).setdefault("unit", user.unit.code)
        super().__init__(*args, **kwargs)
        active = Q(is_active=True)
        if instance is not None:
            active |= Q(pk=instance.category_id)
        self.fields["category"].queryset = CommunityCategory.objects.filter(active)
        if instance is not None:
            del self.fields["platform"]

    def clean_unit(self):
        return unit_in_scope(self.user, self.cleaned_data.get("unit"))

    def clean_name(self):
        name = normalize.text(self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError("请填写社群名称", code="required")
        return name


class CharterForm(TablerForm):
    charter = forms.CharField(
        label=_("Charter"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("A changed charter gets a new version; joiners accept the version they were shown."),
    )


class DecisionForm(TablerForm):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    members = forms.ModelMultipleChoiceField(queryset=None, error_messages={"required": "请至少选择一人"})
    reason = forms.CharField(label=_("Reason (for a rejection)"), max_length=200, required=False)

    def __init__(self, *args, community, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = community.members.all()


class ReasonForm(TablerForm):
    reason = forms.CharField(label=_("Reason"), max_length=300, error_messages={"required": "请填写原因"})


class OptionalReasonForm(TablerForm):
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class BlacklistForm(TablerForm):
    person = forms.CharField(
        label=_("Young person"),
        max_length=40,
        help_text=_("Resident ID, mobile phone or exact name."),
        error_messages={"required": "请填写身份证号、手机号或姓名"},
    )
    reason = forms.CharField(label=_("Reason"), max_length=300, error_messages={"required": "请填写原因"})

    def __init__(self, *args, community, **kwargs):
        self.community = community
        super().__init__(*args, **kwargs)

    def clean_person(self):
        """Someone who is or was in the community (whatever the staff member's own scope)."""
        text = normalize.compact(self.cleaned_data["person"])
        c = cipher()
        people = Person.objects.filter(community_memberships__community=self.community)
        upper = text.upper()
        if len(upper) == 18 and upper[:17].isdigit():
            found = list(people.filter(resident_id_bidx=c.blind_index(upper))[:2])
        elif len(text) == 11 and text.isdigit():
            found = list(people.filter(phone_bidx=c.blind_index(text))[:2])
        else:
            found = list(people.filter(name=text)[:2])
        if not found:
            raise forms.ValidationError(f"本社群成员和申请人中找不到“{text}”", code="not_found")
        if len(found) > 1:
            raise forms.ValidationError(f"“{text}”对应多人，请改用身份证号或手机号", code="ambiguous")
        return found[0]


class RoleForm(TablerForm):
    role = forms.ChoiceField(label=_("Role"), choices=CommunityRole.choices)


class PosterForm(forms.Form):
    days = forms.TypedChoiceField(
        choices=[(d, d) for d in VALIDITY_CHOICES], coerce=int, required=False, empty_value=None
    )


# --- Public H5 join form ----------------------------------------------------------------------------


class JoinForm(forms.Form):
    """What a young person types on the phone. Errors are Chinese: they are read by the public."""

    name = forms.CharField(max_length=50, error_messages={"required": "请填写姓名", "max_length": "姓名过长"})
    phone = forms.CharField(
        max_length=20, error_messages={"required": "请填写手机号", "max_length": "手机号格式不正确"}
    )
    resident_id = forms.CharField(
        max_length=30, required=False, error_messages={"max_length": "身份证号格式不正确"}
    )
    accept = forms.BooleanField(error_messages={"required": "请阅读并同意社群公约"})
    charter_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, community, **kwargs):
        self.community = community
        super().__init__(*args, **kwargs)
        self.fields["charter_version"].initial = community.charter_version
        if community.requires_resident_id:
            self.fields["resident_id"].required = True
            self.fields["resident_id"].error_messages["required"] = "本社群实名加入，请填写身份证号"
        widgets = {
            "name": {"autocomplete": "name", "placeholder": "请输入真实姓名"},
            "phone": {"inputmode": "tel", "autocomplete": "tel", "placeholder": "11位手机号"},
            "resident_id": {"autocomplete": "off", "placeholder": "18位身份证号"},
        }
        for key, attrs in widgets.items():
            self.fields[key].widget.attrs.update(attrs, **{"class": "form-control form-control-lg"})
        self.fields["accept"].widget.attrs["class"] = "form-check-input"

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


LEVEL_CHOICES = [(str(level), Level(level).label) for level in TOWER_LEVELS]
