"""Service tokens on the staff desk: create one per calling service (shown once), revoke it.

A token is never edited: its scopes are fixed when it is made, so a cached token can
never be out of date; to change them, revoke it and make a new one. Nothing deletes a
token (the revoked row is the record of who could call). Who may do what is
``api/migrations/0002_roles_for_service_tokens.py``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from privacyportal.desk import AdminUrls, DateSetFilter, WithoutBulkDelete
from privacyportal.staff_access import require_recent_reauthentication

from . import services
from .models import Scope, ServiceToken


class ServiceTokenCreateForm(forms.Form):
    service = forms.CharField(
        label=_("Service"),
        max_length=100,
        help_text=_("The calling service, as it appears in the logs (e.g. shop, search)."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple
    )


class StateFilter(DateSetFilter):
    date_field = "revoked_at"
    unset = ("live", _("Live"))
    isset = ("revoked", _("Revoked"))


@admin.register(ServiceToken)
class ServiceTokenAdmin(WithoutBulkDelete, AdminUrls, admin.ModelAdmin):
    list_display = [
        "service",
        "prefix",
        "scope_list",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = [StateFilter]
    search_fields = ["service", "prefix"]
    list_select_related = ["created_by", "revoked_by"]
    # The page shows what the list does, and who revoked the token.
    fields = [*list_display, "revoked_by"]
    readonly_fields = fields
    actions = ["revoke_tokens"]

    @admin.display(description=_("scopes"))
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    def has_change_permission(self, request, obj=None):
        # "change" is the permission to revoke (a list action); a token's page has nothing
        # to edit, so it is read-only for everyone.
        if obj is not None:
            return False
        return super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Revoke the selected tokens"), permissions=["change"])
    def revoke_tokens(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            services.service_token_revoke(token=token, actor=request.user)
            self.log_change(request, token, gettext("Revoked the token."))
            revoked += 1
        self.message_user(
            request,
            ngettext("Revoked %(count)d token.", "Revoked %(count)d tokens.", revoked)
            % {"count": revoked},
            messages.SUCCESS,
        )

    def add_view(self, request, form_url="", extra_context=None):
        """The form asks for the service and scopes; the POST that creates shows the token.

        The token is rendered straight into that response, never into a message (messages
        travel in the session or a cookie), and the response is not cached.
        """
        if not self.has_add_permission(request):
            raise PermissionDenied
        # A token reads consents and writes disclosures for as long as it lives.
        require_recent_reauthentication(request)
        form = ServiceTokenCreateForm(request.POST if request.method == "POST" else None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Create a service token"),
            "changelist_url": self.admin_url("changelist"),
            "form": form,
        }
        template = "admin/api/servicetoken/add.html"
        if form.is_bound and form.is_valid():
            try:
                token, plaintext = services.service_token_create(
                    service=form.cleaned_data["service"],
                    scopes=form.cleaned_data["scopes"],
                    actor=request.user,
                )
            except services.TokenError as error:
                form.add_error("service", error.message)
            else:
                self.log_addition(request, token, gettext("Created the token."))
                context.update(token=token, plaintext=plaintext)
                template = "admin/api/servicetoken/created.html"
        request.current_app = self.admin_site.name
        response = TemplateResponse(request, template, context)
        add_never_cache_headers(response)
        return response
