"""C7 activities, the domain: registration and waitlist, cancellation cut-off, leave, the credit rule
in every branch, settlement and corrections, check-in, hours and rounding, frequency health and
the 四有 / duty-board hooks."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from test_activities_support import RID, activities_env, held, make_activity, make_community, move, person  # noqa: F401

from tuanju.activities import actions, health, tokens
from tuanju.activities.models import (
    Activity,
    BlacklistProposal,
    CancelKind,
    CheckIn,
    CheckMethod,
    CreditBlock,
    LeaveStatus,
    Outcome,
    ProposalStatus,
    Registration,
    RegistrationStatus,
)
from tuanju.audit.models import AuditEvent
from tuanju.groups import actions as groups_actions
from tuanju.groups.models import BlacklistEntry, CreditKind, CreditRecord
from tuanju.hierarchy.models import OrgUnit
from tuanju.organizations import hooks


@pytest.fixture
def yiwu(world):
    return world["330782001001"]  # 华新社区


@pytest.fixture
def community(yiwu):
    return make_community(yiwu)


# --- Registration, capacity and the waitlist -----------------------------------------------------


def test_registration_matches_the_roster_by_blind_index(yiwu):
    known = person(yiwu, "李娜", phone="13812345678")
    activity = make_activity(unit=yiwu)
    result = actions.register(activity, name="李娜", phone="138-1234-5678", source="qr")
    assert result.outcome == "confirmed" and result.registration.person == known and not result.new_person
    assert result.registration.source == "qr"
    again = actions.register(activity, name="李娜", phone="13812345678")
    assert again.outcome == "already" and Registration.objects.count() == 1


def test_open_registration_adds_a_new_person_to_the_roster(yiwu):
    activity = make_activity(unit=yiwu)
    result = actions.register(activity, name="王芳", phone="13912345678", resident_id="")
    assert result.new_person and result.registration.person.unit == activity.unit
    assert result.registration.person.phone_masked == "139****5678"


def test_members_only_and_area_audiences(world, yiwu, community):
    member, stranger = person(yiwu, "成员甲"), person(yiwu, "路人乙")
    groups_actions.add_community_members(community, [member], actor=None)
    activity = make_activity(community=community, audience="members")
    assert actions.register(activity, person=member).outcome == "confirmed"
    with pytest.raises(actions.Refused) as refused:
        actions.register(activity, person=stranger)
    assert "成员" in refused.value.message and refused.value.code == "audience"
    with pytest.raises(actions.Refused, match="名单中没有找到"):
        actions.register(activity, name="陌生人", phone="13700001111")
    area = make_activity(
        unit=world["330782"], audience="subtree", audience_unit=OrgUnit.objects.get(code="330782002")
    )
    with pytest.raises(actions.Refused, match="江东街道辖区内的青年"):
        actions.register(area, person=member)


def test_required_fields_and_questions(yiwu):
    activity = make_activity(
        unit=yiwu, requires_resident_id=True, extra_fields=["size", "remark"], questions=["是否会游泳？"]
    )
    with pytest.raises(actions.Refused, match="实名报名"):
        actions.register(activity, name="赵敏", phone="13512340000", answers={"size": "L", "q1": "会"})
    with pytest.raises(actions.Refused, match="服装尺码"):
        actions.register(activity, name="赵敏", phone="13512340000", resident_id=RID, answers={"q1": "会"})
    with pytest.raises(actions.Refused, match="是否会游泳"):
        actions.register(activity, name="赵敏", phone="13512340000", resident_id=RID, answers={"size": "L"})
    result = actions.register(
        activity, name="赵敏", phone="13512340000", resident_id=RID, answers={"size": "L", "q1": "会"}
    )
    assert result.registration.answers == {"size": "L", "q1": "会"}


def test_registration_window(yiwu):
    activity = make_activity(unit=yiwu, registration_opens_at=timezone.now() + timedelta(days=1))
    with pytest.raises(actions.Refused, match="报名将于"):
        actions.register(activity, name="钱多", phone="13600001234")
    Activity.objects.filter(pk=activity.pk).update(
        registration_opens_at=timezone.now() - timedelta(days=2),
        registration_closes_at=timezone.now() - timedelta(hours=1),
    )
    activity.refresh_from_db()
    with pytest.raises(actions.Refused, match="报名已截止"):
        actions.register(activity, name="钱多", phone="13600001234")
    # staff may still register someone until the end (a walk-in)
    assert actions.register(activity, person=person(yiwu)).outcome == "confirmed"


def test_waitlist_and_promotion_when_a_place_frees(yiwu):
    a, b, c, d = (person(yiwu, n) for n in ("甲一", "乙二", "丙三", "丁四"))
    activity = make_activity(unit=yiwu, capacity=2, waitlist_limit=1)
    assert [actions.register(activity, person=p).outcome for p in (a, b)] == ["confirmed", "confirmed"]
    third = actions.register(activity, person=c)
    assert third.outcome == "waitlisted" and third.position == 1
    with pytest.raises(actions.Refused, match="名额已满"):
        actions.register(activity, person=d)
    actions.cancel_registration(Registration.objects.get(activity=activity, person=a), by_participant=True)
    promoted = Registration.objects.get(activity=activity, person=c)
    assert promoted.status == RegistrationStatus.CONFIRMED and promoted.promoted_at is not None
    assert AuditEvent.objects.filter(action="promote", object_id=str(promoted.pk)).exists()
    # an approved leave frees a place too
    assert actions.register(activity, person=d).outcome == "waitlisted"
    reg_b = Registration.objects.get(activity=activity, person=b)
    actions.request_leave(reg_b, reason="发烧")
    actions.decide_leave(reg_b, approve=True, actor=None)
    assert Registration.objects.get(pk=reg_b.pk).status == RegistrationStatus.ON_LEAVE
    assert Registration.objects.get(activity=activity, person=d).status == RegistrationStatus.CONFIRMED


def test_more_places_promote_the_waitlist_and_fewer_than_taken_are_refused(yiwu):
    people = [person(yiwu, f"候补{'甲乙丙丁'[i]}") for i in range(4)]
    activity = make_activity(unit=yiwu, capacity=1)
    for p in people:
        actions.register(activity, person=p)
    assert activity.registrations.waitlisted().count() == 3
    actions.save_activity(activity, data={"capacity": 3})
    assert activity.registrations.confirmed().count() == 3
    with pytest.raises(ValidationError, match="名额不能少于3"):
        actions.save_activity(activity, data={"capacity": 2})


def test_no_promotion_after_the_start(yiwu):
    a, b = person(yiwu, "先来"), person(yiwu, "后到")
    activity = make_activity(unit=yiwu, capacity=1)
    actions.register(activity, person=a)
    actions.register(activity, person=b)
    move(activity, days=-0.01)  # started 15 minutes ago
    assert actions.promote_waitlist(activity) == []


# --- Cancellation cut-off and leave --------------------------------------------------------------


def test_cancellation_cut_off(yiwu):
    p = person(yiwu)
    activity = make_activity(unit=yiwu, days=0.5, cancel_cutoff_hours=24)  # starts in 12 hours
    reg = actions.register(activity, person=p).registration
    with pytest.raises(actions.Refused) as refused:
        actions.cancel_registration(reg, by_participant=True)
    assert refused.value.code == "cutoff" and "请假" in refused.value.message
    actions.cancel_registration(reg, actor=None, reason="组织方调整")  # staff may, until the start
    assert Registration.objects.get(pk=reg.pk).cancel_kind == CancelKind.STAFF
    early = make_activity(unit=yiwu, days=3, cancel_cutoff_hours=24)
    reg2 = actions.register(early, person=p).registration
    assert actions.cancel_registration(reg2, by_participant=True).status == RegistrationStatus.CANCELLED
    # and may register again (at the end of the queue)
    assert actions.register(early, person=p).outcome == "confirmed"


def test_leave_only_before_the_start_and_only_with_a_place(yiwu):
    a, b = person(yiwu, "请假甲"), person(yiwu, "候补乙")
    activity = make_activity(unit=yiwu, capacity=1)
    reg_a = actions.register(activity, person=a).registration
    reg_b = actions.register(activity, person=b).registration
    with pytest.raises(actions.Refused, match="请填写请假原因"):
        actions.request_leave(reg_a, reason=" ")
    with pytest.raises(actions.Refused, match="直接取消"):
        actions.request_leave(reg_b, reason="有事")
    actions.request_leave(reg_a, reason="加班")
    actions.decide_leave(reg_a, approve=False, actor=None, note="人手不足")
    reg_a.refresh_from_db()
    assert reg_a.leave_status == LeaveStatus.REJECTED and reg_a.status == RegistrationStatus.CONFIRMED
    move(activity, days=-0.01)
    with pytest.raises(actions.Refused, match="活动已开始"):
        actions.request_leave(reg_a, reason="还是去不了")


# --- The credit rule -----------------------------------------------------------------------------


def test_three_unexcused_absences_block_the_fourth(yiwu, community):
    p = person(yiwu, "缺席者")
    held(community, [p], days_ago=30)
    second = held(community, [p], days_ago=23)
    assert CreditRecord.objects.filter(person=p, kind=CreditKind.WARNING, ref_id=second.pk).exists()
    third = held(community, [p], days_ago=16)
    block = CreditBlock.objects.get(person=p, community=community)
    assert block.trigger == third and len(block.absences) == 3
    entry = CreditRecord.objects.get(person=p, kind=CreditKind.BLOCKED)
    assert "连续3次" in entry.reason and entry.community == community
    fourth = make_activity(community=community, title="第四次瑜伽课", days=2)
    with pytest.raises(actions.Refused) as refused:
        actions.register(fourth, person=p)
    message = refused.value.message
    assert refused.value.code == "credit"
    assert "连续3次" in message and "第四次瑜伽课" in message and "限制至" in message and "未请假" in message
    assert CreditRecord.objects.filter(person=p, kind=CreditKind.NOTE, ref_id=fourth.pk).count() == 1
    with pytest.raises(actions.Refused):  # refused again: explained once on the record
        actions.register(fourth, name=p.name, phone=p.reveal_phone())
    assert CreditRecord.objects.filter(person=p, kind=CreditKind.NOTE, ref_id=fourth.pk).count() == 1
    # only the next one: the fifth is open, and after the fourth ends the count starts again
    fifth = make_activity(community=community, title="第五次", days=9)
    assert actions.register(fifth, person=p).outcome == "confirmed"
    move(fourth, days=-1)
    sixth = make_activity(community=community, title="第六次", days=16)
    assert actions.register(sixth, person=p).outcome == "confirmed"
    block.refresh_from_db()
    assert block.served_at is not None and block.blocked_activity == fourth
    assert actions.absence_streak(p, community) == []


def test_excused_leave_does_not_count(yiwu, community):
    p = person(yiwu, "请假者")
    held(community, [p], days_ago=30)
    held(community, [p], days_ago=23)
    excused = held(community, [p], days_ago=16, leave=[p])
    assert Registration.objects.get(activity=excused, person=p).outcome == Outcome.EXCUSED
    assert CreditRecord.objects.filter(person=p, kind=CreditKind.EXCUSED).exists()
    fourth = make_activity(community=community, days=2)
    assert actions.register(fourth, person=p).outcome == "confirmed"
    assert not CreditBlock.objects.exists()
    # ...nor does it break the streak: one more absence makes three
    move(fourth, days=-9)
    actions.settle_attendance(fourth)
    assert CreditBlock.objects.filter(person=p).count() == 1


def test_a_pending_leave_at_the_start_counts_as_absence(yiwu, community):
    p = person(yiwu)
    activity = make_activity(community=community)
    reg = actions.register(activity, person=p).registration
    actions.request_leave(reg, reason="出差")
    move(activity, days=-1)
    actions.settle_attendance(activity)
    reg.refresh_from_db()
    assert reg.outcome == Outcome.ABSENT
    assert "尚未获批" in CreditRecord.objects.get(person=p, kind=CreditKind.ABSENT).reason
    # approved late (it was asked before the start): the absence becomes excused
    actions.decide_leave(reg, approve=True, actor=None)
    reg.refresh_from_db()
    assert reg.outcome == Outcome.EXCUSED
    assert CreditRecord.objects.filter(person=p, kind=CreditKind.EXCUSED).exists()
    assert not CreditRecord.objects.filter(person=p, kind=CreditKind.ABSENT).exists()  # turned into a note


def test_attendance_resets_the_count(yiwu, community):
    p = person(yiwu, "回归者")
    held(community, [p], days_ago=40)
    held(community, [p], days_ago=33)
    held(community, [p], days_ago=26, attend=[p])
    held(community, [p], days_ago=19)
    held(community, [p], days_ago=12)
    assert len(actions.absence_streak(p, community)) == 2
    assert not CreditBlock.objects.exists()
    assert actions.register(make_activity(community=community), person=p).outcome == "confirmed"


def test_the_limit_is_per_community(world, yiwu, community):
    strict = make_community(yiwu, name="青年突击队", limit=2)
    p = person(yiwu, "两边跑")
    held(community, [p], days_ago=30)
    held(community, [p], days_ago=23)
    held(strict, [p], days_ago=20)
    assert not CreditBlock.objects.exists()  # two in one, one in the other: nothing yet
    held(strict, [p], days_ago=13)
    assert CreditBlock.objects.get(person=p).community == strict
    with pytest.raises(actions.Refused, match="连续2次"):
        actions.register(make_activity(community=strict), person=p)
    assert actions.register(make_activity(community=community), person=p).outcome == "confirmed"


def test_absence_limit_zero_turns_the_rule_off(yiwu):
    relaxed = make_community(yiwu, name="青春旅行社", limit=0)
    p = person(yiwu)
    for days in (30, 23, 16, 9):
        held(relaxed, [p], days_ago=days)
    assert not CreditBlock.objects.exists()


def test_absences_outside_communities_are_recorded_but_block_nothing(yiwu):
    p = person(yiwu)
    for days in (30, 23, 16):
        activity = make_activity(unit=yiwu)
        actions.register(activity, person=p)
        move(activity, days=-days)
        actions.settle_attendance(activity)
    assert CreditRecord.objects.filter(person=p, kind=CreditKind.ABSENT, community__isnull=True).count() == 3
    assert not CreditBlock.objects.exists()
    assert actions.register(make_activity(unit=yiwu), person=p).outcome == "confirmed"


def test_a_block_cancels_a_place_already_held_in_the_next_activity(yiwu, community):
    p, waiting = person(yiwu, "早报名"), person(yiwu, "候补者")
    held(community, [p], days_ago=30)
    held(community, [p], days_ago=23)
    third = make_activity(community=community, days=1)
    actions.register(third, person=p)
    nxt = make_activity(community=community, days=5, capacity=1)
    actions.register(nxt, person=p)
    actions.register(nxt, person=waiting)
    move(third, days=-1)
    result = actions.settle_attendance(third)
    assert result.blocks == 1 and result.absent == 1
    reg = Registration.objects.get(activity=nxt, person=p)
    assert reg.status == RegistrationStatus.CANCELLED and reg.cancel_kind == CancelKind.CREDIT
    assert Registration.objects.get(activity=nxt, person=waiting).status == RegistrationStatus.CONFIRMED


def test_excusing_an_absence_revokes_the_block(yiwu, community, staff):
    p = person(yiwu)
    held(community, [p], days_ago=30)
    second = held(community, [p], days_ago=23)
    held(community, [p], days_ago=16)
    nxt = make_activity(community=community)
    with pytest.raises(actions.Refused):
        actions.register(nxt, person=p)
    reg = Registration.objects.get(activity=second, person=p)
    actions.excuse_absence(reg, reason="当天住院，有病历", actor=staff["yiwu_cadre"])
    block = CreditBlock.objects.get(person=p)
    assert block.revoked_at is not None
    assert actions.register(nxt, person=p).outcome == "confirmed"
    corrected = CreditRecord.objects.filter(person=p, kind=CreditKind.NOTE, reason__contains="已更正为")
    assert corrected.exists()
    with pytest.raises(ValidationError):
        actions.excuse_absence(reg, reason="再来一次", actor=staff["yiwu_cadre"])


def test_a_late_manual_check_in_corrects_the_outcome(yiwu, community, staff):
    p = person(yiwu)
    activity = held(community, [p], days_ago=2)
    reg = Registration.objects.get(activity=activity, person=p)
    assert reg.outcome == Outcome.ABSENT
    actions.check_in(
        reg, method=CheckMethod.MANUAL, note="签到表漏记", actor=staff["yiwu_cadre"], at=activity.starts_at
    )
    reg.refresh_from_db()
    assert reg.outcome == Outcome.ATTENDED
    assert CreditRecord.objects.filter(person=p, kind=CreditKind.ATTENDED).exists()


def test_repeated_blocks_propose_the_blacklist_and_the_owner_decides(yiwu, community, staff):
    p = person(yiwu, "屡次缺席")
    for days in (80, 73, 66):
        held(community, [p], days_ago=days)
    held(community, [], days_ago=59)  # the blocked activity, held without them
    for days in (52, 45, 38):
        held(community, [p], days_ago=days)
    proposal = BlacklistProposal.objects.get(person=p, community=community)
    assert proposal.status == ProposalStatus.PENDING and proposal.blocks == 2
    assert not BlacklistEntry.objects.exists()  # only proposed: the owner decides
    with pytest.raises(ValidationError):
        actions.decide_proposal(proposal, accept=False, actor=staff["yiwu_cadre"])  # a reason is required
    actions.decide_proposal(proposal, accept=True, actor=staff["yiwu_cadre"], note="群主同意")
    assert BlacklistEntry.objects.in_force().filter(person=p, community=community).exists()
    later = make_activity(community=community, days=20)
    with pytest.raises(actions.Refused) as refused:
        actions.register(later, person=p)
    assert refused.value.code == "blacklist" and "黑名单" in refused.value.message


def test_a_dismissed_proposal_is_made_again_only_after_more_blocks(yiwu, community, staff, settings):
    settings.TUANJU = {**settings.TUANJU, "ACTIVITY_BLOCKS_BEFORE_BLACKLIST": 1}
    p = person(yiwu)
    for days in (60, 53, 46):
        held(community, [p], days_ago=days)
    proposal = BlacklistProposal.objects.get(person=p)
    actions.decide_proposal(proposal, accept=False, actor=staff["yiwu_cadre"], note="初犯，口头提醒")
    assert CreditRecord.objects.filter(person=p, reason__contains="暂不列入黑名单").exists()
    held(community, [], days_ago=40)
    for days in (33, 26, 19):
        held(community, [p], days_ago=days)
    assert BlacklistProposal.objects.filter(person=p, status=ProposalStatus.PENDING).count() == 1


def test_settlement_is_idempotent_and_only_after_the_end(yiwu, community):
    p = person(yiwu)
    activity = make_activity(community=community)
    actions.register(activity, person=p)
    with pytest.raises(ValidationError, match="尚未结束"):
        actions.settle_attendance(activity)
    move(activity, days=-1)
    first = actions.settle_attendance(activity)
    again = actions.settle_attendance(activity)
    assert first.absent == 1 and again.already
    assert CreditRecord.objects.filter(person=p, kind=CreditKind.ABSENT).count() == 1


def test_settle_due_waits_for_the_grace_period(yiwu, community, settings):
    p = person(yiwu)
    activity = make_activity(community=community)
    actions.register(activity, person=p)
    start = timezone.now() - timedelta(hours=3)
    Activity.objects.filter(pk=activity.pk).update(
        starts_at=start, ends_at=start + timedelta(hours=2)
    )  # ended 1 h ago
    settings.TUANJU = {**settings.TUANJU, "ACTIVITY_SETTLE_AFTER_HOURS": 2}
    assert actions.settle_due() == []
    settings.TUANJU = {**settings.TUANJU, "ACTIVITY_SETTLE_AFTER_HOURS": 0.5}
    assert [r.activity.pk for r in actions.settle_due()] == [activity.pk]


def test_cancelling_an_activity_touches_no_credit(yiwu, community):
    p = person(yiwu)
    activity = make_activity(community=community)
    actions.register(activity, person=p)
    with pytest.raises(ValidationError):
        actions.cancel_activity(activity, reason="")
    assert actions.cancel_activity(activity, reason="台风预警") == 1
    reg = Registration.objects.get(activity=activity)
    assert reg.status == RegistrationStatus.CANCELLED and reg.cancel_kind == CancelKind.ACTIVITY
    assert not CreditRecord.objects.filter(person=p).exists()


# --- Check-in and hours --------------------------------------------------------------------------


def test_self_check_in_window_late_and_idempotent(yiwu, settings):
    settings.TUANJU = {**settings.TUANJU, "ACTIVITY_CHECKIN_OPENS_MINUTES": 60}
    p = person(yiwu)
    activity = make_activity(unit=yiwu, days=1, late_after_minutes=10)
    reg = actions.register(activity, person=p).registration
    with pytest.raises(actions.Refused, match="签到将于"):
        actions.check_in(reg, method=CheckMethod.SELF_QR)
    at = activity.starts_at + timedelta(minutes=25)
    first = actions.check_in(reg, method=CheckMethod.SELF_QR, at=at)
    assert first.done and first.late_minutes == 25
    second = actions.check_in(reg, method=CheckMethod.SELF_QR, at=at + timedelta(minutes=1))
    assert not second.done and CheckIn.objects.filter(registration=reg).count() == 1
    reg.refresh_from_db()
    assert reg.late_minutes == 25 and reg.checkin_method == CheckMethod.SELF_QR
    with pytest.raises(actions.Refused, match="签到已结束"):
        actions.check_in(
            reg, kind="out", method=CheckMethod.SELF_QR, at=activity.ends_at + timedelta(hours=3)
        )


def test_waitlisted_cannot_self_check_in_but_staff_can_admit(yiwu, staff):
    a, b = person(yiwu, "有名额"), person(yiwu, "候补人")
    activity = make_activity(unit=yiwu, capacity=1)
    actions.register(activity, person=a)
    reg = actions.register(activity, person=b).registration
    with pytest.raises(actions.Refused, match="候补"):
        actions.check_in(reg, method=CheckMethod.SELF_QR, at=activity.starts_at)
    with pytest.raises(actions.Refused, match="注明原因"):
        actions.check_in(reg, method=CheckMethod.MANUAL, actor=staff["yiwu_cadre"])
    result = actions.check_in(reg, method=CheckMethod.MANUAL, actor=staff["yiwu_cadre"], note="现场补位")
    assert result.done and Registration.objects.get(pk=reg.pk).status == RegistrationStatus.CONFIRMED
    event = AuditEvent.objects.get(action="check_in", object_id=str(reg.pk))
    assert event.actor == staff["yiwu_cadre"] and event.details["note"] == "现场补位"


@pytest.mark.parametrize(
    ("step", "mode", "minutes", "expected"),
    [
        (30, "down", 100, Decimal("1.50")),
        (30, "nearest", 100, Decimal("1.50")),
        (30, "nearest", 106, Decimal("2.00")),
        (30, "up", 91, Decimal("2.00")),
        (15, "down", 100, Decimal("1.50")),
        (15, "nearest", 53, Decimal("1.00")),
        (1, "down", 100, Decimal("1.67")),
        (30, "down", 500, Decimal("3.00")),  # capped by the 3-hour activity
        (30, "up", 179, Decimal("3.00")),
        (30, "down", -5, Decimal("0.00")),
    ],
)
def test_hours_rounding_and_cap(yiwu, settings, step, mode, minutes, expected):
    settings.TUANJU = {
        **settings.TUANJU,
        "ACTIVITY_HOURS_STEP_MINUTES": step,
        "ACTIVITY_HOURS_ROUNDING": mode,
    }
    activity = make_activity(unit=yiwu, hours=3)
    start = activity.starts_at
    assert actions.compute_hours(activity, start, start + timedelta(minutes=minutes)) == expected
    assert actions.compute_hours(activity, start, None) is None


def test_hours_from_check_in_to_check_out_confirmed_by_the_organizer(yiwu, staff):
    a, b, c = person(yiwu, "志愿甲"), person(yiwu, "志愿乙"), person(yiwu, "志愿丙")
    activity = make_activity(unit=yiwu, hours=4, activity_type="volunteer")
    regs = [actions.register(activity, person=p).registration for p in (a, b, c)]
    start = activity.starts_at
    actions.check_in(regs[0], method=CheckMethod.STAFF_SCAN, at=start - timedelta(minutes=5))
    actions.check_in(regs[0], kind="out", method=CheckMethod.STAFF_SCAN, at=start + timedelta(hours=5))
    actions.check_in(regs[1], method=CheckMethod.STAFF_SCAN, at=start + timedelta(minutes=40))
    out = actions.check_in(
        regs[1], kind="out", method=CheckMethod.STAFF_SCAN, at=start + timedelta(hours=2, minutes=55)
    )
    assert out.hours == Decimal("2.00")  # 2 h 15 min rounded down to the half hour
    with pytest.raises(actions.Refused, match="尚未签到"):
        actions.check_in(regs[2], kind="out", method=CheckMethod.STAFF_SCAN)
    move(activity, days=-1, hours=4)
    with pytest.raises(ValidationError, match="注明原因"):
        actions.confirm_hours(activity, actor=staff["yiwu_cadre"], adjustments={regs[1].pk: Decimal("3")})
    with pytest.raises(ValidationError, match="0到4"):
        actions.confirm_hours(
            activity,
            actor=staff["yiwu_cadre"],
            adjustments={regs[1].pk: Decimal("5")},
            notes={regs[1].pk: "多"},
        )
    count = actions.confirm_hours(
        activity,
        actor=staff["yiwu_cadre"],
        adjustments={regs[1].pk: Decimal("2.5")},
        notes={regs[1].pk: "提前到场布置"},
    )
    assert count == 2  # the absentee has no hours
    hours = dict(Registration.objects.filter(activity=activity).values_list("person__name", "hours"))
    assert hours == {"志愿甲": Decimal("4.00"), "志愿乙": Decimal("2.50"), "志愿丙": None}
    assert Registration.objects.get(pk=regs[2].pk).outcome == Outcome.ABSENT  # confirming settled first
    assert list(
        Registration.objects.with_hours().values_list("person__name", flat=True).order_by("person__name")
    ) == [
        "志愿乙",
        "志愿甲",
    ]


def test_check_out_everyone_at_the_end(yiwu, staff):
    people = [person(yiwu, n) for n in ("忘签退甲", "忘签退乙")]
    activity = make_activity(unit=yiwu, hours=3, activity_type="volunteer")
    for p in people:
        reg = actions.register(activity, person=p).registration
        actions.check_in(reg, method=CheckMethod.STAFF_SCAN, at=activity.starts_at)
    move(activity, days=-1, hours=3)
    Registration.objects.filter(activity=activity).update(checked_in_at=activity.starts_at)
    assert actions.checkout_all(activity, actor=staff["yiwu_cadre"]) == 2
    assert set(Registration.objects.filter(activity=activity).values_list("hours_computed", flat=True)) == {
        Decimal("3.00")
    }


# --- Tokens --------------------------------------------------------------------------------------


def test_rotating_code_expires_and_cannot_be_forged(yiwu, settings):
    settings.TUANJU = {**settings.TUANJU, "ACTIVITY_QR_ROTATE_SECONDS": 30, "ACTIVITY_QR_GRACE_PERIODS": 1}
    activity = make_activity(unit=yiwu)
    now = 1_800_000_000.0
    token = tokens.checkin_token(activity, "in", now=now)
    assert tokens.read_checkin(token, now=now).activity_id == activity.pk
    assert tokens.read_checkin(token, now=now + 45).kind == "in"  # the next period: grace
    with pytest.raises(tokens.TokenExpired):
        tokens.read_checkin(token, now=now + 61)  # two periods later
    with pytest.raises(tokens.TokenExpired):
        tokens.read_checkin(token, now=now + 86400)  # yesterday's photo, today
    with pytest.raises(tokens.TokenExpired):
        tokens.read_checkin(token, now=now - 60)  # from the future
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    with pytest.raises(tokens.TokenInvalid):
        tokens.read_checkin(tampered, now=now)
    with pytest.raises(tokens.TokenInvalid):
        tokens.read_checkin(tokens.link_token(activity), now=now)  # another salt
    out = tokens.read_checkin(tokens.checkin_token(activity, "out", now=now), now=now)
    assert out.kind == "out" and out.nonce == activity.checkin_nonce


def test_the_check_in_form_token_lasts_minutes(yiwu, settings, monkeypatch):
    import django.core.signing as signing

    settings.TUANJU = {**settings.TUANJU, "ACTIVITY_CHECKIN_FORM_SECONDS": 300}
    real = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real() - 600)
    old = tokens.form_token(1, "in", "n")
    monkeypatch.setattr(signing.time, "time", real)
    with pytest.raises(tokens.TokenExpired):
        tokens.read_form(old)
    assert tokens.read_form(tokens.form_token(1, "in", "n")).activity_id == 1


# --- Frequency health and the organizations hooks ------------------------------------------------


@pytest.fixture
def orgs(world):
    from tuanju.organizations.models import Organization, OrgType

    kind = OrgType.objects.order_by("pk").first()
    town, other_town = world["330782001"], OrgUnit.objects.get(code="330782002")
    return {
        "busy": Organization.objects.create(unit=town, name="稠城青年志愿服务队", org_type=kind),
        "slow": Organization.objects.create(unit=town, name="稠城街舞社", org_type=kind),
        "idle": Organization.objects.create(unit=other_town, name="江东青年跑团", org_type=kind),
        "duty": Organization.objects.create(unit=other_town, name="江东摄影协会", org_type=kind),
        "dong": Organization.objects.create(unit=world["330783001"], name="吴宁青年合唱团", org_type=kind),
    }


def _held_by(organization=None, alliance=None, days_ago=0, **extra):
    activity = make_activity(organization=organization, alliance=alliance, **extra)
    return move(activity, days=-days_ago)


def test_frequency_flags_per_unit(world, yiwu, orgs, staff):
    _held_by(orgs["busy"], days_ago=10)
    _held_by(orgs["slow"], days_ago=45)
    quiet = make_community(yiwu, name="青春学堂")
    active = make_community(OrgUnit.objects.get(code="330782002"), name="江东篮球群")
    move(make_activity(community=active), days=-5)
    make_activity(organization=orgs["idle"], days=5)  # planned, not held: does not count
    found = {e.name: e for e in health.entities(staff["yiwu_cadre"], world["330782"])}
    assert found["稠城青年志愿服务队"].flags == {1: False, 2: False}
    assert found["稠城街舞社"].flags == {1: True, 2: False} and found["稠城街舞社"].worst == 1
    assert found["江东青年跑团"].flags == {1: True, 2: True} and found["江东青年跑团"].last is None
    assert found["青春学堂"].flags == {1: True, 2: True} and found["江东篮球群"].worst is None
    assert "吴宁青年合唱团" not in found  # another county
    total, rows = health.rollup(world["330782"], list(found.values()))
    assert total.organizations == 4 and total.org_flags == {1: 3, 2: 2}
    assert total.communities == 2 and total.community_flags == {1: 1, 2: 1}
    by_unit = {row.unit.code: row for row in rows}
    assert by_unit["330782001"].org_flags == {1: 1, 2: 0} and by_unit["330782002"].org_flags == {1: 2, 2: 2}
    assert quiet.pk in {e.pk for e in found.values() if e.kind == "community"}
    assert health.unit_flags(staff["dongyang_cadre"], world["330783"])["organizations"] == 1


def test_months_are_configurable(world, orgs, staff, settings):
    _held_by(orgs["slow"], days_ago=45)
    settings.TUANJU = {**settings.TUANJU, "ACTIVITY_HEALTH_MONTHS": (2, 3)}
    found = {e.name: e for e in health.entities(staff["yiwu_cadre"], world["330782"])}
    assert found["稠城街舞社"].flags == {2: False, 3: False}


def test_four_have_and_the_duty_board_read_activities(world, orgs):
    from tuanju.organizations import actions as org_actions
    from tuanju.organizations.models import Alliance, Organization

    alliance = org_actions.save_alliance(
        Alliance(),
        data={
            "unit": world["330782"],
            "name": "义乌市青年志愿服务联盟",
            "field": "志愿服务",
            "leader": orgs["busy"],
        },
    )
    org_actions.add_alliance_member(alliance, orgs["duty"], join_method="absorbed")
    _held_by(orgs["busy"], days_ago=10)
    alliance_activity = _held_by(
        alliance=alliance, duty_organization=orgs["duty"], days_ago=3, title="联盟轮值活动"
    )
    assert alliance_activity.duty_organization == orgs["duty"]
    rows = {o.pk: o for o in Organization.objects.with_four_have()}
    assert rows[orgs["busy"].pk].has_activity is True
    assert rows[orgs["duty"].pk].has_activity is True  # led the alliance's activity on duty
    assert rows[orgs["idle"].pk].has_activity is False
    month = timezone.localtime(alliance_activity.starts_at).date().replace(day=1)
    refs = hooks.held_in_month([orgs["duty"].pk, orgs["idle"].pk], month)
    assert [r.title for r in refs[orgs["duty"].pk]] == ["联盟轮值活动"] and refs[orgs["idle"].pk] == []
    assert refs[orgs["duty"].pk][0].url == f"/activities/{alliance_activity.pk}/"


def test_the_duty_society_defaults_from_the_schedule(world, orgs):
    from tuanju.organizations import actions as org_actions
    from tuanju.organizations.models import Alliance, DutyAssignment

    alliance = org_actions.save_alliance(
        Alliance(),
        data={
            "unit": world["330782"],
            "name": "义乌市青年文艺联盟",
            "field": "青年新文艺",
            "leader": orgs["busy"],
        },
    )
    org_actions.add_alliance_member(alliance, orgs["slow"], join_method="built")
    start = timezone.localtime(timezone.now() + timedelta(days=3))
    DutyAssignment.objects.create(
        alliance=alliance, month=date(start.year, start.month, 1), organization=orgs["slow"]
    )
    activity = make_activity(alliance=alliance)
    assert activity.duty_organization == orgs["slow"] and activity.unit == world["330782"]
    with pytest.raises(ValidationError, match="不是该联盟的成员社团"):
        make_activity(alliance=alliance, duty_organization=orgs["idle"])


def test_activity_validation(yiwu):
    start = timezone.now() + timedelta(days=2)
    with pytest.raises(ValidationError) as problems:
        actions.save_activity(
            Activity(),
            data={
                "organizer_kind": "unit",
                "unit": yiwu,
                "title": " ",
                "activity_type": "culture",
                "place": "",
                "starts_at": start,
                "ends_at": start - timedelta(hours=1),
                "latitude": Decimal("29.3"),
                "capacity": 0,
            },
        )
    errors = problems.value.message_dict
    assert {"title", "place", "ends_at", "longitude", "capacity"} <= set(errors)
    activity = make_activity(unit=yiwu)
    with pytest.raises(ValidationError, match="更换组织方"):
        actions.save_activity(activity, data={"organizer_kind": "organization", "organization": None})


def test_only_drafts_without_registrations_can_be_deleted(yiwu):
    start = timezone.now() + timedelta(days=2)
    draft = actions.save_activity(
        Activity(),
        data={"organizer_kind": "unit", "unit": yiwu, "title": "草稿", "activity_type": "talk", "place": "会议室",
              "starts_at": start, "ends_at": start + timedelta(hours=1)},
    )  # fmt: skip
    with pytest.raises(actions.Refused, match="未发布"):
        actions.register(draft, person=person(yiwu))
    actions.delete_draft(draft)
    assert not Activity.objects.filter(pk=draft.pk).exists()
    published = make_activity(unit=yiwu)
    with pytest.raises(ValidationError):
        actions.delete_draft(published)
