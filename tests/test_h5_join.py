"""The public H5 join flow: no login, signed expiring tokens, CSRF, rate limits, and the public API."""

from __future__ import annotations

import time

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from test_groups_support import add_person, clear_cache, make_tower, resident_id

from tuanju.groups import actions, tokens
from tuanju.groups.models import Community, CommunityCategory, CommunityMember, MemberStatus
from tuanju.people.models import Person, Source

ZHANG_ID = resident_id("330782", 201)


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def community(world):
    make_tower(world)
    community = actions.save_community(
        Community(),
        data={
            "unit": world["330782"],
            "name": "青年之家瑜伽课堂",
            "category": CommunityCategory.objects.get(name="兴趣爱好"),
            "description": "每周一次线下瑜伽课",
            "requires_approval": False,
        },
    )
    return actions.update_charter(community, text="一、文明发言，互相尊重。\n二、连续3次无故缺席将暂停报名。")


def url_for(community, **kwargs) -> str:
    return reverse("h5:join", args=[tokens.make_invite(community, channel="qr", **kwargs)])


def form(**overrides) -> dict:
    data = {"name": "张伟", "phone": "13812345678", "resident_id": "", "accept": "on", "charter_version": "2"}
    data.update(overrides)
    return data


def test_join_page_needs_no_login_and_shows_the_charter(community):
    response = Client().get(url_for(community))
    assert response.status_code == 200
    content = response.content.decode()
    assert "青年之家瑜伽课堂" in content and "连续3次无故缺席将暂停报名" in content
    assert 'name="csrfmiddlewaretoken"' in content
    assert 'name="viewport"' in content and "width=device-width" in content
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]


def test_joining_from_the_phone(community, world):
    zhang = add_person(world["330782001001"], "张伟", resident_id=ZHANG_ID, phone="13812345678")
    client = Client()
    response = client.post(url_for(community), form())
    assert response.status_code == 302
    member = CommunityMember.objects.get()
    assert member.person == zhang and member.status == MemberStatus.ACTIVE and member.source == "qr"
    done = client.get(response["Location"])
    assert done.status_code == 200 and "张伟" in done.content.decode()


def test_joining_adds_someone_new_to_the_roster(community):
    number = resident_id("330782", 202, male=False)
    response = Client().post(url_for(community), form(name="李娜", phone="139 0000 1111", resident_id=number))
    assert response.status_code == 302
    person = Person.objects.get()
    assert person.source == Source.COMMUNITY and person.reveal_resident_id() == number


def test_errors_are_shown_in_chinese_on_the_form(community):
    response = Client().post(url_for(community), form(phone="123", accept=""))
    assert response.status_code == 200
    content = response.content.decode()
    assert "手机号应为以1开头的11位数字" in content and "请阅读并同意社群公约" in content
    assert not CommunityMember.objects.exists()


def test_the_form_needs_the_csrf_token(community):
    client = Client(enforce_csrf_checks=True)
    url = url_for(community)
    assert client.post(url, form()).status_code == 403
    page = client.get(url)
    token = page.context["csrf_token"]
    response = client.post(url, {**form(), "csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302


def test_a_tampered_token_is_refused(community):
    token = tokens.make_invite(community)
    payload = signing.loads(token, salt=tokens.INVITE_SALT)
    forged = signing.dumps({**payload, "c": payload["c"] + 1}, salt="another-salt")
    for bad in (token[:-2] + "xx", forged, "garbage", token.replace(":", "", 1)):
        response = Client().get(reverse("h5:join", args=[bad]))
        assert response.status_code == 404, bad
        assert "无效" in response.content.decode()
    # Changing the community in the payload breaks the signature.
    head, rest = token.split(":", 1)
    other_payload = signing.b64_encode(
        f'{{"c":{payload["c"] + 1},"n":"{payload["n"]}","e":{payload["e"]},"k":"link"}}'.encode()
    )
    with pytest.raises(tokens.InviteInvalid):
        tokens.read_invite(other_payload.decode() + ":" + rest)


def test_an_expired_token_is_refused(community):
    old = tokens.make_invite(community, days=7, now=time.time() - 8 * 86400)
    response = Client().get(reverse("h5:join", args=[old]))
    assert response.status_code == 410 and "已过期" in response.content.decode()
    assert Client().post(reverse("h5:join", args=[old]), form()).status_code == 410
    assert not CommunityMember.objects.exists()
    with pytest.raises(tokens.InviteExpired):
        tokens.read_invite(old)
    fresh = tokens.read_invite(tokens.make_invite(community, days=30))
    assert fresh.community_id == community.pk and 29 <= fresh.days_left <= 30


def test_resetting_the_invites_revokes_issued_codes(community):
    url = url_for(community)
    actions.reset_invites(community)
    assert Client().get(url).status_code == 404
    assert Client().get(url_for(community)).status_code == 200


def test_blacklisted_people_cannot_rejoin_from_the_phone(community, world, staff):
    zhang = add_person(world["330782001001"], "张伟", resident_id=ZHANG_ID, phone="13812345678")
    actions.blacklist(community, zhang, reason="屡次违反公约", actor=staff["yiwu_cadre"])
    response = Client().post(url_for(community), form())
    assert response.status_code == 200 and "黑名单" in response.content.decode()
    assert not CommunityMember.objects.filter(status=MemberStatus.ACTIVE).exists()


def test_pending_when_the_community_requires_approval(community):
    community.requires_approval = True
    community.save()
    client = Client()
    response = client.post(url_for(community), form())
    member = CommunityMember.objects.get()
    assert member.status == MemberStatus.PENDING
    assert "审核" in client.get(response["Location"]).content.decode() or member.status == "pending"


def test_rate_limit_per_ip(community, settings):
    settings.TUANJU = {
        **settings.TUANJU,
        "H5_RATE_LIMITS": {"join-ip": "3/10m", "h5-view-ip": "100/10m", "join-phone": "50/1h"},
    }
    client = Client(REMOTE_ADDR="10.0.0.7")
    url = url_for(community)
    statuses = [client.post(url, form(phone=f"1380000000{i}", name="张伟")).status_code for i in range(5)]
    assert statuses[:3] == [302, 302, 302] and statuses[3:] == [429, 429]
    limited = client.post(url, form(phone="13800000009"))
    assert "操作太频繁" in limited.content.decode() and int(limited["Retry-After"]) > 0
    # Another address is not affected.
    assert Client(REMOTE_ADDR="10.0.0.8").post(url, form(phone="13800000009")).status_code == 302


def test_rate_limit_per_phone(community, settings):
    settings.TUANJU = {
        **settings.TUANJU,
        "H5_RATE_LIMITS": {"join-ip": "100/10m", "h5-view-ip": "100/10m", "join-phone": "2/1h"},
    }
    url = url_for(community)
    codes = [
        Client(REMOTE_ADDR=f"10.0.1.{i}").post(url, form(phone="+86 138 1234 5678")).status_code
        for i in range(3)
    ]
    assert codes == [302, 302, 429]


def test_page_views_are_rate_limited_too(community, settings):
    settings.TUANJU = {
        **settings.TUANJU,
        "H5_RATE_LIMITS": {"join-ip": "100/10m", "h5-view-ip": "2/1m", "join-phone": "5/1h"},
    }
    client = Client(REMOTE_ADDR="10.0.2.1")
    url = url_for(community)
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]


# --- The public API ---------------------------------------------------------------------------------


def test_public_api_describes_and_joins(community):
    client = Client()
    token = tokens.make_invite(community)
    info = client.get("/api/v1/communities/join/", {"token": token})
    assert info.status_code == 200
    assert info.json()["name"] == "青年之家瑜伽课堂" and info.json()["charter_version"] == 2
    response = client.post(
        "/api/v1/communities/join/",
        {"token": token, "name": "张伟", "phone": "13812345678", "accept_charter": True},
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json() == {"outcome": "joined", "status": "active"}
    again = client.post(
        "/api/v1/communities/join/",
        {"token": token, "name": "张伟", "phone": "13812345678", "accept_charter": True},
        content_type="application/json",
    )
    assert again.status_code == 200 and again.json()["outcome"] == "already_member"
    assert CommunityMember.objects.get().source == "api"


def test_public_api_refusals(community):
    client = Client()
    token = tokens.make_invite(community)
    bad = client.post(
        "/api/v1/communities/join/",
        {"token": token, "name": "张伟", "phone": "123", "accept_charter": True},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "手机号" in bad.json()["phone"][0]
    assert client.get("/api/v1/communities/join/", {"token": "nope"}).status_code == 404
    old = tokens.make_invite(community, days=1, now=time.time() - 2 * 86400)
    assert client.get("/api/v1/communities/join/", {"token": old}).status_code == 410


def test_public_api_is_rate_limited(community, settings):
    settings.TUANJU = {
        **settings.TUANJU,
        "H5_RATE_LIMITS": {"join-ip": "2/10m", "h5-view-ip": "100/10m", "join-phone": "50/1h"},
    }
    client = Client(REMOTE_ADDR="10.0.3.1")
    token = tokens.make_invite(community)
    codes = [
        client.post(
            "/api/v1/communities/join/",
            {"token": token, "name": "张伟", "phone": f"1380000001{i}", "accept_charter": True},
            content_type="application/json",
        ).status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]


def test_a_charter_changed_while_the_page_was_open_is_shown_again(community):
    client = Client()
    url = url_for(community)
    client.get(url)
    actions.update_charter(community, text="一、文明发言。\n二、新增：活动请提前请假。")
    response = client.post(url, form(charter_version="2"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "公约已更新" in content and "新增：活动请提前请假" in content
    assert response.context["form"]["charter_version"].value() == "3"
    assert client.post(url, form(charter_version="3")).status_code == 302
