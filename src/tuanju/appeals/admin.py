from django.contrib import admin

from tuanju.appeals.models import Appeal, AppealCategory, CalendarDay, Department, ServiceType, Station
from tuanju.core.admin import ScopedAdminMixin


@admin.register(AppealCategory)
class AppealCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "time_limit_days", "department_kind", "sort", "is_active"]
    list_editable = ["time_limit_days", "sort", "is_active"]


@admin.register(ServiceType)
class ServiceTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "tag", "sort", "is_active"]
    list_editable = ["tag", "sort", "is_active"]


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["day", "is_workday", "note"]


@admin.register(Department)
class DepartmentAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "unit", "is_active"]
    raw_id_fields = ["unit"]


@admin.register(Station)
class StationAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "unit", "is_active"]
    raw_id_fields = ["unit"]


@admin.register(Appeal)
class AppealAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["id", "title", "category", "status", "unit", "department", "due_date"]
    list_filter = ["status", "source"]
    raw_id_fields = ["unit", "intake_unit", "department", "station", "person", "created_by"]
    exclude = ["phone_enc"]
