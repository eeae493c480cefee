"""Every page a signed-in user can open, and every admin list, costs the same number of
queries with 3 rows of what it lists as with 30: the count does not grow with the data.

The pages come from the URLconf and the lists from the admin registry, so a new page or
a new ModelAdmin fails here until it is measured (or, for a page, listed as not one).
The consent page and the staff desk's filters have their own tests
(tests/consents/test_consent_queries.py, tests/requests/test_admin_queries.py).
"""

from dataclasses import dataclass

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import BrowsingRecord, SecurityEvent, User
from api.models import ServiceToken
from consents import services as consent_services
from consents.models import DataCategory, PolicyVersion, Purpose
from consents.selectors import version_in_force
from privacyportal.models import AuditEntry, PurgeRun
from requests.models import (
    DeletionNotice,
    DeletionTombstone,
    Disclosure,
    LegalHold,
    NoticeAttempt,
    PrivacyRequest,
    Recipient,
    RequestEvent,
)
from tests.accounts.factories import UserFactory
from tests.requests.factories import (
    AccessFactory,
    CorrectionFactory,
    QuestionFactory,
    WholeAccountDeletionFactory,
)

pytestmark = pytest.mark.django_db

SMALL, LARGE = 3, 30
Kind = PrivacyRequest.Kind


@dataclass
class World:
    owner: User
    staff: User
    requests: dict  # kind -> the owner's PrivacyRequest shown on its detail page
    size: int = 0


def make_world() -> World:
    owner = UserFactory(phone="+8613800138000", nickname="Owner")
    staff = UserFactory(is_staff=True, is_superuser=True, nickname="Staff")
    requests = {
        Kind.ACCESS: AccessFactory(user=owner, details="Please."),
        Kind.CORRECTION: CorrectionFactory(
            user=owner, details="Please.", correction_value="New", verified=True
        ),
        Kind.DELETION: WholeAccountDeletionFactory(user=owner, details="Please."),
        Kind.QUESTION: QuestionFactory(user=owner, details="Please.", verified=True),
    }
    return World(owner=owner, staff=staff, requests=requests)


def grow(world: World, size: int) -> None:
    """Bring every kind of row the pages and lists show up to ``size``, for the owner
    and across users. Rows are written as the services leave them, mostly in bulk."""
    start, count = world.size, size - world.size
    world.size = size
    owner, staff, now = world.owner, world.staff, timezone.now()
    numbers = range(start, size)
    today = timezone.localdate()

    others = User.objects.bulk_create(
        [User(phone=f"+86136{n:08d}", phone_verified=True, nickname=f"U{n}") for n in numbers]
    )
    version = version_in_force()
    personalisation = Purpose.objects.get(code="personalisation")
    for other in others:
        consent_services.policy_accept(user=other, version=version, channel="signup")
        consent_services.consent_grant(user=other, purpose=personalisation)
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=other, email=f"u{other.pk}@example.cn") for other in others]
    )
    Group.objects.bulk_create([Group(name=f"Team {n}") for n in numbers])
    Authenticator.objects.bulk_create(
        [Authenticator(user=other, type=Authenticator.Type.TOTP, data={}) for other in others]
    )
    ServiceToken.objects.bulk_create(
        [
            ServiceToken(
                service=f"service-{n}",
                prefix=f"p{n:07d}",
                digest=f"{n:064x}",
                scopes=["consent:read"],
                created_at=now,
                created_by=staff,
            )
            for n in numbers
        ]
    )
    SecurityEvent.objects.bulk_create(
        [
            SecurityEvent(user=user, kind=SecurityEvent.Kind.SIGNED_IN, ip_address="192.0.2.1")
            for user in [owner] * count + others
        ]
    )
    BrowsingRecord.objects.bulk_create(
        [
            BrowsingRecord(user=owner, kind=BrowsingRecord.Kind.SEARCH, text=f"query {n}")
            for n in numbers
        ]
    )
    for _ in numbers:
        consent_services.consent_grant(user=owner, purpose=personalisation)
        consent_services.consent_withdraw(user=owner, purpose=personalisation)

    categories = DataCategory.objects.bulk_create(
        [
            DataCategory(code=f"extra-{n}", name_zh_hans=f"类别{n}", name_en=f"Kind {n}")
            for n in numbers
        ]
    )
    purposes = Purpose.objects.bulk_create(
        [
            Purpose(
                code=f"extra_{n}",
                kind=Purpose.Kind.ADDITIONAL,
                name_zh_hans=f"附加功能 {n}",
                name_en=f"Extra function {n}",
                description_zh_hans="说明",
                description_en="Why.",
                position=100 + n,
            )
            for n in numbers
        ]
    )
    for purpose, category in zip(purposes, categories, strict=True):
        purpose.data_categories.set([category])
    drafts = PolicyVersion.objects.bulk_create(
        [
            PolicyVersion(
                title_zh_hans=f"草稿 {n}",
                title_en=f"Draft {n}",
                body_zh_hans="正文",
                body_en="Text",
            )
            for n in numbers
        ]
    )
    for draft, purpose in zip(drafts, purposes, strict=True):
        draft.changed_purposes.set([purpose])

    recipients = Recipient.objects.bulk_create(
        [Recipient(name=f"Recipient {n}", contact=f"privacy@r{n}.example") for n in numbers]
    )
    for recipient, category in zip(recipients, categories, strict=True):
        recipient.data_categories.set([category])
    disclosures = Disclosure.objects.bulk_create(
        [
            Disclosure(
                user=owner,
                recipient=recipient,
                subject_identifier=owner.phone,
                basis=Disclosure.Basis.LEGAL_EXCEPTION,
                legal_exception=Disclosure.LegalException.LEGAL_OBLIGATION,
                recorded_by=staff,
            )
            for recipient in recipients
        ]
    )
    for disclosure, category in zip(disclosures, categories, strict=True):
        disclosure.categories.set([category])
    deletion = world.requests[Kind.DELETION]
    notices = DeletionNotice.objects.bulk_create(
        [
            DeletionNotice(
                request=deletion, recipient=recipient, status=DeletionNotice.Status.FAILED
            )
            for recipient in recipients
        ]
    )
    NoticeAttempt.objects.bulk_create(
        [NoticeAttempt(notice=notice, status_code=500, error="HTTP 500") for notice in notices]
    )

    owner_requests = PrivacyRequest.objects.bulk_create(
        [
            PrivacyRequest(
                user=user, kind=Kind.QUESTION, details=f"Q{n}", due_on=today, assignee=staff
            )
            for n, user in enumerate([owner] * count + others)
        ]
    )
    RequestEvent.objects.bulk_create(
        [
            RequestEvent(request=privacy_request, action=RequestEvent.Action.ASSIGNED, actor=staff)
            for privacy_request in owner_requests
        ]
        + [
            RequestEvent(request=privacy_request, action=RequestEvent.Action.ASSIGNED, actor=staff)
            for privacy_request in world.requests.values()
            for _ in numbers
        ]
    )
    LegalHold.objects.bulk_create(
        [LegalHold(user=other, reason="Litigation", set_by=staff) for other in others]
    )
    DeletionTombstone.objects.bulk_create(
        [
            DeletionTombstone(user_id=other.pk, request=deletion, whole_account=True)
            for other in others
        ]
    )
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                actor=staff,
                action="user.changed",
                user=other,
                target_type="accounts.user",
                target_id=str(other.pk),
            )
            for other in others
        ]
    )
    PurgeRun.objects.bulk_create(
        [
            PurgeRun(run=f"00000000-0000-0000-0000-{n:012d}", target="browsing", started_at=now)
            for n in numbers
        ]
    )


def count_queries(client, url) -> int:
    client.get(url)  # warm: the session, content types, the consent cache
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code < 500, (url, response.status_code)
    return len(captured)


# Every named URL outside the admin is a page measured here or listed with why it is not.
PAGES = {
    "home": lambda w: "/",
    "accounts:settings": None,
    "accounts:security_events": None,
    "accounts:my_data": None,
    "accounts:history": None,
    "accounts:password_remove": None,
    "account_change_password": None,
    "account_set_password": None,
    "account_change_phone": None,
    "account_reauthenticate": None,
    "account_logout": None,
    # Two-factor: anyone may turn it on (the desk requires it of staff).
    "mfa_index": None,
    "mfa_activate_totp": None,
    "consents:page": None,
    "consents:history": None,
    "consents:receipt": lambda w: reverse(
        "consents:receipt", args=[w.owner.consent_events.latest("pk").receipt_id]
    ),
    "consents:purpose": lambda w: reverse("consents:purpose", args=["cross_border"]),
    "requests:list": None,
    "requests:disclosures": None,
    "requests:new": [lambda w, k=kind: reverse("requests:new", args=[k]) for kind in Kind],
    "requests:detail": [
        lambda w, k=kind: reverse("requests:detail", args=[w.requests[k].reference])
        for kind in Kind
    ],
    "requests:withdraw": lambda w: reverse(
        "requests:withdraw", args=[w.requests[Kind.QUESTION].reference]
    ),
    "policy:in_force": None,
    "policy:versions": None,
    "policy:version": lambda w: reverse("policy:version", args=[1]),
    "policy:diff": lambda w: reverse("policy:diff") + "?from=1&to=1",
    "policy:accept": None,
    "help_search": lambda w: reverse("help_search") + "?q=data",
    "help_topic": lambda w: reverse("help_topic", args=["sign-in"]),
}
NOT_PAGES = {
    "health": "for machines, no data listed (tests/privacyportal/test_health.py)",
    "accounts:avatar_image": "an image file, not a page",
    "requests:download": "streams the access copy's ZIP (tests/requests/test_user_pages.py)",
    "requests:verify": "only after a filing POST left the pending request in the session",
    "accounts:nickname": "POST only",
    "accounts:avatar": "POST only",
    "accounts:avatar_remove": "POST only",
    "accounts:history_delete": "POST only",
    "accounts:history_clear": "POST only",
    "policy:notice_dismiss": "POST only",
    "set_language": "POST only",
    "notice_callback": "the recipients' API, POST only",
    # allauth's pages for signed-out users, and the steps inside its sign-in flows.
    "account_login": "signed out",
    "account_signup": "signed out",
    "account_inactive": "signed out",
    "account_request_login_code": "signed out",
    "account_confirm_login_code": "a step of the sign-in flow",
    "account_verify_phone": "a step of the sign-up and change-number flows",
    "account_reset_password": "redirected to sign-in by code",
    "account_reset_password_done": "signed out",
    "account_reset_password_from_key": "signed out",
    "account_reset_password_from_key_done": "signed out",
    "account_email": "redirected: accounts have no e-mail address",
    "account_email_verification_sent": "accounts have no e-mail address",
    "account_confirm_email": "accounts have no e-mail address",
    "mfa_authenticate": "a step of the sign-in flow",
    # Only once an authenticator app is on (tests/security/test_staff_mfa.py).
    "mfa_reauthenticate": "asks for a code from the authenticator app",
    "mfa_deactivate_totp": "only with an authenticator app",
    "mfa_view_recovery_codes": "only with an authenticator app",
    "mfa_generate_recovery_codes": "only with an authenticator app",
    "mfa_download_recovery_codes": "a text file, with an authenticator app",
}


def url_names(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            # The admin has its own test below; the internal API answers services, not
            # people, with JSON (tests/api).
            if pattern.namespace in (admin.site.name, "api-v1"):
                continue
            prefix = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_names(pattern.url_patterns, prefix)
        elif pattern.name:
            yield namespace + pattern.name


def page_urls(world):
    for name, spec in PAGES.items():
        if spec is None:
            yield name, reverse(name)
        elif isinstance(spec, list):
            for make in spec:
                yield name, make(world)
        else:
            yield name, spec(world)


def test_every_named_url_is_measured_or_said_not_to_be_a_page():
    names = set(url_names(get_resolver().url_patterns))
    assert not set(PAGES) & set(NOT_PAGES)
    assert names - set(PAGES) - set(NOT_PAGES) == set(), "a new page: add it to PAGES"
    assert set(PAGES) | set(NOT_PAGES) <= names, "a page is gone: remove it here"


def test_no_user_page_costs_more_queries_with_more_data(client):
    world = make_world()
    client.cookies.load({"django_language": "en"})
    client.force_login(world.owner)

    grow(world, SMALL)
    small = [(name, url, count_queries(client, url)) for name, url in page_urls(world)]
    grow(world, LARGE)
    large = [(name, url, count_queries(client, url)) for name, url in page_urls(world)]

    for (_name, url, few), (_, _, many) in zip(small, large, strict=True):
        print(f"{url:60} {SMALL:>3} rows: {few:>3} queries   {LARGE} rows: {many:>3}")
    # By page, not by URL: the newest receipt is another one at the larger size.
    assert [(name, many) for name, _, many in large] == [(name, few) for name, _, few in small]


def admin_changelists():
    for model in admin.site._registry:
        yield reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def test_no_admin_list_costs_more_queries_with_more_data(client):
    world = make_world()
    client.force_login(world.staff)

    def measure():
        results = {}
        for url in admin_changelists():
            count = count_queries(client, url)
            results[url] = (count, client.get(url).context["cl"].result_count)
        return results

    grow(world, SMALL)
    small = measure()
    grow(world, LARGE)
    large = measure()

    for url in small:
        print(f"{url:55} {SMALL:>3}: {small[url][0]:>3} queries   {LARGE}: {large[url][0]:>3}")
    # Each list shows more rows at the larger size: a new admin fails until grow() adds its rows.
    assert [url for url in small if large[url][1] <= small[url][1]] == []
    assert {url: large[url][0] for url in large} == {url: small[url][0] for url in small}
