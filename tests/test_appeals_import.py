"""The 12345 hotline import: columns as exported, de-duplication by work-order number, routing, report."""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime

import pytest
import xlsxwriter
from django.core.management import call_command
from python_calamine import CalamineWorkbook

from tuanju.appeals.importing import a_datetime, contact_phone
from tuanju.appeals.models import Appeal, EventKind, Source, Status
from tuanju.appeals.workdays import add_workdays
from tuanju.audit.models import AuditEvent
from tuanju.imports import normalize

pytest_plugins = ["test_appeals_fixtures"]


def unit(code: str):
    from tuanju.hierarchy.models import OrgUnit

    return OrgUnit.objects.get(code=code)


HEADER = [
    "序号",
    "工单编号",
    "来电时间",
    "来电人",
    "联系电话",
    "所属区域",
    "诉求类别",
    "诉求内容",
    "承办单位",
    "是否保密",
]
ROWS = [
    [
        1,
        "GD202611010001",
        "2026-11-02 09:15:22",
        "王强",
        "13800005555",
        "义乌市稠城街道",
        "劳动和社会保障-工资福利-拖欠工资",
        "外卖站点拖欠两个月工资，要求支付",
        "义乌市人力资源和社会保障局",
        "否",
    ],
    [
        2,
        "GD202611010002",
        datetime(2026, 11, 3, 14, 5),
        "李娜",
        "0579-85123456",
        "江东街道",
        "心理咨询",
        "长期熬夜送单，情绪低落，希望有心理疏导",
        "",
        "是",
    ],
    [
        3,
        "GD202611010003",
        "2026/11/4 8:30",
        "赵敏",
        "+86 139 0000 6666",
        "稠城街道华新社区",
        "婚恋交友",
        "希望团组织多组织青年联谊活动",
        "",
        "",
    ],
    [
        4,
        "GD202611010001",
        "2026-11-02 09:15:22",
        "王强",
        "13800005555",
        "义乌市稠城街道",
        "拖欠工资",
        "重复的工单",
        "",
        "",
    ],  # duplicate in file
    [
        5,
        "GD202611010005",
        "2026-11-05 10:00",
        "孙悦",
        "12345",
        "义乌市",
        "住房",
        "人才公寓申请进度咨询",
        "",
        "",
    ],  # bad phone
    [
        6,
        "GD202611010006",
        "2026-11-06 11:00",
        "周杰",
        "13800007777",
        "义乌市",
        "其它类",
        "",
        "",
        "",
    ],  # empty content
    [
        7,
        "GD202611010007",
        "2026-11-06 12:00",
        "吴婷",
        "13800008888",
        "义乌市",
        "建议",
        "建议在物流园设置骑手休息点",
        "不存在的局",
        "否",
    ],
]


def write_xlsx(path, rows=ROWS, *, title=True):
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    sheet = workbook.add_worksheet("工单明细")
    start = 0
    if title:
        sheet.merge_range(0, 0, 0, len(HEADER) - 1, "12345市民服务热线工单导出（2026年11月）")
        start = 1
    sheet.write_row(start, 0, HEADER)
    for i, row in enumerate(rows, start=start + 1):
        for j, value in enumerate(row):
            if isinstance(value, datetime):
                sheet.write_datetime(i, j, value, workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
            else:
                sheet.write(i, j, value)
    workbook.close()
    return path


@pytest.mark.django_db
class TestHotlineImport:
    def test_import_routes_dedups_and_reports(self, world, staff, appeal_depts, tmp_path):
        from tuanju.imports.actions import run_file

        report = tmp_path / "report.xlsx"
        summary = run_file(
            "hotline", write_xlsx(tmp_path / "12345.xlsx"), world["330782"], report_path=report
        )
        assert summary.as_dict() == {
            "total": 7,
            "created": 4,
            "updated": 0,
            "unchanged": 0,
            "rejected": 3,
            "duplicates_in_file": 1,
        }
        assert summary.conflicts == 1  # the unknown department
        first = Appeal.objects.get(hotline_number="GD202611010001")
        assert first.source == Source.HOTLINE and first.unit == world["330782001"]
        assert first.category.name == "权益保障" and first.hotline_category.startswith("劳动和社会保障")
        assert first.department == appeal_depts["yiwu_hr"] and first.status == Status.ASSIGNED
        assert first.due_date == add_workdays(date(2026, 11, 2), 5)
        assert first.phone_masked == "138****5555" and first.reveal_phone() == "13800005555"
        assert list(first.events.values_list("kind", flat=True)) == [EventKind.RECEIVED, EventKind.ASSIGNED]
        second = Appeal.objects.get(hotline_number="GD202611010002")
        assert second.unit == unit("330782002") and second.category.name == "心理健康"
        assert second.is_anonymous and second.status == Status.RECEIVED
        assert second.reveal_phone() == "0579-85123456"
        assert Appeal.objects.get(hotline_number="GD202611010003").unit == world["330782001001"]
        seventh = Appeal.objects.get(hotline_number="GD202611010007")
        assert seventh.category.name == "其他" and seventh.status == Status.RECEIVED
        book = CalamineWorkbook.from_path(str(report))
        rejected = book.get_sheet_by_name("未导入的行").to_python()
        reasons = {row[1]: row[2] for row in rejected[1:]}
        assert "重复" in reasons[6]
        assert "联系电话" in reasons[7]
        assert "诉求内容" in reasons[8]
        notes = book.get_sheet_by_name("与系统不一致").to_python()
        assert any("不存在的局" in row[2] for row in notes[1:])
        assert AuditEvent.objects.filter(action="import", details__kind="hotline").count() == 1

    def test_reimporting_the_same_export_creates_nothing(self, world, staff, appeal_depts, tmp_path):
        from tuanju.imports.actions import run_file

        path = write_xlsx(tmp_path / "12345.xlsx")
        run_file("hotline", path, world["330782"])
        again = run_file("hotline", path, world["330782"])
        assert again.created == 0 and again.unchanged == 4
        assert Appeal.objects.count() == 4

    def test_dry_run_writes_nothing(self, world, staff, appeal_depts, tmp_path):
        from tuanju.imports.actions import run_file

        summary = run_file("hotline", write_xlsx(tmp_path / "12345.xlsx"), world["330782"], dry_run=True)
        assert summary.created == 4 and Appeal.objects.count() == 0

    def test_without_a_unit_the_area_must_name_one(self, world, staff, appeal_depts, tmp_path):
        from tuanju.imports.actions import run_file

        rows = [
            [
                1,
                "A1",
                "2026-11-02 09:00",
                "甲",
                "13800000001",
                "义乌市稠城街道",
                "就业",
                "想找一份稳定的工作",
                "",
                "",
            ],
            [
                2,
                "A2",
                "2026-11-02 09:00",
                "乙",
                "13800000002",
                "东阳市吴宁街道",
                "就业",
                "想参加技能培训",
                "",
                "",
            ],
            [3, "A3", "2026-11-02 09:00", "丙", "13800000003", "火星", "就业", "想参加技能培训", "", ""],
        ]
        summary = run_file("hotline", write_xlsx(tmp_path / "x.xlsx", rows), None)
        assert summary.created == 2 and summary.rejected == 1
        assert Appeal.objects.get(hotline_number="A1").unit == world["330782001"]
        assert Appeal.objects.get(hotline_number="A2").unit == world["330783001"]

    def test_csv_in_gbk(self, world, staff, tmp_path):
        from tuanju.imports.actions import run_file

        lines = [
            "工单编号,来电时间,诉求内容,诉求类别,来电人,联系电话,所属区域",
            "C1,2026-11-02 09:00,希望提供法律援助,法律咨询,钱七,13800000009,江东街道",
        ]
        path = tmp_path / "12345.csv"
        path.write_bytes("\n".join(lines).encode("gb18030"))
        summary = run_file("hotline", path, world["330782"])
        assert summary.created == 1
        appeal = Appeal.objects.get(hotline_number="C1")
        assert appeal.category.name == "权益保障" and appeal.unit == unit("330782002")

    def test_command_prints_the_summary_line(self, world, staff, appeal_depts, tmp_path, capsys):
        path = write_xlsx(tmp_path / "12345.xlsx")
        report = tmp_path / "r.xlsx"
        call_command("import-appeals", str(path), "--unit", "330782", "--report", str(report))
        out = capsys.readouterr().out.strip().splitlines()[-1]
        assert json.loads(out) == {
            "total": 7,
            "created": 4,
            "updated": 0,
            "unchanged": 0,
            "rejected": 3,
            "duplicates_in_file": 1,
        }
        assert report.exists()
        call_command("import-appeals", str(path), "--unit", "330782")
        again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert again["created"] == 0 and again["unchanged"] == 4

    def test_console_script(self, tuanju_bin, subprocess_env, tmp_path):
        path = write_xlsx(tmp_path / "12345.xlsx")
        subprocess.run([tuanju_bin, "migrate", "-v0"], env=subprocess_env, check=True, timeout=300)
        result = subprocess.run(
            [tuanju_bin, "import-appeals", str(path), "--dry-run"],
            env=subprocess_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        # no units in that fresh database: every area is unknown and the file is checked only
        assert summary["total"] == 7 and summary["created"] == 0 and summary["rejected"] == 7


class TestParsers:
    def test_datetimes(self):
        assert a_datetime("2026-11-02 09:15:22").hour == 9
        assert a_datetime("2026年11月2日 9时15分").minute == 15
        assert a_datetime("2026/11/2").day == 2
        assert a_datetime(46000.5).hour == 12
        with pytest.raises(normalize.CellError):
            a_datetime("昨天下午")

    def test_phones(self):
        assert contact_phone("+86 138-0000-1111") == "13800001111"
        assert contact_phone("0579-85123456") == "0579-85123456"
        with pytest.raises(normalize.CellError):
            contact_phone("12345")
