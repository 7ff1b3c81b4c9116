"""Organization export: streaming xlsx (formula-safe), contact phones masked unless permitted.

The first columns carry the import's headers, so an exported sheet can be imported again.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count

from tuanju.audit.actions import record
from tuanju.core.crypto import cipher
from tuanju.imports.xlsx import StreamingSheetWriter
from tuanju.organizations.actions import org_facts
from tuanju.organizations.models import REGISTRATION_LABELS, FourHave, Organization, ServiceProject

HEADER = [
    "组织名称",
    "组织类型",
    "单位编码",
    "所属单位名称",
    "登记状态",
    "统一社会信用代码",
    "成立日期",
    "活动场所",
    "联系人",
    "联系电话",
    "负责人",
    "个人会员数",
    "团体会员数",
    "四有",
    "未达标项",
    "标签",
    "是否团属",
    "是否孵化基地",
    "是否云入驻",
    "购买服务项目数",
    "简介",
    "状态",
]
WIDTHS = [28, 10, 18, 16, 10, 22, 12, 24, 10, 14, 10, 10, 10, 8, 18, 18, 8, 10, 10, 12, 30, 8]


def export_organizations(
    organizations, target, *, actor, unmask: bool = False, filters: dict | None = None
) -> int:
    """Write ``organizations`` (an already scoped queryset) to ``target``; returns the row count."""
    if unmask and not getattr(actor, "can_unmask", False):
        raise PermissionError("role may not export unmasked personal data")
    facts = {f.pk: f for f in org_facts(organizations.order_by())}
    projects = dict(
        ServiceProject.objects.filter(organization__in=organizations.values("pk"))
        .values_list("organization_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    # The rows without the list's per-row 四有 annotations: the facts above carry those figures.
    rows = (
        Organization.objects.filter(pk__in=organizations.order_by().values("pk"))
        .select_related("org_type", "unit", "leader")
        .order_by("unit__path", "name_pinyin", "pk")
    )
    tags: dict[int, list[str]] = defaultdict(list)
    through = Organization.tags.through
    for org_id, name in (
        through.objects.filter(organization__in=organizations.values("pk"))
        .values_list("organization_id", "orgtag__name")
        .order_by("orgtag__name")
    ):
        tags[org_id].append(name)
    c = cipher()
    writer = StreamingSheetWriter(target, "青年社会组织")
    writer.header(HEADER, WIDTHS)
    count = 0
    for org in rows.iterator(chunk_size=2000):
        f = facts[org.pk]
        missing = [
            FourHave.SHORT[key]
            for key, ok in (
                (FourHave.ORGANIZATION, f.has_leader),
                (FourHave.VENUE, f.has_venue),
                (FourHave.TEAM, f.has_team),
                (FourHave.ACTIVITY, f.has_activity),
            )
            if ok is False
        ]
        writer.write(
            [
                org.name,
                org.org_type.name,
                org.unit.code,
                org.unit.name,
                REGISTRATION_LABELS.get(org.registration_status, ""),
                org.uscc or "",
                org.founded_on,
                org.venue,
                org.contact_name,
                c.decrypt(org.contact_phone_enc) if unmask else org.contact_phone_masked,
                org.leader.name if org.leader_id else "",
                f.members,
                f.group_members,
                "达标" if f.four_have else "未达标",
                "、".join(missing),
                "、".join(tags.get(org.pk, [])),
                org.is_league_affiliated,
                org.is_incubation_base,
                org.is_cloud_resident,
                projects.get(org.pk, 0),
                org.introduction,
                "运行中" if org.is_active else "已停止",
            ]
        )
        count += 1
    writer.close()
    record(
        actor,
        "export",
        None,
        details={"kind": "organizations", "rows": count, "unmasked": unmask, "filters": filters or {}},
    )
    return count
