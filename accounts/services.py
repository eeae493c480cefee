"""Writes to accounts. Views, allauth's adapter and commands all come through here."""

import logging
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from allauth.account.adapter import get_adapter
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from privacyportal.registry import registry
from privacyportal.services import audit_record

from .audit import AuditAction
from .models import BrowsingRecord, SecurityEvent, User
from .selectors import (
    permissions_held,
    user_can_manage,
    user_is_privileged,
    user_may_grant_privilege,
)

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
    # Consents sit above accounts: the registry asks them for us.
    given = registry.consent_given(user=user, purpose=BrowsingRecord.PURPOSE)
    if given is None:
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


# --- staff acting on accounts and roles (the admin) --------------------------------------

# What the user admin's change form may carry; the password has a page of its own.
PRIVILEGE_FIELDS = frozenset({"is_staff", "is_superuser", "groups", "user_permissions"})
STAFF_EDITABLE_FIELDS = PRIVILEGE_FIELDS | {"phone", "phone_verified", "nickname", "is_active"}


def _mask(phone) -> str:
    number = str(phone or "")
    return f"{number[:3]}…{number[-4:]}" if number else ""


def _added_removed(before: set, after: set, name) -> dict[str, list[str]]:
    return {
        "added": sorted(name(item) for item in after - before),
        "removed": sorted(name(item) for item in before - after),
    }


def _permission_code(permission: Permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"


@transaction.atomic
def user_change_by_staff(*, actor: User, user: User, changes: Mapping[str, Any]) -> User:
    """Apply what a staff member changed on an account, within the actor's privilege.

    The rule is checked on the account as stored (a form may already have put the new
    values on ``user``): only a superuser changes a staff account or a superuser, and only
    a superuser changes privilege (staff status, superuser status, roles, permissions).
    The audit row names the fields changed, not their values: the log outlives the data.
    """
    unknown = set(changes) - STAFF_EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"Staff do not change these fields here: {sorted(unknown)}")
    stored = User.objects.select_for_update().get(pk=user.pk)
    if not user_can_manage(actor=actor, target=stored):
        raise PermissionDenied
    if PRIVILEGE_FIELDS & set(changes) and not user_may_grant_privilege(actor=actor):
        raise PermissionDenied
    if not changes:
        return stored
    was_privileged = user_is_privileged(stored)
    old_phone = stored.phone
    details: dict[str, Any] = {}
    plain = [name for name in changes if name not in ("groups", "user_permissions")]
    for name in plain:
        setattr(stored, name, changes[name])
    if plain:
        stored.save(update_fields=plain)
    if "groups" in changes:
        before = set(stored.groups.all())
        stored.groups.set(changes["groups"])
        details["groups"] = _added_removed(before, set(stored.groups.all()), str)
    if "user_permissions" in changes:
        before = set(stored.user_permissions.select_related("content_type"))
        stored.user_permissions.set(changes["user_permissions"])
        after = set(stored.user_permissions.select_related("content_type"))
        details["user_permissions"] = _added_removed(before, after, _permission_code)
    for name in ("is_staff", "is_superuser"):
        if name in changes:
            details[name] = bool(changes[name])
    if "phone" in changes and str(old_phone) != str(stored.phone):
        security_event_record(
            user=stored,
            kind=SecurityEvent.Kind.PHONE_CHANGED,
            detail=f"{_mask(old_phone)} → {_mask(stored.phone)} (staff)",
        )
    audit_record(
        actor=actor,
        action=AuditAction.USER_CHANGED,
        target=stored,
        user=stored,
        fields=sorted(changes),
        staff=was_privileged or user_is_privileged(stored),
        **details,
    )
    return stored


@transaction.atomic
def user_create_by_staff(*, actor: User, user: User) -> User:
    """Save an account made on the admin's add form: a number and a password (or none).

    An end user always: staff status, roles and permissions are given afterwards, on the
    change form, under ``user_change_by_staff``'s rule.
    """
    if user.pk is not None:
        raise ValueError("user_create_by_staff saves a new account only.")
    user.is_staff = False
    user.is_superuser = False
    user.save()
    security_event_record(user=user, kind=SecurityEvent.Kind.SIGNED_UP, detail="staff")
    audit_record(
        actor=actor,
        action=AuditAction.USER_CREATED,
        target=user,
        user=user,
        password=user.has_usable_password(),
    )
    return user


@transaction.atomic
def user_password_set_by_staff(*, actor: User, user: User, password: str | None) -> User:
    """Set an account's password from the admin, or (``None``) turn password sign-in off."""
    stored = User.objects.select_for_update().get(pk=user.pk)
    if not user_can_manage(actor=actor, target=stored):
        raise PermissionDenied
    if password is None:
        stored.set_unusable_password()
        kind, action = SecurityEvent.Kind.PASSWORD_REMOVED, AuditAction.USER_PASSWORD_REMOVED
    else:
        kind = (
            SecurityEvent.Kind.PASSWORD_CHANGED
            if stored.has_usable_password()
            else SecurityEvent.Kind.PASSWORD_SET
        )
        stored.set_password(password)
        action = AuditAction.USER_PASSWORD_SET
    stored.save(update_fields=["password"])
    security_event_record(user=stored, kind=kind, detail="staff")
    audit_record(
        actor=actor, action=action, target=stored, user=stored, staff=user_is_privileged(stored)
    )
    return stored


@transaction.atomic
def group_save(*, actor: User, group: Group, permissions: Iterable[Permission]) -> Group:
    """Save a role and its permissions. Roles change in reviewed migrations; in the admin
    only a superuser changes them, and nobody grants a permission they do not hold."""
    if not user_may_grant_privilege(actor=actor):
        raise PermissionDenied
    wanted = set(permissions)
    if wanted - set(permissions_held(user=actor)):
        raise PermissionDenied
    creating = group.pk is None
    before = set() if creating else set(group.permissions.select_related("content_type"))
    group.save()
    group.permissions.set(wanted)
    audit_record(
        actor=actor,
        action=AuditAction.GROUP_CREATED if creating else AuditAction.GROUP_CHANGED,
        target=group,
        name=group.name,
        permissions=_added_removed(before, wanted, _permission_code),
    )
    return group


@transaction.atomic
def group_delete(*, actor: User, group: Group) -> None:
    if not user_may_grant_privilege(actor=actor):
        raise PermissionDenied
    audit_record(
        actor=actor,
        action=AuditAction.GROUP_DELETED,
        target=group,
        name=group.name,
        members=group.user_set.count(),
    )
    group.delete()
