"""Reads for the signed-in user's pages; each takes the user and returns only what is theirs."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import Permission
from django.db.models import Count, Q, QuerySet, Window
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import pgettext_lazy

from privacyportal.registry import DataKind, registry

from .models import BrowsingRecord, SecurityEvent, User
from .useragent import device_from

MY_DATA_ROWS_SHOWN = 50
# A fingerprint is told apart from others by its first characters; all 64 are on demand.
HASH_SHOWN = 10
# More columns than the page's width holds as a table (in Chinese, six already squeeze
# a request's text and our answer): those rows are shown as cards.
WIDE_TABLE_COLUMNS = 5


def security_events_for_user(*, user: User) -> QuerySet[SecurityEvent]:
    return SecurityEvent.objects.filter(user=user).order_by("-occurred_at", "-pk")


def with_devices(events) -> list[SecurityEvent]:
    """The events, each with ``device``: its user agent as browser and system."""
    events = list(events)
    for event in events:
        event.device = device_from(event.user_agent)
    return events


@dataclass(frozen=True)
class Cell:
    """One value on "My data": the text shown and, for a long value, the full one on demand."""

    text: str
    full: str = ""
    # Shown in a fixed-width font: a fingerprint, compared character by character.
    is_code: bool = False

    def __str__(self) -> str:
        return self.text


def _cell(name: str, text: str) -> Cell:
    # The registry gives values as text; what a field holds is told by its name, the
    # same in every app (``user_agent`` for a device, ``…hash`` for a fingerprint).
    if name.endswith("user_agent") and text:
        return Cell(text=device_from(text).summary, full=text)
    if name.endswith("hash") and len(text) > HASH_SHOWN:
        return Cell(text=text[:HASH_SHOWN] + "…", full=text, is_code=True)
    return Cell(text=text)


@dataclass(frozen=True)
class DataSection:
    kind: DataKind
    total: int
    headers: list[str]
    rows: list[list[Cell]]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)

    @property
    def is_wide(self) -> bool:
        """Too many columns for a table on the page: shown as cards."""
        return len(self.headers) > WIDE_TABLE_COLUMNS

    @property
    def is_single_record(self) -> bool:
        """The user's own row (the account): read better as label–value pairs than as a table."""
        return self.kind.user_lookup == "pk"

    @property
    def labelled_rows(self) -> list[list[tuple[str, Cell]]]:
        return [list(zip(self.headers, row, strict=True)) for row in self.rows]


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
    return str(value)


def _displayer(field) -> Callable[[object], str]:
    """How the field's values read: a code as its label (the labels looked up once for the
    page, not per row: a purpose's come from the database), else the field's own display."""
    if field.is_coded:
        return field.labeller()
    return field.display or _plain


def my_data_for_user(*, user: User, rows_shown: int = MY_DATA_ROWS_SHOWN) -> list[DataSection]:
    """Everything the registry knows about the user: one section per kind, newest rows first."""
    sections = []
    for kind in registry.kinds():
        queryset = kind.queryset_for_user(user)
        names = [f.name for f in kind.fields]
        # The total rides on the rows (a window over the whole set, computed before the
        # LIMIT), so a long history costs no extra COUNT query.
        values = list(queryset.values(*names, rows_in_total=Window(Count("pk")))[:rows_shown])
        total = values[0]["rows_in_total"] if values else 0
        shown = [(f.name, _displayer(f)) for f in kind.fields]
        rows = [[_cell(name, display(row[name])) for name, display in shown] for row in values]
        sections.append(
            DataSection(
                kind=kind, total=total, headers=[str(f.label) for f in kind.fields], rows=rows
            )
        )
    return sections


def browsing_records_for_user(*, user: User) -> QuerySet[BrowsingRecord]:
    return BrowsingRecord.objects.filter(user=user).order_by("-occurred_at", "-pk")


def personalisation_is_on(*, user: User) -> bool:
    """Whether searches and page views are being recorded for the user right now."""
    return bool(registry.consent_given(user=user, purpose=BrowsingRecord.PURPOSE))


# --- staff privilege (DESIGN §2 "Who is trusted with what") -----------------------------


def user_is_privileged(user: User) -> bool:
    """Staff or superuser: an account whose changes only a superuser makes."""
    return user.is_staff or user.is_superuser


def user_may_grant_privilege(*, actor: User) -> bool:
    """Only a superuser makes staff, changes roles (groups) or grants single permissions."""
    return actor.is_active and actor.is_superuser


def user_can_manage(*, actor: User, target: User) -> bool:
    """Whether ``actor`` may change ``target``'s account: password, number, status, roles.

    Nobody acts on an account with more privilege than their own: a superuser manages
    every account; staff allowed to change users (the Privacy officer) manage end users
    only, never a staff account or a superuser, their own included.
    """
    if not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    return not user_is_privileged(target) and actor.has_perm("accounts.change_user")


def permissions_held(*, user: User) -> QuerySet[Permission]:
    """The permissions ``user`` holds, directly or through a role: a superuser holds all."""
    if not user.is_active:
        return Permission.objects.none()
    if user.is_superuser:
        return Permission.objects.all()
    return Permission.objects.filter(Q(user=user) | Q(group__user=user)).distinct()


DEFAULT_PERMISSION_WORDS = {
    "add": pgettext_lazy("permission", "add %(things)s"),
    "change": pgettext_lazy("permission", "change %(things)s"),
    "delete": pgettext_lazy("permission", "delete %(things)s"),
    "view": pgettext_lazy("permission", "view %(things)s"),
}


def permission_in_words(permission: Permission) -> str:
    """What a permission allows, in the reader's language (stored names are English)."""
    model = permission.content_type.model_class()
    if model is None:
        return permission.name
    opts = model._meta
    custom = dict(opts.permissions)
    if permission.codename in custom:
        return capfirst(str(custom[permission.codename]))
    action, _sep, model_name = permission.codename.partition("_")
    if action in DEFAULT_PERMISSION_WORDS and model_name == opts.model_name:
        return capfirst(DEFAULT_PERMISSION_WORDS[action] % {"things": opts.verbose_name_plural})
    return permission.name


@dataclass(frozen=True)
class PermissionsOfModel:
    model: str
    names: list[str]


def permissions_in_words(*, permissions: QuerySet[Permission]) -> list[PermissionsOfModel]:
    """A role's permissions as a reader says them, grouped by the model they concern."""
    grouped: dict[str, list[str]] = {}
    ordered = permissions.select_related("content_type").order_by(
        "content_type__app_label", "content_type__model", "codename"
    )
    for permission in ordered:
        content_type = permission.content_type
        model = content_type.model_class()
        if model is None:
            heading = f"{content_type.app_label}.{content_type.model}"
        else:
            app = model._meta.app_config.verbose_name
            heading = f"{capfirst(app)} › {capfirst(model._meta.verbose_name_plural)}"
        grouped.setdefault(heading, []).append(permission_in_words(permission))
    return [PermissionsOfModel(model=heading, names=names) for heading, names in grouped.items()]
