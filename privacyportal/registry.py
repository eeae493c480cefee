"""The personal-data registry: the spine of access, deletion and retention.

Every app registers, for each kind of personal data it keeps, how to list it
for a user, how to erase or anonymise it for a user, and how to purge what has
outlived its storage period. The "my data" page, access copies, deletions and
retention jobs walk this registry, so one registration covers a new kind
everywhere, and ``tests/privacyportal/test_registry.py`` fails when a model
that refers to a user is neither registered nor exempted with a reason.

Each kind declares its fields once, with their labels and, for fields holding codes
(a status, a purpose), the labels of those codes (``DataField.choices``): the pages
show the labels, and the access copy writes them with the code beside them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
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


# The codes a field holds, with the labels the pages show for them: a ``TextChoices``
# class, a mapping, or a function returning a mapping in the active language (for codes
# kept in the database, such as purposes).
ChoiceSource = type[models.Choices] | Mapping[object, str | Promise] | Callable[[], Mapping]

YES_NO: Mapping[bool, Promise] = {True: _("yes"), False: _("no")}


@dataclass(frozen=True)
class DataField:
    """One field of a kind, declared once for every reader: the pages, the copy, the guide.

    A field with ``choices`` holds codes: the pages show their labels, and the access copy
    writes the label with the stored code beside it. A value that is not among the choices
    reads as itself (free text in a field that also holds codes, such as a sign-in method).
    ``is_file`` marks a file field (the avatar): the copy holds the file itself.
    """

    name: str
    label: str | Promise
    # How a value reads for its owner on the pages; set from ``choices`` when not given.
    display: Callable[[object], str] | None = None
    # Not compared: a mapping cannot be hashed, and the field is known by its name.
    choices: ChoiceSource | None = field(default=None, compare=False)
    is_file: bool = False

    def __post_init__(self) -> None:
        if self.is_file and "__" in self.name:
            raise ValueError(f"File field {self.name!r} must be a field of the kind's own model.")
        if self.choices is not None and self.display is None:
            object.__setattr__(self, "display", self.choice_label)

    @property
    def is_coded(self) -> bool:
        return self.choices is not None

    def choice_labels(self) -> dict[object, str]:
        """Every code of the field and its label, in the active language."""
        source = self.choices
        if source is None:
            return {}
        if isinstance(source, type) and issubclass(source, models.Choices):
            return {member.value: str(member.label) for member in source}
        if not isinstance(source, Mapping):
            source = source()
        return {code: str(label) for code, label in source.items()}

    def labeller(self) -> Callable[[object], str]:
        """``label(value)`` with the labels looked up once: for many rows in one language."""
        labels = self.choice_labels()

        def label(value) -> str:
            if value is None:
                return ""
            return labels.get(value, str(value))

        return label

    def choice_label(self, value) -> str:
        return self.labeller()(value)


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
    # The data categories (``consents.DataCategory`` codes: what recipients receive) that
    # erasing this kind touches: a partial deletion tells a recipient only of the ones it
    # received. None, not said: every category (telling too many beats telling none).
    erased_categories: tuple[str, ...] | None = None

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


@dataclass(frozen=True)
class PurgeTarget:
    """Something the daily purge enforces a period on that is not a kind's rows (an
    expired download, a sign-up never verified), registered by the app that owns it, so
    that ``privacyportal.retention`` runs it without knowing the app."""

    code: str
    label: str | Promise
    period: str | Promise
    action: str | Promise
    model_label: str
    # ``cutoff(now)``: what is older than this has outlived its period.
    cutoff: Callable[[datetime], datetime]
    # ``purge(cutoff, *, stats) -> rows``: in short batches, each recorded in ``stats``.
    purge: Callable[..., int]
    # ``count(cutoff) -> rows``: what ``purge`` would touch, for a dry run.
    count: Callable[[datetime], int]


class Registry:
    def __init__(self) -> None:
        self._kinds: dict[str, DataKind] = {}
        self._exemptions: dict[type[models.Model], Exemption] = {}
        self._purge_targets: dict[str, PurgeTarget] = {}
        self._hold_providers: list[Callable[[], models.QuerySet]] = []
        self._consent_check: Callable[..., bool] | None = None

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

    def register_purge(self, target: PurgeTarget) -> PurgeTarget:
        if target.code in self._purge_targets or target.code in self._kinds:
            raise ValueError(f"Purge target {target.code!r} is already registered.")
        self._purge_targets[target.code] = target
        return target

    def purge_targets(self) -> list[PurgeTarget]:
        return list(self._purge_targets.values())

    def provide_held_users(self, provider: Callable[[], models.QuerySet]) -> None:
        """``provider()`` gives the ids of the users under a legal hold (a ``values``
        queryset): the app keeping the holds registers it, so that erasures run by the
        kernel or by apps below it skip those users without importing that app."""
        self._hold_providers.append(provider)

    def without_held_users(self, users: models.QuerySet) -> models.QuerySet:
        """``users`` (a queryset of users) less everyone under a legal hold."""
        for provider in self._hold_providers:
            users = users.exclude(pk__in=provider())
        return users

    def provide_consent_check(self, check: Callable[..., bool]) -> None:
        """``check(user=, purpose=)`` says whether the user's data may be used for a purpose
        now, raising ``LookupError`` for a purpose that does not exist: the app keeping
        consents registers it, so that apps below it (a browsing record is kept only with
        consent) ask without importing that app."""
        self._consent_check = check

    def consent_given(self, *, user, purpose: str) -> bool | None:
        """Whether ``user`` consents to ``purpose`` now; None when no such purpose exists
        (or nothing keeps consents), which callers treat as a no they may want to log."""
        if self._consent_check is None:
            return None
        try:
            return self._consent_check(user=user, purpose=purpose)
        except LookupError:
            return None


registry = Registry()
