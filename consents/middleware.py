from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from .selectors import policy_status_for_user

# While a material version waits for the user's decision, every page stays open: their
# rights (choices, my data and its copy, requests, help, the policy, signing out, closing
# the account) never depend on agreeing first, and the processing the version changes is
# held back where it happens, by the consent check (consents.selectors), not by pages.
# The one page still sent to the acceptance page is the separate-consent page of a purpose
# the version changes: its only use is to switch that purpose on, which means agreeing to
# the changed terms, and that is what the acceptance page asks (it comes back after).
REDIRECTED_VIEWS = {"consents:purpose"}


class PolicyAcceptanceMiddleware:
    """Sends a user to the acceptance page only to switch on what a pending version changes.

    The check answers from the consent cache, so it costs no query on a warm page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        user = getattr(request, "user", None)
        if (
            request.method in ("GET", "HEAD")
            and match is not None
            and match.view_name in REDIRECTED_VIEWS
            and user is not None
            and user.is_authenticated
            and view_kwargs.get("code") in policy_status_for_user(user=user).suspended
        ):
            target = reverse("policy:accept")
            return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return None
