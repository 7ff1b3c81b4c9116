import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tuanju.hierarchy.models import OrgUnit
from tuanju.imports.actions import run_file
from tuanju.imports.reader import FileRejected


class Command(BaseCommand):
    help = (
        "Import a 12345 hotline work-order export (xlsx/xls/ods/csv); de-duplicated by 工单编号. "
        "Prints a JSON summary last."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--unit",
            help="Code of the receiving unit; 所属区域 is resolved below it (without it, in the whole tree)",
        )
        parser.add_argument("--report", help="Write rejected rows with reasons to this .xlsx")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, write nothing")

    def handle(self, *args, file, unit, report, dry_run, **options):
        home = None
        if unit:
            home = OrgUnit.objects.filter(code=unit).first()
            if home is None:
                raise CommandError(f"No unit with code {unit}.")
        try:
            summary = run_file(
                "hotline",
                Path(file),
                home,
                dry_run=dry_run,
                report_path=Path(report) if report else None,
            )
        except FileRejected as exc:
            raise CommandError(str(exc)) from exc
        for note in summary.notes:
            self.stderr.write(note)
        if summary.conflicts:
            self.stderr.write(f"{summary.conflicts} notes on rows kept (see the report)")
        sys.stdout.flush()
        self.stdout.write(summary.json_line())
