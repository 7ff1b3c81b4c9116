"""The published formula: measured work → points → score (0–100) → stars (1–5).

    points(m)  = weight(m) × s(m)
    s(m)       = value            for a share (0–1)
               = min(1, value / (monthly target × months in the period))   for a count
    score      = 100 × Σ points / Σ weight      over the metrics measured for this liaison
    stars      = 1 + number of thresholds (for 2, 3, 4, 5 stars) the score reaches

Metrics nobody measures yet (no source registered) and metrics without a value for this
liaison (no directive reached their groups) are left out of both sums: a liaison is rated on
what is known about their work.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import PERIOD_MONTHS, Formula
from .sources import METRIC_BY_KEY

DEFAULT_WEIGHTS = {
    "ack_on_time": 30,
    "relayed": 20,
    "activities": 15,
    "members_added": 10,
    "volunteer_hours": 15,
    "contacts": 10,
}
DEFAULT_TARGETS = {"activities": 2, "members_added": 10, "volunteer_hours": 20, "contacts": 4}
DEFAULT_THRESHOLDS = [30, 50, 70, 85]
DEFAULT_NOTES = (
    "按时确认率：指令下发后在服务时限内确认收到的比例；送达率：联络员所联系的群收到指令（机器人推送或联络员转发）的比例；"
    "组织活动、新增入群青年、组织志愿服务时长、联系记录按月度目标折算，超过目标按满分计。"
    "得分 = 各项得分之和 ÷ 参与计算的权重之和 × 100；尚无数据来源的项目不计入。"
)


@dataclass
class Scored:
    score: float
    stars: int
    points: dict[str, dict]


def current() -> Formula:
    formula = Formula.objects.filter(is_current=True).first()
    if formula is None:
        formula = Formula.objects.create(
            version=(Formula.objects.order_by("-version").values_list("version", flat=True).first() or 0) + 1,
            weights=DEFAULT_WEIGHTS,
            targets=DEFAULT_TARGETS,
            thresholds=DEFAULT_THRESHOLDS,
            notes=DEFAULT_NOTES,
            is_current=True,
        )
    return formula


def stars_for(score: float, thresholds: list[float]) -> int:
    return 1 + sum(1 for t in sorted(thresholds)[:4] if score >= t)


def score(formula: Formula, values: dict[str, float], period: str, measured: set[str]) -> Scored:
    months = PERIOD_MONTHS[period]
    points: dict[str, dict] = {}
    earned = weight_total = 0.0
    for key, weight in formula.weights.items():
        metric = METRIC_BY_KEY.get(key)
        weight = float(weight)
        if metric is None or weight <= 0:
            continue
        value = values.get(key)
        if key not in measured or value is None:
            points[key] = {"value": None, "weight": weight, "points": None, "target": None}
            continue
        if metric.kind == "share":
            share, target = max(0.0, min(1.0, float(value))), 1.0
        else:
            target = float(formula.targets.get(key, 1)) * months
            share = max(0.0, min(1.0, float(value) / target)) if target > 0 else 0.0
        got = weight * share
        points[key] = {"value": value, "weight": weight, "points": round(got, 2), "target": target}
        earned += got
        weight_total += weight
    total = round(100.0 * earned / weight_total, 1) if weight_total else 0.0
    return Scored(total, stars_for(total, formula.thresholds), points)
