"""Every page of the portal, from the URLconf and the admin registry, and what each must send.

``page_urls`` walks the resolver, so a route added later is fetched without anyone listing
it; a route whose arguments the world cannot fill fails loudly instead of being skipped.
``problems`` says what is wrong with one response. Both run in the test process and in the
production-mode subprocess (``production_report``), where settings computed at import
(HSTS, secure cookies, the manifest static storage) are the real ones.
"""

from __future__ import annotations

import itertools
import json
from html.parser import HTMLParser

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from .world import PASSWORD, build_world

HOST = "privacy.example.cn"
HSTS = "max-age=31536000; includeSubDomains; preload"

# Routes that are not pages: files served by staticfiles in DEBUG only.
NOT_PAGES = {"django.contrib.staticfiles.views"}


def _walk(patterns, prefix="", namespaces=()):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield entry, prefix + str(entry.pattern), namespaces


def _kwargs_of(pattern: URLPattern) -> set[str]:
    return set(getattr(pattern.pattern, "converters", {})) or set(pattern.pattern.regex.groupindex)


def page_urls(values: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(label, path) for every route outside the admin, once per value of its arguments."""
    found = []
    for entry, route, namespaces in _walk(get_resolver().url_patterns):
        if "admin" in namespaces or entry.callback.__module__ in NOT_PAGES:
            continue
        kwargs = _kwargs_of(entry)
        if not entry.name:
            assert not kwargs, f"name the route {route} so it can be reversed"
            found.append((route, "/" + route))
            continue
        name = ":".join((*namespaces, entry.name))
        missing = kwargs - set(values)
        assert not missing, f"{name}: add values for {missing} to tests/security/world.py"
        names = sorted(kwargs)
        for combination in itertools.product(*(values[k] for k in names)):
            chosen = dict(zip(names, combination, strict=True))
            label = name + (f"{chosen}" if chosen else "")
            found.append((label, reverse(name, kwargs=chosen)))
    return found


def admin_urls() -> list[tuple[str, str]]:
    """The admin's own pages and every named URL of every registered model, on one object."""
    found = [
        (name, reverse(name))
        for name in (
            "admin:index",
            "admin:password_change",
            "admin:password_change_done",
            "admin:jsi18n",
        )
    ]
    for app_label in sorted({model._meta.app_label for model in admin.site._registry}):
        found.append((f"admin:app_list[{app_label}]", reverse("admin:app_list", args=[app_label])))
    for model, model_admin in admin.site._registry.items():
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, f"tests/security/world.py makes no {model._meta.label}"
        for pattern in model_admin.get_urls():
            if not pattern.name:
                continue
            kwargs = _kwargs_of(pattern)
            # The user admin's password page names its argument "id".
            assert kwargs <= {"object_id", "id"}, f"admin:{pattern.name}: teach this test {kwargs}"
            args = {name: quote(obj.pk) for name in kwargs}
            found.append((f"admin:{pattern.name}", reverse(f"admin:{pattern.name}", kwargs=args)))
    return found


class _InlineCode(HTMLParser):
    """What the Content-Security-Policy (no 'unsafe-inline') would refuse in a page."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # A JSON data block (json_script, the API docs' settings) is never run: CSP lets it be.
        if tag == "script" and not attrs.get("src") and attrs.get("type") != "application/json":
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs.items():
            if name == "style":
                self.found.append(f'style="{value}" on <{tag}>')
            if name.startswith("on"):
                self.found.append(f"{name} handler on <{tag}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"javascript: URL on <{tag}>")


def _directives(header: str) -> dict[str, list[str]]:
    parts = [part.split() for part in header.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def csp_problems(header: str | None) -> list[str]:
    if not header:
        return ["no Content-Security-Policy"]
    policy = _directives(header)
    problems = []

    def effective(name):
        return policy.get(name, policy.get("default-src"))

    scripts = effective("script-src")
    if scripts is None or not set(scripts) <= {"'self'", "'none'"}:
        problems.append(f"script-src is {scripts}")
    styles = effective("style-src")
    if styles is None or not set(styles) <= {"'self'", "'none'"}:
        problems.append(f"style-src is {styles}")
    for name in ("object-src",):
        if effective(name) != ["'none'"]:
            problems.append(f"{name} is {effective(name)}")
    for name in ("frame-ancestors", "base-uri"):
        if policy.get(name) != ["'none'"]:
            problems.append(f"{name} is {policy.get(name)}")
    if policy.get("form-action") not in (["'self'"], ["'none'"]):
        problems.append(f"form-action is {policy.get('form-action')}")
    return problems


def problems(response, *, https: bool) -> list[str]:
    found = csp_problems(response.get("Content-Security-Policy"))
    expected = {
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if https:
        expected["Strict-Transport-Security"] = HSTS
    for header, value in expected.items():
        if response.get(header) != value:
            found.append(f"{header} is {response.get(header)!r}, not {value!r}")
    if response.status_code >= 500:
        found.append(f"status {response.status_code}")
    content_type = response.get("Content-Type", "")
    if response.status_code == 200 and content_type.startswith("text/html"):
        parser = _InlineCode()
        parser.feed(response.content.decode())
        found += sorted(set(parser.found))
    return found


def _passed_second_factor(client, user) -> None:
    """As after allauth's sign-in with an authenticator app: the desk asks for a second factor
    whenever DEBUG is off, as in the production walk."""
    from types import SimpleNamespace

    from allauth.account.internal.flows.login import record_authentication
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(user, generate_totp_secret())
    session = client.session
    record_authentication(SimpleNamespace(session=session), user, "mfa", type="totp")
    session.save()


def fetch_every_page(client_class, world, *, https: bool, **client_kwargs) -> dict:
    """{label: [problems]} for every page, anonymous, as the owner and as staff (admin)."""
    report = {}
    anonymous = client_class(**client_kwargs)
    owner = client_class(**client_kwargs)
    owner.force_login(world.owner)
    staff = client_class(**client_kwargs)
    staff.force_login(world.staff)
    _passed_second_factor(staff, world.staff)
    for who, client, urls in (
        ("anonymous", anonymous, page_urls(world.values)),
        ("owner", owner, page_urls(world.values)),
        ("staff", staff, admin_urls()),
    ):
        for label, url in urls:
            client.cookies.load({"django_language": "en"})
            response = client.get(url)
            report[f"{who} {label} {url} ({response.status_code})"] = problems(
                response, https=https
            )
    return report


def _cookie(response, name) -> dict:
    morsel = response.cookies[name]
    return {
        "secure": bool(morsel["secure"]),
        "httponly": bool(morsel["httponly"]),
        "samesite": morsel["samesite"],
    }


def cookies_set_by_the_portal(client_class, world, **client_kwargs) -> dict:
    """The cookies as the portal sets them: CSRF on a form page, the session at sign-in,
    the language from the switch."""
    client = client_class(**client_kwargs)
    page = client.get(reverse("account_login"))
    signed_in = client.post(
        reverse("account_login"), {"login": str(world.owner.phone), "password": PASSWORD}
    )
    assert signed_in.status_code == 302, (signed_in.status_code, signed_in.get("Location"))
    switched = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    return {
        "csrftoken": _cookie(page, "csrftoken"),
        "sessionid": _cookie(signed_in, "sessionid"),
        "django_language": _cookie(switched, "django_language"),
    }


def production_report() -> None:
    """Run by the production-mode subprocess: the whole walk inside a transaction that is
    rolled back, printed as JSON."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections, transaction
    from django.test import Client

    class HttpsClient(Client):
        """Every request over HTTPS (the client's own ``secure`` is per request)."""

        def generic(self, *args, **kwargs):
            return super().generic(*args, **{**kwargs, "secure": True})

    # As Django's TestCase does: a request must not close the connection holding the
    # transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    with transaction.atomic():
        world = build_world()
        pages = fetch_every_page(HttpsClient, world, https=True, HTTP_HOST=HOST)
        cookies = cookies_set_by_the_portal(HttpsClient, world, HTTP_HOST=HOST)
        plain = Client(HTTP_HOST=HOST).get(reverse("home"))
        transaction.set_rollback(True)
    print(
        json.dumps(
            {
                "pages": pages,
                "cookies": cookies,
                "http": {"status": plain.status_code, "location": plain.get("Location")},
            }
        )
    )
