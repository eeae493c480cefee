"""The staff desk for purposes, policy versions and the consent ledger.

Purposes and publishing go through ``consents.services`` (audit row, cache
invalidation); the ledger, the states beside it and the acceptances are
evidence, so the admin only shows them, to everyone, superusers included.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from privacyportal.desk import AdminUrls, ReadOnlyAdmin, ServiceErrorAsMessage, WithoutBulkDelete

from . import selectors, services
from .diff import diff_texts
from .models import (
    ConsentEvent,
    ConsentState,
    DataCategory,
    PolicyAcceptance,
    PolicyVersion,
    Purpose,
)


class ConsentErrorAsMessage(ServiceErrorAsMessage):
    """A refused save (ConsentError from a service) becomes an error message, not a 500."""

    service_error = services.ConsentError


# --- catalogue ------------------------------------------------------------------------


@admin.register(DataCategory)
class DataCategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh_hans", "name_en"]
    search_fields = ["code", "name_zh_hans", "name_en"]

    def get_readonly_fields(self, request, obj=None):
        # Purposes' text hashes and the recipients' register name categories by code.
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # Deleting would silently change what every purpose using it tells users.
        return False

    def save_model(self, request, obj, form, change):
        services.data_category_save(category=obj, actor=request.user)


@admin.register(Purpose)
class PurposeAdmin(ConsentErrorAsMessage, admin.ModelAdmin):
    list_display = [
        "code",
        "name_zh_hans",
        "name_en",
        "kind",
        "requires_separate_consent",
        "is_active",
        "consenting_users",
    ]
    list_filter = ["kind", "is_active", "requires_separate_consent"]
    search_fields = ["code", "name_zh_hans", "name_en"]
    filter_horizontal = ["data_categories"]
    fields = [
        "code",
        "kind",
        "name_zh_hans",
        "name_en",
        "description_zh_hans",
        "description_en",
        "requires_separate_consent",
        "data_categories",
        "is_active",
        "position",
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(consenting=Count("states", filter=Q(states__granted=True)))
        )

    @admin.display(description=_("users consenting"), ordering="consenting")
    def consenting_users(self, obj):
        if obj.is_basic:
            return gettext("everyone (basic)")
        return obj.consenting

    def get_readonly_fields(self, request, obj=None):
        # Code is what the code asks about; kind decides whether users may refuse.
        return ["code", "kind"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # The ledger refers to purposes for good: deactivate instead.
        return False

    def save_model(self, request, obj, form, change):
        services.purpose_save(
            purpose=obj, actor=request.user, categories=form.cleaned_data.get("data_categories")
        )

    def save_related(self, request, form, formsets, change):
        # The service already set the data categories (they are part of the audited text).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


# --- policy versions --------------------------------------------------------------------

DRAFT_FIELDS = [
    "title_zh_hans",
    "title_en",
    "body_zh_hans",
    "body_en",
    "summary_zh_hans",
    "summary_en",
    "is_material",
    "changed_purposes",
]


def _diff_html(old: str, new: str) -> str:
    # The template escapes every piece of text; only its own markup is left unescaped.
    return render_to_string("policy/_diff.html", {"diff": diff_texts(old, new)})


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ConsentErrorAsMessage, WithoutBulkDelete, AdminUrls, admin.ModelAdmin):
    list_display = [
        "version_number",
        "status",
        "is_material",
        "published_at",
        "title_zh_hans",
        "title_en",
    ]
    list_filter = ["status", "is_material"]
    search_fields = ["title_zh_hans", "title_en"]
    filter_horizontal = ["changed_purposes"]
    readonly_fields = ["number", "status", "created_at", "published_at", "diff_preview"]
    fieldsets = [
        (None, {"fields": ["number", "status", "created_at", "published_at"]}),
        (_("Text"), {"fields": DRAFT_FIELDS[:6]}),
        (_("What the change means for users"), {"fields": DRAFT_FIELDS[6:]}),
        (_("Compared with the version in force"), {"fields": ["diff_preview"]}),
    ]
    # No bulk delete (WithoutBulkDelete): it would not look at each row's status, so drafts
    # are deleted one by one.
    actions = ["publish_selected_draft"]

    @admin.display(description=_("version"), ordering="number")
    def version_number(self, obj):
        return obj.number or "—"

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_published:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description=_("what changes"))
    def diff_preview(self, obj):
        if obj is None or obj.pk is None:
            return gettext("Save the draft to see what it changes.")
        if obj.is_published:
            base = selectors.published_version(number=obj.number - 1) if obj.number > 1 else None
        else:
            base = selectors.version_in_force()
        if base is None:
            return gettext("There is no earlier version to compare with.")
        parts = [
            format_html(
                "<p>{}</p>",
                gettext("Compared with version %(number)s.") % {"number": base.number},
            )
        ]
        for label, old, new in [
            (gettext("zh-hans text"), base.body_zh_hans, obj.body_zh_hans),
            (gettext("English text"), base.body_en, obj.body_en),
        ]:
            parts.append(format_html("<h3>{}</h3>", label))
            # Safe: rendered by a template that escapes all text (see _diff_html).
            parts.append(mark_safe(_diff_html(old, new)))  # noqa: S308
        return mark_safe("".join(parts))  # noqa: S308

    def get_changeform_initial_data(self, request):
        # A new draft starts from the text in force, so staff edit the change, not retype it.
        # The summary and the material flag describe this change: they start empty.
        initial = super().get_changeform_initial_data(request)
        base = selectors.version_in_force()
        if base is not None:
            for name in ["title_zh_hans", "title_en", "body_zh_hans", "body_en"]:
                initial.setdefault(name, getattr(base, name))
        return initial

    def add_view(self, request, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        extra_context["draft_base"] = selectors.version_in_force()
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        services.policy_version_draft_save(
            version=obj,
            actor=request.user,
            changed_purposes=form.cleaned_data.get("changed_purposes"),
        )

    def save_related(self, request, form, formsets, change):
        # The service already set the changed purposes (they are part of the audited draft).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        services.policy_version_draft_delete(version=obj, actor=request.user)

    # Publishing: the changelist action and the button on a draft's page share the service.

    def _publish(self, request, version) -> bool:
        try:
            published = services.policy_version_publish(version=version, actor=request.user)
        except services.ConsentError as error:
            self.message_user(request, error.message, messages.ERROR)
            return False
        self.message_user(
            request,
            gettext("Version %(number)s is published and in force from now on.")
            % {"number": published.number},
            messages.SUCCESS,
        )
        return True

    def _confirmation(self, request, version):
        """The page a material version passes before publishing: whom it affects."""
        opts = self.opts
        number = (
            PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).aggregate(
                number=Max("number")
            )["number"]
            or 0
        ) + 1
        changed = list(version.changed_purposes.all())
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Publish a material change"),
            "opts": opts,
            "version": version,
            "number": number,
            "changed_purposes": changed,
            "users_to_accept": selectors.users_to_accept_count(),
            "users_suspended": selectors.users_suspended_count(purposes=changed),
            "publish_url": self.admin_url("publish", version.pk),
            "change_url": self.admin_url("change", version.pk),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/consents/policyversion/publish_confirmation.html", context
        )

    @admin.action(description=_("Publish selected draft"), permissions=["change"])
    def publish_selected_draft(self, request, queryset):
        selected = list(queryset[:2])
        if len(selected) != 1:
            self.message_user(
                request, gettext("Select exactly one draft to publish."), messages.ERROR
            )
            return None
        version = selected[0]
        if version.is_material and not version.is_published:
            return self._confirmation(request, version)
        self._publish(request, version)
        return None

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name="{}_{}_publish".format(*info),
            ),
            *super().get_urls(),
        ]

    def publish_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        version = self.get_object(request, unquote(object_id))
        if version is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        # A material version suspends processing for every user: staff see how many first.
        if (
            version.is_material
            and not version.is_published
            and request.POST.get("confirm") != "yes"
        ):
            return self._confirmation(request, version)
        self._publish(request, version)
        return redirect(self.admin_url("change", version.pk))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        version = self.get_object(request, unquote(object_id))
        if version is not None and not version.is_published and self.has_change_permission(request):
            extra_context["publish_url"] = self.admin_url("publish", version.pk)
        return super().change_view(request, object_id, form_url, extra_context)


# --- the ledger and what stands beside it: read-only for everyone -------------------------


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "user", "purpose", "action", "channel", "policy_version"]
    list_filter = ["purpose", "action", "channel", "occurred_at"]
    search_fields = ["user__phone"]
    date_hierarchy = "occurred_at"
    list_select_related = ["user", "purpose", "policy_version"]
    fields = [
        "receipt_id",
        "occurred_at",
        "user",
        "purpose",
        "action",
        "channel",
        "policy_version",
        "text_hash",
        "actor",
        "note",
        "ip_address",
        "user_agent",
        "previous_hash",
        "hash",
    ]
    readonly_fields = fields


@admin.register(ConsentState)
class ConsentStateAdmin(ReadOnlyAdmin):
    list_display = ["user", "purpose", "granted", "changed_at", "policy_version_number"]
    list_filter = ["purpose", "granted"]
    search_fields = ["user__phone"]
    list_select_related = ["user", "purpose"]
    fields = ["user", "purpose", "granted", "changed_at", "policy_version_number", "last_event"]
    readonly_fields = fields


@admin.register(PolicyAcceptance)
class PolicyAcceptanceAdmin(ReadOnlyAdmin):
    list_display = ["accepted_at", "user", "version", "express"]
    list_filter = ["express", "version"]
    search_fields = ["user__phone"]
    date_hierarchy = "accepted_at"
    list_select_related = ["user", "version"]
    fields = ["accepted_at", "user", "version", "express", "ip_address", "user_agent", "event"]
    readonly_fields = fields
