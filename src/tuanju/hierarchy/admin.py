from django.contrib import admin

from tuanju.core.admin import ScopedAdminMixin
from tuanju.hierarchy.models import OrgUnit


@admin.register(OrgUnit)
class OrgUnitAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "code", "level", "depth", "numchild"]
    list_filter = ["level"]
    search_fields = ["name", "code", "pinyin"]
    readonly_fields = ["path", "depth", "numchild"]
