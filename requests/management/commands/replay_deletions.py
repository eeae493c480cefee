from django.core.management.base import BaseCommand

from requests.tombstones import all_tombstones, replay


class Command(BaseCommand):
    help = (
        "Re-apply every recorded deletion (tombstones in the database and in the journal). "
        "Run it after restoring a database backup, before the portal takes traffic. "
        "Idempotent: a second run erases nothing more."
    )

    def handle(self, *args, **options):
        tombstones = all_tombstones()
        total = 0
        for tombstone in tombstones:
            erased = {code: n for code, n in replay(tombstone).items() if n}
            total += sum(erased.values())
            if erased:
                details = ", ".join(f"{code}: {n}" for code, n in sorted(erased.items()))
                self.stdout.write(
                    f"request {tombstone.request_reference} (user {tombstone.user_id}): {details}"
                )
        self.stdout.write(
            self.style.SUCCESS(f"Replayed {len(tombstones)} deletions; {total} rows erased again.")
        )
