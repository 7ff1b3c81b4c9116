import json

from django.core.management.base import BaseCommand

from tuanju.demo import generator


class Command(BaseCommand):
    help = "Build a deterministic synthetic world (demo: seconds; county; yiwu: the seed-004 scale)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(generator.SCALES), default="demo")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, scale, seed, **options):
        result = generator.build_world(scale, seed, echo=self.stdout.write)
        self.stdout.write(json.dumps(result, ensure_ascii=False))
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password {generator.DEMO_PASSWORD}):")
        for username, code, _role, full_name in generator.DEMO_STAFF:
            self.stdout.write(f"  {username:16} {full_name} [{code}]")
