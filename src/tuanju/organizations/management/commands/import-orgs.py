import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tuanju.hierarchy.models import OrgUnit
from tuanju.imports.actions import run_file
from tuanju.imports.reader import FileRejected


class Command(BaseCommand):
    help = "Import youth social organizations from a spreadsheet (xlsx/xls/ods/csv) into a unit; prints a JSON summary last."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--unit", required=True, help="Code of the unit the organizations belong to")
        parser.add_argument("--report", help="Write rejected rows with reasons to this .xlsx")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, write nothing")
        parser.add_argument(
            "--update-existing",
            action="store_true",
            help="Fill empty fields of organizations already registered",
        )

    def handle(self, *args, file, unit, report, dry_run, update_existing, **options):
        home = OrgUnit.objects.filter(code=unit).first()
        if home is None:
            raise CommandError(f"No unit with code {unit}.")
        try:
            summary = run_file(
                "organizations",
                Path(file),
                home,
                dry_run=dry_run,
                update_existing=update_existing,
                report_path=Path(report) if report else None,
            )
        except FileRejected as exc:
            raise CommandError(str(exc)) from exc
        for note in summary.notes:
            self.stderr.write(note)
        if summary.conflicts:
            self.stderr.write(
                f"{summary.conflicts} differences kept in the database's favour (see the report)"
            )
        sys.stdout.flush()
        self.stdout.write(summary.json_line())
