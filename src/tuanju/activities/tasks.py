"""Background work of activities: settle the attendance of ended activities (huey periodic task).

Settlement decides attended / absent / excused and applies the communities' credit rule; it is
idempotent, so running often (or retrying) never counts an absence twice.
"""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from . import actions


@db_periodic_task(crontab(minute="*/10"))
@lock_task("activities-settle")
def settle_ended_activities() -> dict:
    results = actions.settle_due()
    return {
        "settled": len(results),
        "absent": sum(r.absent for r in results),
        "blocks": sum(r.blocks for r in results),
    }
