"""Measure what the consent check costs: cold, warm in Redis, warm in memory, and in bulk.

Run against the real services (``make bench``): it uses the consent benchmark users
(``bench.data.consent_users``: numbers +86170…, created once and reused) with a realistic
mix of grants. It prints figures and adds them to the results file (``bench.results``);
it asserts nothing. The warm-in-Redis figure is the round trip that ``consents.cache``
puts process memory in front of (about 100 µs on the development machine).
"""

import statistics
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError

from bench.data import consent_users
from bench.results import Figure, report
from consents import selectors
from consents.cache import consent_cache
from consents.models import ConsentEvent, Purpose

BULK_COLD_RUNS = 5


class Command(BaseCommand):
    help = "Benchmark consent_is_given (cold, warm, bulk of 1,000 users) and print the figures."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=1000)
        parser.add_argument("--repeat", type=int, default=20000)

    def handle(self, *args, users, repeat, **options):
        if not settings.REDIS_URL:
            raise CommandError("Set REDIS_URL: the benchmark measures the Redis-backed cache.")
        user_ids = consent_users(self.stdout, users)
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

        # Bulk of 1,000 users, cold (nothing cached anywhere) and warm. One cold run is
        # a few milliseconds of a shared machine: the median of several says more.
        bulk_ids = user_ids[:1000]
        bulk_cold_runs = []
        for _ in range(BULK_COLD_RUNS):
            cache.delete_many([f"consent:u:{u}" for u in bulk_ids] + ["consent:catalogue"])
            consent_cache.reset_local()
            start = time.perf_counter()
            answers = selectors.consents_given(user_ids=bulk_ids, purpose=purpose)
            bulk_cold_runs.append(time.perf_counter() - start)
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
        redis_us = statistics.median(redis_warm) * 1e6
        cold_us = statistics.median(cold) * 1e6
        bulk_warm_ms = statistics.median(bulk_warm_runs) * 1e3
        bulk_cold_ms = statistics.median(bulk_cold_runs) * 1e3
        bulk = "bulk consent check of 1,000 users"
        report(
            self.stdout,
            [
                Figure("consent check, warm (process memory)", warm * 1e6, "µs", "<= 50"),
                Figure("consent check, warm in Redis only (median)", redis_us, "µs"),
                Figure("consent check, cold from PostgreSQL (median)", cold_us, "µs"),
                Figure(f"{bulk}, warm (median)", bulk_warm_ms, "ms", "<= 20"),
                Figure(f"{bulk}, cold (median)", bulk_cold_ms, "ms", "<= 20"),
            ],
        )
