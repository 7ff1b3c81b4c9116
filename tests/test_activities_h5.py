"""C7 activities, the public phone pages: registration by link/QR/group message, the ticket with
its QR code, cancellation and leave, self check-in with the rotating code (expiry, tampering,
revocation), the credit-rule refusal as a young person sees it, rate limits and CSRF."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from test_activities_support import activities_env, held, make_activity, make_community, move, person  # noqa: F401

from tuanju.activities import actions, tokens
from tuanju.activities.models import Activity, CheckIn, Registration, RegistrationStatus
from tuanju.people.models import Person

pytestmark = pytest.mark.usefixtures("activities_env")


@pytest.fixture
def yiwu(world):
    return world["330782001001"]


@pytest.fixture
def phone():
    return Client()


def link(activity, channel="qr"):
    return reverse("h5-activities:activity", args=[tokens.link_token(activity, channel)])


def test_registration_page_and_submission(yiwu, phone):
    activity = make_activity(unit=yiwu, capacity=30, title="垃圾分类宣传志愿服务", activity_type="volunteer")
    page = phone.get(link(activity))
    assert page.status_code == 200
    html = page.content.decode()
    assert "垃圾分类宣传志愿服务" in html and 'name="phone"' in html and "csrfmiddlewaretoken" in html
    response = phone.post(link(activity, "group"), {"name": "陈静", "phone": "13800138000"})
    assert response.status_code == 302 and "/h5/activities/t/" in response["Location"]
    reg = Registration.objects.get(activity=activity)
    assert reg.person.name == "陈静" and reg.source == "group" and reg.status == RegistrationStatus.CONFIRMED
    ticket = phone.get(response["Location"])
    html = ticket.content.decode()
    assert ticket.status_code == 200 and "data:image/svg+xml" in html and "138****8000" in html
    # the phone remembers: the activity page now says so instead of showing the form
    again = phone.get(link(activity)).content.decode()
    assert (
        'name="phone"' not in again
        and reverse("h5-activities:ticket", args=[tokens.ticket_token(reg)]) in again
    )
    mine = phone.get(reverse("h5-activities:mine")).content.decode()
    assert "垃圾分类宣传志愿服务" in mine


def test_form_errors_are_chinese(yiwu, phone):
    activity = make_activity(unit=yiwu, requires_resident_id=True)
    html = phone.post(link(activity), {"name": "王5", "phone": "12345", "resident_id": ""}).content.decode()
    assert "含有数字" in html and "手机号应为" in html and "实名报名" in html
    assert not Registration.objects.exists()


def test_waitlist_shown_on_the_ticket(yiwu, phone):
    activity = make_activity(unit=yiwu, capacity=1)
    actions.register(activity, person=person(yiwu, "占位者"))
    assert "join the waitlist" in phone.get(link(activity)).content.decode().lower()
    response = phone.post(link(activity), {"name": "等位者", "phone": "13700000001"})
    html = phone.get(response["Location"]).content.decode()
    assert "Waitlist, number 1" in html


def test_invalid_revoked_and_draft_links(yiwu, phone):
    activity = make_activity(unit=yiwu)
    url = link(activity)
    assert phone.get(url[:-6] + "xxxxx/").status_code == 404
    actions.rotate_links(activity)
    assert phone.get(url).status_code == 404
    start = timezone.now() + timedelta(days=3)
    draft = actions.save_activity(
        Activity(),
        data={"organizer_kind": "unit", "unit": yiwu, "title": "草稿", "activity_type": "talk", "place": "会议室",
              "starts_at": start, "ends_at": start + timedelta(hours=1)},
    )  # fmt: skip
    assert phone.get(link(draft)).status_code == 404


def test_cancel_before_the_cut_off_and_leave_after_it(yiwu, phone):
    early = make_activity(unit=yiwu, days=3, cancel_cutoff_hours=24)
    location = phone.post(link(early), {"name": "刘洋", "phone": "13600000002"})["Location"]
    token = location.rstrip("/").rsplit("/", 1)[-1]
    response = phone.post(reverse("h5-activities:ticket-cancel", args=[token]))
    assert response.status_code == 302
    assert Registration.objects.get(activity=early).status == RegistrationStatus.CANCELLED
    assert "已取消报名" in phone.get(location).content.decode()

    soon = make_activity(unit=yiwu, days=0.5, cancel_cutoff_hours=24)
    location = phone.post(link(soon), {"name": "刘洋", "phone": "13600000002"})["Location"]
    token = location.rstrip("/").rsplit("/", 1)[-1]
    html = phone.get(location).content.decode()
    assert "ticket-cancel" not in html and reverse("h5-activities:ticket-leave", args=[token]) in html
    phone.post(reverse("h5-activities:ticket-cancel", args=[token]))
    assert "网上取消截止时间" in phone.get(location).content.decode()
    assert Registration.objects.get(activity=soon).status == RegistrationStatus.CONFIRMED
    phone.post(reverse("h5-activities:ticket-leave", args=[token]), {"reason": "公司临时加班"})
    reg = Registration.objects.get(activity=soon)
    assert reg.leave_status == "pending" and reg.leave_reason == "公司临时加班"
    assert "等待组织方审批" in phone.get(location).content.decode()


def test_csrf_is_enforced(yiwu):
    strict = Client(enforce_csrf_checks=True)
    activity = make_activity(unit=yiwu)
    assert strict.post(link(activity), {"name": "陈静", "phone": "13800138000"}).status_code == 403
    page = strict.get(link(activity))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    ok = strict.post(link(activity), {"name": "陈静", "phone": "13800138000", "csrfmiddlewaretoken": token})
    assert ok.status_code == 302


def test_registration_is_rate_limited(yiwu, phone, settings):
    settings.TUANJU = {**settings.TUANJU, "H5_RATE_LIMITS": {"act-register-phone": "2/1h"}}
    activity = make_activity(unit=yiwu)
    for _ in range(2):
        phone.post(link(activity), {"name": "刷单", "phone": "13500000003"})
    limited = phone.post(link(activity), {"name": "刷单", "phone": "13500000003"})
    assert limited.status_code == 429 and "Retry-After" in limited


def test_credit_block_is_explained_on_the_page(yiwu, phone):
    community = make_community(yiwu)
    p = person(yiwu, "周末党", phone="13911112222")
    for days in (30, 23, 16):
        held(community, [p], days_ago=days)
    nxt = make_activity(community=community, title="周六瑜伽")
    response = phone.post(link(nxt), {"name": "周末党", "phone": "13911112222", "agree": "on"})
    html = response.content.decode()
    assert response.status_code == 403
    assert "连续3次" in html and "周六瑜伽" in html and "限制至" in html
    assert not Registration.objects.filter(activity=nxt).exists()


def test_community_activities_ask_to_read_the_notice(yiwu, phone):
    community = make_community(yiwu)
    activity = make_activity(community=community)
    html = phone.post(link(activity), {"name": "新成员", "phone": "13911113333"}).content.decode()
    assert "请阅读并勾选报名须知" in html and "3 unexcused absences in a row" in html


# --- Self check-in with the rotating code --------------------------------------------------------


def _checkin_form(client, url):
    page = client.get(url)
    assert page.status_code == 200, page.content.decode()[:300]
    html = page.content.decode()
    return {
        "csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1],
        "form_token": re.search(r'name="form_token" value="([^"]+)"', html)[1],
    }, html


def test_self_check_in_by_phone_number_and_by_one_tap(yiwu, phone):
    activity = make_activity(unit=yiwu, days=0.02, late_after_minutes=10)  # starts in half an hour
    registered = phone.post(link(activity), {"name": "签到甲", "phone": "13811110001"})["Location"]
    other = person(yiwu, "签到乙", phone="13811110002")
    actions.register(activity, person=other)
    url = reverse("h5-activities:checkin", args=[tokens.checkin_token(activity, "in")])
    data, html = _checkin_form(phone, url)
    assert "签到甲" in html  # this phone registered: one tap
    mine = Registration.objects.get(activity=activity, person__name="签到甲")
    response = phone.post(reverse("h5-activities:checkin-submit"), {**data, "ticket": mine.pk})
    assert response.status_code == 200 and "Checked in" in response.content.decode()
    mine.refresh_from_db()
    assert mine.checked_in_at is not None and mine.checkin_method == "self_qr" and not mine.late_minutes
    stranger = Client()
    data, html = _checkin_form(stranger, url)
    response = stranger.post(reverse("h5-activities:checkin-submit"), {**data, "phone": "138 1111 0002"})
    assert response.status_code == 200
    assert (
        Registration.objects.get(pk=actions.find_by_phone(activity, "13811110002").pk).checked_in_at
        is not None
    )
    unknown = stranger.post(reverse("h5-activities:checkin-submit"), {**data, "phone": "13811119999"})
    assert unknown.status_code == 409 and "没有找到该手机号的报名" in unknown.content.decode()
    again = stranger.post(reverse("h5-activities:checkin-submit"), {**data, "phone": "13811110002"})
    assert again.status_code == 200 and CheckIn.objects.filter(activity=activity).count() == 2
    assert registered


def test_late_arrival_is_noted(yiwu, phone):
    activity = make_activity(unit=yiwu, days=1, late_after_minutes=10)
    p = person(yiwu, "迟到者", phone="13811110003")
    actions.register(activity, person=p)
    move(activity, days=-(20 / 1440))  # started 20 minutes ago
    url = reverse("h5-activities:checkin", args=[tokens.checkin_token(activity, "in")])
    data, _html = _checkin_form(phone, url)
    html = phone.post(
        reverse("h5-activities:checkin-submit"), {**data, "phone": "13811110003"}
    ).content.decode()
    reg = Registration.objects.get(activity=activity, person=p)
    assert reg.late_minutes in (19, 20, 21) and f"{reg.late_minutes} minutes after the start" in html


def test_expired_tampered_and_revoked_codes(yiwu, phone, settings):
    settings.TUANJU = {**settings.TUANJU, "ACTIVITY_QR_ROTATE_SECONDS": 30, "ACTIVITY_QR_GRACE_PERIODS": 1}
    activity = make_activity(unit=yiwu, days=0.02)
    yesterday = tokens.checkin_token(activity, "in", now=timezone.now().timestamp() - 86400)
    response = phone.get(reverse("h5-activities:checkin", args=[yesterday]))
    assert response.status_code == 410 and "已过期" in response.content.decode()
    fresh = tokens.checkin_token(activity, "in")
    forged = fresh.replace(fresh[-5:], "AAAAA")
    assert phone.get(reverse("h5-activities:checkin", args=[forged])).status_code == 404
    data, _html = _checkin_form(phone, reverse("h5-activities:checkin", args=[fresh]))
    actions.rotate_checkin_codes(activity)
    assert phone.get(reverse("h5-activities:checkin", args=[fresh])).status_code == 404
    revoked = phone.post(reverse("h5-activities:checkin-submit"), {**data, "phone": "13811110004"})
    assert revoked.status_code == 404
    tampered_form = phone.post(
        reverse("h5-activities:checkin-submit"), {**data, "form_token": data["form_token"] + "x"}
    )
    assert tampered_form.status_code == 410


def test_check_out_code_and_hours_on_the_result(yiwu, phone):
    activity = make_activity(unit=yiwu, days=1, hours=3, activity_type="volunteer")
    p = person(yiwu, "签退者", phone="13811110005")
    reg = actions.register(activity, person=p).registration
    actions.check_in(reg, method="staff_scan", at=activity.starts_at)
    move(activity, days=-(150 / 1440), hours=3)  # started 2.5 hours ago
    Registration.objects.filter(pk=reg.pk).update(checked_in_at=activity.starts_at)
    url = reverse("h5-activities:checkin", args=[tokens.checkin_token(activity, "out")])
    data, html = _checkin_form(phone, url)
    result = phone.post(
        reverse("h5-activities:checkin-submit"), {**data, "phone": "13811110005"}
    ).content.decode()
    reg.refresh_from_db()
    assert reg.checked_out_at is not None and str(reg.hours_computed) == "2.50"
    assert "2.50" in result


def test_public_pages_are_rate_limited_per_ip(yiwu, phone, settings):
    settings.TUANJU = {**settings.TUANJU, "H5_RATE_LIMITS": {"act-checkin-ip": "3/10m"}}
    activity = make_activity(unit=yiwu, days=0.02)
    url = reverse("h5-activities:checkin", args=[tokens.checkin_token(activity, "in")])
    codes = [phone.get(url).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_h5_needs_no_login_but_reveals_no_roster(yiwu, phone):
    activity = make_activity(unit=yiwu)
    actions.register(activity, person=person(yiwu, "隐私甲", phone="13811110006"))
    html = phone.get(link(activity)).content.decode()
    assert "隐私甲" not in html and "13811110006" not in html
    assert Person.objects.count() == 1
