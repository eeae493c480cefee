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
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _


class ExpiryAction(StrEnum):
    """What happens to a row when its storage period ends (policy 5.1-5.2)."""

    DELETE = "delete"
    ANONYMISE = "anonymise"
    # Kept as the evidence the law asks for (e.g. how a request was answered), used for
    # nothing else. Said plainly rather than dressed up as anonymisation.
    RETAIN = "retain"

    @property
    def label(self) -> str:
        return str(_EXPIRY_ACTION_LABELS[self])


_EXPIRY_ACTION_LABELS = {
    ExpiryAction.DELETE: _("deleted"),
    ExpiryAction.ANONYMISE: _("anonymised"),
    ExpiryAction.RETAIN: _("kept as a record, used for nothing else"),
}


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
    # The storage period (policy 5.1-5.2), counted from ``timestamp_field``; None means
    # "while the account is open": the period ends with the account (``erase`` then
    # ``expiry_action``), and ``retention_note`` says so in the user's words.
    retention: timedelta | None = None
    retention_note: str | Promise = ""
    expiry_action: ExpiryAction = ExpiryAction.DELETE
    # Field holding the time a row's storage period counts from.
    timestamp_field: str | None = None
    # ``purge_expired(cutoff, *, batch_size, stats=None) -> rows``: applies
    # ``expiry_action`` to every row (of every user, restricted ones included) older
    # than ``cutoff``, in short batches (``privacyportal.retention``).
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

    def expired_queryset(self, cutoff: datetime) -> models.QuerySet:
        """Every row past its period, whoever it belongs to. The base manager, not the
        default one: rows hidden from ordinary queries (restricted) still expire."""
        return self.model._base_manager.filter(**{f"{self.timestamp_field}__lt": cutoff})

    @property
    def period_label(self) -> str:
        """The storage period in words, in the active language."""
        if self.retention is None:
            return gettext("while your account is open")
        days = self.retention.days
        if days and not self.retention.seconds:
            return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}
        hours = int(self.retention.total_seconds() // 3600)
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}

    @property
    def action_label(self) -> str:
        return ExpiryAction(self.expiry_action).label


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
