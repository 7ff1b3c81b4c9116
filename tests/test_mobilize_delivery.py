"""C8 delivery engine end to end against the local platforms: fan-out planning, robots, relay,
retries with back-off, permanent failures marked on the group, and a worker killed mid-fan-out
that loses nothing and sends nothing twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from huey.contrib.djhuey import HUEY
from test_mobilize_support import FakePlatforms, set_robot, tower_world

from tuanju.groups.models import ChatGroup, RobotStatus
from tuanju.mobilize import actions, delivery
from tuanju.mobilize.actions import TargetSpec
from tuanju.mobilize.channels import Outcome
from tuanju.mobilize.models import (
    Directive,
    GroupDelivery,
    Message,
    MessageState,
    Receipt,
    Status,
    TargetKind,
)


@pytest.fixture(autouse=True)
def immediate():
    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


@pytest.fixture
def server():
    with FakePlatforms() as s:
        yield s


@pytest.fixture
def tower(world):
    return tower_world(world)


def tower_groups(unit_code_prefix: str = "330782"):
    return list(
        ChatGroup.objects.towers().filter(unit__code__startswith=unit_code_prefix).order_by("unit__path")
    )


def robots_on_every_group(server, prefix="330782"):
    groups = tower_groups(prefix)
    kinds = ["wework", "dingtalk", "feishu"]
    for i, group in enumerate(groups):
        kind = kinds[i % 3]
        if kind == "wework":
            set_robot(group, kind, server.wework(f"k{group.pk}"))
        elif kind == "dingtalk":
            set_robot(group, kind, server.dingtalk(f"t{group.pk}", secret=f"s{group.pk}"), f"s{group.pk}")
        else:
            set_robot(group, kind, server.feishu(f"h{group.pk}", secret=f"f{group.pk}"), f"f{group.pk}")
    return groups


def robot_key(group: ChatGroup) -> str:
    return {
        "wework": f"wework:k{group.pk}",
        "dingtalk": f"dingtalk:t{group.pk}",
        "feishu": f"feishu:h{group.pk}",
    }[group.platform]


def time_passes(queryset, seconds: float) -> None:
    """Move the outbox's clocks back, as if ``seconds`` had passed."""
    for message in queryset:
        Message.objects.filter(pk=message.pk).update(
            next_attempt_at=message.next_attempt_at - timedelta(seconds=seconds),
            lease_until=message.lease_until - timedelta(seconds=seconds) if message.lease_until else None,
        )


def send(
    staff, world, django_capture_on_commit_callbacks, *, unit="330782", urgency="emergency", **data
) -> Directive:
    actor = staff["yiwu_admin"]
    fields = {
        "title": "防汛紧急集结",
        "body": "各村青年突击队18:00前到村委会集合。",
        "urgency": urgency,
        **data,
    }
    directive = actions.save_directive(
        Directive(),
        data=fields,
        targets=[TargetSpec(TargetKind.UNIT, unit=world.get(unit))],
        actor=actor,
    )
    with django_capture_on_commit_callbacks(execute=True):
        actions.submit(directive, actor=actor)
    directive.refresh_from_db()
    return directive


def test_fan_out_reaches_every_robot_once_with_its_group_link(
    server, tower, staff, world, django_capture_on_commit_callbacks
):
    groups = robots_on_every_group(server)
    directive = send(staff, world, django_capture_on_commit_callbacks)
    assert directive.status == Status.SENT
    assert directive.planned_groups == len(groups) == 9
    assert directive.planned_people == 8  # 4 tier-3 units × 2 people; Dongyang's person is not targeted
    assert directive.attempted_at is not None
    for group in groups:
        assert server.count[robot_key(group)] == 1
    assert all(r.get("sign_ok", True) for r in server.requests)
    deliveries = GroupDelivery.objects.filter(directive=directive)
    assert set(deliveries.values_list("state", flat=True)) == {"sent"}
    assert deliveries.filter(delivered_at__isnull=False).count() == 9
    assert Message.objects.filter(directive=directive, state=MessageState.SENT).count() == 9
    # Each post carries its own group's link.
    delivery_by_group = {d.group_id: d.pk for d in deliveries}
    from tuanju.mobilize.links import group_path

    for group in groups:
        body = next(r["body"] for r in server.requests if r["robot"] == robot_key(group))
        text = str(body)
        assert group_path(delivery_by_group[group.pk]) in text


def test_groups_without_robot_wait_for_their_liaison_to_relay(
    tower, staff, world, django_capture_on_commit_callbacks, client
):
    directive = send(staff, world, django_capture_on_commit_callbacks)
    deliveries = GroupDelivery.objects.filter(directive=directive)
    assert set(deliveries.values_list("channel", "state")) == {("relay", "relay")}
    assert not Message.objects.filter(directive=directive).exists()
    assert directive.status == Status.SENT  # nothing to send: the inbox is the channel
    first = deliveries.first()
    from tuanju.mobilize.links import group_path

    assert client.get(group_path(first.pk)).status_code == 200
    first.refresh_from_db()
    assert first.state == "relayed" and first.delivered_at and first.opened_at and first.opens == 1


def test_rate_limited_robot_is_retried_with_back_off(
    server, tower, staff, world, django_capture_on_commit_callbacks
):
    groups = robots_on_every_group(server)
    wework = next(g for g in groups if g.platform == "wework")
    server.platforms.script[f"k{wework.pk}"] = [45009]
    directive = send(staff, world, django_capture_on_commit_callbacks)
    message = Message.objects.get(directive=directive, delivery__group=wework)
    assert message.state == MessageState.RETRY and message.attempts == 1
    assert "45009" in message.error
    wait = (
        message.next_attempt_at - message.sent_at
        if message.sent_at
        else message.next_attempt_at - directive.sent_at
    )
    assert wait >= timedelta(seconds=59)
    assert directive.status == Status.SENDING
    # Not yet due: a sweep now sends nothing.
    delivery.sweep(escalate=False)
    assert server.count[robot_key(wework)] == 1
    time_passes(Message.objects.filter(pk=message.pk), 60 * 1.2 + delivery.STALE_SECONDS + 1)
    delivery.sweep(escalate=False)
    message.refresh_from_db()
    assert message.state == MessageState.SENT and message.attempts == 2
    assert server.count[robot_key(wework)] == 2
    directive.refresh_from_db()
    assert directive.status == Status.SENT


def test_invalid_webhook_fails_permanently_and_marks_the_group(
    server, tower, staff, world, django_capture_on_commit_callbacks
):
    groups = tower_groups()
    set_robot(groups[0], "wework", server.wework("invalid-x"))
    set_robot(groups[1], "dingtalk", server.dingtalk("tok-d", secret="real"), "stale-secret")
    directive = send(staff, world, django_capture_on_commit_callbacks)
    for group, code in ((groups[0], "93000"), (groups[1], "310000")):
        group.refresh_from_db()
        assert group.robot_status == RobotStatus.FAILING and code in group.robot_error
        d = GroupDelivery.objects.get(directive=directive, group=group)
        assert d.state == "failed" and code in d.error and d.delivered_at is None
        assert Message.objects.get(directive=directive, delivery=d).state == MessageState.FAILED
    assert server.count["wework:invalid-x"] == 1  # not retried
    # The next directive no longer tries the broken robots: their liaisons relay.
    again = send(staff, world, django_capture_on_commit_callbacks, title="第二次")
    assert GroupDelivery.objects.get(directive=again, group=groups[0]).channel == "relay"
    assert server.count["wework:invalid-x"] == 1


def test_retries_give_up_after_the_configured_attempts(
    server, tower, staff, world, django_capture_on_commit_callbacks, settings
):
    tuanju = dict(settings.TUANJU)
    tuanju["MOBILIZE"] = {"MAX_ATTEMPTS": 2, "BACKOFF_SECONDS": [1]}
    settings.TUANJU = tuanju
    group = tower_groups()[0]
    set_robot(group, "wework", server.wework("always-busy"))
    server.platforms.script["always-busy"] = [-1, -1, -1]
    directive = send(staff, world, django_capture_on_commit_callbacks)
    message = Message.objects.get(directive=directive)
    assert message.state == MessageState.RETRY
    time_passes(Message.objects.filter(pk=message.pk), 200)
    delivery.sweep(escalate=False)
    message.refresh_from_db()
    assert message.state == MessageState.FAILED and message.attempts == 2 and "多次重试" in message.error
    group.refresh_from_db()
    assert group.robot_status == RobotStatus.OK  # busy is not broken


class WorkerKilled(BaseException):
    """Stands for the worker process dying: not an Exception, nothing catches it."""


def test_worker_killed_mid_fan_out_loses_nothing_and_sends_nothing_twice(
    server, tower, staff, world, django_capture_on_commit_callbacks, monkeypatch, settings
):
    tuanju = dict(settings.TUANJU)
    tuanju["MOBILIZE"] = {"BATCH_SIZE": 100}
    settings.TUANJU = tuanju
    groups = robots_on_every_group(server)
    from tuanju.mobilize.channels import robots as robot_adapters

    real_send = robot_adapters.Robot.send
    calls = {"n": 0}

    def dying_send(self, msg):
        calls["n"] += 1
        if calls["n"] == 5:
            raise WorkerKilled  # between the 4th and the 5th post
        return real_send(self, msg)

    monkeypatch.setattr(robot_adapters.Robot, "send", dying_send)
    with pytest.raises(WorkerKilled):
        send(staff, world, django_capture_on_commit_callbacks)
    directive = Directive.objects.get()
    assert directive.status == Status.SENDING
    assert sum(server.count.values()) == 4
    held = Message.objects.filter(directive=directive, state=MessageState.SENDING)
    # One batch per channel: the dead worker held the rest of its batch; the third batch had not
    # reached a worker (in immediate mode the dispatch itself died with it).
    assert held.count() == 2
    assert Message.objects.filter(directive=directive, state=MessageState.QUEUED).count() == 3
    assert Message.objects.filter(directive=directive, state=MessageState.SENT).count() == 4
    # Another copy of the batch (a duplicated task) finds nothing to claim while the lease holds.
    assert delivery.send_messages(list(held.values_list("pk", flat=True)))["claimed"] == 0
    monkeypatch.setattr(robot_adapters.Robot, "send", real_send)
    unsent = Message.objects.filter(directive=directive).exclude(state=MessageState.SENT)
    time_passes(unsent, 61 + delivery.STALE_SECONDS)  # the lease (60 s) runs out: nobody renews it
    report = delivery.sweep(escalate=False)
    assert report["expired"] == 2 and report["stale"] == 3
    assert Message.objects.filter(directive=directive, state=MessageState.SENT).count() == 9
    for group in groups:
        assert server.count[robot_key(group)] == 1, group
    directive.refresh_from_db()
    assert directive.status == Status.SENT
    # Planning again (a re-delivered plan task) adds nothing: idempotency keys and the plan stamp.
    from tuanju.mobilize import planning

    assert planning.plan(directive).already
    assert Message.objects.filter(directive=directive).count() == 9


def test_killed_while_planning_leaves_nothing_and_the_sweeper_plans_again(
    server, tower, staff, world, django_capture_on_commit_callbacks, monkeypatch
):
    robots_on_every_group(server)
    from tuanju.mobilize import planning

    real = planning.plan_messages

    def dying(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(planning, "plan_messages", dying)
    with pytest.raises(WorkerKilled):
        send(staff, world, django_capture_on_commit_callbacks)
    directive = Directive.objects.get()
    assert directive.status == Status.PLANNING
    assert not GroupDelivery.objects.exists() and not Receipt.objects.exists()  # rolled back
    monkeypatch.setattr(planning, "plan_messages", real)
    Directive.objects.filter(pk=directive.pk).update(
        sent_at=directive.sent_at - timedelta(seconds=delivery.STALE_SECONDS + 1)
    )
    report = delivery.sweep(escalate=False)
    assert report["replanned"] == 1
    directive.refresh_from_db()
    assert directive.status == Status.SENT and directive.planned_groups == 9
    assert sum(server.count.values()) == 9


def test_closing_cancels_what_is_still_queued(
    server, tower, staff, world, django_capture_on_commit_callbacks
):
    groups = robots_on_every_group(server)
    server.platforms.script[f"k{groups[0].pk}"] = [45009]
    directive = send(staff, world, django_capture_on_commit_callbacks)
    actions.close(directive, actor=staff["yiwu_admin"])
    assert Message.objects.get(directive=directive, delivery__group=groups[0]).state == MessageState.CANCELLED
    time_passes(Message.objects.filter(directive=directive), 3600)
    delivery.sweep(escalate=False)
    assert server.count[robot_key(groups[0])] == 1


def test_adapter_crash_is_retried_not_lost(
    server, tower, staff, world, django_capture_on_commit_callbacks, monkeypatch
):
    group = tower_groups()[0]
    set_robot(group, "wework", server.wework("k-crash"))
    from tuanju.mobilize.channels import robots as robot_adapters

    monkeypatch.setattr(robot_adapters.WeWork, "request", lambda self, msg: 1 / 0)
    directive = send(staff, world, django_capture_on_commit_callbacks)
    message = Message.objects.get(directive=directive)
    assert message.state == MessageState.RETRY and "ZeroDivisionError" in message.error
    assert Outcome.RETRY.value == "retry"
