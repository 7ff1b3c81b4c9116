from django import forms
from django.utils.translation import gettext_lazy as _

from tuanju.hierarchy.models import OrgUnit


class UnitCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.CharField(
        label=_("Kind"), max_length=20, required=False, help_text=_("e.g. village, community, park")
    )
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        required=False,
        help_text=_("Leave empty to generate one under the parent's code."),
    )


class UnitRenameForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.CharField(label=_("Kind"), max_length=20, required=False)


class UnitPickForm(forms.Form):
    """Pick another unit by its code, within the user's scope."""

    code = forms.CharField(label=_("Code of the unit"), max_length=32)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        unit = OrgUnit.objects.visible_to(self.user).filter(code=code).first()
        if unit is None:
            raise forms.ValidationError(_("No unit with code %(code)s in your scope.") % {"code": code})
        self.cleaned_data["unit"] = unit
        return code
