"""The last lines of ``make bench``: how many figures met their goal, and which did not.

It reads the results file the benchmark commands wrote (``bench.results``).
A missed goal is a result, not an error: the exit status is 0 whatever the figures say.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from bench.results import results_path


class Command(BaseCommand):
    help = "Summarise the benchmark results file: goals met, goals not met."

    def handle(self, *args, **options):
        path = results_path()
        if not path.exists():
            raise CommandError(f"No benchmark results at {path}.")
        rows = json.loads(path.read_text())
        met = [row for row in rows if row["met"] is True]
        missed = [row for row in rows if row["met"] is False]
        self.stdout.write(
            f"{len(rows)} figures in {path}: {len(met)} goals met, {len(missed)} not met, "
            f"{len(rows) - len(met) - len(missed)} for reference"
        )
        for row in missed:
            self.stdout.write(
                f"  NOT MET: {row['name']}: {row['value']:,} {row['unit']} (goal {row['goal']})"
            )
