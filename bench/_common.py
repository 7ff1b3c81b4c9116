"""Shared helpers for the benchmarks: fresh databases per run, Django setup in a subprocess."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


def recreate_pg_database(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def database_env(db: str, workdir: Path) -> dict:
    env = dict(os.environ)
    env["TUANJU_VAR_DIR"] = str(workdir)
    env.pop("DATABASE_URL", None)
    if db == "postgresql":
        env["DATABASE_URL"] = recreate_pg_database("tuanju_bench")
    return env


def run_step(script: Path, args: list[str], env: dict) -> dict:
    """Run one step in a fresh interpreter; it prints one JSON line last."""
    out = subprocess.run(
        [sys.executable, str(script), *args], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tuanju.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timer(result: dict, key: str):
    started = time.perf_counter()
    yield
    result[key] = time.perf_counter() - started


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="tuanju-bench-"))
