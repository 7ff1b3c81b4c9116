"""The 12345 hotline import (接诉即办工单导入): work-order exports as the hotline centres produce them.

Columns are recognised by the names 12345 platforms use (工单编号, 来电时间, 诉求内容, 诉求类别,
来电人, 联系电话, 所属区域, 承办单位, 办结时限…). Work orders are de-duplicated by 工单编号:
within the file by the engine, against the database here (a work order already imported is
counted as unchanged, so re-importing a monthly export is safe).

Where a row lands: 所属区域 names a unit (code, or names such as “义乌市稠城街道”) resolved in the
import unit's subtree; without an import unit (``--unit`` omitted) it is resolved in the whole
tree and must be found. 诉求类别 is mapped onto the configured categories through their names and
synonyms (unknown ones become 其他, the original text is kept). A row with a 承办单位 that names a
partner department arrives already assigned to it, with the deadline from 办结时限 or the
category's time limit in working days.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from tuanju.appeals.models import (
    Appeal,
    AppealCategory,
    AppealEvent,
    Department,
    EventKind,
    Source,
    Status,
    new_key,
)
from tuanju.appeals.workdays import WorkCalendar
from tuanju.core.crypto import cipher, mask_phone
from tuanju.hierarchy.models import Level, OrgUnit
from tuanju.imports import normalize
from tuanju.imports.engine import Column, ImportSpec, Row, Summary
from tuanju.people.importing import yes_no
from tuanju.people.models import Person

NAME_LEVELS = (Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWN, Level.TIER1)
_DATETIME = re.compile(
    r"^(\d{4})[./\-年](\d{1,2})[./\-月](\d{1,2})日?"
    r"(?:[\sT]*(\d{1,2})[:：时](\d{1,2})分?(?:[:：]?(\d{1,2})秒?)?)?$"
)
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(?:-\d{1,6})?$")
EXCEL_EPOCH = datetime(1899, 12, 30)


def a_datetime(value) -> datetime | None:
    """A local datetime from a datetime cell, an Excel serial, or text such as 2026-03-05 14:23(:11)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not 1 <= value < 2958466:
            raise normalize.CellError(f"时间“{normalize.text(value)}”无法识别")
        moment = EXCEL_EPOCH + timedelta(days=float(value))
        moment = moment.replace(microsecond=0)
    else:
        raw = normalize.text(value).replace("  ", " ")
        if not raw:
            return None
        match = _DATETIME.match(raw)
        if not match:
            day = normalize.a_date(value, month_ok=False)  # raises CellError with the usual message
            moment = datetime.combine(day, time(0, 0))
        else:
            try:
                moment = datetime(
                    int(match[1]),
                    int(match[2]),
                    int(match[3]),
                    int(match[4] or 0),
                    int(match[5] or 0),
                    int(match[6] or 0),
                )
            except ValueError as exc:
                raise normalize.CellError(f"时间“{raw}”无法识别（示例：2026-03-05 14:23）") from exc
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def contact_phone(value) -> str:
    """A mobile number (normalized) or a landline with its area code (0579-85123456)."""
    if value is None or value == "":
        return ""
    try:
        return normalize.phone(value)
    except normalize.CellError:
        raw = normalize.compact(value).replace("—", "-").replace("－", "-")
        if _LANDLINE.match(raw):
            return raw
        raise normalize.CellError(f"联系电话“{normalize.text(value)}”格式不正确") from None


def work_order_number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    number = normalize.compact(value)
    if number and not re.fullmatch(r"[0-9A-Za-z\-_/]+", number):
        raise normalize.CellError(f"工单编号“{number}”含有不允许的字符")
    return number


def content_text(value) -> str:
    # keep line breaks readable but collapse the rest of the whitespace
    return normalize.text(value)


COLUMNS = [
    Column(
        "hotline_number",
        "工单编号",
        ("工单号", "工单号码", "受理编号", "工单流水号", "编号", "热线工单号"),
        work_order_number,
        required=True,
        max_length=40,
    ),
    Column(
        "received_at",
        "来电时间",
        ("受理时间", "来电日期", "登记时间", "创建时间", "派单时间", "诉求时间"),
        a_datetime,
    ),
    Column(
        "content",
        "诉求内容",
        ("来电内容", "问题描述", "诉求描述", "工单内容", "反映内容", "主要内容", "内容"),
        content_text,
        required=True,
        max_length=2000,
    ),
    Column("title", "诉求标题", ("标题", "工单标题", "主题"), normalize.text, max_length=100),
    Column(
        "category",
        "诉求类别",
        ("问题分类", "诉求分类", "业务类别", "工单类别", "工单分类", "类别", "诉求类型"),
        normalize.text,
        max_length=60,
    ),
    Column(
        "contact_name",
        "来电人",
        ("来电人姓名", "诉求人", "反映人", "联系人", "市民姓名", "姓名"),
        normalize.compact,
        max_length=50,
    ),
    Column(
        "phone", "联系电话", ("来电号码", "电话", "联系方式", "手机号", "手机号码", "主叫号码"), contact_phone
    ),
    Column(
        "area",
        "所属区域",
        ("区域", "所属街道", "属地", "所在区域", "所属镇街", "区县街道"),
        normalize.compact,
    ),
    Column(
        "location",
        "诉求地址",
        ("事发地址", "地址", "发生地点", "事发地点", "详细地址"),
        normalize.text,
        max_length=200,
    ),
    Column("department", "承办单位", ("承办部门", "主办单位", "处理部门", "责任单位"), normalize.compact),
    Column("due_date", "办结时限", ("要求办结时间", "办理期限", "截止时间", "办结期限"), normalize.a_date),
    Column("is_anonymous", "是否保密", ("保密", "匿名", "是否匿名", "保密诉求"), yes_no),
]


class HotlineSpec(ImportSpec):
    columns = COLUMNS

    def __init__(self, unit: OrgUnit | None):
        self.unit = unit
        self.now = timezone.now()
        self.calendar = WorkCalendar()
        self.cipher = cipher()
        self._load_categories()
        self._load_units()
        self._load_departments()

    # --- lookups ---------------------------------------------------------------------------
    def _load_categories(self) -> None:
        categories = list(AppealCategory.objects.filter(is_active=True))
        if not categories:
            categories = list(AppealCategory.objects.all())
        self.categories = {c.pk: c for c in categories}
        self.exact: dict[str, int] = {}
        needles: list[tuple[str, int]] = []
        for c in categories:
            for name in [c.name, *c.synonym_list()]:
                self.exact.setdefault(name, c.pk)
                needles.append((name, c.pk))
        self.needles = sorted(needles, key=lambda pair: -len(pair[0]))
        other = next((c for c in categories if c.name == "其他"), categories[-1] if categories else None)
        self.other = other.pk if other else None

    def _load_units(self) -> None:
        units = OrgUnit.objects.filter(level__in=NAME_LEVELS)
        if self.unit is not None:
            units = units.filter(path__startswith=self.unit.path)
        self.by_name: dict[str, list[tuple[int, str]]] = {}
        for pk, name, path in units.values_list("pk", "name", "path"):
            self.by_name.setdefault(name, []).append((pk, path))
        self.max_name = max((len(n) for n in self.by_name), default=0)
        scope = (
            OrgUnit.objects.filter(path__startswith=self.unit.path) if self.unit else OrgUnit.objects.all()
        )
        self.scope = scope

    def _load_departments(self) -> None:
        departments = Department.objects.filter(is_active=True)
        if self.unit is not None:
            departments = Department.objects.routable_for(self.unit)
        self.departments = {d.name: d for d in departments.select_related("unit")}

    def category_for(self, text: str) -> int | None:
        if not text:
            return self.other
        if text in self.exact:
            return self.exact[text]
        for part in re.split(r"[-/＞>、,，|]", text):
            if part.strip() in self.exact:
                return self.exact[part.strip()]
        for needle, pk in self.needles:
            if needle in text:
                return pk
        return self.other

    def unit_for(self, text: str) -> tuple[int | None, str | None]:
        """(unit pk, error) for a 所属区域 cell."""
        if not text:
            return (self.unit.pk, None) if self.unit else (None, "【所属区域】未填写，且导入时未指定单位")
        if text.isdigit():
            found = self.scope.filter(code=text).values_list("pk", flat=True).first()
            if found:
                return found, None
        candidates: dict[int, str] = {}
        for length in range(min(self.max_name, len(text)), 1, -1):
            for start in range(0, len(text) - length + 1):
                for pk, path in self.by_name.get(text[start : start + length], ()):
                    candidates[pk] = path
        if not candidates:
            if self.unit is not None:
                return self.unit.pk, None
            return None, f"【所属区域】找不到“{text}”对应的单位（可用 --unit 指定导入单位）"

        def score(item):
            _pk, path = item
            ancestors = sum(1 for other in candidates.values() if other != path and path.startswith(other))
            return (ancestors, len(path))

        ranked = sorted(candidates.items(), key=score, reverse=True)
        if len(ranked) > 1 and score(ranked[0]) == score(ranked[1]):
            return None, f"【所属区域】“{text}”对应多个单位，请写完整（如“义乌市稠城街道”）或填写单位编码"
        return ranked[0][0], None

    def department_for(self, text: str) -> Department | None:
        if not text:
            return None
        if text in self.departments:
            return self.departments[text]
        matches = [d for name, d in self.departments.items() if text in name or name in text]
        return matches[0] if len(matches) == 1 else None

    # --- validation ------------------------------------------------------------------------
    def check(self, row: Row) -> None:
        v = row.values
        content = v.get("content", "")
        if len(content) < 2:
            row.errors.append("【诉求内容】内容过短")
        received = v.get("received_at")
        if received and received > self.now + timedelta(days=1):
            row.errors.append("【来电时间】时间晚于今天")
        unit_pk, error = self.unit_for(v.get("area", ""))
        if error:
            row.errors.append(error)
            return
        v["unit_id"] = unit_pk
        v["category_id"] = self.category_for(v.get("category", ""))
        if v["category_id"] is None:
            row.errors.append("【诉求类别】系统中还没有诉求类别")
        department_text = v.get("department", "")
        if department_text:
            department = self.department_for(department_text)
            if department is None:
                row.conflicts.append(f"【承办单位】未找到协作部门“{department_text}”，工单保留为待分派")
            v["department_obj"] = department

    def dedup_key(self, row: Row) -> str | None:
        return row.values.get("hotline_number")

    # --- writing ---------------------------------------------------------------------------
    def _people(self, rows: list[Row]) -> dict[str, int]:
        """blind index → person pk for phones that match exactly one roster person in scope."""
        keys = [r.values["_bidx"] for r in rows if r.values.get("_bidx")]
        if not keys:
            return {}
        people = Person.objects.all()
        if self.unit is not None:
            people = people.filter(unit__path__startswith=self.unit.path)
        counts: dict[str, list[int]] = {}
        for i in range(0, len(keys), 900):
            for pk, bidx in people.filter(phone_bidx__in=keys[i : i + 900]).values_list("pk", "phone_bidx"):
                counts.setdefault(bidx, []).append(pk)
        return {bidx: pks[0] for bidx, pks in counts.items() if len(pks) == 1}

    def persist(self, rows: list[Row], summary: Summary, *, dry_run: bool, update_existing: bool) -> None:
        numbers = [r.values["hotline_number"] for r in rows]
        existing = set()
        for i in range(0, len(numbers), 900):
            existing.update(
                Appeal.objects.filter(hotline_number__in=numbers[i : i + 900]).values_list(
                    "hotline_number", flat=True
                )
            )
        fresh = []
        for row in rows:
            if row.values["hotline_number"] in existing:
                summary.unchanged += 1
            else:
                phone = row.values.get("phone") or ""
                row.values["_bidx"] = self.cipher.blind_index(phone) if phone else None
                fresh.append(row)
        if dry_run:
            summary.created += len(fresh)
            return
        people = self._people(fresh)
        appeals = []
        for row in fresh:
            appeals.append(self._appeal(row.values, people))
        unit_names = dict(
            OrgUnit.objects.filter(pk__in={a.unit_id for a in appeals}).values_list("pk", "name")
        )
        with transaction.atomic():
            created = Appeal.objects.bulk_create(appeals, batch_size=500)
            events = []
            for appeal in created:
                events.append(
                    AppealEvent(
                        appeal=appeal,
                        kind=EventKind.RECEIVED,
                        to_status=Status.RECEIVED,
                        handler=unit_names.get(appeal.unit_id, ""),
                        note=f"12345热线工单 {appeal.hotline_number}",
                        at=appeal.received_at,
                    )
                )
                if appeal.department_id:
                    events.append(
                        AppealEvent(
                            appeal=appeal,
                            kind=EventKind.ASSIGNED,
                            from_status=Status.RECEIVED,
                            to_status=Status.ASSIGNED,
                            handler=appeal.department.name,
                            note="12345热线派单",
                            at=appeal.assigned_at,
                        )
                    )
            AppealEvent.objects.bulk_create(events, batch_size=1000)
        summary.created += len(created)

    def _appeal(self, v: dict, people: dict[str, int]) -> Appeal:
        content = v["content"]
        received = v.get("received_at") or self.now
        phone = v.get("phone") or ""
        first_line = content.splitlines()[0] if content else ""
        appeal = Appeal(
            unit_id=v["unit_id"],
            intake_unit_id=v["unit_id"],
            category_id=v["category_id"],
            source=Source.HOTLINE,
            hotline_number=v["hotline_number"],
            hotline_category=(v.get("category") or "")[:60],
            title=(v.get("title") or first_line[:30] + ("…" if len(first_line) > 30 else ""))[:100],
            content=content,
            location=(v.get("location") or v.get("area") or "")[:200],
            contact_name=v.get("contact_name") or "",
            is_anonymous=bool(v.get("is_anonymous")),
            status=Status.RECEIVED,
            received_at=received,
            person_id=people.get(v.get("_bidx")) if v.get("_bidx") else None,
            access_key=new_key(),
        )
        appeal.phone_enc = self.cipher.encrypt(phone) if phone else None
        appeal.phone_bidx = v.get("_bidx")
        appeal.phone_masked = (
            mask_phone(phone) if phone and phone.isdigit() else (phone[:4] + "****" if phone else "")
        )
        department = v.get("department_obj")
        if department is not None:
            category = self.categories.get(v["category_id"])
            days = category.time_limit_days if category else 5
            start = timezone.localtime(received).date()
            due = v.get("due_date") or self.calendar.add(start, days)
            appeal.department = department
            appeal.status = Status.ASSIGNED
            appeal.assigned_at = received
            appeal.time_limit_days = (
                days if not v.get("due_date") else max(1, self.calendar.between(start, due))
            )
            appeal.due_date = due
        return appeal
