import json

from django.core.management.base import BaseCommand

from tuanju.people.keys import rotate_person_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt personal data under the first key of FIELD_ENCRYPTION_KEYS, in batches. "
        "Put the new key first and keep the old ones after it until this has run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument(
            "--reindex",
            action="store_true",
            help="Also recompute blind indexes (after changing BLIND_INDEX_KEY)",
        )

    def handle(self, *args, batch_size, reindex, **options):
        result = rotate_person_keys(batch_size=batch_size, reindex=reindex, echo=self.stderr.write)
        self.stdout.write(json.dumps(result))
