"""Small server-side SVG charts for the PDF report (ECharts runs only in the browser).

Plain SVG 1.1 that WeasyPrint renders: horizontal bars with labels and percentages, and a
stacked bar per row for cross-tabulations. Every text is XML-escaped.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

PALETTE = [
    "#206bc4",
    "#2fb344",
    "#f76707",
    "#d63939",
    "#ae3ec9",
    "#17a2b8",
    "#f59f00",
    "#74b816",
    "#4263eb",
    "#868e96",
]
FONT = "Noto Sans CJK SC, Noto Sans SC, WenQuanYi Micro Hei, sans-serif"


def _text_width(text: str, size: float) -> float:
    """Rough width: CJK characters are square, Latin ones about half as wide."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.56 for ch in text)


def _fit(text: str, size: float, width: float) -> str:
    if _text_width(text, size) <= width + 0.01:
        return text
    while text and _text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def bars(
    rows: list[tuple[str, float, int]],
    *,
    width: int = 640,
    bar_height: int = 18,
    gap: int = 8,
    max_value: float = 100.0,
    unit: str = "%",
) -> str:
    """Horizontal bars: ``rows`` of (label, value, count); values are percentages by default."""
    label_width = round(min(220, max((_text_width(label, 12) for label, _v, _n in rows), default=60) + 14))
    value_width = 86
    plot = width - label_width - value_width
    height = len(rows) * (bar_height + gap) + gap
    scale = plot / max_value if max_value else 0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="12">'
    ]
    for i, (label, value, count) in enumerate(rows):
        y = gap + i * (bar_height + gap)
        bar = max(0.0, min(plot, value * scale))
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar_height * 0.72:.1f}" text-anchor="end" fill="#1d273b">{escape(_fit(label, 12, label_width - 12))}</text>'
        )
        parts.append(
            f'<rect x="{label_width}" y="{y}" width="{plot:.1f}" height="{bar_height}" fill="#eef1f6"/>'
        )
        parts.append(
            f'<rect x="{label_width}" y="{y}" width="{bar:.1f}" height="{bar_height}" fill="{PALETTE[0]}"/>'
        )
        shown = f"{value:.1f}{unit}" if unit == "%" else f"{value:g}{unit}"
        parts.append(
            f'<text x="{label_width + plot + 6}" y="{y + bar_height * 0.72:.1f}" fill="#1d273b">{escape(shown)} <tspan fill="#6c7a91">({count})</tspan></text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def stacked(
    rows: list[tuple[str, list[float]]],
    legend: list[str],
    *,
    width: int = 640,
    bar_height: int = 16,
    gap: int = 8,
) -> str:
    """One 100 %-wide bar per row, split by the shares in ``rows`` (label, [percent per legend item])."""
    label_width = round(min(160, max((_text_width(label, 11) for label, _v in rows), default=60) + 14))
    plot = width - label_width - 10
    legend_rows = (len(legend) + 3) // 4
    top = legend_rows * 18 + 6
    height = top + len(rows) * (bar_height + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="11">'
    ]
    for i, name in enumerate(legend):
        x, y = label_width + (i % 4) * (plot / 4), 4 + (i // 4) * 18
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>')
        parts.append(
            f'<text x="{x + 14:.1f}" y="{y + 9}" fill="#1d273b">{escape(_fit(name, 11, plot / 4 - 18))}</text>'
        )
    for r, (label, shares) in enumerate(rows):
        y = top + gap + r * (bar_height + gap)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar_height * 0.75:.1f}" text-anchor="end" fill="#1d273b">{escape(_fit(label, 11, label_width - 12))}</text>'
        )
        total = sum(shares) or 1.0
        x = float(label_width)
        for i, share in enumerate(shares):
            w = plot * share / total
            if w <= 0:
                continue
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{PALETTE[i % len(PALETTE)]}"/>'
            )
            if w > 28:
                parts.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + bar_height * 0.75:.1f}" text-anchor="middle" fill="#fff">{share:.0f}%</text>'
                )
            x += w
    parts.append("</svg>")
    return "".join(parts)
