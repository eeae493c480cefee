"""Issue 19 point 5: the portal's outgoing calls reach only allowed addresses.

Checked where an endpoint is saved (the recipient's admin form, the SMS provider's
setting) and again when the call connects, against the address the name resolves to
then. The resolver is replaced (``privacyportal.outgoing.resolve``): DNS is outside the
project, and these tests must not depend on it.
"""

import re
from pathlib import Path

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from consents.models import DataCategory
from privacyportal import outgoing, sms
from privacyportal.sms.backends.http import SmsBackend as HttpSmsBackend
from requests import propagation, register
from requests.models import DeletionNotice, NoticeAttempt, Recipient
from tests.accounts.factories import UserFactory
from tests.requests.factories import NoticeFactory

from .notice_helpers import local_server

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.216.34"
INTERNAL = "The portal does not call such addresses"


@pytest.fixture
def production_hosts(settings):
    """As in production: no host is allowed past the address checks."""
    settings.OUTGOING_ALLOWED_HOSTS = []
    return settings


class Resolver(dict):
    """What DNS answers, name by name (``resolver["dsr.acme.example"] = ["10.0.0.7"]``),
    and every name asked."""

    def __init__(self):
        super().__init__()
        self.asked: list[str] = []

    def __call__(self, host, port):
        self.asked.append(host)
        if host not in self:
            raise OSError(f"no such name: {host}")
        return list(self[host])


@pytest.fixture
def resolver(monkeypatch):
    answers = Resolver()
    monkeypatch.setattr(outgoing, "resolve", answers)
    return answers


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    client.cookies["django_language"] = "en"
    return client


def add_recipient(admin_client, endpoint):
    return admin_client.post(
        reverse("admin:requests_recipient_add"),
        {
            "name": "Acme Logistics",
            "contact": "dpo@acme.example",
            "data_categories": [DataCategory.objects.get(code="phone_number").pk],
            "endpoint": endpoint,
            "is_active": "on",
        },
    )


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("https://169.254.169.254/latest/meta-data/", INTERNAL),
        ("https://10.0.0.1/dsr", INTERNAL),
        ("https://[::ffff:10.0.0.1]/dsr", INTERNAL),
        ("https://[fe80::1]/dsr", INTERNAL),
        ("https://224.0.0.1/dsr", INTERNAL),
        ("https://0.0.0.0/dsr", INTERNAL),
        ("https://localhost/dsr", INTERNAL),
        ("http://127.0.0.1:6379/", "The endpoint must be an https:// address."),
        ("https://127.0.0.1:6379/", INTERNAL),
    ],
)
def test_an_internal_endpoint_is_refused_when_saved(
    admin_client, production_hosts, resolver, endpoint, message
):
    response = add_recipient(admin_client, endpoint)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Recipient.objects.exists()


def test_a_name_that_resolves_to_a_private_address_is_refused_when_saved(
    admin_client, production_hosts, resolver
):
    resolver["dsr.acme.example"] = [PUBLIC, "10.20.30.40"]

    response = add_recipient(admin_client, "https://dsr.acme.example/notices")

    assert "dsr.acme.example is an internal address" in response.content.decode()
    assert not Recipient.objects.exists()


def test_a_public_endpoint_is_saved(admin_client, production_hosts, resolver):
    resolver["dsr.acme.example"] = [PUBLIC]

    response = add_recipient(admin_client, "https://dsr.acme.example/notices")

    assert response.status_code == 302
    assert Recipient.objects.get().endpoint == "https://dsr.acme.example/notices"


def test_a_name_that_resolves_elsewhere_after_it_was_saved_is_refused_when_connecting(
    admin_client, production_hosts, resolver
):
    resolver["dsr.acme.example"] = [PUBLIC]
    with local_server() as server:
        endpoint = f"https://dsr.acme.example:{server.server_port}/notices"
        assert add_recipient(admin_client, endpoint).status_code == 302
        recipient = Recipient.objects.get()
        notice = NoticeFactory(endpoint=endpoint, name="Acme Logistics 2")
        DeletionNotice.objects.filter(pk=notice.pk).update(recipient=recipient)
        register.recipient_secret_set(recipient=recipient, actor=UserFactory(is_staff=True))
        # Later, the name points at this machine, where the local server listens.
        resolver["dsr.acme.example"] = ["127.0.0.1"]

        propagation.notices_deliver([notice.pk])

        assert server.paths == []
    attempt = NoticeAttempt.objects.get(notice=notice)
    assert attempt.status_code is None
    assert attempt.error == "AddressNotAllowed"
    assert "dsr.acme.example" in resolver.asked


def test_every_resolved_address_is_checked_at_connect_time(production_hosts, resolver):
    resolver["dsr.acme.example"] = [PUBLIC, "::1"]
    with outgoing.outgoing_client(timeout=2) as client, pytest.raises(outgoing.AddressNotAllowed):
        client.post("https://dsr.acme.example/notices", content=b"{}")


def test_the_call_connects_to_the_address_it_checked_with_the_name_for_host_and_tls(
    production_hosts, resolver, monkeypatch
):
    """The address that passed the check is the one connected to: a second DNS answer
    (rebinding) never gets a say, and the Host header and TLS name stay the name."""
    resolver["dsr.acme.example"] = [PUBLIC]
    sent = []

    def inner(self, request):
        sent.append(request)
        return httpx.Response(204)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", inner)
    with outgoing.outgoing_client(timeout=2) as client:
        response = client.post("https://dsr.acme.example/notices", content=b"{}")

    assert response.status_code == 204
    assert resolver.asked == ["dsr.acme.example"]
    [request] = sent
    assert request.url.host == PUBLIC
    assert request.url.path == "/notices"
    assert request.headers["Host"] == "dsr.acme.example"
    assert request.extensions["sni_hostname"] == "dsr.acme.example"
    # What the caller and the logs see is still the name.
    assert response.request.url.host == "dsr.acme.example"


def test_plain_http_is_refused_at_connect_time(production_hosts, resolver):
    resolver["dsr.acme.example"] = [PUBLIC]
    with outgoing.outgoing_client(timeout=2) as client, pytest.raises(outgoing.AddressNotAllowed):
        client.post("http://dsr.acme.example/notices", content=b"{}")


def test_a_redirect_is_not_followed(settings):
    settings.OUTGOING_ALLOWED_HOSTS = ["127.0.0.1"]

    def answer(path):
        if path == "/notices":
            return 307, {"Location": f"http://127.0.0.1:{port}/elsewhere"}
        return 200, {}

    with local_server(answer) as server:
        port = server.server_port
        notice = NoticeFactory(endpoint=f"http://127.0.0.1:{port}/notices")
        propagation.notices_deliver([notice.pk])
        with outgoing.outgoing_client(timeout=2) as client:
            asked_to_follow = client.get(f"http://127.0.0.1:{port}/notices", follow_redirects=True)

        assert server.paths == ["/notices", "/notices"]
    attempt = NoticeAttempt.objects.get(notice=notice)
    assert (attempt.status_code, attempt.error) == (307, "HTTP 307")
    notice.refresh_from_db()
    assert notice.status == DeletionNotice.Status.PENDING
    assert asked_to_follow.status_code == 307


def test_the_allowed_hosts_setting_lets_the_local_test_recipient_through(settings):
    with local_server() as server:
        endpoint = f"http://127.0.0.1:{server.server_port}/notices"
        notice = NoticeFactory(endpoint=endpoint)

        settings.OUTGOING_ALLOWED_HOSTS = []
        propagation.notices_deliver([notice.pk])
        assert server.paths == []
        assert NoticeAttempt.objects.get(notice=notice).error == "AddressNotAllowed"

        settings.OUTGOING_ALLOWED_HOSTS = ["127.0.0.1"]
        DeletionNotice.objects.filter(pk=notice.pk).update(next_attempt_at=notice.next_attempt_at)
        propagation.notices_deliver([notice.pk])
        assert server.paths == ["/notices"]
    notice.refresh_from_db()
    assert notice.status == DeletionNotice.Status.DELIVERED


# --- the SMS provider -----------------------------------------------------------------------


@pytest.fixture
def sms_over_http(settings):
    settings.SMS_BACKEND = "privacyportal.sms.backends.http.SmsBackend"
    settings.SMS_HTTP_API_KEY = "key-1"
    settings.OUTGOING_ALLOWED_HOSTS = []
    return settings


@pytest.mark.parametrize(
    "endpoint", ["https://169.254.169.254/send", "https://10.0.0.1/send", "http://127.0.0.1:6379/"]
)
def test_an_internal_sms_provider_is_refused_when_configured(sms_over_http, resolver, endpoint):
    sms_over_http.SMS_HTTP_ENDPOINT = endpoint
    with pytest.raises(ImproperlyConfigured, match="SMS_HTTP_ENDPOINT"):
        HttpSmsBackend()


def test_an_sms_provider_whose_name_resolves_inside_is_refused_when_connecting(
    sms_over_http, resolver
):
    resolver["sms.example.cn"] = [PUBLIC]
    sms_over_http.SMS_HTTP_ENDPOINT = "https://sms.example.cn/send"
    backend = HttpSmsBackend()
    resolver["sms.example.cn"] = ["10.0.0.9"]

    with pytest.raises(outgoing.AddressNotAllowed):
        backend.send_messages([sms.SmsMessage(to="+8613800138000", body="hello")])


def test_no_module_calls_out_around_the_guard():
    """Every outgoing call goes through ``privacyportal.outgoing``: no other module of the
    running portal builds an httpx client or calls httpx directly (the benchmarks, which
    call their own servers on this machine, are the bench/ app, outside the portal)."""
    root = Path(__file__).resolve().parents[2]
    direct = re.compile(r"httpx\.(Client|AsyncClient|HTTPTransport|get|post|put|request|stream)\(")
    offenders = []
    for app in ("privacyportal", "accounts", "consents", "help", "requests", "api"):
        for path in (root / app).rglob("*.py"):
            relative = path.relative_to(root).as_posix()
            if relative == "privacyportal/outgoing.py":
                continue
            if direct.search(path.read_text()):
                offenders.append(relative)
    assert offenders == []
