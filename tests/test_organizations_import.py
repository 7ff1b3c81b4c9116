"""Organization import (shared engine: `tuanju import-orgs`, UI jobs) and export round trip."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from python_calamine import CalamineWorkbook
from test_organizations_fixtures import CODE_A, CODE_B, CODE_DONG, unit

from tuanju.audit.models import AuditEvent
from tuanju.imports.actions import run_file
from tuanju.imports.models import ImportJob
from tuanju.organizations import uscc
from tuanju.organizations.exporting import export_organizations
from tuanju.organizations.models import Organization, RegistrationStatus

pytest_plugins = ["test_organizations_fixtures"]
pytestmark = pytest.mark.usefixtures("no_activities")

HEADER = [
    "序号",
    "社会组织名称",
    "类别",
    "所属单位",
    "登记情况",
    "统一社会信用代码",
    "成立时间",
    "活动阵地",
    "联系人",
    "联系方式",
    "负责人",
    "负责人手机号",
    "标签",
    "是否孵化基地",
    "云入驻",
]


def write_xlsx(path: Path, rows: list[list], *, title: str | None = "义乌市青年社会组织统计表") -> Path:
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    sheet = workbook.add_worksheet("组织")
    r = 0
    if title:
        sheet.merge_range(0, 0, 0, len(HEADER) - 1, title)
        r = 1
    for row in [HEADER, *rows]:
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, int | float):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, str(value))
        r += 1
    workbook.close()
    return path


def row(
    n,
    name,
    kind="志愿服务",
    unit_code="",
    status="",
    code="",
    founded="2020-05-04",
    venue="",
    contact="",
    phone="",
    leader="",
    leader_phone="",
    tags="",
    incubation="",
    cloud="",
):
    return [
        n,
        name,
        kind,
        unit_code,
        status,
        code,
        founded,
        venue,
        contact,
        phone,
        leader,
        leader_phone,
        tags,
        incubation,
        cloud,
    ]


def run_cli(path, *args) -> dict:
    out = io.StringIO()
    call_command("import-orgs", str(path), *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_import_with_messy_headers_and_rules(world, org_people, tmp_path):
    new_code = uscc.make("52", "330782", "MJ777777")
    bad_code = CODE_B[:17] + ("0" if CODE_B[17] != "0" else "1")
    path = write_xlsx(
        tmp_path / "orgs.xlsx",
        [
            row(
                1,
                "稠城青年志愿服务队",
                "志愿服务类",
                "330782001",
                "民政登记",
                CODE_A.lower(),
                "2019.5.4",
                "稠城青年之家",
                "张伟",
                "+86 138 0000 0001",
                "张伟",
                "13800000001",
                "应急、社区",
                "是",
                "否",
            ),
            row(2, "江东青创联盟", "创业就业", "江东街道", "", new_code, "2021年3月"),
            row(3, "坏代码组织", "文艺体育", "", "民政登记", bad_code),
            row(4, "没登记代码", "文艺体育", "", "民政登记", ""),
            row(5, "无此类型", "炒股"),
            row(6, "负责人不存在", "电竞", leader="查无此人"),
            row(7, "稠城青年志愿服务队", "志愿服务", "330782001"),  # the same organization again
            row(8, "外县单位", "电竞", "330783001"),
            row(9, "", "电竞"),
        ],
    )
    summary = run_cli(path, "--unit", "330782", "--report", str(tmp_path / "report.xlsx"))
    assert summary == {
        "total": 9,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 7,
        "duplicates_in_file": 1,
    }
    good = Organization.objects.get(name="稠城青年志愿服务队")
    assert good.uscc == CODE_A and good.registration_status == RegistrationStatus.REGISTERED
    assert good.unit.code == "330782001" and good.founded_on == date(2019, 5, 4)
    assert good.org_type.name == "志愿服务" and good.leader == org_people["yiwu"][0]
    assert (
        good.contact_phone_masked == "138****0001" and good.is_incubation_base and not good.is_cloud_resident
    )
    assert sorted(good.tags.values_list("name", flat=True)) == ["应急", "社区"]
    assert good.name_pinyin == "ccqnzyfwd"
    second = Organization.objects.get(name="江东青创联盟")
    # a 5-code and no status given: taken as registered with civil affairs
    assert second.registration_status == RegistrationStatus.REGISTERED and second.founded_on == date(
        2021, 3, 1
    )
    assert second.unit.code == "330782002"
    report = CalamineWorkbook.from_path(str(tmp_path / "report.xlsx")).get_sheet_by_index(0).to_python()
    reasons = {r[1]: r[2] for r in report[1:]}
    assert reasons[5] == "【统一社会信用代码】统一社会信用代码校验位错误"
    assert reasons[6] == "【统一社会信用代码】民政登记的组织必须填写统一社会信用代码"
    assert reasons[7].startswith("【组织类型】“炒股”不在类型表中")
    assert "未在义乌市的花名册中登记" in reasons[8]
    assert reasons[9].startswith("与“组织”第3行重复")
    assert reasons[10] == "【所属单位】在义乌市下找不到“330783001”"
    assert reasons[11] == "【组织名称】不能为空"
    assert AuditEvent.objects.filter(action="import", details__kind="organizations").count() == 1


def test_reimport_is_unchanged_and_update_fills_empty_fields(world, org_people, tmp_path):
    first = write_xlsx(tmp_path / "a.xlsx", [row(1, "江东电竞社", "电竞", "330782002")])
    assert run_cli(first, "--unit", "330782")["created"] == 1
    assert run_cli(first, "--unit", "330782")["unchanged"] == 1
    richer = write_xlsx(
        tmp_path / "b.xlsx",
        [
            row(
                1,
                "江东电竞社",
                "文艺体育",
                "330782002",
                "备案",
                "",
                "2022-01-01",
                "江东青年之家",
                "王芳",
                "13900001111",
                "王芳",
                "13800000002",
            )
        ],
    )
    summary = run_cli(richer, "--unit", "330782", "--update-existing", "--report", str(tmp_path / "r.xlsx"))
    assert summary["updated"] == 1
    org = Organization.objects.get(name="江东电竞社")
    assert org.venue == "江东青年之家" and org.registration_status == RegistrationStatus.FILED
    assert org.leader == org_people["yiwu"][1] and org.contact_phone_masked == "139****1111"
    assert org.org_type.name == "电竞"  # a different type is a conflict, the stored value is kept
    conflicts = (
        CalamineWorkbook.from_path(str(tmp_path / "r.xlsx")).get_sheet_by_name("与系统不一致").to_python()
    )
    assert any("【组织类型】系统中为“电竞”，文件中为“文艺体育”" in line[2] for line in conflicts[1:])


def test_dry_run_writes_nothing(world, tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", [row(1, "甲社", "电竞"), row(2, "乙社", "电竞")], title=None)
    assert run_cli(path, "--unit", "330782", "--dry-run")["created"] == 2
    assert not Organization.objects.exists()


def test_organization_of_another_county_cannot_be_taken_over(sample_orgs, tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", [row(1, "冒名组织", "志愿服务", "", "民政登记", CODE_DONG)])
    summary = run_cli(path, "--unit", "330782", "--report", str(tmp_path / "r.xlsx"))
    assert summary["rejected"] == 1 and summary["created"] == 0
    report = CalamineWorkbook.from_path(str(tmp_path / "r.xlsx")).get_sheet_by_index(0).to_python()
    assert report[1][2] == "【统一社会信用代码】该组织已由其他单位登记，不能重复登记"


def test_cli_errors(world, tmp_path):
    with pytest.raises(CommandError, match="No unit"):
        call_command("import-orgs", str(tmp_path / "x.xlsx"), "--unit", "999")
    (tmp_path / "empty.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(CommandError, match="没有找到表头"):
        call_command("import-orgs", str(tmp_path / "empty.csv"), "--unit", "330782")


def test_csv_in_gbk(world, tmp_path):
    path = tmp_path / "orgs.csv"
    path.write_bytes("组织名称,组织类型,活动场所\n佛堂青年志愿队,志愿服务,佛堂镇\n".encode("gb18030"))
    summary = run_file("organizations", path, unit("330782"))
    assert summary.created == 1
    assert Organization.objects.get().venue == "佛堂镇"


def test_export_round_trip(sample_orgs, tmp_path, world):
    target = tmp_path / "export.xlsx"

    class Operator:
        is_authenticated = False
        can_unmask = False

    count = export_organizations(
        Organization.objects.in_subtree(world["330782"]), str(target), actor=Operator()
    )
    assert count == 3
    summary = run_file("organizations", target, world["330782"])
    assert summary.total == 3 and summary.unchanged == 3 and summary.rejected == 0


def test_export_command(sample_orgs, tmp_path, world):
    out = io.StringIO()
    call_command(
        "export-orgs", "--unit", "330782", "-o", str(tmp_path / "o.xlsx"), "--four-have", "fail", stdout=out
    )
    assert "exported 2 rows" in out.getvalue()
    with pytest.raises(CommandError, match="--unmask needs --as-user"):
        call_command("export-orgs", "--unit", "330782", "-o", str(tmp_path / "o.xlsx"), "--unmask")


@pytest.fixture
def immediate_huey():
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


def test_import_through_the_ui(staff, client_for, org_people, tmp_path, settings, immediate_huey):
    settings.TUANJU = {**settings.TUANJU, "IMPORT_DIR": tmp_path / "imports"}
    path = write_xlsx(tmp_path / "ui.xlsx", [row(1, "UI导入组织", "电竞"), row(2, "坏行", "炒股")])
    client = client_for(staff["yiwu_cadre"])
    upload = SimpleUploadedFile("组织.xlsx", path.read_bytes())
    response = client.post(reverse("organizations:import"), {"file": upload, "unit": "330782"})
    job = ImportJob.objects.get(kind="organizations")
    assert response.status_code == 302 and response["Location"] == reverse(
        "organizations:import-job", args=[job.pk]
    )
    assert (
        job.status == ImportJob.Status.DONE and job.summary["created"] == 1 and job.summary["rejected"] == 1
    )
    page = client.get(reverse("organizations:import-job", args=[job.pk]))
    assert page.status_code == 200 and page.context["can_download"]
    report = client.get(reverse("organizations:import-report", args=[job.pk]))
    assert report.status_code == 200
    # Another county neither sees the job nor its report; a viewer cannot upload.
    other = client_for(staff["dongyang_cadre"])
    assert other.get(reverse("organizations:import-job", args=[job.pk])).status_code == 404
    assert other.get(reverse("organizations:import-report", args=[job.pk])).status_code == 404
    assert client_for(staff["yiwu_viewer"]).get(reverse("organizations:import")).status_code == 403


def test_ui_import_into_a_unit_outside_scope_is_refused(staff, client_for, tmp_path, world):
    path = write_xlsx(tmp_path / "ui.xlsx", [row(1, "越权", "电竞")])
    response = client_for(staff["dongyang_cadre"]).post(
        reverse("organizations:import"),
        {"file": SimpleUploadedFile("a.xlsx", path.read_bytes()), "unit": "330782"},
    )
    assert response.status_code == 200
    assert "330782" in response.context["form"].errors["unit"][0]
    assert not ImportJob.objects.exists()


def test_template_download(staff, client_for, world, tmp_path):
    response = client_for(staff["yiwu_cadre"]).get(reverse("organizations:import-template"))
    data = b"".join(response.streaming_content)
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    header = workbook.get_sheet_by_name("青年社会组织").to_python()[0]
    assert header[:2] == ["组织名称*", "组织类型*"]
    # The template's own header is recognised by the import (an empty template imports nothing).
    path = tmp_path / "template.xlsx"
    path.write_bytes(data)
    summary = run_file("organizations", path, world["330782"])
    assert summary.total == 0 and summary.sheets == ["青年社会组织"]
