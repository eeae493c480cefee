"""Who is calling: a bearer token names the service, and each operation needs one scope.

Every call checks its token, so the check must be cheap: the token's digest maps to
the service and its scopes in process memory (``api.memory``), then in the Django cache
(Redis, shared by every process), and the database is asked only on a miss. Revocation
must still count at once, in every process: after commit it writes a "revoked" marker
over the Redis entry and drops the entry from every process's memory; readers only ever
*add* Redis entries, so a copy read just before the revocation committed can never
overwrite the marker. Scopes never change after a token is made (staff revoke and
make a new one), so a cached live entry is right until a marker replaces it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer

from . import throttling
from .memory import memory, token_key
from .models import ServiceToken
from .tokens import TOKEN_PREFIX, token_digest

REVOKED = "revoked"
CACHE_TTL = 3600
TOKEN_MAX_LENGTH = 100
# last_used_at is for staff ("is this token still in use?"): a minute is precise enough,
# and a write per call would cost more than the call.
TOUCH_EVERY = 60.0

# Keyed by the whole caller (its prefix is random), not the id: ids come again after a
# test suite flushes the tables.
_touched: dict[Caller, float] = {}


@dataclass(frozen=True)
class Caller:
    token_id: int
    service: str
    prefix: str
    scopes: tuple[str, ...]


def shared_key(digest: str) -> str:
    """The token's entry in the Django cache (Redis), shared by every process."""
    return f"api:token:{digest}"


def caller_for(plaintext: str, *, before_lookup=None) -> Caller | None:
    """The live token's caller, or None for a wrong or revoked token.

    ``before_lookup`` is called when this process's memory does not know the token, before
    Redis and the database are asked (the rate limit of failed calls refuses there).
    """
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > TOKEN_MAX_LENGTH:
        return None
    digest = token_digest(plaintext)
    entry = memory.get(token_key(digest))
    if entry is None:
        if before_lookup is not None:
            before_lookup()
        epoch = memory.epoch()
        entry = _shared_entry(digest)
        if entry is None:
            return None
        memory.put(token_key(digest), entry, epoch)
    if entry == REVOKED:
        return None
    return Caller(*entry)


def _shared_entry(digest: str):
    key = shared_key(digest)
    entry = cache.get(key)
    if entry is None:
        row = (
            ServiceToken.objects.filter(digest=digest)
            .values_list("pk", "service", "prefix", "scopes", "revoked_at")
            .first()
        )
        if row is None:
            # Wrong tokens are not cached: anyone could fill the cache with them.
            return None
        pk, service, prefix, scopes, revoked_at = row
        entry = REVOKED if revoked_at is not None else (pk, service, prefix, tuple(scopes))
        cache.add(key, entry, CACHE_TTL)
    return entry


def forget_token(digest: str) -> None:
    """Call after the revocation commits: the marker in Redis first, then every process's memory."""
    cache.set(shared_key(digest), REVOKED, CACHE_TTL)
    memory.forget(token_key(digest))


def _touch(caller: Caller) -> None:
    now = time.monotonic()
    if now - _touched.get(caller, -TOUCH_EVERY) < TOUCH_EVERY:
        return
    _touched[caller] = now
    ServiceToken.objects.filter(pk=caller.token_id).update(last_used_at=timezone.now())


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``, for a token that has ``scope``.

    A call without a live token counts against its address's limit of failed calls
    (``api.throttling``): over it, the answer is 429 instead of 401.
    """

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def __call__(self, request: HttpRequest) -> Caller | None:
        caller = super().__call__(request)
        if caller is None:
            throttling.auth_failed(request)
        return caller

    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        caller = caller_for(token, before_lookup=lambda: throttling.refuse_if_blocked(request))
        if caller is None:
            return None
        # Kept on the request for the call log, also when the scope is missing.
        request.api_caller = caller
        if self.scope not in caller.scopes:
            raise AuthorizationError(message=f"This token does not have the scope {self.scope}.")
        _touch(caller)
        return caller
