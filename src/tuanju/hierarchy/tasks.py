"""Background tasks of the hierarchy (huey; see docs/decisions/0001-task-engine.md)."""

from huey.contrib.djhuey import db_task

from tuanju.hierarchy import actions


@db_task(retries=2, retry_delay=10)
def load_divisions_task(province_codes: list[str] | None = None) -> dict:
    """Load the GB/T 2260 divisions off the request path; idempotent, so a retry is safe."""
    return actions.load_divisions(province_codes or None)
