"""Domain operations on appeals and service stations. Views, API, commands and tasks call these.

The work-order life cycle::

    received ──route──▶ assigned ──accept──▶ in_progress ──reply──▶ replied ──rate/close──▶ closed
       ▲  │               │  ▲ reassign        │  reassign             │
       │  └─close (invalid)│  └───────────────┘                       └─reopen (unsatisfied)──▶ in_progress
       └──────return───────┴─────────────────────┘

Any other move raises ``IllegalTransition``. Each step writes an ``AppealEvent`` (the timeline the
person and staff see) and an audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Substr
from django.urls import reverse
from django.utils import timezone

from tuanju.appeals import notify, tokens
from tuanju.appeals.models import (
    HANDLING_STATUSES,
    Appeal,
    AppealCategory,
    AppealEvent,
    AppealPhoto,
    Department,
    EventKind,
    NoticeKind,
    Satisfaction,
    ServiceRecord,
    Source,
    Station,
    Status,
)
from tuanju.appeals.workdays import WorkCalendar
from tuanju.audit.actions import record
from tuanju.core.crypto import cipher
from tuanju.core.scope import user_sees_unit
from tuanju.hierarchy.models import Level, OrgUnit

PRIVACY_VERSION = "2026-11"
MIN_CONTENT = 5
MAX_CONTENT = 2000
MAX_TIME_LIMIT = 60

#: (from, to) pairs the life cycle allows
TRANSITIONS = {
    Status.RECEIVED: {Status.ASSIGNED, Status.CLOSED},
    Status.ASSIGNED: {Status.ASSIGNED, Status.IN_PROGRESS, Status.RECEIVED},
    Status.IN_PROGRESS: {Status.ASSIGNED, Status.REPLIED, Status.RECEIVED},
    Status.REPLIED: {Status.CLOSED, Status.IN_PROGRESS},
    Status.CLOSED: set(),
}


class IllegalTransition(ValidationError):
    """A step the life cycle does not allow from the appeal's current status."""


def _settings() -> dict:
    return getattr(settings, "TUANJU", {})


def auto_close_days() -> int:
    return int(_settings().get("APPEAL_AUTO_CLOSE_DAYS", 7))


def _move(appeal: Appeal, to: str, *, only_from: tuple = ()) -> str:
    """Change the status along an allowed edge (``only_from``: the step is only valid from these)."""
    current = appeal.status
    if to not in TRANSITIONS[Status(current)] or (only_from and current not in only_from):
        raise IllegalTransition(
            f"工单当前状态为“{Status(current).label}”，不能变为“{Status(to).label}”",
            code="illegal_transition",
        )
    appeal.status = to
    return current


def _event(
    appeal: Appeal, kind: str, actor=None, *, from_status: str = "", note: str = "", handler: str = ""
):
    actor = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AppealEvent.objects.create(
        appeal=appeal,
        kind=kind,
        actor=actor,
        actor_name=(actor.display_name if actor is not None else "")[:150],
        from_status=from_status,
        to_status=appeal.status,
        handler=handler[:100],
        note=note,
    )


# --- Who may do what ------------------------------------------------------------------------------


def may_route(user, appeal: Appeal) -> bool:
    """League writers who see the appeal route and reassign it; department accounts never do."""
    return user.is_authenticated and user.can_write and not user.department_id


def may_handle(user, appeal: Appeal) -> bool:
    """Accept, note, reply: the handling department's writers, or league writers who see the appeal."""
    if not (user.is_authenticated and user.can_write):
        return False
    if user.department_id:
        return appeal.department_id == user.department_id
    return True


def may_see_identity(user, appeal: Appeal) -> bool:
    """Whether ``user`` may see who filed ``appeal`` at all (name; phone masked).

    Anonymity is toward the handler: only the receiving organization's staff who may see personal
    data (not a department, not a unit it was routed down to) can see an anonymous person.
    """
    if not appeal.is_anonymous:
        return True
    if user.is_superuser:
        return True
    return bool(user.can_unmask and not user.department_id and user_sees_unit(user, appeal.intake_unit))


def _require(check: bool, message: str) -> None:
    if not check:
        raise PermissionDenied(message)


# --- Intake ---------------------------------------------------------------------------------------


def _county_of(unit: OrgUnit) -> OrgUnit:
    if unit.level in (Level.NATION, Level.PROVINCE, Level.CITY, Level.COUNTY):
        return unit
    return next((u for u in reversed(unit.breadcrumb()) if u.level == Level.COUNTY), unit)


def match_person(unit: OrgUnit, phone: str):
    """The roster person with this phone in the unit's county, when exactly one matches."""
    from tuanju.people.models import Person

    if not phone:
        return None
    county = _county_of(unit)
    found = list(
        Person.objects.in_subtree(county)
        .filter(phone_bidx=cipher().blind_index(phone))
        .values_list("pk", flat=True)[:2]
    )
    return Person.objects.get(pk=found[0]) if len(found) == 1 else None


def _title_from(content: str) -> str:
    first = content.strip().splitlines()[0] if content.strip() else ""
    return first[:30] + ("…" if len(first) > 30 else "")


@dataclass
class NewAppeal:
    unit: OrgUnit
    category: AppealCategory
    content: str
    source: str = Source.STAFF
    title: str = ""
    location: str = ""
    contact_name: str = ""
    phone: str = ""
    is_anonymous: bool = False
    consent: bool = False
    station: Station | None = None
    received_at: object = None
    hotline_number: str | None = None
    hotline_category: str = ""


def _validate(new: NewAppeal) -> None:
    content = (new.content or "").strip()
    errors = {}
    if len(content) < MIN_CONTENT:
        errors["content"] = f"请把诉求写清楚（至少{MIN_CONTENT}个字）"
    elif len(content) > MAX_CONTENT:
        errors["content"] = f"诉求内容不能超过{MAX_CONTENT}个字"
    if not new.category.is_active:
        errors["category"] = "该类别已停用"
    if new.source == Source.H5 and not new.consent:
        errors["consent"] = "请阅读并同意个人信息处理说明"
    if new.is_anonymous and not new.phone and new.source == Source.H5:
        pass  # anonymous without a phone: the follow link is the only way back, which is fine
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def file_appeal(new: NewAppeal, *, actor=None, photos=()) -> Appeal:
    """Register an appeal (H5, staff entry, API); ``photos`` are cleaned ContentFiles (appeals.photos)."""
    _validate(new)
    content = new.content.strip()
    appeal = Appeal(
        unit=new.unit,
        intake_unit=new.unit,
        station=new.station,
        category=new.category,
        source=new.source,
        title=(new.title or "").strip()[:100] or _title_from(content),
        content=content,
        location=(new.location or "").strip()[:200],
        contact_name=(new.contact_name or "").strip()[:50],
        is_anonymous=new.is_anonymous,
        hotline_number=new.hotline_number or None,
        hotline_category=new.hotline_category[:60],
        received_at=new.received_at or timezone.now(),
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    if new.consent:
        appeal.consent_version, appeal.consent_at = PRIVACY_VERSION, timezone.now()
    appeal.set_phone(new.phone)
    appeal.person = match_person(new.unit, new.phone)
    appeal.save()
    for content_file in photos:
        AppealPhoto.objects.create(
            appeal=appeal,
            image=content_file,
            width=getattr(content_file, "width", 0),
            height=getattr(content_file, "height", 0),
            size=content_file.size,
        )
    _event(appeal, EventKind.RECEIVED, actor, note=Source(new.source).label, handler=new.unit.name)
    record(
        actor,
        "create",
        appeal,
        details={
            "source": new.source,
            "category": new.category.name,
            "anonymous": new.is_anonymous,
            "photos": len(photos),
            "consent": appeal.consent_version,
        },
    )
    return appeal


# --- Routing and handling ------------------------------------------------------------------------


def routable_departments(user, appeal: Appeal):
    """Departments ``user`` may send ``appeal`` to."""
    return Department.objects.routable_for(appeal.unit) | Department.objects.visible_to(user).filter(
        is_active=True
    )


def _deadline(start: date, days: int, calendar: WorkCalendar | None = None) -> date:
    return (calendar or WorkCalendar()).add(start, days)


@transaction.atomic
def route(
    appeal: Appeal,
    *,
    actor,
    unit: OrgUnit | None = None,
    department: Department | None = None,
    time_limit_days: int | None = None,
    note: str = "",
    now=None,
    calendar: WorkCalendar | None = None,
    notify_handler: bool = True,
) -> Appeal:
    """Assign (from received) or reassign (from assigned / in progress) to a unit or a department."""
    _require(may_route(actor, appeal), "当前账号不能分派工单")
    if (unit is None) == (department is None):
        raise ValidationError("请选择一个承办单位或一个协作部门", code="target")
    if unit is not None and not user_sees_unit(actor, unit):
        raise ValidationError("承办单位不在您的管辖范围内", code="target")
    if department is not None:
        if not department.is_active:
            raise ValidationError("该部门已停用", code="target")
        if not routable_departments(actor, appeal).filter(pk=department.pk).exists():
            raise ValidationError("不能转交给该部门", code="target")
    days = appeal.category.time_limit_days if time_limit_days is None else time_limit_days
    if not 1 <= days <= MAX_TIME_LIMIT:
        raise ValidationError(f"办理时限应为1至{MAX_TIME_LIMIT}个工作日", code="time_limit")
    if appeal.status in HANDLING_STATUSES:
        same_department = department is not None and appeal.department_id == department.pk
        same_unit = unit is not None and appeal.department_id is None and appeal.unit_id == unit.pk
        if same_department or same_unit:
            raise ValidationError("工单已由该承办方办理", code="same_target")
    reassign = appeal.status != Status.RECEIVED
    before = appeal.handler_name if reassign else ""
    previous = _move(appeal, Status.ASSIGNED)
    now = now or timezone.now()
    if unit is not None:
        appeal.unit, appeal.department = unit, None
    else:
        appeal.department = department
    appeal.assigned_at = now
    appeal.accepted_at = None
    appeal.time_limit_days = days
    appeal.due_date = _deadline(timezone.localtime(now).date(), days, calendar)
    appeal.save()
    handler = appeal.handler_name
    _event(
        appeal,
        EventKind.REASSIGNED if reassign else EventKind.ASSIGNED,
        actor,
        from_status=previous,
        note=note.strip(),
        handler=handler,
    )
    record(
        actor,
        "reassign" if reassign else "assign",
        appeal,
        details={
            "from": before,
            "to": handler,
            "department": department.pk if department else None,
            "unit": unit.code if unit else None,
            "time_limit_days": days,
            "due_date": appeal.due_date.isoformat(),
        },
    )
    if notify_handler:
        transaction.on_commit(lambda: notify.notify_handlers(appeal, NoticeKind.ASSIGNED))
    return appeal


@transaction.atomic
def accept(appeal: Appeal, *, actor, note: str = "", now=None) -> Appeal:
    _require(may_handle(actor, appeal), "当前账号不能办理该工单")
    previous = _move(appeal, Status.IN_PROGRESS, only_from=(Status.ASSIGNED,))
    appeal.accepted_at = now or timezone.now()
    appeal.save()
    _event(
        appeal,
        EventKind.ACCEPTED,
        actor,
        from_status=previous,
        note=note.strip(),
        handler=appeal.handler_name,
    )
    record(actor, "accept", appeal, details={"handler": appeal.handler_name})
    return appeal


@transaction.atomic
def add_note(appeal: Appeal, *, actor, note: str) -> AppealEvent:
    _require(may_handle(actor, appeal) or may_route(actor, appeal), "当前账号不能记录办理情况")
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "请填写办理情况"})
    event = _event(appeal, EventKind.NOTE, actor, from_status=appeal.status, note=note[:2000])
    record(actor, "update", appeal, details={"note": True})
    return event


def follow_path(appeal: Appeal) -> str:
    return reverse("h5-appeals:follow", args=[tokens.follow_token(appeal)])


@transaction.atomic
def reply(appeal: Appeal, *, actor, text: str, now=None, notify_person: bool = True) -> Appeal:
    """Answer the person. An assigned appeal is accepted on the way (both steps are recorded)."""
    _require(may_handle(actor, appeal), "当前账号不能答复该工单")
    text = (text or "").strip()
    if len(text) < MIN_CONTENT:
        raise ValidationError({"text": f"答复内容至少{MIN_CONTENT}个字"})
    if len(text) > MAX_CONTENT:
        raise ValidationError({"text": f"答复内容不能超过{MAX_CONTENT}个字"})
    now = now or timezone.now()
    if appeal.status == Status.ASSIGNED:
        accept(appeal, actor=actor, now=now)
    previous = _move(appeal, Status.REPLIED)
    appeal.replied_at = now
    appeal.reply_text = text
    appeal.replied_late = bool(appeal.due_date and timezone.localtime(now).date() > appeal.due_date)
    appeal.save()
    _event(appeal, EventKind.REPLIED, actor, from_status=previous, note=text, handler=appeal.handler_name)
    record(actor, "reply", appeal, details={"late": appeal.replied_late, "handler": appeal.handler_name})
    if notify_person:
        message = f"【团聚】您的诉求（工单{appeal.number}）已有答复，请查看并评价：{notify.public_url(follow_path(appeal))}"
        transaction.on_commit(lambda: notify.notify_person(appeal, NoticeKind.REPLY, message))
    return appeal


@transaction.atomic
def return_appeal(appeal: Appeal, *, actor, reason: str) -> Appeal:
    """退回: the handler gives the appeal back to the receiving unit, with a reason."""
    _require(may_handle(actor, appeal), "当前账号不能退回该工单")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "请填写退回原因"})
    handler = appeal.handler_name
    previous = _move(appeal, Status.RECEIVED)
    appeal.unit, appeal.department = appeal.intake_unit, None
    appeal.assigned_at = appeal.accepted_at = appeal.due_date = appeal.time_limit_days = None
    appeal.save()
    _event(appeal, EventKind.RETURNED, actor, from_status=previous, note=reason[:500], handler=handler)
    record(actor, "return", appeal, details={"from": handler, "reason": reason[:200]})
    return appeal


@transaction.atomic
def close(appeal: Appeal, *, actor, reason: str = "", now=None) -> Appeal:
    """Close a replied appeal (follow-up done), or a received one as invalid/duplicate (reason needed).

    ``actor`` None is the system (auto-close of an unrated reply)."""
    if actor is not None:
        _require(may_route(actor, appeal) or may_handle(actor, appeal), "当前账号不能办结该工单")
    reason = (reason or "").strip()
    if appeal.status == Status.RECEIVED and not reason:
        raise ValidationError({"reason": "未分派的工单办结时须说明原因（如重复、无效）"})
    previous = _move(appeal, Status.CLOSED)
    appeal.closed_at = now or timezone.now()
    appeal.close_reason = reason[:200]
    appeal.save()
    _event(appeal, EventKind.CLOSED, actor, from_status=previous, note=reason[:500])
    record(actor, "close", appeal, details={"reason": reason[:200], "from": previous})
    return appeal


@transaction.atomic
def reopen(
    appeal: Appeal, *, actor=None, reason: str, now=None, calendar: WorkCalendar | None = None
) -> Appeal:
    """Back to the handler after an unsatisfying reply, with a fresh deadline of the same length."""
    if actor is not None:
        _require(may_route(actor, appeal) or may_handle(actor, appeal), "当前账号不能重办该工单")
    previous = _move(appeal, Status.IN_PROGRESS, only_from=(Status.REPLIED,))
    now = now or timezone.now()
    appeal.reopen_count += 1
    appeal.replied_at = None
    appeal.accepted_at = now
    days = appeal.time_limit_days or appeal.category.time_limit_days
    appeal.time_limit_days = days
    appeal.due_date = _deadline(timezone.localtime(now).date(), days, calendar)
    appeal.save()
    _event(
        appeal,
        EventKind.REOPENED,
        actor,
        from_status=previous,
        note=(reason or "").strip()[:500],
        handler=appeal.handler_name,
    )
    record(actor, "reopen", appeal, details={"reason": (reason or "")[:200], "count": appeal.reopen_count})
    transaction.on_commit(lambda: notify.notify_handlers(appeal, NoticeKind.ASSIGNED))
    return appeal


@transaction.atomic
def rate(appeal: Appeal, *, satisfaction: int, comment: str = "", now=None) -> Appeal:
    """The person's rating (H5): satisfied or fair closes the appeal, unsatisfied reopens it."""
    if appeal.status != Status.REPLIED:
        raise IllegalTransition("只能对已答复的工单进行评价", code="illegal_transition")
    if satisfaction not in Satisfaction.values:
        raise ValidationError({"satisfaction": "请选择满意程度"})
    now = now or timezone.now()
    comment = (comment or "").strip()[:300]
    appeal.satisfaction, appeal.rating_comment, appeal.rated_at = satisfaction, comment, now
    appeal.save(update_fields=["satisfaction", "rating_comment", "rated_at", "updated_at"])
    label = Satisfaction(satisfaction).label
    _event(
        appeal,
        EventKind.RATED,
        None,
        from_status=appeal.status,
        note=f"{label}{'：' + comment if comment else ''}",
    )
    record(None, "rate", appeal, details={"satisfaction": satisfaction})
    if satisfaction == Satisfaction.UNSATISFIED:
        return reopen(appeal, reason=f"群众评价不满意{'：' + comment if comment else ''}", now=now)
    return close(appeal, actor=None, reason=f"群众评价：{label}", now=now)


def reveal_contact(appeal: Appeal, *, actor) -> tuple[str, str]:
    """Name and full phone for a permitted user; audit-logged (``view_pii``)."""
    if not (actor.can_unmask and may_see_identity(actor, appeal)):
        raise PermissionDenied("当前账号不能查看联系人信息")
    phone = appeal.reveal_phone()
    record(actor, "view_pii", appeal, details={"field": "contact"})
    return appeal.contact_name, phone


def rotate_follow_link(appeal: Appeal, *, actor) -> Appeal:
    from tuanju.appeals.models import new_key

    appeal.access_key = new_key()
    appeal.save(update_fields=["access_key", "updated_at"])
    record(actor, "update", appeal, details={"follow_link": "rotated"})
    return appeal


# --- Reminders and housekeeping (the periodic task calls these) -----------------------------------


def send_reminders(today: date | None = None, *, force: bool = False) -> dict:
    """Remind handlers of appeals due today or on the next working day, and of overdue ones.

    Runs on working days only (unless ``force``). Overdue appeals routed to a department are
    escalated to the responsible unit's writers as well. Each notice is recorded and sent at most
    once per recipient and day, so the task can run every half hour.
    """
    today = today or timezone.localdate()
    calendar = WorkCalendar()
    if not force and not calendar.is_workday(today):
        return {"skipped": "not a working day", "near_due": 0, "overdue": 0, "sent": 0}
    horizon = calendar.next_workday(today)
    counts = {"near_due": 0, "overdue": 0, "sent": 0}
    handling = Appeal.objects.handling().select_related("category", "department", "unit")
    for appeal in handling.filter(due_date__lte=horizon).order_by("due_date", "pk").iterator(chunk_size=500):
        overdue = appeal.due_date < today
        kind = NoticeKind.OVERDUE if overdue else NoticeKind.NEAR_DUE
        rows = notify.notify_handlers(appeal, kind, day=today, escalate=overdue)
        counts["overdue" if overdue else "near_due"] += 1
        sent = [r for r in rows if r.status == "sent"]
        counts["sent"] += len(sent)
        if rows:
            record(
                None,
                "remind",
                appeal,
                details={
                    "kind": kind,
                    "due_date": appeal.due_date.isoformat(),
                    "recipients": [r.recipient for r in rows],
                },
            )
    return counts


def auto_close(today: date | None = None) -> int:
    """Close replied appeals nobody rated within ``APPEAL_AUTO_CLOSE_DAYS`` days."""
    today = today or timezone.localdate()
    limit = timezone.make_aware(datetime.combine(today - timedelta(days=auto_close_days()), time.min))
    closed = 0
    for appeal in Appeal.objects.filter(status=Status.REPLIED, replied_at__lt=limit).select_related(
        "category"
    ):
        close(appeal, actor=None, reason=f"答复后{auto_close_days()}日内未评价，自动办结")
        closed += 1
    return closed


# --- Statistics ---------------------------------------------------------------------------------


def appeal_stats(appeals, today: date | None = None) -> dict:
    """Headline figures of a (scoped) appeal queryset, in one grouped query plus two counts."""
    today = today or timezone.localdate()
    by_status = dict(appeals.order_by().values_list("status").annotate(n=Count("pk")))
    total = sum(by_status.values())
    rated = appeals.filter(satisfaction__isnull=False)
    rating = dict(rated.order_by().values_list("satisfaction").annotate(n=Count("pk")))
    rated_total = sum(rating.values())
    satisfied = rating.get(Satisfaction.SATISFIED, 0) + rating.get(Satisfaction.FAIR, 0)
    replied = appeals.filter(replied_at__isnull=False)
    on_time = replied.filter(replied_late=False).count()
    replied_total = replied.count()
    return {
        "total": total,
        "by_status": {s.value: by_status.get(s.value, 0) for s in Status},
        "open": sum(by_status.get(s, 0) for s in (Status.RECEIVED, Status.ASSIGNED, Status.IN_PROGRESS)),
        "overdue": appeals.overdue(today).count(),
        "rated": rated_total,
        "satisfaction_rate": round(100 * satisfied / rated_total, 1) if rated_total else None,
        "on_time_rate": round(100 * on_time / replied_total, 1) if replied_total else None,
    }


def by_category(appeals) -> list[dict]:
    rows = appeals.order_by().values("category__name").annotate(n=Count("pk")).order_by("-n")
    return [{"name": r["category__name"], "value": r["n"]} for r in rows]


def by_handler(appeals, today: date | None = None) -> list[dict]:
    """Per department (or unit when not routed to one): total, open, overdue."""
    today = today or timezone.localdate()
    rows = (
        appeals.exclude(status=Status.RECEIVED)
        .order_by()
        .values("department__name", "unit__name")
        .annotate(
            total=Count("pk"),
            open=Count("pk", filter=Q(status__in=HANDLING_STATUSES)),
            overdue=Count("pk", filter=Q(status__in=HANDLING_STATUSES, due_date__lt=today)),
            late=Count("pk", filter=Q(replied_late=True)),
        )
        .order_by("-total")
    )
    return [
        {
            "name": r["department__name"] or r["unit__name"],
            "department": bool(r["department__name"]),
            "total": r["total"],
            "open": r["open"],
            "overdue": r["overdue"],
            "late": r["late"],
        }
        for r in rows[:50]
    ]


def child_rollup(unit: OrgUnit, queryset, path_field: str, value=None) -> dict[str, int]:
    """{child_path: total} of ``queryset`` under ``unit`` in one grouped query (``value``: field to sum)."""
    width = len(unit.path) + unit.steplen
    rows = (
        queryset.filter(**{f"{path_field}__startswith": unit.path})
        .annotate(child_path=Substr(F(path_field), 1, width))
        .values("child_path")
        .annotate(n=Sum(value) if value else Count("pk"))
        .order_by()
    )
    return {r["child_path"]: r["n"] or 0 for r in rows if len(r["child_path"]) == width}


# --- Service stations --------------------------------------------------------------------------


STATION_FIELDS = [
    "unit",
    "name",
    "kind",
    "address",
    "latitude",
    "longitude",
    "opening_hours",
    "host",
    "contact_name",
    "contact_phone",
    "description",
    "is_active",
]


def _station_snapshot(station: Station) -> dict:
    data = {f: getattr(station, f"{f}_id" if f == "unit" else f) for f in STATION_FIELDS}
    for key in ("latitude", "longitude"):
        data[key] = str(data[key]) if data[key] is not None else None
    return data


@transaction.atomic
def save_station(station: Station, *, data: dict, services=None, actor) -> Station:
    _require(actor.can_write, "当前账号不能修改服务阵地")
    creating = station.pk is None
    before = {} if creating else _station_snapshot(station)
    for key, value in data.items():
        setattr(station, key, value)
    if not user_sees_unit(actor, station.unit):
        raise ValidationError({"unit": "单位不在您的管辖范围内"})
    station.full_clean(exclude=["services"])
    station.save()
    if services is not None:
        station.services.set(services)
    after = _station_snapshot(station)
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if services is not None:
        changes["services"] = sorted(s.name for s in services)
    record(actor, "create" if creating else "update", station, details={"changes": changes})
    return station


@transaction.atomic
def record_service(
    station: Station,
    *,
    people_count: int = 1,
    service=None,
    served_on: date | None = None,
    source: str = "staff",
    person=None,
    device_key: str = "",
    note: str = "",
    actor=None,
) -> ServiceRecord:
    """服务人次 at a station: one QR check-in, or a count entered by staff."""
    served_on = served_on or timezone.localdate()
    if served_on > timezone.localdate():
        raise ValidationError({"served_on": "服务日期不能晚于今天"})
    if not 1 <= people_count <= 10000:
        raise ValidationError({"people_count": "服务人次应在1至10000之间"})
    if service is not None and not station.services.filter(pk=service.pk).exists() and source == "qr":
        raise ValidationError({"service": "该阵地不提供这项服务"})
    entry = ServiceRecord.objects.create(
        station=station,
        unit_id=station.unit_id,
        service=service,
        served_on=served_on,
        people_count=people_count,
        source=source,
        person=person,
        device_key=device_key[:32],
        note=(note or "").strip()[:200],
        created_by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
    )
    record(
        actor,
        "checkin" if source == "qr" else "create",
        entry,
        unit=station.unit,
        details={"station": station.pk, "people": people_count, "service": service.name if service else ""},
    )
    return entry


def recent_checkin(station: Station, device_key: str, *, minutes: int = 60) -> bool:
    """Whether this device already checked in at the station within ``minutes`` (a double tap)."""
    since = timezone.now() - timedelta(minutes=minutes)
    return ServiceRecord.objects.filter(
        station=station, device_key=device_key, created_at__gte=since
    ).exists()


def station_totals(records) -> dict:
    """People served (sum of counts) in a scoped record queryset: total, this year, this month."""
    today = timezone.localdate()
    agg = records.aggregate(
        total=Sum("people_count"),
        year=Sum("people_count", filter=Q(served_on__year=today.year)),
        month=Sum("people_count", filter=Q(served_on__year=today.year, served_on__month=today.month)),
    )
    return {k: v or 0 for k, v in agg.items()}
