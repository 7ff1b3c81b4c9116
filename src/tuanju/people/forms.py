"""Forms of the roster UI. A person typed in by hand passes the same parsers and rules as an imported row."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tuanju.accounts.models import User
from tuanju.hierarchy.models import OrgUnit
from tuanju.imports import normalize
from tuanju.people import actions
from tuanju.people.importing import POLITICAL_LABELS, POLITICAL_SYNONYMS
from tuanju.people.models import Category, ContactChannel, Gender, Person, PoliticalStatus


def _unit_in_scope(user, code: str) -> OrgUnit:
    code = (code or "").strip()
    unit = OrgUnit.objects.visible_to(user).filter(code=code[:32]).first() if code else None
    if unit is None:
        raise forms.ValidationError(
            _("No unit with code %(code)s in your scope.") % {"code": code}, code="unit_scope"
        )
    return unit


def _column_cleaner(key: str):
    """``clean_<key>``: the import column's parser; its Chinese reason becomes the form error."""

    def clean(self):
        try:
            return actions.parse_column(key, self.cleaned_data.get(key))
        except normalize.CellError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc

    clean.__name__ = f"clean_{key}"
    return clean


class TablerForm(forms.Form):
    """Widgets carry Tabler's classes; a field with errors is marked invalid."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = css

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["class"] += " is-invalid"


def _category_choices():
    return [("", "—")] + [(str(c.pk), str(c)) for c in Category.objects.select_related("parent")]


class PersonForm(TablerForm):
    """Create or edit one person (UI and API).

    ``resident_id`` and ``phone`` are never shown back: on an edit, leaving them empty keeps
    the stored values.
    """

    name = forms.CharField(label=_("Name"), max_length=200)
    unit = forms.CharField(
        label=_("Unit code"), max_length=32, help_text=_("The code of the unit (village, community…).")
    )
    resident_id = forms.CharField(label=_("Resident ID"), max_length=40, required=False)
    phone = forms.CharField(label=_("Mobile phone"), max_length=30, required=False)
    gender = forms.CharField(
        label=_("Gender"), required=False, widget=forms.Select(choices=[("", "—"), *Gender.choices])
    )
    birth_date = forms.CharField(
        label=_("Birth date"),
        required=False,
        max_length=20,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Filled in from the resident ID when one is given."),
    )
    political_status = forms.CharField(
        label=_("Political status"),
        required=False,
        widget=forms.Select(choices=[("", "—"), *PoliticalStatus.choices]),
    )
    ethnicity = forms.CharField(label=_("Ethnicity"), required=False, max_length=200)
    education = forms.CharField(label=_("Education"), required=False, max_length=200)
    category = forms.CharField(label=_("Category"), required=False, max_length=40, widget=forms.Select())
    employer = forms.CharField(label=_("Platform / employer"), required=False, max_length=400)
    skills = forms.CharField(label=_("Skills"), required=False, max_length=800)
    interests = forms.CharField(label=_("Interests"), required=False, max_length=800)
    needs = forms.CharField(
        label=_("Needs"), required=False, max_length=1200, widget=forms.Textarea(attrs={"rows": 2})
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_backbone = forms.BooleanField(label=_("Backbone"), required=False)
    in_talent_pool = forms.BooleanField(label=_("Talent pool"), required=False)
    is_mentor = forms.BooleanField(label=_("Dream mentor"), required=False)

    clean_name = _column_cleaner("name")
    clean_gender = _column_cleaner("gender")
    clean_birth_date = _column_cleaner("birth_date")
    clean_ethnicity = _column_cleaner("ethnicity")
    clean_education = _column_cleaner("education")
    clean_employer = _column_cleaner("employer")
    clean_skills = _column_cleaner("skills")
    clean_interests = _column_cleaner("interests")
    clean_needs = _column_cleaner("needs")
    clean_notes = _column_cleaner("notes")

    def __init__(self, *args, user, instance: Person | None = None, **kwargs):
        self.user = user
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(instance)
        elif instance is None and user.unit_id:
            kwargs.setdefault("initial", {}).setdefault("unit", user.unit.code)
        super().__init__(*args, **kwargs)
        self.fields["category"].widget.choices = _category_choices()
        if instance is not None:
            keep = _("Leave empty to keep the current value (%(masked)s).")
            self.fields["resident_id"].help_text = keep % {"masked": instance.resident_id_masked or "—"}
            self.fields["phone"].help_text = keep % {"masked": instance.phone_masked or "—"}
        else:
            self.fields["resident_id"].help_text = _("18 characters; the ID or the phone is required.")
            self.fields["phone"].help_text = _("11 digits.")

    @staticmethod
    def initial_from(person: Person) -> dict:
        """The form data that reproduces ``person`` (personal fields left empty: kept as stored)."""
        return {
            "name": person.name,
            "unit": person.unit.code,
            "resident_id": "",
            "phone": "",
            "gender": person.gender,
            "birth_date": person.birth_date.isoformat() if person.birth_date else "",
            "political_status": person.political_status,
            "ethnicity": person.ethnicity,
            "education": person.education,
            "category": str(person.category_id or ""),
            "employer": person.employer,
            "skills": person.skills,
            "interests": person.interests,
            "needs": person.needs,
            "notes": person.notes,
            "is_backbone": person.is_backbone,
            "in_talent_pool": person.in_talent_pool,
            "is_mentor": person.is_mentor,
        }

    def clean_unit(self):
        return _unit_in_scope(self.user, self.cleaned_data.get("unit"))

    def clean_resident_id(self):
        try:
            number = actions.parse_column("resident_id", self.cleaned_data.get("resident_id"))
        except normalize.CellError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc
        if number and actions.resident_id_taken(
            number, exclude_pk=self.instance.pk if self.instance else None
        ):
            raise forms.ValidationError(actions.DUPLICATE_ID_MESSAGE, code="duplicate")
        return number

    def clean_phone(self):
        try:
            return actions.parse_column("phone", self.cleaned_data.get("phone"))
        except normalize.CellError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc

    def clean_political_status(self):
        value = normalize.compact(self.cleaned_data.get("political_status"))
        if value in PoliticalStatus.values:
            return value
        synonyms = POLITICAL_SYNONYMS | {label: code for code, label in POLITICAL_LABELS.items()}
        try:
            return normalize.choice(value, synonyms, "政治面貌")
        except normalize.CellError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc

    def clean_category(self):
        value = normalize.compact(self.cleaned_data.get("category"))
        if not value:
            return None
        found = Category.objects.filter(name=value[:40]).first()
        if found is None and value.isdigit():
            found = Category.objects.filter(pk=int(value)).first()
        if found is None:
            raise forms.ValidationError(f"“{value}”不在类别表中", code="invalid")
        return found

    def clean(self):
        cleaned = super().clean()
        personal = ("resident_id", "phone", "birth_date", "gender")
        if any(field in self.errors for field in personal):
            return cleaned
        number = cleaned.get("resident_id") or ""
        phone = cleaned.get("phone") or ""
        if self.instance is not None:
            # Empty on an edit means "keep": the stored ID still decides birth date and gender.
            number = number or self.instance.reveal_resident_id()
            phone = phone or self.instance.phone_masked
        values = {
            "resident_id": number,
            "phone": phone,
            "birth_date": cleaned.get("birth_date"),
            "gender": cleaned.get("gender") or "",
        }
        for field, reasons in actions.check_record(values).items():
            for reason in reasons:
                self.add_error(field if field in self.fields else None, reason)
        cleaned["birth_date"] = values.get("birth_date")
        cleaned["gender"] = values.get("gender") or ""
        return cleaned

    def save_args(self) -> dict:
        """Keyword arguments for ``people.actions.save_person`` (with ``actor`` added by the caller)."""
        data = {field: self.cleaned_data[field] for field in actions.EDITABLE_FIELDS}
        return {
            "data": data,
            "resident_id": self.cleaned_data["resident_id"] or None,
            "phone": self.cleaned_data["phone"] or None,
        }


class ContactLogForm(TablerForm):
    contacted_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    channel = forms.ChoiceField(label=_("Channel"), choices=ContactChannel.choices)
    summary = forms.CharField(label=_("Summary"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    follow_up = forms.CharField(label=_("Follow-up needs"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("contacted_on", timezone.localdate().isoformat())
        super().__init__(*args, **kwargs)

    def clean_contacted_on(self):
        day = self.cleaned_data["contacted_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("The date cannot be in the future."), code="future")
        return day

    def clean_summary(self):
        summary = self.cleaned_data["summary"].strip()
        if not summary:
            raise forms.ValidationError(_("Write what was discussed."), code="required")
        return summary


class BulkActionForm(TablerForm):
    ACTIONS = [
        ("tag", _("Add a tag")),
        ("backbone_on", _("Mark as backbone")),
        ("backbone_off", _("Unmark backbone")),
        ("move", _("Move to the unit with code")),
    ]

    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    people = forms.ModelMultipleChoiceField(queryset=Person.objects.none())
    tag = forms.CharField(label=_("Tag"), max_length=30, required=False)
    unit = forms.CharField(label=_("Unit code"), max_length=32, required=False)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["people"].queryset = Person.objects.visible_to(user)
        self.fields["people"].error_messages["required"] = _("Select at least one person.")

    def clean(self):
        cleaned = super().clean()
        action = cleaned.get("action")
        if action == "tag":
            tag = normalize.text(cleaned.get("tag"))
            if not tag:
                self.add_error("tag", _("Give the tag to add."))
            cleaned["tag"] = tag
        elif action == "move":
            try:
                cleaned["unit"] = _unit_in_scope(self.user, cleaned.get("unit"))
            except forms.ValidationError as exc:
                self.add_error("unit", exc)
        else:
            cleaned["unit"] = None
        return cleaned


class DutyAssignForm(TablerForm):
    """Give a cadre of the subtree "1+N" responsibility for some backbone youth."""

    cadre = forms.ModelChoiceField(label=_("Cadre"), queryset=User.objects.none())
    people = forms.ModelMultipleChoiceField(label=_("Backbone youth"), queryset=Person.objects.none())

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["cadre"].queryset = (
            User.objects.visible_to(user)
            .filter(is_active=True, role__in=actions.CONTACT_ROLES)
            .select_related("unit")
            .order_by("unit__path", "username")
        )
        self.fields["cadre"].label_from_instance = lambda u: (
            f"{u.display_name}（{u.unit.name if u.unit else ''}）"
        )
        self.fields["people"].queryset = Person.objects.visible_to(user).filter(is_backbone=True)
        self.fields["people"].error_messages["required"] = _("Select at least one person.")

    def clean(self):
        cleaned = super().clean()
        cadre, people = cleaned.get("cadre"), cleaned.get("people")
        if cadre is not None and people is not None:
            outside = people.exclude(pk__in=Person.objects.visible_to(cadre).values("pk"))
            names = "、".join(outside.values_list("name", flat=True)[:5])
            if names:
                raise forms.ValidationError(
                    _("%(names)s are outside %(cadre)s's scope.")
                    % {"names": names, "cadre": cadre.display_name},
                    code="scope",
                )
        return cleaned


class ImportForm(TablerForm):
    file = forms.FileField(label=_("Spreadsheet"), help_text=_(".xlsx, .xls, .ods or .csv"))
    unit = forms.CharField(
        label=_("Unit code"),
        max_length=32,
        help_text=_("Rows without their own unit are registered here."),
    )
    dry_run = forms.BooleanField(label=_("Dry run (check only, save nothing)"), required=False)
    update_existing = forms.BooleanField(
        label=_("Fill in empty fields of people already registered"), required=False
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        if user.unit_id:
            kwargs.setdefault("initial", {}).setdefault("unit", user.unit.code)
        super().__init__(*args, **kwargs)

    def clean_unit(self):
        return _unit_in_scope(self.user, self.cleaned_data.get("unit"))
