"""Settle the attendance of every activity that ended long enough ago (what the periodic task does).

tuanju settle-activities
"""

from django.core.management.base import BaseCommand

from tuanju.activities import actions


class Command(BaseCommand):
    help = "Settle attendance (absences, credit rule) of ended activities."

    def handle(self, *args, **options):
        results = actions.settle_due()
        for r in results:
            self.stdout.write(
                f"{r.activity.pk} {r.activity.title}: {r.attended} attended, {r.absent} absent, "
                f"{r.excused} excused, {r.blocks} blocks"
            )
        self.stdout.write(self.style.SUCCESS(f"{len(results)} activities settled"))
