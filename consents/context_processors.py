from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext

from .selectors import catalogue, policy_status_for_user, policy_texts


def _pending(request, status) -> dict | None:
    """What the banner says while a material version waits for the user's decision."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name == "policy:accept":
        return None  # the page itself says all of it
    texts = policy_texts()
    index = 1 if (get_language() or "").startswith("en") else 0
    summaries = texts["summaries"]
    summary = summaries.get(status.version_in_force) or summaries.get(catalogue().latest_material)
    return {
        "version": status.version_in_force,
        "declined": status.declined,
        "purposes": gettext(", ").join(
            names[index] or names[0]
            for code, names in texts["purposes"].items()
            if code in status.suspended
        ),
        "summary": (summary[index] or summary[0]) if summary else "",
        "accept_url": f"{reverse('policy:accept')}?{urlencode({'next': request.get_full_path()})}",
    }


def policy_notice(request):
    """What the signed-in user is told about policy versions on every page.

    ``policy_pending``: a material version waits for their decision (the banner of
    ``policy/_pending_banner.html``), or None. ``policy_notice_version``: the number of a
    non-material update not seen yet (or None); ``policy_notice_url``: what changed since
    the version last accepted or seen. Answers from the consent cache.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    status = policy_status_for_user(user=user)
    if status.acceptance_required:
        return {"policy_notice_version": None, "policy_pending": _pending(request, status)}
    if not status.notice_pending:
        return {"policy_notice_version": None, "policy_pending": None}
    if status.accepted:
        url = f"{reverse('policy:diff')}?from={status.accepted}&to={status.version_in_force}"
    else:
        url = reverse("policy:in_force")
    return {
        "policy_notice_version": status.version_in_force,
        "policy_notice_url": url,
        "policy_pending": None,
    }
