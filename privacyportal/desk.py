"""The staff desk's shared pieces, written once for every app's admin.

- ``ReadOnlyAdmin`` and ``ReadOnlyInline``: rows that are evidence, shown and never edited;
  ``WithoutBulkDelete`` for admins whose rows are deleted one by one or never.
- ``ServiceErrorAsMessage``: a service's refusal on the add or change page becomes an error
  message, not a 500.
- ``ConditionSearch`` and ``PhoneSearch``: a search box answered by one condition, the way
  staff type numbers ("138 0013-8000", "+86 …").
- ``DeskAction``: a changelist action declared in a few lines: it runs a service over the
  selection (each refusal an error message, the rest one success message), after an
  intermediate page when it asks for a form or a confirmation, as Django's own
  ``delete_selected`` does; ``DeskActions`` runs it, ``DeskButtons`` shows the same actions
  as buttons on an object's page.
- ``staff_text``: what staff write on an action page (a reason, a note, an answer).
- ``DateSetFilter``: a list filter on whether a date is set (live or revoked, active or
  released).

The kernel imports no app: each admin names its own service error class and templates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .staff_access import require_recent_reauthentication


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

    # Whether the date is set is the row's state (a token live or revoked, a hold active or
    # released): the filter's name, unless an admin says otherwise.
    title = _("state")
    parameter_name = "state"
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


def staff_text(label, *, help_text, rows: int = 4, required: bool = True) -> forms.CharField:
    """What a staff member writes on an action page (a reason, a note, an answer): a text box
    of ``rows`` lines, its ``help_text`` saying who reads it."""
    return forms.CharField(
        label=label,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
        required=required,
    )


class DeskAction:
    """A changelist action that runs ``service`` over the selection, declared in the admin's
    class body (``start_requests = DeskAction(services.request_start, …)``).

    ``description`` and ``permission`` are what ``@admin.action`` takes; ``done`` is the
    success message, an ``ngettext_lazy`` counting "count" (the admin's ``done_message`` fills
    it). With a ``title``, the action first shows its intermediate page: ``submit`` labels its
    confirm button, ``form``'s cleaned data are the service's keyword arguments,
    ``context(queryset)`` adds what the page shows, ``template`` replaces the admin's
    ``action_template``. ``reauthenticate``: the password again before the service runs, for
    what cannot be undone. ``button`` labels the action's button on an object's page (the
    description otherwise). Nothing here writes audit rows: the services do, in their own
    transactions.
    """

    def __init__(
        self,
        service: Callable[..., object],
        *,
        description,
        permission: str,
        done,
        title="",
        submit="",
        form: type[forms.Form] | None = None,
        context: Callable[[object], dict] | None = None,
        template: str = "",
        reauthenticate: bool = False,
        button="",
    ):
        self.service, self.done = service, done
        self.title, self.submit, self.form = title, submit, form
        self.context, self.template = context, template
        self.reauthenticate = reauthenticate
        # What @admin.action sets, read by the admin's get_actions and its checks.
        self.short_description = description
        self.allowed_permissions = (permission,)
        self.button = button or description

    def __set_name__(self, owner, name):
        # The action's name is its attribute's: the intermediate page posts it back.
        self.__name__ = name

    def __call__(self, model_admin, request, queryset):
        confirmed = bool(request.POST.get("post"))
        form = None
        if self.form is not None:
            form = self.form(request.POST) if confirmed else self.form()
        if self.title and not (confirmed and (form is None or form.is_valid())):
            return model_admin.action_page(
                request,
                queryset,
                action=self.__name__,
                title=self.title,
                submit=self.submit,
                form=form,
                template=self.template,
                **(self.context(queryset) if self.context else {}),
            )
        if self.reauthenticate:
            require_recent_reauthentication(request)
        arguments = form.cleaned_data if form is not None else {}
        return model_admin.run_selected(request, queryset, self.service, self.done, **arguments)


class DeskActions(AdminUrls):
    """What runs the admin's ``DeskAction``s, and their intermediate pages.

    An admin sets ``service_error`` (the error its services raise, with a ``message``),
    ``service_object`` (the keyword its services take the object by) and ``action_template``
    (the intermediate page: the selection, the form if any, a confirm button that posts the
    same action back with post=yes, so the permission check and the service call stay the
    action's own). It may say which rows the services go through (``service_objects``), how
    a message names an object (``object_label``) and what the success message says of those
    done (``done_message``).
    """

    service_error: type[Exception]  # set by each admin: the error its services raise
    service_object = ""
    action_template = ""

    def service_objects(self, queryset):
        """The selection as the services go through it."""
        return queryset.order_by("pk")

    def object_label(self, obj) -> str:
        return str(obj)

    def done_message(self, message, done: list) -> str:
        return message % {"count": len(done)}

    def run_selected(self, request, queryset, service, message, **arguments):
        """``service`` for each selected object, by the staff member; each refusal becomes an
        error message naming the object, those that went through get one ``message``. Then
        back to the object's page when the action was asked from there."""
        done = []
        for obj in self.service_objects(queryset):
            try:
                service(**{self.service_object: obj}, actor=request.user, **arguments)
            except self.service_error as error:
                self.message_user(
                    request,
                    gettext("%(item)s: %(message)s")
                    % {"item": self.object_label(obj), "message": error.message},
                    messages.ERROR,
                )
            else:
                done.append(obj)
        if done:
            self.message_user(request, self.done_message(message, done), messages.SUCCESS)
        return self.back_to_change(request)

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

    def action_page(
        self, request, queryset, *, action, title, submit, form=None, template="", **ctx
    ):
        """The intermediate page of ``action`` over the selection (``template`` replaces
        ``action_template``)."""
        selected = self.action_selection(queryset)
        from_change = bool(request.POST.get("_return_to_change")) and len(selected) == 1
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
        return TemplateResponse(request, template or self.action_template, context)


class DeskButtons(DeskActions):
    """The actions as buttons on an object's page: ``actions_applying(request, obj)`` says
    which apply to it; each button runs its action on that object and comes back to the page
    (the change form template renders ``desk_actions``)."""

    def actions_applying(self, request, obj) -> dict[str, bool]:
        return {}

    def desk_buttons(self, request, obj) -> Sequence[tuple[str, str]]:
        """(name, label) of each action the staff member may run that applies to ``obj``: the
        action's ``button`` label, or its description."""
        applies = self.actions_applying(request, obj)
        allowed = self.get_actions(request)
        return [
            (name, getattr(allowed[name][0], "button", allowed[name][2]))
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
