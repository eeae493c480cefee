"""Measure the staff desk's request list on 100,000 privacy requests against the user list.

Run against the real services (``make bench``). The requests belong to the benchmark
users of ``bench_pages`` (made here too if missing) and are made by one
``INSERT … SELECT generate_series``, kept for the next run: kinds, statuses, filing
dates over two years, due dates 15 working days on (some extended), five assignees.

Both changelists (``/admin/requests/privacyrequest/`` and ``/admin/accounts/user/``,
over 100,000+ users) are requested by a superuser through Django's test client in this
process: the queries are counted exactly (CaptureQueriesContext), and the time is the
median of several requests of each, alternated. In-process rather than under gunicorn:
a changelist is a page for a few staff members, not a throughput to sustain, what costs
is its queries and its rendering, and the two are compared in the same process and
minute, so the ratio is as machine-independent as one under gunicorn. It asserts nothing.
"""

import statistics
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.data import PAGE_USERS, page_users
from bench.results import Figure, report
from requests.models import PrivacyRequest

REQUESTS = 100_000
STAFF_PHONE = "+8617400000000"
ASSIGNEES = 5
MARK = "bench admin request"
# The request list does more than Django's stock user list (computed columns such as the
# working days left, four filters, two joins) but staff live in it: at most twice the time.
GOAL_TIME_RATIO = "<= 2"
# A changelist's queries must not grow with the rows shown (no query per row).
GOAL_QUERIES = "<= 12"

# Kinds and statuses in the proportions of a desk in steady state: most requests closed,
# a fifth still open. Rejections carry a reason, deletions a ground (the table's checks).
INSERT_REQUESTS = """
INSERT INTO requests_privacyrequest (
    reference, user_id, kind, status, details, ground, whole_account, scope_kinds,
    correction_field, correction_value, created_at, verified_at, due_on, extended_to,
    extension_reason, rejection_reason, answer, closed_at, assignee_id)
SELECT gen_random_uuid(),
       (%(users)s::bigint[])[1 + (g * 7919) %% %(user_count)s],
       kind, status, %(mark)s || ' ' || g,
       CASE WHEN kind = 'deletion' THEN '4.2.2' ELSE '' END,
       false, '[]'::jsonb, '', '',
       created, created, (created + interval '21 days')::date,
       CASE WHEN g %% 20 = 0 THEN (created + interval '30 days')::date END,
       CASE WHEN g %% 20 = 0 THEN 'complex request' ELSE '' END,
       CASE WHEN status = 'rejected' THEN 'no_ground' ELSE '' END,
       '',
       CASE WHEN status IN ('completed', 'rejected', 'withdrawn')
            THEN created + interval '10 days' END,
       CASE WHEN g %% 7 = 0 THEN NULL
            ELSE (%(assignees)s::bigint[])[1 + g %% %(assignee_count)s] END
FROM (
    SELECT g,
           (ARRAY['access', 'access', 'deletion', 'correction', 'question',
                  'question'])[1 + g %% 6] AS kind,
           (ARRAY['completed', 'completed', 'completed', 'completed', 'completed',
                  'completed', 'rejected', 'withdrawn', 'submitted', 'in_progress'])
               [1 + (g / 6) %% 10] AS status,
           %(now)s - (g * interval '10 minutes') AS created
    FROM generate_series(1, %(rows)s) AS g
) AS spread
"""


class Command(BaseCommand):
    help = "Benchmark the admin request list (100,000 requests) against the admin user list."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=PAGE_USERS)
        parser.add_argument("--requests", type=int, default=REQUESTS)
        parser.add_argument("--repeat", type=int, default=9)

    def handle(self, *args, users, requests, repeat, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The admin list benchmark runs on PostgreSQL (set DATABASE_URL).")
        staff = self._data(user_count=users, rows=requests)
        client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(staff)
        lists = {
            "request list": "/admin/requests/privacyrequest/",
            "user list": "/admin/accounts/user/",
        }
        queries = {}
        for name, path in lists.items():
            client.get(path)  # warm: templates compiled, caches filled
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path)
            if response.status_code != 200:
                raise CommandError(f"{path} answered {response.status_code}")
            queries[name] = len(captured)
        times = {name: [] for name in lists}
        for _ in range(repeat):
            for name, path in lists.items():
                started = time.perf_counter()
                client.get(path)
                times[name].append(time.perf_counter() - started)
        request_ms = statistics.median(times["request list"]) * 1e3
        user_ms = statistics.median(times["user list"]) * 1e3
        request_queries = f"admin request list ({requests:,} requests): queries"
        report(
            self.stdout,
            [
                Figure(request_queries, queries["request list"], "queries", GOAL_QUERIES),
                Figure("admin user list: queries", queries["user list"], "queries"),
                Figure("admin request list: time (median)", request_ms, "ms"),
                Figure("admin user list: time (median)", user_ms, "ms"),
                Figure(
                    "admin request list ÷ admin user list, time",
                    request_ms / user_ms,
                    "ratio",
                    GOAL_TIME_RATIO,
                ),
            ],
        )

    def _data(self, *, user_count: int, rows: int):
        users = page_users(self.stdout, user_count)
        User = get_user_model()
        staff, _ = User.objects.get_or_create(
            phone=STAFF_PHONE,
            defaults={"is_staff": True, "is_superuser": True, "phone_verified": True},
        )
        assignees = [staff.pk, *users.order_by("-pk").values_list("pk", flat=True)[: ASSIGNEES - 1]]
        User.objects.filter(pk__in=assignees).update(is_staff=True)
        have = PrivacyRequest.objects.filter(details__startswith=MARK).count()
        if have < rows:
            started = time.perf_counter()
            PrivacyRequest.objects.filter(details__startswith=MARK).delete()
            ids = list(users.order_by("pk").values_list("pk", flat=True))
            with connection.cursor() as cursor:
                cursor.execute(
                    INSERT_REQUESTS,
                    {
                        "users": ids,
                        "user_count": len(ids),
                        "assignees": assignees,
                        "assignee_count": len(assignees),
                        "mark": MARK,
                        "rows": rows,
                        "now": timezone.now(),
                    },
                )
                cursor.execute("VACUUM ANALYZE requests_privacyrequest")
            self.stdout.write(
                f"created {rows:,} requests in {time.perf_counter() - started:,.1f} s"
            )
        self.stdout.write(
            f"admin list benchmark: {PrivacyRequest.objects.count():,} requests, "
            f"{User.objects.count():,} users"
        )
        return staff
