"""Forms of the insight UI. Error messages a cadre reads are Chinese; labels are translatable."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tuanju.hierarchy.models import LEVEL_ORDER, Level, OrgUnit

from .ledgers import STANDARD_FIELDS
from .models import EntryStatus, PublicationKind
from .scoring import CRITERIA


class StyledForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
                css = "form-check-input" if isinstance(widget, forms.CheckboxInput) else ""
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            if css:
                widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = (widget.attrs.get("class", "") + " is-invalid").strip()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


def units_from_codes(text: str, *, under: OrgUnit) -> list[OrgUnit]:
    codes = [c.strip() for c in text.replace(",", "\n").replace("，", "\n").splitlines() if c.strip()]
    found = {u.code: u for u in OrgUnit.objects.filter(code__in=codes[:500])}
    missing = [c for c in codes if c not in found]
    if missing:
        raise forms.ValidationError("找不到单位编码：%(codes)s。", params={"codes": "、".join(missing[:10])})
    outside = [u.name for u in found.values() if not u.path.startswith(under.path) or u.pk == under.pk]
    if outside:
        raise forms.ValidationError("以下单位不在本单位之下：%(names)s。", params={"names": "、".join(outside[:10])})
    return [found[c] for c in dict.fromkeys(codes)]


class TaskForm(StyledForm):
    MODES = [
        ("children", _("All units directly below")),
        ("level", _("All units of a level below")),
        ("chosen", _("Chosen units")),
    ]
    title = forms.CharField(label=_("Title"), max_length=120)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 5}), required=False)
    deadline = forms.DateTimeField(
        label=_("Deadline"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    mode = forms.ChoiceField(label=_("Send to"), choices=MODES, initial="children", widget=forms.RadioSelect)
    level = forms.ChoiceField(label=_("Level"), choices=[], required=False)
    children = forms.MultipleChoiceField(label=_("Units directly below"), choices=[], required=False,
                                         widget=forms.CheckboxSelectMultiple)
    codes = forms.CharField(
        label=_("Other units (codes, one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Any unit further below, e.g. a lagging village."),
    )
    required_figures = forms.CharField(
        label=_("Figures to report (one per line, name|measure)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "联系快递小哥人数|人"}),
    )
    remind_days = forms.IntegerField(label=_("Remind days before the deadline"), min_value=0, max_value=30, initial=2)
    files = MultipleFileField(label=_("Attachments"))

    def __init__(self, *args, sender: OrgUnit, **kwargs):
        super().__init__(*args, **kwargs)
        self.sender = sender
        children = OrgUnit.objects.filter(path__startswith=sender.path, depth=sender.depth + 1).order_by("path")
        self.fields["children"].choices = [(c.code, c.name) for c in children]
        below = LEVEL_ORDER[LEVEL_ORDER.index(sender.level) + 1 :]
        labels = dict(Level.choices)
        self.fields["level"].choices = [("", "—")] + [(lv, labels[lv]) for lv in below]
        if not self.is_bound:
            self.initial.setdefault("deadline", (timezone.localtime() + timedelta(days=7)).replace(
                hour=17, minute=0, second=0, microsecond=0))

    def clean_deadline(self):
        deadline = self.cleaned_data["deadline"]
        if isinstance(deadline, datetime) and deadline <= timezone.now():
            raise forms.ValidationError("截止时间必须晚于现在。")
        return deadline

    def clean(self):
        data = super().clean()
        mode = data.get("mode")
        recipients: list[OrgUnit] = []
        if mode == "children":
            recipients = list(OrgUnit.objects.filter(path__startswith=self.sender.path, depth=self.sender.depth + 1))
        elif mode == "level":
            if not data.get("level"):
                self.add_error("level", "请选择层级。")
            else:
                recipients = list(OrgUnit.objects.filter(path__startswith=self.sender.path, level=data["level"]))
                if len(recipients) > 5000:
                    self.add_error("level", "该层级单位超过5000个，请选择更高的层级或指定单位。")
        elif mode == "chosen":
            chosen = list(OrgUnit.objects.filter(code__in=data.get("children") or [],
                                                 path__startswith=self.sender.path))
            try:
                chosen += units_from_codes(data.get("codes") or "", under=self.sender)
            except forms.ValidationError as exc:
                self.add_error("codes", exc)
            recipients = chosen
        if not recipients and not self.errors:
            raise forms.ValidationError("请至少选择一个接收单位。")
        data["recipients"] = recipients
        return data


class ReportForm(StyledForm):
    progress = forms.IntegerField(label=_("Progress (%)"), min_value=0, max_value=100)
    note = forms.CharField(label=_("Progress note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    files = MultipleFileField(label=_("Evidence"))
    done = forms.BooleanField(label=_("Mark done"), required=False)

    def __init__(self, *args, task, **kwargs):
        super().__init__(*args, **kwargs)
        self.figure_fields = []
        for figure in task.required_figures:
            name = f"fig_{figure['key']}"
            label = figure["label"] + (f"（{figure['unit']}）" if figure.get("unit") else "")
            self.fields[name] = forms.DecimalField(label=label, required=False, min_value=0, max_digits=12,
                                                   decimal_places=2, widget=forms.NumberInput(attrs={"class": "form-control"}))
            self.figure_fields.append(name)

    def figures(self) -> dict:
        return {
            name[4:]: float(self.cleaned_data[name])
            for name in self.figure_fields
            if self.cleaned_data.get(name) is not None
        }


class CommentForm(StyledForm):
    body = forms.CharField(label=_("Comment"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(StyledForm):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class LedgerForm(StyledForm):
    highlights = forms.CharField(label=_("Highlights"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    problems = forms.CharField(label=_("Problems"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, fields, ledger, **kwargs):
        super().__init__(*args, **kwargs)
        self.manual_fields = []
        for f in fields:
            if f.flow:
                continue
            name = f"m_{f.key}"
            self.fields[name] = forms.DecimalField(label=f.label, required=False, min_value=0, max_digits=12,
                                                   decimal_places=2, initial=ledger.manual.get(f.key),
                                                   widget=forms.NumberInput(attrs={"class": "form-control"}))
            self.manual_fields.append(name)
        self.fields["highlights"] = self.fields.pop("highlights")
        self.fields["problems"] = self.fields.pop("problems")
        if not self.is_bound:
            self.initial.update(highlights=ledger.highlights, problems=ledger.problems)

    def clean(self):
        data = super().clean()
        if not (data.get("highlights") or "").strip():
            self.add_error("highlights", "请填写本周工作亮点。")
        return data

    def manual(self) -> dict:
        out = {}
        for name in self.manual_fields:
            value = self.cleaned_data.get(name)
            if value is not None:
                number = float(value)
                out[name[2:]] = int(number) if number.is_integer() else number
        return out


class SchemeForm(StyledForm):
    threshold = forms.FloatField(label=_("Lagging below this score"), min_value=0, max_value=100)
    bottom_share = forms.FloatField(label=_("Lagging share at the bottom (%)"), min_value=0, max_value=50)

    def __init__(self, *args, scheme, **kwargs):
        super().__init__(*args, **kwargs)
        for criterion in CRITERIA:
            self.fields[f"w_{criterion.key}"] = forms.FloatField(
                label=criterion.label, min_value=0, max_value=100,
                initial=(scheme.weights or {}).get(criterion.key, 0),
            )
        if not self.is_bound:
            self.initial.update(threshold=scheme.threshold, bottom_share=round(scheme.bottom_share * 100, 1))

    def weights(self) -> dict:
        return {c.key: self.cleaned_data[f"w_{c.key}"] for c in CRITERIA}


class LedgerSchemaForm(StyledForm):
    is_active = forms.BooleanField(label=_("Units of this level keep a weekly ledger"), required=False)
    standard = forms.MultipleChoiceField(
        label=_("Computed fields"),
        choices=[(f.key, f.label) for f in STANDARD_FIELDS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    custom = forms.CharField(
        label=_("Reported fields (one label per line)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    due_hours = forms.IntegerField(label=_("Due (hours after Sunday midnight)"), min_value=0, max_value=144)

    def fields_value(self) -> list:
        out: list = list(self.cleaned_data["standard"])
        for index, line in enumerate((self.cleaned_data.get("custom") or "").splitlines(), start=1):
            if line.strip():
                out.append({"key": f"c{index}", "label": line.strip()[:40]})
        return out


class PublicationForm(StyledForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=PublicationKind.choices)
    title = forms.CharField(label=_("Title"), max_length=120)
    summary = forms.CharField(label=_("Summary"), max_length=300, required=False)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 12}))
    is_public = forms.BooleanField(label=_("Also on a public phone page"), required=False)


class EntryForm(StyledForm):
    status = forms.ChoiceField(label=_("Status"), choices=EntryStatus.choices)
    note = forms.CharField(label=_("Evidence and notes"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    evidence = forms.FileField(label=_("Evidence file"), required=False)


class TrackForm(StyledForm):
    codes = forms.CharField(label=_("Unit codes (one per line)"), widget=forms.Textarea(attrs={"rows": 2}))


class ChecklistItemsForm(StyledForm):
    items = forms.CharField(label=_("Items (one per line)"), widget=forms.Textarea(attrs={"rows": 8}))
