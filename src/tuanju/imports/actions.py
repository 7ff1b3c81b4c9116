"""Running imports: from the command line directly, from the UI as a background job."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from tuanju.audit.actions import record
from tuanju.imports.engine import Importer, ImportSpec, Summary
from tuanju.imports.models import ImportJob
from tuanju.imports.reader import FileRejected

#: kind -> factory(unit) -> ImportSpec; each domain registers its import here.
SPECS: dict[str, Callable] = {}
ALLOWED_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".csv"}


def register(kind: str):
    def decorator(factory):
        SPECS[kind] = factory
        return factory

    return decorator


def spec_for(kind: str, unit) -> ImportSpec:
    if kind not in SPECS:
        raise ValueError(f"unknown import kind {kind!r}")
    return SPECS[kind](unit)


def run_file(
    kind: str,
    path: Path,
    unit,
    *,
    actor=None,
    dry_run=False,
    update_existing=False,
    report_path=None,
    progress=None,
) -> Summary:
    """Import ``path`` into ``unit`` and audit-log the outcome. Raises FileRejected for an unusable file."""
    importer = Importer(
        spec_for(kind, unit),
        dry_run=dry_run,
        update_existing=update_existing,
        report_path=report_path,
        progress=progress,
    )
    summary = importer.run(path)
    record(
        actor,
        "import",
        unit,
        unit=unit,
        details={"kind": kind, "file": Path(path).name, "dry_run": dry_run, **summary.as_dict()},
    )
    return summary


def _job_dir() -> Path:
    directory = Path(settings.TUANJU["IMPORT_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def create_job(kind: str, uploaded, unit, *, actor, dry_run=False, update_existing=False) -> ImportJob:
    """Store an uploaded file under var/imports and queue its import."""
    from tuanju.imports.tasks import run_import_job

    suffix = Path(uploaded.name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise FileRejected("只支持 .xlsx、.xls、.ods、.csv 文件")
    limit = settings.TUANJU["IMPORT_LIMITS"]["max_bytes"]
    if uploaded.size > limit:
        raise FileRejected(f"文件大小超过 {limit // 1048576} MB 的上限")
    token = uuid.uuid4().hex
    stored = _job_dir() / f"{token}{suffix}"
    with stored.open("wb") as fh:
        for chunk in uploaded.chunks():
            fh.write(chunk)
    job = ImportJob.objects.create(
        kind=kind,
        unit=unit,
        created_by=actor,
        original_name=Path(uploaded.name).name[:200],
        stored_path=str(stored),
        report_path=str(_job_dir() / f"{token}-report.xlsx"),
        dry_run=dry_run,
        update_existing=update_existing,
    )
    run_import_job(job.pk)
    return job


def execute_job(job_id: int) -> ImportJob:
    """The body of the background task: run the import and keep the job row up to date."""
    job = ImportJob.objects.select_related("unit", "created_by").get(pk=job_id)
    if job.finished:
        return job  # a retried task must not import twice
    job.status = ImportJob.Status.RUNNING
    job.save(update_fields=["status"])

    def progress(done: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(rows_done=done)

    try:
        job.rows_estimate = _estimate_rows(Path(job.stored_path))
        job.save(update_fields=["rows_estimate"])
        summary = run_file(
            job.kind,
            Path(job.stored_path),
            job.unit,
            actor=job.created_by,
            dry_run=job.dry_run,
            update_existing=job.update_existing,
            report_path=Path(job.report_path),
            progress=progress,
        )
    except FileRejected as exc:
        job.status, job.error = ImportJob.Status.FAILED, str(exc)[:500]
    else:
        job.status = ImportJob.Status.DONE
        job.summary = summary.as_dict() | {"conflicts": summary.conflicts}
        job.notes = summary.notes[:50]
        job.rows_done = summary.total
    job.finished_at = timezone.now()
    job.save()
    return job


def _estimate_rows(path: Path) -> int:
    """Rows in the file, for the progress bar (an estimate: title and blank rows count too)."""
    try:
        from python_calamine import CalamineWorkbook

        workbook = CalamineWorkbook.from_path(str(path))
        return sum(workbook.get_sheet_by_name(n).height for n in workbook.sheet_names)
    except Exception:  # CSV or an unreadable file: the import itself reports the real problem
        with path.open("rb") as fh:
            return sum(1 for _ in fh)
