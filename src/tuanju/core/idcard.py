"""Mainland resident identity numbers (GB 11643, check digit ISO 7064 MOD 11-2)."""

from __future__ import annotations

import operator
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def check_char(first17: str) -> str:
    total = sum(map(operator.mul, map(int, first17), WEIGHTS))
    return CHECK_CHARS[total % 11]


def birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def gender(number: str) -> str:
    """'M' or 'F' from the parity of the sequence code (17th digit)."""
    return "M" if int(number[16]) % 2 else "F"


def problems(number: str, *, today: date | None = None) -> list[str]:
    """Every reason ``number`` is not a valid 18-digit resident ID (empty list when valid)."""
    if len(number) != 18:
        return ["length"]
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return ["characters"]
    found = []
    born = birth_date(number)
    today = today or date.today()
    if born is None or born > today or born.year < 1900:
        found.append("birth_date")
    if number[:2] in {"00", "10"} or number[:6] == "000000":
        found.append("region")
    if check_char(number[:17]) != number[17]:
        found.append("check_digit")
    return found


def make(region: str, born: date, sequence: int, *, male: bool) -> str:
    """A checksum-valid number for ``region`` (6 digits) and ``born``; the sequence parity is the gender."""
    seq = (sequence % 500) * 2 + (1 if male else 0)
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)
