"""The roster import (花名册导入): cell normalization, reading messy files, validation, the CLI."""

from __future__ import annotations

import json
from datetime import date, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from fixtures_import import (
    HEADER,
    PNG_BYTES,
    Title,
    make_id,
    read_workbook,
    report_rows,
    with_check_digit,
    write_csv,
    write_ods,
    write_xlsx,
    write_zip_bomb,
)

from tuanju.audit.models import AuditEvent
from tuanju.hierarchy import actions as hierarchy
from tuanju.hierarchy.models import OrgUnit
from tuanju.imports import normalize
from tuanju.imports.actions import run_file, spec_for
from tuanju.imports.engine import Importer
from tuanju.imports.reader import FileRejected, Limits, open_sheets
from tuanju.people.importing import (
    POLITICAL_SYNONYMS,
    RosterSpec,
    person_name,
    political_status,
    yes_no,
)
from tuanju.people.models import Category, Person, PoliticalStatus

ID1 = make_id("330782", date(1999, 3, 5), 1, male=True)
ID2 = make_id("330782", date(2001, 11, 20), 2, male=False)
ID3 = make_id("330782", date(1995, 7, 1), 3, male=True)
ID_DONGYANG = make_id("330783", date(1998, 1, 2), 4, male=False)


# --- helpers -----------------------------------------------------------------------------------


def run(path, unit, **kwargs):
    summary = run_file("roster", path, unit, **kwargs)
    assert_invariant(summary.as_dict())
    return summary


def cli(*args, **kwargs) -> tuple[dict, str, str]:
    out, err = StringIO(), StringIO()
    call_command("import-roster", *[str(a) for a in args], stdout=out, stderr=err, **kwargs)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    counts = json.loads(lines[-1])
    assert_invariant(counts)
    return counts, out.getvalue(), err.getvalue()


def assert_invariant(counts: dict) -> None:
    assert set(counts) == {"total", "created", "updated", "unchanged", "rejected", "duplicates_in_file"}
    assert counts["created"] + counts["updated"] + counts["unchanged"] + counts["rejected"] == counts["total"]


def person(unit, name, rid="", phone="", **fields) -> Person:
    p = Person(unit=unit, name=name, **fields)
    p.set_resident_id(rid)
    p.set_phone(phone)
    p.save()
    return p


def by_id(number: str) -> Person:
    from tuanju.core.crypto import cipher

    return Person.objects.get(resident_id_bidx=cipher().blind_index(number))


def row(
    name="张三",
    rid=ID1,
    phone="13812345678",
    gender="",
    born="",
    political="",
    category="",
    employer="",
    notes="",
):
    return [name, rid, phone, gender, born, political, category, employer, notes]


# --- normalize: text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (None, ""),
        (float("nan"), ""),
        (12.0, "12"),
        (12.5, "12.5"),
        (7, "7"),
        ("  张　三  ", "张 三"),
        ("ＡＢＣ１２３", "ABC123"),
        ("a\u00a0\u200bb", "a b"),
        ("\ufeff姓名", "姓名"),
        (date(1999, 3, 5), "1999-03-05"),
        (datetime(1999, 3, 5, 8, 30), "1999-03-05T08:30:00"),
    ],
)
def test_text(cell, expected):
    assert normalize.text(cell) == expected


def test_compact_removes_every_space():
    assert normalize.compact(" 张　 三\t") == "张三"
    assert normalize.compact(None) == ""


# --- normalize: resident IDs -------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        ID1,
        f" {ID1} ",
        f"{ID1[:6]} {ID1[6:14]} {ID1[14:]}",
        f"{ID1[:6]}-{ID1[6:14]}-{ID1[14:]}",
        f"'{ID1}",
        ID1.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"}),
        int(ID1),
    ],
)
def test_resident_id_normalized(cell):
    assert normalize.resident_id(cell) == ID1


def test_resident_id_lowercase_and_fullwidth_x():
    number = next(
        make_id("330782", date(1990, 1, 1), seq, male=True)
        for seq in range(500)
        if make_id("330782", date(1990, 1, 1), seq, male=True).endswith("X")
    )
    assert normalize.resident_id(number.lower()) == number
    assert normalize.resident_id(number[:-1] + "ｘ") == number


@pytest.mark.parametrize("cell", [None, "", "   ", "\u3000", "-", "'", " - "])
def test_resident_id_empty(cell):
    assert normalize.resident_id(cell) == ""


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("33078219990305003", "身份证号应为18位，实为17位"),
        ("3307821999030500345", "身份证号应为18位，实为19位"),
        ("33078219990305003A", "身份证号只能包含数字和末位X"),
        ("3307821999X3050034", "身份证号只能包含数字和末位X"),
        (with_check_digit("33078219991305003"), "身份证号中的出生日期无效"),
        (with_check_digit("33078219990230003"), "身份证号中的出生日期无效"),
        (with_check_digit("33078218890305003"), "身份证号中的出生日期无效"),
        (with_check_digit(f"330782{date.today().year + 1}0101003"), "身份证号中的出生日期无效"),
        (with_check_digit("10078219990305003"), "身份证号中的地区码无效"),
        (with_check_digit("00078219990305003"), "身份证号中的地区码无效"),
        (ID1[:-1] + ("0" if ID1[-1] != "0" else "1"), "身份证号校验位错误"),
        ("330782990305123", "身份证号为旧版15位，请填写18位身份证号"),
        (330782990305123, "身份证号为旧版15位，请填写18位身份证号"),
        (3.307821999030500e17, "身份证号以数字保存，已丢失末尾数位"),
        (float(ID1), "身份证号以数字保存，已丢失末尾数位"),
        (12345.5, "身份证号以数字保存，已丢失末尾数位"),
        ("3.30782E+17", "身份证号为科学计数法，已丢失末尾数位"),
        ("3.30782e17", "身份证号为科学计数法，已丢失末尾数位"),
        ("３．３０７８２Ｅ＋１７", "身份证号为科学计数法，已丢失末尾数位"),
        (True, "身份证号格式不正确"),
    ],
)
def test_resident_id_rejections(cell, reason):
    with pytest.raises(normalize.CellError) as exc:
        normalize.resident_id(cell)
    assert reason in str(exc.value)


def test_resident_id_lists_every_problem():
    bad = with_check_digit("33078219991305003")
    bad = bad[:-1] + ("0" if bad[-1] != "0" else "1")
    with pytest.raises(normalize.CellError) as exc:
        normalize.resident_id(bad)
    assert str(exc.value) == "身份证号中的出生日期无效；身份证号校验位错误"


# --- normalize: phones -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "13812345678",
        13812345678,
        13812345678.0,
        " 138 1234 5678 ",
        "138-1234-5678",
        "１３８１２３４５６７８",
        "１３８　１２３４　５６７８",
        "+8613812345678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "＋８６１３８１２３４５６７８",
        "(+86)13812345678",
        "（＋86）13812345678",
        "0086 13812345678",
        "008613812345678",
        "86-13812345678",
        "8613812345678",
        8613812345678.0,
    ],
)
def test_phone_normalized(cell):
    assert normalize.phone(cell) == "13812345678"


@pytest.mark.parametrize("cell", [None, "", "  ", "\u3000", "-", "--"])
def test_phone_empty(cell):
    assert normalize.phone(cell) == ""


@pytest.mark.parametrize(
    "cell",
    [
        "12812345678",
        "1381234567",
        "138123456789",
        "0579-85123456",
        "85123456",
        "abc",
        "1381234567x",
        1.38123456785e10,
    ],
)
def test_phone_rejections(cell):
    with pytest.raises(normalize.CellError) as exc:
        normalize.phone(cell)
    assert "手机号" in str(exc.value)


def test_phone_rejection_quotes_the_cell():
    with pytest.raises(normalize.CellError, match="手机号应为以1开头的11位数字，实为“0579-85123456”"):
        normalize.phone("0579-85123456")


# --- normalize: dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        date(1999, 3, 5),
        datetime(1999, 3, 5, 8, 30),
        36224,
        36224.0,
        36224.75,
        19990305,
        19990305.0,
        "19990305",
        "1999-03-05",
        "1999-3-5",
        "1999.3.5",
        "1999.03.05",
        "1999/03/05",
        "1999/3/5",
        "1999年3月5日",
        "1999年03月05日",
        "1999 年 3 月 5 日",
        "１９９９．３．５",
        "1999年3月5",
    ],
)
def test_dates_in_every_format(cell):
    assert normalize.a_date(cell) == date(1999, 3, 5)


@pytest.mark.parametrize("cell", ["1999.3", "1999.03", "1999年3月", "1999-03", "1999/3", "1999年03"])
def test_month_only_date_is_first_of_month(cell):
    assert normalize.a_date(cell) == date(1999, 3, 1)


@pytest.mark.parametrize(("cell", "expected"), [(1999.03, date(1999, 3, 1)), (1999.12, date(1999, 12, 1))])
def test_month_only_date_typed_as_number(cell, expected):
    """出生年月 typed as 1999.03 is a number to Excel, not a day serial (that would be 1905)."""
    assert normalize.a_date(cell) == expected


def test_month_only_number_ambiguous_between_january_and_october():
    with pytest.raises(normalize.CellError, match="1月还是10月"):
        normalize.a_date(1999.1)
    assert normalize.a_date(1999.2) == date(1999, 2, 1)
    assert normalize.a_date(1999.01) == date(1999, 1, 1)


@pytest.mark.parametrize("cell", [1999, 1999.0, 1999.13, 1999.123, 2000.00])
def test_year_alone_or_bad_month_number_is_not_a_serial(cell):
    with pytest.raises(normalize.CellError, match="无法识别"):
        normalize.a_date(cell)


def test_year_month_number_refused_when_a_day_is_needed():
    with pytest.raises(normalize.CellError, match="无法识别"):
        normalize.a_date(1999.03, month_ok=False)


def test_month_only_refused_when_a_day_is_needed():
    with pytest.raises(normalize.CellError):
        normalize.a_date("1999.3", month_ok=False)


@pytest.mark.parametrize("cell", [None, "", "  ", "\u3000"])
def test_empty_date(cell):
    assert normalize.a_date(cell) is None


@pytest.mark.parametrize(
    "cell", ["1999.13.5", "1999-02-30", "1999年13月", "99.3.5", "三月五日", "abc", "1999.3.5.1", "2024-1-32"]
)
def test_bad_dates_are_rejected(cell):
    with pytest.raises(normalize.CellError) as exc:
        normalize.a_date(cell)
    assert "无法识别" in str(exc.value)
    assert f"“{cell}”" in str(exc.value)


# --- normalize: choices ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("男", "M"),
        ("男性", "M"),
        ("M", "M"),
        ("m", "M"),
        ("Male", "M"),
        ("ＭＡＬＥ", "M"),
        (" 男 ", "M"),
        ("女", "F"),
        ("女性", "F"),
        ("F", "F"),
        ("female", "F"),
        ("", ""),
        (None, ""),
    ],
)
def test_gender_synonyms(cell, expected):
    assert normalize.gender(cell) == expected


def test_gender_unknown_lists_choices():
    with pytest.raises(normalize.CellError) as exc:
        normalize.gender("未知")
    assert "性别“未知”不在可选范围内" in str(exc.value)
    assert "M" in str(exc.value) and "F" in str(exc.value)


@pytest.mark.parametrize(("cell", "expected"), sorted(POLITICAL_SYNONYMS.items()))
def test_political_status_synonyms(cell, expected):
    assert political_status(cell) == expected
    assert political_status(f" {cell} ") == expected


def test_political_status_unknown():
    assert political_status("") == ""
    with pytest.raises(normalize.CellError, match="政治面貌“党员干部”不在可选范围内"):
        political_status("党员干部")


@pytest.mark.parametrize("cell", ["是", "Y", "yes", "YES", "1", 1, 1.0, "√", "✓", "true", "TRUE"])
def test_yes(cell):
    assert yes_no(cell) is True


@pytest.mark.parametrize("cell", ["否", "n", "No", "0", 0, 0.0, "×", "false", "", None, "  "])
def test_no(cell):
    assert yes_no(cell) is False


def test_yes_no_other():
    with pytest.raises(normalize.CellError, match="应填“是”或“否”，实为“也许”"):
        yes_no("也许")


def test_person_name():
    assert person_name(" 张　三 ") == "张三"
    assert person_name("Li") == "Li"
    assert person_name("阿卜杜·热合曼") == "阿卜杜·热合曼"
    with pytest.raises(normalize.CellError, match="姓名过短"):
        person_name("张")
    with pytest.raises(normalize.CellError, match="含有数字"):
        person_name("张三2")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("身份证号（必填）", "身份证号"),
        ("身份证号(必填)", "身份证号"),
        ("*姓名", "姓名"),
        ("＊姓名：", "姓名"),
        (" 手 机 号 码 ", "手机号码"),
        ("出生年月【格式1999.03】", "出生年月"),
        ("Name", "name"),
    ],
)
def test_header_key(cell, expected):
    assert normalize.header_key(cell) == expected


# --- reading files -----------------------------------------------------------------------------


def test_header_under_merged_banner_with_synonyms_and_notes(world, tmp_path):
    path = write_xlsx(
        tmp_path / "花名册.xlsx",
        [
            Title("稠城街道新兴领域青年花名册", 11),
            ["填报单位：稠城街道", None, None, None, None, None, None, None, None, None, "2024年5月"],
            None,
            [
                "序号",
                "名字",
                "公民身份号码（必填）",
                "联系电话",
                "性别",
                "出生年月",
                "政治面貌",
                "所属群体",
                "平台",
                "所属村社",
                "说明",
            ],
            [
                1,
                "张三",
                ID1,
                "138 1234 5678",
                "男",
                "1999.03",
                "团员",
                "外卖骑手",
                "美团",
                "华新社区",
                "骨干",
            ],
            [2, "李四", ID2, "+86 139-0000-1111", "女性", "2001年11月20日", "群众", "快递员", "顺丰", "", ""],
        ],
    )
    summary = run(path, world["330782"])
    assert summary.as_dict() == {
        "total": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "duplicates_in_file": 0,
    }
    zhang = by_id(ID1)
    assert zhang.name == "张三" and zhang.name_pinyin == "zs"
    assert zhang.reveal_resident_id() == ID1
    assert zhang.reveal_phone() == "13812345678"
    assert zhang.phone_masked == "138****5678" and zhang.phone_last4 == "5678"
    assert zhang.resident_id_masked == ID1[:6] + "********" + ID1[-4:]
    assert zhang.gender == "M"
    assert zhang.birth_date == date(1999, 3, 5)  # the ID's full date wins over 出生年月
    assert zhang.political_status == PoliticalStatus.LEAGUE
    assert zhang.category == Category.objects.get(name="外卖骑手")
    assert zhang.employer == "美团" and zhang.notes == "骨干"
    assert zhang.unit.code == "330782001001"
    li = by_id(ID2)
    assert li.reveal_phone() == "13900001111"
    assert li.gender == "F" and li.birth_date == date(2001, 11, 20)
    assert li.political_status == PoliticalStatus.MASSES
    assert li.unit == world["330782"]
    assert li.source == "import"


def test_header_is_found_when_the_sheet_starts_below_and_right(world, tmp_path):
    path = write_xlsx(tmp_path / "offset.xlsx", [None, None, HEADER, row()], first_column=2)
    summary = run(path, world["330782"], report_path=tmp_path / "r.xlsx")
    assert (summary.total, summary.created) == (1, 1)


def test_sheet_without_header_is_skipped_with_a_note(world, tmp_path):
    path = write_xlsx(
        tmp_path / "multi.xlsx",
        {
            "填表说明": [["请按模板填写"], ["身份证号请设为文本格式"]],
            "花名册": [Title("花名册"), HEADER, row()],
        },
    )
    summary = run(path, world["330782"])
    assert summary.created == 1
    assert summary.sheets == ["花名册"]
    assert "工作表“填表说明”未找到表头，已跳过" in summary.notes


def test_missing_required_column(world, tmp_path):
    path = write_xlsx(
        tmp_path / "noname.xlsx",
        {
            "无姓名": [["身份证号", "手机号", "性别"], [ID2, "13900001111", "女"]],
            "花名册": [HEADER, row()],
        },
    )
    summary = run(path, world["330782"])
    assert summary.created == 1 and summary.total == 1
    assert "工作表“无姓名”缺少必填列：姓名，已跳过" in summary.notes


def test_file_without_any_usable_header_is_rejected(world, tmp_path):
    path = write_xlsx(tmp_path / "none.xlsx", [["身份证号", "手机号"], [ID1, "13812345678"]])
    with pytest.raises(FileRejected, match="没有找到表头"):
        run(path, world["330782"])
    path = write_xlsx(tmp_path / "text.xlsx", [["只是一些文字"], ["没有表格"]])
    with pytest.raises(FileRejected, match="没有找到表头"):
        run(path, world["330782"])
    assert Person.objects.count() == 0


def test_several_sheets_are_all_imported(world, tmp_path):
    path = write_xlsx(
        tmp_path / "towns.xlsx",
        {
            "稠城": [Title("稠城街道"), HEADER, row("张三", ID1)],
            "空白页": [],
            "江东": [["手机号码", "姓名", "身份证号码"], ["13900001111", "李四", ID2], [None, "王五", ID3]],
        },
    )
    summary = run(path, world["330782"])
    assert summary.as_dict()["created"] == 3 and summary.total == 3
    assert summary.sheets == ["稠城", "江东"]
    assert by_id(ID3).phone_enc is None and by_id(ID3).phone_masked == ""


def test_header_repeated_mid_sheet_and_blank_rows(world, tmp_path):
    path = write_xlsx(
        tmp_path / "pasted.xlsx",
        [
            HEADER,
            row("张三", ID1),
            None,
            ["", "  ", None, "　"],
            HEADER,
            row("李四", ID2, "13900001111"),
            None,
            [f" {h} " for h in HEADER],  # the header again, with stray spaces: still not a data row
        ],
    )
    report = tmp_path / "report.xlsx"
    summary = run(path, world["330782"], report_path=report)
    assert summary.as_dict() == {
        "total": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "duplicates_in_file": 0,
    }
    assert report_rows(report)[0]["reason"] == "全部行均已导入，没有错误。"


def test_ods(world, tmp_path):
    path = write_ods(
        tmp_path / "roster.ods",
        {
            "说明": [["填表说明"]],
            "名单": [["青年花名册"], None, HEADER, [*row(born=date(1999, 3, 5))[:4], date(1999, 3, 5)]],
        },
    )
    summary = run(path, world["330782"])
    assert (summary.total, summary.created, summary.rejected) == (1, 1, 0)
    assert by_id(ID1).reveal_phone() == "13812345678"


def test_xls(world, tmp_path):
    xlwt = pytest.importorskip("xlwt", reason="no .xls writer installed (XlsxWriter only writes .xlsx)")
    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet1")
    for c, value in enumerate(HEADER[:3]):
        sheet.write(0, c, value)
    for c, value in enumerate(row()[:3]):
        sheet.write(1, c, value)
    book.save(str(tmp_path / "roster.xls"))
    assert run(tmp_path / "roster.xls", world["330782"]).created == 1


def test_ole_file_that_is_not_a_workbook(world, tmp_path):
    path = tmp_path / "fake.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(FileRejected, match="文件已损坏或格式不受支持"):
        run(path, world["330782"])


CSV_ROWS = [
    ["义乌市青年花名册"],
    ["姓名", "身份证号码", "手机号码", "工作单位", "备注"],
    ["王𠮷", ID1, "138 1234 5678", "义乌小商品城", "夜班"],
    ["欧阳娜娜", ID2, "+86 13900001111", "稠州银行", ""],
]
CSV_ROWS_GBK = [[c.replace("𠮷", "吉") for c in r] for r in CSV_ROWS]


@pytest.mark.parametrize(
    ("encoding", "bom", "rows"),
    [
        ("utf-8", False, CSV_ROWS),
        ("utf-8", True, CSV_ROWS),
        ("gbk", False, CSV_ROWS_GBK),
        ("gb18030", False, CSV_ROWS),
    ],
)
def test_csv_encodings(world, tmp_path, encoding, bom, rows):
    path = write_csv(tmp_path / "roster.csv", rows, encoding=encoding, bom=bom)
    summary = run(path, world["330782"])
    assert (summary.total, summary.created, summary.rejected) == (2, 2, 0)
    first = by_id(ID1)
    assert first.name == rows[2][0]
    assert first.employer == "义乌小商品城" and first.notes == "夜班"
    assert by_id(ID2).name == "欧阳娜娜"


def test_csv_with_bom_finds_header_in_first_cell(world, tmp_path):
    path = write_csv(tmp_path / "bom.csv", CSV_ROWS[1:], bom=True)
    assert run(path, world["330782"]).created == 2


def test_csv_in_unknown_encoding(world, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes("姓名,手机号\n张三,13812345678\n".encode("utf-16-le"))
    with pytest.raises(FileRejected, match="不是有效的表格文件"):
        run(path, world["330782"])


# --- hostile and oversized files ---------------------------------------------------------------


def test_zip_bomb_is_rejected(world, tmp_path):
    path = write_zip_bomb(tmp_path / "roster.xlsx", megabytes=64)
    assert path.stat().st_size < 200_000
    with pytest.raises(FileRejected) as exc:
        run(path, world["330782"])
    assert "压缩炸弹" in str(exc.value)


def test_zip_bomb_over_uncompressed_limit_even_at_a_tolerated_ratio(world, tmp_path, settings):
    settings.TUANJU = {
        **settings.TUANJU,
        "IMPORT_LIMITS": {
            **settings.TUANJU["IMPORT_LIMITS"],
            "max_compression_ratio": 10**9,
            "max_uncompressed_bytes": 8 * 1024 * 1024,
        },
    }
    path = write_zip_bomb(tmp_path / "roster.xlsx", megabytes=16)
    with pytest.raises(FileRejected, match="解压后过大"):
        run(path, world["330782"])


@pytest.mark.parametrize(
    "content",
    [PNG_BYTES, "姓名,身份证号\n张三,1\n".encode(), b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"],
    ids=["png", "text", "pdf"],
)
def test_non_spreadsheet_renamed_xlsx(world, tmp_path, content):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(content)
    with pytest.raises(FileRejected, match="文件内容不是Excel表格"):
        run(path, world["330782"])


def test_png_renamed_csv(world, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(PNG_BYTES)
    with pytest.raises(FileRejected, match="不是有效的表格文件"):
        run(path, world["330782"])


def test_damaged_zip_and_foreign_zip(world, tmp_path):
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(b"PK\x03\x04" + b"\x00garbage" * 50)
    with pytest.raises(FileRejected, match="文件已损坏"):
        run(damaged, world["330782"])
    import zipfile

    foreign = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    with pytest.raises(FileRejected, match="文件已损坏或格式不受支持"):
        run(foreign, world["330782"])


def test_empty_and_missing_file(world, tmp_path):
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    with pytest.raises(FileRejected, match="文件为空"):
        run(empty, world["330782"])
    with pytest.raises(FileRejected, match="找不到文件"):
        run(tmp_path / "nowhere.xlsx", world["330782"])


def _limits(settings, **overrides):
    settings.TUANJU = {
        **settings.TUANJU,
        "IMPORT_LIMITS": {**settings.TUANJU["IMPORT_LIMITS"], **overrides},
    }


def test_limits_are_read_from_settings_at_call_time(settings):
    _limits(settings, max_rows=7)
    assert Limits.from_settings().max_rows == 7


def test_file_size_limit(world, tmp_path, settings):
    path = write_xlsx(tmp_path / "big.xlsx", [HEADER, row()])
    _limits(settings, max_bytes=1024)
    with pytest.raises(FileRejected) as exc:
        run(path, world["330782"])
    assert "超过" in str(exc.value) and "上限" in str(exc.value) and "MB" in str(exc.value)


def _many_rows(n):
    return [make_id("330782", date(1990, 1, 1), i, male=True) for i in range(n)]


def test_row_limit_xlsx(world, tmp_path, settings):
    ids = _many_rows(12)
    path = write_xlsx(
        tmp_path / "rows.xlsx", [HEADER] + [row(f"青年{chr(0x4E00 + i)}", n) for i, n in enumerate(ids)]
    )
    _limits(settings, max_rows=10)
    with pytest.raises(FileRejected, match="超过10行的上限"):
        run(path, world["330782"])
    assert Person.objects.count() == 0


def test_row_limit_never_leaves_a_partial_import(world, tmp_path, settings):
    """Rows over the limit are refused before anything is written, even with small batches."""
    ids = _many_rows(12)
    rows = [HEADER] + [row(f"青年{chr(0x4E00 + i)}", n, phone="") for i, n in enumerate(ids)]
    xlsx = write_xlsx(tmp_path / "rows.xlsx", rows)
    csv_path = write_csv(tmp_path / "rows.csv", rows)
    _limits(settings, max_rows=10)
    for path in (xlsx, csv_path):
        importer = Importer(spec_for("roster", world["330782"]), batch_size=2)
        with pytest.raises(FileRejected, match="超过10行的上限"):
            importer.run(path)
        assert Person.objects.count() == 0


def test_row_limit_csv(world, tmp_path, settings):
    rows = [HEADER] + [row(f"青年{chr(0x4E00 + i)}", n) for i, n in enumerate(_many_rows(12))]
    path = write_csv(tmp_path / "rows.csv", rows)
    _limits(settings, max_rows=10)
    with pytest.raises(FileRejected, match="超过10行的上限"):
        run(path, world["330782"])
    _limits(settings, max_rows=13)
    assert run(path, world["330782"]).created == 12


def test_column_limit(world, tmp_path, settings):
    wide = [*HEADER, *[f"附加{i}" for i in range(40)]]
    path = write_xlsx(tmp_path / "wide.xlsx", [wide, row()])
    _limits(settings, max_columns=10)
    with pytest.raises(FileRejected, match="超过10列的上限"):
        run(path, world["330782"])
    csv_path = write_csv(tmp_path / "wide.csv", [wide, row()])
    with pytest.raises(FileRejected, match="超过10列的上限"):
        run(csv_path, world["330782"])
    _limits(settings, max_columns=60)
    assert run(path, world["330782"]).created == 1


def test_trailing_empty_columns_are_not_a_column_overflow(world, tmp_path, settings):
    _limits(settings, max_columns=10)
    padded = [[*r, *[""] * 60] for r in ([HEADER, row()])]
    assert run(write_csv(tmp_path / "padded.csv", padded), world["330782"]).created == 1


def test_blank_looking_optional_cells_do_not_reject_a_row(world, tmp_path):
    path = write_xlsx(
        tmp_path / "blanks.xlsx",
        [HEADER, ["张三", " ", "138 1234 5678", "", "　"], ["李四", ID2, "-", None, "  "]],
    )
    summary = run(path, world["330782"])
    assert (summary.created, summary.rejected) == (2, 0)


def test_open_sheets_reads_lazily_with_explicit_limits(tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", {"一": [HEADER, row()], "二": [["x"]]})
    limits = Limits(
        max_bytes=10**9,
        max_rows=100,
        max_columns=20,
        max_uncompressed_bytes=10**9,
        max_compression_ratio=1000,
    )
    sheets = open_sheets(path, limits)
    assert [s.name for s in sheets] == ["一", "二"]
    assert next(iter(sheets[0].rows))[:3] == ["姓名", "身份证号", "手机号"]


# --- cells as Excel stores them ----------------------------------------------------------------


def test_cells_as_excel_types_them(world, tmp_path):
    path = write_xlsx(
        tmp_path / "types.xlsx",
        [
            HEADER,
            ["数字号", float(ID1), 13812345678, "男", None],
            ["科学计数", "3.30782E+17", "13812345678"],
            ["旧证号", "330782990305123", "13812345678"],
            ["日期格", ID2, 13900001111, None, datetime(2001, 11, 20, 9, 0)],
            ["序列号", ID3, 13700001111.0, None, 34881],
            ["文本日期", make_id(born=date(2000, 2, 29), seq=9), "137 0000 2222", None, "2000年2月29日"],
        ],
    )
    report = tmp_path / "report.xlsx"
    summary = run(path, world["330782"], report_path=report)
    assert (summary.total, summary.created, summary.rejected) == (6, 3, 3)
    rejected = {r["cells"][0]: r for r in report_rows(report)}
    assert "身份证号以数字保存，已丢失末尾数位" in rejected["数字号"]["reason"]
    assert "身份证号为科学计数法" in rejected["科学计数"]["reason"]
    assert "旧版15位" in rejected["旧证号"]["reason"]
    assert by_id(ID2).birth_date == date(2001, 11, 20)
    assert by_id(ID3).birth_date == date(1995, 7, 1)
    assert date(1899, 12, 30).toordinal() + 34881 == date(1995, 7, 1).toordinal()
    assert by_id(ID3).reveal_phone() == "13700001111"


# --- validation rules --------------------------------------------------------------------------


def test_every_rejection_reason_goes_to_the_report(world, tmp_path):
    other = make_id("330782", date(1992, 6, 6), 7, male=True)
    path = write_xlsx(
        tmp_path / "bad.xlsx",
        {
            "名单": [
                Title("花名册"),
                [*HEADER, "所属单位", "是否骨干"],
                row("张三", ID1, gender="男", born="1999.3.5", category="外卖骑手"),  # valid (row 3)
                row("", ID2),  # 4
                row("李四", ID2, gender="男"),  # 5
                row("王五", ID3, born="1995-07-02"),  # 6
                row("赵六", ID3[:-1] + ("0" if ID3[-1] != "0" else "1"), phone="12345"),  # 7
                row("钱七", "", phone=""),  # 8
                row("孙八", "", phone="13700001111", born="2999-01-01"),  # 9
                row("周九", other, category="宇航员"),  # 10
                [*row("吴十", make_id(seq=11)), "不存在的村"],  # 11
                [*row("郑一", make_id(seq=12)), "吴宁街道"],  # 12: another county's unit
                [*row("冯二", make_id(seq=13)), "", "也许"],  # 13
                row("陈三", make_id(seq=14), political="党员干部", gender="未知"),  # 14
                row("褚四", make_id(seq=15), employer="很" * 101),  # 15
                row("卫五", make_id(seq=16), born="1999年13月"),  # 16
                row("蒋六", make_id(seq=17), born="1999.4"),  # 17: month-only, wrong month
                row("沈七", make_id(seq=18), born="1999.3"),  # 18: month-only, right month
            ]
        },
    )
    report = tmp_path / "report.xlsx"
    summary = run(path, world["330782"], report_path=report)
    assert summary.total == 16
    assert summary.created == 2
    assert summary.rejected == 14
    reasons = {r["row"]: r["reason"] for r in report_rows(report)}
    assert set(reasons) == set(range(4, 18))
    assert reasons[4] == "【姓名】不能为空"
    assert reasons[5] == "【性别】与身份证号中的性别不一致"
    assert reasons[6] == "【出生日期】与身份证号中的出生日期（1995-07-01）不一致"
    assert "【身份证号】身份证号校验位错误" in reasons[7]
    assert "【手机号】手机号应为以1开头的11位数字，实为“12345”" in reasons[7]
    assert reasons[8] == "【身份证号】身份证号和手机号至少填写一项"
    assert reasons[9] == "【出生日期】日期不合理"
    assert reasons[10].startswith("【群体类别】“宇航员”不在类别表中")
    assert reasons[11] == "【所属单位】在义乌市下找不到“不存在的村”"
    assert reasons[12] == "【所属单位】在义乌市下找不到“吴宁街道”"
    assert reasons[13] == "【是否骨干】应填“是”或“否”，实为“也许”"
    assert "【政治面貌】政治面貌“党员干部”不在可选范围内" in reasons[14]
    assert "【性别】性别“未知”不在可选范围内" in reasons[14]
    assert reasons[15] == "【工作单位】超过100个字符"
    assert reasons[16].startswith("【出生日期】日期“1999年13月”无法识别")
    assert reasons[17] == f"【出生日期】与身份证号中的出生日期（{make_id(seq=17)[6:10]}-03-05）不一致"
    assert by_id(ID1).category.name == "外卖骑手"
    assert by_id(make_id(seq=18)).birth_date == date(1999, 3, 5)


def test_sub_unit_by_code_name_and_ambiguous_name(world, tmp_path):
    hierarchy.create_unit(parent=OrgUnit.objects.get(code="330782002"), name="华新社区")
    path = write_xlsx(
        tmp_path / "units.xlsx",
        [
            ["姓名", "身份证号", "所属单位"],
            ["张三", ID1, "330782001001"],
            ["李四", ID2, "华新社区"],
            ["王五", ID3, "江东街道"],
            ["赵六", make_id(seq=20), 330782001.0],
        ],
    )
    report = tmp_path / "r.xlsx"
    summary = run(path, world["330782"], report_path=report)
    assert (summary.created, summary.rejected) == (3, 1)
    assert by_id(ID1).unit.code == "330782001001"
    assert by_id(ID3).unit.code == "330782002"
    assert by_id(make_id(seq=20)).unit.code == "330782001"
    assert report_rows(report)[0]["reason"] == "【所属单位】“华新社区”有重名，请填写单位编码"


def test_duplicates_within_the_file(world, tmp_path):
    path = write_xlsx(
        tmp_path / "dups.xlsx",
        {
            "一": [
                HEADER,
                row("张三", ID1),
                row("张三", ID1.lower()[:6] + " " + ID1[6:]),
                row("无证", "", phone="13700001111"),
                row("无证", "", phone="137-0000-1111"),
                row("另一人", "", phone="13700001111"),
            ],
            "二": [HEADER, row("张三", ID1)],
        },
    )
    report = tmp_path / "r.xlsx"
    summary = run(path, world["330782"], report_path=report)
    assert summary.as_dict() == {
        "total": 6,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 3,
        "duplicates_in_file": 3,
    }
    reasons = [(r["sheet"], r["row"], r["reason"]) for r in report_rows(report)]
    assert reasons == [
        ("一", 3, "与“一”第2行重复"),
        ("一", 5, "与“一”第4行重复"),
        ("二", 2, "与“一”第2行重复"),
    ]


def test_bad_rows_never_cost_valid_ones(world, tmp_path):
    ids = _many_rows(9)
    person(world["330783"], "外县人", ID_DONGYANG)
    rows = [HEADER]
    for i, number in enumerate(ids):
        rows.append(row(f"青年{chr(0x4E00 + i)}", number, phone=""))
        rows.append(row(f"坏行{chr(0x4E00 + i)}", number[:10], phone=""))
    rows.insert(5, row("外县人", ID_DONGYANG, phone=""))
    path = write_xlsx(tmp_path / "mixed.xlsx", rows)
    importer = Importer(spec_for("roster", world["330782"]), batch_size=2, report_path=tmp_path / "r.xlsx")
    summary = importer.run(path)
    assert_invariant(summary.as_dict())
    assert summary.total == 19
    assert summary.created == 9
    assert summary.rejected == 10
    assert Person.objects.filter(unit=world["330782"]).count() == 9
    rejected = report_rows(tmp_path / "r.xlsx")
    assert len(rejected) == 10
    assert sum(r["reason"] == "【身份证号】该人员已由其他单位登记，不能重复登记" for r in rejected) == 1
    assert sum(r["reason"] == "【身份证号】身份证号应为18位，实为10位" for r in rejected) == 9


# --- against the database ----------------------------------------------------------------------


def test_person_registered_by_another_county_is_rejected(world, tmp_path):
    person(world["330783"], "外县人", ID_DONGYANG, "13600001111")
    path = write_xlsx(tmp_path / "r.xlsx", [HEADER, row("外县人", ID_DONGYANG, "13600001111"), row()])
    report = tmp_path / "report.xlsx"
    for update in (False, True):
        summary = run(path, world["330782"], report_path=report, update_existing=update)
        assert summary.rejected == 1
        rejected = report_rows(report)
        assert rejected[0]["reason"] == "【身份证号】该人员已由其他单位登记，不能重复登记"
        assert rejected[0]["row"] == 2
    assert by_id(ID_DONGYANG).unit == world["330783"]


def test_existing_person_unchanged_without_update_flag(world, tmp_path):
    existing = person(world["330782001"], "张三", ID1, "", employer="")
    path = write_xlsx(tmp_path / "r.xlsx", [HEADER, row("张三", ID1, employer="美团", political="团员")])
    summary = run(path, world["330782"])
    assert summary.as_dict()["unchanged"] == 1 and summary.created == 0
    existing.refresh_from_db()
    assert existing.employer == "" and existing.phone_enc is None
    assert existing.unit == world["330782001"]


def test_update_existing_fills_empty_fields_and_reports_conflicts(world, tmp_path):
    category = Category.objects.get(name="快递员")
    existing = person(
        world["330782001"],
        "张三",
        ID1,
        "",
        employer="甲公司",
        notes="旧备注",
        category=category,
        gender="M",
        birth_date=date(1999, 3, 5),
    )
    by_phone = person(world["330782"], "李四", "", "13900001111")
    path = write_xlsx(
        tmp_path / "update.xlsx",
        [
            Title("更新"),
            HEADER,
            row(
                "张三",
                ID1,
                phone="13812345678",
                political="团员",
                category="外卖骑手",
                employer="乙公司",
                notes="新备注",
            ),
            row("李四", "", phone="139 0000 1111", gender="女", born="2001-11-20", employer="丙公司"),
            row("王五", ID3),
        ],
    )
    report = tmp_path / "report.xlsx"
    counts, _out, err = cli(path, unit="330782", report=report, update_existing=True)
    assert counts == {
        "total": 3,
        "created": 1,
        "updated": 2,
        "unchanged": 0,
        "rejected": 0,
        "duplicates_in_file": 0,
    }
    assert "3 differences kept in the database's favour" in err
    existing.refresh_from_db()
    assert existing.reveal_phone() == "13812345678"
    assert existing.phone_masked == "138****5678" and existing.phone_last4 == "5678"
    assert existing.political_status == PoliticalStatus.LEAGUE
    assert existing.employer == "甲公司"
    assert existing.notes == "旧备注"
    assert existing.category == category
    by_phone.refresh_from_db()
    assert (by_phone.gender, by_phone.birth_date, by_phone.employer) == ("F", date(2001, 11, 20), "丙公司")
    workbook = read_workbook(report)
    assert list(workbook) == ["未导入的行", "与系统不一致"]
    assert workbook["与系统不一致"][0] == ["工作表", "行号", "说明"]
    conflicts = sorted((r[0], int(r[1]), r[2]) for r in workbook["与系统不一致"][1:])
    assert conflicts == sorted(
        [
            ("Sheet1", 3, "【工作单位】系统中为“甲公司”，文件中为“乙公司”，保留系统中的值"),
            ("Sheet1", 3, "【备注】系统中为“旧备注”，文件中为“新备注”，保留系统中的值"),
            ("Sheet1", 3, "【群体类别】系统中为“快递员”，文件中为“外卖骑手”，保留系统中的值"),
        ]
    )
    again, _out, _err = cli(path, unit="330782", update_existing=True)
    assert again["unchanged"] == 3 and again["updated"] == 0


def test_dry_run_writes_nothing_but_counts(world, tmp_path):
    person(world["330782"], "张三", ID1)
    path = write_xlsx(tmp_path / "dry.xlsx", [HEADER, row("张三", ID1), row("李四", ID2), row("坏", "123")])
    before = Person.objects.count()
    report = tmp_path / "report.xlsx"
    counts, _out, _err = cli(path, unit="330782", dry_run=True, report=report)
    assert counts == {
        "total": 3,
        "created": 1,
        "updated": 0,
        "unchanged": 1,
        "rejected": 1,
        "duplicates_in_file": 0,
    }
    assert Person.objects.count() == before
    assert len(report_rows(report)) == 1
    counts_update, _out, _err = cli(path, unit="330782", dry_run=True, update_existing=True)
    assert counts_update["total"] == 3
    assert Person.objects.count() == before
    real, _out, _err = cli(path, unit="330782")
    assert real == counts
    assert Person.objects.count() == before + 1


# --- the command line --------------------------------------------------------------------------


def test_cli_prints_the_json_summary_last(world, tmp_path):
    path = write_xlsx(
        tmp_path / "cli.xlsx",
        {
            "说明": [["这是说明页"]],
            "名单": [Title("名单"), HEADER, row("张三", ID1), row("张三", ID1), row("李四", "x")],
        },
    )
    counts, out, err = cli(path, unit="330782")
    assert_invariant(counts)
    assert counts == {
        "total": 3,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "rejected": 2,
        "duplicates_in_file": 1,
    }
    assert json.loads(out.strip().splitlines()[-1]) == counts
    assert "工作表“说明”未找到表头，已跳过" in err
    event = AuditEvent.objects.filter(action="import").latest("pk")
    assert event.unit == world["330782"]
    assert event.details["file"] == "cli.xlsx" and event.details["created"] == 1
    assert event.details["dry_run"] is False


def test_cli_errors(world, tmp_path):
    path = write_xlsx(tmp_path / "x.xlsx", [HEADER, row()])
    with pytest.raises(CommandError, match="No unit with code 999"):
        cli(path, unit="999")
    png = tmp_path / "photo.xlsx"
    png.write_bytes(PNG_BYTES)
    with pytest.raises(CommandError, match="文件内容不是Excel表格"):
        cli(png, unit="330782")
    bomb = write_zip_bomb(tmp_path / "bomb.xlsx", megabytes=32)
    with pytest.raises(CommandError, match="压缩炸弹"):
        cli(bomb, unit="330782")


def test_error_report_keeps_original_cells(world, tmp_path):
    path = write_xlsx(
        tmp_path / "report.xlsx",
        {
            "甲": [
                Title("花名册"),
                ["填报：某社区"],
                HEADER,
                [
                    "张三",
                    float(ID1),
                    "+86 138-1234-567",
                    "男",
                    "1999.13.5",
                    "团员",
                    "",
                    '=HYPERLINK("x")',
                    "备",
                ],
                row("李四", ID2),
            ],
            "乙": [HEADER, None, ["王五", "3.30782E+17", "", "", 36224]],
        },
    )
    report = tmp_path / "errors.xlsx"
    summary = run(path, world["330782"], report_path=report)
    assert (summary.total, summary.created, summary.rejected) == (3, 1, 2)
    sheet = read_workbook(report)["未导入的行"]
    assert sheet[0][:4] == ["工作表", "行号", "错误原因", "原第1列"]
    assert len(sheet[0]) >= 3 + len(HEADER)
    first, second = report_rows(report)
    assert first["sheet"] == "甲" and first["row"] == 4
    assert first["reason"].split("；") == [
        "【身份证号】身份证号以数字保存，已丢失末尾数位（请将该列设为文本后重新填写）",
        "【手机号】手机号应为以1开头的11位数字，实为“+86 138-1234-567”",
        "【出生日期】日期“1999.13.5”无法识别（示例：1999-03-05、1999.3.5、1999年3月5日）",
    ]
    assert first["cells"][0] == "张三"
    assert len(first["cells"][1]) == 18 and first["cells"][1].startswith("3307821999030")  # as Excel kept it
    assert first["cells"][2] == "'+86 138-1234-567"  # neutralized: a leading + is a formula to Excel
    assert first["cells"][7] == '\'=HYPERLINK("x")'  # written back neutralized, never as a formula
    assert first["cells"][8] == "备"
    assert second["sheet"] == "乙" and second["row"] == 3
    assert second["cells"][:2] == ["王五", "3.30782E+17"]
    assert second["cells"][4] == "36224"


def test_report_when_nothing_is_rejected(world, tmp_path):
    path = write_xlsx(tmp_path / "ok.xlsx", [HEADER, row()])
    report = tmp_path / "report.xlsx"
    run(path, world["330782"], report_path=report)
    assert read_workbook(report) == {
        "未导入的行": [["工作表", "行号", "错误原因"], ["", "", "全部行均已导入，没有错误。"]]
    }


def test_roster_spec_uses_injected_today(world):
    spec = RosterSpec(world["330782"], today=date(2000, 1, 1))
    from tuanju.imports.engine import Row

    r = Row("s", 2, [], values={"name": "张三", "phone": "13812345678", "birth_date": date(2000, 6, 1)})
    spec.check(r)
    assert r.errors == ["【出生日期】日期不合理"]
