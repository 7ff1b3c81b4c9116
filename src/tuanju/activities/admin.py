from django.contrib import admin

from tuanju.core.admin import ScopedAdminMixin

from .models import Activity, BlacklistProposal, CheckIn, CreditBlock, Registration


@admin.register(Activity)
class ActivityAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("title", "organizer_name", "starts_at", "status", "unit")
    list_filter = ("status", "organizer_kind", "activity_type")
    search_fields = ("title", "organizer_name")
    raw_id_fields = ("unit", "organization", "alliance", "duty_organization", "community", "audience_unit")


@admin.register(Registration)
class RegistrationAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("activity", "person", "status", "checked_in_at", "outcome", "hours")
    list_filter = ("status", "outcome")
    raw_id_fields = ("activity", "person")


@admin.register(CheckIn)
class CheckInAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("activity", "registration", "kind", "method", "at")
    raw_id_fields = ("activity", "registration")


@admin.register(CreditBlock)
class CreditBlockAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("person", "community", "created_at", "served_at", "revoked_at")
    raw_id_fields = ("person", "community", "trigger", "blocked_activity")


@admin.register(BlacklistProposal)
class BlacklistProposalAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("person", "community", "blocks", "status", "created_at")
    raw_id_fields = ("person", "community")
