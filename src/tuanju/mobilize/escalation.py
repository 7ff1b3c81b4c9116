"""Escalation of silent groups (``ESCALATION_STEPS``: shares of the service level).

When a round falls due, every target group that has not acknowledged yet is escalated once for
that round:

* its robot (if it has a working one) gets a reminder that mentions the liaisons' phones
  (WeChat Work text / DingTalk ``atMobiles``);
* each of its liaisons is told personally — a text message with their personal link when the SMS
  gateway is configured, an e-mail for staff liaisons with an address;
* the cadres of the nearest unit above the group that has cadres (within the sending unit's
  subtree) get one e-mail per round listing their silent groups;
* an ``Escalation`` row records the group, the round, who was told and through what. Staff see
  them on the reach view and on their list of directives received from above.

Idempotent: the rows are unique per (group, round) and the messages per recipient and round.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from tuanju.accounts.models import Role, User
from tuanju.groups.models import GroupLiaison
from tuanju.hierarchy.models import OrgUnit

from . import conf
from .models import (
    ROBOT_CHANNELS,
    DeliveryState,
    Directive,
    Escalation,
    GroupDelivery,
    Message,
    Purpose,
    Receipt,
)

STEP = OrgUnit.steplen
CADRE_ROLES = (Role.CADRE, Role.ADMIN)


def due_steps(directive: Directive, now) -> list[tuple[int, float]]:
    if not directive.sent_at or not directive.require_ack:
        return []
    steps = list(conf.get("ESCALATION_STEPS"))
    elapsed = (now - directive.sent_at).total_seconds()
    return [
        (i, share)
        for i, share in enumerate(steps, start=1)
        if i > directive.escalation_step and elapsed >= share * directive.sla_seconds
    ]


def escalate(directive: Directive, *, now=None, dispatch: bool = True) -> int:
    """Run every round that is due; returns the number of groups escalated."""
    now = now or timezone.now()
    total = 0
    for step, share in due_steps(directive, now):
        total += escalate_step(directive, step, share, now=now, dispatch=dispatch)
        Directive.objects.filter(pk=directive.pk, escalation_step__lt=step).update(escalation_step=step)
        directive.escalation_step = step
    return total


def _cadres_by_unit(directive: Directive) -> dict[str, list[User]]:
    staff = User.objects.filter(
        is_active=True, role__in=CADRE_ROLES, unit__path__startswith=directive.unit.path
    ).select_related("unit")
    found: dict[str, list[User]] = defaultdict(list)
    for user in staff:
        found[user.unit.path].append(user)
    return found


def _nearest(path: str, cadres: dict[str, list[User]], floor: str) -> str | None:
    """The longest proper prefix of ``path`` (down to ``floor``) whose unit has cadres."""
    candidate = path[:-STEP]
    while len(candidate) >= len(floor):
        if cadres.get(candidate):
            return candidate
        candidate = candidate[:-STEP]
    return None


def escalate_step(directive: Directive, step: int, share: float, *, now=None, dispatch: bool = True) -> int:
    from .delivery import enqueue

    now = now or timezone.now()
    silent = list(
        GroupDelivery.objects.filter(directive=directive, acked_at__isnull=True)
        .exclude(escalation_records__step=step)
        .select_related("group", "unit")
        .order_by("unit__path", "pk")
    )
    if not silent:
        return 0
    group_ids = [d.group_id for d in silent if d.group_id]
    liaisons: dict[int, list[GroupLiaison]] = defaultdict(list)
    for chunk in range(0, len(group_ids), 5000):
        for liaison in GroupLiaison.objects.filter(
            group_id__in=group_ids[chunk : chunk + 5000]
        ).select_related("user", "person"):
            liaisons[liaison.group_id].append(liaison)
    cadres = _cadres_by_unit(directive)
    floor = directive.unit.path
    units = {u.path: u for u in OrgUnit.objects.filter(path__in=set(cadres))}
    receipts = dict(
        Receipt.objects.filter(
            directive=directive,
            person_id__in={lz.person_id for rows in liaisons.values() for lz in rows if lz.person_id},
        ).values_list("person_id", "pk")
    )
    sms_on = bool(conf.channel("sms").get("url"))
    escalations: list[Escalation] = []
    messages: list[Message] = []
    person_groups: dict[int, list[str]] = defaultdict(list)
    user_groups: dict[int, list[str]] = defaultdict(list)
    cadre_groups: dict[int, list[str]] = defaultdict(list)
    key = f"d{directive.pk}"
    for delivery in silent:
        name = delivery.group.name if delivery.group_id else delivery.unit.name
        rows = liaisons.get(delivery.group_id, [])
        channels: set[str] = set()
        for lz in rows:
            if lz.person_id:
                person_groups[lz.person_id].append(name)
                if sms_on and lz.person.phone_enc:
                    channels.add("sms")
                channels.add("h5")
            elif lz.user_id and lz.user.is_active:
                user_groups[lz.user_id].append(name)
                if lz.user.email:
                    channels.add("email")
        cadre_path = _nearest(delivery.unit.path, cadres, floor) or (floor if cadres.get(floor) else None)
        notified = cadres.get(cadre_path, []) if cadre_path else []
        for user in notified:
            cadre_groups[user.pk].append(f"{name}（{delivery.unit.name}）")
            if user.email:
                channels.add("email")
        if (
            delivery.channel in ROBOT_CHANNELS
            and delivery.state == DeliveryState.SENT
            and directive.use_robots
        ):
            channels.add(delivery.channel)
            mention = [lz.person_id for lz in rows if lz.person_id]
            messages.append(
                Message(
                    directive=directive,
                    purpose=Purpose.REMINDER,
                    channel=delivery.channel,
                    delivery=delivery,
                    payload={
                        "text": f"本群尚未确认收到此指令（已过服务时限的{int(share * 100)}%），请联络员尽快确认并转达群内青年。",
                        "mention_people": mention[:10],
                    },
                    next_attempt_at=now,
                    idem_key=f"{key}:g{delivery.group_id}:r{step}",
                )
            )
        escalations.append(
            Escalation(
                directive=directive,
                delivery=delivery,
                step=step,
                share=share,
                created_at=now,
                liaisons="、".join(lz.display_name for lz in rows)[:300],
                cadres="、".join(u.display_name for u in notified)[:300],
                cadre_unit=units.get(cadre_path) if cadre_path else None,
                channels=",".join(sorted(channels))[:100],
            )
        )
    detail_path = reverse("mobilize:detail", args=[directive.pk])
    for person_id, names in person_groups.items():
        if sms_on and person_id in receipts:
            messages.append(
                Message(
                    directive=directive,
                    purpose=Purpose.ESCALATION,
                    channel="sms",
                    receipt_id=receipts[person_id],
                    payload={
                        "text": f"您联系的{_names(names)}尚未确认收到「{directive.title}」，请尽快确认并转达"
                    },
                    next_attempt_at=now,
                    idem_key=f"{key}:p{person_id}:e{step}",
                )
            )
    emails = {u.pk: u for rows in liaisons.values() for u in (lz.user for lz in rows if lz.user_id)}
    for user_id, names in user_groups.items():
        user = emails.get(user_id)
        if user is not None and user.email:
            messages.append(
                Message(
                    directive=directive,
                    purpose=Purpose.ESCALATION,
                    channel="email",
                    user=user,
                    payload={
                        "text": f"您联系的{_names(names)}尚未确认收到「{directive.title}」，请尽快确认并转达。",
                        "lines": names[:200],
                        "path": detail_path,
                    },
                    next_attempt_at=now,
                    idem_key=f"{key}:u{user_id}:e{step}",
                )
            )
    all_cadres = {u.pk: u for rows in cadres.values() for u in rows}
    for user_id, names in cadre_groups.items():
        user = all_cadres[user_id]
        if user.email:
            messages.append(
                Message(
                    directive=directive,
                    purpose=Purpose.ESCALATION,
                    channel="email",
                    user=user,
                    payload={
                        "text": f"「{directive.title}」下发已过服务时限的{int(share * 100)}%，您所辖以下 {len(names)} 个群尚未确认收到：",
                        "lines": names[:200] + ([f"…… 共 {len(names)} 个"] if len(names) > 200 else []),
                        "path": f"{detail_path}?unit={user.unit.code}#silent",
                    },
                    next_attempt_at=now,
                    idem_key=f"{key}:u{user_id}:c{step}",
                )
            )
    with transaction.atomic():
        created = Escalation.objects.bulk_create(escalations, batch_size=2000, ignore_conflicts=True)
        ids = [d.pk for d in silent]
        for chunk in range(0, len(ids), 5000):
            GroupDelivery.objects.filter(pk__in=ids[chunk : chunk + 5000]).update(
                escalations=F("escalations") + 1, escalated_at=now
            )
        Message.objects.bulk_create(messages, batch_size=2000, ignore_conflicts=True)
    keys = [m.idem_key for m in messages]
    new_ids = []
    for chunk in range(0, len(keys), 5000):
        new_ids.extend(
            Message.objects.filter(idem_key__in=keys[chunk : chunk + 5000], state="queued").values_list(
                "pk", flat=True
            )
        )
    if dispatch:
        transaction.on_commit(lambda: enqueue(new_ids))
    return len(created)


def _names(names: list[str]) -> str:
    if len(names) == 1:
        return f"“{names[0]}”"
    return f"“{names[0]}”等 {len(names)} 个群"
