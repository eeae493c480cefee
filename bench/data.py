"""The benchmark rows several benchmarks share.

``page_users`` (numbers +86173…) are made in one ``INSERT … SELECT generate_series`` for
``bench_pages`` and ``bench_admin_list``; ``consent_users`` (numbers +86170…) through the
real consent services, with a realistic mix of grants, for ``bench_consents`` and ``bench_api``;
both are made once and kept for the next run. ``accept_and_consent`` gives a measured
user the policy acceptance and consents a real one has; ``verified_request`` files the
privacy requests the benchmarks measure the handling of.
"""

import time

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from consents.models import Channel, LedgerHead, PolicyAcceptance, Purpose
from consents.selectors import version_in_force
from consents.services import consent_grant, policy_accept
from requests.deadlines import due_date
from requests.models import PrivacyRequest

PAGE_USER_PREFIX = "+86173"
PAGE_USERS = 100_000  # make bench's size; the smoke test asks for fewer
CONSENT_USER_PREFIX = "+86170"

INSERT_USERS = """
INSERT INTO accounts_user (password, is_superuser, phone, phone_verified, nickname, avatar,
                           language, is_staff, is_active, date_joined)
SELECT '!', false, %(prefix)s || lpad(g::text, 8, '0'), true, '', '', '', false, true,
       %(now)s - (g %% 700) * interval '1 day'
FROM generate_series(0, %(users)s - 1) AS g
ON CONFLICT (phone) DO NOTHING
"""


def page_users(stdout, count: int):
    """At least ``count`` page benchmark users (made in one statement); their queryset."""
    users = get_user_model().objects.filter(phone__startswith=PAGE_USER_PREFIX)
    if users.count() < count:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                INSERT_USERS, {"prefix": PAGE_USER_PREFIX, "users": count, "now": timezone.now()}
            )
        stdout.write(f"created {count:,} users in {time.perf_counter() - started:,.1f} s")
    return users


def consent_users(stdout, count: int) -> list[int]:
    """The ids of ``count`` consent benchmark users, made through the consent services."""
    User = get_user_model()
    users = User.objects.filter(phone__startswith=CONSENT_USER_PREFIX).order_by("pk")
    existing = users.count()
    if existing >= count:
        return list(users.values_list("pk", flat=True)[:count])
    stdout.write(f"creating {count - existing} benchmark users …")
    additional = list(Purpose.objects.filter(kind=Purpose.Kind.ADDITIONAL, is_active=True))
    LedgerHead.objects.get_or_create(id=1)
    for n in range(existing, count):
        with transaction.atomic():
            user = User.objects.create_user(
                phone=f"{CONSENT_USER_PREFIX}{n:08d}", phone_verified=True
            )
            # Every other user turns personalisation on; some turn on more.
            for i, purpose in enumerate(additional):
                if (n + i) % (2 + i) == 0:
                    consent_grant(
                        user=user,
                        purpose=purpose,
                        channel=Channel.SELF_SERVICE,
                        separately_confirmed=True,
                    )
    return list(users.values_list("pk", flat=True)[:count])


@transaction.atomic
def accept_and_consent(user, *, purposes: int | None = None) -> None:
    """The policy in force accepted (once) and the first ``purposes`` optional uses
    (None: all) consented to, as a user who has been through the portal."""
    LedgerHead.objects.get_or_create(id=1)
    version = version_in_force()
    if (
        version is not None
        and not PolicyAcceptance.objects.filter(user=user, version=version, express=True).exists()
    ):
        policy_accept(user=user, version=version, channel=Channel.SIGNUP)
    for purpose in Purpose.objects.filter(kind=Purpose.Kind.ADDITIONAL, is_active=True)[:purposes]:
        consent_grant(
            user=user, purpose=purpose, channel=Channel.SELF_SERVICE, separately_confirmed=True
        )


def verified_request(*, user, kind: str, status: str, **fields) -> PrivacyRequest:
    """A request filed and verified now, made directly: the SMS check is not what is measured."""
    now = timezone.now()
    return PrivacyRequest.objects.create(
        user=user, kind=kind, status=status, verified_at=now, due_on=due_date(now), **fields
    )
