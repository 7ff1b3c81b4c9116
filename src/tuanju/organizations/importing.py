"""The organization import (青年社会组织导入): the same engine and rules as the roster import.

Columns are matched by their usual Chinese headers (with synonyms); every cell goes through a
parser that explains a refusal in Chinese; a row whose 统一社会信用代码 or name (within the
unit) is already registered is left alone, or, with ``update_existing``, has its empty fields
filled in (differences are reported, the stored value is kept).
"""

from __future__ import annotations

import re
from datetime import date

from django.db import transaction
from django.utils import timezone

from tuanju.core.crypto import cipher, mask_phone
from tuanju.core.text import pinyin_initials
from tuanju.hierarchy.models import OrgUnit
from tuanju.imports import normalize
from tuanju.imports.engine import Column, ImportSpec, Row, Summary
from tuanju.organizations import uscc
from tuanju.organizations.models import (
    REGISTRATION_LABELS,
    Organization,
    OrgTag,
    OrgType,
    RegistrationStatus,
)
from tuanju.people.models import Person

REGISTRATION_SYNONYMS = {
    "民政登记": RegistrationStatus.REGISTERED,
    "已登记": RegistrationStatus.REGISTERED,
    "登记": RegistrationStatus.REGISTERED,
    "已注册": RegistrationStatus.REGISTERED,
    "注册": RegistrationStatus.REGISTERED,
    "民政注册": RegistrationStatus.REGISTERED,
    "登记注册": RegistrationStatus.REGISTERED,
    "是": RegistrationStatus.REGISTERED,
    "备案": RegistrationStatus.FILED,
    "已备案": RegistrationStatus.FILED,
    "街道备案": RegistrationStatus.FILED,
    "社区备案": RegistrationStatus.FILED,
    "未登记": RegistrationStatus.UNREGISTERED,
    "未注册": RegistrationStatus.UNREGISTERED,
    "否": RegistrationStatus.UNREGISTERED,
    "无": RegistrationStatus.UNREGISTERED,
}
YES = {"是", "y", "yes", "1", "√", "✓", "true"}
NO = {"否", "n", "no", "0", "×", "false", ""}
TAG_SPLIT = re.compile(r"[,，、;；/|\s]+")


def registration(value) -> str:
    return normalize.choice(value, REGISTRATION_SYNONYMS, "登记状态")


def credit_code(value) -> str:
    code = uscc.normalize(normalize.text(value))
    if not code:
        return ""
    reasons = uscc.explain(code)
    if reasons:
        raise normalize.CellError(reasons)
    return code


def yes_no(value) -> bool:
    raw = normalize.compact(value).lower()
    if raw in YES:
        return True
    if raw in NO:
        return False
    raise normalize.CellError(f"应填“是”或“否”，实为“{raw}”")


def org_type(value) -> str:
    raw = normalize.compact(value)
    return raw[:-1] if raw.endswith("类") and len(raw) > 2 else raw


def tag_list(value) -> list[str]:
    tags = [t for t in TAG_SPLIT.split(normalize.text(value)) if t]
    too_long = [t for t in tags if len(t) > 30]
    if too_long:
        raise normalize.CellError(f"标签“{too_long[0]}”超过30个字符")
    return list(dict.fromkeys(tags))


def phone_or_masked(value) -> str:
    """A mobile number; a masked one (138****5678, as exported) counts as not given."""
    if "*" in normalize.text(value):
        return ""
    return normalize.phone(value)


def founded(value) -> date | None:
    return normalize.a_date(value)


COLUMNS = [
    Column(
        "name",
        "组织名称",
        ("名称", "社会组织名称", "青年社会组织名称", "团属青年社会组织名称", "组织全称", "社团名称"),
        normalize.text,
        required=True,
        max_length=100,
    ),
    Column("org_type", "组织类型", ("类型", "组织类别", "类别", "所属类型"), org_type, required=True),
    Column(
        "unit",
        "所属单位",
        ("所属村社", "所属团组织", "单位编码", "所属乡镇街道", "主管团组织"),
        normalize.compact,
    ),
    Column(
        "registration_status", "登记状态", ("登记情况", "注册情况", "是否登记", "登记注册情况"), registration
    ),
    Column("uscc", "统一社会信用代码", ("信用代码", "社会信用代码", "统一代码", "登记证号"), credit_code),
    Column("founded_on", "成立日期", ("成立时间", "成立年月"), founded),
    Column(
        "venue",
        "活动场所",
        ("场所", "活动阵地", "阵地", "办公地址", "地址", "活动地点"),
        normalize.text,
        max_length=200,
    ),
    Column("contact_name", "联系人", ("联络人",), normalize.compact, max_length=50),
    Column("contact_phone", "联系电话", ("联系人电话", "联系人手机", "联系方式"), phone_or_masked),
    Column(
        "leader",
        "负责人",
        ("负责人姓名", "会长", "法定代表人", "主要负责人"),
        normalize.compact,
        max_length=50,
    ),
    Column("leader_phone", "负责人手机号", ("负责人电话", "负责人联系电话"), phone_or_masked),
    Column("leader_resident_id", "负责人身份证号", ("负责人身份证号码",), normalize.resident_id),
    Column("tags", "标签", ("组织标签",), tag_list),
    Column("is_league_affiliated", "是否团属", ("团属",), yes_no),
    Column("is_incubation_base", "是否孵化基地", ("孵化基地",), yes_no),
    Column("is_cloud_resident", "是否云入驻", ("云入驻",), yes_no),
    Column(
        "introduction",
        "简介",
        ("组织简介", "主要业务", "业务范围", "服务内容"),
        normalize.text,
        max_length=2000,
    ),
    Column("charter", "章程", ("组织章程", "章程内容"), normalize.text, max_length=20000),
]
FIELD_LABELS = {c.key: c.label for c in COLUMNS} | {"org_type_id": "组织类型", "leader_id": "负责人"}
#: fields an update may fill in when empty in the database
FILLABLE = [
    "registration_status",
    "uscc",
    "founded_on",
    "venue",
    "contact_name",
    "leader_id",
    "introduction",
    "charter",
]
BOOL_FIELDS = ["is_league_affiliated", "is_incubation_base", "is_cloud_resident"]


class OrganizationSpec(ImportSpec):
    columns = COLUMNS

    def __init__(self, unit: OrgUnit, *, today: date | None = None):
        self.unit = unit
        self.today = today or timezone.localdate()
        self.cipher = cipher()
        self.types = {t.name: t.pk for t in OrgType.objects.filter(is_active=True)}
        self.type_names = dict(OrgType.objects.values_list("pk", "name"))
        self.units_by_code: dict[str, int] = {}
        self.units_by_name: dict[str, list[int]] = {}
        for pk, code, name in OrgUnit.objects.filter(path__startswith=unit.path).values_list(
            "pk", "code", "name"
        ):
            self.units_by_code[code] = pk
            self.units_by_name.setdefault(name, []).append(pk)
        self.people = Person.objects.filter(unit__path__startswith=unit.path)
        self._codes: dict[str, tuple[str, str]] = {}

    # --- validation ------------------------------------------------------------------
    def check(self, row: Row) -> None:
        v = row.values
        type_pk = self.types.get(v.get("org_type", ""))
        if type_pk is None:
            allowed = "、".join(self.types)
            row.errors.append(f"【组织类型】“{v.get('org_type')}”不在类型表中（可选：{allowed}）")
        v["org_type_id"] = type_pk
        code = v.get("uscc") or ""
        status = v.get("registration_status") or ""
        v["_given_registration_status"] = bool(status)
        if not status:
            status = (
                RegistrationStatus.REGISTERED
                if code[:1] == uscc.CIVIL_AFFAIRS
                else RegistrationStatus.UNREGISTERED
            )
        v["registration_status"] = status
        if status == RegistrationStatus.REGISTERED and not code:
            row.errors.append("【统一社会信用代码】民政登记的组织必须填写统一社会信用代码")
        elif status == RegistrationStatus.REGISTERED and code[0] != uscc.CIVIL_AFFAIRS:
            row.errors.append("【统一社会信用代码】民政登记的社会组织，统一社会信用代码第1位应为5（民政）")
        day = v.get("founded_on")
        if day and (day > self.today or day.year < 1900):
            row.errors.append("【成立日期】日期不合理")
        self._resolve_unit(row)
        self._resolve_leader(row)

    def _resolve_unit(self, row: Row) -> None:
        v = row.values
        text = v.get("unit")
        if not text:
            v["unit_id"] = self.unit.pk
            return
        pk = self.units_by_code.get(text)
        if pk is None:
            candidates = self.units_by_name.get(text, [])
            if len(candidates) == 1:
                pk = candidates[0]
            elif candidates:
                row.errors.append(f"【所属单位】“{text}”有重名，请填写单位编码")
            else:
                row.errors.append(f"【所属单位】在{self.unit.name}下找不到“{text}”")
        v["unit_id"] = pk

    def _resolve_leader(self, row: Row) -> None:
        v = row.values
        name, phone, number = v.get("leader"), v.get("leader_phone"), v.get("leader_resident_id")
        v["leader_id"] = None
        if not (name or phone or number):
            return
        if number:
            found = list(
                self.people.filter(resident_id_bidx=self.cipher.blind_index(number)).values_list("pk", "name")
            )
        elif phone:
            found = list(
                self.people.filter(phone_bidx=self.cipher.blind_index(phone)).values_list("pk", "name")
            )
            if name:
                found = [f for f in found if f[1] == name]
        else:
            found = list(self.people.filter(name=name).values_list("pk", "name")[:2])
        if not found:
            who = name or phone or "该负责人"
            row.errors.append(f"【负责人】“{who}”未在{self.unit.name}的花名册中登记（请先登记或导入花名册）")
        elif len(found) > 1:
            row.errors.append(f"【负责人】花名册中有多人名为“{name}”，请填写负责人手机号或身份证号")
        elif name and found[0][1] != name:
            row.errors.append(f"【负责人】证件号或手机号对应的是“{found[0][1]}”，与“{name}”不一致")
        else:
            v["leader_id"] = found[0][0]

    def dedup_key(self, row: Row) -> str | None:
        """Unit and name identify an organization in the file; a credit code may appear only once too."""
        v = row.values
        key = f"{v.get('unit_id')}|{v.get('name')}"
        code = v.get("uscc")
        if code:
            first = self._codes.setdefault(code, (key, f"“{row.sheet}”第{row.number}行"))
            if first[0] != key:
                row.errors.append(f"【统一社会信用代码】与{first[1]}的组织代码相同")
        return key

    # --- writing ---------------------------------------------------------------------
    def _existing(self, rows: list[Row]) -> tuple[dict, dict]:
        fields = ["pk", "unit_id", "unit__path", "name", "org_type_id", *FILLABLE]
        codes = [r.values["uscc"] for r in rows if r.values.get("uscc")]
        by_code = {rec["uscc"]: rec for rec in Organization.objects.filter(uscc__in=codes).values(*fields)}
        names = [r.values["name"] for r in rows]
        by_name = {
            (rec["unit_id"], rec["name"]): rec
            for rec in Organization.objects.filter(
                name__in=names, unit__path__startswith=self.unit.path
            ).values(*fields)
        }
        return by_code, by_name

    def persist(self, rows: list[Row], summary: Summary, *, dry_run: bool, update_existing: bool) -> None:
        by_code, by_name = self._existing(rows)
        creating: list[tuple[Row, Organization]] = []
        updates: list[tuple[int, dict]] = []
        for row in rows:
            v = row.values
            rec = by_code.get(v.get("uscc")) if v.get("uscc") else None
            if rec is None:
                rec = by_name.get((v["unit_id"], v["name"]))
                if rec is not None and v.get("uscc") and rec.get("uscc") and rec["uscc"] != v["uscc"]:
                    row.errors.append(
                        f"【统一社会信用代码】同名组织“{v['name']}”已登记的代码为{rec['uscc']}，与文件不一致"
                    )
                    continue
            if rec is None:
                creating.append((row, self._new(v)))
                continue
            if not rec["unit__path"].startswith(self.unit.path):
                row.errors.append("【统一社会信用代码】该组织已由其他单位登记，不能重复登记")
                continue
            if not update_existing:
                summary.unchanged += 1
                continue
            changes = self._fill_empty(rec, v, row)
            if changes:
                updates.append((rec["pk"], changes))
                summary.updated += 1
            else:
                summary.unchanged += 1
        if dry_run:
            summary.created += len(creating)
            return
        with transaction.atomic():
            created = Organization.objects.bulk_create([org for _row, org in creating])
            summary.created += len(created)
            self._write_tags(
                [
                    (org, row.values.get("tags") or [])
                    for (row, _o), org in zip(creating, created, strict=True)
                ]
            )
            now = timezone.now()
            for pk, changes in updates:
                Organization.objects.filter(pk=pk).update(updated_at=now, **changes)

    def _new(self, v: dict) -> Organization:
        phone = v.get("contact_phone") or ""
        c = self.cipher
        return Organization(
            unit_id=v["unit_id"],
            name=v["name"],
            name_pinyin=pinyin_initials(v["name"])[:100],
            org_type_id=v["org_type_id"],
            registration_status=v["registration_status"],
            uscc=v.get("uscc") or None,
            founded_on=v.get("founded_on"),
            venue=v.get("venue") or "",
            contact_name=v.get("contact_name") or "",
            contact_phone_enc=c.encrypt(phone),
            contact_phone_bidx=c.blind_index(phone),
            contact_phone_masked=mask_phone(phone),
            leader_id=v.get("leader_id"),
            introduction=v.get("introduction") or "",
            charter=v.get("charter") or "",
            is_league_affiliated=v.get("is_league_affiliated", True),
            is_incubation_base=bool(v.get("is_incubation_base")),
            is_cloud_resident=bool(v.get("is_cloud_resident")),
        )

    def _write_tags(self, pairs: list[tuple[Organization, list[str]]]) -> None:
        names = {name for _org, tags in pairs for name in tags}
        if not names:
            return
        known = {t.name: t.pk for t in OrgTag.objects.filter(name__in=names)}
        missing = [OrgTag(name=name) for name in sorted(names) if name not in known]
        OrgTag.objects.bulk_create(missing)
        known |= {t.name: t.pk for t in OrgTag.objects.filter(name__in=[t.name for t in missing])}
        through = Organization.tags.through
        through.objects.bulk_create(
            [through(organization_id=org.pk, orgtag_id=known[name]) for org, tags in pairs for name in tags]
        )

    def _fill_empty(self, rec: dict, v: dict, row: Row) -> dict:
        changes = {}
        for key in FILLABLE:
            new = v.get(key)
            if new in (None, ""):
                continue
            if key == "registration_status" and not row_has(row, "registration_status"):
                continue  # inferred, not given: never overrides
            old = rec.get(key)
            if old in (None, "") or (key == "registration_status" and old == RegistrationStatus.UNREGISTERED):
                if old != new:
                    changes[key] = new
            elif old != new:
                row.conflicts.append(
                    f"【{FIELD_LABELS.get(key, key)}】系统中为“{self._shown(key, old)}”，"
                    f"文件中为“{self._shown(key, new)}”，保留系统中的值"
                )
        if v.get("contact_phone") and "contact_phone" not in changes:
            stored = (
                Organization.objects.filter(pk=rec["pk"]).values_list("contact_phone_bidx", flat=True).first()
            )
            if not stored:
                phone = v["contact_phone"]
                changes.update(
                    contact_phone_enc=self.cipher.encrypt(phone),
                    contact_phone_bidx=self.cipher.blind_index(phone),
                    contact_phone_masked=mask_phone(phone),
                )
        if rec.get("org_type_id") != v.get("org_type_id"):
            row.conflicts.append(
                f"【组织类型】系统中为“{self.type_names.get(rec.get('org_type_id'), '')}”，"
                f"文件中为“{self.type_names.get(v.get('org_type_id'), '')}”，保留系统中的值"
            )
        return changes

    def _shown(self, key: str, value) -> str:
        if key == "registration_status":
            return REGISTRATION_LABELS.get(value, value)
        if key == "leader_id":
            return str(Person.objects.filter(pk=value).values_list("name", flat=True).first() or value)
        return str(value)


def row_has(row: Row, key: str) -> bool:
    """Whether the file itself gave ``key`` (rather than ``check`` inferring it)."""
    return bool(row.values.get(f"_given_{key}", True))


TEMPLATE_ROWS = 5000
TEMPLATE_HELP = {
    "name": ("必填", "组织全称", "稠城街道青年志愿服务队"),
    "org_type": ("必填", "从下拉列表选择（类型表可由管理员维护）", "志愿服务"),
    "unit": ("选填", "所属单位的编码（推荐）或名称；留空则归入导入时选择的单位", "330782001"),
    "registration_status": (
        "选填",
        "民政登记 / 备案 / 未登记；留空时有以5开头的信用代码视为民政登记",
        "民政登记",
    ),
    "uscc": ("民政登记时必填", "18位，按文本填写；系统校验末位校验码（GB 32100-2015）", ""),
    "founded_on": ("选填", "如 2019-05-04（也可写 2019.5.4、2019年5月）", "2019-05-04"),
    "venue": ("选填", "活动场所（四有之“有场所”）", "稠城街道青年之家"),
    "contact_phone": ("选填", "11位手机号", "13800000000"),
    "leader": ("选填", "须已在花名册中登记；重名时请同时填写负责人手机号或身份证号", "张三"),
    "tags": ("选填", "多个标签用逗号或顿号分隔", "应急救援、社区"),
    "is_league_affiliated": ("选填", "是 / 否（默认是）", "是"),
    "is_incubation_base": ("选填", "是 / 否", "否"),
    "is_cloud_resident": ("选填", "是 / 否", "否"),
}


def write_template(target) -> None:
    """The organization import template: the columns, drop-downs and a “说明” sheet."""
    import xlsxwriter
    import xlsxwriter.utility

    workbook = xlsxwriter.Workbook(target, {"strings_to_numbers": False, "strings_to_formulas": False})
    head = workbook.add_format({"bold": True, "bg_color": "#DCE6F1", "border": 1})
    required_head = workbook.add_format({"bold": True, "bg_color": "#F8CBAD", "border": 1})
    text = workbook.add_format({"num_format": "@"})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    bold = workbook.add_format({"bold": True})
    sheet = workbook.add_worksheet("青年社会组织")
    guide = workbook.add_worksheet("说明")
    options = workbook.add_worksheet("选项")
    lists = {
        "org_type": ("组织类型", list(OrgType.objects.filter(is_active=True).values_list("name", flat=True))),
        "registration_status": ("登记状态", list(REGISTRATION_LABELS.values())),
        "yes_no": ("是否", ["是", "否"]),
    }
    sources = {}
    for col, (key, (title, values)) in enumerate(lists.items()):
        options.write_string(0, col, title, bold)
        for row, value in enumerate(values, start=1):
            options.write_string(row, col, value)
        letter = xlsxwriter.utility.xl_col_to_name(col)
        sources[key] = f"='选项'!${letter}$2:${letter}${max(len(values), 1) + 1}"
    options.hide()
    for col, column in enumerate(COLUMNS):
        sheet.write_string(
            0,
            col,
            column.label + ("*" if column.required else ""),
            required_head if column.required else head,
        )
        textual = column.key in (
            "uscc",
            "contact_phone",
            "leader_phone",
            "leader_resident_id",
            "unit",
            "founded_on",
        )
        sheet.set_column(
            col,
            col,
            22 if column.key in ("name", "uscc", "leader_resident_id") else 14,
            text if textual else None,
        )
        if column.key in TEMPLATE_HELP:
            sheet.write_comment(0, col, TEMPLATE_HELP[column.key][1])
        source = {
            "org_type": "org_type",
            "registration_status": "registration_status",
            "is_league_affiliated": "yes_no",
            "is_incubation_base": "yes_no",
            "is_cloud_resident": "yes_no",
        }.get(column.key)
        if source:
            sheet.data_validation(
                1,
                col,
                TEMPLATE_ROWS,
                col,
                {
                    "validate": "list",
                    "source": sources[source],
                    "error_title": column.label,
                    "error_message": "请从下拉列表中选择",
                },
            )
    sheet.freeze_panes(1, 0)
    guide.set_column(0, 0, 16)
    guide.set_column(1, 1, 16)
    guide.set_column(2, 2, 70, wrap)
    guide.set_column(3, 3, 24)
    notes = [
        "青年社会组织导入说明",
        "1. 在“青年社会组织”页逐行填写，每个组织一行；请勿修改表头，带 * 的列必须填写。",
        "2. 同一统一社会信用代码、或同一单位下同名的组织视为同一组织，不会重复登记；勾选“补充已登记组织的空白信息”可补全空白字段。",
        "3. 统一社会信用代码按 GB 32100-2015 校验；民政登记的社会组织代码以5开头。",
        "4. 负责人须已在花名册中登记（可先导入花名册）。",
        "5. 有问题的行不会导入，导入结束后可下载错误报告，修改后再次导入即可。",
    ]
    for row, line in enumerate(notes):
        guide.write_string(row, 0, line, bold if row == 0 else None)
    start = len(notes) + 1
    for col, title in enumerate(["列名", "是否必填", "填写说明", "示例"]):
        guide.write_string(start, col, title, head)
    for offset, column in enumerate(COLUMNS, start=start + 1):
        need, how, example = TEMPLATE_HELP.get(
            column.key, ("选填", f"不超过{column.max_length}个字" if column.max_length else "", "")
        )
        guide.write_string(offset, 0, column.label)
        guide.write_string(offset, 1, need)
        guide.write_string(offset, 2, how)
        if example:
            guide.write_string(offset, 3, example)
    workbook.close()
