import json

from django.core.management.base import BaseCommand, CommandError

from tuanju.accounts.models import User
from tuanju.groups import actions
from tuanju.groups.coverage import coverage
from tuanju.groups.models import ChatGroup
from tuanju.hierarchy.models import OrgUnit


class Command(BaseCommand):
    help = (
        "Build a tower group for every tier-1/2/3 unit below a unit that has none (idempotent), "
        "optionally place the roster in them; prints a JSON summary last."
    )

    def add_arguments(self, parser):
        parser.add_argument("--unit", required=True, help="Code of the unit whose subtree to build")
        parser.add_argument(
            "--place", action="store_true", help="Also put the roster's people in their groups"
        )
        parser.add_argument(
            "--recount", action="store_true", help="Recompute the group counters from the rows"
        )
        parser.add_argument("--actor", help="Username recorded in the audit log")

    def handle(self, *args, unit, place, recount, actor, **options):
        home = OrgUnit.objects.filter(code=unit).first()
        if home is None:
            raise CommandError(f"No unit with code {unit}.")
        user = None
        if actor:
            user = User.objects.filter(username=actor).first()
            if user is None:
                raise CommandError(f"No staff account {actor}.")
        built = actions.build_towers(home, actor=user)
        self.stderr.write(
            f"{home.name}: {built.created} groups built, {built.existing} existed, "
            f"{built.relinked} re-linked in {built.seconds:.2f} s"
        )
        summary = {"unit": home.code, "build": built.__dict__}
        if place:
            placed = actions.place_people(home, actor=user)
            self.stderr.write(
                f"{placed.placed} people placed ({placed.already} already, "
                f"{placed.without_group} above the tower levels) in {placed.seconds:.2f} s"
            )
            summary["place"] = placed.__dict__
        if recount:
            summary["recounted"] = actions.recount_groups(
                ChatGroup.objects.filter(unit__path__startswith=home.path)
            )
        summary["coverage"] = coverage(home).total.as_dict()
        self.stdout.write(json.dumps(summary, ensure_ascii=False, default=str))
