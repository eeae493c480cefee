from .selectors import policy_status_for_user


def policy_notice(request):
    """``policy_notice_version``: the version whose (non-material) update notice to show."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    status = policy_status_for_user(user=user)
    return {"policy_notice_version": status.version_in_force if status.notice_pending else None}
