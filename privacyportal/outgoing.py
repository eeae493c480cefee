"""The one guard for every call the portal makes to another server (DESIGN §2 "Who is trusted").

Recipients' endpoints, the SMS provider and every later outgoing call go through it:

- ``validate_url`` when an address is saved or configured: https only, and a host that is
  not (and does not now resolve to) an internal address; a clear message otherwise.
- ``outgoing_client`` at call time: an httpx client whose transport resolves the host
  itself, refuses the call unless every resolved address is public, and connects to the
  address it checked (with the original Host header and TLS server name), so a DNS answer
  that changes after the check cannot send the call elsewhere. It never follows redirects
  and ignores proxy variables (a proxy would connect to whatever the name resolves to).

Host names listed in ``settings.OUTGOING_ALLOWED_HOSTS`` skip the address checks and may
use plain HTTP: local recipients in development and tests, nothing in production.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 forms that carry an IPv4 address a gateway may translate to (NAT64, RFC 6052).
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
DEFAULT_PORTS = {"https": 443, "http": 80}


class AddressNotAllowed(httpx.ConnectError):
    """The call would reach an address the portal must not call: nothing was sent."""


def resolve(host: str, port: int) -> list[str]:
    """Every address the name resolves to (the system resolver; tests replace this)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def is_allowed_host(host: str) -> bool:
    allowed = {name.strip().lower().strip("[]") for name in settings.OUTGOING_ALLOWED_HOSTS}
    return host.lower().strip("[]") in allowed


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """False for loopback, private, link-local, multicast, reserved, unspecified and shared
    ranges, and for IPv6 forms of such IPv4 addresses (mapped, 6to4, NAT64, Teredo)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.teredo is not None:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public(embedded):
            return False
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def validate_url(value: str) -> None:
    """For a form or model field (and settings): raise ValidationError for an address the
    portal will not call. A name that does not resolve yet is accepted: the call checks
    again when it connects."""
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError as exc:
        raise ValidationError(_("Enter a valid endpoint address."), code="invalid") from exc
    if not host:
        raise ValidationError(_("Enter a valid endpoint address."), code="invalid")
    if is_allowed_host(host):
        if parts.scheme not in DEFAULT_PORTS:
            raise ValidationError(_("The endpoint must be an https:// address."), code="not_https")
        return
    if parts.scheme != "https":
        raise ValidationError(_("The endpoint must be an https:// address."), code="not_https")
    if host == "localhost" or host.endswith(".localhost"):
        raise _internal(host)
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = [ipaddress.ip_address(a) for a in resolve(host, parts.port or 443)]
        except (OSError, UnicodeError, ValueError):
            return
    if not all(is_public(address) for address in addresses):
        raise _internal(host)


def _internal(host: str) -> ValidationError:
    return ValidationError(
        _(
            "%(host)s is an internal address (this machine, a private network, link-local, "
            "multicast or reserved). The portal does not call such addresses."
        ),
        code="internal_address",
        params={"host": host},
    )


def checked_address(host: str, port: int) -> str:
    """The address to connect to: resolved here, refused unless every answer is public."""
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = [ipaddress.ip_address(a) for a in resolve(host, port)]
        except (OSError, UnicodeError, ValueError) as exc:
            raise httpx.ConnectError(f"cannot resolve {host}") from exc
        if not addresses:
            raise httpx.ConnectError(f"cannot resolve {host}")
    refused = [str(a) for a in addresses if not is_public(a)]
    if refused:
        raise AddressNotAllowed(f"{host} resolves to an internal address ({', '.join(refused)})")
    return str(addresses[0])


class GuardedTransport(httpx.BaseTransport):
    """Checks each call's address at connect time and connects to the checked address.

    One inner connection pool per (scheme, host, port): a kept-alive connection is only
    ever reused for the host name its TLS certificate was checked for.
    """

    def __init__(self, **transport_options) -> None:
        self._options = transport_options
        self._pools: dict[tuple[str, str, int], httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def _pool(self, key: tuple[str, str, int]) -> httpx.HTTPTransport:
        pool = self._pools.get(key)
        if pool is None:
            with self._lock:
                pool = self._pools.get(key)
                if pool is None:
                    pool = httpx.HTTPTransport(**self._options)
                    self._pools[key] = pool
        return pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        host = url.host
        port = url.port or DEFAULT_PORTS.get(url.scheme, 443)
        pool = self._pool((url.scheme, host, port))
        if is_allowed_host(host):
            return pool.handle_request(request)
        if url.scheme != "https":
            raise AddressNotAllowed(f"plain HTTP to {host} is not allowed", request=request)
        try:
            address = checked_address(host, port)
        except httpx.ConnectError as exc:
            exc.request = request
            raise
        if address == host:
            return pool.handle_request(request)
        # The checked address, with the name kept for the Host header and the TLS check.
        pinned = httpx.Request(
            request.method,
            url.copy_with(host=address),
            headers=request.headers,
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": host},
        )
        return pool.handle_request(pinned)

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()


class OutgoingClient(httpx.Client):
    """An httpx client that never follows a redirect, whatever a call asks."""

    def send(self, request, *, follow_redirects=False, **kwargs):
        return super().send(request, follow_redirects=False, **kwargs)


def outgoing_client(*, timeout: float, **transport_options) -> httpx.Client:
    return OutgoingClient(
        timeout=timeout,
        transport=GuardedTransport(**transport_options),
        follow_redirects=False,
        trust_env=False,
    )
