"""What staff give the request desk: its list filters and the forms of its action pages."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from privacyportal.desk import staff_text

from ..deadlines import due_date
from ..models import PrivacyRequest

OPEN = PrivacyRequest.OPEN_STATUSES
DUE_SOON_WORKING_DAYS = 3


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
    reason = staff_text(
        _("Reason for the extension"),
        help_text=_("The user sees this reason on the request's timeline and is told by SMS."),
    )


class RejectForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"), choices=[("", "---------"), *PrivacyRequest.RejectionReason.choices]
    )
    text = staff_text(
        _("Explanation"),
        help_text=_(
            "Shown to the user with the reason and where to complain; needed for “Other reason”."
        ),
        required=False,
    )


class CompleteForm(forms.Form):
    answer = staff_text(
        _("Answer to the user"),
        help_text=_("The user sees this answer on the request's timeline."),
        rows=6,
    )
