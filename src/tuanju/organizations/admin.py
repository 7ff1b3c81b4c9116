"""Admin: the configurable lists (organization types, tags); records are edited in the staff UI."""

from django.contrib import admin

from tuanju.core.admin import ScopedAdminMixin
from tuanju.organizations.models import Alliance, Organization, OrgTag, OrgType


@admin.register(OrgType)
class OrgTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "is_county_type", "sort", "is_active"]
    list_editable = ["sort", "is_active"]
    search_fields = ["name"]


@admin.register(OrgTag)
class OrgTagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Organization)
class OrganizationAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "org_type", "unit", "registration_status", "is_active"]
    list_filter = ["org_type", "registration_status", "is_active"]
    search_fields = ["name", "uscc"]
    raw_id_fields = ["unit", "leader"]
    readonly_fields = ["contact_phone_masked"]
    exclude = ["contact_phone_enc", "contact_phone_bidx"]


@admin.register(Alliance)
class AllianceAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "field", "unit", "is_active"]
    search_fields = ["name", "field"]
    raw_id_fields = ["unit", "leader", "secretary_general"]
