"""Text helpers for Chinese names: pinyin initials for search."""

from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=32768)
def _char_initial(char: str) -> str:
    return "".join(lazy_pinyin(char, style=Style.FIRST_LETTER, errors="default")).lower()


@lru_cache(maxsize=65536)
def pinyin_initials(text: str) -> str:
    """'义乌市' -> 'yws'; non-Chinese characters are kept lowercased.

    Short texts (personal names, a million per roster import) go character by character
    through a cache; longer ones (unit names) go through pypinyin's phrase segmentation,
    which picks the right reading of polyphonic characters in place names.
    """
    if not text:
        return ""
    if len(text) <= 4:
        return "".join(_char_initial(ch) for ch in text)
    return "".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default")).lower()


def pinyin_full(text: str) -> str:
    return "".join(lazy_pinyin(text)).lower() if text else ""
