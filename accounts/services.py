"""Writes to accounts. Views, allauth's adapter and commands all come through here."""

from allauth.account.adapter import get_adapter
from django.db import transaction
from django.http import HttpRequest

from .models import SecurityEvent, User

USER_AGENT_MAX = SecurityEvent._meta.get_field("user_agent").max_length


def client_of(request: HttpRequest | None) -> tuple[str | None, str]:
    """The client's IP address and user agent, as recorded in events and the consent ledger."""
    if request is None:
        return None, ""
    try:
        ip = get_adapter(request).get_client_ip(request)
    except Exception:  # noqa: BLE001  (a missing or untrusted address must not block the event)
        ip = None
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]
    return ip, user_agent


def security_event_record(
    *, user: User, kind: str, request: HttpRequest | None = None, detail: str = ""
) -> SecurityEvent:
    ip, user_agent = client_of(request)
    return SecurityEvent.objects.create(
        user=user, kind=kind, ip_address=ip, user_agent=user_agent, detail=detail[:200]
    )


@transaction.atomic
def user_sign_up(*, user: User, phone: str, request: HttpRequest | None = None) -> User:
    """Save a new account; allauth's phone verification stage then confirms the number."""
    user.phone = phone
    user.phone_verified = False
    user.set_unusable_password()
    user.save()
    security_event_record(user=user, kind=SecurityEvent.Kind.SIGNED_UP, request=request)
    return user


@transaction.atomic
def user_mark_phone_verified(*, user: User, phone: str, request: HttpRequest | None = None) -> User:
    """Confirm the number on file, or switch to a new one once its code was entered."""
    if str(user.phone) == phone:
        if not user.phone_verified:
            user.phone_verified = True
            user.save(update_fields=["phone_verified"])
        return user
    old = user.phone
    user.phone = phone
    user.phone_verified = True
    user.save(update_fields=["phone", "phone_verified"])
    security_event_record(
        user=user,
        kind=SecurityEvent.Kind.PHONE_CHANGED,
        request=request,
        detail=f"{old.as_e164[:3]}…{old.as_e164[-4:]} → {phone[:3]}…{phone[-4:]}",
    )
    return user


@transaction.atomic
def user_update_nickname(*, user: User, nickname: str, request: HttpRequest | None = None) -> User:
    if user.nickname == nickname:
        return user
    user.nickname = nickname
    user.save(update_fields=["nickname"])
    security_event_record(
        user=user, kind=SecurityEvent.Kind.PROFILE_CHANGED, request=request, detail="nickname"
    )
    return user


def _delete_file_after_commit(storage, name: str) -> None:
    if name:
        transaction.on_commit(lambda: storage.delete(name))


@transaction.atomic
def user_set_avatar(*, user: User, image, request: HttpRequest | None = None) -> User:
    """Store an avatar already normalised by ``accounts.avatars``; the old file goes after commit."""
    old_name = user.avatar.name
    storage = user.avatar.storage
    user.avatar.save(image.name, image, save=False)
    user.save(update_fields=["avatar"])
    _delete_file_after_commit(storage, old_name)
    security_event_record(user=user, kind=SecurityEvent.Kind.AVATAR_CHANGED, request=request)
    return user


@transaction.atomic
def user_remove_avatar(*, user: User, request: HttpRequest | None = None) -> User:
    if not user.avatar:
        return user
    old_name = user.avatar.name
    storage = user.avatar.storage
    user.avatar = ""
    user.save(update_fields=["avatar"])
    _delete_file_after_commit(storage, old_name)
    security_event_record(user=user, kind=SecurityEvent.Kind.AVATAR_REMOVED, request=request)
    return user


@transaction.atomic
def user_set_password(*, user: User, password: str, request: HttpRequest | None = None) -> User:
    kind = (
        SecurityEvent.Kind.PASSWORD_CHANGED
        if user.has_usable_password()
        else SecurityEvent.Kind.PASSWORD_SET
    )
    user.set_password(password)
    user.save(update_fields=["password"])
    security_event_record(user=user, kind=kind, request=request)
    return user


@transaction.atomic
def user_remove_password(*, user: User, request: HttpRequest | None = None) -> User:
    """Back to sign-in by SMS code only."""
    user.set_unusable_password()
    user.save(update_fields=["password"])
    security_event_record(user=user, kind=SecurityEvent.Kind.PASSWORD_REMOVED, request=request)
    return user
