"""Reading spreadsheets that cadres really keep, safely.

Formats: .xlsx/.xlsm/.xls/.ods through python-calamine (fast, Rust), .csv in UTF-8 (with or
without BOM) or GBK/GB18030. Nothing in a file is trusted: size, row and column limits,
zip-bomb checks on the zip-based formats, and the file's real type (not its name) decides
how it is read.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from python_calamine import CalamineWorkbook

ZIP_MAGIC = b"PK\x03\x04"
log = logging.getLogger(__name__)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class FileRejected(ValueError):
    """The whole file cannot be imported; the message is shown to the user as is."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int
    max_columns: int
    max_uncompressed_bytes: int
    max_compression_ratio: int

    @classmethod
    def from_settings(cls) -> Limits:
        conf = settings.TUANJU["IMPORT_LIMITS"]
        return cls(**conf)


@dataclass
class Sheet:
    name: str
    rows: Iterator[list]


def _check_zip(path: Path, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise FileRejected("文件已损坏，无法作为Excel文件打开") from exc
    total = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos) or 1
    if total > limits.max_uncompressed_bytes or total / packed > limits.max_compression_ratio:
        raise FileRejected("文件解压后过大或压缩比异常（疑似压缩炸弹），已拒绝导入")


def sniff(path: Path) -> str:
    """'zip' (xlsx/ods), 'ole' (xls), or 'text' (csv), from the first bytes rather than the name."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(OLE_MAGIC):
        return "ole"
    return "text"


def _decode_csv(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise FileRejected("文件不是有效的表格文件（.xlsx、.xls、.ods 或 .csv）")
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRejected("无法识别CSV文件的编码（支持 UTF-8、GBK/GB18030）")


def _too_many_rows(sheet: str, limits: Limits) -> FileRejected:
    return FileRejected(f"工作表“{sheet}”超过{limits.max_rows}行的上限，请拆分后导入")


def _too_many_columns(sheet: str, limits: Limits) -> FileRejected:
    return FileRejected(f"工作表“{sheet}”超过{limits.max_columns}列的上限")


def _check_csv_rows(data: str, sheet: str, limits: Limits) -> None:
    """Refuse an over-long CSV before any row is imported (not halfway, after batches were written)."""
    if data.count("\n") < limits.max_rows:
        return  # every row ends a line, so there cannot be more rows than that
    for n, _row in enumerate(csv.reader(io.StringIO(data)), start=1):
        if n > limits.max_rows:
            raise _too_many_rows(sheet, limits)


def _bounded(rows, sheet: str, limits: Limits) -> Iterator[list]:
    for n, row in enumerate(rows, start=1):
        if n > limits.max_rows:
            raise _too_many_rows(sheet, limits)
        if len(row) > limits.max_columns:
            if len(row) > limits.max_columns * 4 and any(row[limits.max_columns * 4 :]):
                raise _too_many_columns(sheet, limits)
            row = row[: limits.max_columns]
        yield row


def open_sheets(path: str | Path, limits: Limits | None = None) -> list[Sheet]:
    """Every sheet of the file, each a lazy iterator of rows (lists of cell values)."""
    path = Path(path)
    limits = limits or Limits.from_settings()
    if not path.exists():
        raise FileRejected(f"找不到文件 {path.name}")
    size = path.stat().st_size
    if size == 0:
        raise FileRejected("文件为空")
    if size > limits.max_bytes:
        raise FileRejected(
            f"文件大小 {size / 1048576:.1f} MB 超过 {limits.max_bytes / 1048576:.0f} MB 的上限"
        )
    kind = sniff(path)
    if kind == "text":
        if path.suffix.lower() not in {".csv", ".txt"}:
            raise FileRejected("文件内容不是Excel表格（可能是改了扩展名的其他文件）")
        data = _decode_csv(path)
        _check_csv_rows(data, path.stem, limits)
        reader = csv.reader(io.StringIO(data))
        return [Sheet(path.stem, _bounded(reader, path.stem, limits))]
    if kind == "zip":
        _check_zip(path, limits)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several error types for damaged files
        raise FileRejected("文件已损坏或格式不受支持，无法读取") from exc
    sheets = []
    for name in workbook.sheet_names:
        try:
            sheet = workbook.get_sheet_by_name(name)
        except Exception:  # a chart sheet or an unreadable one: skip it, keep the others
            log.info("skipping unreadable sheet %r of %s", name, path.name)
            continue
        # iter_rows() starts at the sheet's first row even when the used range starts lower,
        # so the rows read are end[0] + 1: refuse now, not halfway through an import.
        if sheet.end is not None and sheet.end[0] + 1 > limits.max_rows:
            raise _too_many_rows(name, limits)
        if sheet.width > limits.max_columns * 4:
            raise _too_many_columns(name, limits)
        sheets.append(Sheet(name, _bounded(sheet.iter_rows(), name, limits)))
    return sheets
