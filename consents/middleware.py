from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from .selectors import policy_status_for_user

# Paths a user who still has to accept a material version may use: the policy
# itself (to read and accept it), signing out, the language switch, and the
# staff desk, which is not part of the self-service pages; and /health/, for machines.
OPEN_PREFIXES = (
    "/policy/",
    "/accounts/logout/",
    "/i18n/",
    "/admin/",
    "/static/",
    "/media/",
    "/health/",
)


class PolicyAcceptanceMiddleware:
    """Before anything else, a signed-in user meets the acceptance page of a material version.

    The check answers from the consent cache, so it costs no query on a warm page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            not request.path.startswith(OPEN_PREFIXES)
            and user is not None
            and user.is_authenticated
            and policy_status_for_user(user=user).acceptance_required
        ):
            target = reverse("policy:accept")
            # Only a page can be come back to; a form post is not replayed.
            if request.method in ("GET", "HEAD"):
                target = f"{target}?{urlencode({'next': request.get_full_path()})}"
            return redirect(target)
        return self.get_response(request)
