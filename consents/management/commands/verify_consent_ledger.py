from django.core.management.base import BaseCommand, CommandError

from consents.models import ConsentEvent, LedgerHead


class Command(BaseCommand):
    help = (
        "Walk the whole consent ledger, recompute every event's hash and link, and name the "
        "first broken link. Exits with status 1 if the chain is broken."
    )

    def handle(self, *args, **options):
        previous_hash = LedgerHead.GENESIS
        previous_pk = None
        count = 0
        for event in ConsentEvent.objects.order_by("pk").iterator(chunk_size=5000):
            if event.previous_hash != previous_hash:
                before = f"event #{previous_pk}" if previous_pk else "the start of the ledger"
                raise CommandError(
                    f"Broken link at event #{event.pk}: it does not follow {before}. "
                    "An event between them was removed or inserted, or the earlier one was changed."
                )
            if event.compute_hash() != event.hash:
                raise CommandError(
                    f"Broken link at event #{event.pk}: its content no longer matches its hash "
                    "(it was changed after it was written)."
                )
            if event.client_details_match() is False:
                raise CommandError(
                    f"Broken link at event #{event.pk}: its IP address or device was changed "
                    "after it was written."
                )
            previous_hash, previous_pk = event.hash, event.pk
            count += 1
        head = LedgerHead.objects.filter(pk=1).first()
        if head is not None and (head.last_hash != previous_hash or head.length != count):
            raise CommandError(
                f"The ledger ends at event #{previous_pk} ({count} events) but its head records "
                f"{head.length} events ending at #{head.last_event_id}: events were removed from the end."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Consent ledger intact: {count} events, last hash {previous_hash}.")
        )
