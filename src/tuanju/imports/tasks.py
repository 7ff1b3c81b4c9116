from huey.contrib.djhuey import db_task

from tuanju.imports import actions


@db_task(retries=1, retry_delay=5)
def run_import_job(job_id: int) -> dict:
    job = actions.execute_job(job_id)
    return {"status": job.status, **job.summary}
