from django.core.management.base import BaseCommand, CommandError

from tuanju.accounts.models import User
from tuanju.hierarchy.models import OrgUnit
from tuanju.organizations.exporting import export_organizations
from tuanju.organizations.filters import filter_organizations
from tuanju.organizations.models import Organization


class Command(BaseCommand):
    help = "Export the organizations of a unit's subtree to xlsx (contact phones masked unless --unmask by a permitted user)."

    def add_arguments(self, parser):
        parser.add_argument("--unit", required=True)
        parser.add_argument("-o", "--output", required=True)
        parser.add_argument("--as-user", help="Export as this staff user (scope and masking follow the user)")
        parser.add_argument(
            "--unmask", action="store_true", help="Plain contact phones (permitted roles only)"
        )
        parser.add_argument("--type", help="Organization type name")
        parser.add_argument("--four-have", choices=["pass", "fail"])
        parser.add_argument("--state", choices=["active", "inactive", "all"], default="active")

    def handle(self, *args, unit, output, as_user, unmask, **options):
        home = OrgUnit.objects.filter(code=unit).first()
        if home is None:
            raise CommandError(f"No unit with code {unit}.")
        orgs = Organization.objects.in_subtree(home)
        actor = None
        if as_user:
            actor = User.objects.filter(username=as_user, is_active=True).first()
            if actor is None:
                raise CommandError(f"No active account {as_user}.")
            orgs = orgs.filter(pk__in=Organization.objects.visible_to(actor).values("pk"))
        elif unmask:
            raise CommandError("--unmask needs --as-user with a role that may see personal data.")
        filters = {
            "type": options.get("type") or "",
            "four_have": options.get("four_have") or "",
            "state": options["state"],
        }
        try:
            count = export_organizations(
                filter_organizations(orgs, filters), output, actor=actor, unmask=unmask, filters=filters
            )
        except PermissionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"exported {count} rows to {output}")
