from django.contrib import admin

from .models import (
    ChecklistItem,
    ChecklistTemplate,
    LedgerSchema,
    RefreshRun,
    ScoringScheme,
)


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active")
    inlines = [ChecklistItemInline]


@admin.register(LedgerSchema)
class LedgerSchemaAdmin(admin.ModelAdmin):
    list_display = ("level", "is_active", "due_hours")


@admin.register(ScoringScheme)
class ScoringSchemeAdmin(admin.ModelAdmin):
    list_display = ("name", "unit", "level", "threshold", "bottom_share", "is_active")
    raw_id_fields = ("unit",)


@admin.register(RefreshRun)
class RefreshRunAdmin(admin.ModelAdmin):
    list_display = ("started_at", "scope_code", "trigger", "seconds", "units", "error")
    readonly_fields = [f.name for f in RefreshRun._meta.fields]
