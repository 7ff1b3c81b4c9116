from django.contrib import admin

from tuanju.core.admin import ScopedAdminMixin

from .models import Directive, Escalation, GroupDelivery, Message


@admin.register(Directive)
class DirectiveAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("title", "urgency", "status", "unit", "sent_at", "planned_groups", "planned_people")
    list_filter = ("urgency", "status")
    search_fields = ("title",)
    raw_id_fields = ("unit", "created_by", "decided_by", "copied_from")
    readonly_fields = ("reach_totals", "reach_at", "planned_at", "plan_seconds", "attempted_at")


@admin.register(GroupDelivery)
class GroupDeliveryAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("directive", "group", "channel", "state", "delivered_at", "acked_at", "escalations")
    list_filter = ("channel", "state")
    raw_id_fields = ("directive", "group", "unit", "acked_by")


@admin.register(Message)
class MessageAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = (
        "idem_key",
        "channel",
        "purpose",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "error",
    )
    list_filter = ("channel", "purpose", "state")
    search_fields = ("idem_key", "provider_id")
    raw_id_fields = ("directive", "delivery", "receipt", "user")


@admin.register(Escalation)
class EscalationAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("directive", "delivery", "step", "created_at", "liaisons", "cadres", "channels")
    raw_id_fields = ("directive", "delivery", "cadre_unit")
