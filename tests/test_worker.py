"""The task engine end to end: a real huey consumer on the real Redis, writing to the test database."""

import json
import subprocess
import uuid
from urllib.parse import quote

import pytest
from django.db import connection

from tuanju.audit.models import AuditEvent
from tuanju.hierarchy.models import Level, OrgUnit

REDIS_URL = "redis://127.0.0.1:6379/15"

ENQUEUE = """
import json
from tuanju.hierarchy.tasks import load_divisions_task
result = load_divisions_task(["33"])
print("RESULT " + json.dumps(result.get(blocking=True, timeout=60), ensure_ascii=False))
"""


def redis_or_skip():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except (redis.exceptions.RedisError, OSError) as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return client


def subprocess_database_url() -> str:
    """A DATABASE_URL that points a subprocess at the database this test is using."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        # settings.py gives SQLite a file as test database, so another process can open it.
        assert settings["NAME"] and ":memory:" not in str(settings["NAME"])
        return "sqlite:///" + str(settings["NAME"])
    if connection.vendor == "postgresql":
        credentials = quote(settings["USER"] or "postgres", safe="")
        if settings.get("PASSWORD"):
            credentials += ":" + quote(settings["PASSWORD"], safe="")
        host = settings.get("HOST") or "127.0.0.1"
        port = settings.get("PORT") or 5432
        return f"postgres://{credentials}@{host}:{port}/{quote(settings['NAME'], safe='')}"
    pytest.fail(f"no DATABASE_URL recipe for {connection.vendor}")


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_load_divisions_task_runs_in_a_real_consumer(tuanju_bin, subprocess_env, tmp_path):
    redis_client = redis_or_skip()
    queue = f"tuanjutest{uuid.uuid4().hex}"  # huey keeps only the alphanumerics of a name
    env = {
        **subprocess_env,
        "REDIS_URL": REDIS_URL,
        "HUEY_QUEUE_NAME": queue,
        "HUEY_IMMEDIATE": "0",
        "DATABASE_URL": subprocess_database_url(),
    }
    assert not OrgUnit.objects.exists()

    log_path = tmp_path / "consumer.log"
    with open(log_path, "w") as log:
        consumer = subprocess.Popen(
            [tuanju_bin, "run_huey", "--workers", "1"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        enqueue = subprocess.run(
            [tuanju_bin, "shell", "-c", ENQUEUE],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        diagnostics = (
            f"stdout:\n{enqueue.stdout}\nstderr:\n{enqueue.stderr}\nconsumer:\n{log_path.read_text()}"
        )
        assert enqueue.returncode == 0, diagnostics
        assert consumer.poll() is None, "the consumer died\n" + diagnostics
        line = next(line for line in enqueue.stdout.splitlines() if line.startswith("RESULT "))
        result = json.loads(line.removeprefix("RESULT "))
    finally:
        consumer.terminate()
        try:
            consumer.wait(timeout=20)
        except subprocess.TimeoutExpired:
            consumer.kill()
            consumer.wait(timeout=10)
        for key in redis_client.scan_iter(match=f"*{queue}*"):
            redis_client.delete(key)
        redis_client.close()

    # The consumer wrote to this test's database, through its own connection.
    assert result["inserted"] > 90
    assert result["total"] == OrgUnit.objects.count()
    province = OrgUnit.objects.get(code="330000")
    assert province.name == "浙江省" and province.level == Level.PROVINCE
    yiwu = OrgUnit.objects.get(code="330782")
    assert yiwu.name == "义乌市" and yiwu.level == Level.COUNTY
    assert [u.code for u in yiwu.breadcrumb()] == ["000000", "330000", "330700", "330782"]
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
    assert AuditEvent.objects.filter(action="load", details__inserted=result["inserted"]).count() == 1
