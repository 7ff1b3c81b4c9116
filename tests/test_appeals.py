"""Appeals (C10): working-day deadlines, the life cycle, department isolation, reminders, scope."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from test_appeals_fixtures import make_appeal

from tuanju.appeals import actions, workdays
from tuanju.appeals.models import (
    Appeal,
    AppealEvent,
    AppealNotification,
    CalendarDay,
    EventKind,
    NoticeKind,
    Satisfaction,
    Status,
)
from tuanju.appeals.workdays import WorkCalendar
from tuanju.audit.models import AuditEvent

pytest_plugins = ["test_appeals_fixtures"]


def at(day: date, hour: int = 10):
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


# --- Working days --------------------------------------------------------------------------------


@pytest.mark.django_db
class TestWorkdays:
    def test_deadline_skips_national_day_and_counts_the_adjusted_saturday(self):
        # 2026: 1–7 October are holidays, Saturday 10 October is an adjusted working day.
        assert workdays.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
        assert workdays.add_workdays(date(2026, 9, 30), 3) == date(2026, 10, 10)
        assert workdays.add_workdays(date(2026, 9, 30), 4) == date(2026, 10, 12)

    def test_deadline_across_spring_festival(self):
        # 2026 Spring Festival: 15–23 February off; Saturday 14 and 28 February are working days.
        assert workdays.add_workdays(date(2026, 2, 13), 1) == date(2026, 2, 14)
        assert workdays.add_workdays(date(2026, 2, 13), 2) == date(2026, 2, 24)
        assert workdays.add_workdays(date(2026, 2, 13), 5) == date(2026, 2, 27)
        assert workdays.add_workdays(date(2026, 2, 13), 6) == date(2026, 2, 28)

    def test_ordinary_week_and_assignment_on_a_weekend(self):
        assert workdays.add_workdays(date(2026, 11, 27), 1) == date(2026, 11, 30)  # Friday → Monday
        assert workdays.add_workdays(date(2026, 11, 28), 1) == date(2026, 11, 30)  # Saturday → Monday
        assert workdays.add_workdays(date(2026, 11, 23), 5) == date(2026, 11, 30)

    def test_between_counts_working_days(self):
        calendar = WorkCalendar()
        assert calendar.between(date(2026, 9, 30), date(2026, 10, 10)) == 3
        assert calendar.between(date(2026, 10, 10), date(2026, 9, 30)) == 0

    def test_outside_the_package_years_the_statutory_fallback_applies(self):
        _first, last = workdays.package_years()
        new_year = date(last + 1, 1, 1)
        assert not workdays.default_is_workday(new_year)
        assert not workdays.default_is_workday(date(last + 1, 10, 2))
        assert workdays.default_is_workday(date(last + 1, 10, 4)) == (date(last + 1, 10, 4).weekday() < 5)

    def test_overrides_win_and_remove_the_coverage_warning(self):
        _first, last = workdays.package_years()
        today = date(last, 12, 20)
        assert workdays.coverage_warning(today) is not None
        CalendarDay.objects.create(day=date(last + 1, 2, 8), is_workday=False, note="春节")
        assert workdays.coverage_warning(today) is None
        assert workdays.is_workday(date(last + 1, 2, 8)) is False
        CalendarDay.objects.create(day=date(2026, 10, 5), is_workday=True, note="test")
        assert workdays.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 5)

    def test_limits(self):
        with pytest.raises(ValueError):
            WorkCalendar({}).add(date(2026, 1, 5), 0)


# --- Life cycle ------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestLifeCycle:
    def test_full_cycle_to_a_department_with_a_working_day_deadline(self, world, staff, appeal_depts):
        cadre = staff["yiwu_cadre"]
        appeal = make_appeal(world["330782"], actor=cadre)
        assert appeal.status == Status.RECEIVED
        assert appeal.number.startswith("SQ") and appeal.number.endswith(f"{appeal.pk:07d}")
        actions.route(appeal, actor=cadre, department=appeal_depts["yiwu_hr"], now=at(date(2026, 9, 30)))
        assert appeal.status == Status.ASSIGNED
        assert appeal.time_limit_days == 5  # 就业创业 default
        assert appeal.due_date == date(2026, 10, 13)  # 8, 9, 10 (adjusted Saturday), 12, 13 October
        handler = appeal_depts["hr_user"]
        actions.accept(appeal, actor=handler)
        assert appeal.status == Status.IN_PROGRESS
        actions.reply(
            appeal, actor=handler, text="已联系平台，拖欠工资已于本周发放。", now=at(date(2026, 10, 9))
        )
        assert appeal.status == Status.REPLIED
        assert appeal.replied_late is False
        actions.rate(appeal, satisfaction=Satisfaction.SATISFIED, comment="谢谢")
        appeal.refresh_from_db()
        assert appeal.status == Status.CLOSED and appeal.closed_at is not None
        kinds = list(appeal.events.values_list("kind", flat=True))
        assert kinds == [
            EventKind.RECEIVED,
            EventKind.ASSIGNED,
            EventKind.ACCEPTED,
            EventKind.REPLIED,
            EventKind.RATED,
            EventKind.CLOSED,
        ]
        audited = list(
            AuditEvent.objects.filter(object_type="appeals.appeal", object_id=str(appeal.pk))
            .order_by("id")
            .values_list("action", flat=True)
        )
        assert audited == ["create", "assign", "accept", "reply", "rate", "close"]

    def test_deadline_value(self):
        # the five working days after 30 September 2026: 8, 9, 10 (adjusted Saturday), 12, 13 October
        assert workdays.add_workdays(date(2026, 9, 30), 5) == date(2026, 10, 13)

    def test_unsatisfied_rating_reopens_with_a_fresh_deadline(self, world, staff, appeal_depts):
        cadre = staff["yiwu_cadre"]
        appeal = make_appeal(world["330782"], actor=cadre)
        actions.route(appeal, actor=cadre, department=appeal_depts["yiwu_hr"], time_limit_days=2)
        actions.reply(appeal, actor=appeal_depts["hr_user"], text="已转告平台，请耐心等待。")
        actions.rate(appeal, satisfaction=Satisfaction.UNSATISFIED, comment="问题没有解决")
        appeal.refresh_from_db()
        assert appeal.status == Status.IN_PROGRESS
        assert appeal.reopen_count == 1
        assert appeal.due_date == WorkCalendar().add(timezone.localdate(), 2)
        assert appeal.events.filter(kind=EventKind.REOPENED).exists()
        # the handler answers again and the person is satisfied this time
        actions.reply(appeal, actor=appeal_depts["hr_user"], text="已督促平台补发工资并支付补偿。")
        actions.rate(appeal, satisfaction=Satisfaction.FAIR)
        appeal.refresh_from_db()
        assert appeal.status == Status.CLOSED

    @pytest.mark.parametrize(
        ("setup", "step"),
        [
            ([], "reply"),  # received → replied
            ([], "accept"),  # received → in progress
            ([], "reopen"),  # received → in progress by reopening
            (["route"], "reopen"),  # assigned → in progress by reopening
            (["route"], "rate"),  # assigned: nothing to rate
            (["route", "reply", "close"], "route"),  # closed → assigned
            (["route", "reply", "close"], "reopen"),  # closed → in progress
            (["route", "reply"], "return"),  # replied → received
            (["route", "reply"], "accept"),  # replied → in progress by accepting
        ],
    )
    def test_illegal_transitions_are_refused(self, world, staff, appeal_depts, setup, step):
        cadre = staff["yiwu_cadre"]
        appeal = make_appeal(world["330782"], actor=cadre)
        steps = {
            "route": lambda: actions.route(appeal, actor=cadre, department=appeal_depts["yiwu_justice"]),
            "reply": lambda: actions.reply(appeal, actor=cadre, text="已经处理完毕，特此答复。"),
            "close": lambda: actions.close(appeal, actor=cadre),
            "accept": lambda: actions.accept(appeal, actor=cadre),
            "reopen": lambda: actions.reopen(appeal, actor=cadre, reason="再办"),
            "rate": lambda: actions.rate(appeal, satisfaction=Satisfaction.SATISFIED),
            "return": lambda: actions.return_appeal(appeal, actor=cadre, reason="不属于本部门"),
        }
        if setup:
            actions.route(appeal, actor=cadre, department=appeal_depts["yiwu_hr"])
            for name in setup[1:]:
                steps[name]()
        before = appeal.status
        with pytest.raises(actions.IllegalTransition):
            steps[step]()
        appeal.refresh_from_db()
        assert appeal.status == before

    def test_reassignment_and_return(self, world, staff, appeal_depts):
        cadre = staff["yiwu_cadre"]
        appeal = make_appeal(world["330782"], actor=cadre)
        actions.route(appeal, actor=cadre, department=appeal_depts["yiwu_hr"])
        with pytest.raises(ValidationError):
            actions.route(appeal, actor=cadre, department=appeal_depts["yiwu_hr"])  # same handler
        actions.route(appeal, actor=cadre, department=appeal_depts["yiwu_justice"], note="涉及劳动仲裁")
        assert appeal.department == appeal_depts["yiwu_justice"] and appeal.status == Status.ASSIGNED
        assert appeal.events.filter(kind=EventKind.REASSIGNED, handler="义乌市司法局").exists()
        # to a town: the appeal moves down the tree, the county still sees it
        actions.route(appeal, actor=cadre, unit=world["330782001"])
        assert appeal.unit == world["330782001"] and appeal.department is None
        actions.return_appeal(appeal, actor=cadre, reason="需由市级部门协调")
        assert appeal.status == Status.RECEIVED and appeal.unit == world["330782"] and appeal.due_date is None
        with pytest.raises(ValidationError):
            actions.return_appeal(appeal, actor=cadre, reason="")

    def test_routing_rules(self, world, staff, appeal_depts):
        cadre = staff["yiwu_cadre"]
        appeal = make_appeal(world["330782"], actor=cadre)
        with pytest.raises(ValidationError):
            actions.route(
                appeal, actor=cadre, department=appeal_depts["dong_hr"]
            )  # another county's department
        with pytest.raises(ValidationError):
            actions.route(appeal, actor=cadre, unit=world["330783001"])  # a unit outside the scope
        with pytest.raises(ValidationError):
            actions.route(appeal, actor=cadre, department=appeal_depts["yiwu_hr"], time_limit_days=0)
        with pytest.raises(PermissionDenied):
            actions.route(appeal, actor=staff["yiwu_viewer"], department=appeal_depts["yiwu_hr"])
        with pytest.raises(PermissionDenied):
            actions.route(appeal, actor=appeal_depts["hr_user"], department=appeal_depts["yiwu_justice"])
        # a town cadre may send its appeal up to the county's department
        from conftest import make_staff

        town = make_staff("town_cadre", world["330782001"])
        local = make_appeal(world["330782001"], actor=town)
        actions.route(local, actor=town, department=appeal_depts["yiwu_hr"])
        assert local.department == appeal_depts["yiwu_hr"]

    def test_closing_a_received_appeal_needs_a_reason(self, world, staff):
        cadre = staff["yiwu_cadre"]
        appeal = make_appeal(world["330782"], actor=cadre)
        with pytest.raises(ValidationError):
            actions.close(appeal, actor=cadre)
        actions.close(appeal, actor=cadre, reason="重复工单")
        assert appeal.status == Status.CLOSED and appeal.close_reason == "重复工单"

    def test_late_reply_and_overdue_queries(self, world, staff, appeal_depts):
        cadre = staff["yiwu_cadre"]
        appeal = make_appeal(world["330782"], actor=cadre)
        actions.route(
            appeal,
            actor=cadre,
            department=appeal_depts["yiwu_hr"],
            time_limit_days=1,
            now=at(date(2026, 9, 30)),
        )
        assert appeal.due_date == date(2026, 10, 8)
        assert Appeal.objects.overdue(date(2026, 10, 9)).filter(pk=appeal.pk).exists()
        assert not Appeal.objects.overdue(date(2026, 10, 8)).filter(pk=appeal.pk).exists()
        assert appeal.is_overdue(date(2026, 10, 9)) and appeal.is_near_due(date(2026, 10, 8))
        actions.reply(
            appeal, actor=appeal_depts["hr_user"], text="已处理，答复如上。", now=at(date(2026, 10, 9))
        )
        assert appeal.replied_late is True
        assert not Appeal.objects.overdue(date(2026, 10, 9)).filter(pk=appeal.pk).exists()

    def test_validation_of_intake(self, world):
        with pytest.raises(ValidationError) as exc:
            make_appeal(world["330782"], content="太短")
        assert "content" in exc.value.message_dict
        from tuanju.appeals.models import Source

        with pytest.raises(ValidationError) as exc:
            make_appeal(world["330782"], source=Source.H5, consent=False)
        assert "consent" in exc.value.message_dict

    def test_roster_person_is_matched_by_phone(self, world):
        from tuanju.people import actions as people_actions
        from tuanju.people.models import Person

        person = people_actions.save_person(
            Person(),
            data={"unit": world["330782001001"], "name": "李娜"},
            resident_id=None,
            phone="13900002222",
            actor=None,
        )
        appeal = make_appeal(world["330782001"], phone="13900002222")
        assert appeal.person == person
        assert make_appeal(world["330783"], phone="13900002222").person is None  # another county


# --- Department isolation and scope -----------------------------------------------------------------


@pytest.mark.django_db
class TestVisibility:
    def test_department_accounts_see_only_what_is_routed_to_them(self, world, staff, appeal_depts):
        cadre = staff["yiwu_cadre"]
        to_hr = make_appeal(world["330782"], actor=cadre)
        to_justice = make_appeal(world["330782"], actor=cadre)
        unrouted = make_appeal(world["330782"], actor=cadre)
        actions.route(to_hr, actor=cadre, department=appeal_depts["yiwu_hr"])
        actions.route(to_justice, actor=cadre, department=appeal_depts["yiwu_justice"])
        assert set(Appeal.objects.visible_to(appeal_depts["hr_user"])) == {to_hr}
        assert set(Appeal.objects.visible_to(appeal_depts["justice_user"])) == {to_justice}
        assert set(Appeal.objects.visible_to(appeal_depts["dong_hr_user"])) == set()
        assert set(Appeal.objects.visible_to(cadre)) == {to_hr, to_justice, unrouted}
        # reassigned away: the first department loses it
        actions.route(to_hr, actor=cadre, department=appeal_depts["yiwu_justice"])
        assert set(Appeal.objects.visible_to(appeal_depts["hr_user"])) == set()
        assert set(Appeal.objects.visible_to(appeal_depts["justice_user"])) == {to_hr, to_justice}

    def test_department_accounts_see_nothing_else(self, world, staff, appeal_depts):
        from tuanju.appeals.models import Station
        from tuanju.people.models import Person

        hr = appeal_depts["hr_user"]
        assert hr.unit is None
        assert not Person.objects.visible_to(hr).exists() and not Station.objects.visible_to(hr).exists()

    def test_a_department_handler_may_not_touch_another_departments_appeal(self, world, staff, appeal_depts):
        cadre = staff["yiwu_cadre"]
        appeal = make_appeal(world["330782"], actor=cadre)
        actions.route(appeal, actor=cadre, department=appeal_depts["yiwu_justice"])
        with pytest.raises(PermissionDenied):
            actions.accept(appeal, actor=appeal_depts["hr_user"])
        with pytest.raises(PermissionDenied):
            actions.reply(appeal, actor=appeal_depts["hr_viewer"], text="无权答复的账号。")

    def test_anonymous_appeals_hide_identity_from_the_handler(self, world, staff, appeal_depts):
        admin = staff["yiwu_admin"]
        appeal = make_appeal(world["330782"], actor=admin, is_anonymous=True)
        actions.route(appeal, actor=admin, department=appeal_depts["yiwu_hr"])
        assert actions.may_see_identity(admin, appeal)
        assert not actions.may_see_identity(appeal_depts["hr_user"], appeal)
        with pytest.raises(PermissionDenied):
            actions.reveal_contact(appeal, actor=appeal_depts["hr_user"])
        name, phone = actions.reveal_contact(appeal, actor=admin)
        assert (name, phone) == ("张伟", "13800001111")
        assert AuditEvent.objects.filter(action="view_pii", object_id=str(appeal.pk)).count() == 1
        # routed down to a town: the town's admin does not see the person either
        from conftest import make_staff

        from tuanju.accounts.models import Role

        town_admin = make_staff("town_admin", world["330782001"], Role.ADMIN)
        actions.route(appeal, actor=admin, unit=world["330782001"])
        assert not actions.may_see_identity(town_admin, appeal)

    def test_scope_between_counties(self, world, staff):
        yiwu = make_appeal(world["330782001"], actor=staff["yiwu_cadre"])
        dong = make_appeal(world["330783"], actor=staff["dongyang_cadre"])
        assert set(Appeal.objects.visible_to(staff["dongyang_cadre"])) == {dong}
        assert set(Appeal.objects.visible_to(staff["city_admin"])) == {yiwu, dong}
        assert not AppealEvent.objects.visible_to(staff["dongyang_cadre"]).filter(appeal=yiwu).exists()


# --- Reminders and auto-close --------------------------------------------------------------------


@pytest.mark.django_db
class TestReminders:
    def test_near_due_and_overdue_reminders_are_sent_once_per_day(self, world, staff, appeal_depts, settings):
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        cadre = staff["yiwu_cadre"]
        cadre.email = "cadre@yiwu.example.cn"
        cadre.save()
        overdue = make_appeal(world["330782"], actor=cadre)
        near = make_appeal(world["330782"], actor=cadre)
        later = make_appeal(world["330782"], actor=cadre)
        actions.route(
            overdue,
            actor=cadre,
            department=appeal_depts["yiwu_hr"],
            time_limit_days=1,
            now=at(date(2026, 11, 20)),
        )
        actions.route(
            near,
            actor=cadre,
            department=appeal_depts["yiwu_justice"],
            time_limit_days=1,
            now=at(date(2026, 11, 20)),
        )
        actions.route(
            later,
            actor=cadre,
            department=appeal_depts["yiwu_hr"],
            time_limit_days=10,
            now=at(date(2026, 11, 20)),
        )
        Appeal.objects.filter(pk=overdue.pk).update(due_date=date(2026, 11, 24))
        Appeal.objects.filter(pk=near.pk).update(due_date=date(2026, 11, 26))
        mail.outbox.clear()
        today = date(2026, 11, 25)  # a Wednesday
        counts = actions.send_reminders(today)
        assert counts["overdue"] == 1 and counts["near_due"] == 1
        recipients = sorted(addr for message in mail.outbox for addr in message.to)
        # overdue at the 人社局: its handler and, escalated, the responsible unit's cadre
        assert recipients == ["cadre@yiwu.example.cn", "hr@yiwu.example.cn", "sf@yiwu.example.cn"]
        assert any("已超期" in m.subject for m in mail.outbox)
        rows = AppealNotification.objects.filter(day=today)
        assert {(r.appeal_id, r.kind) for r in rows} == {
            (overdue.pk, NoticeKind.OVERDUE),
            (near.pk, NoticeKind.NEAR_DUE),
        }
        assert AuditEvent.objects.filter(action="remind").count() == 2
        mail.outbox.clear()
        again = actions.send_reminders(today)
        assert again["sent"] == 0 and mail.outbox == []
        assert actions.send_reminders(date(2026, 11, 28))["skipped"]  # Saturday

    def test_no_recipient_is_recorded(self, world, staff, appeal_depts):
        cadre = staff["yiwu_cadre"]
        appeal = make_appeal(world["330782"], actor=cadre)
        actions.route(
            appeal, actor=cadre, unit=world["330782001"], time_limit_days=1, now=at(date(2026, 11, 20))
        )
        actions.send_reminders(date(2026, 11, 25))
        row = AppealNotification.objects.get(appeal=appeal)
        assert row.status == "no_recipient" and row.kind == NoticeKind.OVERDUE

    def test_periodic_task_runs_in_immediate_mode(self, world, staff, appeal_depts, appeals_huey, settings):
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        from tuanju.appeals.tasks import send_reminders_now

        cadre = staff["yiwu_cadre"]
        appeal = make_appeal(world["330782"], actor=cadre)
        actions.route(
            appeal,
            actor=cadre,
            department=appeal_depts["yiwu_hr"],
            time_limit_days=1,
            now=at(date(2026, 10, 20)),
        )
        result = send_reminders_now(force=True)
        value = result() if callable(result) else result
        assert value["overdue"] == 1
        assert AppealNotification.objects.filter(
            appeal=appeal, kind=NoticeKind.OVERDUE, status="sent"
        ).exists()

    def test_assignment_mails_the_department(
        self, world, staff, appeal_depts, settings, django_capture_on_commit_callbacks
    ):
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        cadre = staff["yiwu_cadre"]
        appeal = make_appeal(world["330782"], actor=cadre)
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            actions.route(appeal, actor=cadre, department=appeal_depts["yiwu_hr"])
        assert [m.to for m in mail.outbox] == [["hr@yiwu.example.cn"]]
        assert appeal.number in mail.outbox[0].subject

    def test_reply_texts_the_person(self, world, staff, appeal_depts, django_capture_on_commit_callbacks):
        cadre = staff["yiwu_cadre"]
        appeal = make_appeal(world["330782"], actor=cadre)
        actions.route(appeal, actor=cadre, department=appeal_depts["yiwu_hr"])
        with django_capture_on_commit_callbacks(execute=True):
            actions.reply(appeal, actor=appeal_depts["hr_user"], text="已处理完毕，请查收。")
        sms = AppealNotification.objects.get(appeal=appeal, channel="sms")
        assert sms.kind == NoticeKind.REPLY and sms.recipient == "138****1111" and sms.status == "sent"

    def test_auto_close_of_unrated_replies(self, world, staff, appeal_depts):
        cadre = staff["yiwu_cadre"]
        appeal = make_appeal(world["330782"], actor=cadre)
        actions.route(appeal, actor=cadre, department=appeal_depts["yiwu_hr"])
        actions.reply(
            appeal,
            actor=appeal_depts["hr_user"],
            text="答复内容在此。",
            now=timezone.now() - timedelta(days=8),
        )
        fresh = make_appeal(world["330782"], actor=cadre)
        actions.route(fresh, actor=cadre, department=appeal_depts["yiwu_hr"])
        actions.reply(fresh, actor=appeal_depts["hr_user"], text="答复内容在此。")
        assert actions.auto_close() == 1
        appeal.refresh_from_db()
        fresh.refresh_from_db()
        assert appeal.status == Status.CLOSED and "自动办结" in appeal.close_reason
        assert fresh.status == Status.REPLIED


@pytest.mark.django_db
def test_statistics(world, staff, appeal_depts):
    cadre = staff["yiwu_cadre"]
    a = make_appeal(world["330782"], actor=cadre)
    b = make_appeal(world["330782001"], actor=cadre, name="心理健康")
    make_appeal(world["330782"], actor=cadre)
    actions.route(
        a, actor=cadre, department=appeal_depts["yiwu_hr"], time_limit_days=1, now=at(date(2026, 9, 1))
    )
    actions.route(b, actor=cadre, department=appeal_depts["yiwu_hr"])
    actions.reply(b, actor=appeal_depts["hr_user"], text="已安排心理咨询师联系您。")
    actions.rate(b, satisfaction=Satisfaction.SATISFIED)
    stats = actions.appeal_stats(Appeal.objects.visible_to(cadre), date(2026, 11, 25))
    assert stats["total"] == 3 and stats["overdue"] == 1 and stats["open"] == 2
    assert stats["satisfaction_rate"] == 100.0 and stats["on_time_rate"] == 100.0
    assert {c["name"]: c["value"] for c in actions.by_category(Appeal.objects.all())} == {
        "就业创业": 2,
        "心理健康": 1,
    }
    rollup = actions.child_rollup(world["330782"], Appeal.objects.all(), "unit__path")
    assert rollup == {world["330782001"].path: 1}
    handlers = actions.by_handler(Appeal.objects.all(), date(2026, 11, 25))
    assert handlers[0]["name"] == "义乌市人力资源和社会保障局" and handlers[0]["overdue"] == 1
