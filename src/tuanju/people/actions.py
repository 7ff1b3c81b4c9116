"""Domain operations on the roster. Views, API and commands call these."""

from __future__ import annotations

import re
import tempfile
from datetime import date, timedelta
from types import SimpleNamespace

import xlsxwriter
import xlsxwriter.utility
from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from tuanju.accounts.models import Role
from tuanju.audit.actions import record
from tuanju.core.crypto import cipher, mask_phone, mask_resident_id
from tuanju.imports import normalize
from tuanju.imports.actions import register
from tuanju.imports.engine import Row
from tuanju.people.exporting import export_roster
from tuanju.people.importing import COLUMNS, POLITICAL_LABELS, RosterSpec
from tuanju.people.models import Category, ContactLog, LiaisonDuty, Person, Tag

EDITABLE_FIELDS = [
    "name",
    "gender",
    "birth_date",
    "political_status",
    "ethnicity",
    "education",
    "category",
    "employer",
    "skills",
    "interests",
    "needs",
    "notes",
    "is_backbone",
    "in_talent_pool",
    "is_mentor",
    "unit",
]


@register("roster")
def roster_spec(unit):
    return RosterSpec(unit)


def _snapshot(person: Person) -> dict:
    data = {f: getattr(person, f"{f}_id" if f in ("category", "unit") else f) for f in EDITABLE_FIELDS}
    data["birth_date"] = data["birth_date"].isoformat() if data["birth_date"] else None
    data["resident_id"] = person.resident_id_masked
    data["phone"] = person.phone_masked
    return data


@transaction.atomic
def save_person(person: Person, *, data: dict, resident_id: str | None, phone: str | None, actor) -> Person:
    """Create or update a person from cleaned form/API data (same rules as the import)."""
    creating = person.pk is None
    before = {} if creating else _snapshot(person)
    for field, value in data.items():
        setattr(person, field, value)
    if resident_id is not None:
        person.set_resident_id(resident_id)
    if phone is not None:
        person.set_phone(phone)
    person.full_clean(exclude=["resident_id_enc", "phone_enc", "mentors", "tags"])
    person.save()
    after = _snapshot(person)
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    record(actor, "create" if creating else "update", person, details={"changes": changes})
    return person


def reveal(person: Person, *, actor, field: str) -> str:
    """Decrypt one personal field for a user whose role may see it; every call is audit-logged."""
    if not actor.can_unmask:
        raise PermissionError("role may not see personal data")
    value = person.reveal_resident_id() if field == "resident_id" else person.reveal_phone()
    record(actor, "view_pii", person, details={"field": field})
    return value


@transaction.atomic
def bulk_tag(people, tag_name: str, *, actor) -> int:
    tag, _ = Tag.objects.get_or_create(name=tag_name.strip()[:30])
    ids = list(people.values_list("pk", flat=True))
    through = Person.tags.through
    existing = set(through.objects.filter(tag=tag, person_id__in=ids).values_list("person_id", flat=True))
    through.objects.bulk_create([through(person_id=i, tag=tag) for i in ids if i not in existing])
    record(actor, "update", None, details={"bulk": "tag", "tag": tag.name, "people": len(ids)})
    return len(ids)


@transaction.atomic
def bulk_set_backbone(people, value: bool, *, actor) -> int:
    count = people.update(is_backbone=value, updated_at=timezone.now())
    record(actor, "update", None, details={"bulk": "backbone", "value": value, "people": count})
    return count


@transaction.atomic
def bulk_move(people, unit, *, actor) -> int:
    count = people.update(unit=unit, updated_at=timezone.now())
    record(actor, "move", None, unit=unit, details={"bulk": "move", "to": unit.code, "people": count})
    return count


@transaction.atomic
def log_contact(
    person: Person, *, cadre, contacted_on: date, channel: str, summary: str, follow_up: str = ""
) -> ContactLog:
    entry = ContactLog(
        person=person,
        cadre=cadre,
        contacted_on=contacted_on,
        channel=channel,
        summary=summary,
        follow_up=follow_up,
    )
    entry.full_clean()
    entry.save()
    record(cadre, "create", entry, unit=person.unit, details={"person": person.pk, "channel": channel})
    return entry


@transaction.atomic
def assign_duty(cadre, people, *, actor) -> int:
    existing = set(LiaisonDuty.objects.filter(cadre=cadre).values_list("person_id", flat=True))
    new = [LiaisonDuty(cadre=cadre, person=p) for p in people if p.pk not in existing]
    LiaisonDuty.objects.bulk_create(new)
    record(actor, "create", cadre, details={"duty": "1+N", "people": [p.pk for p in new]})
    return len(new)


def duty_board(duties, *, today: date | None = None):
    """Each cadre's youth with the last contact date; ``overdue`` when older than the configured period."""
    today = today or timezone.localdate()
    limit = today - timedelta(days=settings.TUANJU["CONTACT_OVERDUE_DAYS"])
    rows = (
        duties.select_related("cadre", "person", "person__unit")
        .annotate(
            last_contact=Max("person__contacts__contacted_on", filter=Q(person__contacts__cadre=F("cadre")))
        )
        .order_by("cadre__username", "person__name")
    )
    board: dict = {}
    for duty in rows:
        duty.overdue = duty.last_contact is None or duty.last_contact < limit
        board.setdefault(duty.cadre, []).append(duty)
    return board


# --- Staff UI and API helpers ------------------------------------------------------------
# The form and the API check one typed-in record with the import's own rules (RosterSpec.check),
# so a person entered by hand is held to exactly what a spreadsheet row would be.

COLUMNS_BY_KEY = {column.key: column for column in COLUMNS}
_FIELD_BY_LABEL = {column.label: column.key for column in COLUMNS}
_REASON = re.compile(r"^【(.+?)】(.*)$", re.S)
#: people with these roles log contacts and may be given "1+N" duties
CONTACT_ROLES = {Role.ADMIN, Role.CADRE, Role.LIAISON}
DUPLICATE_ID_MESSAGE = "该身份证号已登记"


class _RecordRules(RosterSpec):
    """RosterSpec's cross-field checks for one record; unit and category are resolved by the caller,
    so the per-file lookup tables of the import stay empty."""

    def __init__(self, *, today: date | None = None):
        self.unit = SimpleNamespace(pk=None, name="")
        self.today = today or timezone.localdate()
        self.categories = {}
        self.units_by_code = {}
        self.units_by_name = {}


def parse_column(key: str, value):
    """One value through the import column's parser and length limit (raises normalize.CellError)."""
    column = COLUMNS_BY_KEY[key]
    parsed = column.parse(value)
    if isinstance(parsed, str) and column.max_length and len(parsed) > column.max_length:
        raise normalize.CellError(f"超过{column.max_length}个字符")
    return parsed


def check_record(values: dict, *, today: date | None = None) -> dict[str | None, list[str]]:
    """Run the import's cross-field rules on ``values`` (resident_id, phone, birth_date, gender).

    Like the import, a valid resident ID fills in ``birth_date`` and ``gender``. Returns the
    problems as {field or None: [Chinese reason, …]}.
    """
    row = Row("", 0, [], values=values)
    _RecordRules(today=today).check(row)
    values.pop("unit_id", None)
    values.pop("category_id", None)
    problems: dict[str | None, list[str]] = {}
    for message in row.errors:
        match = _REASON.match(message)
        field = _FIELD_BY_LABEL.get(match[1]) if match else None
        problems.setdefault(field, []).append(match[2] if field else message)
    return problems


def resident_id_taken(number: str, *, exclude_pk: int | None = None) -> bool:
    """Whether anyone (in any unit) is already registered with this resident ID (blind-index lookup)."""
    if not number:
        return False
    others = Person.objects.filter(resident_id_bidx=cipher().blind_index(number))
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    return others.exists()


def can_log_contacts(user) -> bool:
    return user.is_superuser or user.role in CONTACT_ROLES


BULK_ACTIONS = ("tag", "backbone_on", "backbone_off", "move")


def bulk_apply(people, action: str, *, actor, tag: str = "", unit=None) -> int:
    """One of the list page's bulk actions on ``people`` (an already scoped queryset)."""
    if action == "tag":
        return bulk_tag(people, tag, actor=actor)
    if action in ("backbone_on", "backbone_off"):
        return bulk_set_backbone(people, action == "backbone_on", actor=actor)
    if action == "move":
        return bulk_move(people, unit, actor=actor)
    raise ValueError(f"unknown bulk action {action!r}")


def reveal_many(people, *, actor, via: str = "api") -> dict[int, tuple[str, str]]:
    """Plain resident ID and phone of several people, audit-logged as one ``view_pii`` event."""
    if not actor.can_unmask:
        raise PermissionError("role may not see personal data")
    people = list(people)
    plain = {p.pk: (p.reveal_resident_id(), p.reveal_phone()) for p in people}
    if len(people) == 1:
        record(actor, "view_pii", people[0], details={"field": "resident_id,phone", "via": via})
    elif people:
        record(
            actor,
            "view_pii",
            None,
            details={"field": "resident_id,phone", "via": via, "people": [p.pk for p in people]},
        )
    return plain


FILTER_KEYS = (
    "unit",
    "category",
    "political_status",
    "backbone",
    "talent",
    "tag",
    "min_age",
    "max_age",
    "q",
    "sort",
)


def describe_filters(params) -> dict:
    """The roster filters in ``params`` for the audit log, with a searched ID or phone masked."""
    found = {key: str(params.get(key))[:50] for key in FILTER_KEYS if params.get(key) not in (None, "")}
    term = found.get("q", "").replace(" ", "")
    if len(term) >= 11 and term[:11].isdigit():
        found["q"] = mask_resident_id(term) if len(term) > 11 else mask_phone(term)
    return found


def export_to_tempfile(people, *, actor, unmask: bool, filters: dict):
    """The streaming roster export written to an anonymous temporary file, rewound for reading."""
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it
    try:
        export_roster(people, handle, actor=actor, unmask=unmask, filters=filters)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle


TEMPLATE_ROWS = 20000
TEMPLATE_HELP = {
    "name": ("必填", "2个字及以上，不能含数字", "张三"),
    "resident_id": (
        "与手机号至少填一项",
        "18位，末位可为X；请按文本填写（本模板已设为文本格式）",
        "33078219990305123X",
    ),
    "phone": ("与身份证号至少填一项", "11位手机号，以1开头", "13812345678"),
    "gender": ("选填", "从下拉列表选择；填了身份证号可不填，以身份证号为准", "男"),
    "birth_date": (
        "选填",
        "格式如 1999-03-05（也可写 1999.3.5、1999年3月5日）；填了身份证号可不填",
        "1999-03-05",
    ),
    "political_status": ("选填", "从下拉列表选择", "共青团员"),
    "category": ("选填", "从下拉列表选择（完整列表见隐藏的“选项”页）", "外卖骑手"),
    "unit": ("选填", "所属村社区等单位的编码（推荐）或名称；留空则归入导入时选择的单位", "330782001001"),
    "is_backbone": ("选填", "是 / 否", "否"),
    "in_talent_pool": ("选填", "是 / 否", "否"),
}


def write_import_template(target) -> None:
    """The roster import template (.xlsx): the columns, drop-downs backed by a hidden “选项” sheet,
    and a “说明” sheet explaining the formats."""
    workbook = xlsxwriter.Workbook(target, {"strings_to_numbers": False, "strings_to_formulas": False})
    head = workbook.add_format({"bold": True, "bg_color": "#DCE6F1", "border": 1})
    required_head = workbook.add_format({"bold": True, "bg_color": "#F8CBAD", "border": 1})
    text = workbook.add_format({"num_format": "@"})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    bold = workbook.add_format({"bold": True})

    sheet = workbook.add_worksheet("花名册")
    guide = workbook.add_worksheet("说明")
    options = workbook.add_worksheet("选项")

    lists = {
        "gender": ("性别选项", ["男", "女"]),
        "political_status": ("政治面貌选项", list(POLITICAL_LABELS.values())),
        "category": (
            "群体类别选项",
            list(Category.objects.order_by("sort", "id").values_list("name", flat=True)),
        ),
        "yes_no": ("是否选项", ["是", "否"]),
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
        label = column.label + ("*" if column.required else "")
        sheet.write_string(0, col, label, required_head if column.required else head)
        width = 22 if column.key == "resident_id" else 14
        sheet.set_column(
            col, col, width, text if column.key in ("resident_id", "phone", "birth_date") else None
        )
        if column.key in TEMPLATE_HELP:
            sheet.write_comment(0, col, TEMPLATE_HELP[column.key][1])
        source = {
            "gender": "gender",
            "political_status": "political_status",
            "category": "category",
            "is_backbone": "yes_no",
            "in_talent_pool": "yes_no",
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
                    "error_type": "warning" if source == "political_status" else "stop",
                    "error_title": column.label,
                    "error_message": "请从下拉列表中选择",
                },
            )
    sheet.freeze_panes(1, 0)

    guide.set_column(0, 0, 16)
    guide.set_column(1, 1, 20)
    guide.set_column(2, 2, 70, wrap)
    guide.set_column(3, 3, 22)
    max_rows = settings.TUANJU["IMPORT_LIMITS"]["max_rows"]
    notes = [
        "花名册导入说明",
        "1. 在“花名册”页第一行之下逐行填写，每人一行；请勿修改或删除表头，带 * 的列必须填写。",
        "2. 身份证号请按文本填写（本模板已将该列设为文本格式）；若以数字保存，Excel会变成科学计数法并丢失末尾数字，导入时会被拒绝。",
        "3. 身份证号和手机号至少填写一项；同一身份证号在系统中只能登记一次。",
        "4. 日期写成 1999-03-05 这样的格式；填写了身份证号时，出生日期和性别以身份证号为准，不一致的行会被拒绝。",
        "5. 手机号为11位数字，以1开头；可带 +86 前缀或空格、横线，系统会自动去除。",
        "6. 性别、政治面貌、群体类别、是否骨干、是否入人才库请从下拉列表中选择。",
        f"7. 一个文件最多 {max_rows} 行；有问题的行不会导入，导入结束后可下载错误报告，修改后再次导入即可。",
    ]
    for row, line in enumerate(notes):
        guide.write_string(row, 0, line, bold if row == 0 else None)
    start = len(notes) + 1
    for col, title in enumerate(["列名", "是否必填", "填写说明", "示例"]):
        guide.write_string(start, col, title, head)
    for offset, column in enumerate(COLUMNS, start=start + 1):
        need, how, example = TEMPLATE_HELP.get(
            column.key,
            ("选填", f"不超过{column.max_length}个字" if column.max_length else "", ""),
        )
        guide.write_string(offset, 0, column.label)
        guide.write_string(offset, 1, need)
        guide.write_string(offset, 2, how)
        if example:
            guide.write_string(offset, 3, example)
    workbook.close()
