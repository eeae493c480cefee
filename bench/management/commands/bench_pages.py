"""Measure the self-service pages' throughput under gunicorn against a trivial page.

Run against the real services (``make bench``). The database holds 100,000 users
(numbers +86173…) and 1,000,000 browsing records spread over them with a skew (a few
users have thousands, most a handful); the measured user, +8617300000000, has 400
records, a few requests, two consents given and the policy in force accepted. The
rows are made by ``INSERT … SELECT generate_series`` (seconds) and kept: a run finds
them and goes straight to the measurement.

For each page (home, Account Settings, data use choices, my requests) the server
(``gunicorn``, 2 workers, production settings) is loaded alternately with the page
and with the floor, ``/bench/trivial/`` (the same server and middleware, a fixed
page), by the same clients (``bench.loadtest.compare``). The figure is the
page's requests per second ÷ the floor's. It asserts nothing.
"""

import secrets
import time
from importlib import import_module

import httpx
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from bench.data import (
    PAGE_USER_PREFIX,
    PAGE_USERS,
    accept_and_consent,
    page_users,
    verified_request,
)
from bench.loadtest import Load, add_load_arguments, compare, gunicorn_server
from bench.results import Figure, report
from requests.models import PrivacyRequest

RECORDS = 1_000_000
MEASURED_RECORDS = 400
GOAL_RATIO = ">= 0.5"
PAGES = [
    ("home page", "home"),
    ("Account Settings", "accounts:settings"),
    ("data use choices (consents)", "consents:page"),
    ("my requests", "requests:list"),
]

# The measured user (the array's first id) gets exactly MEASURED_RECORDS; the others share
# the rest with a power-law skew (index ~ uniform^1.5): low indexes have many, most few.
INSERT_RECORDS = """
INSERT INTO accounts_browsingrecord (user_id, kind, text, path, occurred_at, source)
SELECT CASE WHEN g <= %(measured)s THEN (%(users)s::bigint[])[1]
            ELSE (%(users)s::bigint[])[2 + floor((%(user_count)s - 1) * power(random(), 1.5))::int]
       END,
       CASE WHEN g %% 3 = 0 THEN 'view' ELSE 'search' END,
       CASE WHEN g %% 3 = 0 THEN '隐私政策：您的权利' ELSE '如何修改手机号 ' || g END,
       CASE WHEN g %% 3 = 0 THEN '/help/topic-' || (g %% 50) || '/' ELSE '' END,
       %(now)s - random() * interval '90 days',
       ''
FROM generate_series(1, %(rows)s) AS g
"""

COUNT_RECORDS = """
SELECT count(*) FROM accounts_browsingrecord r JOIN accounts_user u ON u.id = r.user_id
WHERE u.phone LIKE %(pattern)s
"""


class Command(BaseCommand):
    help = "Benchmark the self-service pages under gunicorn (2 workers) against a trivial page."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=PAGE_USERS)
        parser.add_argument("--records", type=int, default=RECORDS)
        add_load_arguments(parser)

    def handle(self, *args, users, records, rounds, seconds, clients, **options):
        if connection.vendor != "postgresql" or not settings.REDIS_URL:
            raise CommandError("The pages benchmark runs on PostgreSQL and Redis.")
        user = self._data(user_count=users, records=records)
        secret_key = secrets.token_urlsafe(50)
        cookie = f"{settings.SESSION_COOKIE_NAME}={self._session(user, secret_key)}"
        headers = {"Cookie": cookie, "Accept-Language": "zh-hans"}
        floor = Load("GET", "/bench/trivial/", headers=headers)
        with gunicorn_server(workers=2, env={"SECRET_KEY": secret_key}) as url:
            for name, url_name in PAGES:
                path = reverse(url_name)
                self._check_signed_in(url, path, headers)
                page_rps, floor_rps, ratio = compare(
                    url,
                    Load("GET", path, headers=headers),
                    floor,
                    rounds=rounds,
                    seconds=seconds,
                    clients=clients,
                )
                page = f"page {path} ({name})"
                report(
                    self.stdout,
                    [
                        Figure(f"{page}, signed in", page_rps, "requests/s"),
                        Figure(f"{page} ÷ trivial page", ratio, "ratio", GOAL_RATIO),
                    ],
                )
                self.stdout.write(f"  (the trivial page meanwhile: {floor_rps:,.0f} requests/s)")

    # --- the data ------------------------------------------------------------------------

    def _data(self, *, user_count: int, records: int):
        users = page_users(self.stdout, user_count)
        user = users.get(phone=f"{PAGE_USER_PREFIX}{0:08d}")
        self._measured_user(user)
        with connection.cursor() as cursor:
            cursor.execute(COUNT_RECORDS, {"pattern": f"{PAGE_USER_PREFIX}%"})
            (have,) = cursor.fetchone()
        if have != records:
            # Fewer (a purge took the expired ones) or more: start the records afresh.
            started = time.perf_counter()
            ids = [user.pk, *users.exclude(pk=user.pk).order_by("pk").values_list("pk", flat=True)]
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM accounts_browsingrecord WHERE user_id = ANY(%s)", [ids])
                cursor.execute("SELECT setseed(0.7)")
                cursor.execute(
                    INSERT_RECORDS,
                    {
                        "users": ids,
                        "user_count": len(ids),
                        "measured": min(MEASURED_RECORDS, records),
                        "rows": records,
                        "now": timezone.now(),
                    },
                )
                cursor.execute("VACUUM ANALYZE accounts_browsingrecord")
            self.stdout.write(
                f"created {records:,} browsing records in {time.perf_counter() - started:,.1f} s"
            )
        self.stdout.write(
            f"pages benchmark: {users.count():,} users, {records:,} browsing records "
            f"({user.browsing_records.count():,} of the measured user)"
        )
        return user

    @transaction.atomic
    def _measured_user(self, user) -> None:
        """Policy accepted, two consents given, a few requests: a page with something on it."""
        accept_and_consent(user, purposes=2)
        if not user.nickname:
            user.nickname = "基准用户"
            user.save(update_fields=["nickname"])
        if PrivacyRequest.objects.filter(user=user).exists():
            return
        for kind, status in [
            (PrivacyRequest.Kind.QUESTION, PrivacyRequest.Status.SUBMITTED),
            (PrivacyRequest.Kind.QUESTION, PrivacyRequest.Status.IN_PROGRESS),
            (PrivacyRequest.Kind.CORRECTION, PrivacyRequest.Status.SUBMITTED),
            (PrivacyRequest.Kind.ACCESS, PrivacyRequest.Status.WITHDRAWN),
        ]:
            verified_request(
                user=user, kind=kind, status=status, details="你们保存了我的哪些信息？"
            )

    # --- signing in ----------------------------------------------------------------------

    def _session(self, user, secret_key: str) -> str:
        """A real session for the user, signed with the server's key (as a sign-in makes)."""
        engine = import_module(settings.SESSION_ENGINE)
        with override_settings(SECRET_KEY=secret_key):
            session = engine.SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
        return session.session_key

    def _check_signed_in(self, url: str, path: str, headers: dict) -> None:
        """The page answers 200 itself (no redirect to sign-in or to the policy acceptance)
        and is a signed-in page: the header offers to sign out."""
        response = httpx.get(f"{url}{path}", headers=headers, timeout=30)
        if response.status_code != 200:
            raise CommandError(
                f"{path} answered {response.status_code} "
                f"{response.headers.get('location', '')}: not the signed-in page"
            )
        if f'href="{reverse("account_logout")}"' not in response.text:
            raise CommandError(f"{path} is not a signed-in page")
