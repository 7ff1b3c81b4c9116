from django.core.management.base import BaseCommand, CommandError

from tuanju.accounts.models import User
from tuanju.hierarchy.models import OrgUnit
from tuanju.people.exporting import export_roster
from tuanju.people.filters import filter_people
from tuanju.people.models import Person


class Command(BaseCommand):
    help = "Export the roster of a unit's subtree to a streaming xlsx (masked unless --unmask by a permitted user)."

    def add_arguments(self, parser):
        parser.add_argument("--unit", required=True)
        parser.add_argument("-o", "--output", required=True)
        parser.add_argument("--as-user", help="Export as this staff user (scope and masking follow the user)")
        parser.add_argument(
            "--unmask", action="store_true", help="Plain resident IDs and phones (permitted roles only)"
        )
        parser.add_argument("--category", help="Category name")
        parser.add_argument("--political-status")
        parser.add_argument("--backbone", action="store_true")
        parser.add_argument("--q", help="Search term (name, pinyin initials, last 4 phone digits, exact ID)")
        parser.add_argument("--min-age", type=int)
        parser.add_argument("--max-age", type=int)

    def handle(self, *args, unit, output, as_user, unmask, **options):
        home = OrgUnit.objects.filter(code=unit).first()
        if home is None:
            raise CommandError(f"No unit with code {unit}.")
        actor = None
        people = Person.objects.in_subtree(home)
        if as_user:
            actor = User.objects.filter(username=as_user, is_active=True).first()
            if actor is None:
                raise CommandError(f"No active account {as_user}.")
            people = people & Person.objects.visible_to(actor)
        elif unmask:
            raise CommandError("--unmask needs --as-user with a role that may see personal data.")
        filters = {
            "category": options.get("category") or "",
            "political_status": options.get("political_status") or "",
            "backbone": "1" if options.get("backbone") else "",
            "q": options.get("q") or "",
            "min_age": options.get("min_age"),
            "max_age": options.get("max_age"),
        }
        people = filter_people(people, filters)
        try:
            count = export_roster(people, output, actor=actor or _Operator(), unmask=unmask, filters=filters)
        except PermissionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"exported {count} rows to {output}")


class _Operator:
    """The shell operator exporting without a staff account: masked output only."""

    is_authenticated = False
    can_unmask = False
