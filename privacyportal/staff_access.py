"""How staff get onto the desk: allauth's sign-in, a second factor, re-authentication.

The admin's own login page is gone: it sends everyone to allauth's sign-in (the same
flow, rate limits, lockout and security events as users), keeping ``next``. The desk
(``StaffAdminSite.has_permission``) opens for an active staff account only once this
session has passed a second factor, whenever ``STAFF_REQUIRE_MFA`` is on (always when
DEBUG is off). Dangerous actions call ``require_recent_reauthentication`` first.

This module is named in ``INSTALLED_APPS`` (``StaffAdminConfig``), so it is imported
while the app registry fills: it imports no model at module level.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache

# What a staff session still lacks before the desk opens: the URL names of allauth.mfa's pages.
SET_UP = "mfa_activate_totp"
CONFIRM = "mfa_reauthenticate"


def second_factor_step(request: HttpRequest) -> str | None:
    """None when the desk may open for this session, else the allauth page to go through.

    An account without an authenticator sets one up; an account with one must have used it
    in this session (allauth's sign-in asks for it after the password; a session that signed
    in before the authenticator existed, or was made some other way, confirms with a code).
    """
    if not settings.STAFF_REQUIRE_MFA:
        return None
    from allauth.account.internal.flows.login import get_authentication_records
    from allauth.mfa.models import Authenticator
    from allauth.mfa.utils import is_mfa_enabled

    user = request.user
    if not is_mfa_enabled(user, [Authenticator.Type.TOTP]):
        return SET_UP
    records = get_authentication_records(request, user)
    if not any(record.get("method") == "mfa" for record in records):
        return CONFIRM
    return None


def require_recent_reauthentication(request: HttpRequest) -> None:
    """Ask for the password (or an authenticator code) again unless the last re-authentication
    is younger than ``ACCOUNT_REAUTHENTICATION_TIMEOUT``.

    Raises allauth's ``ReauthenticationRequired``: its middleware keeps the request (a POST
    too), sends the staff member to re-authenticate and then carries the request out.
    """
    from allauth.account.internal.flows.reauthentication import (
        raise_if_reauthentication_required,
    )

    # No app name: allauth then always requires it (no setting can switch it off).
    raise_if_reauthentication_required(request, app="")


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({REDIRECT_FIELD_NAME: next_url})}"


class StaffAdminSite(AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and second_factor_step(request) is None

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context=None) -> HttpResponseRedirect:
        """Not a form any more: say where to go to reach the page asked for (``next``)."""
        from allauth.account.utils import get_next_redirect_url

        next_url = get_next_redirect_url(request) or reverse("admin:index", current_app=self.name)
        user = request.user
        if not user.is_authenticated:
            return HttpResponseRedirect(_with_next(reverse("account_login"), next_url))
        if not (user.is_active and user.is_staff):
            # Signed in, but not staff: sending them to sign in again would loop.
            raise PermissionDenied
        step = second_factor_step(request)
        if step == SET_UP:
            messages.warning(
                request,
                gettext(
                    "The staff desk needs a second factor. Set up an authenticator app "
                    "on your phone, then open the desk again."
                ),
            )
            return HttpResponseRedirect(reverse(SET_UP))
        if step == CONFIRM:
            return HttpResponseRedirect(_with_next(reverse(CONFIRM), next_url))
        return HttpResponseRedirect(next_url)


def _count_activation_as_second_factor(sender, request, user, authenticator, **kwargs) -> None:
    """Activating an authenticator takes a fresh password and a code from it: this session
    has passed a second factor, as if it had signed in with it."""
    from allauth.account.internal.flows.login import record_authentication
    from allauth.mfa.models import Authenticator

    if request is not None and authenticator.type == Authenticator.Type.TOTP:
        record_authentication(
            request, user, "mfa", id=authenticator.pk, type=authenticator.type, activated=True
        )


class StaffAdminConfig(AdminConfig):
    """django.contrib.admin with ``StaffAdminSite`` as ``admin.site``."""

    default_site = "privacyportal.staff_access.StaffAdminSite"

    def ready(self) -> None:
        super().ready()
        from allauth.mfa.signals import authenticator_added

        authenticator_added.connect(
            _count_activation_as_second_factor, dispatch_uid="staff_access.activation"
        )
