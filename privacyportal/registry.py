"""The personal-data registry: the spine of access, deletion and retention.

Every app registers, for each kind of personal data it keeps, how to list it
for a user, how to erase or anonymise it for a user, and how to purge what has
outlived its storage period. The "my data" page, access copies, deletions and
retention jobs walk this registry, so one registration covers a new kind
everywhere, and ``tests/privacyportal/test_registry.py`` fails when a model
that refers to a user is neither registered nor exempted with a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from django.db import models
from django.utils import timezone
from django.utils.functional import Promise


class ExpiryAction(StrEnum):
    DELETE = "delete"
    ANONYMISE = "anonymise"


@dataclass(frozen=True)
class DataField:
    name: str
    label: str | Promise
    # How a value reads for its owner; the raw value goes into exports.
    display: Callable[[object], str] | None = None


@dataclass(frozen=True)
class DataKind:
    code: str
    label: str | Promise
    description: str | Promise
    model: type[models.Model]
    # Lookup from the model to the user it belongs to ("user", "pk" for the user itself).
    user_lookup: str
    fields: tuple[DataField, ...]
    erase: Callable[..., int]
    retention: timedelta | None = None
    retention_note: str | Promise = ""
    expiry_action: ExpiryAction = ExpiryAction.DELETE
    # Field holding the time a row's storage period counts from.
    timestamp_field: str | None = None
    purge_expired: Callable[..., int] | None = None
    ordering: tuple[str, ...] = field(default=("-pk",))
    # The additional purpose this data is collected under, if any: withdrawing
    # that consent erases it (PIPL art. 47), in the withdrawal's transaction.
    collected_under: str | None = None

    def queryset_for_user(self, user) -> models.QuerySet:
        return self.model._default_manager.filter(**{self.user_lookup: user.pk}).order_by(
            *self.ordering
        )

    def rows_for_user(self, user) -> Iterator[dict]:
        names = [f.name for f in self.fields]
        yield from self.queryset_for_user(user).values(*names).iterator(chunk_size=2000)

    def expires_before(self, now: datetime | None = None) -> datetime | None:
        if self.retention is None:
            return None
        return (now or timezone.now()) - self.retention


@dataclass(frozen=True)
class Exemption:
    model: type[models.Model]
    reason: str


class Registry:
    def __init__(self) -> None:
        self._kinds: dict[str, DataKind] = {}
        self._exemptions: dict[type[models.Model], Exemption] = {}

    def register(self, kind: DataKind) -> DataKind:
        if kind.code in self._kinds:
            raise ValueError(f"Personal-data kind {kind.code!r} is already registered.")
        self._kinds[kind.code] = kind
        return kind

    def exempt(self, model: type[models.Model], *, reason: str) -> None:
        """Record why a model that refers to a user holds no personal data of that user."""
        self._exemptions[model] = Exemption(model=model, reason=reason)

    def kinds(self) -> list[DataKind]:
        return list(self._kinds.values())

    def get(self, code: str) -> DataKind:
        return self._kinds[code]

    def collected_under(self, purpose_code: str) -> list[DataKind]:
        return [kind for kind in self._kinds.values() if kind.collected_under == purpose_code]

    def covered_models(self) -> set[type[models.Model]]:
        return {kind.model for kind in self._kinds.values()} | set(self._exemptions)


registry = Registry()
