"""Writes to accounts. Views, allauth's adapter and commands all come through here."""

import logging
import unicodedata

from allauth.account.adapter import get_adapter
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from .models import BrowsingRecord, SecurityEvent, User

logger = logging.getLogger(__name__)

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


@transaction.atomic
def user_set_language(*, user: User, language: str, request: HttpRequest | None = None) -> User:
    """Keep the language chosen on the switch, so it follows the user to every device."""
    if language not in dict(User._meta.get_field("language").choices) or user.language == language:
        return user
    user.language = language
    user.save(update_fields=["language"])
    security_event_record(
        user=user, kind=SecurityEvent.Kind.PROFILE_CHANGED, request=request, detail="language"
    )
    return user


def user_language_adopted(sender, *, request, user, **kwargs) -> None:
    """Receives ``user_logged_in``: an account with no language yet takes the one its user
    signs in with, so that texts and the access copy, made away from any page, speak it.
    Not a security event: nothing changes for the user, who is already reading it."""
    language = getattr(request, "LANGUAGE_CODE", "")
    if user.language or language not in dict(User._meta.get_field("language").choices):
        return
    user.language = language
    user.save(update_fields=["language"])


def user_language_chosen(sender, *, request, user, language: str, **kwargs) -> None:
    """Receives ``privacyportal.middleware.language_chosen``: the switch, while signed in."""
    user_set_language(user=user, language=language, request=request)


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


# --- browsing and search records (policy 2.4.1(2)) ------------------------------------

RECORD_TEXT_MAX = BrowsingRecord._meta.get_field("text").max_length
RECORD_PATH_MAX = BrowsingRecord._meta.get_field("path").max_length


def _clean_record_text(text: str) -> str:
    # One line, no control characters (PostgreSQL refuses NUL in text).
    words = "".join(ch for ch in str(text) if unicodedata.category(ch) != "Cc" or ch.isspace())
    return " ".join(words.split())[:RECORD_TEXT_MAX]


def _local_path(path: str) -> str:
    """Only a path on this site is kept: the history page turns it into a link."""
    path = str(path or "")
    if (
        not path.startswith("/")
        or len(path) > RECORD_PATH_MAX
        or not url_has_allowed_host_and_scheme(path, allowed_hosts=None)
    ):
        return ""
    return path


@transaction.atomic
def activity_record(
    *, user, kind: str, text: str, path: str = "", source: str = ""
) -> BrowsingRecord | None:
    """Keep a search or a page view, but only while the user's personalisation consent stands.

    This is the only way browsing and search records are written: without the consent
    (or for an anonymous visitor) nothing is stored and None comes back. ``source`` names
    the internal service that reported it through the API.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.pk:
        return None
    kind = BrowsingRecord.Kind(kind)
    text = _clean_record_text(text)
    if not text:
        return None
    # Imported when used: consents.services imports this module, so loading consents lazily
    # keeps the two apps free of an import-order cycle.
    from consents.selectors import UnknownPurpose, consent_is_given

    try:
        given = consent_is_given(user=user, purpose=BrowsingRecord.PURPOSE)
    except UnknownPurpose:
        # Without the purpose in the catalogue there is no consent to record under.
        logger.warning(
            "Purpose %r is missing; browsing records are not kept.", BrowsingRecord.PURPOSE
        )
        return None
    if not given:
        return None
    return BrowsingRecord.objects.create(
        user=user,
        kind=kind,
        text=text,
        path=_local_path(path) if kind == BrowsingRecord.Kind.VIEW else "",
        source=source,
    )


# Deleting one's own history writes no audit row on purpose: a trail of what was deleted
# would keep what the user asked us to forget (and AuditEntry records staff actions).
@transaction.atomic
def browsing_record_delete(*, user, record_id: int) -> bool:
    """Delete one of the user's own records; another user's id deletes nothing."""
    deleted, _ = BrowsingRecord.objects.filter(user=user, pk=record_id).delete()
    return deleted > 0


@transaction.atomic
def browsing_history_clear(*, user) -> int:
    deleted, _ = BrowsingRecord.objects.filter(user=user).delete()
    return deleted


@transaction.atomic
def user_close(*, user: User) -> User:
    """Close an account after its data was erased: sign-in stops everywhere, the number is free.

    The row stays (without number, profile or password) because the ledger and
    the request that closed it refer to it. A new password hash also ends every
    session, since Django checks each session against it.
    """
    if user.closed_at is not None and user.phone is None and not user.is_active:
        return user  # already closed (a replayed deletion)
    if user.avatar:
        name, storage = user.avatar.name, user.avatar.storage
        transaction.on_commit(lambda: storage.delete(name))
    user.phone = None
    user.phone_verified = False
    user.nickname = ""
    user.avatar = ""
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.closed_at = timezone.now()
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    return user
