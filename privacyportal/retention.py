"""Storage periods enforced (policy 5.1-5.2): what has outlived its period goes, in short batches.

``purge_run`` walks the personal-data registry: every kind with a storage period has
the rows older than it deleted (or anonymised, per the kind's ``expiry_action``)
by the kind's ``purge_expired``. The same run applies the purge targets the apps
register (``registry.register_purge``: access copies past their download date, sign-ups
whose number was never verified), without knowing those apps. Each target is recorded
as a ``PurgeRun`` row: what went, how long it took, and how long the longest transaction
held its locks.

Batches: every batch is its own short transaction, deleting a range of the kind's
indexed timestamp (``purge_in_batches``), so a purge never takes a table lock and
never holds one long transaction open, at a small cost in total time over one
unbatched ``DELETE`` (``make bench``: ``bench_purge`` measures both). Call ``purge_run``
outside ``transaction.atomic``: inside one, the batches become part of a single long
transaction.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    connections,
    models,
    transaction,
)
from django.db.models.deletion import Collector
from django.utils import timezone

from .models import PurgeRun
from .registry import registry

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000


# --- batches ------------------------------------------------------------------------------


@dataclass
class Batch:
    rows: int = 0


@dataclass
class BatchStats:
    """What the batches of one purge did: how many, how many rows, the longest transaction."""

    batches: int = 0
    rows: int = 0
    longest_ms: float = 0.0

    @contextmanager
    def batch(self, using: str = DEFAULT_DB_ALIAS, *, atomic: bool = True) -> Iterator[Batch]:
        """One transaction, timed from its start to its commit.

        ``atomic=False`` is for a batch that is a single statement: run outside
        ``transaction.atomic`` it is a transaction of its own, without the BEGIN and
        COMMIT round trips.
        """
        batch = Batch()
        started = time.perf_counter()
        if atomic:
            with transaction.atomic(using=using):
                yield batch
        else:
            yield batch
        elapsed = (time.perf_counter() - started) * 1000
        self.batches += 1
        self.rows += batch.rows
        self.longest_ms = max(self.longest_ms, elapsed)


@contextmanager
def relaxed_commits(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """PostgreSQL: commits in this block do not wait for their WAL to reach the disk.

    A purge commits once per batch; waiting for the disk at each of them made a large
    purge slower and its time erratic (``bench_purge``). After a crash the last fraction of a second of batches may be undone: the
    next run deletes those rows again, so only idempotent database work belongs here. The
    database stays consistent either way, and the next ordinary commit on the connection
    (the PurgeRun row) waits for everything before it too.
    """
    connection = connections[using]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('synchronous_commit'), "
            "set_config('synchronous_commit', 'off', false)"
        )
        previous = cursor.fetchone()[0]
    try:
        yield
    finally:
        # A broken connection takes the setting with it; never hide the original error.
        with suppress(DatabaseError, InterfaceError), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('synchronous_commit', %s, false)", [previous])


def purge_in_batches(
    queryset: models.QuerySet,
    *,
    batch_size: int = BATCH_SIZE,
    stats: BatchStats | None = None,
    order_by: str | None = None,
) -> int:
    """Delete every row of ``queryset`` a batch at a time; returns how many went.

    Every batch is its own short transaction; no table lock, no long transaction.

    ``order_by`` names an indexed, non-null field to walk the rows by (a kind's
    timestamp; the primary key if not given). A model nothing depends on (no cascade,
    no delete signal) goes by key ranges: an index read finds the key of the batch's last
    row (``LIMIT 1 OFFSET n-1``), and one ``DELETE … WHERE key > previous AND key <= that``
    removes the batch, without the ORM's collector, ids through Python or lookups by id,
    and without re-reading the dead index entries of earlier batches. A batch outgrows
    ``batch_size`` only by rows sharing its last key exactly.

    Any other model has its ids taken first and deleted through the ORM, so its cascades
    and signals run.
    """
    stats = stats if stats is not None else BatchStats()
    using = queryset.db
    queryset = queryset.order_by()
    key = order_by or queryset.model._meta.pk.name
    if not Collector(using=using, origin=queryset).can_fast_delete(queryset):
        return _purge_collected(queryset, batch_size, stats, key)
    with relaxed_commits(using):
        return _purge_by_key_ranges(queryset, batch_size, stats, key)


def _purge_by_key_ranges(queryset, batch_size: int, stats: BatchStats, key: str) -> int:
    try:
        sql = _KeyRangeSQL.of(queryset, key)
    except EmptyResultSet:
        return 0
    if sql is None:
        return _purge_by_key_ranges_orm(queryset, batch_size, stats, key)
    using = queryset.db
    total = 0
    last = None
    with connections[using].cursor() as cursor:
        while True:
            lower = [] if last is None else [last]
            # Read-only and outside the delete's transaction: the delete applies the
            # queryset's own conditions again, so nothing hangs on this read's snapshot.
            cursor.execute(*sql.upper_bound(lower, offset=batch_size - 1))
            upper = cursor.fetchone()
            with stats.batch(using, atomic=False) as batch:
                cursor.execute(*sql.delete(lower, [] if upper is None else [upper[0]]))
                batch.rows = cursor.rowcount
            total += batch.rows
            if upper is None:
                return total
            last = upper[0]


@dataclass(frozen=True)
class _KeyRangeSQL:
    """A key-range batch as SQL, with the queryset's conditions compiled once for the
    whole purge: building the statements through the ORM for every batch cost about a
    fifth of the purge's time."""

    table: str
    column: str
    where: str
    params: tuple

    @classmethod
    def of(cls, queryset, key: str) -> _KeyRangeSQL | None:
        """None for a queryset that joins other tables (the ORM writes each batch then).
        Raises EmptyResultSet for one that can match nothing."""
        query = queryset.query
        try:
            where, params = query.get_compiler(queryset.db).compile(query.where)
        except FullResultSet:
            where, params = "TRUE", ()
        if sum(1 for count in query.alias_refcount.values() if count) > 1:
            return None
        quote = connections[queryset.db].ops.quote_name
        table = quote(queryset.model._meta.db_table)
        field = queryset.model._meta.pk if key == "pk" else queryset.model._meta.get_field(key)
        column = f"{table}.{quote(field.column)}"
        return cls(table=table, column=column, where=f"({where})", params=tuple(params))

    def _condition(self, lower: list, upper: list) -> tuple[str, list]:
        parts = [self.where]
        if lower:
            parts.append(f"{self.column} > %s")
        if upper:
            parts.append(f"{self.column} <= %s")
        return " AND ".join(parts), [*self.params, *lower, *upper]

    # Django-compiled conditions and quoted identifiers only; every value is a parameter.

    def upper_bound(self, lower: list, *, offset: int) -> tuple[str, list]:
        condition, params = self._condition(lower, [])
        sql = f"SELECT {self.column} FROM {self.table} WHERE {condition} "  # noqa: S608
        return f"{sql}ORDER BY {self.column} LIMIT 1 OFFSET %s", [*params, offset]

    def delete(self, lower: list, upper: list) -> tuple[str, list]:
        condition, params = self._condition(lower, upper)
        return f"DELETE FROM {self.table} WHERE {condition}", params  # noqa: S608


def _purge_by_key_ranges_orm(queryset, batch_size: int, stats: BatchStats, key: str) -> int:
    using = queryset.db
    total = 0
    rest = queryset
    while True:
        upper = list(rest.order_by(key).values_list(key, flat=True)[batch_size - 1 : batch_size])
        rows = rest.filter(**{f"{key}__lte": upper[0]}) if upper else rest
        with stats.batch(using, atomic=False) as batch:
            batch.rows = rows._raw_delete(using)
        total += batch.rows
        if not upper:
            return total
        rest = queryset.filter(**{f"{key}__gt": upper[0]})


def _purge_collected(queryset, batch_size: int, stats: BatchStats, key: str) -> int:
    using = queryset.db
    model = queryset.model
    total = 0
    rest = queryset
    while True:
        with stats.batch(using) as batch:
            keyed = list(rest.order_by(key).values_list("pk", key)[:batch_size])
            if keyed:
                ids = [pk for pk, _ in keyed]
                _, per_model = model._base_manager.using(using).filter(pk__in=ids).delete()
                batch.rows = per_model.get(model._meta.label, 0)
        total += batch.rows
        if not keyed:
            return total
        # ``>=``: rows sharing the last key beyond this batch are not skipped.
        rest = queryset.filter(**{f"{key}__gte": keyed[-1][1]})


def anonymise_in_batches(
    queryset: models.QuerySet,
    *,
    values: dict,
    batch_size: int = BATCH_SIZE,
    stats: BatchStats | None = None,
) -> int:
    """Overwrite ``values`` on every row of ``queryset``, a batch of ids at a time.

    Walks the primary key upwards, so it ends even if ``queryset`` still matches a row
    once anonymised; filter such rows out anyway, or every run rewrites them.
    """
    stats = stats if stats is not None else BatchStats()
    model = queryset.model
    using = queryset.db
    queryset = queryset.order_by("pk")
    last = None
    total = 0
    while True:
        page = queryset if last is None else queryset.filter(pk__gt=last)
        ids = list(page.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return total
        with stats.batch(using) as batch:
            batch.rows = model._base_manager.using(using).filter(pk__in=ids).update(**values)
        total += batch.rows
        last = ids[-1]


# --- the run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeResult:
    target: str
    rows: int
    dry_run: bool
    duration_ms: int
    longest_batch_ms: int
    batches: int
    cutoff: datetime | None
    error: str = ""

    @property
    def line(self) -> str:
        verb = "would go" if self.dry_run else "went"
        text = f"{self.target}: {self.rows} rows {verb} ({self.duration_ms} ms)"
        return f"{text} FAILED: {self.error}" if self.error else text


@dataclass
class _Target:
    code: str
    cutoff: datetime | None
    purge: Callable[[BatchStats], int]
    count: Callable[[], int]
    stats: BatchStats = field(default_factory=BatchStats)


def _targets(now: datetime, batch_size: int) -> list[_Target]:
    targets = []
    for kind in registry.kinds():
        if kind.retention is None:
            continue
        cutoff = kind.expires_before(now)
        targets.append(
            _Target(
                code=kind.code,
                cutoff=cutoff,
                purge=lambda stats, kind=kind, cutoff=cutoff: _purge_kind(
                    kind, cutoff, batch_size, stats
                ),
                count=lambda kind=kind, cutoff=cutoff: kind.expired_queryset(cutoff).count(),
            )
        )
    for target in registry.purge_targets():
        cutoff = target.cutoff(now)
        targets.append(
            _Target(
                code=target.code,
                cutoff=cutoff,
                purge=lambda stats, target=target, cutoff=cutoff: target.purge(cutoff, stats=stats),
                count=lambda target=target, cutoff=cutoff: target.count(cutoff),
            )
        )
    return targets


def _purge_kind(kind, cutoff: datetime, batch_size: int, stats: BatchStats) -> int:
    if kind.purge_expired is None:
        raise LookupError(f"{kind.code} has a storage period but no purge_expired.")
    return kind.purge_expired(cutoff, batch_size=batch_size, stats=stats)


def purge_run(
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    only: Iterable[str] | None = None,
    batch_size: int = BATCH_SIZE,
) -> list[PurgeResult]:
    """Apply every storage period; one ``PurgeRun`` row and one result per target.

    A dry run counts what would go and changes nothing but its own ``PurgeRun`` rows
    (flagged ``dry_run``), so staff see what was checked. A target that fails is
    recorded with its error and the others still run; the caller decides what a
    failure means (the daily task raises, so Celery retries: every target is idempotent).
    """
    now = now or timezone.now()
    wanted = set(only) if only is not None else None
    run = uuid.uuid4()
    results = []
    for target in _targets(now, batch_size):
        if wanted is not None and target.code not in wanted:
            continue
        record = PurgeRun.objects.create(
            run=run, target=target.code, dry_run=dry_run, cutoff=target.cutoff
        )
        started = time.perf_counter()
        error = ""
        try:
            rows = target.count() if dry_run else target.purge(target.stats)
        except Exception as exc:
            logger.exception("Purge of %s failed", target.code)
            rows = target.stats.rows
            error = f"{type(exc).__name__}: {exc}"[:2000]
        duration_ms = round((time.perf_counter() - started) * 1000)
        longest_ms = round(target.stats.longest_ms)
        record.rows = rows
        record.batches = target.stats.batches
        record.finished_at = timezone.now()
        record.duration_ms = duration_ms
        record.longest_batch_ms = None if dry_run else longest_ms
        record.error = error
        record.save()
        results.append(
            PurgeResult(
                target=target.code,
                rows=rows,
                dry_run=dry_run,
                duration_ms=duration_ms,
                longest_batch_ms=longest_ms,
                batches=target.stats.batches,
                cutoff=target.cutoff,
                error=error,
            )
        )
    return results
