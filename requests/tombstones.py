"""Deletion tombstones, in the database and in a journal outside it.

A restore from a backup taken before a deletion brings the erased rows back and
loses the tombstone row too. So every tombstone is also appended, after commit,
to a JSON-lines journal (``TOMBSTONE_JOURNAL``) that must live outside the
database's backups; ``manage.py replay_deletions`` reads both.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.services import user_close
from privacyportal.registry import registry
from privacyportal.services import audit_record

from .audit import AuditAction
from .models import DeletionTombstone


@dataclass(frozen=True)
class Tombstone:
    user_id: int
    request_reference: str
    whole_account: bool
    kinds: tuple[str, ...]
    erased_at: str


def journal_append(tombstone: DeletionTombstone) -> None:
    """Append one line and fsync; called after the deletion committed."""
    path = Path(settings.TOMBSTONE_JOURNAL)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(
        {
            "user_id": tombstone.user_id,
            "request": str(tombstone.request.reference),
            "whole_account": tombstone.whole_account,
            "kinds": tombstone.kinds,
            "erased_at": tombstone.erased_at.isoformat(),
        },
        sort_keys=True,
    )
    with open(path, "a", encoding="utf-8") as journal:
        journal.write(line + "\n")
        journal.flush()
        os.fsync(journal.fileno())


def all_tombstones() -> list[Tombstone]:
    """Tombstones from the database and the journal, each deletion once, oldest first."""
    found: dict[str, Tombstone] = {}
    for row in DeletionTombstone.objects.select_related("request").order_by("erased_at"):
        found[str(row.request.reference)] = Tombstone(
            row.user_id,
            str(row.request.reference),
            row.whole_account,
            tuple(row.kinds),
            row.erased_at.isoformat(),
        )
    path = Path(settings.TOMBSTONE_JOURNAL)
    if path.exists():
        with open(path, encoding="utf-8") as journal:
            for line in journal:
                if not line.strip():
                    continue
                entry = json.loads(line)
                found.setdefault(
                    entry["request"],
                    Tombstone(
                        entry["user_id"],
                        entry["request"],
                        entry["whole_account"],
                        tuple(entry["kinds"]),
                        entry["erased_at"],
                    ),
                )
    return sorted(found.values(), key=lambda t: t.erased_at)


@transaction.atomic
def replay(tombstone: Tombstone) -> dict[str, int]:
    """Erase again what the deletion erased; what is already gone counts 0 (idempotent).

    A replay that erased something (rows a restore brought back) writes its audit row, by
    no one (``manage.py replay_deletions``); one that found everything gone records nothing.
    """
    user = get_user_model().objects.select_for_update().filter(pk=tombstone.user_id).first()
    if user is None:
        return {}
    known = {kind.code: kind for kind in registry.kinds()}
    codes = list(known) if tombstone.whole_account else [c for c in tombstone.kinds if c in known]
    erased = {code: known[code].erase(user) for code in codes}
    if tombstone.whole_account and user.closed_at is None:
        user_close(user=user)
        erased["account_closed"] = 1
    if any(erased.values()):
        audit_record(
            actor=None,
            action=AuditAction.DELETION_REPLAYED,
            target=user,
            user=user,
            request=tombstone.request_reference,
            erased_at=tombstone.erased_at,
            erased={code: count for code, count in erased.items() if count},
        )
    return erased
