"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

An 18-character code::

    5 2 330782 MJ1234567 X
    │ │ │      │         └ 18: check character (GB 32100, MOD 31 over the first 17)
    │ │ │      └ 9–17: organization code (GB 11714: 8 characters + its own check character)
    │ │ └ 3–8: administrative division code of the registering authority (GB/T 2260)
    │ └ 2: organization category code (e.g. 1 社会团体, 2 民办非企业单位, 3 基金会)
    └ 1: registration authority code (5 民政, 9 工商…)

The character set is the digits and the capital letters without I, O, S, V and Z (31
characters, each worth its index). The weight of position ``i`` (0-based) is ``3**i mod 31``;
the check character is worth ``(31 - sum % 31) % 31``.
"""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {ch: i for i, ch in enumerate(CHARSET)}
WEIGHTS = tuple(
    pow(3, i, 31) for i in range(17)
)  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28

#: Registration authority codes of GB 32100-2015 appendix A.
AUTHORITIES = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "工商",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
    "Y": "其他",
}
#: Category codes of the authorities this platform meets (others: any digit 1–9 is accepted).
CATEGORIES = {
    "5": {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"},
    "9": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
}
#: The authority of organizations registered with civil affairs (民政登记).
CIVIL_AFFAIRS = "5"

# GB 11714 (organization code): weights and check characters of the 9th character.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

MESSAGES = {
    "length": "统一社会信用代码应为18位",
    "characters": "统一社会信用代码只能由数字和大写字母组成（不含I、O、S、V、Z）",
    "authority": "统一社会信用代码第1位（登记管理部门代码）无效",
    "category": "统一社会信用代码第2位（机构类别代码）无效",
    "region": "统一社会信用代码第3至8位应为6位行政区划代码",
    "check": "统一社会信用代码校验位错误",
}


def normalize(value) -> str:
    """Upper-cased, with spaces, hyphens and full-width characters folded away."""
    text = "" if value is None else str(value)
    text = text.translate({i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)})
    return "".join(text.split()).replace("-", "").upper()


def check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    total = sum(VALUES[ch] * weight for ch, weight in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def org_code_check(first8: str) -> str:
    """The GB 11714 check character of an organization code body (digits and capital letters)."""

    def value(ch: str) -> int:
        return int(ch) if ch.isdigit() else ord(ch) - 55  # A = 10 … Z = 35

    remainder = 11 - sum(value(ch) * w for ch, w in zip(first8, _ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def problems(code: str) -> list[str]:
    """Every reason (keys of ``MESSAGES``) why ``code`` is not a valid code; empty when valid."""
    if len(code) != 18:
        return ["length"]
    if any(ch not in VALUES for ch in code):
        return ["characters"]
    found = []
    authority, category = code[0], code[1]
    if authority not in AUTHORITIES:
        found.append("authority")
    elif category not in CATEGORIES.get(authority, "123456789"):
        found.append("category")
    if not code[2:8].isdigit():
        found.append("region")
    if check_char(code[:17]) != code[17]:
        found.append("check")
    return found


def explain(code: str) -> str:
    """The Chinese reasons for an invalid code, joined; empty when valid."""
    return "；".join(MESSAGES[p] for p in problems(code))


def is_valid(code: str) -> bool:
    return not problems(code)


def make(authority_category: str, region: str, org_body: str) -> str:
    """A valid code from its parts: e.g. ``make("52", "330782", "MJ123456")``.

    ``org_body`` is the 8-character organization code body; its GB 11714 check character is
    appended, then the GB 32100 check character.
    """
    first17 = f"{authority_category}{region}{org_body}{org_code_check(org_body)}"
    if len(first17) != 17 or any(ch not in VALUES for ch in first17):
        raise ValueError(f"cannot build a code from {authority_category!r}, {region!r}, {org_body!r}")
    return first17 + check_char(first17)
