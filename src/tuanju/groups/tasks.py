"""Background tasks of the groups app (huey; see docs/decisions/0001-task-engine.md)."""

from huey.contrib.djhuey import db_task

from tuanju.accounts.models import User
from tuanju.hierarchy.models import OrgUnit

from . import actions


@db_task(retries=1, retry_delay=30)
def place_people_task(unit_id: int, actor_id: int | None = None) -> dict:
    """Place a subtree's roster in its tower groups; idempotent, so a retry adds only what is missing."""
    unit = OrgUnit.objects.get(pk=unit_id)
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    result = actions.place_people(unit, actor=actor)
    return {"placed": result.placed, "already": result.already, "without_group": result.without_group}
