"""Background work of the insight app (huey; docs/decisions/0001-task-engine.md).

* every 30 minutes: the figures of every unit (``aggregates.refresh``) and this week's ledgers;
* every night: last week's ledgers re-read, the week's evaluation, the monthly window;
* every hour: task reminders (idempotent per assignment, kind and day).

On demand: ``refresh_unit_task`` (the dashboard's Refresh button) recomputes one subtree and its
ancestors. The management command ``tuanju refresh-insights`` does the same from a shell.
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from tuanju.hierarchy.models import OrgUnit

from . import actions, aggregates, ledgers, scoring


@db_periodic_task(crontab(minute="*/30"))
@lock_task("insights-refresh")
def refresh_figures() -> dict:
    run = aggregates.refresh(None, trigger="periodic")
    opened = ledgers.open_ledgers(ledgers.current_week())
    return {"units": run.units, "seconds": run.seconds, "ledgers_opened": opened}


@db_periodic_task(crontab(minute="40", hour="0"))
@lock_task("insights-nightly")
def nightly() -> dict:
    """Last week's figures are final once Sunday is over: re-read them into its ledgers, rank."""
    last = ledgers.last_week()
    opened = ledgers.open_ledgers(last)
    evaluated = scoring.evaluate_all(last)
    return {"ledgers_opened": opened, "evaluations": evaluated}


@db_periodic_task(crontab(minute="5"))
@lock_task("insights-reminders")
def task_reminders() -> dict:
    return actions.send_task_reminders()


@db_task(retries=1, retry_delay=30)
def refresh_unit_task(unit_id: int, trigger: str = "manual") -> dict:
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None:
        return {}
    run = aggregates.refresh(unit, trigger=trigger)
    ledgers.open_ledgers(ledgers.current_week(), within=unit)
    return {"units": run.units, "seconds": run.seconds}
