"""Forms of appeals and stations: the public H5 intake, staff entry, routing and handling steps."""

from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tuanju.accounts.models import Role, User
from tuanju.appeals import photos as photo_rules
from tuanju.appeals.actions import MAX_CONTENT, MAX_TIME_LIMIT
from tuanju.appeals.models import (
    AppealCategory,
    Department,
    DepartmentKind,
    Satisfaction,
    ServiceType,
    Source,
    Station,
    StationKind,
)
from tuanju.hierarchy.models import OrgUnit
from tuanju.imports import normalize
from tuanju.people.forms import TablerForm


def unit_in_scope(user, code: str) -> OrgUnit:
    code = (code or "").strip()
    unit = OrgUnit.objects.visible_to(user).filter(code=code[:32]).first() if code else None
    if unit is None:
        raise forms.ValidationError(f"您的管辖范围内没有编码为“{code}”的单位", code="unit_scope")
    return unit


def _phone(value: str) -> str:
    try:
        return normalize.phone(value)
    except normalize.CellError as exc:
        raise forms.ValidationError(str(exc), code="invalid") from exc


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Up to ``photos.MAX_PHOTOS`` images, each checked and re-encoded (EXIF removed)."""

    widget = MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp", "multiple": True})

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > photo_rules.MAX_PHOTOS:
            raise forms.ValidationError(f"最多上传{photo_rules.MAX_PHOTOS}张照片")
        cleaned = []
        for uploaded in files:
            try:
                cleaned.append(photo_rules.clean_photo(uploaded))
            except photo_rules.PhotoRejected as exc:
                raise forms.ValidationError(str(exc)) from exc
        return cleaned


def _categories():
    return AppealCategory.objects.filter(is_active=True)


class IntakeForm(TablerForm):
    """The public H5 form (no login)."""

    category = forms.ModelChoiceField(
        label=_("What is it about?"), queryset=AppealCategory.objects.none(), empty_label=None
    )
    content = forms.CharField(
        label=_("Your appeal"),
        max_length=MAX_CONTENT,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "请描述您遇到的问题和希望得到的帮助"}),
    )
    area = forms.ChoiceField(label=_("Where?"), required=False)
    location = forms.CharField(label=_("Address (optional)"), max_length=200, required=False)
    contact_name = forms.CharField(label=_("Your name"), max_length=50, required=False)
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        required=False,
        help_text=_("To be told when there is an answer."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    is_anonymous = forms.BooleanField(
        label=_("Keep my name and phone from the handling department"), required=False
    )
    photos = PhotosField(label=_("Photos (optional, up to 4)"), required=False)
    consent = forms.BooleanField(label=_("I have read and agree to the privacy notice"))
    website = forms.CharField(required=False, widget=forms.HiddenInput)  # honeypot

    def __init__(self, *args, unit: OrgUnit, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit = unit
        self.fields["category"].queryset = _categories()
        self.fields["consent"].error_messages["required"] = "请阅读并同意个人信息处理说明"
        self.fields["content"].error_messages["required"] = "请填写诉求内容"
        children = list(
            OrgUnit.objects.filter(path__startswith=unit.path, depth=unit.depth + 1).order_by("code")
        )
        if children:
            self.fields["area"].choices = [("", "—")] + [(c.code, c.name) for c in children]
        else:
            del self.fields["area"]

    def clean_phone(self):
        value = self.cleaned_data.get("phone", "")
        return _phone(value) if value else ""

    def clean_content(self):
        content = (self.cleaned_data.get("content") or "").strip()
        if len(content) < 5:
            raise forms.ValidationError("请把诉求写清楚（至少5个字）")
        return content

    def clean_area(self):
        code = self.cleaned_data.get("area")
        if not code:
            return self.unit
        found = OrgUnit.objects.filter(path__startswith=self.unit.path, code=code).first()
        if found is None:
            raise forms.ValidationError("请选择所在区域")
        return found

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("website"):
            raise forms.ValidationError("提交失败，请稍后再试")
        return cleaned


class StaffAppealForm(TablerForm):
    """Staff entry: a walk-in, a phone call, a letter."""

    unit = forms.CharField(label=_("Unit code"), max_length=32)
    category = forms.ModelChoiceField(label=_("Category"), queryset=AppealCategory.objects.none())
    source = forms.ChoiceField(
        label=_("Source"),
        choices=[
            (Source.STAFF, Source.STAFF.label),
            (Source.HOTLINE, Source.HOTLINE.label),
            (Source.STATION, Source.STATION.label),
        ],
    )
    hotline_number = forms.CharField(label=_("12345 work-order number"), max_length=40, required=False)
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    content = forms.CharField(
        label=_("Content"), max_length=MAX_CONTENT, widget=forms.Textarea(attrs={"rows": 5})
    )
    location = forms.CharField(label=_("Place"), max_length=200, required=False)
    contact_name = forms.CharField(label=_("Name"), max_length=50, required=False)
    phone = forms.CharField(label=_("Mobile phone"), max_length=20, required=False)
    is_anonymous = forms.BooleanField(label=_("Anonymous to the handler"), required=False)
    received_at = forms.DateTimeField(
        label=_("Received"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    photos = PhotosField(label=_("Photos"), required=False)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        if user.unit_id:
            kwargs.setdefault("initial", {}).setdefault("unit", user.unit.code)
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = _categories()

    def clean_unit(self):
        return unit_in_scope(self.user, self.cleaned_data.get("unit"))

    def clean_phone(self):
        value = self.cleaned_data.get("phone", "")
        return _phone(value) if value else ""

    def clean_hotline_number(self):
        from tuanju.appeals.models import Appeal

        number = normalize.compact(self.cleaned_data.get("hotline_number"))
        if number and Appeal.objects.filter(hotline_number=number).exists():
            raise forms.ValidationError("该12345工单编号已登记")
        return number or None

    def clean_received_at(self):
        moment = self.cleaned_data.get("received_at")
        if moment and moment > timezone.now():
            raise forms.ValidationError("受理时间不能晚于现在")
        return moment


class RouteForm(TablerForm):
    """Assign or reassign: to a unit of the scope (by code) or to a partner department."""

    department = forms.ModelChoiceField(
        label=_("Partner department"), queryset=Department.objects.none(), required=False
    )
    unit = forms.CharField(label=_("or a unit (code)"), max_length=32, required=False)
    time_limit_days = forms.IntegerField(
        label=_("Time limit (working days)"), min_value=1, max_value=MAX_TIME_LIMIT, required=False
    )
    note = forms.CharField(
        label=_("Instructions"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, user, departments, category=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments.select_related("unit").order_by("unit__path", "name")
        self.fields["department"].label_from_instance = lambda d: f"{d.name}（{d.get_kind_display()}）"
        if category is not None:
            self.fields["time_limit_days"].widget.attrs["placeholder"] = str(category.time_limit_days)
            self.fields["time_limit_days"].help_text = _("Empty: the category's %(days)s working days.") % {
                "days": category.time_limit_days
            }

    def clean(self):
        cleaned = super().clean()
        code = (cleaned.get("unit") or "").strip()
        if code:
            try:
                cleaned["unit"] = unit_in_scope(self.user, code)
            except forms.ValidationError as exc:
                self.add_error("unit", exc)
                return cleaned
        else:
            cleaned["unit"] = None
        if bool(cleaned.get("department")) == bool(cleaned.get("unit")):
            raise forms.ValidationError("请选择一个协作部门，或填写一个承办单位编码（二选一）")
        return cleaned


class TextStepForm(TablerForm):
    text = forms.CharField(label=_("Text"), max_length=MAX_CONTENT, widget=forms.Textarea(attrs={"rows": 4}))


class ReasonForm(TablerForm):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class RatingForm(TablerForm):
    satisfaction = forms.TypedChoiceField(
        label=_("How satisfied are you with the answer?"),
        choices=Satisfaction.choices,
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything to add?"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["satisfaction"].widget.attrs["class"] = "form-check-input"
        self.fields["satisfaction"].error_messages["required"] = "请选择满意程度"


class CategoryForm(forms.ModelForm):
    class Meta:
        model = AppealCategory
        fields = [
            "name",
            "description",
            "time_limit_days",
            "department_kind",
            "synonyms",
            "sort",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = (
                "form-check-input"
                if isinstance(field.widget, forms.CheckboxInput)
                else ("form-select" if isinstance(field.widget, forms.Select) else "form-control")
            )
            field.widget.attrs["class"] = css
        self.fields["time_limit_days"].validators.append(_time_limit)


def _time_limit(value):
    if not 1 <= value <= MAX_TIME_LIMIT:
        raise forms.ValidationError(f"办理时限应为1至{MAX_TIME_LIMIT}个工作日")


class DepartmentForm(TablerForm):
    unit = forms.CharField(
        label=_("Unit code"),
        max_length=32,
        help_text=_("The unit whose government the department belongs to."),
    )
    name = forms.CharField(label=_("Name"), max_length=60)
    kind = forms.ChoiceField(label=_("Kind"), choices=DepartmentKind.choices)
    contact_name = forms.CharField(label=_("Contact person"), max_length=30, required=False)
    phone = forms.CharField(label=_("Office phone"), max_length=30, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        if kwargs.get("initial") is None and user.unit_id:
            kwargs["initial"] = {"unit": user.unit.code, "is_active": True}
        super().__init__(*args, **kwargs)

    def clean_unit(self):
        return unit_in_scope(self.user, self.cleaned_data.get("unit"))

    def clean_name(self):
        name = normalize.compact(self.cleaned_data.get("name"))
        if len(name) < 2:
            raise forms.ValidationError("请填写部门全称")
        return name


class DepartmentAccountForm(TablerForm):
    username = forms.CharField(label=_("User name"), max_length=150)
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"), help_text=_("Reminders of due and overdue appeals go here."))
    role = forms.ChoiceField(
        label=_("Role"), choices=[(Role.CADRE, _("Handler (may reply)")), (Role.VIEWER, _("Read-only"))]
    )
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput(render_value=False))

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if User.objects.filter(username=username).exists():
            raise forms.ValidationError("该用户名已被使用")
        return username

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("username"):
            try:
                validate_password(cleaned["password"], User(username=cleaned["username"]))
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class StationForm(TablerForm):
    unit = forms.CharField(label=_("Unit code"), max_length=32)
    name = forms.CharField(label=_("Name"), max_length=60)
    kind = forms.ChoiceField(label=_("Kind"), choices=StationKind.choices)
    address = forms.CharField(label=_("Address"), max_length=200)
    latitude = forms.DecimalField(
        label=_("Latitude"), max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False
    )
    longitude = forms.DecimalField(
        label=_("Longitude"), max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False
    )
    opening_hours = forms.CharField(
        label=_("Opening hours"), max_length=100, required=False, help_text="例：周一至周日 9:00-21:00"
    )
    services = forms.ModelMultipleChoiceField(
        label=_("Services"),
        queryset=ServiceType.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    host = forms.CharField(label=_("Run by"), max_length=100, required=False)
    contact_name = forms.CharField(label=_("Contact person"), max_length=30, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=30, required=False)
    description = forms.CharField(
        label=_("Description"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_active = forms.BooleanField(label=_("Open"), required=False, initial=True)

    def __init__(self, *args, user, instance: Station | None = None, **kwargs):
        self.user = user
        self.instance = instance
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "unit": instance.unit.code,
                    **{
                        f: getattr(instance, f)
                        for f in (
                            "name",
                            "kind",
                            "address",
                            "latitude",
                            "longitude",
                            "opening_hours",
                            "host",
                            "contact_name",
                            "contact_phone",
                            "description",
                            "is_active",
                        )
                    },
                    "services": list(instance.services.values_list("pk", flat=True)),
                },
            )
        elif user.unit_id:
            kwargs.setdefault("initial", {}).setdefault("unit", user.unit.code)
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = ServiceType.objects.filter(is_active=True)
        self.fields["services"].widget.attrs["class"] = "form-check-input"

    def clean_unit(self):
        return unit_in_scope(self.user, self.cleaned_data.get("unit"))

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None):
            raise forms.ValidationError("经度和纬度需同时填写")
        return cleaned

    def save_args(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "services"}
        return {"data": data, "services": list(self.cleaned_data["services"])}


class ServiceRecordForm(TablerForm):
    served_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    service = forms.ModelChoiceField(label=_("Service"), queryset=ServiceType.objects.none(), required=False)
    people_count = forms.IntegerField(label=_("People served"), min_value=1, max_value=10000, initial=1)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, station: Station, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("served_on", timezone.localdate().isoformat())
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = ServiceType.objects.filter(is_active=True)

    def clean_served_on(self):
        day = self.cleaned_data["served_on"]
        if day > timezone.localdate():
            raise forms.ValidationError("服务日期不能晚于今天")
        return day


class CheckinForm(TablerForm):
    """H5 check-in at a station: the service used; name and phone optional (to link to the roster)."""

    service = forms.ModelChoiceField(
        label=_("Service used"), queryset=ServiceType.objects.none(), required=False
    )
    phone = forms.CharField(label=_("Mobile phone (optional)"), max_length=20, required=False)

    def __init__(self, *args, station: Station, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = station.services.filter(is_active=True)

    def clean_phone(self):
        value = self.cleaned_data.get("phone", "")
        return _phone(value) if value else ""


class HotlineImportForm(TablerForm):
    file = forms.FileField(label=_("12345 export"), help_text=_(".xlsx, .xls, .ods or .csv"))
    unit = forms.CharField(
        label=_("Unit code"),
        max_length=32,
        help_text=_("Work orders whose area is not found are registered here."),
    )
    dry_run = forms.BooleanField(label=_("Dry run (check only, save nothing)"), required=False)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        if user.unit_id:
            kwargs.setdefault("initial", {}).setdefault("unit", user.unit.code)
        super().__init__(*args, **kwargs)

    def clean_unit(self):
        return unit_in_scope(self.user, self.cleaned_data.get("unit"))
