from allauth.account.models import EmailAddress, EmailConfirmation
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from privacyportal.desk import ReadOnlyAdmin, normalise_phone_search

from .models import SecurityEvent, User
from .selectors import (
    permissions_held,
    permissions_in_words,
    user_can_manage,
    user_may_grant_privilege,
)
from .services import (
    PRIVILEGE_FIELDS,
    group_delete,
    group_save,
    user_change_by_staff,
    user_create_by_staff,
    user_password_set_by_staff,
)

# Users sign in with their mobile number only (ACCOUNT_LOGIN_METHODS): allauth's e-mail
# addresses are never filled, and its section of the index read "Accounts" beside ours.
# allauth.account comes before this app in INSTALLED_APPS, so its admin has registered them.
for allauth_model in (EmailAddress, EmailConfirmation):
    if admin.site.is_registered(allauth_model):
        admin.site.unregister(allauth_model)


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("phone",)


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    ordering = ["-date_joined"]
    list_display = ["phone", "nickname", "phone_verified", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "phone_verified", "groups"]
    # Staff type numbers the way users do; get_search_results also tries the digits alone.
    search_fields = ["phone", "nickname"]
    # Avatars change only through the user's own upload, which validates and re-encodes them.
    readonly_fields = ["avatar", "date_joined", "last_login"]
    fieldsets = (
        (None, {"fields": ("phone", "phone_verified", "password")}),
        (_("Profile"), {"fields": ("nickname", "avatar")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("phone", "usable_password", "password1", "password2"),
            },
        ),
    )

    def has_delete_permission(self, request, obj=None):
        # An account ends through a deletion request (requests.services), which honours legal
        # holds, writes the tombstone and tells every recipient; the admin's cascade would
        # do none of that.
        return False

    # Every check below asks accounts.selectors, so the rule has one home: nobody acts on an
    # account with more privilege than their own (README "Staff privilege").
    def has_change_permission(self, request, obj=None):
        if obj is None:
            return super().has_change_permission(request)
        return user_can_manage(actor=request.user, target=obj)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not user_may_grant_privilege(actor=request.user):
            # Only a superuser makes staff, makes superusers, gives roles or permissions.
            fields += sorted(PRIVILEGE_FIELDS)
        return fields

    def save_model(self, request, obj, form, change):
        if not change:
            # The add form carries a number and a password only: an end user.
            user_create_by_staff(actor=request.user, user=obj)
            return
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        user_change_by_staff(actor=request.user, user=obj, changes=changes)

    def save_related(self, request, form, formsets, change):
        if not change:
            super().save_related(request, form, formsets, change)
            return
        # The service saved the roles and permissions with the rest, under its checks.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @method_decorator(sensitive_post_parameters())
    def user_change_password(self, request, id, form_url=""):
        """Django's page, with the check and the write through accounts' rule and service."""
        target = self.get_object(request, unquote(id))
        if target is not None and not self.has_change_permission(request, target):
            raise PermissionDenied
        if request.method == "POST" and target is not None:
            form = self.change_password_form(target, request.POST)
            # An invalid or conflicting form is Django's page to re-render, with its errors.
            if form.is_valid() and (
                form.cleaned_data["set_usable_password"] or "unset-password" in request.POST
            ):
                usable = form.cleaned_data["set_usable_password"]
                with transaction.atomic():
                    user = user_password_set_by_staff(
                        actor=request.user,
                        user=target,
                        password=form.cleaned_data["password1"] if usable else None,
                    )
                    self.log_change(
                        request, user, self.construct_change_message(request, form, None)
                    )
                messages.success(
                    request,
                    gettext("Password changed successfully.")
                    if usable
                    else gettext("Password-based authentication was disabled."),
                )
                update_session_auth_hash(request, user)
                return HttpResponseRedirect(
                    reverse(f"{self.admin_site.name}:accounts_user_change", args=[user.pk])
                )
        return super().user_change_password(request, id, form_url)

    def get_search_results(self, request, queryset, search_term):
        filtered = queryset
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        normalised = normalise_phone_search(search_term)
        if normalised and normalised != search_term:
            # Within the list's filters: a search must never widen what the filters show.
            queryset |= filtered.filter(phone__contains=normalised)
        return queryset, may_have_duplicates


admin.site.unregister(Group)


@admin.register(Group)
class RoleAdmin(BaseGroupAdmin):
    """Roles change in reviewed migrations (requests/migrations/0002_staff_roles.py): for
    everyone but a superuser this admin is read-only, a page of each role's permissions in
    words; a superuser's form offers only permissions they hold, and group_save checks."""

    def has_add_permission(self, request):
        return user_may_grant_privilege(actor=request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return user_may_grant_privilege(actor=request.user) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request, obj=None):
        return user_may_grant_privilege(actor=request.user) and super().has_delete_permission(
            request, obj
        )

    def get_fields(self, request, obj=None):
        if self.has_change_permission(request, obj):
            return ["name", "permissions"]
        # The stored names ("Can add user") are English; the page lists them in words.
        return ["name"]

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        if db_field.name == "permissions":
            kwargs["queryset"] = permissions_held(user=request.user)
        return super().formfield_for_manytomany(db_field, request=request, **kwargs)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["permissions_in_words"] = permissions_in_words(
                permissions=obj.permissions.all()
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        group_save(actor=request.user, group=obj, permissions=form.cleaned_data["permissions"])

    def save_related(self, request, form, formsets, change):
        # group_save set the permissions; the form's own save_m2m would skip its checks.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        group_delete(actor=request.user, group=obj)

    def delete_queryset(self, request, queryset):
        for group in queryset:
            group_delete(actor=request.user, group=group)


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "user", "kind", "ip_address", "detail"]
    list_filter = ["kind"]
    search_fields = ["user__phone"]
    date_hierarchy = "occurred_at"
    list_select_related = ["user"]
    readonly_fields = [f.name for f in SecurityEvent._meta.fields]
