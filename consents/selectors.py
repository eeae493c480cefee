"""Reads about consents and policy versions. ``consent_is_given`` is what every use of
optional data asks; it answers from ``consents.cache`` with a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db.models import Lookup, Max, Q

from .cache import consent_cache
from .models import (
    ConsentEvent,
    ConsentState,
    PolicyAcceptance,
    PolicySmsNotice,
    PolicyVersion,
    Purpose,
)


class UnknownPurpose(LookupError):
    """Asked about a purpose code that does not exist: a bug in the caller, not a 'no'."""


@dataclass(frozen=True)
class Catalogue:
    basic: frozenset[str]
    additional: frozenset[str]
    inactive: frozenset[str]
    # Purpose code → the newest material version that changed its terms.
    changed_in: dict[str, int] = field(default_factory=dict)
    version_in_force: int = 0
    latest_material: int = 0


@dataclass(frozen=True)
class UserConsents:
    # Purpose code → the policy version in force when the user granted it.
    granted: dict[str, int]
    accepted: int = 0
    accepted_express: int = 0
    # The newest version the user declined (0: none).
    declined: int = 0


def _compute_catalogue() -> Catalogue:
    purposes = list(Purpose.objects.values_list("code", "kind", "is_active"))
    changed_in: dict[str, int] = {}
    for code, number in PolicyVersion.changed_purposes.through.objects.filter(
        policyversion__status=PolicyVersion.Status.PUBLISHED,
        policyversion__is_material=True,
    ).values_list("purpose__code", "policyversion__number"):
        changed_in[code] = max(number, changed_in.get(code, 0))
    numbers = PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).aggregate(
        in_force=Max("number"), material=Max("number", filter=Q(is_material=True))
    )
    return Catalogue(
        basic=frozenset(c for c, kind, active in purposes if active and kind == Purpose.Kind.BASIC),
        additional=frozenset(
            c for c, kind, active in purposes if active and kind == Purpose.Kind.ADDITIONAL
        ),
        inactive=frozenset(c for c, _, active in purposes if not active),
        changed_in=changed_in,
        version_in_force=numbers["in_force"] or 0,
        latest_material=numbers["material"] or 0,
    )


class _AnyOf(Lookup):
    """``user_id__any_of=[…]``: on PostgreSQL one array parameter (``= ANY(%s)``).

    A bulk check asks about 1,000 users; ``__in`` binds 1,000 parameters, which costs
    more than the query itself.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [int(value) for value in self.rhs]
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        if not values:
            return "1 = 0", lhs_params
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


ConsentState._meta.get_field("user").register_lookup(_AnyOf)
PolicyAcceptance._meta.get_field("user").register_lookup(_AnyOf)
ConsentEvent._meta.get_field("user").register_lookup(_AnyOf)


def _compute_users(user_ids: list[int]) -> dict[int, UserConsents]:
    granted: dict[int, dict[str, int]] = {u: {} for u in user_ids}
    for user_id, code, number in ConsentState.objects.filter(
        user_id__any_of=user_ids, granted=True
    ).values_list("user_id", "purpose__code", "policy_version_number"):
        granted[user_id][code] = number
    accepted = {
        row["user_id"]: row
        for row in PolicyAcceptance.objects.filter(user_id__any_of=user_ids)
        .values("user_id")
        .annotate(
            any=Max("version__number"), express=Max("version__number", filter=Q(express=True))
        )
    }
    declined = dict(
        ConsentEvent.objects.filter(
            user_id__any_of=user_ids, action=ConsentEvent.Action.POLICY_DECLINED
        )
        .values("user_id")
        .annotate(number=Max("policy_version__number"))
        .values_list("user_id", "number")
    )
    return {
        u: UserConsents(
            granted=granted[u],
            accepted=(accepted.get(u) or {}).get("any") or 0,
            accepted_express=(accepted.get(u) or {}).get("express") or 0,
            declined=declined.get(u) or 0,
        )
        for u in user_ids
    }


def catalogue() -> Catalogue:
    return consent_cache.catalogue(_compute_catalogue)


def _user_consents(user_id: int) -> UserConsents:
    return consent_cache.users([user_id], _compute_users)[user_id]


def _given(cat: Catalogue, consents: UserConsents, code: str) -> bool:
    granted_under = consents.granted.get(code)
    if granted_under is None:
        return False
    # A material version that changed this purpose suspends earlier grants until the
    # user expressly accepts it; a grant made under that version stands on its own.
    changed = cat.changed_in.get(code, 0)
    return granted_under >= changed or consents.accepted_express >= changed


def _purpose_code(purpose) -> str:
    return purpose if isinstance(purpose, str) else purpose.code


def _classify(cat: Catalogue, code: str) -> bool | None:
    """True or False when the purpose alone decides; None when the user's choice does."""
    if code in cat.basic:
        return True
    if code in cat.additional:
        return None
    if code in cat.inactive:
        return False
    raise UnknownPurpose(code)


def consent_is_given(*, user, purpose) -> bool:
    """May this user's data be used for ``purpose`` (a code or a Purpose) right now?

    Basic purposes: yes while active. Additional ones: only while the user's
    grant stands. Inactive purposes: no. Unknown codes raise UnknownPurpose.
    """
    cat = catalogue()
    code = _purpose_code(purpose)
    decided = _classify(cat, code)
    if decided is not None:
        return decided
    if user is None or not getattr(user, "pk", None):
        return False
    return _given(cat, _user_consents(user.pk), code)


def consents_given(*, user_ids, purpose) -> dict[int, bool]:
    """The bulk form: ``{user_id: given}`` for many users, in a constant number of queries."""
    cat = catalogue()
    code = _purpose_code(purpose)
    user_ids = list(user_ids)
    decided = _classify(cat, code)
    if decided is not None:
        return dict.fromkeys(user_ids, decided)
    consents = consent_cache.users(user_ids, _compute_users)
    return {u: _given(cat, consents[u], code) for u in user_ids}


# --- policy versions -------------------------------------------------------------


@dataclass(frozen=True)
class PolicyStatus:
    acceptance_required: bool
    notice_pending: bool
    version_in_force: int
    accepted: int
    accepted_express: int = 0
    # The user declined the version in force (or one since the newest material version):
    # what it changes stays off, and they may still accept.
    declined: bool = False
    # Codes of the additional purposes suspended until the user accepts.
    suspended: frozenset[str] = frozenset()


def policy_status_for_user(*, user) -> PolicyStatus:
    """Whether the user must accept the version in force (material) or may see a notice."""
    cat = catalogue()
    consents = _user_consents(user.pk)
    required = cat.latest_material > consents.accepted_express
    return PolicyStatus(
        acceptance_required=required,
        notice_pending=not required and cat.version_in_force > consents.accepted,
        version_in_force=cat.version_in_force,
        accepted=consents.accepted,
        accepted_express=consents.accepted_express,
        declined=required and consents.declined >= cat.latest_material,
        suspended=frozenset(
            code
            for code, number in cat.changed_in.items()
            if number > consents.accepted_express and code in cat.additional
        )
        if required
        else frozenset(),
    )


def purpose_suspended_for_user(*, user, purpose) -> bool:
    """Does a material version the user has not accepted change this purpose's terms?

    Its consent stays off until they accept, and it cannot be switched on before: that
    would be agreeing to the changed terms without the acceptance they need. Asked by the
    writes, inside their transaction: the user's part comes from the database, so a value
    read there never lands in the consent cache.
    """
    changed = catalogue().changed_in.get(_purpose_code(purpose), 0)
    if not changed:
        return False
    accepted = PolicyAcceptance.objects.filter(user=user, express=True).aggregate(
        number=Max("version__number")
    )["number"]
    return changed > (accepted or 0)


def _policy_texts() -> dict:
    # Both languages, so one cached value serves every reader.
    return {
        "purposes": {
            code: (zh, en)
            for code, zh, en in Purpose.objects.values_list("code", "name_zh_hans", "name_en")
        },
        "summaries": {
            number: (zh, en)
            for number, zh, en in PolicyVersion.objects.filter(
                status=PolicyVersion.Status.PUBLISHED
            ).values_list("number", "summary_zh_hans", "summary_en")
        },
    }


def policy_texts() -> dict:
    """Purpose names and published versions' summaries of changes, in both languages.

    What the pending-version banner names on every page; kept beside the catalogue (a
    publication or a purpose change drops it), so a warm page reads it without a query.
    """
    return consent_cache.catalogue_derived("policy texts", _policy_texts)


def version_in_force() -> PolicyVersion | None:
    return (
        PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED)
        .order_by("-number")
        .first()
    )


def policy_last_express_acceptance(*, user) -> PolicyAcceptance | None:
    return (
        PolicyAcceptance.objects.filter(user=user, express=True)
        .select_related("version")
        .order_by("-version__number")
        .first()
    )


def purposes_changed_since(*, number: int) -> list[Purpose]:
    """Purposes whose terms a published material version after ``number`` changed."""
    return list(
        Purpose.objects.filter(
            changed_in_versions__status=PolicyVersion.Status.PUBLISHED,
            changed_in_versions__is_material=True,
            changed_in_versions__number__gt=number,
        )
        .distinct()
        .order_by("position", "code")
    )


def _open_accounts():
    # A closed account has no number and is inactive: nobody to ask, nothing to suspend.
    return get_user_model().objects.filter(is_active=True, phone__isnull=False)


def users_to_accept_count() -> int:
    """How many accounts would have to accept a material version published now."""
    return _open_accounts().count()


def users_suspended_count(*, purposes) -> int:
    """Of those, how many have switched on one of ``purposes``: it stays off until they accept."""
    return (
        ConsentState.objects.filter(
            purpose__in=purposes, granted=True, user__is_active=True, user__phone__isnull=False
        )
        .values("user_id")
        .distinct()
        .count()
    )


def policy_sms_recipients(*, version: PolicyVersion, limit: int) -> list:
    """Up to ``limit`` accounts still to be texted about ``version``: open, with a number,
    without an express acceptance of it or a later version, and not texted about it yet."""
    accepted = PolicyAcceptance.objects.filter(
        express=True, version__number__gte=version.number
    ).values("user_id")
    told = PolicySmsNotice.objects.filter(version=version).values("user_id")
    return list(
        _open_accounts().exclude(pk__in=accepted).exclude(pk__in=told).order_by("pk")[:limit]
    )


def published_versions():
    return PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).order_by("-number")


def published_version(*, number: int) -> PolicyVersion | None:
    return published_versions().filter(number=number).first()


# --- the user's own consents --------------------------------------------------------


def _active_purposes() -> list[Purpose]:
    return list(Purpose.objects.filter(is_active=True).prefetch_related("data_categories"))


def consent_page_for_user(*, user) -> list[tuple[Purpose, bool]]:
    """Active purposes in display order with whether each is given for the user now."""
    purposes = consent_cache.catalogue_derived("active purposes", _active_purposes)
    cat = catalogue()
    consents = _user_consents(user.pk)
    return [(p, True if p.is_basic else _given(cat, consents, p.code)) for p in purposes]


def consents_held_for_user(*, user) -> frozenset[str]:
    """Codes the user turned on whose grant a pending material version holds back.

    They are off until the user accepts, yet still theirs to withdraw: disagreeing with
    the new terms must not need agreeing first.
    """
    cat = catalogue()
    consents = _user_consents(user.pk)
    return frozenset(code for code in consents.granted if not _given(cat, consents, code))


def consent_events_for_user(*, user):
    return (
        ConsentEvent.objects.filter(user=user)
        .select_related("purpose", "policy_version")
        .order_by("-pk")
    )


def consent_event_for_user(*, user, receipt_id) -> ConsentEvent | None:
    return consent_events_for_user(user=user).filter(receipt_id=receipt_id).first()


def latest_receipt_ids_for_user(*, user) -> dict[int, UUID]:
    """Purpose id → receipt id of the user's newest event for it, in one query.

    The newest event per purpose is the one its current state points at: a join from
    the states, which compiles and plans in less time than a subquery on the events.
    """
    return dict(
        ConsentState.objects.filter(user=user).values_list("purpose_id", "last_event__receipt_id")
    )
