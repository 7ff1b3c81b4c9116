"""Forms of the rating pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tuanju.people.forms import TablerForm

from .sources import METRICS


class FormulaForm(TablerForm):
    notes = forms.CharField(
        label=_("Explanation (published)"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    threshold_2 = forms.FloatField(label=_("Score for 2 stars"), min_value=0, max_value=100)
    threshold_3 = forms.FloatField(label=_("Score for 3 stars"), min_value=0, max_value=100)
    threshold_4 = forms.FloatField(label=_("Score for 4 stars"), min_value=0, max_value=100)
    threshold_5 = forms.FloatField(label=_("Score for 5 stars"), min_value=0, max_value=100)

    def __init__(self, *args, formula=None, **kwargs):
        super().__init__(*args, **kwargs)
        for metric in METRICS:
            field = forms.FloatField(label=f"{metric.label} · 权重", min_value=0, max_value=100)
            field.widget.attrs["class"] = "form-control"
            self.fields[f"w_{metric.key}"] = field
            if metric.kind == "count":
                target = forms.FloatField(
                    label=f"{metric.label} · 月度目标（{metric.unit}）", min_value=0, max_value=100000
                )
                target.widget.attrs["class"] = "form-control"
                self.fields[f"t_{metric.key}"] = target
        if formula is not None and not self.is_bound:
            for metric in METRICS:
                self.initial[f"w_{metric.key}"] = formula.weights.get(metric.key, 0)
                if metric.kind == "count":
                    self.initial[f"t_{metric.key}"] = formula.targets.get(metric.key, 1)
            for i, value in enumerate(formula.thresholds[:4], start=2):
                self.initial[f"threshold_{i}"] = value
            self.initial["notes"] = formula.notes

    def clean(self):
        data = super().clean()
        values = [data.get(f"threshold_{i}") for i in range(2, 6)]
        if all(v is not None for v in values) and values != sorted(values):
            raise forms.ValidationError("星级分数线应从二星到五星逐级升高")
        return data

    def payload(self) -> dict:
        data = self.cleaned_data
        return {
            "weights": {m.key: data[f"w_{m.key}"] for m in METRICS},
            "targets": {m.key: data[f"t_{m.key}"] for m in METRICS if m.kind == "count"},
            "thresholds": [data[f"threshold_{i}"] for i in range(2, 6)],
            "notes": data.get("notes", ""),
        }


class GrantForm(TablerForm):
    amount = forms.DecimalField(
        label=_("Amount"), required=False, min_value=0, max_digits=10, decimal_places=2
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class RevokeForm(TablerForm):
    reason = forms.CharField(label=_("Reason"), max_length=200)
