"""Domain operations of the star rating: compute a period's ratings from recorded work, publish a
formula, grant and revoke benefits. Every write is audit-logged."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from tuanju.audit.actions import record
from tuanju.core.scope import user_sees_unit
from tuanju.groups.models import GroupLiaison
from tuanju.hierarchy.models import OrgUnit
from tuanju.imports import normalize

from . import formula as formulas
from . import sources
from .models import Benefit, BenefitGrant, Formula, LiaisonRating, PeriodKind, period_bounds


def _require_writer(actor) -> None:
    if actor is None or not getattr(actor, "can_write", False):
        raise PermissionDenied("您的角色不能进行此操作")


def liaisons_in(unit: OrgUnit) -> dict[str, sources.Liaison]:
    """Every liaison of the groups in ``unit``'s subtree, with the groups each looks after."""
    found: dict[str, sources.Liaison] = {}
    rows = (
        GroupLiaison.objects.filter(group__unit__path__startswith=unit.path)
        .values_list(
            "group_id",
            "person_id",
            "user_id",
            "person__name",
            "person__unit_id",
            "user__first_name",
            "user__last_name",
            "user__username",
            "user__unit_id",
            "group__unit_id",
        )
        .iterator(chunk_size=20_000)
    )
    for group_id, person_id, user_id, pname, punit, first, last, username, uunit, gunit in rows:
        identity = f"p{person_id}" if person_id else f"u{user_id}"
        liaison = found.get(identity)
        if liaison is None:
            name = pname if person_id else (f"{last}{first}".strip() or username)
            liaison = found[identity] = sources.Liaison(
                identity, person_id, user_id, name or "", punit if person_id else (uunit or gunit)
            )
        liaison.groups.add(group_id)
    return found


@dataclass
class ComputeResult:
    period: str
    start: date
    liaisons: int
    created: int
    updated: int
    seconds: float
    by_stars: dict[int, int]


def compute(unit: OrgUnit, kind: str, day: date, *, actor=None) -> ComputeResult:
    """(Re)compute the ratings of every liaison under ``unit`` for the period containing ``day``."""
    if kind not in PeriodKind.values:
        raise ValidationError({"period": "请选择月度、季度或年度"})
    started = time.perf_counter()
    start, end = period_bounds(kind, day)
    formula = formulas.current()
    liaisons = liaisons_in(unit)
    values = sources.collect(liaisons, start, end)
    measured = sources.measured_metrics()
    now = timezone.now()
    existing: dict[str, LiaisonRating] = {}
    persons = [lz.person_id for lz in liaisons.values() if lz.person_id]
    users = [lz.user_id for lz in liaisons.values() if lz.user_id]
    for chunk in range(0, len(persons), 5000):
        for r in LiaisonRating.objects.filter(
            period=kind, period_start=start, person_id__in=persons[chunk : chunk + 5000]
        ):
            existing.setdefault(r.identity, r)
    for r in LiaisonRating.objects.filter(period=kind, period_start=start, user_id__in=users):
        existing.setdefault(r.identity, r)
    fallback_unit = unit.pk
    new, changed = [], []
    by_stars = dict.fromkeys(range(1, 6), 0)
    for identity, liaison in liaisons.items():
        data = values.get(identity, {})
        scored = formulas.score(formula, data, kind, measured)
        metrics = {k: v for k, v in data.items() if v is not None}
        by_stars[scored.stars] += 1
        row = existing.get(identity)
        if row is None:
            row = LiaisonRating(
                person_id=liaison.person_id, user_id=liaison.user_id, period=kind, period_start=start
            )
            new.append(row)
        else:
            changed.append(row)
        row.unit_id = liaison.unit_id or fallback_unit
        row.name = liaison.name[:150]
        row.formula = formula
        row.groups = len(liaison.groups)
        row.metrics = metrics
        row.points = scored.points
        row.score = scored.score
        row.stars = scored.stars
        row.computed_at = now
    with transaction.atomic():
        LiaisonRating.objects.bulk_create(new, batch_size=2000)
        LiaisonRating.objects.bulk_update(
            changed,
            ["unit", "name", "formula", "groups", "metrics", "points", "score", "stars", "computed_at"],
            batch_size=1000,
        )
        record(
            actor,
            "compute_ratings",
            unit,
            details={
                "period": kind,
                "start": start.isoformat(),
                "liaisons": len(liaisons),
                "formula": formula.version,
                "by_stars": by_stars,
            },
        )
    return ComputeResult(
        kind, start, len(liaisons), len(new), len(changed), time.perf_counter() - started, by_stars
    )


def _number_map(data: dict, label: str, *, allowed: set[str]) -> dict[str, float]:
    clean = {}
    for key, value in (data or {}).items():
        if key not in allowed:
            raise ValidationError({label: f"未知的指标“{key}”"})
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise ValidationError({label: f"“{key}”应为数字"}) from exc
        if number < 0:
            raise ValidationError({label: f"“{key}”不能为负数"})
        clean[key] = number
    return clean


@transaction.atomic
def publish_formula(*, weights: dict, targets: dict, thresholds: list, notes: str, actor) -> Formula:
    if actor is None or not getattr(actor, "can_manage_units", False):
        raise PermissionDenied("只有管理员可以发布评价公式")
    keys = set(sources.METRIC_BY_KEY)
    weights = _number_map(weights, "weights", allowed=keys)
    if sum(weights.values()) <= 0:
        raise ValidationError({"weights": "权重之和应大于 0"})
    counts = {m.key for m in sources.METRICS if m.kind == "count"}
    targets = _number_map(targets, "targets", allowed=counts)
    try:
        thresholds = [float(t) for t in thresholds]
    except (TypeError, ValueError) as exc:
        raise ValidationError({"thresholds": "星级分数线应为数字"}) from exc
    if len(thresholds) != 4 or thresholds != sorted(thresholds) or not all(0 <= t <= 100 for t in thresholds):
        raise ValidationError({"thresholds": "请按从低到高填写二至五星的 4 条分数线（0–100）"})
    previous = Formula.objects.select_for_update().filter(is_current=True).first()
    Formula.objects.filter(is_current=True).update(is_current=False)
    formula = Formula.objects.create(
        version=(Formula.objects.order_by("-version").values_list("version", flat=True).first() or 0) + 1,
        weights=weights,
        targets=targets,
        thresholds=thresholds,
        notes=normalize.text(notes)[:2000] if notes else "",
        is_current=True,
        published_by=actor,
    )
    record(
        actor,
        "publish_formula",
        formula,
        unit=getattr(actor, "unit", None),
        details={
            "version": formula.version,
            "previous": previous.version if previous else None,
            "weights": weights,
            "targets": targets,
            "thresholds": thresholds,
        },
    )
    return formula


def _amount(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValidationError({"amount": "数量应为数字"}) from exc
    if amount < 0 or amount > Decimal("99999999"):
        raise ValidationError({"amount": "数量超出范围"})
    return amount


@transaction.atomic
def grant(
    ratings: list[LiaisonRating], benefit: Benefit, *, actor, amount=None, note: str = ""
) -> list[BenefitGrant]:
    """Grant ``benefit`` for each rating (stars must reach the benefit's minimum)."""
    _require_writer(actor)
    if not benefit.is_active:
        raise ValidationError("该福利已停用")
    amount = _amount(amount) if amount not in (None, "") else benefit.default_amount
    note = normalize.text(note)[:200]
    made = []
    for rating in ratings:
        if not user_sees_unit(actor, rating.unit):
            raise PermissionDenied("该联络员不在您的管辖范围内")
        if rating.stars < benefit.min_stars:
            raise ValidationError(
                f"{rating.name} 为 {rating.stars} 星，{benefit.name}需 {benefit.min_stars} 星及以上"
            )
        if BenefitGrant.objects.filter(rating=rating, benefit=benefit, revoked_at__isnull=True).exists():
            continue
        item = BenefitGrant.objects.create(
            rating=rating,
            benefit=benefit,
            amount=amount,
            note=note,
            stars_at_grant=rating.stars,
            granted_by=actor,
        )
        record(
            actor,
            "grant_benefit",
            item,
            unit=rating.unit,
            details={
                "benefit": benefit.code,
                "liaison": rating.name,
                "period": rating.period_label,
                "stars": rating.stars,
                "score": rating.score,
                "amount": str(amount) if amount is not None else None,
            },
        )
        made.append(item)
    return made


@transaction.atomic
def revoke(item: BenefitGrant, *, actor, reason: str) -> BenefitGrant:
    _require_writer(actor)
    if not user_sees_unit(actor, item.rating.unit):
        raise PermissionDenied("该联络员不在您的管辖范围内")
    if item.revoked_at is not None:
        raise ValidationError("该福利已撤销")
    reason = normalize.text(reason)[:200]
    if not reason:
        raise ValidationError({"reason": "请填写撤销原因"})
    item.revoked_at, item.revoked_by, item.revoke_reason = timezone.now(), actor, reason
    item.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    record(
        actor,
        "revoke_benefit",
        item,
        unit=item.rating.unit,
        details={"benefit": item.benefit.code, "liaison": item.rating.name, "reason": reason},
    )
    return item


def eligible(benefit: Benefit, ratings):
    """Ratings that reach the benefit's stars and do not hold it yet."""
    held = BenefitGrant.objects.filter(benefit=benefit, revoked_at__isnull=True).values("rating_id")
    return ratings.filter(stars__gte=benefit.min_stars).exclude(pk__in=held)
