"""Text helpers for Chinese names: pinyin initials for search."""

from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=65536)
def pinyin_initials(text: str) -> str:
    """'义乌市' -> 'yws'; non-Chinese characters are kept lowercased."""
    if not text:
        return ""
    return "".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default")).lower()


def pinyin_full(text: str) -> str:
    return "".join(lazy_pinyin(text)).lower() if text else ""
