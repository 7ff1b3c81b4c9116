"""The roster import (花名册导入): columns as cadres name them, rules, and the bulk write."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from tuanju.core import idcard
from tuanju.core.bulk import insert_rows
from tuanju.core.crypto import cipher, mask_phone, mask_resident_id
from tuanju.core.text import pinyin_initials
from tuanju.hierarchy.models import OrgUnit
from tuanju.imports import normalize
from tuanju.imports.engine import Column, ImportSpec, Row, Summary
from tuanju.people.models import Category, Person, PoliticalStatus, Source

POLITICAL_SYNONYMS = {
    "群众": PoliticalStatus.MASSES,
    "共青团员": PoliticalStatus.LEAGUE,
    "团员": PoliticalStatus.LEAGUE,
    "中国共产主义青年团团员": PoliticalStatus.LEAGUE,
    "中共党员": PoliticalStatus.PARTY,
    "党员": PoliticalStatus.PARTY,
    "中国共产党党员": PoliticalStatus.PARTY,
    "中共预备党员": PoliticalStatus.PROBATIONARY,
    "预备党员": PoliticalStatus.PROBATIONARY,
    "民主党派": PoliticalStatus.DEMOCRATIC,
    "民主党派成员": PoliticalStatus.DEMOCRATIC,
    "无党派人士": PoliticalStatus.INDEPENDENT,
    "无党派": PoliticalStatus.INDEPENDENT,
}
POLITICAL_LABELS = {
    PoliticalStatus.MASSES: "群众",
    PoliticalStatus.LEAGUE: "共青团员",
    PoliticalStatus.PARTY: "中共党员",
    PoliticalStatus.PROBATIONARY: "中共预备党员",
    PoliticalStatus.DEMOCRATIC: "民主党派成员",
    PoliticalStatus.INDEPENDENT: "无党派人士",
}
YES = {"是", "y", "yes", "1", "√", "✓", "true"}
NO = {"否", "n", "no", "0", "×", "false", ""}


def political_status(value) -> str:
    return normalize.choice(value, POLITICAL_SYNONYMS, "政治面貌")


def yes_no(value) -> bool:
    raw = normalize.compact(value).lower()
    if raw in YES:
        return True
    if raw in NO:
        return False
    raise normalize.CellError(f"应填“是”或“否”，实为“{raw}”")


def person_name(value) -> str:
    name = normalize.compact(value).replace("·", "·")
    if name and (len(name) < 2 and not name.isascii()):
        raise normalize.CellError("姓名过短")
    if any(ch.isdigit() for ch in name):
        raise normalize.CellError(f"姓名“{name}”含有数字")
    return name


COLUMNS = [
    Column("name", "姓名", ("名字", "青年姓名", "人员姓名"), person_name, required=True, max_length=50),
    Column(
        "resident_id",
        "身份证号",
        ("身份证号码", "公民身份号码", "证件号码", "身份证", "身份证件号码"),
        normalize.resident_id,
    ),
    Column(
        "phone", "手机号", ("手机", "手机号码", "联系电话", "电话", "联系方式", "移动电话"), normalize.phone
    ),
    Column("gender", "性别", (), normalize.gender),
    Column("birth_date", "出生日期", ("出生年月", "出生年月日", "生日"), normalize.a_date),
    Column("political_status", "政治面貌", (), political_status),
    Column("ethnicity", "民族", (), normalize.compact, max_length=10),
    Column("education", "学历", ("文化程度", "最高学历"), normalize.compact, max_length=20),
    Column(
        "category", "群体类别", ("类别", "所属群体", "群体", "人员类别", "新兴领域类别"), normalize.compact
    ),
    Column(
        "employer",
        "工作单位",
        ("平台", "所在单位", "工作单位/平台", "平台/单位", "就业平台", "单位"),
        normalize.text,
        max_length=100,
    ),
    Column(
        "unit",
        "所属单位",
        ("所属村社", "村(社区)", "村社区", "所在村社区", "单位编码", "所属网格"),
        normalize.compact,
    ),
    Column("skills", "特长", ("技能", "专长"), normalize.text, max_length=200),
    Column("interests", "兴趣爱好", ("兴趣", "爱好"), normalize.text, max_length=200),
    Column("needs", "需求", ("诉求", "服务需求"), normalize.text, max_length=300),
    Column("is_backbone", "是否骨干", ("骨干",), yes_no),
    Column("in_talent_pool", "是否入人才库", ("人才库",), yes_no),
    Column("notes", "备注", ("说明",), normalize.text, max_length=500),
]
TEXT_FIELDS = ["ethnicity", "education", "employer", "skills", "interests", "needs", "notes"]
FILLABLE = [
    "gender",
    "birth_date",
    "political_status",
    "category_id",
    "phone",
    *TEXT_FIELDS,
]
INSERT_COLUMNS = [
    "unit_id",
    "name",
    "name_pinyin",
    "gender",
    "birth_date",
    "resident_id_enc",
    "resident_id_bidx",
    "resident_id_masked",
    "phone_enc",
    "phone_bidx",
    "phone_masked",
    "phone_last4",
    "political_status",
    "ethnicity",
    "education",
    "category_id",
    "employer",
    "skills",
    "interests",
    "needs",
    "notes",
    "is_backbone",
    "in_talent_pool",
    "is_mentor",
    "source",
    "created_at",
    "updated_at",
]
LOOKUP_CHUNK = 900
FIELD_LABELS = {c.key: c.label for c in COLUMNS} | {"category_id": "群体类别"}


def _shown(key: str, value) -> str:
    if key == "political_status":
        return POLITICAL_LABELS.get(value, value)
    if key == "gender":
        return {"M": "男", "F": "女"}.get(value, value)
    if key == "category_id":
        return str(Category.objects.filter(pk=value).values_list("name", flat=True).first() or value)
    return str(value)


class RosterSpec(ImportSpec):
    columns = COLUMNS

    def __init__(self, unit: OrgUnit, *, today: date | None = None):
        self.unit = unit
        self.today = today or timezone.localdate()
        self.cipher = cipher()
        self.categories = {c.name: c.pk for c in Category.objects.all()}
        subtree = OrgUnit.objects.filter(path__startswith=unit.path).values_list("pk", "code", "name", "path")
        self.units_by_code: dict[str, int] = {}
        names: dict[str, list[int]] = {}
        for pk, code, name, _path in subtree:
            self.units_by_code[code] = pk
            names.setdefault(name, []).append(pk)
        self.units_by_name = names

    # --- validation ------------------------------------------------------------------
    def check(self, row: Row) -> None:
        v = row.values
        number = v.get("resident_id", "")
        if not number and not v.get("phone"):
            row.errors.append("【身份证号】身份证号和手机号至少填写一项")
            return
        if number:
            born = idcard.birth_date(number)
            given = v.get("birth_date")
            # "出生年月" columns hold only year and month; the first of the month stands for it.
            month_only = given and given.day == 1 and (given.year, given.month) == (born.year, born.month)
            if given and given != born and not month_only:
                row.errors.append(f"【出生日期】与身份证号中的出生日期（{born:%Y-%m-%d}）不一致")
            v["birth_date"] = born
            id_gender = idcard.gender(number)
            if v.get("gender") and v["gender"] != id_gender:
                row.errors.append("【性别】与身份证号中的性别不一致")
            v["gender"] = id_gender
        born = v.get("birth_date")
        if born and (born > self.today or born.year < 1900):
            row.errors.append("【出生日期】日期不合理")
        category = v.get("category")
        if category:
            pk = self.categories.get(category)
            if pk is None:
                row.errors.append(f"【群体类别】“{category}”不在类别表中（可在模板的“类别”页查看）")
            v["category_id"] = pk
        unit_text = v.get("unit")
        if unit_text:
            pk = self.units_by_code.get(unit_text)
            if pk is None:
                candidates = self.units_by_name.get(unit_text, [])
                if len(candidates) == 1:
                    pk = candidates[0]
                elif len(candidates) > 1:
                    row.errors.append(f"【所属单位】“{unit_text}”有重名，请填写单位编码")
                    return
                else:
                    row.errors.append(f"【所属单位】在{self.unit.name}下找不到“{unit_text}”")
                    return
            v["unit_id"] = pk
        else:
            v["unit_id"] = self.unit.pk

    def dedup_key(self, row: Row) -> str | None:
        v = row.values
        return v.get("resident_id") or f"{v.get('phone')}|{v.get('name')}"

    # --- writing ---------------------------------------------------------------------
    def _existing(self, rows: list[Row]) -> dict[str, dict]:
        c = self.cipher
        for row in rows:
            v = row.values
            v["_id_bidx"] = c.blind_index(v.get("resident_id") or None)
            v["_phone_bidx"] = c.blind_index(v.get("phone") or None)
        found: dict[str, dict] = {}
        fields = ["pk", "unit_id", "unit__path", "name", "resident_id_bidx", "phone_bidx", *FILLABLE]
        fields = [f for f in fields if f != "phone"]
        id_keys = [r.values["_id_bidx"] for r in rows if r.values["_id_bidx"]]
        for i in range(0, len(id_keys), LOOKUP_CHUNK):
            for rec in Person.objects.filter(resident_id_bidx__in=id_keys[i : i + LOOKUP_CHUNK]).values(
                *fields
            ):
                found["id:" + rec["resident_id_bidx"]] = rec
        phone_keys = [r.values["_phone_bidx"] for r in rows if not r.values["_id_bidx"]]
        for i in range(0, len(phone_keys), LOOKUP_CHUNK):
            for rec in Person.objects.filter(phone_bidx__in=phone_keys[i : i + LOOKUP_CHUNK]).values(*fields):
                found[f"phone:{rec['phone_bidx']}|{rec['name']}"] = rec
        return found

    def _key(self, v: dict) -> str:
        return "id:" + v["_id_bidx"] if v["_id_bidx"] else f"phone:{v['_phone_bidx']}|{v['name']}"

    def persist(self, rows: list[Row], summary: Summary, *, dry_run: bool, update_existing: bool) -> None:
        existing = self._existing(rows)
        now = timezone.now()
        new_rows, updates = [], []
        for row in rows:
            v = row.values
            rec = existing.get(self._key(v))
            if rec is None:
                new_rows.append(self.insert_tuple(v, now))
                continue
            if not rec["unit__path"].startswith(self.unit.path):
                row.errors.append("【身份证号】该人员已由其他单位登记，不能重复登记")
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
            summary.created += len(new_rows)
            return
        with transaction.atomic():
            summary.created += insert_rows(Person._meta.db_table, INSERT_COLUMNS, new_rows)
            for pk, changes in updates:
                if "phone" in changes:
                    phone = changes.pop("phone")
                    changes.update(self._phone_columns(phone))
                Person.objects.filter(pk=pk).update(updated_at=now, **changes)

    def _phone_columns(self, phone: str) -> dict:
        c = self.cipher
        return {
            "phone_enc": c.encrypt(phone),
            "phone_bidx": c.blind_index(phone),
            "phone_masked": mask_phone(phone),
            "phone_last4": phone[-4:],
        }

    def _fill_empty(self, rec: dict, v: dict, row: Row) -> dict:
        """Fields empty in the database and present in the file; differing non-empty ones are conflicts."""
        changes = {}
        for key in FILLABLE:
            if key == "phone":
                if v.get("phone") and not rec.get("phone_bidx"):
                    changes["phone"] = v["phone"]
                continue
            new = v.get(key)
            if new in (None, ""):
                continue
            old = rec.get(key)
            if old in (None, ""):
                changes[key] = new
            elif old != new:
                label = FIELD_LABELS.get(key, key)
                row.conflicts.append(
                    f"【{label}】系统中为“{_shown(key, old)}”，文件中为“{_shown(key, new)}”，保留系统中的值"
                )
        return changes

    def insert_tuple(self, v: dict, now) -> tuple:
        """One row of INSERT_COLUMNS for a validated row (``v`` carries the blind indexes)."""
        c = self.cipher
        number, phone = v.get("resident_id") or "", v.get("phone") or ""
        return (
            v["unit_id"],
            v["name"],
            pinyin_initials(v["name"])[:50],
            v.get("gender") or "",
            v.get("birth_date"),
            c.encrypt(number),
            v["_id_bidx"],
            mask_resident_id(number),
            c.encrypt(phone),
            v["_phone_bidx"],
            mask_phone(phone),
            phone[-4:],
            v.get("political_status") or "",
            v.get("ethnicity") or "",
            v.get("education") or "",
            v.get("category_id"),
            v.get("employer") or "",
            v.get("skills") or "",
            v.get("interests") or "",
            v.get("needs") or "",
            v.get("notes") or "",
            bool(v.get("is_backbone")),
            bool(v.get("in_talent_pool")),
            False,
            Source.IMPORT,
            now,
            now,
        )
