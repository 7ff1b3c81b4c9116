"""Forms of the organization and alliance UI (also used by the API to parse input).

People and organizations are picked by a lookup text (a phone, resident ID or name for a
person; a name or credit code for an organization) resolved inside the user's scope; an
unchanged value keeps the current record.
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tuanju.hierarchy.models import OrgUnit
from tuanju.imports import normalize
from tuanju.organizations import uscc
from tuanju.organizations.models import (
    ALLIANCE_FIELDS,
    AbsorptionKind,
    AbsorptionLevel,
    Alliance,
    JoinMethod,
    MeetingStatus,
    MemberRole,
    Organization,
    OrgType,
    ProjectStatus,
    RegistrationStatus,
    ServiceProject,
)
from tuanju.people.models import Person

LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


def logo_content_type(head: bytes) -> str | None:
    """The image type of a logo from its first bytes (PNG, JPEG, GIF, WebP), else None."""
    for signature, content_type in LOGO_SIGNATURES.items():
        if head.startswith(signature):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


class StyledForm(forms.Form):
    """Widgets carry Tabler's classes; a field with errors is marked invalid."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs.setdefault("class", css)

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["class"] += " is-invalid"

    def apply_errors(self, exc) -> None:
        """Attach a domain ValidationError (possibly a {field: [messages]} dict) to the form."""
        if hasattr(exc, "error_dict"):
            for name, errors in exc.error_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, exc)


def unit_in_scope(user, code: str) -> OrgUnit:
    code = (code or "").strip()
    unit = OrgUnit.objects.visible_to(user).filter(code=code[:32]).first() if code else None
    if unit is None:
        raise forms.ValidationError(f"您的管辖范围内没有编码为“{code}”的单位", code="unit_scope")
    return unit


def person_display(person: Person | None) -> str:
    if person is None:
        return ""
    return f"{person.name}（{person.phone_masked}）" if person.phone_masked else person.name


def org_display(org: Organization | None) -> str:
    return org.name if org is not None else ""


def find_person(user, term: str, *, current: Person | None = None) -> Person | None:
    """One roster person in ``user``'s scope from a phone, resident ID, name or pinyin."""
    term = normalize.text(term)[:60]
    if not term:
        return None
    if current is not None and term == normalize.text(person_display(current)):
        return current
    found = list(Person.objects.visible_to(user).search(term).select_related("unit")[:6])
    if not found:
        raise forms.ValidationError(f"在您管辖范围内的花名册中找不到“{term}”", code="not_found")
    if len(found) > 1:
        exact = [p for p in found if p.name == term]
        if len(exact) == 1:
            return exact[0]
        raise forms.ValidationError(
            f"“{term}”对应多人（{'、'.join(f'{p.name}/{p.unit.name}' for p in found[:5])}），请输入手机号或身份证号",
            code="ambiguous",
        )
    return found[0]


def find_organization(
    user, term: str, *, current: Organization | None = None, within=None
) -> Organization | None:
    """One organization in ``user``'s scope (and ``within`` a queryset) from its name or credit code."""
    term = normalize.text(term)[:100]
    if not term:
        return None
    if current is not None and term == normalize.text(org_display(current)):
        return current
    orgs = Organization.objects.visible_to(user).select_related("unit")
    if within is not None:
        orgs = orgs.filter(pk__in=within.values("pk"))
    code = uscc.normalize(term)
    found = list(orgs.filter(uscc=code)[:1]) if len(code) == 18 else []
    if not found:
        found = list(orgs.filter(name=term)[:6]) or list(orgs.search(term)[:6])
    if not found:
        raise forms.ValidationError(f"在您管辖范围内找不到组织“{term}”", code="not_found")
    if len(found) > 1:
        raise forms.ValidationError(
            f"“{term}”对应多个组织（{'、'.join(f'{o.name}/{o.unit.name}' for o in found[:5])}），请输入完整名称或统一社会信用代码",
            code="ambiguous",
        )
    return found[0]


def date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _text(max_length: int, **kwargs) -> forms.CharField:
    return forms.CharField(max_length=max_length, required=False, **kwargs)


class OrganizationForm(StyledForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    unit = forms.CharField(
        label=_("Unit code"), max_length=32, help_text=_("The unit the organization belongs to.")
    )
    org_type = forms.ModelChoiceField(label=_("Type"), queryset=OrgType.objects.none(), empty_label="—")
    registration_status = forms.ChoiceField(label=_("Registration"), choices=RegistrationStatus.choices)
    uscc = _text(
        30,
        label=_("Unified social credit code"),
        help_text=_("18 characters; required when registered with civil affairs (starts with 5)."),
    )
    founded_on = forms.DateField(label=_("Founded"), required=False, widget=date_input())
    venue = _text(200, label=_("Venue"), help_text=_("Where the organization meets and works (有场所)."))
    contact_name = _text(50, label=_("Contact person"))
    contact_phone = _text(30, label=_("Contact phone"))
    leader = _text(
        60, label=_("Leader"), help_text=_("A person of the roster: phone, resident ID or name (有组织).")
    )
    tags = _text(200, label=_("Tags"), help_text=_("Separated by commas."))
    logo = forms.FileField(
        label=_("Logo"), required=False, help_text=_("PNG, JPEG, GIF or WebP, at most 2 MB.")
    )
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)
    introduction = _text(2000, label=_("Introduction"), widget=forms.Textarea(attrs={"rows": 3}))
    charter = _text(20000, label=_("Charter"), widget=forms.Textarea(attrs={"rows": 6}))
    is_league_affiliated = forms.BooleanField(
        label=_("League-affiliated (团属)"), required=False, initial=True
    )
    is_incubation_base = forms.BooleanField(label=_("Incubation base"), required=False)
    is_cloud_resident = forms.BooleanField(label=_("Cloud residency (云入驻)"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, user, instance: Organization | None = None, **kwargs):
        self.user = user
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(instance)
        elif instance is None and user.unit_id:
            kwargs.setdefault("initial", {}).setdefault("unit", user.unit.code)
        super().__init__(*args, **kwargs)
        types = OrgType.objects.filter(is_active=True)
        if instance is not None:
            types = OrgType.objects.filter(pk=instance.org_type_id) | types
        self.fields["org_type"].queryset = types.order_by("sort", "id")
        if instance is None:
            del self.fields["remove_logo"]
            del self.fields["is_active"]
            self.fields["contact_phone"].help_text = _("11-digit mobile number.")
        else:
            keep = _("Leave empty to keep the current value (%(masked)s).")
            self.fields["contact_phone"].help_text = keep % {"masked": instance.contact_phone_masked or "—"}
            if not instance.logo:
                del self.fields["remove_logo"]

    @staticmethod
    def initial_from(org: Organization) -> dict:
        return {
            "name": org.name,
            "unit": org.unit.code,
            "org_type": org.org_type_id,
            "registration_status": org.registration_status,
            "uscc": org.uscc or "",
            "founded_on": org.founded_on,
            "venue": org.venue,
            "contact_name": org.contact_name,
            "contact_phone": "",
            "leader": person_display(org.leader),
            "tags": "，".join(org.tags.values_list("name", flat=True)),
            "introduction": org.introduction,
            "charter": org.charter,
            "is_league_affiliated": org.is_league_affiliated,
            "is_incubation_base": org.is_incubation_base,
            "is_cloud_resident": org.is_cloud_resident,
            "is_active": org.is_active,
        }

    def clean_name(self):
        name = normalize.text(self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError("组织名称不能为空")
        return name

    def clean_unit(self):
        return unit_in_scope(self.user, self.cleaned_data.get("unit"))

    def clean_uscc(self):
        code = uscc.normalize(self.cleaned_data.get("uscc"))
        if code and (reasons := uscc.explain(code)):
            raise forms.ValidationError(reasons)
        return code

    def clean_founded_on(self):
        day = self.cleaned_data.get("founded_on")
        if day and day > timezone.localdate():
            raise forms.ValidationError("成立日期不能晚于今天")
        return day

    def clean_contact_phone(self):
        try:
            return normalize.phone(self.cleaned_data.get("contact_phone"))
        except normalize.CellError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_contact_name(self):
        return normalize.text(self.cleaned_data.get("contact_name"))

    def clean_venue(self):
        return normalize.text(self.cleaned_data.get("venue"))

    def clean_leader(self):
        current = self.instance.leader if self.instance is not None else None
        return find_person(self.user, self.cleaned_data.get("leader"), current=current)

    def clean_tags(self):
        from tuanju.organizations.importing import tag_list

        try:
            return tag_list(self.cleaned_data.get("tags"))
        except normalize.CellError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if not logo:
            return None
        if logo.size > LOGO_MAX_BYTES:
            raise forms.ValidationError("标志图片不能超过2 MB")
        head = logo.read(16)
        logo.seek(0)
        if logo_content_type(head) is None:
            raise forms.ValidationError("标志只能是PNG、JPEG、GIF或WebP图片")
        return logo

    def clean(self):
        cleaned = super().clean()
        status = cleaned.get("registration_status")
        code = cleaned.get("uscc")
        if status == RegistrationStatus.REGISTERED and "uscc" not in self.errors:
            if not code:
                self.add_error("uscc", "民政登记的组织必须填写统一社会信用代码")
            elif code[0] != uscc.CIVIL_AFFAIRS:
                self.add_error("uscc", "民政登记的社会组织，统一社会信用代码第1位应为5（民政）")
        return cleaned

    def save_args(self) -> dict:
        """Keyword arguments for ``actions.save_organization``."""
        c = self.cleaned_data
        data = {
            "name": c["name"],
            "unit": c["unit"],
            "org_type": c["org_type"],
            "registration_status": c["registration_status"],
            "uscc": c.get("uscc") or "",
            "founded_on": c.get("founded_on"),
            "venue": c.get("venue") or "",
            "contact_name": c.get("contact_name") or "",
            "leader": c.get("leader"),
            "introduction": normalize.text(c.get("introduction")) if c.get("introduction") else "",
            "charter": (c.get("charter") or "").strip(),
            "is_league_affiliated": c.get("is_league_affiliated", False),
            "is_incubation_base": c.get("is_incubation_base", False),
            "is_cloud_resident": c.get("is_cloud_resident", False),
        }
        if "is_active" in self.fields:
            data["is_active"] = c.get("is_active", False)
        if c.get("logo"):
            data["logo"] = c["logo"]
        elif c.get("remove_logo"):
            data["logo"] = ""
        phone = c.get("contact_phone") or ""
        keep_phone = self.instance is not None and not phone
        return {"data": data, "contact_phone": None if keep_phone else phone, "tags": c.get("tags", [])}


class MemberAddForm(StyledForm):
    person = forms.CharField(
        label=_("Person"),
        max_length=60,
        help_text=_("Phone, resident ID, name or pinyin initials."),
        widget=forms.TextInput(attrs={"placeholder": _("Find in the roster")}),
    )
    role = forms.ChoiceField(label=_("Role"), choices=MemberRole.choices, initial=MemberRole.MEMBER)
    joined_on = forms.DateField(label=_("Joined"), widget=date_input())

    def __init__(self, *args, user, **kwargs):
        self.user = user
        kwargs.setdefault("initial", {}).setdefault("joined_on", timezone.localdate())
        super().__init__(*args, **kwargs)

    def clean_person(self):
        return find_person(self.user, self.cleaned_data.get("person"))


class MemberEditForm(StyledForm):
    role = forms.ChoiceField(label=_("Role"), choices=MemberRole.choices)
    joined_on = forms.DateField(label=_("Joined"), widget=date_input())


class LeaveForm(StyledForm):
    left_on = forms.DateField(label=_("Left on"), widget=date_input())

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("left_on", timezone.localdate())
        super().__init__(*args, **kwargs)


class GroupMemberAddForm(StyledForm):
    member = forms.CharField(
        label=_("Member organization"),
        max_length=100,
        help_text=_("Its full name or credit code."),
        widget=forms.TextInput(attrs={"placeholder": _("Organization name or credit code")}),
    )
    joined_on = forms.DateField(label=_("Joined"), widget=date_input())

    def __init__(self, *args, user, **kwargs):
        self.user = user
        kwargs.setdefault("initial", {}).setdefault("joined_on", timezone.localdate())
        super().__init__(*args, **kwargs)

    def clean_member(self):
        return find_organization(self.user, self.cleaned_data.get("member"))


class ProjectForm(StyledForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    funder = forms.CharField(
        label=_("Funder"), max_length=100, help_text=_("The purchasing department, e.g. 区民政局.")
    )
    amount = forms.DecimalField(label=_("Amount (yuan)"), max_digits=12, decimal_places=2, min_value=0)
    starts_on = forms.DateField(label=_("Start"), widget=date_input())
    ends_on = forms.DateField(label=_("End"), widget=date_input())
    status = forms.ChoiceField(
        label=_("Status"), choices=ProjectStatus.choices, initial=ProjectStatus.ONGOING
    )
    deliverables = _text(4000, label=_("Deliverables"), widget=forms.Textarea(attrs={"rows": 3}))

    @staticmethod
    def initial_from(project: ServiceProject) -> dict:
        return {
            f: getattr(project, f)
            for f in ("title", "funder", "amount", "starts_on", "ends_on", "status", "deliverables")
        }

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("starts_on"), cleaned.get("ends_on")
        if start and end and end < start:
            self.add_error("ends_on", "结束日期不能早于开始日期")
        return cleaned


class AbsorptionForm(StyledForm):
    person = forms.ModelChoiceField(label=_("Person"), queryset=Person.objects.none(), empty_label="—")
    kind = forms.ChoiceField(label=_("Kind"), choices=AbsorptionKind.choices)
    level = forms.ChoiceField(label=_("Level"), choices=[("", "—"), *AbsorptionLevel.choices], required=False)
    year = forms.IntegerField(label=_("Year"), min_value=1949, max_value=2100)
    notes = _text(300, label=_("Notes"))

    def __init__(self, *args, user, organization: Organization, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("year", timezone.localdate().year)
        super().__init__(*args, **kwargs)
        members = organization.memberships.filter(left_on__isnull=True).values("person_id")
        people = Person.objects.visible_to(user).filter(pk__in=members)
        if organization.leader_id:
            people = people | Person.objects.visible_to(user).filter(pk=organization.leader_id)
        self.fields["person"].queryset = people.order_by("name_pinyin")
        self.fields["person"].help_text = _("The organization's leader or one of its members.")


class AllianceForm(StyledForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    field = forms.CharField(
        label=_("Field"),
        max_length=20,
        widget=forms.TextInput(attrs={"list": "alliance-fields"}),
        help_text=_("e.g. 志愿服务, 文创, 体育, 电竞"),
    )
    unit = forms.CharField(label=_("League committee (unit code)"), max_length=32)
    leader = forms.CharField(
        label=_("Leading society (盟主)"),
        max_length=100,
        required=False,
        help_text=_("Full name or credit code of a society in the committee's area; it joins the alliance."),
    )
    leader_join_method = forms.ChoiceField(
        label=_("Leading society joined by"),
        choices=JoinMethod.choices,
        initial=JoinMethod.BUILT,
        required=False,
    )
    secretary_general = forms.CharField(
        label=_("Secretary-general"),
        max_length=60,
        required=False,
        help_text=_("A person of the roster: phone, resident ID or name."),
    )
    founded_on = forms.DateField(label=_("Founded"), widget=date_input())
    description = _text(4000, label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    fields_suggested = ALLIANCE_FIELDS

    def __init__(self, *args, user, instance: Alliance | None = None, **kwargs):
        self.user = user
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "field": instance.field,
                "unit": instance.unit.code,
                "leader": org_display(instance.leader),
                "secretary_general": person_display(instance.secretary_general),
                "founded_on": instance.founded_on,
                "description": instance.description,
                "is_active": instance.is_active,
            }
        elif instance is None:
            initial = kwargs.setdefault("initial", {})
            initial.setdefault("founded_on", timezone.localdate())
            if user.unit_id:
                initial.setdefault("unit", user.unit.code)
        super().__init__(*args, **kwargs)
        if instance is None:
            del self.fields["is_active"]
        else:
            del self.fields["leader_join_method"]

    def clean_unit(self):
        return unit_in_scope(self.user, self.cleaned_data.get("unit"))

    def clean_name(self):
        name = normalize.text(self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError("联盟名称不能为空")
        return name

    def clean_field(self):
        return normalize.text(self.cleaned_data["field"])

    def clean_leader(self):
        current = self.instance.leader if self.instance is not None else None
        return find_organization(self.user, self.cleaned_data.get("leader"), current=current)

    def clean_secretary_general(self):
        current = self.instance.secretary_general if self.instance is not None else None
        return find_person(self.user, self.cleaned_data.get("secretary_general"), current=current)

    def save_args(self) -> dict:
        c = self.cleaned_data
        data = {
            "name": c["name"],
            "field": c["field"],
            "unit": c["unit"],
            "leader": c.get("leader"),
            "secretary_general": c.get("secretary_general"),
            "founded_on": c["founded_on"],
            "description": (c.get("description") or "").strip(),
        }
        if "is_active" in self.fields:
            data["is_active"] = c.get("is_active", False)
        args = {"data": data}
        if c.get("leader_join_method"):
            args["leader_join_method"] = c["leader_join_method"]
        return args


class AllianceMemberAddForm(StyledForm):
    organization = forms.CharField(
        label=_("Society"),
        max_length=100,
        help_text=_("Its full name or credit code."),
        widget=forms.TextInput(attrs={"placeholder": _("Society name or credit code")}),
    )
    join_method = forms.ChoiceField(label=_("Joined by"), choices=JoinMethod.choices)
    joined_on = forms.DateField(label=_("Joined"), widget=date_input())

    def __init__(self, *args, user, alliance: Alliance, **kwargs):
        self.user = user
        self.alliance = alliance
        kwargs.setdefault("initial", {}).setdefault("joined_on", timezone.localdate())
        super().__init__(*args, **kwargs)

    def clean_organization(self):
        within = Organization.objects.in_subtree(self.alliance.unit)
        return find_organization(self.user, self.cleaned_data.get("organization"), within=within)


class AllianceMemberEditForm(StyledForm):
    join_method = forms.ChoiceField(label=_("Joined by"), choices=JoinMethod.choices)
    joined_on = forms.DateField(label=_("Joined"), widget=date_input())


class MeetingForm(StyledForm):
    held_on = forms.DateField(label=_("Date"), widget=date_input())
    status = forms.ChoiceField(label=_("Status"), choices=MeetingStatus.choices)
    title = _text(200, label=_("Title"))
    location = _text(200, label=_("Location"))
    attendees = forms.ModelMultipleChoiceField(
        label=_("Council members present"),
        queryset=Organization.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    minutes = _text(20000, label=_("Minutes"), widget=forms.Textarea(attrs={"rows": 5}))
    decisions = _text(10000, label=_("Decisions"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, alliance: Alliance, **kwargs):
        super().__init__(*args, **kwargs)
        council = alliance.members.filter(is_council=True).values("organization_id")
        self.fields["attendees"].queryset = Organization.objects.filter(pk__in=council).order_by(
            "name_pinyin"
        )


class ScheduleForm(StyledForm):
    start = forms.DateField(
        label=_("First month"),
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
    )
    months = forms.IntegerField(label=_("Months"), min_value=1, max_value=36, initial=12)
    replace = forms.BooleanField(label=_("Replace months already assigned"), required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("start", timezone.localdate().replace(day=1))
        super().__init__(*args, **kwargs)


class DutyForm(StyledForm):
    organization = forms.ModelChoiceField(
        label=_("Duty society"), queryset=Organization.objects.none(), empty_label="—"
    )
    theme = _text(200, label=_("Theme"))

    def __init__(self, *args, alliance: Alliance, **kwargs):
        super().__init__(*args, **kwargs)
        council = alliance.members.filter(is_council=True).values("organization_id")
        self.fields["organization"].queryset = Organization.objects.filter(pk__in=council).order_by(
            "name_pinyin"
        )


class ImportForm(StyledForm):
    file = forms.FileField(label=_("Spreadsheet"), help_text=_(".xlsx, .xls, .ods or .csv"))
    unit = forms.CharField(
        label=_("Unit code"), max_length=32, help_text=_("Rows without their own unit are registered here.")
    )
    dry_run = forms.BooleanField(label=_("Dry run (check only, save nothing)"), required=False)
    update_existing = forms.BooleanField(
        label=_("Fill in empty fields of organizations already registered"), required=False
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        if user.unit_id:
            kwargs.setdefault("initial", {}).setdefault("unit", user.unit.code)
        super().__init__(*args, **kwargs)

    def clean_unit(self):
        return unit_in_scope(self.user, self.cleaned_data.get("unit"))


def parse_month(value: str) -> date | None:
    """'2026-03' -> date(2026, 3, 1); None for anything else."""
    try:
        year, month = (int(part) for part in (value or "").split("-")[:2])
        return date(year, month, 1)
    except (TypeError, ValueError):
        return None


def upload_limit_mb() -> int:
    return settings.TUANJU["IMPORT_LIMITS"]["max_bytes"] // 1048576
