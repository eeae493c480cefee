from allauth.mfa.models import Authenticator
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Q
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext, gettext_noop, ngettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from . import services, staff_access
from .audit import audit_actions
from .desk import ConditionSearch, ReadOnlyAdmin, phone_condition
from .models import AuditEntry, PurgeRun
from .registry import registry

# Django's own strings on the desk that the project's catalogue translates: Django 5.2's
# zh_Hans catalogues leave these untranslated (the admin index's table headers, the add-user
# page, form errors), and "History" must read as an object's change history (修改历史),
# not as the project's browsing "History" (its msgctxt "browsing records"). Listed here so
# that makemessages keeps their entries; tests/requests/test_desk_words.py reads each in
# zh-hans. The widgets' JavaScript strings are in locale/zh_Hans/LC_MESSAGES/djangojs.po.
DJANGO_STRINGS = (
    # Django's zh-hans says 注销, which on the user pages means closing the account.
    gettext_noop("Log out"),
    gettext_noop("History"),
    gettext_noop("Change history: %s"),
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
    gettext_noop("Error:"),
    gettext_noop("Forgotten your login credentials?"),
    gettext_noop("In case you’ve forgotten, you are:"),
    gettext_noop("%(model)s instance with %(field)s %(value)r is not a valid choice."),
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
    ),
    # Translated by Django with ASCII punctuation after Chinese ("用户:", "请求被中断.").
    gettext_noop(":"),
    gettext_noop("CSRF verification failed. Request aborted."),
    gettext_noop("Please correct the duplicate data for %(field)s, which must be unique."),
    gettext_noop(
        "Please correct the duplicate data for %(field_name)s which must be unique for the "
        "%(lookup)s in %(date_field)s."
    ),
    gettext_noop("Please correct the duplicate values below."),
    gettext_noop(
        "Deleting %(class_name)s %(instance)s would require deleting the following protected "
        "related objects: %(related_objects)s"
    ),
    gettext_noop(
        "Deleting the %(object_name)s '%(escaped_object)s' would require deleting the "
        "following protected related objects:"
    ),
    gettext_noop(
        "Deleting the selected %(objects_name)s would require deleting the following "
        "protected related objects:"
    ),
    gettext_noop(
        "Deleting the selected %(objects_name)s would result in deleting related objects, but "
        "your account doesn't have permission to delete the following types of objects:"
    ),
    gettext_noop(
        "Please enter the correct %(username)s and password for a staff account. Note that "
        "both fields may be case-sensitive."
    ),
    gettext_noop("Popup closing…"),
    gettext_noop("Sorting priority: %(priority_number)s"),
    gettext_noop("Start typing to filter…"),
    gettext_noop("You may edit it again below."),
    gettext_noop("Set password: %s"),
    ngettext_lazy(
        "Ensure that there are no more than %(max)s decimal place.",
        "Ensure that there are no more than %(max)s decimal places.",
    ),
    ngettext_lazy(
        "Ensure that there are no more than %(max)s digit in total.",
        "Ensure that there are no more than %(max)s digits in total.",
    ),
)


class AuditActionFilter(admin.SimpleListFilter):
    """The actions of the fixed list by their labels (the column holds only the code)."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return audit_actions.choices()

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(action=self.value())
        return queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ConditionSearch, ReadOnlyAdmin):
    """Audit rows are only ever added (DESIGN §3): the admin shows them, to everyone, read-only.

    The search box finds the user concerned by their number however staff type it, an
    object by its id, or the rows of an action or an object type by part of its code.
    """

    list_display = ["occurred_at", "action_label", "actor", "user", "target_type", "target_id"]
    list_filter = [AuditActionFilter, "target_type"]
    search_fields = ["user__phone", "target_id", "target_type", "action"]
    date_hierarchy = "occurred_at"
    list_select_related = ["actor", "user"]
    fields = [
        "occurred_at",
        "action_label",
        "actor",
        "user",
        "target_type",
        "target_id",
        "details",
    ]
    readonly_fields = fields

    def search_condition(self, term: str) -> Q:
        return (
            phone_condition(term, field="user__phone")
            | Q(target_id=term)
            | Q(target_type__icontains=term)
            | Q(action__icontains=term)
        )

    @admin.display(description=_("action"), ordering="action")
    def action_label(self, obj):
        return f"{audit_actions.label(obj.action)} ({obj.action})"


def _target_labels() -> dict[str, object]:
    return {
        **{kind.code: kind.label for kind in registry.kinds()},
        **{target.code: target.label for target in registry.purge_targets()},
    }


class OutcomeFilter(admin.SimpleListFilter):
    title = _("outcome")
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [
            ("ok", _("finished")),
            ("failed", _("failed")),
            ("unfinished", _("running or interrupted")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "ok":
            return queryset.filter(finished_at__isnull=False, error="")
        if self.value() == "failed":
            return queryset.exclude(error="")
        if self.value() == "unfinished":
            return queryset.filter(finished_at__isnull=True)
        return queryset


@admin.register(PurgeRun)
class PurgeRunAdmin(ReadOnlyAdmin):
    """What each purge did, read-only; and the storage periods it enforces, for staff."""

    list_display = [
        "started_at",
        "target_display",
        "rows",
        "duration_ms",
        "longest_batch_ms",
        "batches",
        "dry_run",
        "outcome",
    ]
    list_filter = ["target", "dry_run", OutcomeFilter, "started_at"]
    search_fields = ["target", "run"]
    date_hierarchy = "started_at"
    fields = [
        "run",
        "target",
        "dry_run",
        "cutoff",
        "rows",
        "batches",
        "started_at",
        "finished_at",
        "duration_ms",
        "longest_batch_ms",
        "error",
    ]
    readonly_fields = fields

    @admin.display(description=_("what"), ordering="target")
    def target_display(self, obj):
        label = _target_labels().get(obj.target)
        return f"{label} ({obj.target})" if label else obj.target

    @admin.display(description=_("outcome"))
    def outcome(self, obj):
        if obj.error:
            return gettext("failed")
        if obj.finished_at is None:
            return gettext("running or interrupted")
        return gettext("finished")

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "storage-periods/",
                self.admin_site.admin_view(self.storage_periods_view),
                name="{}_{}_storage_periods".format(*info),
            ),
            *super().get_urls(),
        ]

    def storage_periods_view(self, request):
        """Every kind of personal data with its period and what happens at its end (policy
        5.1-5.2), beside what the last real purge did to it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        latest = (
            PurgeRun.objects.filter(dry_run=False)
            .values("target")
            .annotate(last=Max("pk"))
            .values_list("last", flat=True)
        )
        last_runs = {run.target: run for run in PurgeRun.objects.filter(pk__in=list(latest))}
        rows = []
        for kind in registry.kinds():
            timed = kind.retention is not None
            counted_from = (
                kind.model._meta.get_field(kind.timestamp_field).verbose_name
                if timed and kind.timestamp_field
                else ""
            )
            rows.append(
                {
                    "code": kind.code,
                    "label": kind.label,
                    "period": kind.period_label,
                    "counted_from": counted_from,
                    "action": kind.action_label,
                    "note": kind.retention_note,
                    "model": kind.model._meta.label,
                    "model_name": kind.model._meta.verbose_name_plural,
                    "enforced_by": gettext("the daily purge")
                    if timed
                    else gettext("closing the account (a deletion request)"),
                    "last_run": last_runs.get(kind.code),
                }
            )
        for target in registry.purge_targets():
            rows.append(
                {
                    "code": target.code,
                    "label": target.label,
                    "period": target.period,
                    "counted_from": "",
                    "action": target.action,
                    "note": "",
                    "model": target.model_label,
                    "model_name": "",
                    "enforced_by": gettext("the daily purge"),
                    "last_run": last_runs.get(target.code),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Storage periods"),
            "rows": rows,
        }
        return TemplateResponse(request, "admin/privacyportal/storage_periods.html", context)


# allauth.mfa's own admin shows and edits the authenticators' data (the TOTP secret).
admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(ReadOnlyAdmin):
    """Who has which second factor, never its secret; a superuser resets one (a lost phone)."""

    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type"]
    search_fields = ["user__phone"]
    list_select_related = ["user"]
    fields = ["user", "type", "created_at", "last_used_at"]
    readonly_fields = fields
    actions = ["reset_second_factor"]

    def has_reset_permission(self, request):
        return request.user.is_superuser

    @admin.action(
        description=_("Reset the second factor of the selected accounts"), permissions=["reset"]
    )
    def reset_second_factor(self, request, queryset):
        staff_access.require_recent_reauthentication(request)
        users = {authenticator.user for authenticator in queryset.select_related("user")}
        for user in sorted(users, key=lambda user: user.pk):
            services.second_factor_reset(user=user, actor=request.user)
        self.message_user(
            request,
            ngettext(
                "Reset the second factor of %(count)d account: it sets up a new one at its "
                "next visit to the desk.",
                "Reset the second factor of %(count)d accounts: each sets up a new one at its "
                "next visit to the desk.",
                len(users),
            )
            % {"count": len(users)},
            messages.SUCCESS,
        )
