"""Legal holds: set and released through ``requests.services`` (audit rows), never edited
or deleted. Setting one needs ``requests.add_legalhold``, releasing one
``requests.change_legalhold`` (releasing is the only change a hold ever gets).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from privacyportal.desk import (
    DateSetFilter,
    DeskAction,
    DeskButtons,
    PhoneSearch,
    ServiceErrorAsMessage,
)

from .. import services
from ..models import LegalHold


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


class ActiveHoldFilter(DateSetFilter):
    date_field = "released_at"
    unset = ("active", _("Active"))
    isset = ("released", _("Released"))


@admin.register(LegalHold)
class LegalHoldAdmin(ServiceErrorAsMessage, PhoneSearch, DeskButtons, admin.ModelAdmin):
    """Holds are set and released through the services (audit rows); never edited or deleted.

    A refused hold (``RequestError``) is an error message: the admin saves in its own atomic
    block, so nothing of it remains. A hold still active has the desk's "Release this hold"
    button on its page.
    """

    form = LegalHoldForm
    service_error = services.RequestError
    service_object = "hold"
    change_form_template = "admin/requests/desk_change_form.html"
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

    def save_model(self, request, obj, form, change):
        hold = services.legal_hold_set(user=obj.user, reason=obj.reason, actor=request.user)
        obj.pk, obj.set_by, obj.set_at, obj.reason = hold.pk, hold.set_by, hold.set_at, hold.reason

    def service_objects(self, queryset):
        return queryset.select_related("user").order_by("pk")

    def actions_applying(self, request, obj) -> dict[str, bool]:
        return {"release_holds": obj.released_at is None}

    # A released hold lets erasure go ahead.
    release_holds = DeskAction(
        services.legal_hold_release,
        description=_("Release the selected holds"),
        permission="release",
        button=_("Release this hold"),
        reauthenticate=True,
        done=ngettext_lazy(
            "%(count)d legal hold released.", "%(count)d legal holds released.", "count"
        ),
    )
