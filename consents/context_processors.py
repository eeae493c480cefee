from django.urls import reverse

from .selectors import policy_status_for_user


def policy_notice(request):
    """The notice of a non-material update the signed-in user has not seen yet.

    ``policy_notice_version``: its number (or None); ``policy_notice_url``: what changed
    since the version the user last accepted or saw. Answers from the consent cache.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    status = policy_status_for_user(user=user)
    if not status.notice_pending:
        return {"policy_notice_version": None}
    if status.accepted:
        url = f"{reverse('policy:diff')}?from={status.accepted}&to={status.version_in_force}"
    else:
        url = reverse("policy:in_force")
    return {"policy_notice_version": status.version_in_force, "policy_notice_url": url}
