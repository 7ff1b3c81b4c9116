"""Spreadsheet exports of ledgers, rankings and task progress, with native Excel charts.

These tables are small (the units reporting to one parent), so the workbook is built in memory
with XlsxWriter; every text cell goes through ``safe_cell`` (formula injection).
"""

from __future__ import annotations

import io
from datetime import timedelta

import xlsxwriter
from django.utils import timezone

from tuanju.imports.xlsx import safe_cell

from . import aggregates, ledgers, scoring
from .models import Evaluation, Period, ScoringScheme

STATE_LABELS = {
    "submitted": "按时提交",
    "late": "迟报",
    "missing": "缺报",
    "open": "未到期",
    "returned": "已退回",
    "absent": "未建台账",
}


class Book:
    def __init__(self):
        self.buffer = io.BytesIO()
        self.workbook = xlsxwriter.Workbook(
            self.buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
        )
        self.head = self.workbook.add_format({"bold": True, "bg_color": "#DCE6F1", "border": 1})
        self.title = self.workbook.add_format({"bold": True, "font_size": 13})
        self.red = self.workbook.add_format({"font_color": "#C00000"})
        self.wrap = self.workbook.add_format({"text_wrap": True, "valign": "top"})

    def sheet(self, name: str, title: str, header: list[str], widths: list[int]):
        sheet = self.workbook.add_worksheet(name[:31])
        sheet.write_string(0, 0, safe_cell(title), self.title)
        for col, label in enumerate(header):
            sheet.write_string(2, col, label, self.head)
            sheet.set_column(col, col, widths[col] if col < len(widths) else 12)
        sheet.freeze_panes(3, 0)
        return sheet

    @staticmethod
    def put(sheet, row: int, col: int, value, fmt=None) -> None:
        if value is None or value == "":
            return
        if isinstance(value, bool):
            sheet.write_string(row, col, "是" if value else "否", fmt)
        elif isinstance(value, int | float):
            sheet.write_number(row, col, value, fmt)
        else:
            sheet.write_string(row, col, safe_cell(str(value)), fmt)

    def close(self) -> bytes:
        self.workbook.close()
        return self.buffer.getvalue()


def ledgers_xlsx(board: ledgers.Board) -> bytes:
    book = Book()
    week_end = board.start + timedelta(days=6)
    title = f"{board.parent.name} 周台账 {board.start:%Y-%m-%d} 至 {week_end:%Y-%m-%d}"
    labels = [str(f.label) for f in board.fields]
    header = ["单位编码", "单位", "状态", "提交时间", "提交人", *labels, "工作亮点", "存在问题"]
    sheet = book.sheet("周台账", title, header, [16, 18, 10, 17, 12, *[10] * len(labels), 40, 40])
    row = 3
    for entry in board.rows:
        ledger = entry.ledger
        values = [
            entry.unit.code,
            entry.unit.name,
            STATE_LABELS[entry.state],
            timezone.localtime(ledger.submitted_at).strftime("%Y-%m-%d %H:%M") if ledger and ledger.submitted_at else "",
            (ledger.submitted_by.display_name if ledger and ledger.submitted_by else ""),
            *[(ledger.value(f.key) if ledger else None) for f in board.fields],
            ledger.highlights if ledger else "",
            ledger.problems if ledger else "",
        ]
        for col, value in enumerate(values):
            fmt = book.red if col == 2 and entry.flagged else (book.wrap if col >= len(values) - 2 else None)
            book.put(sheet, row, col, value, fmt)
        row += 1
    totals = board.totals()
    book.put(sheet, row, 1, "合计")
    for i, f in enumerate(board.fields):
        book.put(sheet, row, 5 + i, totals.get(f.key))
    counts = board.counts
    summary = "；".join(f"{STATE_LABELS[k]} {v}" for k, v in counts.items() if v)
    book.put(sheet, 1, 0, f"共 {len(board.rows)} 个单位：{summary}")

    # the last 12 weeks of the parent's reported totals, with a line chart
    weeks = aggregates.history(board.parent, Period.WEEK, 12, board.start + timedelta(days=6))
    trend = book.sheet("近12周", f"{board.parent.name} 近12周台账合计", ["周", *labels, "提交数", "迟报数"], [12])
    for r, (start, data) in enumerate(weeks, start=3):
        book.put(trend, r, 0, start.strftime("%Y-%m-%d"))
        for i, f in enumerate(board.fields):
            book.put(trend, r, 1 + i, data.get(f"ledger.{f.key}", 0))
        book.put(trend, r, 1 + len(labels), data.get("ledger.submitted", 0))
        book.put(trend, r, 2 + len(labels), data.get("ledger.late", 0))
    if labels:
        chart = book.workbook.add_chart({"type": "line"})
        for i in range(min(len(labels), 6)):
            chart.add_series(
                {"name": ["近12周", 2, 1 + i], "categories": ["近12周", 3, 0, 2 + len(weeks), 0],
                 "values": ["近12周", 3, 1 + i, 2 + len(weeks), 1 + i]}
            )
        chart.set_title({"name": "台账合计趋势"})
        chart.set_size({"width": 720, "height": 320})
        trend.insert_chart(4 + len(weeks), 0, chart)
    return book.close()


def ranking_history(scheme: ScoringScheme | None, weeks: int = 26) -> dict:
    """Scores of each ranked unit over the last ``weeks`` evaluated weeks: {weeks, units:[{name, scores, lagging}]}."""
    if scheme is None:
        return {"weeks": [], "units": []}
    starts = sorted(
        Evaluation.objects.filter(scheme=scheme).values_list("period_start", flat=True).distinct().order_by("-period_start")[:weeks]
    )
    if not starts:
        return {"weeks": [], "units": []}
    rows = Evaluation.objects.filter(scheme=scheme, period_start__gte=starts[0]).values_list(
        "unit_id", "unit__name", "unit__code", "period_start", "score", "rank", "lagging"
    )
    units: dict[int, dict] = {}
    index = {s: i for i, s in enumerate(starts)}
    for unit_id, name, code, start, score, rank, lagging in rows:
        if start not in index:
            continue
        entry = units.setdefault(
            unit_id, {"name": name, "code": code, "scores": [None] * len(starts), "ranks": [None] * len(starts), "lagging": 0}
        )
        entry["scores"][index[start]] = score
        entry["ranks"][index[start]] = rank
        entry["lagging"] += 1 if lagging else 0
    return {"weeks": [s.strftime("%m-%d") for s in starts], "starts": starts, "units": sorted(units.values(), key=lambda u: u["code"])}


def ranking_xlsx(scheme: ScoringScheme | None, unit) -> bytes:
    book = Book()
    criteria = scoring.CRITERIA
    header = ["名次", "单位编码", "单位", "得分", "是否滞后", *[str(c.label) for c in criteria], "原因"]
    latest = []
    if scheme is not None:
        last = Evaluation.objects.filter(scheme=scheme).order_by("-period_start").values_list("period_start", flat=True).first()
        if last:
            latest = list(Evaluation.objects.filter(scheme=scheme, period_start=last).select_related("unit").order_by("rank"))
    title = f"{unit.name} 评价排名" + (f"（{latest[0].period_start:%Y-%m-%d} 当周）" if latest else "")
    sheet = book.sheet("排名", title, header, [6, 16, 18, 8, 9, *[10] * len(criteria), 30])
    if scheme is not None:
        weights = "、".join(f"{c.label} {scheme.weights.get(c.key, 0):g}" for c in criteria)
        book.put(sheet, 1, 0, f"权重：{weights}；低于 {scheme.threshold:g} 分或排名末位 {scheme.bottom_share * 100:g}% 为滞后")
    for r, e in enumerate(latest, start=3):
        values = [e.rank, e.unit.code, e.unit.name, e.score, e.lagging]
        values += [round(e.values[c.key] * 100, 1) if e.values.get(c.key) is not None else None for c in criteria]
        values.append("、".join(REASON_LABELS.get(k, k) for k in e.reasons))
        for col, value in enumerate(values):
            book.put(sheet, r, col, value, book.red if e.lagging and col == 4 else None)
    if latest:
        chart = book.workbook.add_chart({"type": "bar"})
        chart.add_series({"name": "得分", "categories": ["排名", 3, 2, 2 + len(latest), 2],
                          "values": ["排名", 3, 3, 2 + len(latest), 3], "fill": {"color": "#206bc4"}})
        chart.set_title({"name": "得分"})
        chart.set_legend({"none": True})
        chart.set_y_axis({"reverse": True})
        chart.set_size({"width": 640, "height": max(300, 22 * len(latest))})
        sheet.insert_chart(4 + len(latest), 1, chart)
    history = ranking_history(scheme, 53)
    if history["units"]:
        hist = book.sheet("历史得分", f"{unit.name} 各周得分", ["单位", *history["weeks"], "滞后周数"], [18])
        for r, u in enumerate(history["units"], start=3):
            book.put(hist, r, 0, u["name"])
            for i, value in enumerate(u["scores"]):
                book.put(hist, r, 1 + i, value)
            book.put(hist, r, 1 + len(history["weeks"]), u["lagging"])
    return book.close()


REASON_LABELS = {
    "below_threshold": "低于及格线",
    "bottom_share": "排名末位",
    "coverage": "覆盖率低",
    "activity": "活跃度低",
    "reach": "触达率低",
    "appeals": "诉求办理弱",
    "ledger": "台账不及时",
    "no_data": "无数据",
}


def task_xlsx(task, assignments) -> bytes:
    book = Book()
    figures = task.required_figures
    header = ["单位编码", "单位", "状态", "进度%", "最近填报", "完成时间", "是否逾期", *[f["label"] for f in figures]]
    sheet = book.sheet("进度", f"任务：{task.title}（截止 {timezone.localtime(task.deadline):%Y-%m-%d %H:%M}）", header,
                       [16, 18, 10, 8, 17, 17, 9, *[12] * len(figures)])
    states = {"pending": "未开始", "in_progress": "进行中", "done": "已完成"}
    totals: dict[str, float] = {}
    r = 3
    for a in assignments:
        values = [
            a.unit.code,
            a.unit.name,
            states.get(a.status, a.status),
            a.progress,
            timezone.localtime(a.last_report_at).strftime("%Y-%m-%d %H:%M") if a.last_report_at else "",
            timezone.localtime(a.done_at).strftime("%Y-%m-%d %H:%M") if a.done_at else "",
            a.is_overdue,
            *[a.figures.get(f["key"]) for f in figures],
        ]
        for col, value in enumerate(values):
            book.put(sheet, r, col, value, book.red if col == 6 and a.is_overdue else None)
        for f in figures:
            value = a.figures.get(f["key"])
            if isinstance(value, int | float):
                totals[f["key"]] = totals.get(f["key"], 0) + value
        r += 1
    book.put(sheet, r, 1, "合计")
    for i, f in enumerate(figures):
        book.put(sheet, r, 7 + i, totals.get(f["key"]))
    return book.close()
