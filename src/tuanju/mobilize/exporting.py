"""The reach report of a directive as a spreadsheet: summary, per unit, per level, silent groups,
escalations, and people who have not acknowledged (masked unless the user may unmask; bounded)."""

from __future__ import annotations

import tempfile

from django.utils import timezone

from tuanju.core.crypto import cipher
from tuanju.groups.models import GroupLiaison
from tuanju.hierarchy.models import Level, OrgUnit
from tuanju.imports.xlsx import StreamingSheetWriter

from . import conf, reach
from .models import URGENCY_LABELS, Channel, DeliveryState, Directive, Escalation, GroupDelivery, Receipt

TALLY_HEADER = [
    "单位",
    "编码",
    "群数",
    "已送达群",
    "送达率%",
    "已打开群",
    "已确认群",
    "确认率%",
    "时限内确认群",
    "失败群",
    "待联络员转发",
    "青年数",
    "已送达青年",
    "已打开青年",
    "已确认青年",
    "确认率%",
    "已报名",
]


def _tally_row(t) -> list:
    return [
        t.groups,
        t.delivered,
        t.delivered_pct,
        t.opened,
        t.acked,
        t.acked_pct,
        t.acked_in_time,
        t.failed,
        t.relay_waiting,
        t.people,
        t.people_delivered,
        t.people_opened,
        t.people_acked,
        t.people_acked_pct,
        t.signed_up,
    ]


def _local(value):
    return timezone.localtime(value) if value else ""


def reach_workbook(directive: Directive, root: OrgUnit, user) -> tuple[object, int]:
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it
    writer = StreamingSheetWriter(handle, "概况")
    result = reach.compute(directive, root)
    sla = reach.sla_state(directive)
    rows = 0
    writer.header(["项目", "内容"], [20, 60])
    for label, value in [
        ("指令", directive.title),
        ("发送单位", directive.unit.name),
        ("紧急程度", URGENCY_LABELS.get(directive.urgency, directive.urgency)),
        ("服务时限（秒）", directive.sla_seconds),
        ("发出时间", _local(directive.sent_at)),
        ("全部群已尝试送达用时（秒）", sla.get("attempted_in") if sla.get("started") else ""),
        ("统计范围", f"{root.name}（{root.code}）"),
        ("统计时间", _local(result.computed_at)),
    ]:
        writer.write([label, value])
    writer.write(["合计", ""])
    writer.write(["群数 / 已确认", f"{result.total.groups} / {result.total.acked}"])
    writer.write(["青年数 / 已确认", f"{result.total.people} / {result.total.people_acked}"])

    writer.add_sheet("分单位")
    writer.header(TALLY_HEADER, [24, 16] + [10] * 15)
    for row in result.children:
        writer.write([row.unit.name, row.unit.code, *_tally_row(row.tally)])
        rows += 1
    writer.write(["合计", root.code, *_tally_row(result.total)])

    writer.add_sheet("分层级")
    writer.header(["层级", *TALLY_HEADER[2:11]], [30] + [10] * 9)
    for _level, label, t in result.by_level:
        writer.write([str(label), *_tally_row(t)[:9]])

    writer.add_sheet("未确认的群")
    writer.header(
        [
            "群",
            "层级",
            "单位",
            "编码",
            "渠道",
            "状态",
            "首次尝试",
            "送达",
            "打开",
            "联络员",
            "催办次数",
            "错误",
        ],
        [34, 12, 20, 18, 14, 14, 17, 17, 17, 24, 8, 40],
    )
    silent = (
        GroupDelivery.objects.filter(
            directive=directive, unit__path__startswith=root.path, acked_at__isnull=True
        )
        .select_related("group", "unit")
        .order_by("unit__path", "pk")
    )
    levels, channels, states = dict(Level.choices), dict(Channel.choices), dict(DeliveryState.choices)
    batch: list[GroupDelivery] = []

    def flush():
        nonlocal rows
        names: dict[int, list[str]] = {}
        for lz in GroupLiaison.objects.filter(group_id__in=[d.group_id for d in batch]).select_related(
            "user", "person"
        ):
            names.setdefault(lz.group_id, []).append(lz.display_name)
        for d in batch:
            writer.write(
                [
                    d.group.name if d.group_id else "",
                    str(levels.get(d.level, "")),
                    d.unit.name,
                    d.unit.code,
                    str(channels.get(d.channel, d.channel)),
                    str(states.get(d.state, d.state)),
                    _local(d.attempted_at),
                    _local(d.delivered_at),
                    _local(d.opened_at),
                    "、".join(names.get(d.group_id, [])),
                    d.escalations,
                    d.error,
                ]
            )
            rows += 1
        batch.clear()

    for d in silent.iterator(chunk_size=2000):
        batch.append(d)
        if len(batch) >= 2000:
            flush()
    flush()

    writer.add_sheet("催办记录")
    writer.header(
        ["时间", "轮次", "群", "单位", "通知联络员", "通知干部", "渠道"], [17, 6, 34, 20, 24, 24, 20]
    )
    for e in (
        Escalation.objects.filter(directive=directive, delivery__unit__path__startswith=root.path)
        .select_related("delivery__group", "delivery__unit")
        .order_by("created_at", "pk")
        .iterator(chunk_size=2000)
    ):
        writer.write(
            [
                _local(e.created_at),
                e.step,
                e.delivery.group.name if e.delivery.group_id else "",
                e.delivery.unit.name,
                e.liaisons,
                e.cadres,
                e.channels,
            ]
        )

    writer.add_sheet("未确认的青年")
    unmask = getattr(user, "can_unmask", False)
    writer.header(
        ["姓名", "单位", "编码", "手机", "所在群", "已打开", "已报名"], [12, 20, 18, 14, 34, 17, 17]
    )
    people = (
        Receipt.objects.filter(directive=directive, acked_at__isnull=True)
        .filter(unit_id__in=OrgUnit.objects.filter(path__startswith=root.path).values("pk"))
        .select_related("person", "unit", "group")
        .order_by("unit_id", "pk")
    )
    limit = int(conf.get("EXPORT_MAX_PEOPLE"))
    c = cipher()
    written = 0
    for r in people.iterator(chunk_size=5000):
        if written >= limit:
            writer.write([f"（仅导出前 {limit} 人）"])
            break
        phone = c.decrypt(r.person.phone_enc) if unmask and r.person.phone_enc else r.person.phone_masked
        writer.write(
            [
                r.person.name,
                r.unit.name,
                r.unit.code,
                phone,
                r.group.name if r.group_id else "",
                _local(r.opened_at),
                _local(r.signed_up_at),
            ]
        )
        written += 1
    rows += written

    writer.add_sheet("报名名单")
    writer.header(["姓名", "单位", "手机", "报名时间"], [12, 20, 14, 17])
    for r in (
        Receipt.objects.filter(directive=directive, signed_up_at__isnull=False)
        .filter(unit_id__in=OrgUnit.objects.filter(path__startswith=root.path).values("pk"))
        .select_related("person", "unit")
        .order_by("signed_up_at")
        .iterator(chunk_size=2000)
    ):
        phone = c.decrypt(r.person.phone_enc) if unmask and r.person.phone_enc else r.person.phone_masked
        writer.write([r.person.name, r.unit.name, phone, _local(r.signed_up_at)])
    writer.close()
    handle.seek(0)
    return handle, rows
