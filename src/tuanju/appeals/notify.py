"""Notifications about appeals, through adapters: e-mail to handlers, SMS to the person.

E-mail goes through Django's mail backend (``EMAIL_BACKEND``; console in development, SMTP in
production) to the accounts of whoever handles the appeal: the partner department's accounts
(and its office address) when routed to a department, otherwise the writer accounts of the
responsible unit. SMS goes through the backend named by ``TUANJU["SMS_BACKEND"]`` (a dotted path
to a class with ``send(phone, text)``); the default only logs, until a gateway is configured.
When the C8 channel adapters arrive, a backend wrapping them plugs in here.

Every notice is recorded as an ``AppealNotification``, unique per appeal, kind, channel,
recipient and day: a retried task finds the row and does not notify twice.
"""

from __future__ import annotations

import logging
from datetime import date

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from tuanju.accounts.models import Role, User
from tuanju.appeals.models import Appeal, AppealNotification, NoticeChannel, NoticeKind, NoticeStatus
from tuanju.core.crypto import mask_phone

log = logging.getLogger(__name__)

HANDLER_ROLES = (Role.ADMIN, Role.CADRE, Role.LIAISON)


class LogSmsBackend:
    """The default: no gateway configured, so the message is logged (and recorded as sent)."""

    def send(self, phone: str, text: str) -> None:
        log.info("SMS to %s: %s", mask_phone(phone), text)


def sms_backend():
    path = getattr(settings, "TUANJU", {}).get("SMS_BACKEND") or "tuanju.appeals.notify.LogSmsBackend"
    return import_string(path)()


def public_url(path: str) -> str:
    """An absolute link for phones when ``TUANJU["PUBLIC_BASE_URL"]`` is set, else the path."""
    base = getattr(settings, "TUANJU", {}).get("PUBLIC_BASE_URL", "")
    return base.rstrip("/") + path if base else path


def handler_recipients(appeal: Appeal) -> list[str]:
    """E-mail addresses of whoever handles ``appeal`` now."""
    users = User.objects.filter(is_active=True).exclude(email="")
    if appeal.department_id:
        emails = list(users.filter(department_id=appeal.department_id).values_list("email", flat=True))
        if appeal.department.email:
            emails.append(appeal.department.email)
    else:
        emails = list(
            users.filter(unit_id=appeal.unit_id, department__isnull=True, role__in=HANDLER_ROLES).values_list(
                "email", flat=True
            )
        )
    return sorted({e.strip().lower() for e in emails if e.strip()})


def supervisor_recipients(appeal: Appeal) -> list[str]:
    """The responsible unit's writers: told when a department's appeal is overdue."""
    emails = User.objects.filter(
        is_active=True, unit_id=appeal.unit_id, department__isnull=True, role__in=(Role.ADMIN, Role.CADRE)
    ).exclude(email="")
    return sorted({e.strip().lower() for e in emails.values_list("email", flat=True)})


def _claim(appeal: Appeal, kind: str, channel: str, recipient: str, day: date) -> AppealNotification | None:
    """The notification row to send under, or None when this notice already went out today."""
    existing = AppealNotification.objects.filter(
        appeal=appeal, kind=kind, channel=channel, recipient=recipient, day=day
    ).first()
    if existing is not None:
        return existing if existing.status == NoticeStatus.FAILED else None
    try:
        with transaction.atomic():
            return AppealNotification.objects.create(
                appeal=appeal,
                kind=kind,
                channel=channel,
                recipient=recipient,
                day=day,
                status=NoticeStatus.SENT,
            )
    except IntegrityError:  # another worker claimed it a moment ago
        return None


SUBJECTS = {
    NoticeKind.ASSIGNED: "【团聚】新的诉求工单 {number}（{due}前办结）",
    NoticeKind.NEAR_DUE: "【团聚】诉求工单 {number} 将于 {due} 到期",
    NoticeKind.OVERDUE: "【团聚】诉求工单 {number} 已超期（期限 {due}）",
}


def _email_body(appeal: Appeal, kind: str) -> str:
    link = public_url(reverse("appeals:detail", args=[appeal.pk]))
    lines = [
        f"工单编号：{appeal.number}",
        f"类别：{appeal.category.name}",
        f"承办：{appeal.handler_name}",
        f"办理期限：{appeal.due_date:%Y-%m-%d}（{appeal.time_limit_days}个工作日）"
        if appeal.due_date
        else "",
        f"标题：{appeal.title}",
        "",
        f"请登录团聚平台处理：{link}",
    ]
    if kind == NoticeKind.OVERDUE:
        lines.insert(0, "该工单已超过办理期限，请尽快答复。")
    return "\n".join(line for line in lines if line is not None)


def notify_handlers(appeal: Appeal, kind: str, *, day: date | None = None, escalate: bool = False) -> list:
    """E-mail the handlers (and, with ``escalate``, the supervising unit) once per day; returns the rows."""
    day = day or timezone.localdate()
    recipients = handler_recipients(appeal)
    if escalate and appeal.department_id:
        recipients = sorted(set(recipients) | set(supervisor_recipients(appeal)))
    rows = []
    if not recipients:
        row = _claim(appeal, kind, NoticeChannel.EMAIL, "—", day)
        if row is not None:
            row.status = NoticeStatus.NO_RECIPIENT
            row.error = "承办方没有填写电子邮箱的账号"
            row.save(update_fields=["status", "error"])
            rows.append(row)
        return rows
    subject = SUBJECTS[kind].format(
        number=appeal.number, due=f"{appeal.due_date:%Y-%m-%d}" if appeal.due_date else "—"
    )
    body = _email_body(appeal, kind)
    for email in recipients:
        row = _claim(appeal, kind, NoticeChannel.EMAIL, email, day)
        if row is None:
            continue
        try:
            send_mail(subject, body, None, [email], fail_silently=False)
        except Exception as exc:  # any transport error is recorded and retried on the next run
            row.status, row.error = NoticeStatus.FAILED, str(exc)[:300]
        else:
            row.status, row.error = NoticeStatus.SENT, ""
        row.save(update_fields=["status", "error"])
        rows.append(row)
    return rows


def notify_person(
    appeal: Appeal, kind: str, text: str, *, day: date | None = None
) -> AppealNotification | None:
    """Text the person who filed ``appeal`` (when a phone was given)."""
    phone = appeal.reveal_phone()
    if not phone:
        return None
    day = day or timezone.localdate()
    row = _claim(appeal, kind, NoticeChannel.SMS, mask_phone(phone), day)
    if row is None:
        return None
    try:
        sms_backend().send(phone, text)
    except Exception as exc:  # a gateway failure is recorded; the H5 link still works
        row.status, row.error = NoticeStatus.FAILED, str(exc)[:300]
    else:
        row.status, row.error = NoticeStatus.SENT, ""
    row.save(update_fields=["status", "error"])
    return row
