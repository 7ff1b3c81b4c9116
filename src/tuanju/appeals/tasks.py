"""Background work of appeals: reminders of due and overdue work orders, auto-closing unrated replies.

The periodic task runs every 30 minutes on the huey consumer (``tuanju run_huey``); each notice is
recorded once per appeal, recipient and day, so running often (or retrying) never sends twice.
"""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from tuanju.appeals import actions


@db_periodic_task(crontab(minute="*/30"))
@lock_task("appeal-reminders")
def appeal_reminders() -> dict:
    counts = actions.send_reminders()
    counts["auto_closed"] = actions.auto_close()
    return counts


@db_task(retries=2, retry_delay=60)
def send_reminders_now(force: bool = False) -> dict:
    return actions.send_reminders(force=force)
