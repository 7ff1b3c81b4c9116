"""The import engine behind every spreadsheet import (roster, organizations, hotline records).

A domain supplies an ``ImportSpec``: its columns (with header synonyms and cell parsers),
cross-field checks, a de-duplication key and a ``persist`` for a batch of valid rows. The
engine finds the header row in each sheet (below titles and merged banners), reads rows
lazily, normalizes and validates each one, rejects duplicates within the file, hands valid
rows to ``persist`` in batches, and writes every rejected row to the error report with its
sheet, row number, original cells and a Chinese reason per problem. A bad row never costs a
valid one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuanju.imports import normalize
from tuanju.imports.reader import FileRejected, Limits, open_sheets
from tuanju.imports.xlsx import StreamingSheetWriter

HEADER_SCAN_ROWS = 30
BATCH_SIZE = 5000


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    synonyms: tuple[str, ...]
    parse: Callable[[Any], Any] = normalize.text
    required: bool = False
    max_length: int | None = None
    help: str = ""


@dataclass
class Row:
    sheet: str
    number: int  # the row number as Excel shows it (1-based)
    cells: list
    values: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    #: differences kept in the database's favour when updating (reported, not rejected)
    conflicts: list[str] = field(default_factory=list)


@dataclass
class Summary:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates_in_file: int = 0
    conflicts: int = 0
    sheets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "duplicates_in_file": self.duplicates_in_file,
        }

    def json_line(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False)


class ImportSpec:
    """What one kind of import needs to tell the engine. Subclass per domain."""

    columns: list[Column] = []
    #: how many known headers a row needs to be taken as the header row
    min_header_matches = 2

    def check(self, row: Row) -> None:
        """Cross-field validation; append Chinese reasons to ``row.errors``."""

    def dedup_key(self, row: Row) -> str | None:
        return None

    def persist(self, rows: list[Row], summary: Summary, *, dry_run: bool, update_existing: bool) -> None:
        """Write a batch of valid rows; move rows it refuses to ``row.errors`` and count the rest."""
        raise NotImplementedError


class ErrorReport:
    """The rejected rows, with where they were and why, plus the conflicts found while updating."""

    MAX_CONFLICTS = 100_000

    def __init__(self, path: Path | None):
        self.path = path
        self._writer = None
        self._width = 0
        self.count = 0
        self.conflicts: list[tuple[str, int, str]] = []

    def add_conflicts(self, row: Row) -> None:
        if self.path is not None and len(self.conflicts) < self.MAX_CONFLICTS:
            self.conflicts.extend((row.sheet, row.number, c) for c in row.conflicts)

    def _open(self, width: int) -> None:
        self._writer = StreamingSheetWriter(str(self.path), "未导入的行")
        self._width = width
        self._writer.header(
            ["工作表", "行号", "错误原因"] + [f"原第{i + 1}列" for i in range(width)],
            [14, 8, 60] + [14] * width,
        )

    def add(self, row: Row) -> None:
        self.count += 1
        if self.path is None:
            return
        if self._writer is None:
            self._open(max(len(row.cells), 12))
        self._writer.write(
            [row.sheet, row.number, "；".join(row.errors), *[normalize.text(c) for c in row.cells]]
        )

    def close(self) -> None:
        if self.path is None:
            return
        if self._writer is None:
            self._writer = StreamingSheetWriter(str(self.path), "未导入的行")
            self._writer.header(["工作表", "行号", "错误原因"])
            self._writer.write(["", "", "全部行均已导入，没有错误。"])
        if self.conflicts:
            self._writer.add_sheet("与系统不一致")
            self._writer.header(["工作表", "行号", "说明"], [14, 8, 80])
            for conflict in self.conflicts:
                self._writer.write(conflict)
        self._writer.close()


def _match_header(cells: list, lookup: dict[str, str]) -> dict[int, str]:
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for index, cell in enumerate(cells):
        key = lookup.get(normalize.header_key(cell))
        if key and key not in taken:
            mapping[index] = key
            taken.add(key)
    return mapping


def _is_blank(cells: list) -> bool:
    return all(normalize.text(c) == "" for c in cells)


class Importer:
    def __init__(
        self,
        spec: ImportSpec,
        *,
        dry_run: bool = False,
        update_existing: bool = False,
        report_path: Path | None = None,
        limits: Limits | None = None,
        progress: Callable[[int], None] | None = None,
        batch_size: int = BATCH_SIZE,
    ):
        self.spec = spec
        self.dry_run = dry_run
        self.update_existing = update_existing
        self.report = ErrorReport(report_path)
        self.limits = limits
        self.progress = progress
        self.batch_size = batch_size
        self.summary = Summary()
        self._seen: dict[str, str] = {}
        self._lookup = {normalize.header_key(s): c.key for c in spec.columns for s in (c.label, *c.synonyms)}
        self._columns = {c.key: c for c in spec.columns}

    def run(self, path: str | Path) -> Summary:
        """Import the file. Raises ``FileRejected`` when nothing in it can be imported."""
        sheets = open_sheets(path, self.limits)
        found_header = False
        try:
            for sheet in sheets:
                found_header |= self._import_sheet(sheet)
        finally:
            self.report.close()
        if not found_header:
            expected = "、".join(c.label for c in self.spec.columns if c.required)
            raise FileRejected(f"没有找到表头：请确认表格中有“{expected}”等列名")
        return self.summary

    def _import_sheet(self, sheet) -> bool:
        rows = iter(sheet.rows)
        mapping: dict[int, str] = {}
        header_row = 0
        for n, cells in enumerate(rows, start=1):
            found = _match_header(cells, self._lookup)
            if len(found) >= self.spec.min_header_matches:
                mapping, header_row = found, n
                break
            if n >= HEADER_SCAN_ROWS:
                break
        if not mapping:
            self.summary.notes.append(f"工作表“{sheet.name}”未找到表头，已跳过")
            return False
        missing = [c.label for c in self.spec.columns if c.required and c.key not in mapping.values()]
        if missing:
            self.summary.notes.append(f"工作表“{sheet.name}”缺少必填列：{'、'.join(missing)}，已跳过")
            return False
        self.summary.sheets.append(sheet.name)
        batch: list[Row] = []
        probe_index, probe_key = next(iter(mapping.items()))
        for number, cells in enumerate(rows, start=header_row + 1):
            if _is_blank(cells):
                continue
            probe = cells[probe_index] if probe_index < len(cells) else None
            if (
                isinstance(probe, str)
                and self._lookup.get(normalize.header_key(probe)) == probe_key
                and len(_match_header(cells, self._lookup)) >= max(self.spec.min_header_matches, len(mapping) - 1)
            ):
                continue  # the header repeated (a sheet pasted under another)
            row = self._parse(sheet.name, number, cells, mapping)
            self.summary.total += 1
            if row.errors:
                self._reject(row)
            else:
                batch.append(row)
                if len(batch) >= self.batch_size:
                    self._flush(batch)
                    batch = []
        if batch:
            self._flush(batch)
        return True

    def _parse(self, sheet: str, number: int, cells: list, mapping: dict[int, str]) -> Row:
        row = Row(sheet, number, list(cells))
        for index, key in mapping.items():
            column = self._columns[key]
            cell = cells[index] if index < len(cells) else None
            try:
                value = column.parse(cell)
            except normalize.CellError as exc:
                row.errors.append(f"【{column.label}】{exc}")
                continue
            if isinstance(value, str) and column.max_length and len(value) > column.max_length:
                row.errors.append(f"【{column.label}】超过{column.max_length}个字符")
                continue
            row.values[key] = value
        for column in self.spec.columns:
            if (
                column.required
                and not row.values.get(column.key)
                and not any(e.startswith(f"【{column.label}】") for e in row.errors)
            ):
                row.errors.append(f"【{column.label}】不能为空")
        if not row.errors:
            self.spec.check(row)
        if not row.errors:
            key = self.spec.dedup_key(row)
            if key is not None:
                first = self._seen.get(key)
                if first is not None:
                    row.errors.append(f"与{first}重复")
                    self.summary.duplicates_in_file += 1
                else:
                    self._seen[key] = f"“{sheet}”第{number}行"
        return row

    def _reject(self, row: Row) -> None:
        self.summary.rejected += 1
        self.report.add(row)

    def _flush(self, batch: list[Row]) -> None:
        self.spec.persist(batch, self.summary, dry_run=self.dry_run, update_existing=self.update_existing)
        for row in batch:
            if row.errors:
                self._reject(row)
            elif row.conflicts:
                self.summary.conflicts += len(row.conflicts)
                self.report.add_conflicts(row)
        if self.progress:
            self.progress(self.summary.total)
