"""Domain operations on directives: drafting, approval, sending, closing, copying — and the public
side: a person opening their link, acknowledging (收到), signing up.

Staff writes are audit-logged. A person's acknowledgement is not: the receipt row *is* its record
(who, when, through which link), and a million of them must not double the writes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from tuanju.accounts.models import Role
from tuanju.audit.actions import record
from tuanju.core.crypto import cipher
from tuanju.core.scope import user_sees_unit
from tuanju.groups.models import Community, GroupKind, GroupLiaison, GroupMember
from tuanju.hierarchy.models import TOWER_LEVELS, OrgUnit
from tuanju.imports import normalize
from tuanju.organizations.models import Alliance, Organization
from tuanju.people.models import Person

from . import conf
from .models import (
    LIVE_STATUSES,
    Directive,
    DirectiveTarget,
    GroupDelivery,
    Message,
    MessageState,
    Receipt,
    Status,
    TargetKind,
    Urgency,
)

EDITABLE = (Status.DRAFT, Status.REJECTED)
DIRECTIVE_FIELDS = (
    "title",
    "body",
    "image_url",
    "attachment_url",
    "urgency",
    "require_ack",
    "signup_enabled",
    "signup_quota",
    "signup_note",
    "use_robots",
    "use_sms",
    "use_email",
)


def _require_writer(actor) -> None:
    if actor is None or not getattr(actor, "can_write", False):
        raise PermissionDenied("您的角色不能发送指令")


# --- Targets ----------------------------------------------------------------------------------------


@dataclass
class TargetSpec:
    """A target as entered (form or API), before it is checked against the sender's scope."""

    kind: str
    unit: OrgUnit | None = None
    levels: tuple[str, ...] = ()
    community: Community | None = None
    organization: Organization | None = None
    alliance: Alliance | None = None
    filters: dict | None = None


def _label(spec: TargetSpec) -> str:
    if spec.kind == TargetKind.UNIT:
        return f"{spec.unit.name}（全部塔群和青年）"
    if spec.kind == TargetKind.LEVEL:
        names = {"tier1": "一级", "tier2": "二级", "tier3": "三级"}
        return f"{spec.unit.name}的{'、'.join(names[lv] for lv in spec.levels)}单元群"
    if spec.kind == TargetKind.COMMUNITY:
        return f"社群：{spec.community.name}"
    if spec.kind == TargetKind.ORGANIZATION:
        return f"组织：{spec.organization.name}"
    if spec.kind == TargetKind.ALLIANCE:
        return f"联盟：{spec.alliance.name}"
    parts = [spec.unit.name if spec.unit else ""]
    f = spec.filters or {}
    if f.get("backbone"):
        parts.append("骨干")
    if f.get("political_status"):
        parts.append("政治面貌筛选")
    if f.get("category"):
        parts.append("群体类别筛选")
    if f.get("age_min") or f.get("age_max"):
        parts.append(f"{f.get('age_min') or ''}–{f.get('age_max') or ''}岁")
    return "青年筛选：" + " · ".join(p for p in parts if p)


def check_targets(actor, home: OrgUnit, specs: list[TargetSpec]) -> list[DirectiveTarget]:
    """Validate targets against the sender's scope; returns unsaved ``DirectiveTarget`` rows."""
    if not specs:
        raise ValidationError({"targets": "请至少选择一个发送对象"})
    rows = []
    seen = set()
    for spec in specs:
        if spec.kind not in TargetKind.values:
            raise ValidationError({"targets": f"未知的对象类型“{spec.kind}”"})
        if spec.kind in (TargetKind.UNIT, TargetKind.LEVEL, TargetKind.PEOPLE):
            unit = spec.unit or (home if spec.kind == TargetKind.PEOPLE else None)
            if unit is None or not unit.path.startswith(home.path) or not user_sees_unit(actor, unit):
                raise ValidationError({"targets": "发送对象必须在本单位范围内"})
            spec.unit = unit
        if spec.kind == TargetKind.LEVEL:
            spec.levels = tuple(lv for lv in TOWER_LEVELS if lv in set(spec.levels))
            if not spec.levels:
                raise ValidationError({"targets": "请选择塔群层级"})
        for attr in ("community", "organization", "alliance"):
            if spec.kind == attr:
                obj = getattr(spec, attr)
                if (
                    obj is None
                    or not obj.unit.path.startswith(home.path)
                    or not user_sees_unit(actor, obj.unit)
                ):
                    raise ValidationError({"targets": "发送对象必须在本单位范围内"})
        if spec.kind == TargetKind.PEOPLE:
            spec.filters = _clean_filters(spec.filters or {})
        key = (
            spec.kind,
            getattr(spec.unit, "pk", None),
            spec.levels,
            getattr(spec.community, "pk", None),
            getattr(spec.organization, "pk", None),
            getattr(spec.alliance, "pk", None),
            repr(sorted((spec.filters or {}).items())),
        )
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            DirectiveTarget(
                kind=spec.kind,
                unit=spec.unit
                if spec.kind in (TargetKind.UNIT, TargetKind.LEVEL, TargetKind.PEOPLE)
                else None,
                levels=",".join(spec.levels),
                community=spec.community if spec.kind == TargetKind.COMMUNITY else None,
                organization=spec.organization if spec.kind == TargetKind.ORGANIZATION else None,
                alliance=spec.alliance if spec.kind == TargetKind.ALLIANCE else None,
                filters=spec.filters or {} if spec.kind == TargetKind.PEOPLE else {},
                label=_label(spec)[:200],
            )
        )
    return rows


def _clean_filters(filters: dict) -> dict:
    clean: dict = {}
    if filters.get("political_status"):
        clean["political_status"] = [str(v)[:12] for v in filters["political_status"]][:10]
    if filters.get("category"):
        clean["category"] = [int(v) for v in filters["category"]][:50]
    for flag in ("backbone", "talent_pool"):
        if filters.get(flag):
            clean[flag] = True
    for bound in ("age_min", "age_max"):
        value = filters.get(bound)
        if value not in (None, ""):
            value = int(value)
            if not 0 <= value <= 120:
                raise ValidationError({"targets": "年龄范围不正确"})
            clean[bound] = value
    if (
        clean.get("age_min") is not None
        and clean.get("age_max") is not None
        and clean["age_min"] > clean["age_max"]
    ):
        raise ValidationError({"targets": "年龄下限不能大于上限"})
    return clean


# --- Drafting and approval -----------------------------------------------------------------------------


def _clean(directive: Directive, data: dict) -> None:
    for key in DIRECTIVE_FIELDS:
        if key in data:
            value = data[key]
            if key in ("title", "signup_note"):
                value = normalize.text(value or "")
            elif key == "body":
                value = (value or "").strip()
            setattr(directive, key, value)
    if not directive.title:
        raise ValidationError({"title": "请填写指令标题"})
    if not directive.body:
        raise ValidationError({"body": "请填写指令内容"})
    if directive.urgency not in Urgency.values:
        raise ValidationError({"urgency": "请选择紧急程度"})
    if not directive.signup_enabled:
        directive.signup_quota = None
    elif directive.signup_quota is not None and directive.signup_quota <= 0:
        raise ValidationError({"signup_quota": "报名名额应大于 0"})
    if directive.use_sms and not conf.channel("sms").get("url"):
        raise ValidationError({"use_sms": "尚未配置短信网关，不能发送短信"})
    directive.full_clean(exclude=["unit", "created_by", "decided_by", "copied_from", "reach_totals"])


@transaction.atomic
def save_directive(
    directive: Directive, *, data: dict, targets: list[TargetSpec], actor, unit: OrgUnit | None = None
) -> Directive:
    """Create or edit a draft (or a rejected directive, which becomes a draft again)."""
    _require_writer(actor)
    creating = directive.pk is None
    if not creating and directive.status not in EDITABLE:
        raise ValidationError("已提交的指令不能修改；可以复制为新指令")
    home = unit or (directive.unit if not creating else actor.unit)
    if home is None or not user_sees_unit(actor, home):
        raise PermissionDenied("发送单位不在您的范围内")
    directive.unit = home
    if creating:
        directive.created_by = actor
    _clean(directive, data)
    rows = check_targets(actor, home, targets)
    directive.status = Status.DRAFT
    directive.save()
    directive.targets.all().delete()
    for row in rows:
        row.directive = directive
    DirectiveTarget.objects.bulk_create(rows)
    record(
        actor,
        "create" if creating else "update",
        directive,
        details={"title": directive.title, "urgency": directive.urgency, "targets": [r.label for r in rows]},
    )
    return directive


def needs_approval(actor, directive: Directive) -> bool:
    if actor.is_superuser:
        return False
    roles = set(conf.get("APPROVAL_ROLES"))
    return actor.role in roles and directive.urgency not in set(conf.get("APPROVAL_EXEMPT_URGENCIES"))


def can_approve(actor, directive: Directive) -> bool:
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return False
    if actor.pk == directive.created_by_id and not actor.is_superuser:
        return False  # four eyes
    if actor.is_superuser:
        return True
    return (
        actor.role == Role.ADMIN
        and actor.unit is not None
        and directive.unit.path.startswith(actor.unit.path)
    )


@transaction.atomic
def submit(directive: Directive, *, actor) -> Directive:
    """Send at once, or put before an approver when the sender's role requires it."""
    _require_writer(actor)
    if directive.status not in EDITABLE:
        raise ValidationError("该指令已提交")
    if not directive.targets.exists():
        raise ValidationError("请至少选择一个发送对象")
    directive.submitted_at = timezone.now()
    if needs_approval(actor, directive):
        directive.status = Status.PENDING
        directive.save(update_fields=["status", "submitted_at", "updated_at"])
        record(actor, "submit", directive, details={"approval": "required"})
        return directive
    directive.save(update_fields=["submitted_at", "updated_at"])
    record(actor, "submit", directive, details={"approval": "not required"})
    return _send(directive, actor=actor)


@transaction.atomic
def approve(directive: Directive, *, actor, note: str = "") -> Directive:
    if directive.status != Status.PENDING:
        raise ValidationError("该指令不在待审批状态")
    if not can_approve(actor, directive):
        raise PermissionDenied("只有上级或本级管理员可以审批他人提交的指令")
    directive.decided_by, directive.decided_at = actor, timezone.now()
    directive.decision_note = normalize.text(note)[:200]
    directive.save(update_fields=["decided_by", "decided_at", "decision_note", "updated_at"])
    record(actor, "approve", directive, details={"note": directive.decision_note})
    return _send(directive, actor=actor)


@transaction.atomic
def reject(directive: Directive, *, actor, note: str) -> Directive:
    if directive.status != Status.PENDING:
        raise ValidationError("该指令不在待审批状态")
    if not can_approve(actor, directive):
        raise PermissionDenied("只有上级或本级管理员可以审批他人提交的指令")
    note = normalize.text(note)[:200]
    if not note:
        raise ValidationError({"note": "请填写退回原因"})
    directive.status = Status.REJECTED
    directive.decided_by, directive.decided_at, directive.decision_note = actor, timezone.now(), note
    directive.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])
    record(actor, "reject", directive, details={"note": note})
    return directive


def _send(directive: Directive, *, actor) -> Directive:
    from .tasks import plan_task

    directive.status = Status.PLANNING
    directive.sent_at = timezone.now()
    directive.service_seconds = conf.service_seconds(directive.urgency)
    directive.save(update_fields=["status", "sent_at", "service_seconds", "updated_at"])
    record(
        actor,
        "send",
        directive,
        details={"urgency": directive.urgency, "service_seconds": directive.service_seconds},
    )
    pk = directive.pk
    transaction.on_commit(lambda: plan_task(pk))
    return directive


def run_plan(directive_id: int) -> dict:
    """Plan the fan-out, hand the messages to the workers, schedule the escalation rounds."""
    from . import delivery, planning
    from .tasks import escalate_task

    directive = Directive.objects.get(pk=directive_id)
    result = planning.plan(directive)
    if not result.already:
        delivery.dispatch(directive_id)
        directive.refresh_from_db()
        if directive.require_ack and directive.sent_at:
            for share in conf.get("ESCALATION_STEPS"):
                eta = directive.sent_at + timedelta(seconds=share * directive.sla_seconds + 1)
                escalate_task.schedule(args=(directive_id,), eta=eta)
        delivery.check_progress(directive_id)
    return {
        "groups": result.groups,
        "people": result.people,
        "messages": result.messages,
        "seconds": result.seconds,
    }


@transaction.atomic
def withdraw(directive: Directive, *, actor) -> Directive:
    _require_writer(actor)
    if directive.status not in (Status.DRAFT, Status.PENDING, Status.REJECTED):
        raise ValidationError("已发出的指令不能撤回；可以结束它")
    directive.status = Status.CANCELLED
    directive.save(update_fields=["status", "updated_at"])
    record(actor, "withdraw", directive)
    return directive


@transaction.atomic
def close(directive: Directive, *, actor) -> Directive:
    """Stop collecting acknowledgements and cancel whatever is still queued."""
    _require_writer(actor)
    if directive.status not in LIVE_STATUSES:
        raise ValidationError("只有已发出的指令可以结束")
    directive.status = Status.CLOSED
    directive.closed_at = timezone.now()
    directive.save(update_fields=["status", "closed_at", "updated_at"])
    cancelled = Message.objects.filter(
        directive=directive, state__in=(MessageState.QUEUED, MessageState.RETRY)
    ).update(state=MessageState.CANCELLED)
    record(actor, "close", directive, details={"cancelled_messages": cancelled})
    return directive


@transaction.atomic
def copy(directive: Directive, *, actor) -> Directive:
    """A new draft with the same text, settings and targets (a directive used as a template)."""
    _require_writer(actor)
    # A directive received from above is copied into the copier's own unit.
    home = directive.unit if user_sees_unit(actor, directive.unit) else actor.unit
    if home is None:
        raise PermissionDenied("您的账号没有绑定单位")
    new = Directive(unit=home, created_by=actor, copied_from=directive, status=Status.DRAFT)
    for key in DIRECTIVE_FIELDS:
        setattr(new, key, getattr(directive, key))
    new.title = (directive.title if directive.title.startswith("（副本）") else f"（副本）{directive.title}")[
        :100
    ]
    new.save()
    rows = []
    for t in directive.targets.all():
        unit_ok = t.unit is None or (t.unit.path.startswith(home.path) and user_sees_unit(actor, t.unit))
        if unit_ok:
            rows.append(
                DirectiveTarget(
                    directive=new,
                    kind=t.kind,
                    unit=t.unit,
                    levels=t.levels,
                    community=t.community,
                    organization=t.organization,
                    alliance=t.alliance,
                    filters=t.filters,
                    label=t.label,
                )
            )
    DirectiveTarget.objects.bulk_create(rows)
    record(actor, "create", new, details={"copied_from": directive.pk})
    return new


@transaction.atomic
def ack_group_by_staff(delivery: GroupDelivery, *, actor, note: str = "") -> GroupDelivery:
    """A cadre records that a group confirmed by other means (a phone call to its liaison)."""
    _require_writer(actor)
    if delivery.acked_at is not None:
        raise ValidationError("该群已确认收到")
    now = timezone.now()
    GroupDelivery.objects.filter(pk=delivery.pk, acked_at__isnull=True).update(acked_at=now)
    delivery.acked_at = now
    record(
        actor,
        "acknowledge",
        delivery.directive,
        unit=delivery.unit,
        details={"group": delivery.group_id, "by_staff": True, "note": normalize.text(note)[:200]},
    )
    return delivery


# --- The public side: a person's link ---------------------------------------------------------------


class AckRefused(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


@dataclass
class AckResult:
    receipt_id: int
    directive_id: int
    created: bool  # False: it had been acknowledged before
    acked_at: object = None


_known_acked = set()
_known_lock = threading.Lock()
_LIVE = ("planning", "sending", "sent")


def _tables():
    q = connection.ops.quote_name
    return (
        q(Receipt._meta.db_table),
        q(GroupDelivery._meta.db_table),
        q(Directive._meta.db_table),
        q(GroupLiaison._meta.db_table),
    )


def forget_known_acks() -> None:
    """Drop this process's memory of acknowledged groups (tests; after a database restore)."""
    with _known_lock:
        _known_acked.clear()


def acknowledge(receipt_id: int, *, via: str = "link", now=None) -> AckResult:
    """收到: record a person's acknowledgement and their group's (first one wins). Idempotent.

    One UPDATE … RETURNING on the receipt; the group is stamped only if this process has not
    seen it acknowledged yet (``sweep`` repairs any group a crash left unstamped).
    """
    now = now or timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    receipt, gd, directive, liaison = _tables()
    live = ", ".join(f"'{s}'" for s in _LIVE)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {receipt} SET acked_at = %s, opened_at = COALESCE(opened_at, %s), ack_via = %s"  # noqa: S608
            f" WHERE id = %s AND acked_at IS NULL AND directive_id IN"
            f" (SELECT id FROM {directive} WHERE status IN ({live}))"
            f" RETURNING directive_id, group_id, is_liaison, person_id",
            [at, at, via[:8], receipt_id],
        )
        row = cursor.fetchone()
        if row is None:
            cursor.execute(
                f"SELECT r.directive_id, r.acked_at, d.status FROM {receipt} r JOIN {directive} d"  # noqa: S608
                f" ON d.id = r.directive_id WHERE r.id = %s",
                [receipt_id],
            )
            found = cursor.fetchone()
            if found is None:
                raise AckRefused("链接无效", 404)
            if found[1] is None:
                raise AckRefused("该指令已结束，无需再确认", 410)
            return AckResult(receipt_id, found[0], False, found[1])
        directive_id, group_id, is_liaison, person_id = row
        if group_id is not None and (directive_id, group_id) not in _known_acked:
            cursor.execute(
                f"UPDATE {gd} SET acked_at = %s, acked_by_id = %s WHERE directive_id = %s"  # noqa: S608
                f" AND group_id = %s AND acked_at IS NULL",
                [at, person_id, directive_id, group_id],
            )
            with _known_lock:
                if len(_known_acked) > 200_000:
                    _known_acked.clear()
                _known_acked.add((directive_id, group_id))
        if is_liaison:
            cursor.execute(
                f"UPDATE {gd} SET acked_at = %s, acked_by_id = %s WHERE directive_id = %s AND acked_at IS NULL"  # noqa: S608
                f" AND group_id IN (SELECT group_id FROM {liaison} WHERE person_id = %s)",
                [at, person_id, directive_id, person_id],
            )
    return AckResult(receipt_id, directive_id, True, now)


def mark_opened(receipt_id: int, *, now=None) -> None:
    Receipt.objects.filter(pk=receipt_id, opened_at__isnull=True).update(opened_at=now or timezone.now())


@transaction.atomic
def sign_up(receipt: Receipt) -> Receipt:
    """报名: take one of the directive's volunteer places (acknowledging it too)."""
    receipt = Receipt.objects.select_for_update().select_related("directive").get(pk=receipt.pk)
    directive = receipt.directive
    if not directive.signup_enabled:
        raise AckRefused("该指令不招募志愿者")
    if directive.status not in LIVE_STATUSES:
        raise AckRefused("该指令已结束", 410)
    if receipt.signed_up_at is not None:
        return receipt
    taken = Directive.objects.filter(pk=directive.pk)
    if directive.signup_quota is not None:
        taken = taken.filter(signup_count__lt=F("signup_quota"))
    if not taken.update(signup_count=F("signup_count") + 1):
        raise AckRefused("报名名额已满，感谢您的支持", 409)
    now = timezone.now()
    receipt.signed_up_at = now
    receipt.opened_at = receipt.opened_at or now
    receipt.save(update_fields=["signed_up_at", "opened_at"])
    if receipt.acked_at is None:
        acknowledge(receipt.pk, via="signup", now=now)
    record(
        None,
        "sign_up",
        directive,
        unit=directive.unit,
        details={"receipt": receipt.pk, "person": receipt.person_id},
    )
    return receipt


@transaction.atomic
def cancel_sign_up(receipt: Receipt) -> Receipt:
    receipt = Receipt.objects.select_for_update().select_related("directive").get(pk=receipt.pk)
    if receipt.signed_up_at is None:
        return receipt
    if receipt.directive.status not in LIVE_STATUSES:
        raise AckRefused("该指令已结束", 410)
    receipt.signed_up_at = None
    receipt.save(update_fields=["signed_up_at"])
    Directive.objects.filter(pk=receipt.directive_id, signup_count__gt=0).update(
        signup_count=F("signup_count") - 1
    )
    record(
        None,
        "cancel_sign_up",
        receipt.directive,
        unit=receipt.directive.unit,
        details={"receipt": receipt.pk},
    )
    return receipt


def find_in_group(delivery: GroupDelivery, phone: str) -> Receipt:
    """The receipt of the person with ``phone`` for a group link's directive (group page 收到)."""
    bidx = cipher().blind_index(phone)
    people = Person.objects.filter(phone_bidx=bidx).values("pk")
    receipt = Receipt.objects.filter(directive_id=delivery.directive_id, person_id__in=people).first()
    if receipt is not None:
        return receipt
    # A member of this group not in the target list (joined after planning): add them now.
    member = (
        GroupMember.objects.filter(group_id=delivery.group_id, person_id__in=people)
        .select_related("person")
        .first()
    )
    liaison = (
        GroupLiaison.objects.filter(group_id=delivery.group_id, person_id__in=people)
        .select_related("person")
        .first()
    )
    person = member.person if member else (liaison.person if liaison else None)
    if person is None:
        raise AckRefused("本群名单中没有这个手机号。请使用登记时的手机号，或联系本群联络员。", 404)
    receipt, _created = Receipt.objects.get_or_create(
        directive_id=delivery.directive_id,
        person=person,
        defaults={
            "unit_id": person.unit_id,
            "group_id": delivery.group_id if delivery.group.kind == GroupKind.TOWER else None,
            "is_liaison": liaison is not None,
        },
    )
    return receipt


def repair_group_acks(directive: Directive) -> int:
    """Stamp groups whose members acknowledged but whose own stamp a crash or a race lost."""
    missing = GroupDelivery.objects.filter(directive=directive, acked_at__isnull=True).values("group_id")
    fixed = 0
    rows = (
        Receipt.objects.filter(directive=directive, acked_at__isnull=False, group_id__in=missing)
        .values_list("group_id", "acked_at", "person_id")
        .order_by("group_id", "acked_at")
    )
    first: dict[int, tuple] = {}
    for group_id, acked_at, person_id in rows.iterator(chunk_size=5000):
        first.setdefault(group_id, (acked_at, person_id))
    for group_id, (acked_at, person_id) in first.items():
        fixed += GroupDelivery.objects.filter(
            directive=directive, group_id=group_id, acked_at__isnull=True
        ).update(acked_at=acked_at, acked_by_id=person_id)
    return fixed
