"""Staff accounts: the createstaff and token commands, login (with lockout), roles."""

import io

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from tuanju.accounts.models import Role, User
from tuanju.audit.models import AuditEvent
from tuanju.hierarchy.models import OrgUnit

NEW_PASSWORD = "Xin-Mima-2026!"


def createstaff(monkeypatch, *args, password=NEW_PASSWORD, **options):
    """Run `tuanju createstaff` with ``password`` on a (non-tty) stdin; returns its output."""
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    out = io.StringIO()
    call_command("createstaff", *args, stdout=out, **options)
    return out.getvalue()


# --- createstaff ------------------------------------------------------------------------


def test_createstaff_creates_a_bound_account(world, monkeypatch):
    output = createstaff(monkeypatch, "chouchen_cadre", unit="330782001", role="cadre", name="稠城干部")
    user = User.objects.get(username="chouchen_cadre")
    assert user.unit.code == "330782001"
    assert user.role == Role.CADRE
    assert user.first_name == "稠城干部"
    assert user.is_active and not user.is_staff and not user.is_superuser
    assert user.check_password(NEW_PASSWORD)
    assert "chouchen_cadre" in output and "330782001" in output
    # Bound means scoped: the account sees its town's subtree and nothing above it.
    visible = set(OrgUnit.objects.visible_to(user).values_list("code", flat=True))
    assert visible == {"330782001", "330782001001", "330782001001001", "330782001001001001"}
    event = AuditEvent.objects.get(action="create", object_type="accounts.user", object_id=str(user.pk))
    assert event.unit.code == "330782001"
    assert event.details == {"role": "cadre", "unit": "330782001"}


@pytest.mark.parametrize(
    "password",
    [
        "short1A!",  # too short
        "abcdefghijklmn",  # one character class only
        "12345678901234",  # numeric
        "password123456",  # common, two classes
        "chouchen_cadre1",  # too close to the username
        "",  # empty
    ],
)
def test_createstaff_rejects_weak_passwords(world, monkeypatch, password):
    with pytest.raises(CommandError):
        createstaff(monkeypatch, "chouchen_cadre", unit="330782001", role="cadre", password=password)
    assert not User.objects.filter(username="chouchen_cadre").exists()
    assert not AuditEvent.objects.filter(action="create", object_type="accounts.user").exists()


def test_createstaff_rejects_unknown_units(world, monkeypatch):
    with pytest.raises(CommandError, match="999999"):
        createstaff(monkeypatch, "lost", unit="999999", role="cadre")
    assert not User.objects.filter(username="lost").exists()


def test_createstaff_rejects_taken_usernames(staff, monkeypatch, staff_password):
    with pytest.raises(CommandError, match="yiwu_cadre"):
        createstaff(monkeypatch, "yiwu_cadre", unit="330783", role="admin")
    user = User.objects.get(username="yiwu_cadre")
    assert user.unit.code == "330782" and user.role == Role.CADRE
    assert user.check_password(staff_password)


def test_createstaff_rejects_unknown_roles(world, monkeypatch):
    with pytest.raises(CommandError):
        createstaff(monkeypatch, "boss", unit="330782", role="emperor")
    assert not User.objects.filter(username="boss").exists()


# --- token ------------------------------------------------------------------------------


def test_token_authenticates_against_the_api(staff, client):
    out = io.StringIO()
    call_command("token", "yiwu_cadre", stdout=out)
    key = out.getvalue().strip()
    assert len(key) == 40

    response = client.get("/api/v1/units/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    codes = [row["code"] for row in response.json()["results"]]
    assert codes and all(code.startswith("330782") for code in codes)
    assert "330783" not in codes

    # The same token on the second call; a wrong one is refused.
    again = io.StringIO()
    call_command("token", "yiwu_cadre", stdout=again)
    assert again.getvalue().strip() == key
    assert client.get("/api/v1/units/", HTTP_AUTHORIZATION="Token " + "0" * 40).status_code == 401
    assert (
        AuditEvent.objects.filter(action="token_issued", object_id=str(staff["yiwu_cadre"].pk)).count() == 2
    )


def test_token_refuses_unknown_and_inactive_accounts(staff):
    with pytest.raises(CommandError):
        call_command("token", "nobody_here", stdout=io.StringIO())
    User.objects.filter(username="yiwu_viewer").update(is_active=False)
    with pytest.raises(CommandError):
        call_command("token", "yiwu_viewer", stdout=io.StringIO())


# --- login ------------------------------------------------------------------------------


def test_login_page_is_chinese(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "登录" in html
    assert "用户名" in html and "密码" in html


def test_login_and_failed_login_are_audited(staff, client, staff_password):
    response = client.post(reverse("login"), {"username": "yiwu_cadre", "password": "wrong-password"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    failed = AuditEvent.objects.get(action="login_failed")
    assert failed.actor is None
    assert failed.details == {"username": "yiwu_cadre"}
    assert failed.ip == "127.0.0.1"

    response = client.post(reverse("login"), {"username": "yiwu_cadre", "password": staff_password})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff["yiwu_cadre"].pk)
    login = AuditEvent.objects.get(action="login")
    assert login.actor == staff["yiwu_cadre"]
    assert login.actor_name == "yiwu_cadre"
    assert login.unit.code == "330782"
    assert login.ip == "127.0.0.1"

    client.post(reverse("logout"))
    assert AuditEvent.objects.filter(action="logout", actor=staff["yiwu_cadre"]).count() == 1


def test_login_lockout_after_repeated_failures(staff, client, staff_password):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit >= 2
    # Failures below the limit do not lock; a success resets the counter.
    for _ in range(limit - 1):
        client.post(reverse("login"), {"username": "yiwu_cadre", "password": "wrong-password"})
    response = client.post(reverse("login"), {"username": "yiwu_cadre", "password": staff_password})
    assert response.status_code == 302
    client.post(reverse("logout"))

    logins = AuditEvent.objects.filter(action="login", actor=staff["yiwu_cadre"]).count()
    for _ in range(limit):
        client.post(reverse("login"), {"username": "yiwu_cadre", "password": "wrong-password"})
    response = client.post(reverse("login"), {"username": "yiwu_cadre", "password": staff_password})
    assert response.status_code == 429
    assert "accounts/locked_out.html" in [t.name for t in response.templates]
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="locked_out", details__username="yiwu_cadre").exists()
    assert AuditEvent.objects.filter(action="login", actor=staff["yiwu_cadre"]).count() == logins

    # Another account from the same address is not affected.
    response = client.post(reverse("login"), {"username": "yiwu_viewer", "password": staff_password})
    assert response.status_code == 302


# --- roles ------------------------------------------------------------------------------


def test_viewer_cannot_change_units(world, staff, client_for):
    client = client_for(staff["yiwu_viewer"])
    town = world["330782001"]
    # Reading is fine…
    assert client.get(reverse("hierarchy:detail", args=[town.pk])).status_code == 200
    # …changing is forbidden (the unit is in scope, so this is a 403, not a 404).
    before = OrgUnit.objects.count()
    for page, data in [
        ("create-child", {"name": "新社区"}),
        ("rename", {"name": "改名街道"}),
        ("move", {"code": "330782002"}),
        ("merge", {"code": "330782002"}),
    ]:
        assert client.get(reverse(f"hierarchy:{page}", args=[town.pk])).status_code == 403, page
        assert client.post(reverse(f"hierarchy:{page}", args=[town.pk]), data).status_code == 403, page
    town.refresh_from_db()
    assert town.name == "稠城街道"
    assert OrgUnit.objects.count() == before
    assert not AuditEvent.objects.filter(actor=staff["yiwu_viewer"]).exclude(action="login").exists()


def test_cadre_cannot_manage_units_either(world, staff, client_for):
    client = client_for(staff["yiwu_cadre"])
    town = world["330782001"]
    assert client.post(reverse("hierarchy:rename", args=[town.pk]), {"name": "改名街道"}).status_code == 403
    town.refresh_from_db()
    assert town.name == "稠城街道"


def test_viewer_cannot_write_through_the_api(world, staff, client_for):
    client = client_for(staff["yiwu_viewer"])
    town = world["330782001"]
    assert client.get(f"/api/v1/units/{town.pk}/").status_code == 200
    assert client.post("/api/v1/units/", {"name": "新", "code": "330782009"}).status_code == 403
    for method in (client.put, client.patch, client.delete):
        response = method(f"/api/v1/units/{town.pk}/", {"name": "改名"}, content_type="application/json")
        assert response.status_code == 403
    town.refresh_from_db()
    assert town.name == "稠城街道"
    # Writers get past the permission check, but the unit endpoint is read-only.
    writer = client_for(staff["yiwu_cadre"])
    response = writer.patch(f"/api/v1/units/{town.pk}/", {"name": "改名"}, content_type="application/json")
    assert response.status_code == 405
    town.refresh_from_db()
    assert town.name == "稠城街道"


def test_only_admins_see_the_unit_management_buttons(world, staff, client_for):
    town = world["330782001"]
    add_url = reverse("hierarchy:create-child", args=[town.pk])
    rename_url = reverse("hierarchy:rename", args=[town.pk])
    move_url = reverse("hierarchy:move", args=[town.pk])

    html = client_for(staff["yiwu_admin"]).get(reverse("hierarchy:detail", args=[town.pk])).content.decode()
    assert f'href="{add_url}"' in html and f'href="{rename_url}"' in html and f'href="{move_url}"' in html

    for role in ("yiwu_cadre", "yiwu_viewer"):
        html = client_for(staff[role]).get(reverse("hierarchy:detail", args=[town.pk])).content.decode()
        assert add_url not in html and rename_url not in html and move_url not in html, role


def test_staff_list_is_scoped_admin_only_and_searchable(staff, client_for, make_user, world):
    make_user("Wuning_Cadre", world["330783001"], Role.CADRE)
    client = client_for(staff["yiwu_admin"])
    response = client.get(reverse("accounts:staff-list"))
    assert response.status_code == 200
    listed = [u.username for u in response.context["page_obj"].object_list]
    assert listed == ["yiwu_admin", "yiwu_cadre", "yiwu_viewer"]

    for term in ("CADRE", "cadre", "Cadre"):
        response = client.get(reverse("accounts:staff-list"), {"q": term})
        assert [u.username for u in response.context["page_obj"].object_list] == ["yiwu_cadre"], term
    response = client.get(reverse("accounts:staff-list"), {"q": "wuning"})
    assert list(response.context["page_obj"].object_list) == []

    response = client_for(staff["city_admin"]).get(reverse("accounts:staff-list"), {"q": "wuning"})
    assert [u.username for u in response.context["page_obj"].object_list] == ["Wuning_Cadre"]

    for role in ("yiwu_cadre", "yiwu_viewer", "dongyang_cadre"):
        assert client_for(staff[role]).get(reverse("accounts:staff-list")).status_code == 403, role


def test_audit_ip_behind_a_proxy(staff, client, settings, staff_password):
    """Behind the proxy the first X-Forwarded-For entry is the client; a malformed one is not trusted."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    credentials = {"username": "yiwu_cadre", "password": staff_password}

    response = client.post(reverse("login"), credentials, HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1")
    assert response.status_code == 302
    assert AuditEvent.objects.get(action="login").ip == "203.0.113.9"
    client.post(reverse("logout"))

    # A garbage header must neither break the login (the column is an inet on PostgreSQL) nor be stored.
    response = client.post(
        reverse("login"), credentials, HTTP_X_FORWARDED_FOR="not-an-ip", REMOTE_ADDR="10.9.8.7"
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="login").values_list("ip", flat=True).first() == "10.9.8.7"
