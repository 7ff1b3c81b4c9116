"""Domain operations of the insight app: each validates, writes and leaves an audit record."""

from __future__ import annotations

import mimetypes
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tuanju.audit.actions import record
from tuanju.core.scope import user_sees_unit
from tuanju.hierarchy.models import OrgUnit

from .models import (
    AssignmentStatus,
    ChecklistEntry,
    ChecklistItem,
    ChecklistTarget,
    ChecklistTemplate,
    CommentKind,
    EntryStatus,
    Ledger,
    LedgerSchema,
    LedgerStatus,
    Publication,
    PublicationStatus,
    ReadReceipt,
    ReminderKind,
    ScoringScheme,
    Task,
    TaskAssignment,
    TaskAttachment,
    TaskComment,
    TaskEvidence,
    TaskReminder,
    TaskReport,
    TaskStatus,
)

# --- permissions ------------------------------------------------------------------------------


def require_writer(user) -> None:
    if not getattr(user, "can_write", False):
        raise PermissionDenied(_("Your role may not change this."))


def require_unit(user, unit: OrgUnit) -> None:
    if not user_sees_unit(user, unit):
        raise PermissionDenied(_("This unit is outside your area."))


# --- uploads ------------------------------------------------------------------------------------


def _conf(key: str, default):
    return getattr(settings, "TUANJU", {}).get(key, default)


def upload_limits() -> dict:
    return {
        "max_bytes": int(_conf("INSIGHTS_MAX_UPLOAD_MB", 20)) * 1024 * 1024,
        "max_files": int(_conf("INSIGHTS_MAX_FILES", 10)),
        "extensions": tuple(
            _conf(
                "INSIGHTS_UPLOAD_TYPES",
                ("pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "jpg", "jpeg", "png", "txt", "csv"),
            )
        ),
    }


#: What the first bytes of each accepted type must look like (a renamed executable is refused).
_MAGIC = {
    "pdf": (b"%PDF",),
    "png": (b"\x89PNG",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
    "pptx": (b"PK\x03\x04",),
    "doc": (b"\xd0\xcf\x11\xe0",),
    "xls": (b"\xd0\xcf\x11\xe0",),
    "ppt": (b"\xd0\xcf\x11\xe0",),
}


def check_upload(upload) -> tuple[str, str]:
    """Validate one uploaded file; returns (clean name, content type). Raises ValidationError in Chinese."""
    limits = upload_limits()
    name = (getattr(upload, "name", "") or "file").replace("\\", "/").rsplit("/", 1)[-1][:150]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in limits["extensions"]:
        raise ValidationError(
            "文件“%(name)s”的类型不允许上传；可上传：%(types)s。",
            params={"name": name, "types": "、".join(limits["extensions"])},
        )
    if upload.size > limits["max_bytes"]:
        raise ValidationError(
            "文件“%(name)s”超过 %(mb)s MB。", params={"name": name, "mb": limits["max_bytes"] // (1024 * 1024)}
        )
    if upload.size == 0:
        raise ValidationError("文件“%(name)s”是空的。", params={"name": name})
    head = upload.read(8)
    upload.seek(0)
    magic = _MAGIC.get(ext)
    if magic and not any(head.startswith(m) for m in magic):
        raise ValidationError("文件“%(name)s”的内容与扩展名不符。", params={"name": name})
    if ext in ("txt", "csv") and b"\x00" in head:
        raise ValidationError("文件“%(name)s”不是文本文件。", params={"name": name})
    return name, mimetypes.guess_type(name)[0] or "application/octet-stream"


def check_uploads(files) -> list[tuple]:
    files = list(files or [])
    if len(files) > upload_limits()["max_files"]:
        raise ValidationError("一次最多上传 %(n)s 个文件。", params={"n": upload_limits()["max_files"]})
    return [(upload, *check_upload(upload)) for upload in files]


# --- weekly ledger --------------------------------------------------------------------------------


def can_submit_ledger(user, ledger: Ledger) -> bool:
    return bool(getattr(user, "can_write", False)) and user_sees_unit(user, ledger.unit)


@transaction.atomic
def submit_ledger(ledger: Ledger, *, actor, manual: dict, highlights: str, problems: str) -> Ledger:
    require_writer(actor)
    require_unit(actor, ledger.unit)
    ledger = Ledger.objects.select_for_update().get(pk=ledger.pk)
    if ledger.status == LedgerStatus.SUBMITTED:
        raise ValidationError("本周台账已提交；如需修改，请上级退回后再提交。")
    now = timezone.now()
    ledger.manual = {k: v for k, v in (manual or {}).items() if v is not None}
    ledger.highlights = (highlights or "").strip()[:5000]
    ledger.problems = (problems or "").strip()[:5000]
    ledger.status = LedgerStatus.SUBMITTED
    ledger.submitted_at, ledger.submitted_by = now, actor
    ledger.late = now > ledger.due_at
    ledger.return_reason = ""
    ledger.save()
    record(
        actor,
        "submit",
        ledger,
        details={"week": ledger.week_start.isoformat(), "late": ledger.late, "manual": ledger.manual},
    )
    return ledger


@transaction.atomic
def return_ledger(ledger: Ledger, *, actor, reason: str) -> Ledger:
    """The parent sends a submitted ledger back for revision (it must then be submitted again)."""
    require_writer(actor)
    parent = OrgUnit.objects.filter(path=ledger.unit.path[: -OrgUnit.steplen]).first()
    if parent is None or not user_sees_unit(actor, parent) or actor.unit_id == ledger.unit_id:
        raise PermissionDenied(_("Only the units above may return a ledger."))
    if ledger.status != LedgerStatus.SUBMITTED:
        raise ValidationError("只能退回已提交的台账。")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("请填写退回原因。")
    ledger.status, ledger.return_reason = LedgerStatus.RETURNED, reason[:300]
    ledger.save(update_fields=["status", "return_reason"])
    record(actor, "return", ledger, details={"week": ledger.week_start.isoformat(), "reason": reason[:300]})
    return ledger


def save_schema(schema: LedgerSchema, *, actor, fields: list, due_hours: int, is_active: bool) -> LedgerSchema:
    if not getattr(actor, "can_manage_units", False):
        raise PermissionDenied(_("Only administrators may configure the ledger."))
    from .ledgers import STANDARD

    clean = []
    for entry in fields:
        if isinstance(entry, str) and entry in STANDARD:
            clean.append(entry)
        elif isinstance(entry, dict) and entry.get("key") and entry.get("label"):
            clean.append({"key": str(entry["key"])[:30], "label": str(entry["label"])[:40]})
    schema.fields, schema.due_hours, schema.is_active = clean, max(0, min(int(due_hours), 24 * 6)), is_active
    schema.save()
    record(actor, "configure", None, details={"kind": "ledger_schema", "level": schema.level, "fields": clean})
    return schema


def save_scheme(scheme: ScoringScheme, *, actor, weights: dict, threshold: float, bottom_share: float) -> ScoringScheme:
    require_writer(actor)
    require_unit(actor, scheme.unit)
    from .scoring import CRITERIA_BY_KEY

    clean = {k: max(0, min(100, float(v))) for k, v in weights.items() if k in CRITERIA_BY_KEY}
    if not any(clean.values()):
        raise ValidationError("至少有一项评价指标的权重大于0。")
    if not 0 <= bottom_share <= 0.5:
        raise ValidationError("末位比例应在0到50%之间。")
    scheme.weights, scheme.threshold, scheme.bottom_share = clean, max(0.0, min(100.0, threshold)), bottom_share
    scheme.save()
    record(actor, "configure", scheme, unit=scheme.unit, details={"weights": clean, "threshold": scheme.threshold})
    return scheme


# --- tasks ------------------------------------------------------------------------------------------


def is_sender_side(user, task: Task) -> bool:
    return user_sees_unit(user, task.unit)


def is_receiver_side(user, assignment: TaskAssignment) -> bool:
    """Users of the receiving unit or between it and the sender (never the sender's side)."""
    return user_sees_unit(user, assignment.unit) and not user_sees_unit(user, assignment.task.unit)


def _clean_figures(task: Task, figures: dict) -> dict:
    wanted = {f["key"] for f in task.required_figures}
    out = {}
    for key, value in (figures or {}).items():
        if key in wanted and value not in (None, ""):
            try:
                number = float(value)
            except (TypeError, ValueError) as exc:
                raise ValidationError("填报数字“%(v)s”无效。", params={"v": value}) from exc
            if number < 0:
                raise ValidationError("填报数字不能为负数。")
            out[key] = int(number) if number.is_integer() else round(number, 2)
    return out


def clean_required_figures(lines: str) -> list[dict]:
    """One figure per line: "名称" or "名称|单位" (e.g. "联系快递小哥人数|人")."""
    figures, seen = [], set()
    for index, line in enumerate((lines or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        label, _sep, measure = line.partition("|")
        label = label.strip()[:40]
        if not label or label in seen:
            continue
        seen.add(label)
        figures.append({"key": f"f{index}", "label": label, "unit": measure.strip()[:10]})
    if len(figures) > 12:
        raise ValidationError("需填报的数字最多12项。")
    return figures


@transaction.atomic
def create_task(
    *,
    actor,
    sender: OrgUnit,
    title: str,
    description: str,
    deadline,
    recipients: list[OrgUnit],
    required_figures: list[dict],
    remind_days: int = 2,
    files=(),
) -> Task:
    require_writer(actor)
    require_unit(actor, sender)
    title = (title or "").strip()
    if not title:
        raise ValidationError("请填写任务标题。")
    if deadline <= timezone.now():
        raise ValidationError("截止时间必须晚于现在。")
    recipients = list({u.pk: u for u in recipients}.values())
    if not recipients:
        raise ValidationError("请至少选择一个接收单位。")
    for unit in recipients:
        if not unit.path.startswith(sender.path) or unit.pk == sender.pk:
            raise ValidationError("接收单位“%(u)s”不在发送单位之下。", params={"u": unit.name})
    uploads = check_uploads(files)
    task = Task.objects.create(
        unit=sender,
        title=title[:120],
        description=(description or "").strip(),
        deadline=deadline,
        required_figures=required_figures or [],
        remind_days=max(0, min(int(remind_days or 0), 30)),
        created_by=actor,
    )
    TaskAssignment.objects.bulk_create([TaskAssignment(task=task, unit=unit) for unit in recipients])
    for upload, name, content_type in uploads:
        TaskAttachment.objects.create(task=task, file=upload, name=name, size=upload.size, content_type=content_type)
    record(
        actor,
        "create",
        task,
        details={
            "recipients": [u.code for u in recipients][:200],
            "recipient_count": len(recipients),
            "deadline": task.deadline.isoformat(),
            "attachments": [name for _u, name, _t in uploads],
        },
    )
    return task


@transaction.atomic
def report_progress(
    assignment: TaskAssignment, *, actor, progress: int, figures: dict, note: str, done: bool = False, files=()
) -> TaskReport:
    require_writer(actor)
    if not is_receiver_side(actor, assignment):
        raise PermissionDenied(_("Only the receiving units report progress."))
    if assignment.task.status != TaskStatus.OPEN:
        raise ValidationError("任务已关闭，不能再填报。")
    progress = 100 if done else max(0, min(int(progress or 0), 100))
    clean = _clean_figures(assignment.task, figures)
    uploads = check_uploads(files)
    if done:
        missing = [f["label"] for f in assignment.task.required_figures if f["key"] not in {**assignment.figures, **clean}]
        if missing:
            raise ValidationError("标记完成前请填报：%(f)s。", params={"f": "、".join(missing)})
    now = timezone.now()
    report = TaskReport.objects.create(
        assignment=assignment,
        author=actor,
        progress=progress,
        figures=clean,
        note=(note or "").strip()[:5000],
        marked_done=done,
        created_at=now,
    )
    for upload, name, content_type in uploads:
        TaskEvidence.objects.create(
            assignment=assignment,
            report=report,
            file=upload,
            name=name,
            size=upload.size,
            content_type=content_type,
            uploaded_by=actor,
        )
    assignment.figures = {**assignment.figures, **clean}
    assignment.progress = progress
    assignment.last_report_at = now
    if done:
        assignment.status, assignment.done_at = AssignmentStatus.DONE, now
    elif assignment.status != AssignmentStatus.DONE:
        assignment.status = AssignmentStatus.IN_PROGRESS
    assignment.save()
    record(
        actor,
        "report",
        assignment,
        details={"task": assignment.task_id, "progress": progress, "figures": clean, "done": done, "files": len(uploads)},
    )
    return report


@transaction.atomic
def reopen_assignment(assignment: TaskAssignment, *, actor, reason: str) -> TaskAssignment:
    """The sender sends a unit's "done" back (its supervision comment says why)."""
    require_writer(actor)
    if not is_sender_side(actor, assignment.task):
        raise PermissionDenied(_("Only the sending unit may reopen a unit's task."))
    if assignment.status != AssignmentStatus.DONE:
        raise ValidationError("该单位尚未标记完成。")
    assignment.status, assignment.done_at = AssignmentStatus.IN_PROGRESS, None
    assignment.progress = min(assignment.progress, 90)
    assignment.save(update_fields=["status", "done_at", "progress"])
    add_comment(assignment, actor=actor, body=f"退回重办：{(reason or '').strip() or '请补充材料'}")
    record(actor, "reopen", assignment, details={"task": assignment.task_id, "reason": (reason or "")[:200]})
    return assignment


def add_comment(assignment: TaskAssignment, *, actor, body: str) -> TaskComment:
    require_writer(actor)
    body = (body or "").strip()
    if not body:
        raise ValidationError("请填写内容。")
    if is_sender_side(actor, assignment.task):
        kind = CommentKind.SUPERVISION
    elif is_receiver_side(actor, assignment):
        kind = CommentKind.FEEDBACK
    else:
        raise PermissionDenied(_("This task is outside your area."))
    comment = TaskComment.objects.create(
        assignment=assignment, kind=kind, author=actor, author_unit=actor.unit, body=body[:5000]
    )
    record(actor, "comment", assignment, details={"task": assignment.task_id, "kind": kind})
    return comment


def mark_read(assignment: TaskAssignment, user) -> None:
    if assignment.read_at is None and is_receiver_side(user, assignment):
        TaskAssignment.objects.filter(pk=assignment.pk, read_at__isnull=True).update(read_at=timezone.now())


@transaction.atomic
def close_task(task: Task, *, actor, reopen: bool = False) -> Task:
    require_writer(actor)
    if not is_sender_side(actor, task):
        raise PermissionDenied(_("Only the sending unit may close the task."))
    task.status = TaskStatus.OPEN if reopen else TaskStatus.CLOSED
    task.closed_at = None if reopen else timezone.now()
    task.save(update_fields=["status", "closed_at", "updated_at"])
    record(actor, "reopen" if reopen else "close", task)
    return task


def send_task_reminders(now=None) -> dict:
    """Remind receiving units once when a deadline is near and each day once it has passed.
    Idempotent per assignment, kind and day (a retried task sends nothing twice)."""
    from tuanju.accounts.models import User

    now = now or timezone.now()
    today = timezone.localdate(now)
    counts = {"due_soon": 0, "overdue": 0, "emails": 0}
    pending = (
        TaskAssignment.objects.filter(task__status=TaskStatus.OPEN)
        .exclude(status=AssignmentStatus.DONE)
        .select_related("task", "unit")
    )
    for assignment in pending.iterator(chunk_size=500):
        task = assignment.task
        if task.deadline < now:
            kind = ReminderKind.OVERDUE
        elif task.remind_days and task.deadline - now <= timedelta(days=task.remind_days):
            kind = ReminderKind.DUE_SOON
            if TaskReminder.objects.filter(assignment=assignment, kind=kind).exists():
                continue
        else:
            continue
        reminder, created = TaskReminder.objects.get_or_create(assignment=assignment, kind=kind, day=today)
        if not created:
            continue
        emails = list(
            User.objects.filter(unit=assignment.unit, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)[:20]
        )
        if emails:
            subject = ("【任务逾期】" if kind == ReminderKind.OVERDUE else "【任务提醒】") + task.title
            body = f"{assignment.unit.name}：任务“{task.title}”截止时间为 {timezone.localtime(task.deadline):%Y-%m-%d %H:%M}，请及时填报进度。"
            sent = send_mail(subject, body, None, emails, fail_silently=True)
            counts["emails"] += sent
        reminder.recipients = len(emails)
        reminder.save(update_fields=["recipients"])
        counts[kind] += 1
    return counts


# --- key-city checklist --------------------------------------------------------------------------


@transaction.atomic
def track_unit(template: ChecklistTemplate, unit: OrgUnit, *, actor) -> ChecklistTarget:
    require_writer(actor)
    require_unit(actor, unit)
    target = ChecklistTarget.objects.filter(template=template, unit=unit).first()
    if target is None:
        target = ChecklistTarget.objects.create(template=template, unit=unit, added_by=actor)
        record(actor, "track", target, unit=unit, details={"checklist": template.name})
    ensure_entries(target)
    return target


def ensure_entries(target: ChecklistTarget) -> None:
    have = set(target.entries.values_list("item_id", flat=True))
    ChecklistEntry.objects.bulk_create(
        [ChecklistEntry(target=target, item=item) for item in target.template.items.all() if item.pk not in have]
    )


@transaction.atomic
def update_entry(entry: ChecklistEntry, *, actor, status: str, note: str, upload=None) -> ChecklistEntry:
    require_writer(actor)
    require_unit(actor, entry.target.unit)
    if status not in EntryStatus.values:
        raise ValidationError("状态无效。")
    if status == EntryStatus.VERIFIED and actor.unit_id == entry.target.unit_id and not actor.is_superuser:
        raise PermissionDenied(_("Only a unit above may verify an item."))
    if upload is not None:
        name, _type = check_upload(upload)
        entry.evidence, entry.evidence_name = upload, name
    if status in (EntryStatus.DONE, EntryStatus.VERIFIED) and not ((note or "").strip() or entry.evidence):
        raise ValidationError("标记完成前请填写佐证说明或上传佐证材料。")
    before = entry.status
    entry.status, entry.note = status, (note or "").strip()[:5000]
    entry.updated_by, entry.updated_at = actor, timezone.now()
    entry.save()
    record(
        actor,
        "update",
        entry,
        unit=entry.target.unit,
        details={"item": entry.item.title, "status": [before, status], "evidence": bool(entry.evidence)},
    )
    return entry


def save_checklist_items(template: ChecklistTemplate, *, actor, titles: list[str]) -> ChecklistTemplate:
    if not getattr(actor, "can_manage_units", False):
        raise PermissionDenied(_("Only administrators may configure checklists."))
    titles = [t.strip()[:60] for t in titles if t and t.strip()]
    if not titles:
        raise ValidationError("清单至少要有一项。")
    with transaction.atomic():
        items = list(template.items.all())
        for position, title in enumerate(titles):
            if position < len(items):
                if items[position].title != title or items[position].position != position:
                    items[position].title, items[position].position = title, position
                    items[position].save()
            else:
                ChecklistItem.objects.create(template=template, position=position, title=title)
        for item in items[len(titles) :]:
            item.delete()
        for target in template.targets.all():
            ensure_entries(target)
    record(actor, "configure", template, details={"items": titles})
    return template


# --- publishing ------------------------------------------------------------------------------


@transaction.atomic
def save_publication(publication: Publication, *, actor, data: dict) -> Publication:
    require_writer(actor)
    unit = data.get("unit") or publication.unit
    require_unit(actor, unit)
    creating = publication.pk is None
    for key in ("unit", "kind", "title", "summary", "body", "is_public"):
        if key in data:
            setattr(publication, key, data[key])
    if creating:
        publication.created_by = actor
    publication.save()
    record(actor, "create" if creating else "update", publication, details={"kind": publication.kind})
    return publication


@transaction.atomic
def publish(publication: Publication, *, actor, withdraw: bool = False) -> Publication:
    require_writer(actor)
    require_unit(actor, publication.unit)
    if withdraw:
        publication.status = PublicationStatus.WITHDRAWN
    else:
        publication.status = PublicationStatus.PUBLISHED
        publication.published_at = publication.published_at or timezone.now()
    publication.save(update_fields=["status", "published_at", "updated_at"])
    record(actor, "withdraw" if withdraw else "publish", publication, details={"public": publication.is_public})
    return publication


def mark_publication_read(publication: Publication, user) -> bool:
    """Record that a staff member of the subtree opened a published item (once). True if new."""
    if publication.status != PublicationStatus.PUBLISHED or not user.is_authenticated:
        return False
    if user.unit is None or not user.unit.path.startswith(publication.unit.path):
        return False  # read receipts count the audience: the publisher's subtree
    _receipt, created = ReadReceipt.objects.get_or_create(
        publication=publication, user=user, defaults={"unit": user.unit}
    )
    if created:
        record(user, "read", publication, details={"kind": publication.kind})
    return created
