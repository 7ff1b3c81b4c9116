from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from tuanju.accounts.models import User
from tuanju.core.admin import ScopedAdminMixin


@admin.register(User)
class StaffAdmin(ScopedAdminMixin, UserAdmin):
    list_display = ["username", "first_name", "unit", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    raw_id_fields = ["unit"]
    fieldsets = (*UserAdmin.fieldsets, ("Tuanju", {"fields": ("unit", "role", "phone")}))
