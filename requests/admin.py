"""The staff desk: privacy requests worked against their deadlines, legal holds, tombstones.

Staff never edit a request's fields: every change goes through ``requests.services``
(the state machine, the timeline event, the SMS to the user), from a changelist
action or from the same action's button on the request's page. A refused change
(``RequestError``) becomes an error message, never a 500; bulk actions report each
request that failed. Who may do what is the permission matrix of
``requests/migrations/0002_staff_roles.py``:

- the list and the request pages need ``view_privacyrequest``;
- assign, start, extend, reject and complete need ``requests.work_privacyrequest``;
- approving a deletion needs ``requests.approve_deletion``;
- applying a correction needs ``requests.apply_correction``;
- setting a legal hold needs ``requests.add_legalhold``, releasing one
  ``requests.change_legalhold`` (releasing is the only change a hold ever gets).

Recipients, disclosures and deletion notices (``0008_roles_for_recipients``) go through
``requests.propagation`` the same way, a ``PropagationError`` shown as an error:

- recipients are added and changed, and their signing secret set, with
  ``requests.add_recipient`` / ``requests.change_recipient`` (officers); the secret is
  shown once, in the response that sets it, and never again;
- recording a disclosure needs ``requests.add_disclosure``; a recorded disclosure is
  never edited or deleted (it is the ledger the user reads);
- retrying, marking as sent by hand and closing a notice need
  ``requests.change_deletionnotice``; notices and their attempts are otherwise read-only.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.admin import normalise_phone_search
from consents.admin import ReadOnlyAdmin
from consents.models import DataCategory
from privacyportal.registry import registry
from privacyportal.staff_access import require_recent_reauthentication
from privacyportal.templatetags.phones import phone_display

from . import corrections, propagation, services, timeline
from .deadlines import due_date, working_days_left
from .models import (
    AccessCopy,
    DeletionNotice,
    DeletionTombstone,
    Disclosure,
    LegalHold,
    NoticeAttempt,
    PrivacyRequest,
    Recipient,
    RequestEvent,
    desk_effective_due,
    desk_open_rank,
)

Status = PrivacyRequest.Status
Kind = PrivacyRequest.Kind
OPEN = PrivacyRequest.OPEN_STATUSES
DUE_SOON_WORKING_DAYS = 3


@lru_cache(maxsize=4096)
def _days_left(due: date, today: date) -> int:
    # A page shows many requests due on the same few days; the calendar walk is the cost.
    return working_days_left(due, today=today)


def _status_label(value: str) -> str:
    return str(Status(value).label) if value in Status.values else value or "—"


def _short(privacy_request: PrivacyRequest) -> str:
    return str(privacy_request.reference)[:8]


# --- list filters ---------------------------------------------------------------------------


class DeadlineFilter(admin.SimpleListFilter):
    """Open requests past or near their effective due date (the extension if any), in SQL."""

    title = _("deadline")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Overdue")),
            ("soon", _("Due within %(days)d working days") % {"days": DUE_SOON_WORKING_DAYS}),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value not in ("overdue", "soon"):
            return queryset
        today = timezone.localdate()
        queryset = queryset.filter(status__in=OPEN).alias(
            deadline_on=Coalesce("extended_to", "due_on")
        )
        if value == "overdue":
            return queryset.filter(deadline_on__lt=today)
        # Everything before the next (N+1)th working day has at most N working days left,
        # as working_days_left counts them (weekends and holidays in between included).
        limit = due_date(today, working_days=DUE_SOON_WORKING_DAYS + 1)
        return queryset.filter(deadline_on__gte=today, deadline_on__lt=limit)


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        # A semi-join on the assignee index; a JOIN with DISTINCT over every request
        # took a third of a second on 100,000 requests.
        assignees = (
            get_user_model()
            .objects.filter(pk__in=PrivacyRequest.objects.values("assignee_id"))
            .order_by("phone")
        )
        return [
            ("me", _("Me")),
            ("none", _("Unassigned")),
            *((str(user.pk), str(user)) for user in assignees),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(assignee=request.user)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value and value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset


# --- the forms of the intermediate pages ---------------------------------------------------


class ExtendForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the extension"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The user sees this reason on the request's timeline and is told by SMS."),
    )


class RejectForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"), choices=[("", "---------"), *PrivacyRequest.RejectionReason.choices]
    )
    text = forms.CharField(
        label=_("Explanation"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=_(
            "Shown to the user with the reason and where to complain; needed for “Other reason”."
        ),
    )


class CompleteForm(forms.Form):
    answer = forms.CharField(
        label=_("Answer to the user"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("The user sees this answer on the request's timeline."),
    )


# --- the request desk ------------------------------------------------------------------------


class RequestEventInline(admin.TabularInline):
    """The timeline: audit rows, shown and never edited."""

    model = RequestEvent
    fields = ["occurred_at", "action", "from_label", "to_label", "actor", "message", "what"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

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

    def has_view_permission(self, request, obj=None):
        # The timeline is part of the request: whoever may see the request sees it.
        return request.user.has_perm("requests.view_privacyrequest")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeletionNoticeInline(admin.TabularInline):
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
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recipient")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("requests.view_deletionnotice")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AdminUrls:
    def _url(self, view: str, *args) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}",
            args=args,
            current_app=self.admin_site.name,
        )


class DeskButtons(AdminUrls):
    """A change page with one button per changelist action that applies to the object
    (``_actions_for``): the button runs that action on this one object."""

    change_form_template = "admin/requests/desk_change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            extra_context["desk_actions"] = self._actions_for(request, obj)
            extra_context["desk_changelist_url"] = self._url("changelist")
            extra_context["action_checkbox_name"] = helpers.ACTION_CHECKBOX_NAME
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(DeskButtons, admin.ModelAdmin):
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
        condition = Q(user__phone__contains=term)
        digits = normalise_phone_search(term)
        if digits:
            condition |= Q(user__phone__contains=digits)
        if re.fullmatch(r"[0-9a-fA-F-]{4,36}", term):
            condition |= Q(reference__startswith=term.lower())
        return queryset.filter(condition), False

    @admin.display(description=_("reference"), ordering="reference")
    def short_reference(self, obj):
        return _short(obj)

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

    def has_add_permission(self, request):
        # Users file requests themselves, with their own SMS code.
        return False

    def has_change_permission(self, request, obj=None):
        # Changes go through the actions only, so the page is read-only for everyone.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _actions_for(self, request, obj) -> list[tuple[str, str]]:
        """The buttons for one request: what the staff member may do and what its status allows."""
        applies = {
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
        allowed = self.get_actions(request)
        return [
            (name, allowed[name][2]) for name in self.actions if name in allowed and applies[name]
        ]

    # --- permissions of the actions -------------------------------------------------------

    def has_work_permission(self, request):
        return request.user.has_perm("requests.work_privacyrequest")

    def has_approve_deletion_permission(self, request):
        return request.user.has_perm("requests.approve_deletion")

    def has_apply_correction_permission(self, request):
        return request.user.has_perm("requests.apply_correction")

    # --- running a service over the selection --------------------------------------------

    def _run(self, request, queryset, service, success, **kwargs):
        """Call ``service`` for each selected request; report what worked and each refusal."""
        done = []
        for privacy_request in queryset.order_by("pk"):
            try:
                service(privacy_request=privacy_request, actor=request.user, **kwargs)
            except services.RequestError as error:
                self.message_user(
                    request,
                    gettext("%(reference)s: %(message)s")
                    % {"reference": _short(privacy_request), "message": error.message},
                    messages.ERROR,
                )
            else:
                done.append(privacy_request)
        if done:
            self.message_user(
                request,
                success % {"count": len(done), "references": ", ".join(_short(pr) for pr in done)},
                messages.SUCCESS,
            )
        return self._back(request)

    def _back(self, request):
        """From a request's page, back to that page; from the list, back to the list."""
        if request.POST.get("_return_to_change"):
            selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
            if len(selected) == 1 and selected[0].isdigit():
                return HttpResponseRedirect(self._url("change", selected[0]))
        return None

    def _page(self, request, queryset, *, action, title, submit, form=None, template=None, **ctx):
        selected = list(queryset.select_related("user").order_by("pk"))
        from_change = bool(request.POST.get("_return_to_change")) and len(selected) == 1
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "action": action,
            "submit_label": submit,
            "form": form,
            "requests": selected,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "return_to_change": from_change,
            "cancel_url": (
                self._url("change", selected[0].pk) if from_change else self._url("changelist")
            ),
            "media": self.media + (form.media if form is not None else forms.Media()),
            **ctx,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, template or "admin/requests/privacyrequest/action_form.html", context
        )

    def _form_action(self, request, queryset, form_class, *, action, title, submit, run, **ctx):
        """An action with an intermediate page: show the form, then run with its data."""
        if request.POST.get("post"):
            form = form_class(request.POST)
            if form.is_valid():
                return run(form.cleaned_data)
        else:
            form = form_class()
        return self._page(
            request, queryset, action=action, title=title, submit=submit, form=form, **ctx
        )

    # --- the actions ---------------------------------------------------------------------

    @admin.action(description=_("Assign to me"), permissions=["work"])
    def assign_to_me(self, request, queryset):
        return self._run(
            request,
            queryset,
            lambda *, privacy_request, actor: services.request_assign(
                privacy_request=privacy_request, assignee=actor, actor=actor
            ),
            ngettext_lazy(
                "%(count)d request assigned to you: %(references)s.",
                "%(count)d requests assigned to you: %(references)s.",
                "count",
            ),
        )

    @admin.action(description=_("Start work"), permissions=["work"])
    def start_requests(self, request, queryset):
        return self._run(
            request,
            queryset,
            services.request_start,
            ngettext_lazy(
                "%(count)d request started: %(references)s.",
                "%(count)d requests started: %(references)s.",
                "count",
            ),
        )

    @admin.action(description=_("Extend the deadline…"), permissions=["work"])
    def extend_requests(self, request, queryset):
        return self._form_action(
            request,
            queryset,
            ExtendForm,
            action="extend_requests",
            title=gettext("Extend the deadline"),
            submit=gettext("Extend"),
            run=lambda data: self._run(
                request,
                queryset,
                services.request_extend,
                ngettext_lazy(
                    "%(count)d deadline extended, the user was told why: %(references)s.",
                    "%(count)d deadlines extended, the users were told why: %(references)s.",
                    "count",
                ),
                reason=data["reason"],
            ),
        )

    @admin.action(description=_("Reject…"), permissions=["work"])
    def reject_requests(self, request, queryset):
        return self._form_action(
            request,
            queryset,
            RejectForm,
            action="reject_requests",
            title=gettext("Reject"),
            submit=gettext("Reject"),
            questions=_questions(queryset),
            run=lambda data: self._run(
                request,
                queryset,
                services.request_reject,
                ngettext_lazy(
                    "%(count)d request rejected: %(references)s.",
                    "%(count)d requests rejected: %(references)s.",
                    "count",
                ),
                reason=data["reason"],
                text=data["text"],
            ),
        )

    @admin.action(description=_("Complete with an answer…"), permissions=["work"])
    def complete_requests(self, request, queryset):
        return self._form_action(
            request,
            queryset,
            CompleteForm,
            action="complete_requests",
            title=gettext("Complete with an answer"),
            submit=gettext("Complete"),
            questions=_questions(queryset),
            run=lambda data: self._run(
                request,
                queryset,
                services.request_complete,
                ngettext_lazy(
                    "%(count)d request completed: %(references)s.",
                    "%(count)d requests completed: %(references)s.",
                    "count",
                ),
                answer=data["answer"],
            ),
        )

    @admin.action(description=_("Approve deletion…"), permissions=["approve_deletion"])
    def approve_deletions(self, request, queryset):
        if request.POST.get("post"):
            # Erasure cannot be undone: the password (or a code) again, unless given just now.
            # Asked at the confirming POST, which allauth keeps and carries out afterwards (the
            # confirmation page posts to the address it is shown at).
            require_recent_reauthentication(request)
            return self._run(
                request,
                queryset,
                services.deletion_approve,
                ngettext_lazy(
                    "%(count)d deletion carried out: %(references)s.",
                    "%(count)d deletions carried out: %(references)s.",
                    "count",
                ),
            )
        rows = [
            {
                "request": privacy_request,
                "scope": _scope_labels(privacy_request),
                "hold": services.active_hold(privacy_request.user),
                # The very plan the approval carries out (one rule, one place).
                "notices": [
                    {
                        "recipient": planned.recipient,
                        "categories": timeline.join_list(
                            timeline.category_names(planned.categories)
                        ),
                    }
                    for planned in propagation.deletion_notice_plan(
                        privacy_request=privacy_request
                    )
                ],
            }
            for privacy_request in queryset.select_related("user").order_by("pk")
        ]
        return self._page(
            request,
            queryset,
            action="approve_deletions",
            title=gettext("Approve deletion"),
            submit=gettext("Yes, erase it"),
            template="admin/requests/privacyrequest/approve_deletion.html",
            rows=rows,
        )

    @admin.action(description=_("Apply correction…"), permissions=["apply_correction"])
    def apply_corrections(self, request, queryset):
        if request.POST.get("post"):
            return self._run(
                request,
                queryset,
                services.correction_apply,
                ngettext_lazy(
                    "%(count)d correction applied: %(references)s.",
                    "%(count)d corrections applied: %(references)s.",
                    "count",
                ),
            )
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
        return self._page(
            request,
            queryset,
            action="apply_corrections",
            title=gettext("Apply correction"),
            submit=gettext("Apply"),
            template="admin/requests/privacyrequest/apply_correction.html",
            rows=rows,
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


# --- legal holds ------------------------------------------------------------------------------


class LegalHoldForm(forms.ModelForm):
    class Meta:
        model = LegalHold
        fields = ["user", "reason"]

    def clean_user(self):
        user = self.cleaned_data["user"]
        # The service refuses it too (under a lock); here the officer keeps what they typed.
        if services.active_hold(user) is not None:
            raise forms.ValidationError(_("This user already has an active legal hold."))
        return user


class ActiveHoldFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("released", _("Released"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(released_at__isnull=True)
        if self.value() == "released":
            return queryset.filter(released_at__isnull=False)
        return queryset


@admin.register(LegalHold)
class LegalHoldAdmin(admin.ModelAdmin):
    """Holds are set and released through the services (audit rows); never edited or deleted."""

    form = LegalHoldForm
    list_display = ["user", "reason", "set_by", "set_at", "released_at"]
    list_select_related = ["user", "set_by"]
    list_filter = [ActiveHoldFilter]
    search_fields = ["user__phone"]
    autocomplete_fields = ["user"]
    readonly_fields = ["set_by", "set_at", "released_by", "released_at"]
    actions = ["release_holds"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "reason"]
        return ["user", "reason", "set_by", "set_at", "released_by", "released_at"]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(user__phone__contains=term)
        digits = normalise_phone_search(term)
        if digits:
            condition |= Q(user__phone__contains=digits)
        return queryset.filter(condition), False

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "user" and formfield is not None:
            # Pick an existing user; adding, editing or deleting users is not done from here.
            widget = formfield.widget
            widget.can_add_related = widget.can_change_related = widget.can_delete_related = False
        return formfield

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_release_permission(self, request):
        return request.user.has_perm("requests.change_legalhold")

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except services.RequestError as error:
            # The admin saves in its own atomic block: nothing of the refused hold remains.
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        hold = services.legal_hold_set(user=obj.user, reason=obj.reason, actor=request.user)
        obj.pk, obj.set_by, obj.set_at, obj.reason = hold.pk, hold.set_by, hold.set_at, hold.reason

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        hold = self.get_object(request, unquote(object_id))
        if hold is not None and hold.released_at is None and self.has_release_permission(request):
            extra_context["release_changelist_url"] = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist",
                current_app=self.admin_site.name,
            )
            extra_context["action_checkbox_name"] = helpers.ACTION_CHECKBOX_NAME
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Release the selected holds"), permissions=["release"])
    def release_holds(self, request, queryset):
        # A released hold lets erasure go ahead.
        require_recent_reauthentication(request)
        released = []
        for hold in queryset.select_related("user").order_by("pk"):
            try:
                services.legal_hold_release(hold=hold, actor=request.user)
            except services.RequestError as error:
                self.message_user(
                    request,
                    gettext("%(hold)s: %(message)s") % {"hold": hold, "message": error.message},
                    messages.ERROR,
                )
            else:
                released.append(hold)
        if released:
            self.message_user(
                request,
                ngettext(
                    "%(count)d legal hold released.",
                    "%(count)d legal holds released.",
                    len(released),
                )
                % {"count": len(released)},
                messages.SUCCESS,
            )
        if request.POST.get("_return_to_change") and len(released) == 1:
            return HttpResponseRedirect(
                reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                    args=[released[0].pk],
                    current_app=self.admin_site.name,
                )
            )
        return None


@admin.register(DeletionTombstone)
class DeletionTombstoneAdmin(ReadOnlyAdmin):
    """What each deletion erased, by user id only: evidence for replaying it after a restore."""

    list_display = ["erased_at", "user_id", "request", "whole_account", "kinds"]
    list_filter = ["whole_account"]
    search_fields = ["=user_id"]
    list_select_related = ["request"]
    fields = ["erased_at", "user_id", "request", "whole_account", "kinds"]
    readonly_fields = fields


# --- recipients ------------------------------------------------------------------------------

OPEN_NOTICE_STATUSES = [
    status for status in DeletionNotice.Status.values if status not in DeletionNotice.DONE
]


def _https_by_default(db_field, **kwargs):
    if db_field.name == "endpoint":
        kwargs["assume_scheme"] = "https"
    return db_field.formfield(**kwargs)


class RecipientForm(forms.ModelForm):
    class Meta:
        model = Recipient
        fields = ["name", "contact", "data_categories", "endpoint", "is_active"]
        # The admin passes its own callback (RecipientAdmin.formfield_for_dbfield does the same).
        formfield_callback = _https_by_default
        help_texts = {
            "contact": _(
                "Who to reach there, and how. Users see it on “Who received my data” "
                "(policy 3.1: the recipient's name and contact details)."
            ),
            "is_active": _(
                "Untick when we stop sharing with this recipient: it can no longer be chosen for "
                "a new disclosure, and it is still told to delete what it received."
            ),
        }


@admin.register(Recipient)
class RecipientAdmin(AdminUrls, admin.ModelAdmin):
    """The register of recipients (policy 3.1). Officers manage it; everyone on the desk sees it.

    The signing secret never appears here: "Set a new secret" makes one through
    ``propagation.recipient_secret_set`` and shows it in that response only.
    """

    form = RecipientForm
    list_display = [
        "name",
        "is_active",
        "delivery",
        "categories",
        "secret_state",
        "open_notices",
        "failed_notices",
    ]
    list_filter = ["is_active"]
    search_fields = ["name"]
    filter_horizontal = ["data_categories"]
    readonly_fields = ["secret_state", "records", "created_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("data_categories")
            .annotate(
                open_count=Count("notices", filter=Q(notices__status__in=OPEN_NOTICE_STATUSES)),
                failed_count=Count(
                    "notices", filter=Q(notices__status=DeletionNotice.Status.FAILED)
                ),
            )
        )

    def get_fieldsets(self, request, obj=None):
        main = (None, {"fields": ["name", "contact", "data_categories", "endpoint", "is_active"]})
        if obj is None:
            return [main]
        return [
            main,
            (_("Signing secret"), {"fields": ["secret_state"]}),
            (_("Records"), {"fields": ["records", "created_at"]}),
        ]

    def get_actions(self, request):
        # Recipients that received data cannot go (PROTECT): deactivate them instead.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "endpoint":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        # The endpoint is where users' deletion notices go: re-authenticate to point it
        # elsewhere. Raised inside the admin's transaction, so nothing is saved meanwhile.
        if "endpoint" in form.changed_data:
            require_recent_reauthentication(request)
        super().save_model(request, obj, form, change)

    @admin.display(description=_("deletion notices"))
    def delivery(self, obj):
        return obj.endpoint or gettext("manual (sent by staff)")

    @admin.display(description=_("data categories received"))
    def categories(self, obj):
        return ", ".join(category.name for category in obj.data_categories.all()) or "—"

    @admin.display(description=_("signing secret"), ordering="secret_set_at")
    def secret_state(self, obj):
        if obj is None or obj.secret_set_at is None:
            if obj is not None and obj.endpoint:
                return format_html(
                    '<strong class="desk-warning">{}</strong>',
                    gettext("Not set: notices to this endpoint cannot be signed."),
                )
            return gettext("Not set")
        return gettext("Set on %(date)s") % {
            "date": timezone.localtime(obj.secret_set_at).strftime("%Y-%m-%d %H:%M")
        }

    @admin.display(description=_("open notices"), ordering="open_count")
    def open_notices(self, obj):
        return obj.open_count

    @admin.display(description=_("failed notices"), ordering="failed_count")
    def failed_notices(self, obj):
        if obj.failed_count:
            return format_html('<strong class="desk-warning">{}</strong>', obj.failed_count)
        return 0

    @admin.display(description=_("records"))
    def records(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        disclosures = obj.disclosures.count()
        notices = obj.notices.count()
        text = "; ".join(
            [
                ngettext("%(count)d disclosure", "%(count)d disclosures", disclosures)
                % {"count": disclosures},
                ngettext("%(count)d deletion notice", "%(count)d deletion notices", notices)
                % {"count": notices},
            ]
        )
        if disclosures or notices:
            text += ". " + gettext(
                "A recipient with records cannot be deleted: untick “active” instead."
            )
        return text

    @staticmethod
    def _has_records(obj) -> bool:
        return obj.disclosures.exists() or obj.notices.exists()

    def has_delete_permission(self, request, obj=None):
        if obj is not None and self._has_records(obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_view(self, request, object_id, extra_context=None):
        # Staff who may not delete recipients get the admin's plain 403, not a message that
        # names the recipient.
        if not super().has_delete_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and self._has_records(obj):
            self.message_user(
                request,
                gettext(
                    "“%(name)s” cannot be deleted: its disclosures and deletion notices are the "
                    "record of who received users' data. Untick “active” instead."
                )
                % {"name": obj.name},
                messages.ERROR,
            )
            return HttpResponseRedirect(self._url("change", obj.pk))
        return super().delete_view(request, object_id, extra_context)

    # --- the signing secret ----------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/secret/",
                self.admin_site.admin_view(self.secret_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_secret",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and self.has_change_permission(request, obj):
            extra_context["secret_url"] = self._url("secret", obj.pk)
        return super().change_view(request, object_id, form_url, extra_context)

    def secret_view(self, request, object_id):
        """GET asks to confirm (the old secret stops working); POST sets and shows the new one.

        The secret is rendered straight into the POST's response, never into a message
        (messages travel in the session or a cookie), and the response is not cached.
        """
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        recipient = self.get_object(request, unquote(object_id))
        if recipient is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, recipient):
            raise PermissionDenied
        require_recent_reauthentication(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": recipient,
            "title": gettext("Set a new signing secret"),
            "change_url": self._url("change", recipient.pk),
        }
        template = "admin/requests/recipient/secret_confirm.html"
        if request.method == "POST":
            context["secret"] = propagation.recipient_secret_set(
                recipient=recipient, actor=request.user
            )
            self.log_change(request, recipient, gettext("Set a new signing secret."))
            template = "admin/requests/recipient/secret_set.html"
        request.current_app = self.admin_site.name
        response = TemplateResponse(request, template, context)
        add_never_cache_headers(response)
        return response


# --- disclosures -----------------------------------------------------------------------------


class DisclosureForm(forms.ModelForm):
    """Recording a sharing: the form checks what it can show next to a field, then
    ``propagation.disclosure_record`` decides (consent, legal exception) and writes.

    The service runs as the last step of validation, so a refusal is a form error and
    the staff member keeps what they typed; ``recorded`` is the disclosure it wrote.
    """

    actor = None  # set for each request by DisclosureAdmin.get_form

    class Meta:
        model = Disclosure
        fields = [
            "user",
            "recipient",
            "categories",
            "subject_identifier",
            "basis",
            "legal_exception",
            "legal_note",
            "disclosed_at",
        ]
        widgets = {"basis": forms.RadioSelect, "legal_note": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "categories": _("Only categories the recipient is registered to receive."),
            "legal_exception": _("Only when the basis is a legal exception."),
            "legal_note": _("Why the exception applies: the law, the order or the case."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.recorded = None
        if "recipient" in self.fields:
            self.fields["recipient"].queryset = Recipient.objects.filter(is_active=True)

    def clean(self):
        data = super().clean()
        recipient, categories = data.get("recipient"), data.get("categories")
        if recipient is not None and categories:
            registered = set(recipient.data_categories.values_list("pk", flat=True))
            outside = [category.name for category in categories if category.pk not in registered]
            if outside:
                self.add_error(
                    "categories",
                    gettext(
                        "%(recipient)s is not registered to receive: %(categories)s. An officer "
                        "updates the recipient first."
                    )
                    % {"recipient": recipient.name, "categories": ", ".join(outside)},
                )
        disclosed_at = data.get("disclosed_at")
        if disclosed_at is not None and disclosed_at > timezone.now():
            self.add_error("disclosed_at", gettext("A sharing is recorded after it happened."))
        basis = data.get("basis")
        if basis == Disclosure.Basis.CONSENT and (
            data.get("legal_exception") or (data.get("legal_note") or "").strip()
        ):
            self.add_error(
                "legal_exception",
                gettext("The sharing is on the user's consent: leave the legal exception empty."),
            )
        if basis == Disclosure.Basis.LEGAL_EXCEPTION:
            if not data.get("legal_exception"):
                self.add_error(
                    "legal_exception", gettext("Choose the legal exception (policy 3.4).")
                )
            if not (data.get("legal_note") or "").strip():
                self.add_error("legal_note", gettext("Note why the legal exception applies."))
        return data

    def _post_clean(self):
        super()._post_clean()
        if self._errors or self.instance.pk is not None:
            return
        data = self.cleaned_data
        try:
            self.recorded = propagation.disclosure_record(
                user=data["user"],
                recipient=data["recipient"],
                categories=list(data["categories"]),
                subject_identifier=data["subject_identifier"],
                basis=data["basis"],
                legal_exception=data.get("legal_exception") or "",
                legal_note=data.get("legal_note") or "",
                disclosed_at=data.get("disclosed_at"),
                actor=self.actor,
            )
        except propagation.PropagationError as error:
            if error.code == "consent_missing":
                self.add_error(
                    "basis",
                    gettext(
                        "The user has not given separate consent to sharing with third "
                        "parties. Record the sharing on a legal exception if one applies; "
                        "otherwise the data must not be shared."
                    ),
                )
            else:
                self.add_error(None, error.message)


@admin.register(Disclosure)
class DisclosureAdmin(admin.ModelAdmin):
    """The ledger of sharing: recorded through the service, then never edited or deleted."""

    form = DisclosureForm
    list_display = [
        "disclosed_at",
        "user_phone",
        "recipient",
        "category_names",
        "basis",
        "legal_exception",
    ]
    list_filter = ["recipient", "basis"]
    list_select_related = ["user", "recipient"]
    search_fields = ["user__phone"]
    search_help_text = _("Mobile number (spaces, dashes and +86 are fine).")
    date_hierarchy = "disclosed_at"
    autocomplete_fields = ["user"]
    filter_horizontal = ["categories"]
    readonly_fields = ["consent_event", "recorded_by", "recorded_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("categories")

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(DisclosureForm.Meta.fields)
        return [
            "disclosed_at",
            "user",
            "recipient",
            "categories",
            "subject_identifier",
            "basis",
            "consent_event",
            "legal_exception",
            "legal_note",
            "recorded_by",
            "recorded_at",
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user  # a class made for this request by modelform_factory
        return form

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name in ("user", "recipient") and formfield is not None:
            # Pick existing ones; users and recipients are not managed from here.
            widget = formfield.widget
            widget.can_add_related = widget.can_change_related = widget.can_delete_related = False
            widget.can_view_related = False
        return formfield

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(user__phone__contains=term)
        digits = normalise_phone_search(term)
        if digits:
            condition |= Q(user__phone__contains=digits)
        return queryset.filter(condition), False

    @admin.display(description=_("mobile number"), ordering="user__phone")
    def user_phone(self, obj):
        return phone_display(obj.user.phone) or gettext("(account closed)")

    @admin.display(description=_("data categories"))
    def category_names(self, obj):
        return ", ".join(category.name for category in obj.categories.all()) or "—"

    def save_form(self, request, form, change):
        # The service wrote the disclosure (and its categories) while validating the form.
        return form.recorded

    def save_model(self, request, obj, form, change):
        pass

    def save_related(self, request, form, formsets, change):
        pass

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


# --- deletion notices ------------------------------------------------------------------------


class MarkSentForm(forms.Form):
    note = forms.CharField(
        label=_("How and when the notice was sent"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "The evidence: the channel and address used, the date, a reference to the message. "
            "Staff only."
        ),
    )


class CloseNoticeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for closing"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The user sees this reason on the request's page and timeline."),
    )


class NoticeAttemptInline(admin.TabularInline):
    """The delivery attempts: what the recipient answered, shown and never edited."""

    model = NoticeAttempt
    fields = ["started_at", "status_code", "error", "duration_ms"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request, obj=None):
        # The attempts are part of the notice: whoever may see the notice sees them.
        return request.user.has_perm("requests.view_deletionnotice")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _category_names(codes) -> str:
    # A notice keeps the codes (what the recipient is sent); staff read the names.
    found = {c.code: c.name for c in DataCategory.objects.filter(code__in=codes)}
    return ", ".join(found.get(code, code) for code in codes)


def _notice_label(notice: DeletionNotice) -> str:
    return f"{notice.recipient.name} · {_short(notice.request)}"


@admin.register(DeletionNotice)
class DeletionNoticeAdmin(DeskButtons, admin.ModelAdmin):
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

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(recipient__name__icontains=term)
        if re.fullmatch(r"[0-9a-fA-F-]{4,36}", term):
            condition |= Q(request__reference__startswith=term.lower())
        return queryset.filter(condition), False

    @admin.display(description=_("request"), ordering="request__reference")
    def request_reference(self, obj):
        return _short(obj.request)

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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The page is read-only: changes go through the actions only.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_act_permission(self, request):
        return request.user.has_perm("requests.change_deletionnotice")

    # --- the notice's page ----------------------------------------------------------------

    def _actions_for(self, request, obj) -> list[tuple[str, str]]:
        Status = DeletionNotice.Status
        applies = {
            "retry_notices": obj.status in (Status.FAILED, Status.DELIVERED)
            and bool(obj.recipient.endpoint),
            "mark_notices_sent": obj.status == Status.MANUAL,
            "close_notices": not obj.is_done,
        }
        allowed = self.get_actions(request)
        return [
            (name, allowed[name][2]) for name in self.actions if name in allowed and applies[name]
        ]

    def _back(self, request):
        """From a notice's page, back to that page; from the list, back to the list."""
        if request.POST.get("_return_to_change"):
            selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
            if len(selected) == 1 and selected[0].isdigit():
                return HttpResponseRedirect(self._url("change", selected[0]))
        return None

    def _run(self, request, queryset, service, success, **kwargs):
        """Call ``service`` for each selected notice; report what worked and each refusal."""
        done = []
        for notice in queryset.select_related("request", "recipient").order_by("pk"):
            try:
                service(notice=notice, actor=request.user, **kwargs)
            except propagation.PropagationError as error:
                self.message_user(
                    request,
                    gettext("%(notice)s: %(message)s")
                    % {"notice": _notice_label(notice), "message": error.message},
                    messages.ERROR,
                )
            else:
                done.append(notice)
        if done:
            self.message_user(
                request,
                success % {"count": len(done), "notices": "; ".join(map(_notice_label, done))},
                messages.SUCCESS,
            )
        return self._back(request)

    def _form_action(self, request, queryset, form_class, *, action, title, submit, run, **ctx):
        """An action with an intermediate page: show the form, then run with its data."""
        if request.POST.get("post"):
            form = form_class(request.POST)
            if form.is_valid():
                return run(form.cleaned_data)
        else:
            form = form_class()
        selected = list(queryset.select_related("request", "recipient").order_by("pk"))
        for notice in selected:
            notice.category_names = _category_names(notice.categories)
        from_change = bool(request.POST.get("_return_to_change")) and len(selected) == 1
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "action": action,
            "submit_label": submit,
            "form": form,
            "notices": selected,
            # The base template posts the selection back from ``requests``.
            "requests": selected,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "return_to_change": from_change,
            "cancel_url": (
                self._url("change", selected[0].pk) if from_change else self._url("changelist")
            ),
            "media": self.media + form.media,
            **ctx,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/requests/deletionnotice/action_form.html", context)

    # --- the actions ---------------------------------------------------------------------

    @admin.action(description=_("Retry"), permissions=["act"])
    def retry_notices(self, request, queryset):
        return self._run(
            request,
            queryset,
            propagation.notice_retry,
            ngettext_lazy(
                "%(count)d notice queued to be sent again: %(notices)s.",
                "%(count)d notices queued to be sent again: %(notices)s.",
                "count",
            ),
        )

    @admin.action(description=_("Mark as sent by hand…"), permissions=["act"])
    def mark_notices_sent(self, request, queryset):
        return self._form_action(
            request,
            queryset,
            MarkSentForm,
            action="mark_notices_sent",
            title=gettext("Mark as sent by hand"),
            submit=gettext("Mark as sent"),
            show_contact=True,
            run=lambda data: self._run(
                request,
                queryset,
                propagation.notice_mark_sent,
                ngettext_lazy(
                    "%(count)d notice marked as sent by hand: %(notices)s.",
                    "%(count)d notices marked as sent by hand: %(notices)s.",
                    "count",
                ),
                note=data["note"],
            ),
        )

    @admin.action(description=_("Close with a reason…"), permissions=["act"])
    def close_notices(self, request, queryset):
        return self._form_action(
            request,
            queryset,
            CloseNoticeForm,
            action="close_notices",
            title=gettext("Close with a reason"),
            submit=gettext("Close"),
            run=lambda data: self._run(
                request,
                queryset,
                propagation.notice_close,
                ngettext_lazy(
                    "%(count)d notice closed: %(notices)s.",
                    "%(count)d notices closed: %(notices)s.",
                    "count",
                ),
                reason=data["reason"],
            ),
        )
