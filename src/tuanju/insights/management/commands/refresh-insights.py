"""Recompute the dashboards' precomputed figures (and open the week's ledgers).

    tuanju refresh-insights                  # every unit, the last two weeks' flows
    tuanju refresh-insights --unit 330782    # one subtree and its ancestors
    tuanju refresh-insights --weeks 53       # backfill a year of weekly/monthly figures
    tuanju refresh-insights --evaluate       # also rank last week
"""

from django.core.management.base import BaseCommand, CommandError

from tuanju.hierarchy.models import OrgUnit
from tuanju.insights import aggregates, ledgers, scoring


class Command(BaseCommand):
    help = "Recompute the precomputed figures of the dashboards."

    def add_arguments(self, parser):
        parser.add_argument("--unit", help="code of the unit whose subtree to refresh (default: all)")
        parser.add_argument("--weeks", type=int, default=2, help="weeks of flows to recompute (default 2)")
        parser.add_argument("--evaluate", action="store_true", help="rank last week after the refresh")

    def handle(self, *args, **options):
        unit = None
        if options["unit"]:
            unit = OrgUnit.objects.filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(f"no unit with code {options['unit']}")
        run = aggregates.refresh(unit, trigger="command", weeks=max(1, options["weeks"]))
        opened = ledgers.open_ledgers(ledgers.current_week(), within=unit)
        self.stdout.write(
            f"{run.units} units in {run.seconds:.1f} s; {opened} ledgers opened"
            + (f"; not available: {', '.join(run.absent)}" if run.absent else "")
        )
        if options["evaluate"]:
            count = scoring.evaluate_all(ledgers.last_week())
            self.stdout.write(f"{count} evaluations")
