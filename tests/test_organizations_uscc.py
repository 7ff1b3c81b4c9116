"""GB 32100-2015 unified social credit codes."""

import pytest

from tuanju.organizations import uscc

# Codes printed on public business licences, and codes built here from their parts.
PUBLISHED = ["91350100M000100Y43", "9144030071526726XG", "91330100716105852F"]


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code):
    assert uscc.problems(code) == []
    assert uscc.check_char(code[:17]) == code[17]


def test_weights_are_powers_of_three_mod_31():
    assert uscc.WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(uscc.CHARSET) == 31 and not set("IOSVZ") & set(uscc.CHARSET)


def test_check_character_by_hand():
    # 52330782MJ000001? : the weighted sum of the first 17 characters decides the 18th.
    first17 = "52330782MJ0000012"
    total = sum(uscc.VALUES[ch] * w for ch, w in zip(first17, uscc.WEIGHTS, strict=True))
    assert uscc.check_char(first17) == uscc.CHARSET[(31 - total % 31) % 31]


@pytest.mark.parametrize(
    ("parts", "prefix"),
    [
        (("52", "330782", "MJ123456"), "52330782MJ123456"),
        (("51", "110105", "50000000"), "5111010550000000"),
        (("53", "330000", "5000001A"), "533300005000001A"),
        (("91", "330782", "MA2A0B1C"), "91330782MA2A0B1C"),
    ],
)
def test_made_codes_are_valid(parts, prefix):
    code = uscc.make(*parts)
    assert code.startswith(prefix) and len(code) == 18
    assert uscc.is_valid(code), uscc.explain(code)


def test_org_code_check_character():
    # GB 11714: the 9th character of 71526726X (Tencent's organization code) is X.
    assert uscc.org_code_check("71526726") == "X"
    assert uscc.org_code_check("M000100Y") == "4"


def test_every_single_character_change_is_caught():
    code = uscc.make("52", "330782", "MJ000001")
    for i in range(18):
        for ch in uscc.CHARSET:
            if ch == code[i]:
                continue
            changed = code[:i] + ch + code[i + 1 :]
            assert not uscc.is_valid(changed), changed


def test_transposition_of_neighbours_is_caught():
    code = uscc.make("52", "330782", "MJ123456")
    for i in range(2, 16):
        if code[i] != code[i + 1]:
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
            assert "check" in uscc.problems(swapped)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("5233078", "length"),
        ("52330782MJ00000I1X", "characters"),  # I is not in the character set
        ("52330782mj0000012z", "characters"),
        ("Z2330782MJ00000125", "characters"),
    ],
)
def test_malformed(code, reason):
    assert uscc.problems(code) == [reason]


def test_wrong_check_character_message():
    code = uscc.make("52", "330782", "MJ000001")
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    assert uscc.problems(wrong) == ["check"]
    assert uscc.explain(wrong) == "统一社会信用代码校验位错误"


def test_unknown_authority_and_category():
    first17 = "B2330782MJ0000012"
    assert "authority" in uscc.problems(first17 + uscc.check_char(first17))
    first17 = "54330782MJ0000012"  # civil affairs has no category 4
    assert uscc.problems(first17 + uscc.check_char(first17)) == ["category"]
    first17 = "52ABCDEFMJ0000012"
    assert uscc.problems(first17 + uscc.check_char(first17)) == ["region"]


def test_normalize_folds_fullwidth_spaces_and_case():
    code = uscc.make("52", "330782", "MJ000001")
    messy = (
        " "
        + code[:6].lower()
        + "-"
        + code[6:].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
        + " "
    )
    assert uscc.normalize(messy) == code
