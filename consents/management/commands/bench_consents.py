"""Measure what the consent check costs: cold, warm in Redis, warm in memory, and in bulk.

Run against the real services (``make bench``): it creates its own users
(numbers +86170…, created once and reused) with a realistic mix of grants.
It prints figures; it asserts nothing.
"""

import statistics
import time

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from consents import selectors
from consents.cache import consent_cache
from consents.models import Channel, ConsentEvent, LedgerHead, Purpose
from consents.services import consent_grant

BENCH_PREFIX = "+86170"


class Command(BaseCommand):
    help = "Benchmark consent_is_given (cold, warm, bulk of 1,000 users) and print the figures."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=1000)
        parser.add_argument("--repeat", type=int, default=20000)

    def handle(self, *args, users, repeat, **options):
        if not consent_cache_available():
            raise CommandError("Set REDIS_URL: the benchmark measures the Redis-backed cache.")
        user_ids = self._bench_users(users)
        purpose = "personalisation"
        consent_cache._ensure_listener()
        deadline = time.monotonic() + 5
        while not consent_cache._live and time.monotonic() < deadline:
            time.sleep(0.01)
        if not consent_cache._live:
            raise CommandError("The consent-cache listener did not subscribe to Redis.")
        User = get_user_model()
        sample = list(User.objects.filter(pk__in=user_ids[:200]))

        # Cold: nothing cached anywhere, the answer comes from PostgreSQL.
        cold = []
        for user in sample:
            cache.delete_many(["consent:catalogue", f"consent:u:{user.pk}"])
            consent_cache.reset_local()
            start = time.perf_counter()
            selectors.consent_is_given(user=user, purpose=purpose)
            cold.append(time.perf_counter() - start)

        # Warm in Redis, process memory empty: one round trip.
        for user in sample:
            selectors.consent_is_given(user=user, purpose=purpose)
        redis_warm = []
        for user in sample:
            consent_cache._users.pop(user.pk, None)
            start = time.perf_counter()
            selectors.consent_is_given(user=user, purpose=purpose)
            redis_warm.append(time.perf_counter() - start)

        # Warm in process memory: the steady state.
        user = sample[0]
        selectors.consent_is_given(user=user, purpose=purpose)
        start = time.perf_counter()
        for _ in range(repeat):
            selectors.consent_is_given(user=user, purpose=purpose)
        warm = (time.perf_counter() - start) / repeat

        # Bulk of 1,000 users, cold and warm.
        bulk_ids = user_ids[:1000]
        cache.delete_many([f"consent:u:{u}" for u in bulk_ids] + ["consent:catalogue"])
        consent_cache.reset_local()
        start = time.perf_counter()
        answers = selectors.consents_given(user_ids=bulk_ids, purpose=purpose)
        bulk_cold = time.perf_counter() - start
        bulk_warm_runs = []
        for _ in range(20):
            start = time.perf_counter()
            selectors.consents_given(user_ids=bulk_ids, purpose=purpose)
            bulk_warm_runs.append(time.perf_counter() - start)

        given = sum(answers.values())
        self.stdout.write(
            f"consent check benchmark: {len(user_ids)} users ({given} of {len(bulk_ids)} "
            f"with '{purpose}' on), {Purpose.objects.count()} purposes, "
            f"{ConsentEvent.objects.count()} ledger events"
        )
        rows = [
            ("consent check, warm (process memory)", warm * 1e6, "µs", "≤ 50 µs", warm * 1e6 <= 50),
            (
                "consent check, warm in Redis only (median)",
                statistics.median(redis_warm) * 1e6,
                "µs",
                "",
                None,
            ),
            (
                "consent check, cold (median, from PostgreSQL)",
                statistics.median(cold) * 1e6,
                "µs",
                "",
                None,
            ),
            (
                "bulk check of 1,000 users, warm (median)",
                statistics.median(bulk_warm_runs) * 1e3,
                "ms",
                "≤ 20 ms",
                statistics.median(bulk_warm_runs) * 1e3 <= 20,
            ),
            (
                "bulk check of 1,000 users, cold",
                bulk_cold * 1e3,
                "ms",
                "≤ 20 ms",
                bulk_cold * 1e3 <= 20,
            ),
        ]
        for name, value, unit, goal, met in rows:
            verdict = "" if met is None else ("  met" if met else "  NOT MET")
            self.stdout.write(
                f"  {name}: {value:,.1f} {unit}" + (f"  (goal {goal}){verdict}" if goal else "")
            )

    def _bench_users(self, count: int) -> list[int]:
        User = get_user_model()
        existing = list(
            User.objects.filter(phone__startswith=BENCH_PREFIX)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if len(existing) >= count:
            return existing[:count]
        self.stdout.write(f"creating {count - len(existing)} benchmark users …")
        additional = list(Purpose.objects.filter(kind=Purpose.Kind.ADDITIONAL, is_active=True))
        LedgerHead.objects.get_or_create(id=1)
        for n in range(len(existing), count):
            with transaction.atomic():
                user = User.objects.create_user(phone=f"{BENCH_PREFIX}{n:08d}", phone_verified=True)
                # Every other user turns personalisation on; some turn on more.
                for i, purpose in enumerate(additional):
                    if (n + i) % (2 + i) == 0:
                        consent_grant(
                            user=user,
                            purpose=purpose,
                            channel=Channel.SELF_SERVICE,
                            separately_confirmed=True,
                        )
        return list(
            User.objects.filter(phone__startswith=BENCH_PREFIX)
            .order_by("pk")
            .values_list("pk", flat=True)
        )[:count]


def consent_cache_available() -> bool:
    from django.conf import settings

    return bool(settings.REDIS_URL)
