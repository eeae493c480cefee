from allauth.account.models import EmailAddress, EmailConfirmation
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from .models import SecurityEvent, User

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

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Roles are groups; only a superuser makes superusers or grants single permissions.
            fields += ["is_superuser", "user_permissions"]
        return fields

    def get_search_results(self, request, queryset, search_term):
        filtered = queryset
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        normalised = normalise_phone_search(search_term)
        if normalised and normalised != search_term:
            # Within the list's filters: a search must never widen what the filters show.
            queryset |= filtered.filter(phone__contains=normalised)
        return queryset, may_have_duplicates


def normalise_phone_search(term: str) -> str:
    """'138 0013-8000' or '+86 138…' → digits as stored in E.164, so either form finds the user."""
    digits = "".join(ch for ch in term if ch.isdigit())
    if term.strip().startswith("+") or not digits:
        return f"+{digits}" if digits else ""
    return digits


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "user", "kind", "ip_address", "detail"]
    list_filter = ["kind"]
    search_fields = ["user__phone"]
    date_hierarchy = "occurred_at"
    list_select_related = ["user"]
    readonly_fields = [f.name for f in SecurityEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
