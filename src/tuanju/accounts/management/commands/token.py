from django.core.management.base import BaseCommand, CommandError

from tuanju.accounts import actions
from tuanju.accounts.models import User


class Command(BaseCommand):
    help = "Print the API token of a staff account (creating it if needed)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active account {username}.")
        self.stdout.write(actions.issue_token(user))
