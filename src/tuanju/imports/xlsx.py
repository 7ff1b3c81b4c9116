"""Writing spreadsheets: streaming (constant memory) and safe against formula injection."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

import xlsxwriter

#: A cell starting with one of these is a formula (or DDE) to Excel, LibreOffice and WPS.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def safe_cell(value):
    """Neutralize a text cell that a spreadsheet would evaluate, by prefixing an apostrophe-like quote."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


class StreamingSheetWriter:
    """An xlsx writer for millions of rows in little memory (XlsxWriter ``constant_memory``).

    Every value is written as a string, number or date explicitly, never through XlsxWriter's
    type guessing, so text that looks like a formula or a number stays text.
    """

    def __init__(self, target, sheet_name: str = "Sheet1"):
        self.workbook = xlsxwriter.Workbook(
            target,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "in_memory": False,
            },
        )
        self.header_format = self.workbook.add_format({"bold": True, "bg_color": "#DCE6F1", "border": 1})
        self.date_format = self.workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.sheet = self.workbook.add_worksheet(sheet_name[:31])
        self.row = 0

    def add_sheet(self, name: str):
        self.sheet = self.workbook.add_worksheet(name[:31])
        self.row = 0

    def header(self, labels: Sequence[str], widths: Sequence[int] | None = None) -> None:
        for col, label in enumerate(labels):
            self.sheet.write_string(self.row, col, str(label), self.header_format)
            if widths:
                self.sheet.set_column(col, col, widths[col])
        self.sheet.freeze_panes(self.row + 1, 0)
        self.row += 1

    def write(self, values: Iterable) -> None:
        sheet, row = self.sheet, self.row
        for col, value in enumerate(values):
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                sheet.write_string(row, col, "是" if value else "否")
            elif isinstance(value, int | float):
                sheet.write_number(row, col, value)
            elif isinstance(value, datetime):
                sheet.write_string(row, col, value.strftime("%Y-%m-%d %H:%M"))
            elif isinstance(value, date):
                sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), self.date_format)
            else:
                sheet.write_string(row, col, safe_cell(str(value)))
        self.row += 1

    def close(self) -> None:
        self.workbook.close()
