"""Writes to the consent ledger, consent states, acceptances and policy versions."""

from __future__ import annotations

import ipaddress
import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.services import client_of
from privacyportal.errors import ServiceError
from privacyportal.registry import registry
from privacyportal.services import audit_record
from privacyportal.sms import queue_sms

from .audit import AuditAction
from .cache import consent_cache
from .models import (
    Channel,
    ConsentEvent,
    ConsentState,
    DataCategory,
    LedgerHead,
    PolicyAcceptance,
    PolicySmsNotice,
    PolicyVersion,
    Purpose,
)
from .selectors import policy_sms_recipients, purpose_suspended_for_user, version_in_force
from .tasks import policy_version_sms_task

# Texts about a material version go out in batches of this many, one transaction each.
POLICY_SMS_BATCH = 500


class ConsentError(ServiceError):
    """A refused change, with a message for the person who asked."""


def _normalised_ip(ip: str | None) -> str | None:
    # Stored as the database returns it, so the digest recomputes to the same value.
    return ipaddress.ip_address(ip).compressed if ip else None


def _ledger_append(
    *,
    user,
    action: str,
    channel: str,
    text_hash: str,
    policy_version: PolicyVersion | None,
    purpose: Purpose | None = None,
    actor=None,
    note: str = "",
    request: HttpRequest | None = None,
) -> ConsentEvent:
    """Append one event to the chain. Must run inside the caller's transaction."""
    head, _ = LedgerHead.objects.select_for_update().get_or_create(id=1)
    ip, user_agent = client_of(request)
    ip = _normalised_ip(ip)
    salt = secrets.token_hex(16)
    event = ConsentEvent(
        user=user,
        purpose=purpose,
        action=action,
        channel=channel,
        occurred_at=timezone.now(),
        policy_version=policy_version,
        text_hash=text_hash,
        actor=actor if actor is not None and actor.pk else None,
        note=note[:500],
        ip_address=ip,
        user_agent=user_agent,
        client_salt=salt,
        client_digest=ConsentEvent.digest_client(salt, ip, user_agent),
        previous_hash=head.last_hash,
    )
    event.hash = event.compute_hash()
    event.save()
    head.last_event = event
    head.last_hash = event.hash
    head.length += 1
    head.save(update_fields=["last_event", "last_hash", "length"])
    return event


def _check_changeable(purpose: Purpose) -> None:
    if not purpose.is_active:
        raise ConsentError(_("This purpose is no longer in use, so it cannot be changed."))
    if purpose.is_basic:
        raise ConsentError(
            _(
                "This purpose is needed for the basic service, so it cannot be switched off. "
                "To stop it, you can ask us to delete your account."
            )
        )


@transaction.atomic
def consent_set(
    *,
    user,
    purpose: Purpose,
    granted: bool,
    channel: str = Channel.SELF_SERVICE,
    request: HttpRequest | None = None,
    actor=None,
    note: str = "",
    separately_confirmed: bool = False,
) -> ConsentEvent | None:
    """Grant or withdraw one additional purpose. Repeating the current choice records nothing.

    A purpose that needs separate consent (单独同意) is granted only with
    ``separately_confirmed``: the user agreed to it on its own, through its own
    confirmation (or, for staff, in the written instruction noted).
    """
    _check_changeable(purpose)
    if granted and purpose.requires_separate_consent and not separately_confirmed:
        raise ConsentError(_("This purpose needs your separate consent, given on its own page."))
    if channel == Channel.STAFF and not note.strip():
        raise ConsentError(_("Staff must note the user's written instruction."))
    if granted and purpose_suspended_for_user(user=user, purpose=purpose):
        # Switching it on would be agreeing to the changed terms without accepting them.
        raise ConsentError(
            _(
                "The privacy policy changed the terms of “%(name)s”. To switch it on, first "
                "accept the new version; until then it stays off."
            )
            % {"name": purpose.name}
        )
    state = ConsentState.objects.select_for_update().filter(user=user, purpose=purpose).first()
    if (state.granted if state else False) == granted:
        return None
    version = version_in_force()
    event = _ledger_append(
        user=user,
        purpose=purpose,
        action=ConsentEvent.Action.GRANTED if granted else ConsentEvent.Action.WITHDRAWN,
        channel=channel,
        text_hash=purpose.text_hash(),
        policy_version=version,
        actor=actor,
        note=note,
        request=request,
    )
    if not granted:
        # What was collected only under this consent goes with it (PIPL art. 47).
        for kind in registry.collected_under(purpose.code):
            kind.erase(user)
    ConsentState.objects.update_or_create(
        user=user,
        purpose=purpose,
        defaults={
            "granted": granted,
            "changed_at": event.occurred_at,
            "policy_version_number": version.number if version else 0,
            "last_event": event,
        },
    )
    transaction.on_commit(lambda: consent_cache.invalidate_user(user.pk))
    return event


def consent_grant(*, user, purpose: Purpose, **kwargs) -> ConsentEvent | None:
    return consent_set(user=user, purpose=purpose, granted=True, **kwargs)


def consent_withdraw(*, user, purpose: Purpose, **kwargs) -> ConsentEvent | None:
    return consent_set(user=user, purpose=purpose, granted=False, **kwargs)


@transaction.atomic
def policy_accept(
    *,
    user,
    version: PolicyVersion,
    express: bool = True,
    channel: str = Channel.SELF_SERVICE,
    request: HttpRequest | None = None,
) -> PolicyAcceptance:
    """Record that the user accepted (or, for a non-material notice, saw) a published version."""
    if not version.is_published:
        raise ConsentError(_("Only a published version can be accepted."))
    existing = PolicyAcceptance.objects.filter(user=user, version=version).first()
    if existing is not None:
        return existing
    event = _ledger_append(
        user=user,
        action=(
            ConsentEvent.Action.POLICY_ACCEPTED
            if express
            else ConsentEvent.Action.POLICY_NOTICE_SEEN
        ),
        channel=channel,
        text_hash=version.text_hash(),
        policy_version=version,
        request=request,
    )
    acceptance = PolicyAcceptance.objects.create(
        user=user,
        version=version,
        express=express,
        accepted_at=event.occurred_at,
        ip_address=event.ip_address,
        user_agent=event.user_agent,
        event=event,
    )
    transaction.on_commit(lambda: consent_cache.invalidate_user(user.pk))
    return acceptance


def _latest_material_number() -> int:
    return (
        PolicyVersion.objects.filter(
            status=PolicyVersion.Status.PUBLISHED, is_material=True
        ).aggregate(number=Max("number"))["number"]
        or 0
    )


@transaction.atomic
def policy_decline(
    *,
    user,
    version: PolicyVersion,
    channel: str = Channel.SELF_SERVICE,
    request: HttpRequest | None = None,
) -> ConsentEvent:
    """Record that the user declined the version in force, which needs their acceptance.

    Nothing else changes: what the version changes stays off (the consent check already
    suspends it), the rest of the service goes on as before, and they may accept later.
    Declining the same version again records nothing new.
    """
    # One decision at a time per user, so a double click records one decline.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    in_force = version_in_force()
    if not version.is_published or in_force is None or in_force.pk != version.pk:
        raise ConsentError(_("Only the version in force can be declined."))
    accepted = (
        PolicyAcceptance.objects.filter(user=user, express=True).aggregate(
            number=Max("version__number")
        )["number"]
        or 0
    )
    if accepted >= _latest_material_number():
        raise ConsentError(
            _("You have already accepted this version; there is nothing to decline.")
        )
    existing = ConsentEvent.objects.filter(
        user=user, action=ConsentEvent.Action.POLICY_DECLINED, policy_version=version
    ).first()
    if existing is not None:
        return existing
    event = _ledger_append(
        user=user,
        action=ConsentEvent.Action.POLICY_DECLINED,
        channel=channel,
        text_hash=version.text_hash(),
        policy_version=version,
        request=request,
    )
    transaction.on_commit(lambda: consent_cache.invalidate_user(user.pk))
    return event


@transaction.atomic
def policy_version_draft_save(
    *, version: PolicyVersion, actor, changed_purposes=None
) -> PolicyVersion:
    """Create or edit a draft; a published version never changes."""
    creating = version.pk is None
    if not creating:
        current = PolicyVersion.objects.select_for_update().get(pk=version.pk)
        if current.is_published:
            raise ConsentError(
                _("This version was published meanwhile; published versions cannot change.")
            )
    version.save()
    if changed_purposes is not None:
        version.changed_purposes.set(changed_purposes)
    audit_record(
        actor=actor,
        action=AuditAction.POLICY_VERSION_DRAFT_CREATED
        if creating
        else AuditAction.POLICY_VERSION_DRAFT_SAVED,
        target=version,
        material=version.is_material,
        changed_purposes=sorted(version.changed_purposes.values_list("code", flat=True)),
        text_hash=version.text_hash(),
    )
    return version


@transaction.atomic
def policy_version_draft_delete(*, version: PolicyVersion, actor) -> None:
    """Delete a draft; a published version is evidence of what users accepted."""
    version = PolicyVersion.objects.select_for_update().get(pk=version.pk)
    if version.is_published:
        raise ConsentError(
            _("This version was published meanwhile; published versions cannot change.")
        )
    audit_record(
        actor=actor,
        action=AuditAction.POLICY_VERSION_DRAFT_DELETED,
        target=version,
        title=version.title_en,
        text_hash=version.text_hash(),
    )
    version.delete()


@transaction.atomic
def policy_version_publish(*, version: PolicyVersion, actor) -> PolicyVersion:
    """Publish a draft as the next version number; it is in force from now on."""
    version = PolicyVersion.objects.select_for_update().get(pk=version.pk)
    if version.is_published:
        raise ConsentError(
            _("Version %(number)s is already published.") % {"number": version.number}
        )
    if not version.body_zh_hans.strip() or not version.body_en.strip():
        raise ConsentError(_("Both the zh-hans and the English text are needed to publish."))
    # Lock every published row so two publishers cannot take the same number.
    numbers = list(
        PolicyVersion.objects.select_for_update()
        .filter(status=PolicyVersion.Status.PUBLISHED)
        .values_list("number", flat=True)
    )
    version.number = max(numbers, default=0) + 1
    version.status = PolicyVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    version.save(update_fields=["number", "status", "published_at"])
    audit_record(
        actor=actor,
        action=AuditAction.POLICY_VERSION_PUBLISHED,
        target=version,
        number=version.number,
        material=version.is_material,
        changed_purposes=sorted(version.changed_purposes.values_list("code", flat=True)),
    )
    transaction.on_commit(consent_cache.invalidate_all)
    if version.is_material:
        version_id = version.pk
        transaction.on_commit(lambda: policy_version_sms_task.delay(version_id))
    return version


def _policy_sms_body(version: PolicyVersion, language: str) -> str:
    with translation.override(language):
        names = [purpose.name for purpose in version.changed_purposes.order_by("position", "code")]
        if names:
            return ngettext(
                "Version %(number)s of the privacy policy changes the terms of %(names)s. "
                "Until you decide, we do not use your data for it. Sign in to the privacy "
                "portal to read the change and accept or decline it.",
                "Version %(number)s of the privacy policy changes the terms of %(names)s. "
                "Until you decide, we do not use your data for them. Sign in to the privacy "
                "portal to read the change and accept or decline it.",
                len(names),
            ) % {"number": version.number, "names": gettext(", ").join(names)}
        return gettext(
            "Version %(number)s of the privacy policy needs your decision. Sign in to the "
            "privacy portal to read the change and accept or decline it."
        ) % {"number": version.number}


@transaction.atomic
def policy_version_sms_batch(*, version_id: int, batch_size: int = POLICY_SMS_BATCH) -> int:
    """Text the next ``batch_size`` users who must decide on a material version; how many.

    Each user gets a marker row in the same transaction as their queued SMS (sent on
    commit), so a repeated or concurrent run never texts anyone twice.
    """
    # Locked, so two runs for the same version take turns and see each other's markers.
    version = PolicyVersion.objects.select_for_update().filter(pk=version_id).first()
    if version is None or not version.is_published or not version.is_material:
        return 0
    if version.number < _latest_material_number():
        # A newer material version was published: its own texts ask for the decision.
        return 0
    users = policy_sms_recipients(version=version, limit=batch_size)
    PolicySmsNotice.objects.bulk_create(
        [PolicySmsNotice(user=user, version=version) for user in users]
    )
    bodies: dict[str, str] = {}
    for user in users:
        language = getattr(user, "language", "") or "zh-hans"
        if language not in bodies:
            bodies[language] = _policy_sms_body(version, language)
        queue_sms(to=user.phone.as_e164, body=bodies[language])
    return len(users)


@transaction.atomic
def purpose_save(*, purpose: Purpose, actor, categories=None) -> Purpose:
    """Create or change a purpose from the admin; the catalogue cache follows on commit."""
    creating = purpose.pk is None
    if not creating:
        before = Purpose.objects.select_for_update().get(pk=purpose.pk)
        if before.code != purpose.code or before.kind != purpose.kind:
            raise ConsentError(
                _("A purpose's code and kind cannot change; create a new purpose instead.")
            )
    purpose.full_clean()
    purpose.save()
    if categories is not None:
        purpose.data_categories.set(categories)
    audit_record(
        actor=actor,
        action=AuditAction.PURPOSE_CREATED if creating else AuditAction.PURPOSE_CHANGED,
        target=purpose,
        code=purpose.code,
        active=purpose.is_active,
        text_hash=purpose.text_hash(),
    )
    transaction.on_commit(consent_cache.invalidate_all)
    return purpose


@transaction.atomic
def data_category_save(*, category: DataCategory, actor) -> DataCategory:
    """Create or rename a data category from the admin.

    Purposes show their categories' names, and the consent page keeps them rendered
    beside the catalogue, so the catalogue cache follows on commit. The audit row keeps
    both names as they were and became: a renaming changes what every purpose tells users.
    """
    creating = category.pk is None
    names = ("name_zh_hans", "name_en")
    before = (
        {}
        if creating
        else DataCategory.objects.select_for_update().values(*names).get(pk=category.pk)
    )
    category.full_clean()
    category.save()
    audit_record(
        actor=actor,
        action=AuditAction.DATA_CATEGORY_CREATED if creating else AuditAction.DATA_CATEGORY_CHANGED,
        target=category,
        code=category.code,
        names={
            name: {"from": before.get(name), "to": getattr(category, name)}
            for name in names
            if before.get(name) != getattr(category, name)
        },
    )
    transaction.on_commit(consent_cache.invalidate_all)
    return category
