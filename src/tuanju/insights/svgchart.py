"""Small SVG 1.1 charts drawn on the server for the printable reports (WeasyPrint renders them).

Every text is escaped; sizes are in px of a 96-dpi page.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

PALETTE = ["#206bc4", "#2fb344", "#f76707", "#d63939", "#ae3ec9", "#17a2b8", "#f59f00", "#74b816"]
FONT = 'font-family="Noto Sans CJK SC, sans-serif"'


def _num(value: float) -> str:
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def bars(rows: list[tuple[str, float]], *, width: int = 640, unit: str = "", highlight: set | None = None,
         max_value: float | None = None) -> str:
    """Horizontal bars: one row per (label, value); labels in ``highlight`` drawn in red."""
    highlight = highlight or set()
    row_h, label_w, pad = 22, 150, 60
    height = max(row_h * len(rows) + 10, 40)
    top = max([v for _l, v in rows] + [max_value or 0, 1])
    plot = width - label_w - pad
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" {FONT} font-size="11">']
    for i, (label, value) in enumerate(rows):
        y = 5 + i * row_h
        w = max(0.0, plot * (value or 0) / top)
        color = "#d63939" if label in highlight else PALETTE[0]
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(str(label)[:14])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{color}" rx="2"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" fill="#444">{escape(_num(value or 0) + unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def lines(labels: list[str], series: list[tuple[str, list[float]]], *, width: int = 640, height: int = 220) -> str:
    """A line chart with a legend: ``series`` is [(name, values)] aligned with ``labels``."""
    left, right, top, bottom = 40, 10, 26, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([max(v) if v else 0 for _n, v in series] + [1])
    n = max(len(labels), 2)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" {FONT} font-size="10">']
    for k in range(5):
        y = top + plot_h * k / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e6e7e9"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" fill="#666">{_num(peak * (4 - k) / 4)}</text>')
    step = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        if i % step == 0:
            x = left + plot_w * i / (n - 1)
            parts.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" fill="#666">{escape(label)}</text>')
    legend_x = left
    for s, (name, values) in enumerate(series):
        color = PALETTE[s % len(PALETTE)]
        points = " ".join(
            f"{left + plot_w * i / (n - 1):.1f},{top + plot_h * (1 - (v or 0) / peak):.1f}" for i, v in enumerate(values)
        )
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts.append(f'<rect x="{legend_x}" y="6" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{legend_x + 14}" y="15">{escape(str(name))}</text>')
        legend_x += 24 + 12 * len(str(name))
    parts.append("</svg>")
    return "".join(parts)


def stacked_bar(parts_: list[tuple[str, float, str]], *, width: int = 640) -> str:
    """One horizontal bar split into (label, value, colour) parts, with a legend below."""
    total = sum(v for _l, v, _c in parts_) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="52" {FONT} font-size="11">']
    x = 0.0
    for _label, value, color in parts_:
        w = width * value / total
        if w > 0:
            parts.append(f'<rect x="{x:.1f}" y="4" width="{w:.1f}" height="20" fill="{color}"/>')
        x += w
    lx = 0
    for label, value, color in parts_:
        parts.append(f'<rect x="{lx}" y="34" width="10" height="10" fill="{color}"/>')
        text = f"{label} {_num(value)}"
        parts.append(f'<text x="{lx + 14}" y="43">{escape(text)}</text>')
        lx += 30 + 12 * len(text)
    parts.append("</svg>")
    return "".join(parts)
