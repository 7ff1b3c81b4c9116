"""C4 alliances (8+X): council limits, members, rotating duty, joint meetings and warnings."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from test_organizations_fixtures import build_alliance, make_org, society_pool

from tuanju.audit.models import AuditEvent
from tuanju.organizations import actions, hooks
from tuanju.organizations.hooks import ActivityRef
from tuanju.organizations.models import (
    Alliance,
    AllianceMember,
    DutyAssignment,
    JoinMethod,
    JointMeeting,
    MeetingStatus,
    add_months,
)

pytest_plugins = ["test_organizations_fixtures"]
pytestmark = pytest.mark.usefixtures("no_activities")


@pytest.fixture
def pool(world):
    return society_pool(world["330782001"], 23)


@pytest.fixture
def alliance(world, pool):
    return build_alliance(world["330782"], pool[:12], council=8)


# --- Building an alliance ----------------------------------------------------------------------------


def test_leader_joins_on_creation(world, pool):
    alliance = actions.save_alliance(
        Alliance(),
        data={"unit": world["330782"], "name": "志愿服务联盟", "field": "志愿服务", "leader": pool[0]},
    )
    member = alliance.members.get()
    assert member.organization == pool[0] and member.join_method == JoinMethod.BUILT
    assert AuditEvent.objects.filter(object_type="organizations.alliance", action="create").exists()


def test_alliance_validation(world, pool, sample_orgs):
    with pytest.raises(ValidationError) as exc:
        actions.save_alliance(Alliance(), data={"unit": world["330782"], "name": "", "field": ""})
    assert set(exc.value.message_dict) == {"name", "field"}
    # The leading society must lie in the committee's area.
    with pytest.raises(ValidationError) as exc:
        actions.save_alliance(
            Alliance(),
            data={"unit": world["330782"], "name": "联盟", "field": "公益", "leader": sample_orgs["dong"]},
        )
    assert "不在“义乌市”范围内" in exc.value.message_dict["leader"][0]


def test_council_size_is_enforced_with_a_clear_message(alliance, pool):
    for size in (5, 22):
        members = pool[:size]
        for org in members:
            if not alliance.members.filter(organization=org).exists():
                actions.add_alliance_member(alliance, org, join_method=JoinMethod.GUIDED)
        with pytest.raises(ValidationError) as exc:
            actions.set_council(alliance, members)
        assert exc.value.messages == [f"理事会应由6至21家成员社团组成，当前选择了{size}家"]
    assert len(actions.set_council(alliance, pool[:6])) == 6
    assert len(actions.set_council(alliance, pool[:21])) == 21


def test_council_members_must_be_members_and_include_the_leader(alliance, pool):
    with pytest.raises(ValidationError, match="必须先加入联盟：社团13"):
        actions.set_council(alliance, pool[1:6] + [pool[12]])
    with pytest.raises(ValidationError, match="盟主社团“社团01”必须在理事会中"):
        actions.set_council(alliance, pool[1:8])


def test_council_order_follows_the_given_order(alliance, pool):
    order = [pool[3], pool[0], pool[5], pool[1], pool[2], pool[4]]
    council = actions.set_council(alliance, order)
    assert [m.organization for m in council] == order
    assert [m.council_order for m in council] == [1, 2, 3, 4, 5, 6]
    assert not AllianceMember.objects.filter(
        alliance=alliance, organization=pool[7], is_council=True
    ).exists()


def test_removing_a_council_member_cannot_shrink_it_below_six(alliance, pool):
    actions.set_council(alliance, pool[:6])
    member = alliance.members.get(organization=pool[5])
    with pytest.raises(ValidationError) as exc:
        actions.remove_alliance_member(member)
    assert "理事会至少需要6家理事社团" in exc.value.messages[0]
    leader = alliance.members.get(organization=pool[0])
    with pytest.raises(ValidationError, match="盟主社团不能移出"):
        actions.remove_alliance_member(leader)
    ordinary = alliance.members.get(organization=pool[10])
    actions.remove_alliance_member(ordinary)
    assert not alliance.members.filter(organization=pool[10]).exists()


def test_member_rules(alliance, pool, world, sample_orgs):
    with pytest.raises(ValidationError, match="已是该联盟成员"):
        actions.add_alliance_member(alliance, pool[1], join_method=JoinMethod.BUILT)
    with pytest.raises(ValidationError, match="不在“义乌市”范围内"):
        actions.add_alliance_member(alliance, sample_orgs["dong"], join_method=JoinMethod.BUILT)
    with pytest.raises(ValidationError, match="加盟方式无效"):
        actions.add_alliance_member(alliance, pool[20], join_method="bought")
    stopped = make_org(world["330782"], "已停止的社团", is_active=False)
    with pytest.raises(ValidationError, match="已停止活动"):
        actions.add_alliance_member(alliance, stopped, join_method=JoinMethod.GUIDED)
    member = actions.add_alliance_member(alliance, pool[20], join_method=JoinMethod.REORGANIZED)
    actions.update_alliance_member(member, join_method=JoinMethod.GUIDED, joined_on=date(2025, 2, 1))
    member.refresh_from_db()
    assert member.join_method == JoinMethod.GUIDED


def test_leader_change_must_be_on_the_council(alliance, pool):
    with pytest.raises(ValidationError) as exc:
        actions.save_alliance(alliance, data={"leader": pool[10]})
    assert "必须是理事社团" in exc.value.message_dict["leader"][0]
    actions.save_alliance(alliance, data={"leader": pool[3]})
    assert Alliance.objects.get(pk=alliance.pk).leader == pool[3]


def test_scope_of_alliance_actions(alliance, pool, staff):
    with pytest.raises(ValidationError, match="不在您的管辖范围内"):
        actions.set_council(alliance, pool[:8], actor=staff["dongyang_cadre"])
    with pytest.raises(ValidationError, match="不在您的管辖范围内"):
        actions.generate_duty_schedule(alliance, actor=staff["dongyang_cadre"])


# --- Rotating duty ------------------------------------------------------------------------------------


def test_duty_rotation_for_a_year(alliance, pool):
    written = actions.generate_duty_schedule(alliance, start=date(2026, 1, 15), months=12)
    assert written == 12
    duties = list(DutyAssignment.objects.filter(alliance=alliance).order_by("month"))
    assert [d.month for d in duties] == [date(2026, m, 1) for m in range(1, 13)]
    expected = [pool[i % 8] for i in range(12)]  # in council order, wrapping after eight
    assert [d.organization for d in duties] == expected


def test_duty_rotation_continues_where_it_stopped(alliance, pool):
    actions.generate_duty_schedule(alliance, start=date(2026, 1, 1), months=3)  # 01, 02, 03
    actions.generate_duty_schedule(alliance, start=date(2026, 4, 1), months=2)
    april = DutyAssignment.objects.get(alliance=alliance, month=date(2026, 4, 1))
    assert april.organization == pool[3]


def test_generation_keeps_edited_months_unless_replacing(alliance, pool):
    actions.generate_duty_schedule(alliance, start=date(2026, 1, 1), months=12)
    actions.assign_duty(alliance, date(2026, 3, 20), pool[6], theme="春季植树")
    assert actions.generate_duty_schedule(alliance, start=date(2026, 1, 1), months=12) == 0
    march = DutyAssignment.objects.get(alliance=alliance, month=date(2026, 3, 1))
    assert (march.organization, march.theme) == (pool[6], "春季植树")
    # Replacing rewrites the rotation from the start month.
    actions.generate_duty_schedule(alliance, start=date(2026, 1, 1), months=12, replace=True)
    march.refresh_from_db()
    assert march.organization == pool[2]


def test_duty_needs_a_council_and_a_council_member(world, pool):
    fresh = actions.save_alliance(
        Alliance(), data={"unit": world["330782"], "name": "新联盟", "field": "电竞", "leader": pool[0]}
    )
    with pytest.raises(ValidationError, match="请先组建理事会"):
        actions.generate_duty_schedule(fresh)
    alliance = build_alliance(world["330782"], pool[:12], council=8)
    with pytest.raises(ValidationError, match="不是理事社团"):
        actions.assign_duty(alliance, date(2026, 5, 1), pool[10])


def test_removing_a_member_clears_its_future_duties(alliance, pool):
    today = timezone.localdate()
    actions.generate_duty_schedule(alliance, start=today, months=12)
    actions.set_council(alliance, pool[:7])  # pool[7] leaves the council
    rows = actions.duty_board(alliance, start=today, months=12)
    off = [row for row in rows if row.state == "off_council"]
    assert off and all(row.duty.organization == pool[7] for row in off)
    actions.remove_alliance_member(alliance.members.get(organization=pool[7]))
    assert not DutyAssignment.objects.filter(alliance=alliance, organization=pool[7]).exists()
    cleared = {row.month for row in off}
    rows = actions.duty_board(alliance, start=today, months=12)
    assert all(row.duty is None for row in rows if row.month in cleared)


def test_duty_board_without_activities_is_unknown_not_a_warning(alliance):
    today = date(2026, 6, 15)
    actions.generate_duty_schedule(alliance, start=date(2026, 1, 1), months=12)
    rows = actions.duty_board(alliance, start=date(2026, 1, 1), months=12, today=today)
    states = [row.state for row in rows]
    assert states[:5] == ["unknown"] * 5
    assert states[5] == "current" and set(states[6:]) == {"future"}
    assert not any(row.warning for row in rows)


def test_duty_warning_when_the_duty_society_held_no_activity(alliance, pool):
    class Source:
        def active_since(self, since):
            return []

        def held_in_month(self, org_ids, month):
            if month == date(2026, 2, 1):
                return {i: [ActivityRef("春节慰问", date(2026, 2, 10), "/a/1")] for i in org_ids}
            return {i: [] for i in org_ids}

    actions.generate_duty_schedule(alliance, start=date(2026, 1, 1), months=6)
    before = hooks.activity_source()
    hooks.register_activity_source(Source())
    try:
        rows = actions.duty_board(alliance, start=date(2026, 1, 1), months=6, today=date(2026, 4, 20))
    finally:
        hooks.register_activity_source(before)
    assert [row.state for row in rows] == ["missed", "held", "missed", "current", "future", "future"]
    assert rows[1].activities[0].title == "春节慰问"
    assert [row.warning for row in rows[:3]] == [True, False, True]


def test_unassigned_soon_is_a_warning(alliance):
    today = date(2026, 6, 15)
    rows = actions.duty_board(alliance, start=date(2026, 6, 1), months=6, today=today)
    assert [row.state for row in rows] == ["unassigned"] * 3 + ["future"] * 3


# --- Joint meetings --------------------------------------------------------------------------------------


def test_recording_a_meeting_needs_minutes_and_council_attendance(alliance, pool):
    meeting = JointMeeting(alliance=alliance)
    with pytest.raises(ValidationError) as exc:
        actions.save_meeting(
            meeting, data={"held_on": date(2025, 3, 20), "status": MeetingStatus.HELD}, attendees=[]
        )
    assert set(exc.value.message_dict) == {"minutes", "attendees"}
    with pytest.raises(ValidationError) as exc:
        actions.save_meeting(
            JointMeeting(alliance=alliance),
            data={"held_on": date(2025, 3, 20), "status": MeetingStatus.HELD, "minutes": "通报活动"},
            attendees=[pool[0], pool[10]],
        )
    assert exc.value.message_dict["attendees"] == ["出席单位须为理事社团：社团11"]
    saved = actions.save_meeting(
        JointMeeting(alliance=alliance),
        data={
            "held_on": date(2025, 3, 20),
            "status": MeetingStatus.HELD,
            "minutes": "通报活动",
            "decisions": "四月联合开展植树",
        },
        attendees=pool[:6],
    )
    assert saved.title == "2025年第1季度联席会议"
    assert saved.attendees.count() == 6
    with pytest.raises(ValidationError, match="不能晚于今天"):
        actions.save_meeting(
            JointMeeting(alliance=alliance),
            data={
                "held_on": timezone.localdate() + timedelta(days=3),
                "status": MeetingStatus.HELD,
                "minutes": "x",
            },
            attendees=pool[:6],
        )
    planned = actions.save_meeting(
        JointMeeting(alliance=alliance),
        data={"held_on": timezone.localdate() + timedelta(days=3), "status": MeetingStatus.PLANNED},
    )
    assert planned.status == MeetingStatus.PLANNED


def test_quarter_without_a_meeting_is_a_warning(alliance, pool):
    # Founded 2025-01-10; meetings held in Q1 and Q3 2025, one planned in Q2 2026.
    for day in (date(2025, 2, 1), date(2025, 8, 1)):
        actions.save_meeting(
            JointMeeting(alliance=alliance),
            data={"held_on": day, "status": MeetingStatus.HELD, "minutes": "纪要"},
            attendees=pool[:6],
        )
    actions.save_meeting(
        JointMeeting(alliance=alliance), data={"held_on": date(2026, 5, 20), "status": MeetingStatus.PLANNED}
    )
    rows = actions.meeting_quarters(alliance, today=date(2026, 4, 10))
    states = {row.label: row.state for row in rows}
    assert states == {
        "2026年第3季度": "upcoming",
        "2026年第2季度": "planned",
        "2026年第1季度": "missing",
        "2025年第4季度": "missing",
        "2025年第3季度": "ok",
        "2025年第2季度": "missing",
        "2025年第1季度": "ok",
    }
    health = actions.alliance_health(alliance, today=date(2026, 4, 10))
    assert [q.label for q in health.missing_quarters] == ["2026年第1季度", "2025年第4季度", "2025年第2季度"]
    assert health.council_ok and health.council_size == 8


def test_current_quarter_is_due_not_missing(alliance):
    rows = actions.meeting_quarters(alliance, today=date(2025, 2, 1), ahead=0)
    assert [(r.label, r.state) for r in rows] == [("2025年第1季度", "due")]


def test_cancelled_meetings_do_not_count(alliance, pool):
    actions.save_meeting(
        JointMeeting(alliance=alliance), data={"held_on": date(2025, 2, 1), "status": MeetingStatus.CANCELLED}
    )
    rows = actions.meeting_quarters(alliance, today=date(2025, 5, 1), ahead=0)
    assert rows[-1].state == "missing" and rows[-1].meetings == []


def test_alliance_counts(alliance):
    counts = actions.alliance_counts(Alliance.objects.all())
    assert counts[alliance.pk]["members"] == 12 and counts[alliance.pk]["council"] == 8


def test_first_of_month_arithmetic():
    assert add_months(date(2026, 11, 1), 3) == date(2027, 2, 1)
    assert add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
