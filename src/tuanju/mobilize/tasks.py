"""Background tasks of the mobilization app (huey; see docs/decisions/0001-task-engine.md).

The tasks are thin: the state of a fan-out lives in the outbox (``Message``), so a task that is
lost or runs twice does no harm — ``send_messages_task`` claims before it sends, and
``sweep_task`` (every minute, on exactly one consumer) re-queues whatever a dead worker held.
"""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import actions, delivery, escalation
from .models import Directive


@db_task(retries=2, retry_delay=10)
def plan_task(directive_id: int) -> dict:
    return actions.run_plan(directive_id)


@db_task()
def send_messages_task(ids: list[int]) -> dict:
    return delivery.send_messages(ids)


@db_task()
def escalate_task(directive_id: int) -> int:
    directive = Directive.objects.select_related("unit").filter(pk=directive_id).first()
    if directive is None or not directive.is_live:
        return 0
    return escalation.escalate(directive)


@db_periodic_task(crontab(minute="*"))
def sweep_task() -> dict:
    return delivery.sweep()
