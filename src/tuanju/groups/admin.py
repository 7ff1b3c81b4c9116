"""Admin: the configurable community categories, and read-mostly views of the scoped records."""

from django.contrib import admin

from tuanju.core.admin import ScopedAdminMixin

from .models import BlacklistEntry, ChatGroup, Community, CommunityCategory


@admin.register(CommunityCategory)
class CommunityCategoryAdmin(admin.ModelAdmin):
    """突击应急、志愿服务…: add, rename, reorder or retire (``is_active``) categories here."""

    list_display = ["name", "description", "sort", "is_active"]
    list_editable = ["sort", "is_active"]
    search_fields = ["name"]


@admin.register(ChatGroup)
class ChatGroupAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "unit", "platform", "member_count", "liaison_count", "robot_status"]
    list_filter = ["kind", "platform", "robot_status"]
    search_fields = ["name", "external_name", "unit__code"]
    raw_id_fields = ["unit", "parent", "owner_user", "owner_person"]
    # The counters are kept by groups.actions and the signals; the webhook only through the UI (encrypted).
    readonly_fields = ["member_count", "placed_count", "liaison_count", "webhook_hint", "robot_checked_at"]


@admin.register(Community)
class CommunityAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "category", "unit", "requires_resident_id", "requires_approval", "is_open"]
    list_filter = ["category", "is_open"]
    search_fields = ["name"]
    raw_id_fields = ["unit", "chat_group"]


@admin.register(BlacklistEntry)
class BlacklistEntryAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["person", "community", "warnings", "decided_by", "decided_at", "lifted_at"]
    raw_id_fields = ["person", "community"]
    readonly_fields = ["decided_by", "decided_at", "lifted_by", "lifted_at"]
