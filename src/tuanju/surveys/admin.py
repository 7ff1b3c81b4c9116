from django.contrib import admin

from tuanju.core.admin import ScopedAdminMixin
from tuanju.surveys.models import Survey


@admin.register(Survey)
class SurveyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["title", "unit", "status", "mode", "one_per", "response_count", "created_at"]
    list_filter = ["status", "mode"]
    raw_id_fields = ["unit", "created_by"]
    readonly_fields = ["response_count"]
