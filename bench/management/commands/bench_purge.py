"""Measure the storage-period purge on 1,000,000 expired browsing records (PostgreSQL).

Run against the real services (``make bench``). Four benchmark users (+8617200000000 …
+8617200000003) are created once and reused. Each run:

1. inserts the expired rows (``INSERT … SELECT generate_series``, past the 180-day period)
   beside 20,000 rows still within it, then VACUUM ANALYZE, and times the real purge
   (``purge_run`` for ``browsing_records``: batches of 5,000, each its own transaction),
   with the longest single batch transaction;
2. inserts the same rows again, VACUUM ANALYZE, and times one raw
   ``DELETE FROM accounts_browsingrecord WHERE occurred_at < %s``: the floor a batched
   purge is compared with (it is one long transaction, which the purge must never be).

It reports figures against their goals (``bench.results``); it asserts nothing.

Figures from the development machine, for scale: the 1,000,000 rows went in 200
transactions of 5,000, the longest a few milliseconds, in about 1.3 times the time of
the unbatched ``DELETE``. Before ``retention.relaxed_commits``, waiting for the WAL to
reach the disk at every batch commit made the purge slower and erratic (0.6-1.0 s
against 0.5-0.6 s).
"""

import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.models import BrowsingRecord
from bench.results import Figure, report
from privacyportal.registry import registry
from privacyportal.retention import BATCH_SIZE, purge_run

BENCH_PREFIX = "+861720000000"
BENCH_USERS = 4
IN_PERIOD_ROWS = 20_000
GOAL_RATIO = "<= 1.5"
GOAL_LONGEST_MS = "<= 1000"

INSERT = """
INSERT INTO accounts_browsingrecord (user_id, kind, text, path, occurred_at, source)
SELECT (%(users)s::bigint[])[1 + g %% %(user_count)s],
       CASE WHEN g %% 3 = 0 THEN 'view' ELSE 'search' END,
       CASE WHEN g %% 3 = 0 THEN '隐私政策：您的权利' ELSE 'bench query ' || g END,
       CASE WHEN g %% 3 = 0 THEN '/help/topic-' || (g %% 50) || '/' ELSE '' END,
       %(newest)s - g * %(step)s,
       ''
FROM generate_series(1, %(rows)s) AS g
"""


class Command(BaseCommand):
    help = "Benchmark purging 1,000,000 expired browsing records and print the figures."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args, rows, batch_size, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The purge benchmark runs on PostgreSQL (set DATABASE_URL).")
        users = self._bench_users()
        now = timezone.now()
        cutoff = registry.get("browsing_records").expires_before(now)
        # Every expired row a day or more past the period; in-period ones a day or more inside.
        expired_newest = cutoff - timedelta(days=1)
        self._clear(users)
        self._insert(users, IN_PERIOD_ROWS, newest=now - timedelta(minutes=1), span_days=178)
        self.stdout.write(
            f"purge benchmark: {rows:,} expired browsing records of {len(users)} users, "
            f"{IN_PERIOD_ROWS:,} within their period, batches of {batch_size:,}"
        )

        insert_seconds = self._insert(users, rows, newest=expired_newest, span_days=365)
        self._vacuum()
        started = time.perf_counter()
        (result,) = purge_run(now=now, only=["browsing_records"], batch_size=batch_size)
        purge_seconds = time.perf_counter() - started
        if result.error:
            raise CommandError(f"The purge failed: {result.error}")
        kept_after_purge = self._count(users)

        self._insert(users, rows, newest=expired_newest, span_days=365)
        self._vacuum()
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM accounts_browsingrecord WHERE occurred_at < %s", [cutoff])
            raw_rows = cursor.rowcount
        raw_seconds = time.perf_counter() - started
        kept_after_raw = self._count(users)

        ratio = purge_seconds / raw_seconds if raw_seconds else float("inf")
        kept = f"purge: rows within their period kept (of {IN_PERIOD_ROWS:,})"
        report(
            self.stdout,
            [
                Figure(f"purge of {result.rows:,} rows: time", purge_seconds, "s"),
                Figure(f"purge: raw DELETE of the same {raw_rows:,} rows: time", raw_seconds, "s"),
                Figure("purge ÷ raw DELETE, time", ratio, "ratio", GOAL_RATIO),
                Figure(
                    f"purge: longest transaction (of {result.batches:,})",
                    result.longest_batch_ms,
                    "ms",
                    GOAL_LONGEST_MS,
                    ndigits=0,
                ),
                Figure(f"{kept}, after the purge", kept_after_purge, "rows"),
                Figure(f"{kept}, after the raw DELETE", kept_after_raw, "rows"),
                Figure(f"purge: inserting {rows:,} rows (reference)", insert_seconds, "s"),
            ],
        )
        self._clear(users)

    def _bench_users(self) -> list[int]:
        User = get_user_model()
        ids = []
        with transaction.atomic():
            for n in range(BENCH_USERS):
                user, _ = User.objects.get_or_create(
                    phone=f"{BENCH_PREFIX}{n}", defaults={"phone_verified": True}
                )
                ids.append(user.pk)
        return ids

    def _insert(self, users, rows: int, *, newest, span_days: int) -> float:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                INSERT,
                {
                    "users": users,
                    "user_count": len(users),
                    "newest": newest,
                    "step": timedelta(days=span_days) / rows,
                    "rows": rows,
                },
            )
        return time.perf_counter() - started

    def _vacuum(self) -> None:
        # Both measurements start alike: no dead rows, fresh statistics, and a checkpoint
        # just behind them, so each pays the same full-page images in the WAL.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE accounts_browsingrecord")
            try:
                with transaction.atomic():
                    cursor.execute("CHECKPOINT")
            except DatabaseError:
                pass  # CHECKPOINT needs a superuser (or pg_checkpoint); the figures are noisier.

    def _count(self, users) -> int:
        return BrowsingRecord.objects.filter(user_id__in=users).count()

    def _clear(self, users) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM accounts_browsingrecord WHERE user_id = ANY(%s)", [users])
        self._vacuum()
