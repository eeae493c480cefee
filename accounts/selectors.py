"""Reads for the signed-in user's pages; each takes the user and returns only what is theirs."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, QuerySet, Window
from django.utils import formats, timezone

from privacyportal.registry import DataKind, registry

from .models import BrowsingRecord, SecurityEvent, User

MY_DATA_ROWS_SHOWN = 50


def security_events_for_user(*, user: User) -> QuerySet[SecurityEvent]:
    return SecurityEvent.objects.filter(user=user).order_by("-occurred_at", "-pk")


@dataclass(frozen=True)
class DataSection:
    kind: DataKind
    total: int
    headers: list[str]
    rows: list[list[str]]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)

    @property
    def is_single_record(self) -> bool:
        """The user's own row (the account): read better as label–value pairs than as a table."""
        return self.kind.user_lookup == "pk"

    @property
    def labelled_rows(self) -> list[list[tuple[str, str]]]:
        return [list(zip(self.headers, row, strict=True)) for row in self.rows]


def _display(field, value) -> str:
    if field.display is not None:
        return field.display(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
    return str(value)


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
        rows = [[_display(f, row[f.name]) for f in kind.fields] for row in values]
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
    from consents.selectors import UnknownPurpose, consent_is_given

    try:
        return consent_is_given(user=user, purpose=BrowsingRecord.PURPOSE)
    except UnknownPurpose:
        return False
