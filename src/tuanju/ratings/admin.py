from django.contrib import admin

from tuanju.core.admin import ScopedAdminMixin

from .models import Benefit, BenefitGrant, Formula, LiaisonRating


@admin.register(Benefit)
class BenefitAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "min_stars", "amount_unit", "default_amount", "is_active", "sort")


@admin.register(Formula)
class FormulaAdmin(admin.ModelAdmin):
    list_display = ("version", "is_current", "published_at", "published_by")
    readonly_fields = ("version", "weights", "targets", "thresholds", "published_at", "published_by")


@admin.register(LiaisonRating)
class LiaisonRatingAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "period", "period_start", "stars", "score", "unit")
    list_filter = ("period", "stars")
    raw_id_fields = ("unit", "person", "user", "formula")


@admin.register(BenefitGrant)
class BenefitGrantAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("rating", "benefit", "amount", "granted_by", "granted_at", "revoked_at")
    raw_id_fields = ("rating", "granted_by", "revoked_by")
