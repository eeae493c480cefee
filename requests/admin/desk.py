"""The request desk: privacy requests worked against their deadlines.

Staff never edit a request's fields: every change goes through ``requests.services``
(the state machine, the timeline event, the SMS to the user), from a changelist
action or from the same action's button on the request's page. A refused change
(``RequestError``) becomes an error message, never a 500; bulk actions report each
request that failed. Who may do what is the permission matrix of
``requests/migrations/0002_staff_roles.py``:

- the list and the request pages need ``view_privacyrequest``;
- assign, start, extend, reject and complete need ``requests.work_privacyrequest``;
- approving a deletion needs ``requests.approve_deletion``;
- applying a correction needs ``requests.apply_correction``.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from privacyportal.desk import (
    DeskAction,
    DeskButtons,
    ReadOnlyAdmin,
    ReadOnlyInline,
    phone_condition,
)
from privacyportal.registry import registry
from privacyportal.templatetags.phones import phone_display

from .. import corrections, propagation, services, timeline
from ..deadlines import working_days_left
from ..models import (
    AccessCopy,
    DeletionNotice,
    PrivacyRequest,
    RequestEvent,
    desk_effective_due,
    desk_open_rank,
)
from .desk_inputs import AssigneeFilter, CompleteForm, DeadlineFilter, ExtendForm, RejectForm

Status = PrivacyRequest.Status
Kind = PrivacyRequest.Kind


@lru_cache(maxsize=4096)
def _days_left(due: date, today: date) -> int:
    # A page shows many requests due on the same few days; the calendar walk is the cost.
    return working_days_left(due, today=today)


def _status_label(value: str) -> str:
    return str(Status(value).label) if value in Status.values else value or "—"


def reference_short(privacy_request: PrivacyRequest) -> str:
    """The first eight characters of the reference: how the desk names a request."""
    return str(privacy_request.reference)[:8]


def reference_condition(term: str, *, field: str) -> Q:
    """Rows whose request reference in ``field`` starts with the term, if it can be one
    (an empty condition otherwise)."""
    if re.fullmatch(r"[0-9a-fA-F-]{4,36}", term):
        return Q(**{f"{field}__startswith": term.lower()})
    return Q()


# --- the request desk ------------------------------------------------------------------------


class RequestEventInline(ReadOnlyInline):
    """The timeline: audit rows, shown and never edited."""

    model = RequestEvent
    fields = ["occurred_at", "action", "from_label", "to_label", "actor", "message", "what"]
    # The timeline is part of the request: whoever may see the request sees it.
    view_permission = "requests.view_privacyrequest"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description=_("from"))
    def from_label(self, obj):
        return _status_label(obj.from_status)

    @admin.display(description=_("to"))
    def to_label(self, obj):
        return _status_label(obj.to_status)

    # The same words the user's timeline shows, in the staff member's language.
    @admin.display(description=_("note"))
    def message(self, obj):
        # A plain string: the admin escapes it and keeps its line breaks.
        return timeline.event_note(obj) if obj.pk else ""

    @admin.display(description=_("details"))
    def what(self, obj):
        return timeline.event_details(obj) if obj.pk else ""


class DeletionNoticeInline(ReadOnlyInline):
    """A deletion's notices on its page, read-only; each links to the notice's own page."""

    model = DeletionNotice
    fields = [
        "recipient",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "delivered_at",
        "acknowledged_at",
        "staff_note",
    ]
    show_change_link = True
    view_permission = "requests.view_deletionnotice"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recipient")


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(DeskButtons, ReadOnlyAdmin):
    """Read-only for everyone (ReadOnlyAdmin): users file requests themselves, with their own
    SMS code, and changes go through the actions only."""

    list_display = [
        "short_reference",
        "user_phone",
        "kind",
        "status",
        "created_at",
        "due",
        "days_left",
        "assignee",
    ]
    list_display_links = ["short_reference"]
    list_select_related = ["user", "assignee"]
    list_filter = ["status", "kind", AssigneeFilter, DeadlineFilter]
    # A filtered list counts its own rows only, not the whole table's as well.
    show_full_result_count = False
    # Numbers as staff type them ("138 0013-8000", "+86 …") and reference prefixes:
    # see get_search_results.
    search_fields = ["user__phone"]
    search_help_text = _("Mobile number (spaces, dashes and +86 are fine) or reference.")
    inlines = [RequestEventInline]
    change_form_template = "admin/requests/desk_change_form.html"
    service_error = services.RequestError
    action_template = "admin/requests/privacyrequest/action_form.html"
    fieldsets = [
        (
            _("Request"),
            {
                "fields": [
                    "reference",
                    "user",
                    "kind",
                    "status",
                    "details",
                    "ground",
                    "deletion_scope",
                    "correction",
                    "legal_hold",
                    "access_copy_status",
                ]
            },
        ),
        (
            _("Deadline"),
            {
                "fields": [
                    "created_at",
                    "verified_at",
                    "due_on",
                    "extended_to",
                    "extension_reason",
                    "days_left",
                ]
            },
        ),
        (_("Answer"), {"fields": ["assignee", "rejection_reason", "answer", "closed_at"]}),
    ]
    readonly_fields = [
        "deletion_scope",
        "correction",
        "legal_hold",
        "access_copy_status",
        "days_left",
    ]
    actions = [
        "assign_to_me",
        "start_requests",
        "extend_requests",
        "reject_requests",
        "complete_requests",
        "approve_deletions",
        "apply_corrections",
    ]

    # --- the list --------------------------------------------------------------------------

    def get_queryset(self, request):
        # Annotated before ordering (ModelAdmin.get_queryset orders first): the order uses them.
        return (
            self.model._default_manager.get_queryset()
            .annotate(effective_due=desk_effective_due(), open_rank=desk_open_rank())
            .order_by(*self.get_ordering(request))
        )

    def get_ordering(self, request):
        # Open requests first, the most urgent on top; closed ones after, by their due date.
        # The index privacyrequest_desk_order holds exactly this order.
        return ["open_rank", "effective_due", "pk"]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = phone_condition(term, field="user__phone") | reference_condition(
            term, field="reference"
        )
        return queryset.filter(condition), False

    @admin.display(description=_("reference"), ordering="reference")
    def short_reference(self, obj):
        return reference_short(obj)

    @admin.display(description=_("mobile number"), ordering="user__phone")
    def user_phone(self, obj):
        return phone_display(obj.user.phone) or gettext("(account closed)")

    @admin.display(description=_("due"), ordering="effective_due")
    def due(self, obj):
        return obj.effective_due_on

    @admin.display(description=_("working days left"), ordering="effective_due")
    def days_left(self, obj):
        if obj is None or obj.pk is None or not obj.is_open:
            return "—"
        left = _days_left(obj.effective_due_on, timezone.localdate())
        if left < 0:
            return format_html('<strong class="overdue">{}</strong>', left)
        return left

    # --- the request's page ----------------------------------------------------------------

    @admin.display(description=_("to delete"))
    def deletion_scope(self, obj):
        if obj.kind != Kind.DELETION:
            return "—"
        return "; ".join(_scope_labels(obj))

    @admin.display(description=_("correction"))
    def correction(self, obj):
        if obj.kind != Kind.CORRECTION:
            return "—"
        field = corrections.FIELDS.get(obj.correction_field)
        label = field.label if field else obj.correction_field
        return format_html("{}: “{}”", label, obj.correction_value or "—")

    @admin.display(description=_("legal hold"))
    def legal_hold(self, obj):
        if obj.kind != Kind.DELETION:
            return "—"
        hold = services.active_hold(obj.user)
        if hold is None:
            return gettext("None")
        return gettext("Active since %(date)s: %(reason)s") % {
            "date": timezone.localtime(hold.set_at).strftime("%Y-%m-%d"),
            "reason": hold.reason,
        }

    @admin.display(description=_("copy of the data"))
    def access_copy_status(self, obj):
        if obj.kind != Kind.ACCESS:
            return "—"
        try:
            copy = obj.access_copy
        except AccessCopy.DoesNotExist:
            return gettext("Not requested")
        if copy.status == AccessCopy.Status.BUILDING:
            return gettext("%(status)s (%(progress)d%%)") % {
                "status": copy.get_status_display(),
                "progress": copy.progress,
            }
        if copy.status == AccessCopy.Status.FAILED:
            return gettext("%(status)s: %(error)s") % {
                "status": copy.get_status_display(),
                "error": copy.error,
            }
        return copy.get_status_display()

    def get_inlines(self, request, obj):
        if obj is not None and obj.kind == Kind.DELETION:
            return [DeletionNoticeInline, *self.inlines]
        return self.inlines

    def actions_applying(self, request, obj) -> dict[str, bool]:
        """The buttons for one request: what its status allows."""
        return {
            "assign_to_me": obj.is_open and obj.assignee_id != request.user.pk,
            "start_requests": obj.status == Status.SUBMITTED,
            "extend_requests": obj.is_open and obj.extended_to is None,
            "reject_requests": obj.status in (Status.SUBMITTED, Status.IN_PROGRESS),
            "complete_requests": obj.status == Status.IN_PROGRESS
            and obj.kind in (Kind.QUESTION, Kind.CORRECTION),
            "approve_deletions": obj.status == Status.IN_PROGRESS and obj.kind == Kind.DELETION,
            "apply_corrections": obj.status == Status.IN_PROGRESS
            and obj.kind == Kind.CORRECTION
            and getattr(corrections.FIELDS.get(obj.correction_field), "apply", None) is not None,
        }

    # --- permissions of the actions -------------------------------------------------------

    def has_work_permission(self, request):
        return request.user.has_perm("requests.work_privacyrequest")

    def has_approve_deletion_permission(self, request):
        return request.user.has_perm("requests.approve_deletion")

    def has_apply_correction_permission(self, request):
        return request.user.has_perm("requests.apply_correction")

    # --- running a service over the selection --------------------------------------------

    service_object = "privacy_request"

    def object_label(self, obj) -> str:
        return reference_short(obj)

    def done_message(self, message, done: list) -> str:
        return message % {"count": len(done), "references": ", ".join(map(reference_short, done))}

    def action_selection(self, queryset) -> list:
        return list(queryset.select_related("user").order_by("pk"))

    # --- the actions ---------------------------------------------------------------------

    assign_to_me = DeskAction(
        lambda *, privacy_request, actor: services.request_assign(
            privacy_request=privacy_request, assignee=actor, actor=actor
        ),
        description=_("Assign to me"),
        permission="work",
        done=ngettext_lazy(
            "%(count)d request assigned to you: %(references)s.",
            "%(count)d requests assigned to you: %(references)s.",
            "count",
        ),
    )
    start_requests = DeskAction(
        services.request_start,
        description=_("Start work"),
        permission="work",
        done=ngettext_lazy(
            "%(count)d request started: %(references)s.",
            "%(count)d requests started: %(references)s.",
            "count",
        ),
    )
    extend_requests = DeskAction(
        services.request_extend,
        description=_("Extend the deadline…"),
        permission="work",
        title=_("Extend the deadline"),
        submit=_("Extend"),
        form=ExtendForm,
        done=ngettext_lazy(
            "%(count)d deadline extended, the user was told why: %(references)s.",
            "%(count)d deadlines extended, the users were told why: %(references)s.",
            "count",
        ),
    )
    reject_requests = DeskAction(
        services.request_reject,
        description=_("Reject…"),
        permission="work",
        title=_("Reject"),
        submit=_("Reject"),
        form=RejectForm,
        context=lambda queryset: {"questions": _questions(queryset)},
        done=ngettext_lazy(
            "%(count)d request rejected: %(references)s.",
            "%(count)d requests rejected: %(references)s.",
            "count",
        ),
    )
    complete_requests = DeskAction(
        services.request_complete,
        description=_("Complete with an answer…"),
        permission="work",
        title=_("Complete with an answer"),
        submit=_("Complete"),
        form=CompleteForm,
        context=lambda queryset: {"questions": _questions(queryset)},
        done=ngettext_lazy(
            "%(count)d request completed: %(references)s.",
            "%(count)d requests completed: %(references)s.",
            "count",
        ),
    )
    # Erasure cannot be undone: the password (or a code) again, unless given just now. Asked
    # at the confirming POST, which allauth keeps and carries out afterwards (the
    # confirmation page posts to the address it is shown at).
    approve_deletions = DeskAction(
        services.deletion_approve,
        description=_("Approve deletion…"),
        permission="approve_deletion",
        title=_("Approve deletion"),
        submit=_("Yes, erase it"),
        template="admin/requests/privacyrequest/approve_deletion.html",
        context=lambda queryset: {"rows": _deletion_rows(queryset)},
        reauthenticate=True,
        done=ngettext_lazy(
            "%(count)d deletion carried out: %(references)s.",
            "%(count)d deletions carried out: %(references)s.",
            "count",
        ),
    )
    apply_corrections = DeskAction(
        services.correction_apply,
        description=_("Apply correction…"),
        permission="apply_correction",
        title=_("Apply correction"),
        submit=_("Apply"),
        template="admin/requests/privacyrequest/apply_correction.html",
        context=lambda queryset: {"rows": _correction_rows(queryset)},
        done=ngettext_lazy(
            "%(count)d correction applied: %(references)s.",
            "%(count)d corrections applied: %(references)s.",
            "count",
        ),
    )


def _questions(queryset) -> list[dict]:
    """What each selected user asked, for the page where staff answer or reject it: the
    request's own text and, for a correction, the field and the value proposed."""
    rows = []
    for privacy_request in queryset.order_by("pk"):
        field_label = ""
        if privacy_request.kind == Kind.CORRECTION:
            field = corrections.FIELDS.get(privacy_request.correction_field)
            field_label = field.label if field else privacy_request.correction_field
        rows.append(
            {
                "request": privacy_request,
                "correction_field": field_label,
                "correction_value": privacy_request.correction_value,
            }
        )
    return rows


def _deletion_rows(queryset) -> list[dict]:
    """Each selected deletion as its approval page shows it: the scope, a hold, the notices."""
    return [
        {
            "request": privacy_request,
            "scope": _scope_labels(privacy_request),
            "hold": services.active_hold(privacy_request.user),
            # The very plan the approval carries out (one rule, one place).
            "notices": [
                {
                    "recipient": planned.recipient,
                    "categories": timeline.join_list(timeline.category_names(planned.categories)),
                }
                for planned in propagation.deletion_notice_plan(privacy_request=privacy_request)
            ],
        }
        for privacy_request in queryset.select_related("user").order_by("pk")
    ]


def _correction_rows(queryset) -> list[dict]:
    """Each selected correction as its page shows it: the current and the proposed value, or
    that the desk cannot apply it."""
    rows = []
    for privacy_request in queryset.select_related("user").order_by("pk"):
        field = corrections.FIELDS.get(privacy_request.correction_field)
        applicable = (
            privacy_request.kind == Kind.CORRECTION
            and field is not None
            and field.apply is not None
        )
        rows.append(
            {
                "request": privacy_request,
                "field": field.label if field else privacy_request.correction_field,
                "applicable": applicable,
                "current": field.current(privacy_request.user) if applicable else "",
                "proposed": privacy_request.correction_value,
            }
        )
    return rows


def _scope_labels(privacy_request: PrivacyRequest) -> list[str]:
    if privacy_request.whole_account:
        return [
            gettext(
                "The whole account: every kind of data the portal keeps, then the account is "
                "closed (the number is freed and sign-in stops)."
            )
        ]
    known = {kind.code: kind for kind in registry.kinds()}
    return [
        str(known[code].label) if code in known else code for code in privacy_request.scope_kinds
    ]
