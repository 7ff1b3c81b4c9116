import json

from django.core.management.base import BaseCommand

from tuanju.appeals import actions


class Command(BaseCommand):
    help = "Send reminders of due and overdue appeals now and auto-close unrated replies (the worker does this every 30 minutes)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Also on a non-working day")

    def handle(self, *args, force, **options):
        counts = actions.send_reminders(force=force)
        counts["auto_closed"] = actions.auto_close()
        self.stdout.write(json.dumps(counts, ensure_ascii=False))
