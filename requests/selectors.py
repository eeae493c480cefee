"""Reads for the requester's pages; each takes the user and returns only what is theirs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from privacyportal.recipients import NamedRecipient
from privacyportal.registry import registry

from . import corrections, timeline
from .deadlines import working_days_left
from .lifecycle import TRANSITIONS
from .models import AccessCopy, DeletionNotice, PrivacyRequest, Recipient, RequestEvent

Status = PrivacyRequest.Status


def requests_for_user(*, user) -> QuerySet[PrivacyRequest]:
    return PrivacyRequest.objects.filter(user=user).order_by("-created_at", "-pk")


def request_get_for_user(*, user, reference: UUID) -> PrivacyRequest | None:
    """The user's own request, or None: someone else's looks exactly like a missing one."""
    if user is None or not user.is_authenticated:
        return None
    return PrivacyRequest.objects.filter(user=user, reference=reference).first()


def open_access_request_for_user(*, user) -> PrivacyRequest | None:
    return (
        requests_for_user(user=user)
        .filter(kind=PrivacyRequest.Kind.ACCESS, status__in=PrivacyRequest.OPEN_STATUSES)
        .first()
    )


def request_timeline(*, privacy_request: PrivacyRequest) -> list[RequestEvent]:
    """The timeline, each event with ``text``: its note in the reader's (active) language."""
    events = list(privacy_request.events.order_by("occurred_at", "pk"))
    for event in events:
        event.text = timeline.event_note(event)
    return events


def request_notices(*, privacy_request: PrivacyRequest) -> list[DeletionNotice]:
    """Who a carried-out deletion told, and of what (DESIGN §2): each notice with
    ``categories_text`` (the names of only what it was told to delete) and, when staff sent it by hand,
    ``sent_on`` (the time of that timeline event: the notice has no time of its own)."""
    if privacy_request.kind != PrivacyRequest.Kind.DELETION or privacy_request.status not in (
        Status.PROPAGATING,
        Status.COMPLETED,
    ):
        return []
    notices = list(
        DeletionNotice.objects.filter(request=privacy_request)
        .select_related("recipient")
        .order_by("recipient__name", "pk")
    )
    names = dict(
        zip(
            codes := sorted({code for notice in notices for code in notice.categories}),
            timeline.category_names(codes),
            strict=True,
        )
    )
    sent = {}
    if any(n.status == DeletionNotice.Status.MANUAL_SENT for n in notices):
        sent = {
            (details or {}).get("recipient"): occurred_at
            for details, occurred_at in privacy_request.events.filter(
                action=RequestEvent.Action.NOTICE_SENT_BY_HAND
            )
            .order_by("occurred_at", "pk")
            .values_list("details", "occurred_at")
        }
    for notice in notices:
        notice.categories_text = timeline.join_list(names[code] for code in notice.categories)
        notice.sent_on = sent.get(notice.recipient.name)
    return notices


def days_left(privacy_request: PrivacyRequest, *, today: date | None = None) -> int | None:
    """Working days to the (possibly extended) deadline while the request is open."""
    if not privacy_request.is_open:
        return None
    return working_days_left(privacy_request.effective_due_on, today=today)


@dataclass(frozen=True)
class RequestRow:
    """One request on the list page, with its labels and dates as the page shows them.

    The choices' ``get_…_display`` rebuilds the choices for every call and the ``date``
    filter is slow for each value: for every row of the list, that was most of the page.
    """

    request: PrivacyRequest
    days_left: int | None

    @property
    def overdue_by(self) -> int:
        return -self.days_left if self.days_left is not None and self.days_left < 0 else 0

    @property
    def kind_label(self) -> str:
        return PrivacyRequest.Kind(self.request.kind).label

    @property
    def status_label(self) -> str:
        return PrivacyRequest.Status(self.request.status).label

    @property
    def filed_at(self) -> datetime:
        return timezone.localtime(self.request.created_at)

    @property
    def closed_at(self) -> datetime | None:
        closed = self.request.closed_at
        return timezone.localtime(closed) if closed is not None else None

    @property
    def due_on(self) -> str:
        return self.request.effective_due_on.isoformat()


def request_rows_for_user(*, user) -> list[RequestRow]:
    """The list page's rows: only the columns it shows, not the requests' texts."""
    today = timezone.localdate()
    shown = requests_for_user(user=user).only(
        "reference", "kind", "status", "created_at", "due_on", "extended_to", "closed_at"
    )
    return [
        RequestRow(privacy_request, days_left(privacy_request, today=today))
        for privacy_request in shown
    ]


def can_withdraw(privacy_request: PrivacyRequest) -> bool:
    # The service's state machine decides; propagating deletions cannot be taken back.
    return Status.WITHDRAWN in TRANSITIONS.get(privacy_request.status, set())


def access_copy_for(privacy_request: PrivacyRequest) -> AccessCopy | None:
    if privacy_request.kind != PrivacyRequest.Kind.ACCESS:
        return None
    return AccessCopy.objects.filter(request=privacy_request).first()


def access_copy_state(copy: AccessCopy | None) -> str | None:
    """The copy's status as the user meets it: a ready copy past its date is expired,
    even before the job that marks it so has run."""
    if copy is None:
        return None
    if copy.status == AccessCopy.Status.READY and (
        copy.expires_at is None or copy.expires_at <= timezone.now()
    ):
        return AccessCopy.Status.EXPIRED
    return copy.status


def scope_labels(privacy_request: PrivacyRequest) -> list[str]:
    labels = []
    for code in privacy_request.scope_kinds:
        try:
            labels.append(str(registry.get(code).label))
        except KeyError:
            labels.append(code)
    return labels


def correction_field_label(privacy_request: PrivacyRequest) -> str:
    field = corrections.FIELDS.get(privacy_request.correction_field)
    return str(field.label) if field is not None else privacy_request.correction_field


def filing_summary(*, kind: str, data: dict) -> list[tuple[str, str]]:
    """What a filing waiting for its code will ask, as label-value pairs to show before
    the code is entered."""
    rows: list[tuple[str, str]] = [(_("Request"), str(PrivacyRequest.Kind(kind).label))]
    if kind == PrivacyRequest.Kind.DELETION:
        ground = data.get("ground", "")
        if ground in PrivacyRequest.Ground.values:
            rows.append((_("Ground"), str(PrivacyRequest.Ground(ground).label)))
        if data.get("whole_account"):
            scope = _("The whole account (the account is closed)")
        else:
            scope = ", ".join(scope_labels(PrivacyRequest(scope_kinds=data.get("scope_kinds", []))))
        rows.append((_("What to delete"), str(scope)))
    if data.get("details"):
        rows.append((_("Details"), data["details"]))
    return [(str(label), value) for label, value in rows]


def recipients_of_shared_data() -> list[NamedRecipient]:
    """The active recipients in the register, for the separate consent to sharing."""
    return [
        NamedRecipient(
            name=recipient.name,
            contact=recipient.contact,
            categories=tuple(category.name for category in recipient.data_categories.all()),
        )
        for recipient in Recipient.objects.filter(is_active=True).prefetch_related(
            "data_categories"
        )
    ]
