"""The printable weekly report of a unit (WeasyPrint): key figures, the ledgers of the units that
report to it (late and missing flagged), their ranking and the last weeks' trend, with charts
drawn as SVG on the server.

WeasyPrint needs Pango and a CJK font (fonts-noto-cjk) to set Chinese; it is imported only here.
"""

from __future__ import annotations

from datetime import timedelta

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from tuanju.audit.actions import record

from . import aggregates, dashboard, exporting, ledgers, metrics, scoring, svgchart
from .models import Evaluation, Period, ScoringScheme

KEY_FIGURES = [
    "people.total",
    "people.backbone",
    "orgs.total",
    "rate.four_have",
    "rate.org_activity",
    "rate.placed",
    "communities.members",
    "activities.month",
    "activities.hours",
    "rate.ack",
    "appeals.open",
    "appeals.overdue",
    "rate.satisfaction",
]


def report_context(unit, week) -> dict:
    snap = aggregates.snapshots([unit.pk]).get(unit.pk)
    data = snap.data if snap else {}
    figures = []
    for key in KEY_FIGURES:
        figure = metrics.FIGURES_BY_KEY[key]
        if figure.available(data):
            figures.append((figure.label, dashboard.fmt(figure.value(data), figure.fmt)))
    board = ledgers.board(unit, week)
    counts = board.counts
    status_chart = svgchart.stacked_bar(
        [
            ("按时", counts["submitted"], "#2fb344"),
            ("迟报", counts["late"], "#f76707"),
            ("缺报", counts["missing"] + counts["absent"], "#d63939"),
            ("未到期", counts["open"] + counts["returned"], "#adb5bd"),
        ]
    )
    weeks = aggregates.history(unit, Period.WEEK, 12, week + timedelta(days=6))
    trend_series = [
        (str(f.label), [d.get(f"ledger.{f.key}", 0) for _s, d in weeks]) for f in board.fields[:4]
    ]
    trend_chart = svgchart.lines([s.strftime("%m-%d") for s, _d in weeks], trend_series) if trend_series else ""
    scheme = ScoringScheme.objects.filter(unit=unit, is_active=True).first()
    ranking = []
    if scheme is not None:
        ranking = list(
            Evaluation.objects.filter(scheme=scheme, period_start=week).select_related("unit").order_by("rank")
        )
        if not ranking:
            _scheme, ranking = scoring.latest(unit)
    score_chart = (
        svgchart.bars(
            [(e.unit.name, e.score) for e in ranking[:40]],
            highlight={e.unit.name for e in ranking if e.lagging},
            max_value=100,
        )
        if ranking
        else ""
    )
    ledger_rows = [
        (
            row.unit.name,
            exporting.STATE_LABELS[row.state],
            row.flagged,
            [_value(row.ledger.value(f.key)) if row.ledger else "" for f in board.fields],
        )
        for row in board.rows
    ]
    ranking_rows = [
        (
            e,
            [f"{e.values[c.key] * 100:.0f}%" if e.values.get(c.key) is not None else "—" for c in scoring.CRITERIA],
            "、".join(exporting.REASON_LABELS.get(r, r) for r in e.reasons),
        )
        for e in ranking
    ]
    return {
        "ledger_rows": ledger_rows,
        "ranking_rows": ranking_rows,
        "unit": unit,
        "week": week,
        "week_end": week + timedelta(days=6),
        "computed_at": snap.computed_at if snap else None,
        "figures": figures,
        "board": board,
        "counts": counts,
        "state_labels": exporting.STATE_LABELS,
        "totals": board.totals(),
        "ranking": ranking,
        "criteria": scoring.CRITERIA,
        "reason_labels": exporting.REASON_LABELS,
        "status_chart": mark_safe(status_chart),  # noqa: S308 - built by svgchart, texts escaped
        "trend_chart": mark_safe(trend_chart),  # noqa: S308 - built by svgchart, texts escaped
        "score_chart": mark_safe(score_chart),  # noqa: S308 - built by svgchart, texts escaped
        "generated_at": timezone.localtime(),
    }


def _value(value) -> str:
    if value is None:
        return ""
    return dashboard.fmt(value, "hours" if isinstance(value, float) and not value.is_integer() else "int")


def render_html(unit, week) -> str:
    return render_to_string("insights/report_pdf.html", report_context(unit, week))


def render_pdf(unit, week, *, actor) -> bytes:
    from weasyprint import HTML

    pdf = HTML(string=render_html(unit, week)).write_pdf()
    record(actor, "export", unit, details={"kind": "weekly_report_pdf", "week": week.isoformat()})
    return pdf
