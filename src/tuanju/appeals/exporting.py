"""Export of appeals and service records (streaming xlsx, formula-injection safe, audit-logged)."""

from __future__ import annotations

import tempfile

from django.utils import timezone

from tuanju.appeals.actions import may_see_identity
from tuanju.audit.actions import record
from tuanju.imports.xlsx import StreamingSheetWriter

APPEAL_HEADER = [
    ("工单编号", 20),
    ("12345工单编号", 18),
    ("受理时间", 17),
    ("来源", 12),
    ("类别", 10),
    ("标题", 30),
    ("诉求内容", 60),
    ("地点", 24),
    ("受理单位", 16),
    ("责任单位", 16),
    ("协作部门", 20),
    ("状态", 8),
    ("分派时间", 17),
    ("办理时限（工作日）", 10),
    ("截止日期", 12),
    ("是否超期", 8),
    ("答复时间", 17),
    ("超时答复", 8),
    ("答复内容", 60),
    ("满意度", 10),
    ("评价意见", 30),
    ("重办次数", 8),
    ("办结时间", 17),
    ("联系人", 10),
    ("联系电话", 14),
]


def _local(moment):
    return timezone.localtime(moment) if moment else None


def export_appeals(appeals, target, *, actor, unmask: bool, filters: dict) -> int:
    today = timezone.localdate()
    writer = StreamingSheetWriter(target, "诉求工单")
    writer.header([h for h, _w in APPEAL_HEADER], [w for _h, w in APPEAL_HEADER])
    count = 0
    rows = appeals.select_related("category", "unit", "intake_unit", "department").order_by(
        "-received_at", "-pk"
    )
    for appeal in rows.iterator(chunk_size=2000):
        identity = may_see_identity(actor, appeal)
        phone = ""
        if identity:
            phone = appeal.reveal_phone() if unmask else appeal.phone_masked
        writer.write(
            [
                appeal.number,
                appeal.hotline_number or "",
                _local(appeal.received_at),
                appeal.get_source_display(),
                appeal.category.name,
                appeal.title,
                appeal.content,
                appeal.location,
                appeal.intake_unit.name,
                appeal.unit.name,
                appeal.department.name if appeal.department_id else "",
                appeal.get_status_display(),
                _local(appeal.assigned_at),
                appeal.time_limit_days,
                appeal.due_date,
                appeal.is_overdue(today),
                _local(appeal.replied_at),
                appeal.replied_late if appeal.replied_at else "",
                appeal.reply_text,
                appeal.get_satisfaction_display() if appeal.satisfaction else "",
                appeal.rating_comment,
                appeal.reopen_count,
                _local(appeal.closed_at),
                (appeal.contact_name if identity else "匿名"),
                phone,
            ]
        )
        count += 1
    writer.close()
    record(
        actor,
        "export",
        None,
        details={"kind": "appeals", "rows": count, "unmask": unmask, "filters": filters},
    )
    return count


def export_records(records, target, *, actor) -> int:
    writer = StreamingSheetWriter(target, "服务记录")
    header = [
        ("日期", 12),
        ("服务阵地", 24),
        ("类型", 14),
        ("所属单位", 16),
        ("服务项目", 12),
        ("服务人次", 10),
        ("来源", 10),
        ("备注", 30),
    ]
    writer.header([h for h, _ in header], [w for _, w in header])
    count = 0
    for entry in (
        records.select_related("station", "station__unit", "service")
        .order_by("-served_on", "-pk")
        .iterator(chunk_size=2000)
    ):
        writer.write(
            [
                entry.served_on,
                entry.station.name,
                entry.station.get_kind_display(),
                entry.station.unit.name,
                entry.service.name if entry.service_id else "",
                entry.people_count,
                entry.get_source_display(),
                entry.note,
            ]
        )
        count += 1
    writer.close()
    record(actor, "export", None, details={"kind": "service_records", "rows": count})
    return count


def to_tempfile(function, *args, **kwargs):
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it
    try:
        function(*args, handle, **kwargs)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle
