"""The staff desk's shared pieces, written once for every app's admin.

- ``ReadOnlyAdmin`` and ``ReadOnlyInline``: rows that are evidence, shown and never edited;
  ``WithoutBulkDelete`` for admins whose rows are deleted one by one or never.
- ``ServiceErrorAsMessage``: a service's refusal on the add or change page becomes an error
  message, not a 500.
- ``ConditionSearch`` and ``PhoneSearch``: a search box answered by one condition, the way
  staff type numbers ("138 0013-8000", "+86 …").
- ``DeskActions``: changelist actions that run a service over the selection (each refusal an
  error message, the rest one success message), with an intermediate page for the actions
  that ask for a form or a confirmation, as Django's own ``delete_selected`` does;
  ``DeskButtons``: the same actions as buttons on an object's page.
- ``DateSetFilter``: a list filter on whether a date is set (live or revoked, active or
  released).

The kernel imports no app: each admin names its own service error class and templates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext


def normalise_phone_search(term: str) -> str:
    """'138 0013-8000' or '+86 138…' → digits as stored in E.164, so either form finds the user."""
    digits = "".join(ch for ch in term if ch.isdigit())
    if term.strip().startswith("+") or not digits:
        return f"+{digits}" if digits else ""
    return digits


def phone_condition(term: str, *, field: str) -> Q:
    """Rows whose number in ``field`` holds the term as typed or its digits as stored."""
    condition = Q(**{f"{field}__contains": term})
    digits = normalise_phone_search(term)
    if digits:
        condition |= Q(**{f"{field}__contains": digits})
    return condition


class ConditionSearch:
    """The search box answered by ``search_condition(term)`` on the whole term, instead of
    Django's word-by-word search: numbers and references are typed whole, with spaces."""

    def search_condition(self, term: str) -> Q:
        raise NotImplementedError

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(self.search_condition(term)), False


class PhoneSearch(ConditionSearch):
    """Search by the mobile number in ``phone_field``, however staff type it."""

    phone_field = "user__phone"

    def search_condition(self, term: str) -> Q:
        return phone_condition(term, field=self.phone_field)


class WithoutBulkDelete:
    """No "delete selected" action: a bulk delete would not look at each row."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class ReadOnlyAdmin(WithoutBulkDelete, admin.ModelAdmin):
    """View permission only, whoever asks: no add, change or delete, no bulk delete."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows shown under their parent and never edited: every field read-only.

    ``view_permission`` ("app.codename"), when set, is what it takes to see them: rows that
    are part of the parent are seen by whoever may see the parent.
    """

    view_permission = ""
    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return list(self.fields or ())

    def has_view_permission(self, request, obj=None):
        if self.view_permission:
            return request.user.has_perm(self.view_permission)
        return super().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceErrorAsMessage:
    """A refused save (``service_error`` from a service) becomes an error message, not a 500.

    The admin saves inside its own atomic block, so nothing of the refused save remains.
    """

    service_error: type[Exception]  # set by each admin: the error its services raise

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except self.service_error as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class DateSetFilter(admin.SimpleListFilter):
    """Two choices on whether ``date_field`` is set: ``unset`` and ``isset`` are each a
    (value, label) pair, e.g. ("live", _("Live")) and ("revoked", _("Revoked"))."""

    date_field = ""
    unset: tuple[str, str] = ("", "")
    isset: tuple[str, str] = ("", "")

    def lookups(self, request, model_admin):
        return [self.unset, self.isset]

    def queryset(self, request, queryset):
        if self.value() == self.unset[0]:
            return queryset.filter(**{f"{self.date_field}__isnull": True})
        if self.value() == self.isset[0]:
            return queryset.filter(**{f"{self.date_field}__isnull": False})
        return queryset


class AdminUrls:
    """The admin's own URLs by view name ("change", "changelist", …) on its admin site."""

    def admin_url(self, view: str, *args) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}",
            args=args,
            current_app=self.admin_site.name,
        )


class DeskActions(AdminUrls):
    """Actions that call a service for each selected object, and their pages.

    An admin sets ``service_error`` (the error its services raise, with a ``message``) and
    ``action_template`` (the intermediate page: the selection, the form if any, a confirm
    button that posts the same action back with post=yes, so the permission check and the
    service call stay the action's own).
    """

    service_error: type[Exception]  # set by each admin: the error its services raise
    action_template = ""

    def run_service(
        self,
        request,
        objects: Iterable,
        call: Callable[[object], object],
        *,
        label: Callable[[object], str],
        success: Callable[[list], str],
    ) -> list:
        """``call(obj)`` for each object; each refusal becomes an error message naming the
        object by ``label``; those that went through get one message, ``success(done)``."""
        done = []
        for obj in objects:
            try:
                call(obj)
            except self.service_error as error:
                self.message_user(
                    request,
                    gettext("%(item)s: %(message)s")
                    % {"item": label(obj), "message": error.message},
                    messages.ERROR,
                )
            else:
                done.append(obj)
        if done:
            self.message_user(request, success(done), messages.SUCCESS)
        return done

    def back_to_change(self, request):
        """From an object's page, back to that page; from the list, back to the list."""
        if request.POST.get("_return_to_change"):
            selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
            if len(selected) == 1 and selected[0].isdigit():
                return HttpResponseRedirect(self.admin_url("change", selected[0]))
        return None

    def action_selection(self, queryset) -> list:
        """The selected objects as the intermediate page lists them."""
        return list(queryset.order_by("pk"))

    def action_page(self, request, queryset, *, action, title, submit, form=None, **ctx):
        """The intermediate page of ``action`` over the selection (``template`` in ``ctx``
        replaces ``action_template``)."""
        selected = self.action_selection(queryset)
        from_change = bool(request.POST.get("_return_to_change")) and len(selected) == 1
        template = ctx.pop("template", None) or self.action_template
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "action": action,
            "submit_label": submit,
            "form": form,
            "selected": selected,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "return_to_change": from_change,
            "cancel_url": (
                self.admin_url("change", selected[0].pk)
                if from_change
                else self.admin_url("changelist")
            ),
            "media": self.media + (form.media if form is not None else forms.Media()),
            **ctx,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, template, context)

    def form_action(self, request, queryset, form_class, *, run, **page):
        """An action with a form on its intermediate page: show it, then ``run(cleaned_data)``."""
        if request.POST.get("post"):
            form = form_class(request.POST)
            if form.is_valid():
                return run(form.cleaned_data)
        else:
            form = form_class()
        return self.action_page(request, queryset, form=form, **page)


class DeskButtons(DeskActions):
    """The actions as buttons on an object's page: ``actions_applying(request, obj)`` says
    which apply to it; each button runs its action on that object and comes back to the page
    (the change form template renders ``desk_actions``)."""

    def actions_applying(self, request, obj) -> dict[str, bool]:
        return {}

    def desk_buttons(self, request, obj) -> Sequence[tuple[str, str]]:
        """(name, label) of each action the staff member may run that applies to ``obj``."""
        applies = self.actions_applying(request, obj)
        allowed = self.get_actions(request)
        return [
            (name, allowed[name][2])
            for name in self.actions
            if name in allowed and applies.get(name)
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            extra_context["desk_actions"] = self.desk_buttons(request, obj)
            extra_context["desk_changelist_url"] = self.admin_url("changelist")
            extra_context["action_checkbox_name"] = helpers.ACTION_CHECKBOX_NAME
        return super().change_view(request, object_id, form_url, extra_context)
