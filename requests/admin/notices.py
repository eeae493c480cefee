"""Deletion notices to recipients: read-only, acted on through ``requests.propagation``.

Retrying, marking as sent by hand and closing a notice need
``requests.change_deletionnotice``; notices and their attempts are otherwise read-only. A
refusal (``PropagationError``) is an error message naming the notice.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from consents.models import DataCategory
from privacyportal.desk import (
    ConditionSearch,
    DeskAction,
    DeskButtons,
    ReadOnlyAdmin,
    ReadOnlyInline,
    staff_text,
)

from .. import propagation
from ..models import DeletionNotice, NoticeAttempt
from .desk import reference_condition, reference_short


class MarkSentForm(forms.Form):
    note = staff_text(
        _("How and when the notice was sent"),
        help_text=_(
            "The evidence: the channel and address used, the date, a reference to the message. "
            "Staff only."
        ),
    )


class CloseNoticeForm(forms.Form):
    reason = staff_text(
        _("Reason for closing"),
        help_text=_("The user sees this reason on the request's page and timeline."),
    )


class NoticeAttemptInline(ReadOnlyInline):
    """The delivery attempts: what the recipient answered, shown and never edited."""

    model = NoticeAttempt
    fields = ["started_at", "status_code", "error", "duration_ms"]
    # The attempts are part of the notice: whoever may see the notice sees them.
    view_permission = "requests.view_deletionnotice"


def _category_names(codes) -> str:
    # A notice keeps the codes (what the recipient is sent); staff read the names.
    found = {c.code: c.name for c in DataCategory.objects.filter(code__in=codes)}
    return ", ".join(found.get(code, code) for code in codes)


def _notice_label(notice: DeletionNotice) -> str:
    return f"{notice.recipient.name} · {reference_short(notice.request)}"


@admin.register(DeletionNotice)
class DeletionNoticeAdmin(ConditionSearch, DeskButtons, ReadOnlyAdmin):
    """Deletion notices, read-only: staff act on them through the actions (and buttons),
    which need ``requests.change_deletionnotice`` and call ``requests.propagation``."""

    list_display = [
        "request_reference",
        "recipient",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "delivered_at",
        "acknowledged_at",
    ]
    list_display_links = ["request_reference"]
    list_filter = ["status", "recipient"]
    list_select_related = ["request", "recipient"]
    search_fields = ["recipient__name"]
    search_help_text = _("Request reference or recipient name.")
    inlines = [NoticeAttemptInline]
    fields = [
        "request_link",
        "recipient",
        "recipient_contact",
        "status",
        "idempotency_key",
        "category_names",
        "identifiers",
        "attempts",
        "next_attempt_at",
        "last_error",
        "delivered_at",
        "acknowledged_at",
        "staff_note",
        "created_at",
    ]
    readonly_fields = fields
    actions = ["retry_notices", "mark_notices_sent", "close_notices"]
    change_form_template = "admin/requests/desk_change_form.html"
    service_error = propagation.PropagationError
    action_template = "admin/requests/deletionnotice/action_form.html"

    def search_condition(self, term):
        return Q(recipient__name__icontains=term) | reference_condition(
            term, field="request__reference"
        )

    @admin.display(description=_("request"), ordering="request__reference")
    def request_reference(self, obj):
        return reference_short(obj.request)

    @admin.display(description=_("request"))
    def request_link(self, obj):
        url = reverse(
            "admin:requests_privacyrequest_change",
            args=[obj.request_id],
            current_app=self.admin_site.name,
        )
        return format_html('<a href="{}">{}</a>', url, obj.request.reference)

    @admin.display(description=_("contact"))
    def recipient_contact(self, obj):
        return obj.recipient.contact

    @admin.display(description=_("data categories"))
    def category_names(self, obj):
        return _category_names(obj.categories) or "—"

    @admin.display(description=_("identifiers at the recipient"))
    def identifiers(self, obj):
        return ", ".join(obj.subject_identifiers) or "—"

    def has_act_permission(self, request):
        return request.user.has_perm("requests.change_deletionnotice")

    # --- the notice's page ----------------------------------------------------------------

    def actions_applying(self, request, obj) -> dict[str, bool]:
        Status = DeletionNotice.Status
        return {
            "retry_notices": obj.status in (Status.FAILED, Status.DELIVERED)
            and bool(obj.recipient.endpoint),
            "mark_notices_sent": obj.status == Status.MANUAL,
            "close_notices": not obj.is_done,
        }

    # --- running a service over the selection --------------------------------------------

    service_object = "notice"

    def service_objects(self, queryset):
        return queryset.select_related("request", "recipient").order_by("pk")

    def object_label(self, obj) -> str:
        return _notice_label(obj)

    def done_message(self, message, done: list) -> str:
        return message % {"count": len(done), "notices": "; ".join(map(_notice_label, done))}

    def action_selection(self, queryset) -> list:
        selected = list(queryset.select_related("request", "recipient").order_by("pk"))
        for notice in selected:
            notice.category_names = _category_names(notice.categories)
        return selected

    # --- the actions ---------------------------------------------------------------------

    retry_notices = DeskAction(
        propagation.notice_retry,
        description=_("Retry"),
        permission="act",
        done=ngettext_lazy(
            "%(count)d notice queued to be sent again: %(notices)s.",
            "%(count)d notices queued to be sent again: %(notices)s.",
            "count",
        ),
    )
    mark_notices_sent = DeskAction(
        propagation.notice_mark_sent,
        description=_("Mark as sent by hand…"),
        permission="act",
        title=_("Mark as sent by hand"),
        submit=_("Mark as sent"),
        form=MarkSentForm,
        # Staff send it themselves: the page shows where to.
        context=lambda queryset: {"show_contact": True},
        done=ngettext_lazy(
            "%(count)d notice marked as sent by hand: %(notices)s.",
            "%(count)d notices marked as sent by hand: %(notices)s.",
            "count",
        ),
    )
    close_notices = DeskAction(
        propagation.notice_close,
        description=_("Close with a reason…"),
        permission="act",
        title=_("Close with a reason"),
        submit=_("Close"),
        form=CloseNoticeForm,
        done=ngettext_lazy(
            "%(count)d notice closed: %(notices)s.",
            "%(count)d notices closed: %(notices)s.",
            "count",
        ),
    )
