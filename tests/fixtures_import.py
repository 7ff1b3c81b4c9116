"""Helpers for building the messy spreadsheets cadres really send (xlsx, ods, csv, broken files)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import xlsxwriter
from python_calamine import CalamineWorkbook

from tuanju.core import idcard

HEADER = ["姓名", "身份证号", "手机号", "性别", "出生日期", "政治面貌", "群体类别", "工作单位", "备注"]


def make_id(region: str = "330782", born: date = date(1999, 3, 5), seq: int = 1, *, male: bool = True) -> str:
    """A checksum-valid 18-digit resident ID."""
    return idcard.make(region, born, seq, male=male)


def with_check_digit(first17: str) -> str:
    """``first17`` completed with its correct check digit (to isolate other problems)."""
    return first17 + idcard.check_char(first17)


def wrong_check_digit(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


class Title:
    """A merged banner row spanning ``width`` columns (e.g. “XX街道新兴领域青年花名册”)."""

    def __init__(self, text: str, width: int = 9):
        self.text = text
        self.width = width


def _write_cell(workbook, sheet, formats, r: int, c: int, value) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(r, c, value)
    elif isinstance(value, int | float):
        sheet.write_number(r, c, value)
    elif isinstance(value, datetime):
        sheet.write_datetime(r, c, value, formats["datetime"])
    elif isinstance(value, date):
        sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), formats["date"])
    else:
        sheet.write_string(r, c, str(value))


def write_xlsx(path: Path, sheets: dict[str, list] | list, *, first_column: int = 0) -> Path:
    """Write rows (lists of cells; ``Title`` for a merged banner; ``None`` for an empty row).

    Values keep their types: a Python int/float becomes a numeric cell (an ID typed into Excel
    without setting the column to text), date/datetime a formatted date cell, str a text cell.
    """
    if isinstance(sheets, list):
        sheets = {"Sheet1": sheets}
    workbook = xlsxwriter.Workbook(
        str(path), {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
    )
    formats = {
        "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
        "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        "title": workbook.add_format({"bold": True, "align": "center"}),
    }
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            if row is None:
                continue
            if isinstance(row, Title):
                sheet.merge_range(
                    r, first_column, r, first_column + row.width - 1, row.text, formats["title"]
                )
                continue
            for c, value in enumerate(row):
                _write_cell(workbook, sheet, formats, r, first_column + c, value)
    workbook.close()
    return path


def write_csv(path: Path, rows: list[list], *, encoding: str = "utf-8", bom: bool = False) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(["" if v is None else v for v in row] for row in rows)
    data = buffer.getvalue().encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return path


_ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)


def _ods_cell(value) -> str:
    if value is None or value == "":
        return "<table:table-cell/>"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value!r}">'
            f"<text:p>{value!r}</text:p></table:table-cell>"
        )
    if isinstance(value, date):
        day = value.date() if isinstance(value, datetime) else value
        return (
            f'<table:table-cell office:value-type="date" office:date-value="{day.isoformat()}">'
            f"<text:p>{day.isoformat()}</text:p></table:table-cell>"
        )
    return f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p></table:table-cell>'


def write_ods(path: Path, sheets: dict[str, list] | list) -> Path:
    """A minimal OpenDocument spreadsheet, built by hand (no ODS writer is installed)."""
    if isinstance(sheets, list):
        sheets = {"Sheet1": sheets}
    tables = []
    for name, rows in sheets.items():
        body = "".join(
            "<table:table-row>" + "".join(_ods_cell(v) for v in (row or [None])) + "</table:table-row>"
            for row in rows
        )
        tables.append(f'<table:table table:name="{escape(name)}">{body}</table:table>')
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<office:document-content {_ODS_NS} office:version="1.2">'
        f"<office:body><office:spreadsheet>{''.join(tables)}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED
        )
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


def write_zip_bomb(path: Path, *, megabytes: int = 64) -> Path:
    """A small zip (named like a workbook) whose one member inflates to ``megabytes`` of zeros."""
    chunk = b"0" * (1024 * 1024)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(megabytes):
                member.write(chunk)
    return path


PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def read_workbook(path: Path) -> dict[str, list[list]]:
    """Every sheet of an xlsx as lists of rows (trailing empty cells kept as '')."""
    workbook = CalamineWorkbook.from_path(str(path))
    return {name: workbook.get_sheet_by_name(name).to_python() for name in workbook.sheet_names}


def report_rows(path: Path, sheet: str = "未导入的行") -> list[dict]:
    """The rejected rows of an error report as dicts: sheet, row, reason, cells (trailing blanks cut)."""
    rows = read_workbook(path)[sheet]
    out = []
    for row in rows[1:]:
        cells = [str(c) for c in row[3:]]
        while cells and cells[-1] == "":
            cells.pop()
        number = row[1]
        out.append(
            {
                "sheet": row[0],
                "row": int(number) if isinstance(number, float) else number,
                "reason": row[2],
                "cells": cells,
            }
        )
    return out
