"""C8 directives: drafting and approval, fan-out de-duplication, the personal and group links,
sign-up with a quota, reach counts, escalation of silent groups, history, copy, export, API and
scope (a Dongyang cadre sees nothing of Yiwu's directives)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from huey.contrib.djhuey import HUEY
from python_calamine import CalamineWorkbook
from test_mobilize_support import FakePlatforms, set_robot, tower_world

from tuanju.accounts.models import Role
from tuanju.audit.models import AuditEvent
from tuanju.groups import actions as groups_actions
from tuanju.groups.models import ChatGroup, Community, CommunityCategory
from tuanju.mobilize import actions, delivery, escalation, reach
from tuanju.mobilize.actions import TargetSpec
from tuanju.mobilize.links import group_path, receipt_path
from tuanju.mobilize.models import (
    Directive,
    Escalation,
    GroupDelivery,
    Message,
    Receipt,
    Status,
    TargetKind,
)
from tuanju.people.models import Person


@pytest.fixture(autouse=True)
def immediate():
    before = HUEY.immediate
    HUEY.immediate = True
    cache.clear()
    actions.forget_known_acks()
    yield
    HUEY.immediate = before


@pytest.fixture
def tower(world):
    return tower_world(world)


def spec_unit(world, code="330782"):
    return [TargetSpec(TargetKind.UNIT, unit=world[code])]


def draft(actor, world, *, targets=None, **data) -> Directive:
    fields = {
        "title": "防汛紧急集结",
        "body": "各村青年突击队18:00前到村委会集合。",
        "urgency": "emergency",
        **data,
    }
    return actions.save_directive(Directive(), data=fields, targets=targets or spec_unit(world), actor=actor)


def send(actor, world, capture, **kwargs) -> Directive:
    directive = draft(actor, world, **kwargs)
    with capture(execute=True):
        actions.submit(directive, actor=actor)
    directive.refresh_from_db()
    return directive


# --- Drafting, approval ---------------------------------------------------------------------------


def test_viewer_may_not_send(tower, staff, world):
    with pytest.raises(actions.PermissionDenied):
        draft(staff["yiwu_viewer"], world)


def test_targets_outside_the_senders_unit_are_refused(tower, staff, world):
    with pytest.raises(actions.ValidationError):
        draft(staff["yiwu_cadre"], world, targets=spec_unit(world, "330783"))


def test_cadre_needs_approval_for_a_general_directive_and_admin_approves(
    tower, staff, world, django_capture_on_commit_callbacks
):
    cadre, admin = staff["yiwu_cadre"], staff["yiwu_admin"]
    directive = draft(cadre, world, urgency="general")
    with django_capture_on_commit_callbacks(execute=True):
        actions.submit(directive, actor=cadre)
    assert directive.status == Status.PENDING and directive.sent_at is None
    assert not GroupDelivery.objects.exists()
    # Four eyes: the sender cannot approve, nor can a cadre, nor an admin of another county.
    for who in (cadre, staff["dongyang_cadre"]):
        with pytest.raises(actions.PermissionDenied):
            actions.approve(directive, actor=who)
    with django_capture_on_commit_callbacks(execute=True):
        actions.approve(directive, actor=admin, note="同意")
    directive.refresh_from_db()
    assert directive.status == Status.SENT and directive.decided_by == admin
    assert directive.service_seconds == 3600 and directive.planned_groups == 9
    assert AuditEvent.objects.filter(action="approve", object_id=str(directive.pk)).exists()
    assert AuditEvent.objects.filter(action="send", object_id=str(directive.pk)).exists()


def test_emergency_from_a_cadre_goes_out_at_once(tower, staff, world, django_capture_on_commit_callbacks):
    directive = send(staff["yiwu_cadre"], world, django_capture_on_commit_callbacks)
    assert directive.status == Status.SENT and directive.service_seconds == 180


def test_rejected_directive_goes_back_to_the_sender(tower, staff, world, django_capture_on_commit_callbacks):
    directive = draft(staff["yiwu_cadre"], world, urgency="general")
    actions.submit(directive, actor=staff["yiwu_cadre"])
    with pytest.raises(actions.ValidationError):
        actions.reject(directive, actor=staff["city_admin"], note="")
    actions.reject(directive, actor=staff["city_admin"], note="时间写错了")
    assert directive.status == Status.REJECTED and directive.decision_note == "时间写错了"
    edited = actions.save_directive(
        directive, data={"body": "改为19:00集合。"}, targets=spec_unit(world), actor=staff["yiwu_cadre"]
    )
    assert edited.status == Status.DRAFT


# --- Fan-out ---------------------------------------------------------------------------------------------


def test_overlapping_targets_reach_each_group_and_person_once(
    tower, staff, world, django_capture_on_commit_callbacks
):
    admin = staff["yiwu_admin"]
    people = tower["people"]
    community = Community.objects.create(
        unit=world["330782"], name="义乌青年突击队", category=CommunityCategory.objects.first()
    )
    group = groups_actions.create_group(
        world["330782"], kind="community", name="突击队群", ref_type="groups.community", ref_id=community.pk
    )
    community.chat_group = group
    community.save()
    groups_actions.add_community_members(community, people[:3], actor=None)
    targets = [
        TargetSpec(TargetKind.UNIT, unit=world["330782"]),
        TargetSpec(TargetKind.UNIT, unit=world["330782001"]),  # inside the first
        TargetSpec(TargetKind.LEVEL, unit=world["330782"], levels=("tier1",)),
        TargetSpec(TargetKind.COMMUNITY, community=community),
        TargetSpec(TargetKind.PEOPLE, unit=world["330782"], filters={"age_min": None}),
    ]
    directive = send(admin, world, django_capture_on_commit_callbacks, targets=targets)
    assert directive.planned_groups == 10  # 9 tower groups + the community's group
    assert directive.planned_people == 8
    assert GroupDelivery.objects.filter(directive=directive).count() == 10
    assert Receipt.objects.filter(directive=directive).values("person").distinct().count() == 8
    # Home groups are attributed; the Dongyang person was never targeted.
    assert not Receipt.objects.filter(directive=directive, person__unit__code__startswith="330783").exists()
    assert Receipt.objects.filter(directive=directive, group__isnull=False).count() == 8


def test_tower_level_target_reaches_only_those_groups_and_their_members(
    tower, staff, world, django_capture_on_commit_callbacks
):
    directive = send(
        staff["yiwu_admin"],
        world,
        django_capture_on_commit_callbacks,
        targets=[TargetSpec(TargetKind.LEVEL, unit=world["330782"], levels=("tier3",))],
    )
    levels = set(GroupDelivery.objects.filter(directive=directive).values_list("level", flat=True))
    assert levels == {"tier3"} and directive.planned_groups == 4 and directive.planned_people == 8


def test_people_filter_targets_people_only(tower, staff, world, django_capture_on_commit_callbacks):
    backbone = tower["people"][0]
    Person.objects.filter(pk=backbone.pk).update(is_backbone=True)
    directive = send(
        staff["yiwu_admin"],
        world,
        django_capture_on_commit_callbacks,
        targets=[TargetSpec(TargetKind.PEOPLE, unit=world["330782"], filters={"backbone": True})],
    )
    assert directive.planned_groups == 0
    assert list(Receipt.objects.filter(directive=directive).values_list("person_id", flat=True)) == [
        backbone.pk
    ]


def test_liaisons_of_target_groups_are_included_and_flagged(
    tower, staff, world, django_capture_on_commit_callbacks
):
    outsider = Person.objects.create(unit=world["330782001"], name="联络员甲")
    group = ChatGroup.objects.towers().get(unit__code="330782001001")
    groups_actions.add_liaison(group, person=outsider)
    directive = send(staff["yiwu_admin"], world, django_capture_on_commit_callbacks)
    receipt = Receipt.objects.get(directive=directive, person=outsider)
    assert receipt.is_liaison and directive.planned_people == 9


# --- The links ---------------------------------------------------------------------------------------------


def test_personal_link_opens_acknowledges_once_and_stamps_the_group(
    tower, staff, world, django_capture_on_commit_callbacks, client
):
    directive = send(staff["yiwu_admin"], world, django_capture_on_commit_callbacks)
    receipt = Receipt.objects.filter(directive=directive).select_related("group").first()
    page = client.get(receipt_path(receipt.pk))
    assert page.status_code == 200 and "防汛紧急集结" in page.content.decode()
    receipt.refresh_from_db()
    assert receipt.opened_at is not None and receipt.acked_at is None
    answer = client.post(receipt_path(receipt.pk) + "ack/", HTTP_ACCEPT="application/json")
    assert answer.status_code == 200 and answer.json() == {"ok": True, "acknowledged": True, "first": True}
    again = client.post(receipt_path(receipt.pk) + "ack/", HTTP_ACCEPT="application/json")
    assert again.json()["first"] is False
    receipt.refresh_from_db()
    assert receipt.acked_at and receipt.ack_via == "link"
    group = GroupDelivery.objects.get(directive=directive, group=receipt.group)
    assert group.acked_at == receipt.acked_at and group.acked_by_id == receipt.person_id
    # A form post (no JSON) comes back to the page, which now shows the acknowledgement.
    other = Receipt.objects.filter(directive=directive, acked_at__isnull=True).first()
    response = client.post(receipt_path(other.pk) + "ack/")
    assert response.status_code == 302
    assert (
        "已确认" in client.get(response["Location"]).content.decode()
        or "Acknowledged" in client.get(response["Location"]).content.decode()
    )


def test_forged_or_foreign_tokens_are_refused(
    tower, staff, world, django_capture_on_commit_callbacks, client
):
    directive = send(staff["yiwu_admin"], world, django_capture_on_commit_callbacks)
    receipt = Receipt.objects.filter(directive=directive).first()
    token = receipt_path(receipt.pk).rstrip("/").rsplit("/", 1)[-1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.post(f"/h5/d/{forged}/ack/", HTTP_ACCEPT="application/json").status_code == 404
    gd = GroupDelivery.objects.filter(directive=directive).first()
    group_token = group_path(gd.pk).rstrip("/").rsplit("/", 1)[-1]
    assert (
        client.post(f"/h5/d/{group_token}/ack/", HTTP_ACCEPT="application/json").status_code == 404
    )  # other salt


def test_closed_directive_refuses_acknowledgements(
    tower, staff, world, django_capture_on_commit_callbacks, client
):
    directive = send(staff["yiwu_admin"], world, django_capture_on_commit_callbacks)
    actions.close(directive, actor=staff["yiwu_admin"])
    receipt = Receipt.objects.filter(directive=directive).first()
    answer = client.post(receipt_path(receipt.pk) + "ack/", HTTP_ACCEPT="application/json")
    assert answer.status_code == 410


def test_ack_endpoint_is_rate_limited_per_link(
    tower, staff, world, django_capture_on_commit_callbacks, client, settings
):
    tuanju = dict(settings.TUANJU)
    tuanju["MOBILIZE"] = {"ACK_LIMITS": {"ip": "1000/1m", "link": "3/10m", "phone": "2/10m"}}
    settings.TUANJU = tuanju
    directive = send(staff["yiwu_admin"], world, django_capture_on_commit_callbacks)
    receipt = Receipt.objects.filter(directive=directive).first()
    codes = [
        client.post(receipt_path(receipt.pk) + "ack/", HTTP_ACCEPT="application/json").status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]


def test_group_link_marks_the_group_reached_and_members_confirm_by_phone(
    tower, staff, world, django_capture_on_commit_callbacks, client
):
    directive = send(staff["yiwu_admin"], world, django_capture_on_commit_callbacks)
    person = tower["people"][0]
    gd = GroupDelivery.objects.get(directive=directive, group__members__person=person, level="tier3")
    url = group_path(gd.pk)
    page = client.get(url)
    assert page.status_code == 200
    gd.refresh_from_db()
    assert gd.delivered_at and gd.state == "relayed" and gd.opens == 1
    wrong = client.post(url, {"phone": "13912345678"})
    assert "没有这个手机号" in wrong.content.decode()
    done = client.post(url, {"phone": person.reveal_phone()})
    assert done.status_code == 200 and person.name in done.content.decode()
    gd.refresh_from_db()
    assert gd.acked_at is not None and gd.acked_by_id == person.pk
    assert Receipt.objects.get(directive=directive, person=person).ack_via == "group"


def test_sign_up_respects_the_quota(tower, staff, world, django_capture_on_commit_callbacks, client):
    directive = send(
        staff["yiwu_admin"],
        world,
        django_capture_on_commit_callbacks,
        signup_enabled=True,
        signup_quota=2,
        signup_note="沙袋装运志愿者",
    )
    receipts = list(Receipt.objects.filter(directive=directive).order_by("pk")[:3])
    for r in receipts[:2]:
        assert (
            client.post(receipt_path(r.pk) + "signup/", HTTP_ACCEPT="application/json").json()["signed_up"]
            is True
        )
    full = client.post(receipt_path(receipts[2].pk) + "signup/", HTTP_ACCEPT="application/json")
    assert full.status_code == 409 and "名额已满" in full.json()["error"]
    directive.refresh_from_db()
    assert directive.signup_count == 2
    signed = Receipt.objects.get(pk=receipts[0].pk)
    assert signed.signed_up_at and signed.acked_at  # signing up acknowledges too
    client.post(receipt_path(receipts[0].pk) + "signup/", {"cancel": "1"}, HTTP_ACCEPT="application/json")
    directive.refresh_from_db()
    assert directive.signup_count == 1
    assert (
        client.post(receipt_path(receipts[2].pk) + "signup/", HTTP_ACCEPT="application/json").status_code
        == 200
    )


# --- Reach and escalation -------------------------------------------------------------------------------


def test_reach_counts_per_child_and_level(tower, staff, world, django_capture_on_commit_callbacks):
    with FakePlatforms() as server:
        groups = list(ChatGroup.objects.towers().filter(unit__code__startswith="3307820020").order_by("pk"))
        for group in groups:
            set_robot(group, "wework", server.wework(f"k{group.pk}"))
        directive = send(staff["yiwu_admin"], world, django_capture_on_commit_callbacks)
    people = Receipt.objects.filter(directive=directive, unit__code__startswith="330782002").order_by("pk")
    for r in people[:3]:
        actions.acknowledge(r.pk)
    result = reach.compute(directive, world["330782"])
    assert result.total.groups == 9 and result.total.delivered == 6  # 江东街道's 6 groups have robots
    assert result.total.people == 8 and result.total.people_acked == 3
    by_child = {row.unit.code: row.tally for row in result.children}
    jiangdong, chengcheng = by_child["330782002"], by_child["330782001"]
    assert (jiangdong.groups, jiangdong.delivered, jiangdong.people, jiangdong.people_delivered) == (
        6,
        6,
        6,
        6,
    )
    assert jiangdong.people_acked == 3 and jiangdong.acked == 2  # two tier-3 groups got a member's 收到
    assert (chengcheng.groups, chengcheng.delivered, chengcheng.relay_waiting) == (3, 0, 3)
    levels = {level: t for level, _label, t in result.by_level}
    assert levels["tier3"].groups == 4 and levels["tier1"].groups == 2
    assert result.total.acked_in_time == 2
    sla = reach.sla_state(directive)
    assert sla["sla"] == 180 and not sla["over"]


def test_silent_groups_escalate_to_liaison_and_parent_cadre(
    tower, staff, world, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cadre = staff["yiwu_cadre"]
    type(cadre).objects.create(
        username="chengcheng", unit=world["330782001"], role=Role.CADRE, email="cc@example.cn"
    )
    liaison_user = type(cadre).objects.create(
        username="liaison1", unit=world["330782001"], role=Role.LIAISON, email="l1@example.cn"
    )
    tier3 = ChatGroup.objects.towers().get(unit__code="330782001001001001")
    groups_actions.add_liaison(tier3, user=liaison_user)
    with FakePlatforms() as server:
        set_robot(tier3, "wework", server.wework("silent"))
        tuanju = dict(settings.TUANJU)
        tuanju["MOBILIZE"] = {"CHANNELS": {"sms": {"url": server.sms_url, "api_key": "sms-key"}}}
        settings.TUANJU = tuanju
        person_liaison = tower["people"][0]
        jiangdong_group = ChatGroup.objects.towers().get(unit__code="330782002001")
        groups_actions.add_liaison(jiangdong_group, person=person_liaison)
        directive = send(staff["yiwu_admin"], world, django_capture_on_commit_callbacks)
        # One group acknowledges before the escalation round.
        acked = Receipt.objects.filter(directive=directive, group__unit__code="330782002001001001").first()
        actions.acknowledge(acked.pk)
        assert escalation.escalate(directive) == 0  # not due yet
        Directive.objects.filter(pk=directive.pk).update(sent_at=directive.sent_at - timedelta(seconds=91))
        directive.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            assert escalation.escalate(directive) == 8  # 9 groups, one acknowledged
        assert directive.escalation_step == 1
        record = Escalation.objects.get(directive=directive, delivery__group=tier3)
        assert record.step == 1 and record.share == 0.5
        assert (
            record.liaisons == "liaison1"
            and "chengcheng" in record.cadres
            and record.cadre_unit == world["330782001"]
        )
        assert "email" in record.channels and "wework" in record.channels
        # Notifications went out through the same adapters: robot reminder, SMS, e-mails.
        assert server.count["wework:silent"] == 2
        reminder = [r for r in server.requests if r["robot"] == "wework:silent"][-1]["body"]
        assert reminder["msgtype"] == "markdown" and "提醒" in reminder["markdown"]["content"]
        sms = [r for r in server.requests if r["robot"].startswith("sms:")]
        assert len(sms) == 1 and sms[0]["body"]["to"] == person_liaison.reveal_phone()
        recipients = sorted(m.to[0] for m in mail.outbox)
        assert "cc@example.cn" in recipients and "l1@example.cn" in recipients
        digest = next(m for m in mail.outbox if m.to == ["cc@example.cn"])
        assert "1幢1单元" in digest.body and f"?unit={world['330782001'].code}" in digest.body
        # Idempotent: running the same round again adds nothing.
        assert escalation.escalate_step(directive, 1, 0.5) == 0
        assert Escalation.objects.filter(directive=directive).count() == 8
        # The second round (the service level itself) escalates the still-silent groups again.
        Directive.objects.filter(pk=directive.pk).update(sent_at=directive.sent_at - timedelta(seconds=100))
        directive.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            delivery.sweep()
        assert Escalation.objects.filter(directive=directive, step=2).count() == 8
        assert Message.objects.filter(directive=directive, purpose="escalation").count() >= 4


def test_staff_can_record_a_phone_confirmation(
    tower, staff, world, django_capture_on_commit_callbacks, client_for
):
    directive = send(staff["yiwu_admin"], world, django_capture_on_commit_callbacks)
    gd = GroupDelivery.objects.filter(directive=directive).first()
    client = client_for(staff["yiwu_cadre"])
    response = client.post(reverse("mobilize:ack-group", args=[directive.pk, gd.pk]), {"note": "电话确认"})
    assert response.status_code == 302
    gd.refresh_from_db()
    assert gd.acked_at is not None
    assert AuditEvent.objects.filter(action="acknowledge", object_id=str(directive.pk)).exists()


# --- Staff UI -------------------------------------------------------------------------------------------------


def test_create_through_the_form_and_see_the_live_view(
    tower, staff, world, client_for, django_capture_on_commit_callbacks
):
    client = client_for(staff["yiwu_admin"])
    assert client.get(reverse("mobilize:create")).status_code == 200
    estimate = client.post(reverse("mobilize:estimate"), {"units": "330782"})
    assert "9" in estimate.content.decode() and "8" in estimate.content.decode()
    data = {
        "title": "周末河道清理",
        "body": "周六上午九点集合。",
        "urgency": "general",
        "require_ack": "on",
        "use_robots": "on",
        "units": "330782001 330782002",
        "then": "submit",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mobilize:create"), data)
    directive = Directive.objects.get(title="周末河道清理")
    assert response.status_code == 302 and directive.status == Status.SENT
    page = client.get(reverse("mobilize:detail", args=[directive.pk]))
    body = page.content.decode()
    assert page.status_code == 200 and 'hx-trigger="every 5s"' in body and "ack-curve" in body
    assert client.get(reverse("mobilize:reach", args=[directive.pk]) + "?unit=330782001").status_code == 200
    assert client.get(reverse("mobilize:groups", args=[directive.pk]) + "?show=silent").status_code == 200
    assert client.get(reverse("mobilize:people", args=[directive.pk])).status_code == 200
    assert client.get(reverse("mobilize:escalations", args=[directive.pk])).status_code == 200
    listing = client.get(reverse("mobilize:list") + "?q=河道")
    assert "周末河道清理" in listing.content.decode()
    assert "周末河道清理" not in client.get(reverse("mobilize:list") + "?q=不存在").content.decode()


def test_form_errors_are_shown_in_chinese(tower, staff, client_for):
    client = client_for(staff["yiwu_admin"])
    response = client.post(
        reverse("mobilize:create"), {"title": "", "body": "x", "urgency": "general", "units": "330783"}
    )
    body = response.content.decode()
    assert response.status_code == 200 and "本单位范围内没有编码为“330783”的单位" in body


def test_copy_as_template_keeps_text_and_targets(
    tower, staff, world, django_capture_on_commit_callbacks, client_for
):
    directive = send(staff["yiwu_admin"], world, django_capture_on_commit_callbacks)
    client = client_for(staff["yiwu_admin"])
    response = client.post(reverse("mobilize:copy", args=[directive.pk]))
    new = Directive.objects.exclude(pk=directive.pk).get()
    assert response.status_code == 302 and new.status == Status.DRAFT and new.copied_from == directive
    assert new.body == directive.body and [t.label for t in new.targets.all()] == [
        t.label for t in directive.targets.all()
    ]


def test_reach_export_is_an_xlsx_with_silent_groups_and_people(
    tower, staff, world, django_capture_on_commit_callbacks, client_for
):
    directive = send(staff["yiwu_admin"], world, django_capture_on_commit_callbacks)
    actions.acknowledge(Receipt.objects.filter(directive=directive).first().pk)
    client = client_for(staff["yiwu_cadre"])
    response = client.get(reverse("mobilize:export", args=[directive.pk]))
    assert response.status_code == 200
    book = CalamineWorkbook.from_filelike(io.BytesIO(b"".join(response.streaming_content)))
    assert {"概况", "分单位", "分层级", "未确认的群", "催办记录", "未确认的青年", "报名名单"} <= set(
        book.sheet_names
    )
    silent = book.get_sheet_by_name("未确认的群").to_python()
    assert len(silent) - 1 == 8
    people = book.get_sheet_by_name("未确认的青年").to_python()
    assert len(people) - 1 == 7 and "****" in str(people[1][3])  # masked for a cadre
    assert AuditEvent.objects.filter(action="export", object_id=str(directive.pk)).exists()


# --- Scope ------------------------------------------------------------------------------------------------------


def test_dongyang_cadre_sees_nothing_of_yiwu_directives(
    tower, staff, world, django_capture_on_commit_callbacks, client_for
):
    directive = send(staff["yiwu_admin"], world, django_capture_on_commit_callbacks)
    client = client_for(staff["dongyang_cadre"])
    for name in ("detail", "reach", "groups", "people", "escalations", "export"):
        assert client.get(reverse(f"mobilize:{name}", args=[directive.pk])).status_code == 404, name
    for name in ("close", "copy", "submit", "approve"):
        assert client.post(reverse(f"mobilize:{name}", args=[directive.pk])).status_code == 404, name
    for tab in ("sent", "received", "approval"):
        assert directive.title not in client.get(reverse("mobilize:list") + f"?tab={tab}").content.decode()
    api = client.get("/api/v1/directives/")
    assert api.status_code == 200 and api.json()["count"] == 0
    assert client.get(f"/api/v1/directives/{directive.pk}/").status_code == 404


def test_town_cadre_sees_a_county_directive_received_from_above_for_its_town_only(
    tower, staff, world, django_capture_on_commit_callbacks, client_for
):
    jiangdong = tower["units"]["330782002"]
    town = type(staff["yiwu_cadre"]).objects.create(username="town", unit=jiangdong, role=Role.CADRE)
    directive = send(staff["yiwu_admin"], world, django_capture_on_commit_callbacks)
    client = client_for(town)
    assert directive.title in client.get(reverse("mobilize:list") + "?tab=received").content.decode()
    assert directive.title not in client.get(reverse("mobilize:list")).content.decode()
    page = client.get(reverse("mobilize:detail", args=[directive.pk]))
    assert page.status_code == 200
    result = page.context["reach"]
    assert result.root == jiangdong and result.total.groups == 6 and result.total.people == 6
    # It may not steer the county's directive.
    assert client.post(reverse("mobilize:close", args=[directive.pk])).status_code == 404
    # Asking for a unit outside its town falls back to the town.
    assert (
        client.get(reverse("mobilize:detail", args=[directive.pk]) + "?unit=330782001").context["root"]
        == jiangdong
    )


# --- API ----------------------------------------------------------------------------------------------------------


def test_api_create_list_detail_with_reach(
    tower, staff, world, client_for, django_capture_on_commit_callbacks
):
    client = client_for(staff["yiwu_admin"])
    payload = {
        "title": "疫苗接种志愿者招募",
        "body": "招募20名志愿者。",
        "urgency": "urgent",
        "signup_enabled": True,
        "signup_quota": 20,
        "signup_note": "接种点引导",
        "targets": [
            {"kind": "unit", "unit": "330782002"},
            {"kind": "level", "unit": "330782001", "levels": ["tier1"]},
        ],
    }
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/directives/", payload, content_type="application/json")
    assert created.status_code == 201, created.content
    data = client.get(f"/api/v1/directives/{created.json()['id']}/").json()
    assert data["status"] == "sent" and data["planned"]["groups"] == 7 and data["service_seconds"] == 900
    listing = client.get("/api/v1/directives/?q=疫苗").json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == data["id"]
    detail = client.get(f"/api/v1/directives/{data['id']}/").json()
    assert detail["reach"]["total"]["groups"] == 7 and detail["reach"]["total"]["people"] == 6
    assert detail["reach"]["sla"]["sla"] == 900
    narrowed = client.get(f"/api/v1/directives/{data['id']}/?unit=330782002").json()
    assert narrowed["reach"]["total"]["groups"] == 6
    bad = client.post(
        "/api/v1/directives/",
        {**payload, "targets": [{"kind": "unit", "unit": "330783"}]},
        content_type="application/json",
    )
    assert bad.status_code == 400
    viewer = client_for(staff["yiwu_viewer"]).post(
        "/api/v1/directives/", payload, content_type="application/json"
    )
    assert viewer.status_code == 403


def test_public_ack_api_takes_the_personal_token(
    tower, staff, world, django_capture_on_commit_callbacks, client
):
    directive = send(staff["yiwu_admin"], world, django_capture_on_commit_callbacks)
    receipt = Receipt.objects.filter(directive=directive).first()
    token = receipt_path(receipt.pk).rstrip("/").rsplit("/", 1)[-1]
    answer = client.post(
        "/api/v1/directive-acks/", {"token": token, "action": "ack"}, content_type="application/json"
    )
    assert answer.status_code == 200 and answer.json()["acknowledged"] is True
    assert (
        client.post(
            "/api/v1/directive-acks/", {"token": "zz.notasignature00"}, content_type="application/json"
        ).status_code
        == 404
    )
