"""Spreadsheets of activities: registrations of one activity, and volunteer hours in the layout
volunteer platforms import (姓名, 证件类型, 证件号码, 活动名称, 服务日期, 服务时长).

Resident IDs and phones are masked unless the user's role may unmask; an unmasked export is
audit-logged as a view of personal data, and every export as an export.
"""

from __future__ import annotations

import tempfile

from django.utils import timezone

from tuanju.audit.actions import record
from tuanju.imports.xlsx import StreamingSheetWriter

HOURS_HEADER = [
    "姓名",
    "证件类型",
    "证件号码",
    "手机号",
    "活动名称",
    "服务日期",
    "服务时长（小时）",
    "组织方",
    "服务地点",
    "所属单位",
]
HOURS_WIDTHS = [10, 12, 22, 14, 32, 12, 14, 28, 28, 22]
REGISTRATION_HEADER = [
    "姓名", "手机号", "身份证号", "所属单位", "报名状态", "报名方式", "报名时间", "请假", "签到时间", "迟到（分钟）",
    "签退时间", "考勤结果", "计算时长", "确认时长", "回答",
]  # fmt: skip


def _tempfile():
    return tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it


def export_hours(registrations, *, actor, unmask: bool, filters: dict | None = None):
    """Confirmed volunteer hours, one row per person and activity; returns a rewound temp file."""
    unmask = bool(unmask and actor.can_unmask)
    handle = _tempfile()
    writer = StreamingSheetWriter(handle, "志愿时长")
    writer.header(HOURS_HEADER, HOURS_WIDTHS)
    rows, people = 0, set()
    regs = registrations.select_related("person", "person__unit", "activity").order_by(
        "activity__starts_at", "pk"
    )
    for reg in regs.iterator(chunk_size=2000):
        person, activity = reg.person, reg.activity
        resident_id = person.reveal_resident_id() if unmask else person.resident_id_masked
        phone = person.reveal_phone() if unmask else person.phone_masked
        writer.write(
            [
                person.name,
                "居民身份证" if resident_id else "",
                resident_id,
                phone,
                activity.title,
                timezone.localtime(activity.starts_at).date(),
                float(reg.hours or 0),
                activity.organizer_name,
                activity.place,
                person.unit.name,
            ]
        )
        rows += 1
        people.add(person.pk)
    writer.close()
    handle.seek(0)
    details = {"kind": "volunteer_hours", "rows": rows, "unmasked": unmask, "filters": filters or {}}
    record(actor, "export", None, details=details)
    if unmask and people:
        record(
            actor,
            "view_pii",
            None,
            details={"field": "resident_id,phone", "via": "hours_export", "people": sorted(people)[:5000]},
        )
    return handle


def export_registrations(activity, *, actor, unmask: bool):
    unmask = bool(unmask and actor.can_unmask)
    handle = _tempfile()
    writer = StreamingSheetWriter(handle, "报名名单")
    writer.header(REGISTRATION_HEADER, [10, 14, 22, 20, 10, 10, 18, 10, 18, 10, 18, 12, 10, 10, 40])
    labels = dict(activity.extra_field_labels())
    labels.update({f"q{i + 1}": q for i, q in enumerate(activity.questions or [])})
    rows = 0
    regs = activity.registrations.select_related("person", "person__unit").order_by(
        "status", "registered_at", "pk"
    )
    for reg in regs.iterator(chunk_size=2000):
        person = reg.person

        def local(value):
            return timezone.localtime(value) if value else ""

        writer.write(
            [
                person.name,
                person.reveal_phone() if unmask else person.phone_masked,
                person.reveal_resident_id() if unmask else person.resident_id_masked,
                person.unit.name,
                str(reg.get_status_display()),
                str(reg.get_source_display()),
                local(reg.registered_at),
                str(reg.get_leave_status_display()) if reg.leave_status else "",
                local(reg.checked_in_at),
                reg.late_minutes or "",
                local(reg.checked_out_at),
                str(reg.get_outcome_display()) if reg.outcome else "",
                float(reg.hours_computed) if reg.hours_computed is not None else "",
                float(reg.hours) if reg.hours is not None and reg.hours_confirmed_at else "",
                "；".join(f"{labels.get(k, k)}：{v}" for k, v in (reg.answers or {}).items()),
            ]
        )
        rows += 1
    writer.close()
    handle.seek(0)
    record(actor, "export", activity, details={"kind": "registrations", "rows": rows, "unmasked": unmask})
    if unmask and rows:
        record(
            actor,
            "view_pii",
            activity,
            details={"field": "resident_id,phone", "via": "registrations_export", "rows": rows},
        )
    return handle
