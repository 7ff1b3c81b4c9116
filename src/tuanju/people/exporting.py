"""Roster export: streaming xlsx for a million rows, masked unless the role may see personal data."""

from __future__ import annotations

from tuanju.audit.actions import record
from tuanju.core.crypto import cipher
from tuanju.imports.xlsx import StreamingSheetWriter
from tuanju.people.importing import POLITICAL_LABELS
from tuanju.people.models import Category

HEADER = [
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "手机号",
    "政治面貌",
    "民族",
    "学历",
    "群体类别",
    "工作单位",
    "所属单位",
    "单位编码",
    "特长",
    "兴趣爱好",
    "需求",
    "是否骨干",
    "是否入人才库",
    "备注",
]
WIDTHS = [10, 6, 12, 22, 14, 12, 8, 10, 14, 20, 18, 20, 16, 16, 20, 8, 10, 20]
GENDERS = {"M": "男", "F": "女"}


def export_roster(
    people, target, *, actor, unmask: bool, filters: dict | None = None, chunk: int = 5000
) -> int:
    """Write ``people`` (an already scoped queryset) to ``target``; returns the row count."""
    if unmask and not actor.can_unmask:
        raise PermissionError("role may not export unmasked personal data")
    categories = dict(Category.objects.values_list("pk", "name"))
    fields = [
        "name",
        "gender",
        "birth_date",
        "political_status",
        "ethnicity",
        "education",
        "category_id",
        "employer",
        "unit__name",
        "unit__code",
        "skills",
        "interests",
        "needs",
        "is_backbone",
        "in_talent_pool",
        "notes",
    ]
    fields += ["resident_id_enc", "phone_enc"] if unmask else ["resident_id_masked", "phone_masked"]
    c = cipher()
    writer = StreamingSheetWriter(target, "花名册")
    writer.header(HEADER, WIDTHS)
    count = 0
    for (
        name,
        gender,
        born,
        political,
        ethnicity,
        education,
        category_id,
        employer,
        unit_name,
        unit_code,
        skills,
        interests,
        needs,
        backbone,
        talent,
        notes,
        rid,
        phone,
    ) in people.order_by("unit__path", "pk").values_list(*fields).iterator(chunk_size=chunk):
        if unmask:
            rid, phone = c.decrypt(rid), c.decrypt(phone)
        writer.write(
            [
                name,
                GENDERS.get(gender, ""),
                born,
                rid,
                phone,
                POLITICAL_LABELS.get(political, ""),
                ethnicity,
                education,
                categories.get(category_id, ""),
                employer,
                unit_name,
                unit_code,
                skills,
                interests,
                needs,
                backbone,
                talent,
                notes,
            ]
        )
        count += 1
    writer.close()
    record(
        actor,
        "export",
        None,
        details={"kind": "roster", "rows": count, "unmasked": unmask, "filters": filters or {}},
    )
    return count
