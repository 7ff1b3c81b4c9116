"""C9 liaison star rating (星级评价).

For each youth liaison (青春联络员: a roster person or a staff account looking after groups) and
each period (month, quarter, year), ``LiaisonRating`` keeps the measured work (``metrics``),
the points each measure earned under the published ``Formula`` (``points``), the total
``score`` (0–100) and the ``stars`` (1–5). Ratings are recomputed from the recorded work
whenever staff ask; a rating keeps the formula version it was computed with.

``Benefit`` is the catalogue of what stars open (评优评先、推优入党、选拔推荐、流量补助、信用激励、
志愿时长激励), each with its minimum stars; ``BenefitGrant`` records which benefit was granted to
whom for which rating, by whom, and its revocation — every grant and revocation is also in the
audit log.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tuanju.core.scope import ScopedQuerySet


class PeriodKind(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def period_bounds(kind: str, start: date) -> tuple[date, date]:
    """[start, end) of the period of ``kind`` containing ``start`` (start normalized)."""
    if kind == PeriodKind.YEAR:
        first = date(start.year, 1, 1)
    elif kind == PeriodKind.QUARTER:
        first = date(start.year, (start.month - 1) // 3 * 3 + 1, 1)
    else:
        first = date(start.year, start.month, 1)
    months = PERIOD_MONTHS[kind]
    index = first.year * 12 + first.month - 1 + months
    return first, date(index // 12, index % 12 + 1, 1)


def period_label(kind: str, start: date) -> str:
    if kind == PeriodKind.YEAR:
        return f"{start.year}年"
    if kind == PeriodKind.QUARTER:
        return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    return f"{start.year}年{start.month}月"


class Formula(models.Model):
    """A published version of the rating formula. Exactly one is current."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    #: {metric key: weight}; weights are relative (they need not add up to 100).
    weights = models.JSONField(_("weights"))
    #: {metric key: the monthly value that earns full points} (count measures; shares use 1.0).
    targets = models.JSONField(_("monthly targets"))
    #: Minimum score for 2, 3, 4 and 5 stars (everyone rated gets at least 1 star).
    thresholds = models.JSONField(_("star thresholds"))
    notes = models.TextField(_("explanation"), blank=True)
    is_current = models.BooleanField(_("current"), default=False)
    published_at = models.DateTimeField(_("published"), default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("rating formula")
        verbose_name_plural = _("rating formulas")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"], condition=Q(is_current=True), name="ratings_one_current_formula"
            )
        ]

    def __str__(self) -> str:
        return f"v{self.version}"


class RatingQuerySet(ScopedQuerySet):
    scope_field = "unit"

    def for_period(self, kind: str, start: date):
        return self.filter(period=kind, period_start=start)


class LiaisonRating(models.Model):
    unit = models.ForeignKey(
        "hierarchy.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="liaison_ratings"
    )
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.CASCADE, related_name="liaison_ratings"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="liaison_ratings",
    )
    name = models.CharField(_("liaison"), max_length=150)
    period = models.CharField(_("period"), max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    formula = models.ForeignKey(Formula, on_delete=models.PROTECT, related_name="ratings")
    groups = models.PositiveIntegerField(_("groups looked after"), default=0)
    metrics = models.JSONField(_("measured work"), default=dict)
    points = models.JSONField(_("points"), default=dict)
    score = models.FloatField(_("score"), default=0)
    stars = models.PositiveSmallIntegerField(_("stars"), default=1, db_index=True)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    objects = RatingQuerySet.as_manager()

    class Meta:
        verbose_name = _("liaison rating")
        verbose_name_plural = _("liaison ratings")
        ordering = ["-score", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(person__isnull=False, user__isnull=True)
                | Q(person__isnull=True, user__isnull=False),
                name="ratings_person_xor_user",
            ),
            models.UniqueConstraint(
                fields=["person", "period", "period_start"],
                condition=Q(person__isnull=False),
                name="ratings_once_per_person",
            ),
            models.UniqueConstraint(
                fields=["user", "period", "period_start"],
                condition=Q(user__isnull=False),
                name="ratings_once_per_user",
            ),
            models.CheckConstraint(condition=Q(stars__gte=1, stars__lte=5), name="ratings_stars_1_to_5"),
        ]
        indexes = [models.Index(fields=["period", "period_start", "unit"], name="ratings_period_unit")]

    def __str__(self) -> str:
        return f"{self.name} {self.period_label} {self.stars}★"

    @property
    def period_label(self) -> str:
        return period_label(self.period, self.period_start)

    @property
    def identity(self) -> str:
        return f"p{self.person_id}" if self.person_id else f"u{self.user_id}"


class Benefit(models.Model):
    """专属福利: a benefit liaisons of enough stars may be granted (seeded by a data migration)."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=30)
    min_stars = models.PositiveSmallIntegerField(_("minimum stars"), default=3)
    description = models.CharField(_("description"), max_length=200, blank=True)
    #: What a grant's amount counts, e.g. "小时" (volunteer hours) or "元"; empty: no amount.
    amount_unit = models.CharField(_("amount unit"), max_length=10, blank=True)
    default_amount = models.DecimalField(
        _("default amount"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    sort = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("benefit")
        verbose_name_plural = _("benefits")
        ordering = ["sort", "id"]

    def __str__(self) -> str:
        return self.name


class GrantQuerySet(ScopedQuerySet):
    scope_field = "rating__unit"

    def active(self):
        return self.filter(revoked_at__isnull=True)


class BenefitGrant(models.Model):
    rating = models.ForeignKey(LiaisonRating, on_delete=models.PROTECT, related_name="grants")
    benefit = models.ForeignKey(Benefit, on_delete=models.PROTECT, related_name="grants")
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2, null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    #: The stars the rating had when the benefit was granted (ratings can be recomputed).
    stars_at_grant = models.PositiveSmallIntegerField(_("stars when granted"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    granted_at = models.DateTimeField(_("granted"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoke_reason = models.CharField(_("reason for revoking"), max_length=200, blank=True)

    objects = GrantQuerySet.as_manager()

    class Meta:
        verbose_name = _("benefit grant")
        verbose_name_plural = _("benefit grants")
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rating", "benefit"],
                condition=Q(revoked_at__isnull=True),
                name="ratings_one_active_grant",
            )
        ]

    def __str__(self) -> str:
        return f"{self.benefit} → {self.rating.name}"

    @property
    def unit(self):
        return self.rating.unit
