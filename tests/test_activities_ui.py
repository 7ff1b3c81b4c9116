"""C7 activities for staff: pages, the activity life cycle through the UI, the ticket scan page, the
check-in screen, hours export (ID masking and audit), health and credit pages, the API — and
scope: a Dongyang cadre gets 404 / empty lists for Yiwu's activities everywhere."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from python_calamine import CalamineWorkbook
from test_activities_support import activities_env, held, make_activity, make_community, move, person  # noqa: F401

from tuanju.activities import actions, tokens
from tuanju.activities.models import Activity, BlacklistProposal, CheckIn, CheckMethod, Photo, Registration
from tuanju.audit.models import AuditEvent

pytestmark = pytest.mark.usefixtures("activities_env")


@pytest.fixture
def yiwu(world):
    return world["330782001001"]


@pytest.fixture
def scene(world, yiwu, staff):
    """A Yiwu community activity held last week with hours, and an upcoming one with a waitlist."""
    community = make_community(yiwu)
    people = [
        person(yiwu, n, phone=f"1381234{i:04d}") for i, n in enumerate(["陈一", "林二", "黄三", "吴四"])
    ]
    past = make_activity(community=community, title="社区助老志愿服务", activity_type="volunteer", hours=3)
    regs = [actions.register(past, person=p).registration for p in people[:3]]
    move(past, days=-7, hours=3)
    for reg in regs[:2]:
        reg.refresh_from_db()
        actions.check_in(reg, method=CheckMethod.STAFF_SCAN, at=past.starts_at)
        actions.check_in(
            reg, kind="out", method=CheckMethod.STAFF_SCAN, at=past.starts_at + timedelta(hours=2)
        )
    actions.confirm_hours(past, actor=staff["yiwu_cadre"])
    upcoming = make_activity(community=community, title="周六瑜伽课", capacity=2)
    for p in people:
        actions.register(upcoming, person=p)
    return {"community": community, "people": people, "past": past, "upcoming": upcoming}


def test_list_detail_tabs_render(client_for, staff, scene):
    client = client_for(staff["yiwu_cadre"])
    listing = client.get(reverse("activities:list"))
    html = listing.content.decode()
    assert listing.status_code == 200 and "社区助老志愿服务" in html and "周六瑜伽课" in html
    for tab in ("overview", "registrations", "checkin", "hours", "album", "credit"):
        for activity in (scene["past"], scene["upcoming"]):
            page = client.get(reverse("activities:detail", args=[activity.pk]), {"tab": tab})
            assert page.status_code == 200, (tab, activity.title)
    overview = client.get(reverse("activities:detail", args=[scene["upcoming"].pk])).content.decode()
    assert "/h5/activities/a/" in overview and "【活动报名】周六瑜伽课" in overview
    assert (
        client.get(reverse("activities:list"), {"phase": "upcoming", "q": "瑜伽"})
        .content.decode()
        .count("周六瑜伽课")
        == 1
    )
    assert "社区助老" not in client.get(reverse("activities:list"), {"phase": "upcoming"}).content.decode()
    assert client.get(reverse("activities:poster", args=[scene["upcoming"].pk])).status_code == 200
    assert (
        client.get(reverse("activities:qr-png", args=[scene["upcoming"].pk]))["Content-Type"] == "image/png"
    )


def test_create_publish_register_on_behalf_and_cancel(client_for, staff, world, yiwu):
    client = client_for(staff["yiwu_cadre"])
    start = timezone.localtime() + timedelta(days=5)
    data = {
        "organizer_kind": "unit",
        "unit": "330782001",
        "title": "青年夜校·短视频剪辑",
        "activity_type": "study",
        "place": "稠城街道党群服务中心三楼",
        "starts_at": start.strftime("%Y-%m-%dT19:00"),
        "ends_at": start.strftime("%Y-%m-%dT21:00"),
        "cancel_cutoff_hours": "12",
        "capacity": "1",
        "waitlist_enabled": "on",
        "audience": "open",
        "late_after_minutes": "10",
        "extra_fields": ["employer"],
        "questions": "想学哪类剪辑？",
    }
    response = client.post(reverse("activities:create"), data)
    assert response.status_code == 302
    activity = Activity.objects.get(title="青年夜校·短视频剪辑")
    assert (
        activity.status == "draft"
        and activity.unit.code == "330782001"
        and activity.questions == ["想学哪类剪辑？"]
    )
    assert activity.organizer_name == "共青团稠城街道委员会"
    client.post(reverse("activities:publish", args=[activity.pk]))
    activity.refresh_from_db()
    assert activity.status == "published"
    a, b = person(yiwu, "代报甲", phone="13700002001"), person(yiwu, "代报乙", phone="13700002002")
    activity.extra_fields, activity.questions = [], []
    activity.save()
    client.post(reverse("activities:registration-add", args=[activity.pk]), {"person": "13700002001"})
    client.post(reverse("activities:registration-add", args=[activity.pk]), {"person": "代报乙"})
    regs = {r.person_id: r for r in Registration.objects.filter(activity=activity)}
    assert regs[a.pk].status == "confirmed" and regs[b.pk].status == "waitlisted"
    assert regs[a.pk].created_by == staff["yiwu_cadre"] and regs[a.pk].source == "staff"
    client.post(
        reverse("activities:registration-cancel", args=[activity.pk, regs[a.pk].pk]),
        {"reason": "本人电话告知"},
    )
    assert Registration.objects.get(pk=regs[b.pk].pk).status == "confirmed"
    bad = client.post(reverse("activities:edit", args=[activity.pk]), {**data, "ends_at": data["starts_at"]})
    assert "结束时间应晚于开始时间" in bad.content.decode()


def test_viewers_cannot_write(client_for, staff, scene):
    client = client_for(staff["yiwu_viewer"])
    upcoming = scene["upcoming"]
    assert client.get(reverse("activities:detail", args=[upcoming.pk])).status_code == 200
    assert client.get(reverse("activities:create")).status_code == 403
    assert client.post(reverse("activities:cancel", args=[upcoming.pk]), {"reason": "x"}).status_code == 403
    reg = Registration.objects.filter(activity=upcoming).first()
    assert (
        client.post(reverse("activities:registration-cancel", args=[upcoming.pk, reg.pk])).status_code == 403
    )
    assert (
        client.post(
            reverse("activities:registration-check", args=[upcoming.pk, reg.pk]), {"kind": "in", "note": "x"}
        ).status_code
        == 403
    )
    assert client.post(reverse("activities:hours-confirm", args=[scene["past"].pk])).status_code == 403


def test_leave_decision_and_manual_check_in_through_the_ui(client_for, staff, scene):
    client = client_for(staff["yiwu_cadre"])
    upcoming = scene["upcoming"]
    reg = Registration.objects.get(activity=upcoming, person=scene["people"][0])
    actions.request_leave(reg, reason="要值班")
    client.post(
        reverse("activities:registration-leave", args=[upcoming.pk, reg.pk]),
        {"decision": "approve", "note": "同意"},
    )
    reg.refresh_from_db()
    assert reg.status == "leave" and reg.leave_decided_by == staff["yiwu_cadre"]
    assert (
        Registration.objects.filter(activity=upcoming, status="confirmed").count() == 2
    )  # the waitlist moved up
    other = Registration.objects.get(activity=upcoming, person=scene["people"][1])
    response = client.post(
        reverse("activities:registration-check", args=[upcoming.pk, other.pk]),
        {"kind": "in", "note": "手机没电，核验身份证"},
    )
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.checkin_method == "manual"
    assert CheckIn.objects.get(registration=other).by == staff["yiwu_cadre"]


def test_staff_scan_page_checks_in_and_out(client_for, staff, scene):
    reg = Registration.objects.get(activity=scene["upcoming"], person=scene["people"][0])
    url = reverse("activities:scan", args=[tokens.scan_token(reg)])
    client = client_for(staff["yiwu_cadre"])
    page = client.get(url)
    assert page.status_code == 200 and "陈一" in page.content.decode()
    client.post(url, {"kind": "in"})
    reg.refresh_from_db()
    assert reg.checked_in_at is not None and reg.checkin_method == "staff_scan"
    client.post(url, {"kind": "out"})
    reg.refresh_from_db()
    assert reg.checked_out_at is not None
    # the ticket page's token does not open the scan page (another salt), and a rotated ticket is dead
    assert client.get(reverse("activities:scan", args=[tokens.ticket_token(reg)])).status_code == 404
    Registration.objects.filter(pk=reg.pk).update(ticket_nonce="rotated")
    assert client.get(url).status_code == 404


def test_check_in_screen_serves_fresh_codes(client_for, staff, scene):
    client = client_for(staff["yiwu_cadre"])
    upcoming = scene["upcoming"]
    screen = client.get(reverse("activities:checkin-screen", args=[upcoming.pk]))
    assert screen.status_code == 200 and "hx-trigger" in screen.content.decode()
    code = client.get(reverse("activities:checkin-code", args=[upcoming.pk]), {"kind": "out"})
    assert code.status_code == 200 and "data:image/svg+xml" in code.content.decode()
    assert (
        client_for(staff["yiwu_viewer"])
        .get(reverse("activities:checkin-screen", args=[upcoming.pk]))
        .status_code
        == 403
    )


def _rows(response) -> list[list]:
    data = b"".join(response.streaming_content)
    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()


def test_hours_export_masks_ids_unless_the_role_may_unmask(client_for, staff, scene, yiwu):
    from tuanju.core import idcard
    from tuanju.people.models import Person

    chen = scene["people"][0]
    number = idcard.make("330782", timezone.datetime(1998, 5, 6).date(), 77, male=True)
    chen.set_resident_id(number)
    chen.save()
    cadre = client_for(staff["yiwu_cadre"])
    rows = _rows(cadre.get(reverse("activities:hours-export"), {"unmask": "1"}))
    assert rows[0][:7] == [
        "姓名",
        "证件类型",
        "证件号码",
        "手机号",
        "活动名称",
        "服务日期",
        "服务时长（小时）",
    ]
    assert {r[0] for r in rows[1:]} == {"陈一", "林二"}
    line = next(r for r in rows[1:] if r[0] == "陈一")
    assert line[2] == Person.objects.get(pk=chen.pk).resident_id_masked and line[6] == 2.0
    assert not AuditEvent.objects.filter(action="view_pii").exists()
    assert AuditEvent.objects.filter(
        action="export", details__kind="volunteer_hours", actor=staff["yiwu_cadre"]
    ).exists()
    admin = client_for(staff["yiwu_admin"])
    rows = _rows(admin.get(reverse("activities:hours-export"), {"unmask": "1"}))
    assert next(r for r in rows[1:] if r[0] == "陈一")[2] == number
    event = AuditEvent.objects.get(action="view_pii", actor=staff["yiwu_admin"])
    assert chen.pk in event.details["people"]


def test_hours_page_rolls_up_per_unit(client_for, staff, scene, world):
    client = client_for(staff["yiwu_cadre"])
    page = client.get(reverse("activities:hours"), {"unit": "330782"})
    html = page.content.decode()
    assert page.status_code == 200 and "稠城街道" in html and "陈一" in html
    assert page.context["totals"]["total"] == 4 and page.context["totals"]["people"] == 2


def test_health_and_credit_pages(client_for, staff, scene, yiwu):
    community = scene["community"]
    p = person(yiwu, "缺席王")
    for days in (60, 53, 46):
        held(community, [p], days_ago=days)
    held(community, [], days_ago=39)
    for days in (32, 25, 18):
        held(community, [p], days_ago=days)
    client = client_for(staff["yiwu_cadre"])
    credit = client.get(reverse("activities:credit")).content.decode()
    assert "缺席王" in credit and "连续3次" in credit
    proposal = BlacklistProposal.objects.get(person=p)
    client.post(
        reverse("activities:proposal-decide", args=[proposal.pk]), {"decision": "dismiss", "note": ""}
    )
    proposal.refresh_from_db()
    assert proposal.status == "pending"  # a dismissal needs a reason
    client.post(
        reverse("activities:proposal-decide", args=[proposal.pk]),
        {"decision": "dismiss", "note": "已当面提醒"},
    )
    proposal.refresh_from_db()
    assert proposal.status == "dismissed"
    health_page = client.get(reverse("activities:health"), {"unit": "330782", "show": "all"})
    assert health_page.status_code == 200 and community.name in health_page.content.decode()
    person_page = client.get(reverse("activities:person", args=[p.pk])).content.decode()
    assert "缺席王" in person_page and community.name in person_page


def test_album_and_summary(client_for, staff, scene):
    from PIL import Image

    client = client_for(staff["yiwu_cadre"])
    past = scene["past"]
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 20, 20)).save(buffer, format="PNG")
    buffer.name = "photo.png"
    buffer.seek(0)
    client.post(reverse("activities:photos-add", args=[past.pk]), {"photos": [buffer], "caption": "合影"})
    photo = Photo.objects.get(activity=past)
    assert photo.width == 40 and photo.caption == "合影"
    served = client.get(reverse("activities:photo", args=[past.pk, photo.pk]))
    assert served["Content-Type"] == "image/jpeg"
    not_image = io.BytesIO(b"not an image at all")
    not_image.name = "x.jpg"
    page = client.post(reverse("activities:photos-add", args=[past.pk]), {"photos": [not_image]}, follow=True)
    assert "不是有效的照片" in page.content.decode()
    client.post(reverse("activities:summary", args=[past.pk]), {"summary": "共服务老人32人次。"})
    past.refresh_from_db()
    assert past.summary == "共服务老人32人次。"
    upcoming = scene["upcoming"]
    client.post(reverse("activities:summary", args=[upcoming.pk]), {"summary": "提前写"})
    upcoming.refresh_from_db()
    assert upcoming.summary == ""


def test_api_list_detail_registrations_and_checkins(client_for, staff, scene):
    client = client_for(staff["yiwu_cadre"])
    listing = client.get("/api/v1/activities/").json()
    titles = {row["title"] for row in listing["results"]}
    assert titles == {"社区助老志愿服务", "周六瑜伽课"}
    upcoming = scene["upcoming"]
    detail = client.get(f"/api/v1/activities/{upcoming.pk}/").json()
    assert detail["organizer"]["kind"] == "community" and detail["capacity"] == 2
    regs = client.get(f"/api/v1/activities/{upcoming.pk}/registrations/").json()["results"]
    assert len(regs) == 4 and all("****" in r["phone"] for r in regs)
    reg = Registration.objects.get(activity=upcoming, person=scene["people"][0])
    created = client.post(
        f"/api/v1/activities/{upcoming.pk}/checkins/",
        {"scan_token": tokens.scan_token(reg), "kind": "in"},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["done"] is True
    again = client.post(
        f"/api/v1/activities/{upcoming.pk}/checkins/",
        {"registration": reg.pk, "kind": "in"},
        content_type="application/json",
    )
    assert again.status_code == 200 and again.json()["done"] is False
    log = client.get(f"/api/v1/activities/{upcoming.pk}/checkins/").json()["results"]
    assert len(log) == 1 and log[0]["method"] == "staff_scan"
    viewer = client_for(staff["yiwu_viewer"])
    assert (
        viewer.post(
            f"/api/v1/activities/{upcoming.pk}/checkins/",
            {"registration": reg.pk},
            content_type="application/json",
        ).status_code
        == 403
    )


def test_dongyang_cadre_sees_nothing_of_yiwu(client_for, staff, scene):
    client = client_for(staff["dongyang_cadre"])
    past, upcoming = scene["past"], scene["upcoming"]
    listing = client.get(reverse("activities:list"))
    assert listing.status_code == 200 and "周六瑜伽课" not in listing.content.decode()
    assert not listing.context["page_obj"].object_list
    for activity in (past, upcoming):
        for tab in ("overview", "registrations", "checkin", "hours"):
            assert (
                client.get(reverse("activities:detail", args=[activity.pk]), {"tab": tab}).status_code == 404
            )
        for name in ("edit", "poster", "qr-png", "checkin-screen", "checkin-code", "registrations-export"):
            assert client.get(reverse(f"activities:{name}", args=[activity.pk])).status_code in (403, 404)
        assert client.get(reverse("activities:checkin-screen", args=[activity.pk])).status_code == 404
        assert (
            client.post(reverse("activities:cancel", args=[activity.pk]), {"reason": "x"}).status_code == 404
        )
        assert client.post(reverse("activities:settle", args=[activity.pk])).status_code == 404
    reg = Registration.objects.filter(activity=upcoming).first()
    assert client.get(reverse("activities:scan", args=[tokens.scan_token(reg)])).status_code == 404
    assert (
        client.post(
            reverse("activities:registration-check", args=[upcoming.pk, reg.pk]), {"kind": "in", "note": "x"}
        ).status_code
        == 404
    )
    assert client.get(reverse("activities:person", args=[reg.person_id])).status_code == 404
    rows = _rows(client.get(reverse("activities:hours-export")))
    assert rows[1:] == []
    assert not client.get(reverse("activities:hours")).context["page_obj"].object_list
    assert not client.get(reverse("activities:credit")).context["pending"]
    assert (
        "青年之家瑜伽课堂" not in client.get(reverse("activities:health"), {"show": "all"}).content.decode()
    )
    assert client.get("/api/v1/activities/").json()["results"] == []
    assert client.get(f"/api/v1/activities/{upcoming.pk}/").status_code == 404
    assert client.get(f"/api/v1/activities/{upcoming.pk}/registrations/").status_code == 404
    assert client.get(f"/api/v1/activities/{upcoming.pk}/checkins/").status_code == 404
    assert client.get("/api/v1/activities/", {"unit": "330782"}).json()["results"] == []
    export = _rows(client.get(reverse("activities:export")))
    assert export[1:] == []
    # and a check-in of a Yiwu registration through Dongyang's API is a 404
    response = client.post(
        f"/api/v1/activities/{upcoming.pk}/checkins/",
        {"scan_token": tokens.scan_token(reg)},
        content_type="application/json",
    )
    assert response.status_code == 404


def test_anonymous_users_are_sent_to_login(client, scene):
    response = client.get(reverse("activities:detail", args=[scene["upcoming"].pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get("/api/v1/activities/").status_code in (401, 403)


def test_settle_button_reports_the_credit_rule(client_for, staff, scene):
    client = client_for(staff["yiwu_cadre"])
    upcoming = scene["upcoming"]
    move(upcoming, days=-1)
    page = client.post(reverse("activities:settle", args=[upcoming.pk]), follow=True)
    assert page.status_code == 200
    upcoming.refresh_from_db()
    assert upcoming.settled_at is not None
    assert Registration.objects.filter(activity=upcoming, outcome="absent").count() == 2
    again = client.post(reverse("activities:settle", args=[upcoming.pk]), follow=True)
    assert "Attendance was already settled." in again.content.decode()
