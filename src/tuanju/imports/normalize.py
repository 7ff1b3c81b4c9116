"""Cell normalization shared by every import (roster, organizations, hotline records…).

Each function takes what a spreadsheet cell really holds (text with full-width characters
and stray spaces, numbers that were IDs, Excel date serials…) and returns a clean value, or
raises ``CellError`` with a Chinese reason that goes into the error report.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta

from tuanju.core import idcard


class CellError(ValueError):
    """A cell that cannot be read; ``str(exc)`` is the reason shown to the cadre."""


_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20  # ideographic space
_SPACES = re.compile(r"[\s\u00a0\u200b\ufeff]+")
_ID_JUNK = re.compile(r"[\s\-\u2010-\u2015\u00a0'`\"]+")
EXCEL_EPOCH = date(1899, 12, 30)


_NEEDS_FOLDING = re.compile(r"[\uff01-\uff5e\u3000\s\u00a0\u200b\ufeff]")


def text(value) -> str:
    """Any cell as trimmed text with full-width ASCII folded to half-width."""
    if type(value) is str:
        # Fast path for the common clean cell: nothing to fold, no space to trim or collapse.
        if _NEEDS_FOLDING.search(value) is None:
            return value
    elif value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        value = int(value) if value.is_integer() else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return _SPACES.sub(" ", str(value).translate(_FULLWIDTH)).strip()


def compact(value) -> str:
    """Text with every space removed (names, codes)."""
    return _SPACES.sub("", text(value))


def resident_id(value) -> str:
    """An 18-character resident ID, validated (length, digits, birth date, region, check digit)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        raise CellError("身份证号格式不正确")
    if isinstance(value, int | float):
        # Excel kept the ID as a number: a float has at most 15-16 significant digits, so an
        # 18-digit ID has already lost its last digits and cannot be recovered.
        if isinstance(value, float) and (not value.is_integer() or abs(value) >= 1e15):
            raise CellError("身份证号以数字保存，已丢失末尾数位（请将该列设为文本后重新填写）")
        value = str(int(value))
    raw = _ID_JUNK.sub("", text(value)).upper()
    if not raw:  # only spaces, quotes or a dash: an empty cell
        return ""
    if re.fullmatch(r"\d(\.\d+)?E\+?\d+", raw):
        raise CellError("身份证号为科学计数法，已丢失末尾数位（请将该列设为文本后重新填写）")
    if len(raw) == 15 and raw.isdigit():
        raise CellError("身份证号为旧版15位，请填写18位身份证号")
    reasons = idcard.problems(raw)
    if not reasons:
        return raw
    messages = {
        "length": f"身份证号应为18位，实为{len(raw)}位",
        "characters": "身份证号只能包含数字和末位X",
        "birth_date": "身份证号中的出生日期无效",
        "region": "身份证号中的地区码无效",
        "check_digit": "身份证号校验位错误",
    }
    raise CellError("；".join(messages[r] for r in reasons))


def phone(value) -> str:
    """An 11-digit mainland mobile number (``+86``/``86-`` prefixes, spaces and hyphens removed)."""
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError("手机号格式不正确")
        value = int(value)
    raw = _ID_JUNK.sub("", text(value)).replace("(", "").replace(")", "")
    if not raw:  # only spaces or a dash: an empty cell
        return ""
    if raw.startswith("+86"):
        raw = raw[3:]
    elif raw.startswith("0086"):
        raw = raw[4:]
    elif raw.startswith("86") and len(raw) == 13:
        raw = raw[2:]
    if not re.fullmatch(r"1[3-9]\d{9}", raw):
        raise CellError(f"手机号应为以1开头的11位数字，实为“{text(value)}”")
    return raw


_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[./\-年](\d{1,2})[./\-月](\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
_MONTH_PATTERN = re.compile(r"^(\d{4})[./\-年](\d{1,2})月?$")


def a_date(value, *, month_ok: bool = True) -> date | None:
    """A date from a datetime cell, an Excel serial, or text such as 1999.3.5 / 1999年3月5日 / 1999/03/05."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1900 <= value < 2101:
            # Not a day serial (that would be a date in 1905): 出生年月 typed as 1999.03, or a year.
            return _year_month(value, month_ok=month_ok)
        if 1 <= value < 2958466 and not (19000101 <= value <= 21001231):
            return EXCEL_EPOCH + timedelta(days=int(value))
        value = str(int(value))
    raw = compact(value)
    if not raw:
        return None
    for pattern in _DATE_PATTERNS:
        match = pattern.match(raw)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                break
    else:
        match = _MONTH_PATTERN.match(raw)
        if match and month_ok:
            try:
                return date(int(match[1]), int(match[2]), 1)
            except ValueError:
                pass
    raise CellError(f"日期“{text(value)}”无法识别（示例：1999-03-05、1999.3.5、1999年3月5日）")


def _year_month(value: float, *, month_ok: bool) -> date:
    """A number such as 1999.03 (year.month); Excel shows 1999.10 as 1999.1, the same as January."""
    year, _, digits = repr(float(value)).partition(".")
    if month_ok and digits == "1":
        raise CellError(
            f"出生年月“{text(value)}”以数字保存，无法区分是1月还是10月（请将该列设为文本，如1999.01、1999.10）"
        )
    if not month_ok or digits == "0" or len(digits) > 2 or not 1 <= int(digits) <= 12:
        raise CellError(f"日期“{text(value)}”无法识别（示例：1999-03-05、1999.3.5、1999年3月5日）")
    return date(int(year), int(digits), 1)


def choice(value, synonyms: dict[str, str], label: str) -> str:
    """Map a cell onto one of the allowed values through its synonyms."""
    raw = compact(value)
    if not raw:
        return ""
    found = synonyms.get(raw) or synonyms.get(raw.lower())
    if found is None:
        allowed = "、".join(dict.fromkeys(synonyms.values()))
        raise CellError(f"{label}“{raw}”不在可选范围内（可选：{allowed}）")
    return found


GENDER_SYNONYMS = {
    "男": "M",
    "男性": "M",
    "m": "M",
    "male": "M",
    "女": "F",
    "女性": "F",
    "f": "F",
    "female": "F",
}


def gender(value) -> str:
    return choice(value, GENDER_SYNONYMS, "性别")


def header_key(value) -> str:
    """A header cell reduced for synonym matching: no spaces, marks, notes in brackets."""
    raw = compact(value).lower()
    raw = re.sub(r"[（(【\[].*?[)）】\]]", "", raw)
    return raw.strip("*＊:：")
