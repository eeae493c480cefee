"""The internal API (``/api/v1/``): the shop, search, recommendations and exports ask the
portal before using optional data, and tell it what they share.

Each operation is a thin shell: check the token's scope (``auth``), let the schema
validate the input, call a selector or a service, shape the answer.
"""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.http import JsonResponse
from ninja import Header, NinjaAPI, Path, Status
from ninja.openapi.docs import Swagger

from accounts.models import BrowsingRecord
from accounts.services import activity_record
from consents.selectors import UnknownPurpose, consent_is_given, consents_given
from requests import disclosures
from requests.models import Disclosure

from . import errors, selectors
from .auth import TokenAuth
from .errors import ApiError
from .models import Scope
from .schemas import (
    ActivityIn,
    ActivityOut,
    BulkCheckIn,
    BulkCheckOut,
    ConsentOut,
    DisclosureIn,
    DisclosureOut,
    ErrorOut,
    NoticeOut,
    UserById,
)
from .throttling import ClientRateThrottle, auth_failed, refuse_if_blocked

REFUSALS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    413: ErrorOut,
    429: ErrorOut,
}
BODY_REFUSALS = {**REFUSALS, 415: ErrorOut, 422: ErrorOut}
PurposeCode = Path(
    ..., min_length=1, max_length=64, description="A purpose code.", example="personalisation"
)

api = NinjaAPI(
    title="Privacy portal internal API",
    version="1",
    description=(
        "For the portal's own services: consent checks, disclosures, browsing and search "
        "activity, and deletion notices for recipients that poll. Every refusal is "
        '`{"error": {"code", "message", "fields"}}`.\n\n'
        "**Rate limits.** Every call of a service token counts against that token's limit "
        f"(`API_RATE_LIMIT_CLIENT`, by default {settings.API_RATE_LIMIT_CLIENT} calls); calls "
        "refused for a missing, wrong or revoked token, or a bad signature, count against "
        "the calling address's limit (`API_RATE_LIMIT_AUTH_FAILURES`, by default "
        f"{settings.API_RATE_LIMIT_AUTH_FAILURES}). Over a limit the answer is 429 "
        "(`too_many_requests`) with `Retry-After`, the seconds until the next window; an "
        "address over its limit gets 429 for every call that does not carry a token the "
        "portal already holds."
    ),
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    # Served from ninja's own static files (ninja is in INSTALLED_APPS); the validator
    # badge would otherwise be fetched from swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
    docs_url="/docs",
    throttle=[ClientRateThrottle()],
)
errors.install(api)


def _check(purpose: str) -> None:
    """Refuse an unknown purpose before anything else (the selectors raise on it)."""
    try:
        consents_given(user_ids=[], purpose=purpose)
    except UnknownPurpose:
        raise ApiError(
            404, f"No purpose has the code {purpose!r}.", code="unknown_purpose"
        ) from None


@api.get(
    "/consents/{purpose}/users/{user_id}",
    response={200: ConsentOut, **REFUSALS, 422: ErrorOut},
    auth=TokenAuth(Scope.CONSENT_READ),
    url_name="consent_check",
    summary="May this user's data be used for this purpose now?",
)
def consent_check(
    request, purpose: str = PurposeCode, user_id: int = Path(..., ge=1, le=2**63 - 1, example=1)
):
    _check(purpose)
    closed = selectors.users_closed(user_ids=[user_id])
    if user_id not in closed:
        raise ApiError(404, "No user has this id.", code="unknown_user")
    given = not closed[user_id] and consent_is_given(user=_Ref(user_id), purpose=purpose)
    return {"user_id": user_id, "purpose": purpose, "given": given}


class _Ref:
    """What the consent check needs of a user: its id (no query for the rest)."""

    __slots__ = ("pk",)

    def __init__(self, pk: int) -> None:
        self.pk = pk


@api.post(
    "/consents/{purpose}/check",
    response={200: BulkCheckOut, **BODY_REFUSALS},
    auth=TokenAuth(Scope.CONSENT_READ),
    url_name="consent_check_bulk",
    summary="The consent check for up to 1,000 users at once.",
)
def consent_check_bulk(request, payload: BulkCheckIn, purpose: str = PurposeCode):
    _check(purpose)
    closed = selectors.users_closed(user_ids=payload.user_ids)
    unknown = [u for u in payload.user_ids if u not in closed]
    if unknown:
        raise ApiError(
            422,
            "Some user ids name no user.",
            code="unknown_users",
            fields=[("user_ids", ", ".join(map(str, unknown[:20])))],
        )
    given = consents_given(user_ids=payload.user_ids, purpose=purpose)
    # Serialised here rather than validated against BulkCheckOut: for 1,000 results that
    # costs more than the check. The schema fuzz (tests/api/test_fuzz.py) holds it to the
    # documented shape.
    return JsonResponse(
        {
            "purpose": purpose,
            "results": [
                {"user_id": u, "given": given[u] and not closed[u]} for u in payload.user_ids
            ],
        }
    )


# The service's refusals about the state of things (the user's consent, the account, the
# recipient) rather than the body: 409, as the same body may be recorded once that changes.
CONFLICTS = frozenset({"consent_missing", "account_closed", "recipient_inactive"})


@api.post(
    "/disclosures",
    response={201: DisclosureOut, 409: ErrorOut, **BODY_REFUSALS},
    auth=TokenAuth(Scope.DISCLOSURE_WRITE),
    url_name="disclosure_create",
    summary="Record that the caller shared a user's data with a recipient.",
)
def disclosure_create(request, payload: DisclosureIn):
    ref = payload.user
    if isinstance(ref, UserById):
        user = selectors.user_by_ref(user_id=ref.id)
    else:
        user = selectors.user_by_ref(phone=ref.phone)
    if user is None:
        raise ApiError(404, "No user has this id or mobile number.", code="unknown_user")
    recipient = selectors.recipient_by_ref(ref=payload.recipient)
    if recipient is None:
        raise ApiError(404, "No recipient has this id or name.", code="unknown_recipient")
    categories, unknown = selectors.categories_by_codes(codes=payload.categories)
    if unknown:
        raise ApiError(
            422,
            "Some categories do not exist.",
            code="unknown_category",
            fields=[("categories", ", ".join(unknown))],
        )
    try:
        disclosure = disclosures.disclosure_record(
            user=user,
            recipient=recipient,
            categories=categories,
            subject_identifier=payload.subject_identifier,
            basis=payload.basis,
            legal_exception=payload.legal_exception or "",
            legal_note=payload.legal_note,
            disclosed_at=payload.disclosed_at,
            service=request.auth.service,
        )
    except disclosures.DisclosureError as error:
        status = 409 if error.code in CONFLICTS else 422
        raise ApiError(status, str(error.message), code=error.code) from None
    return Status(201, _disclosure_out(disclosure, recipient, categories))


def _disclosure_out(disclosure: Disclosure, recipient, categories) -> dict:
    return {
        "id": disclosure.pk,
        "user_id": disclosure.user_id,
        "recipient": {"id": recipient.pk, "name": recipient.name},
        "categories": sorted(c.code for c in categories),
        "basis": disclosure.basis,
        "legal_exception": disclosure.legal_exception,
        "subject_identifier": disclosure.subject_identifier,
        "disclosed_at": disclosure.disclosed_at,
        "recorded_by_service": disclosure.recorded_by_service,
    }


@api.post(
    "/activity",
    response={202: ActivityOut, **BODY_REFUSALS},
    auth=TokenAuth(Scope.ACTIVITY_WRITE),
    url_name="activity_create",
    summary="Report a search or a view; kept only under the user's personalisation consent.",
)
def activity_create(request, payload: ActivityIn):
    user = selectors.user_by_ref(user_id=payload.user_id)
    if user is None:
        raise ApiError(404, "No user has this id.", code="unknown_user")
    if user.closed_at is not None:
        return Status(202, {"stored": False, "reason": "account_closed"})
    record = activity_record(
        user=user, kind=payload.kind, text=payload.text, source=request.auth.service
    )
    if record is not None:
        return Status(202, {"stored": True, "reason": None})
    if not consent_is_given(user=user, purpose=BrowsingRecord.PURPOSE):
        return Status(202, {"stored": False, "reason": "no_personalisation_consent"})
    return Status(202, {"stored": False, "reason": "empty_text"})


@api.get(
    "/notices/{key}",
    response={200: NoticeOut, **REFUSALS, 422: ErrorOut},
    url_name="notice_state",
    summary="The state of a deletion notice, for a recipient that polls.",
    description=(
        "Signed by the recipient instead of a service token: `X-PrivacyPortal-Timestamp` is "
        "the Unix time in seconds, and `X-PrivacyPortal-Signature` is `sha256=` and the hex "
        "HMAC-SHA256, with the recipient's signing secret, of `<key>.<timestamp>`. An unknown "
        "key and a bad signature get the same 403."
    ),
)
def notice_state(
    request,
    key: UUID,
    signature: str = Header("", alias="X-PrivacyPortal-Signature", max_length=200),
    timestamp: str = Header("", alias="X-PrivacyPortal-Timestamp", max_length=20),
):
    refuse_if_blocked(request)
    state = selectors.notice_for_recipient(key=key, timestamp=timestamp, signature=signature)
    if state is None:
        auth_failed(request)
        raise ApiError(403, "Unknown notice or bad signature.", code="invalid_signature")
    return state
