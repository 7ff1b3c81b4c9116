"""Production settings pass Django's deployment checks; the embedded defaults do not pretend to."""

import io
import secrets
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

PRODUCTION = {
    "DEBUG": "0",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_COOKIES": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "ALLOWED_HOSTS": "tuanju.example.org",
}


def check_deploy(tuanju_bin, env, cwd):
    return subprocess.run(
        [tuanju_bin, "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_check_deploy(tuanju_bin, subprocess_env, tmp_path):
    secret_key = secrets.token_urlsafe(64)
    assert len(secret_key) >= 50 and len(set(secret_key)) >= 5
    env = {
        **subprocess_env,
        **PRODUCTION,
        "SECRET_KEY": secret_key,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    }
    result = check_deploy(tuanju_bin, env, tmp_path)
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "no issues" in result.stdout
    assert "WARNINGS" not in result.stderr


def test_embedded_defaults_are_flagged_by_check_deploy(settings):
    """The control: without the production variables, the deployment checks do complain."""
    settings.SECRET_KEY = "django-insecure-tuanju-embedded-default-change-me"
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_HSTS_SECONDS = 0
    with pytest.raises(SystemCheckError) as raised:
        call_command("check", deploy=True, fail_level="WARNING", stdout=io.StringIO(), stderr=io.StringIO())
    for check in ("security.W009", "security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in str(raised.value), check
