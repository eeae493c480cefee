"""Apply every storage period now, as the daily task does; --dry-run only counts."""

from django.core.management.base import BaseCommand, CommandError

from privacyportal.retention import purge_run


class Command(BaseCommand):
    help = (
        "Delete or anonymise what has outlived its storage period, expire old access copies "
        "and close stale unverified sign-ups; one line per target."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would go and change nothing (the run is recorded, flagged).",
        )
        parser.add_argument(
            "--only",
            action="append",
            metavar="TARGET",
            help="Limit the run to this kind code (or access_copies, unverified_signups); "
            "repeat for more.",
        )

    def handle(self, *args, dry_run, only, **options):
        results = purge_run(dry_run=dry_run, only=only)
        for result in results:
            self.stdout.write(result.line)
        failed = [result.target for result in results if result.error]
        if failed:
            raise CommandError(f"Purge failed for: {', '.join(failed)} (see the purge runs).")
