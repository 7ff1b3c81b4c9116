"""The delivery engine: claim outbox messages under a lease, send them through the channel
adapters, record each outcome at once, retry with back-off, and sweep up after dead workers.

At-least-once with idempotency (docs/decisions/0001-task-engine.md: huey has no
acknowledgement, so the state lives here):

* ``claim`` moves due messages to ``sending`` with a fresh lease token in one UPDATE; two
  workers handed the same ids (a re-queued batch, a duplicated task) cannot both get a message.
* Each message's outcome is committed right after its request returns, before the next request,
  so a worker killed between two requests leaves every message either recorded or still
  ``sending``; the worker renews its lease while it works.
* ``sweep`` (every minute, and on demand) returns messages whose lease ran out to the queue and
  re-enqueues them, re-plans directives whose planning died, re-enqueues due retries whose
  scheduled task was lost, runs escalations and marks finished directives.
* The planner's ``idem_key`` (directive, recipient, purpose) is unique: no second message for
  the same group can be planned. The one window left is a worker killed *during* a request —
  after the platform accepted it and before the outcome was committed (at most one message per
  worker thread): that message is sent again. The SMS gateway gets the key as
  ``Idempotency-Key`` to drop such a repeat; robot webhooks have no such field.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections import defaultdict
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F, Max
from django.urls import reverse
from django.utils import timezone

from tuanju.core.crypto import cipher
from tuanju.groups import actions as groups_actions
from tuanju.groups.models import GroupLiaison, RobotStatus

from . import conf, links
from .channels import Outbound, Outcome, Result, adapter_for, throttle
from .models import (
    ROBOT_CHANNELS,
    DeliveryState,
    Directive,
    GroupDelivery,
    Message,
    MessageState,
    Purpose,
    Receipt,
    Status,
)

log = logging.getLogger(__name__)

#: A queued or retrying message this long past due is assumed to have lost its task.
STALE_SECONDS = 90


def _db_dt(value):
    return connection.ops.adapt_datetimefield_value(value)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


# --- Queueing -------------------------------------------------------------------------------------


def enqueue(ids: list[int], *, delay: float | None = None) -> int:
    """Hand ``ids`` to the workers in batches (one task per batch of one channel)."""
    from .tasks import send_messages_task

    if not ids:
        return 0
    size = int(conf.get("BATCH_SIZE"))
    by_channel: dict[str, list[int]] = defaultdict(list)
    for pk, channel in _channels_of(ids):
        by_channel[channel].append(pk)
    tasks = 0
    for chunk_ids in by_channel.values():
        for i in range(0, len(chunk_ids), size):
            chunk = chunk_ids[i : i + size]
            if delay:
                send_messages_task.schedule(args=(chunk,), delay=delay)
            else:
                send_messages_task(chunk)
            tasks += 1
    return tasks


def _channels_of(ids: list[int]):
    for i in range(0, len(ids), 5000):
        yield from (
            Message.objects.filter(pk__in=ids[i : i + 5000]).values_list("pk", "channel").order_by("pk")
        )


def dispatch(directive: Directive | int) -> int:
    """Enqueue every due message of a directive."""
    directive_id = getattr(directive, "pk", directive)
    ids = list(
        Message.objects.filter(directive_id=directive_id).due().order_by("pk").values_list("pk", flat=True)
    )
    return enqueue(ids)


# --- Claim, compose, send, record -------------------------------------------------------------------


def claim(ids: list[int], *, now=None) -> str | None:
    now = now or timezone.now()
    token = uuid.uuid4().hex
    claimed = Message.objects.filter(
        pk__in=ids, state__in=(MessageState.QUEUED, MessageState.RETRY), next_attempt_at__lte=now
    ).update(
        state=MessageState.SENDING,
        lease_token=token,
        lease_until=now + timedelta(seconds=int(conf.get("LEASE_SECONDS"))),
        attempts=F("attempts") + 1,
    )
    return token if claimed else None


def renew(token: str) -> int:
    until = timezone.now() + timedelta(seconds=int(conf.get("LEASE_SECONDS")))
    return Message.objects.filter(lease_token=token, state=MessageState.SENDING).update(lease_until=until)


def _deadline_text(directive: Directive) -> str:
    deadline = directive.deadline
    if deadline is None:
        return ""
    local = timezone.localtime(deadline)
    if directive.sla_seconds >= 86400:
        return f"{local:%m月%d日 %H:%M}"
    return f"{local:%H:%M}"


class Composer:
    """Builds each message's ``Outbound`` from the rows loaded with it (few queries per batch)."""

    def __init__(self, messages: list[Message]):
        self.cipher = cipher()
        self._directive_bits: dict[int, dict] = {}
        person_ids = {pid for m in messages for pid in m.payload.get("mention_people", [])}
        self._phones = {}
        if person_ids:
            from tuanju.people.models import Person

            for pk, enc in Person.objects.filter(pk__in=person_ids).values_list("pk", "phone_enc"):
                self._phones[pk] = self.cipher.decrypt(enc) if enc else ""

    def bits(self, directive: Directive) -> dict:
        bits = self._directive_bits.get(directive.pk)
        if bits is None:
            bits = self._directive_bits[directive.pk] = {
                "title": directive.title,
                "text": directive.body,
                "urgency": directive.urgency_label,
                "sender": f"共青团{directive.unit.name}委员会"
                if directive.unit.level in ("county", "city", "province", "town")
                else directive.unit.name,
                "deadline": _deadline_text(directive) if directive.require_ack else "",
            }
        return bits

    def compose(self, msg: Message) -> Outbound:
        d = msg.directive
        base = dict(self.bits(d))
        out = Outbound(channel=msg.channel, idem_key=msg.idem_key, purpose=msg.purpose, link="", **base)
        payload = msg.payload or {}
        if msg.channel in ROBOT_CHANNELS:
            group = msg.delivery.group if msg.delivery_id else None
            if group is not None and group.webhook_url_enc:
                out.url = self.cipher.decrypt(group.webhook_url_enc)
                out.secret = self.cipher.decrypt(group.webhook_secret_enc) if group.webhook_secret_enc else ""
            out.link = links.group_link(msg.delivery_id) if msg.delivery_id else ""
            if msg.purpose == Purpose.REMINDER:
                out.title = d.title
                out.text = payload.get("text", "")
                out.mention_mobiles = [
                    p for p in (self._phones.get(pid) for pid in payload.get("mention_people", [])) if p
                ]
        elif msg.channel == "sms":
            person = msg.receipt.person if msg.receipt_id else None
            out.phone = (
                self.cipher.decrypt(person.phone_enc) if person is not None and person.phone_enc else ""
            )
            out.link = links.receipt_link(msg.receipt_id) if msg.receipt_id else ""
            if msg.purpose == Purpose.ESCALATION:
                out.title = "指令未确认提醒"
                out.text = payload.get("text", "")
        elif msg.channel == "email":
            user = msg.user
            out.email = user.email if user is not None else ""
            out.recipient = user.display_name if user is not None else ""
            if msg.purpose == Purpose.ESCALATION:
                out.title = f"【未确认】{d.title}"
                out.text = payload.get("text", "")
                out.lines = list(payload.get("lines", []))
                out.link = links.staff_link(payload.get("path", reverse("mobilize:detail", args=[d.pk])))
            else:
                out.lines = self._relay_lines(msg)
        return out

    def _relay_lines(self, msg: Message) -> list[str]:
        """For a staff liaison: the groups to forward the directive to, each with its group link."""
        if msg.user_id is None:
            return []
        groups = GroupLiaison.objects.filter(user_id=msg.user_id).values("group_id")
        rows = GroupDelivery.objects.filter(
            directive_id=msg.directive_id, group_id__in=groups
        ).select_related("group")
        lines = []
        for delivery in rows.order_by("pk")[:100]:
            name = delivery.group.name if delivery.group_id else ""
            how = "群机器人已推送" if delivery.channel in ROBOT_CHANNELS else "请转发到群"
            lines.append(f"{name}（{how}）：{links.group_link(delivery.pk)}")
        return lines


def _backoff(attempts: int, retry_after: float | None) -> float:
    steps = list(conf.get("BACKOFF_SECONDS"))
    base = steps[min(attempts - 1, len(steps) - 1)] if steps else 30
    wait = max(base, retry_after or 0)
    return wait * (1 + random.random() * 0.2)  # jitter: retries of one burst do not land together


_SQL_CACHE: dict[str, dict[str, str]] = {}


def _sql() -> dict[str, str]:
    vendor = connection.vendor
    cached = _SQL_CACHE.get(vendor)
    if cached:
        return cached
    m, gd, r = _q(Message._meta.db_table), _q(GroupDelivery._meta.db_table), _q(Receipt._meta.db_table)
    cached = {
        "sent": f"UPDATE {m} SET state = 'sent', sent_at = %s, provider_id = %s, http_status = %s, error = '',"  # noqa: S608
        f" lease_token = '', lease_until = NULL WHERE id = %s AND lease_token = %s",
        "retry": f"UPDATE {m} SET state = %s, next_attempt_at = %s, http_status = %s, error = %s,"  # noqa: S608
        f" lease_token = '', lease_until = NULL WHERE id = %s AND lease_token = %s",
        "failed": f"UPDATE {m} SET state = 'failed', http_status = %s, error = %s, lease_token = '', lease_until = NULL"  # noqa: S608
        f" WHERE id = %s AND lease_token = %s",
        "gd_sent": f"UPDATE {gd} SET state = 'sent', attempted_at = COALESCE(attempted_at, %s),"  # noqa: S608
        f" delivered_at = COALESCE(delivered_at, %s), error = '' WHERE id = %s",
        "gd_retry": f"UPDATE {gd} SET state = 'retrying', attempted_at = COALESCE(attempted_at, %s), error = %s"  # noqa: S608
        f" WHERE id = %s AND delivered_at IS NULL",
        "gd_failed": f"UPDATE {gd} SET state = 'failed', attempted_at = COALESCE(attempted_at, %s), error = %s"  # noqa: S608
        f" WHERE id = %s AND delivered_at IS NULL",
        "receipt_sent": f"UPDATE {r} SET delivered_at = COALESCE(delivered_at, %s) WHERE id = %s",  # noqa: S608
    }
    _SQL_CACHE[vendor] = cached
    return cached


def record(msg: Message, result: Result, token: str, *, now=None) -> str:
    """Commit one message's outcome (and its group's / receipt's); returns the new state."""
    now = now or timezone.now()
    at = _db_dt(now)
    sql = _sql()
    directive_purpose = msg.purpose == Purpose.DIRECTIVE
    with transaction.atomic(), connection.cursor() as cursor:
        if result.outcome is Outcome.OK:
            cursor.execute(sql["sent"], [at, result.provider_id[:100], result.http_status, msg.pk, token])
            if msg.delivery_id and directive_purpose:
                cursor.execute(sql["gd_sent"], [at, at, msg.delivery_id])
            if msg.receipt_id and directive_purpose:
                cursor.execute(sql["receipt_sent"], [at, msg.receipt_id])
            state = MessageState.SENT
        elif result.outcome is Outcome.RETRY and msg.attempts < int(conf.get("MAX_ATTEMPTS")):
            wait = _backoff(msg.attempts, result.retry_after)
            cursor.execute(
                sql["retry"],
                [
                    MessageState.RETRY,
                    _db_dt(now + timedelta(seconds=wait)),
                    result.http_status,
                    result.error[:300],
                    msg.pk,
                    token,
                ],
            )
            if msg.delivery_id and directive_purpose:
                cursor.execute(sql["gd_retry"], [at, result.error[:300], msg.delivery_id])
            state = MessageState.RETRY
        else:
            error = result.error if result.outcome is Outcome.PERMANENT else f"多次重试仍失败：{result.error}"
            cursor.execute(sql["failed"], [result.http_status, error[:300], msg.pk, token])
            if msg.delivery_id and directive_purpose:
                cursor.execute(sql["gd_failed"], [at, error[:300], msg.delivery_id])
            state = MessageState.FAILED
    if result.robot_broken and msg.delivery_id and msg.delivery.group_id:
        groups_actions.mark_robot(msg.delivery.group, ok=False, error=result.error)
    elif (
        result.ok
        and msg.delivery_id
        and msg.delivery.group_id
        and msg.delivery.group.robot_status == RobotStatus.FAILING
    ):
        groups_actions.mark_robot(msg.delivery.group, ok=True)
    return state


def send_messages(ids: list[int]) -> dict:
    """Claim, send and record the due messages among ``ids``; schedules the retries."""
    token = claim(ids)
    counts = {"sent": 0, "retry": 0, "failed": 0, "claimed": 0}
    if token is None:
        return counts
    messages = list(
        Message.objects.filter(lease_token=token, state=MessageState.SENDING)
        .select_related("directive__unit", "delivery__group", "receipt__person", "user")
        .order_by("pk")
    )
    counts["claimed"] = len(messages)
    composer = Composer(messages)
    lease = int(conf.get("LEASE_SECONDS"))
    renew_at = time.monotonic() + lease / 3
    retries: list[tuple[int, float]] = []
    directives = set()
    for msg in messages:
        if time.monotonic() >= renew_at:
            renew(token)
            renew_at = time.monotonic() + lease / 3
        directives.add(msg.directive_id)
        if msg.directive.status in (Status.CLOSED, Status.CANCELLED):
            Message.objects.filter(pk=msg.pk, lease_token=token).update(
                state=MessageState.CANCELLED, lease_token="", lease_until=None
            )
            continue
        outbound = composer.compose(msg)
        throttle.acquire(msg.channel)
        try:
            result = adapter_for(msg.channel).send(outbound)
        except Exception as exc:  # an adapter bug must not lose the message: it is retried
            log.exception("adapter %s failed on message %s", msg.channel, msg.pk)
            result = Result(Outcome.RETRY, error=f"内部错误：{exc.__class__.__name__}")
        state = record(msg, result, token)
        counts[{"sent": "sent", "retry": "retry"}.get(state, "failed")] += 1
        if state == MessageState.RETRY:
            retries.append((msg.pk, _backoff(msg.attempts, result.retry_after)))
    if retries:
        enqueue([pk for pk, _wait in retries], delay=min(wait for _pk, wait in retries))
    for directive_id in directives:
        check_progress(directive_id)
    return counts


def check_progress(directive_id: int) -> None:
    """Stamp when every directive message had an attempt, and mark the directive sent when the
    outbox holds nothing more to send for it."""
    directive = Directive.objects.filter(pk=directive_id).only("pk", "status", "attempted_at").first()
    if directive is None or directive.status not in (Status.SENDING, Status.SENT):
        return
    mine = Message.objects.filter(directive_id=directive_id, purpose=Purpose.DIRECTIVE)
    if directive.attempted_at is None and not mine.filter(state=MessageState.QUEUED, attempts=0).exists():
        last = GroupDelivery.objects.filter(directive_id=directive_id).aggregate(t=Max("attempted_at"))["t"]
        Directive.objects.filter(pk=directive_id, attempted_at__isnull=True).update(
            attempted_at=last or timezone.now()
        )
    if (
        directive.status == Status.SENDING
        and not mine.filter(
            state__in=(MessageState.QUEUED, MessageState.SENDING, MessageState.RETRY)
        ).exists()
    ):
        Directive.objects.filter(pk=directive_id, status=Status.SENDING).update(status=Status.SENT)


# --- The sweeper ---------------------------------------------------------------------------------------


def sweep(*, now=None, escalate: bool = True) -> dict:
    """Recover from dead workers and lost tasks; run due escalations. Safe to run any time."""
    from . import escalation
    from .tasks import plan_task

    now = now or timezone.now()
    report = {"expired": 0, "stale": 0, "replanned": 0, "escalated": 0}
    expired = list(
        Message.objects.filter(state=MessageState.SENDING, lease_until__lt=now).values_list("pk", flat=True)
    )
    if expired:
        report["expired"] = Message.objects.filter(
            pk__in=expired, state=MessageState.SENDING, lease_until__lt=now
        ).update(state=MessageState.QUEUED, lease_token="", lease_until=None, next_attempt_at=now)
    stale = list(
        Message.objects.due(now - timedelta(seconds=STALE_SECONDS))
        .exclude(pk__in=expired)
        .values_list("pk", flat=True)[:200_000]
    )
    report["stale"] = len(stale)
    enqueue(expired + stale)
    stuck = Directive.objects.filter(
        status=Status.PLANNING, planned_at__isnull=True, sent_at__lt=now - timedelta(seconds=STALE_SECONDS)
    )
    for directive_id in stuck.values_list("pk", flat=True):
        plan_task(directive_id)
        report["replanned"] += 1
    for directive in Directive.objects.live().filter(planned_at__isnull=False).select_related("unit"):
        check_progress(directive.pk)
        if escalate:
            report["escalated"] += escalation.escalate(directive, now=now)
    return report


def relay_opened(delivery_id: int, *, now=None) -> None:
    """The group link was opened: the group is reached (relayed) if nothing had reached it yet."""
    now = now or timezone.now()
    GroupDelivery.objects.filter(pk=delivery_id, opened_at__isnull=True).update(opened_at=now)
    GroupDelivery.objects.filter(pk=delivery_id).update(opens=F("opens") + 1)
    GroupDelivery.objects.filter(pk=delivery_id, delivered_at__isnull=True).update(
        delivered_at=now, state=DeliveryState.RELAYED
    )


def groups_to_relay(directive: Directive, *, person=None, user=None):
    """The directive's groups a liaison looks after, with whether each still needs forwarding."""
    liaison = (
        GroupLiaison.objects.filter(person=person)
        if person is not None
        else GroupLiaison.objects.filter(user=user)
    )
    return (
        GroupDelivery.objects.filter(directive=directive, group_id__in=liaison.values("group_id"))
        .select_related("group", "unit")
        .order_by("unit__path")
    )
