import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tuanju.accounts import actions
from tuanju.accounts.models import Role, User
from tuanju.hierarchy.models import OrgUnit


class Command(BaseCommand):
    help = "Create a staff account bound to a unit. The password is read from stdin (or prompted for)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--unit", required=True, help="Code of the unit the account is bound to")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--name", default="", help="Full name shown in the UI")

    def _password(self) -> str:
        if not sys.stdin.isatty():
            return sys.stdin.readline().rstrip("\n")
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        return first

    def handle(self, *args, username, unit, role, name, **options):
        home = OrgUnit.objects.filter(code=unit).first()
        if home is None:
            raise CommandError(f"No unit with code {unit}.")
        if User.objects.filter(username=username).exists():
            raise CommandError(f"The username {username} is taken.")
        try:
            user = actions.create_staff(
                username=username, password=self._password(), unit=home, role=role, full_name=name
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"created {user.username} ({user.get_role_display()}) at {home.name} [{home.code}]")
