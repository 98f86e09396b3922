"""The network guard: decides whether a URL may be fetched, and pins the addresses it checked.

cxkb fetches URLs that people paste in, so a URL must never make it reach a machine that
is not on the public internet (the loopback interface, the local network, a cloud metadata
service at 169.254.169.254 ...). ``check_url`` refuses anything but plain http(s) URLs
without credentials, normalises the host (every legacy IPv4 spelling such as ``127.1``,
``2130706433`` or ``0x7f.1`` is an address, not a name), resolves it once and requires
EVERY address to be public. It returns those addresses: the caller connects to one of them
and never resolves the name again, so a second DNS answer cannot swap the address.

``allow_private=True`` (the CLI's ``--allow-private``) lifts the address check, for people
who run the sources they study on their own network; the scheme and credential rules stay.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ingest.errors import UnresolvableHostError, UnsafeURLError

Resolver = Callable[[str, int], list[str]]
"""(host, port) -> IP address strings; raises OSError when the name does not resolve."""

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
LIFT_HINT = "use --allow-private to fetch from private addresses"

_HOST_NAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class CheckedURL:
    """A URL that passed the guard, with the addresses to connect to (and no others)."""

    url: str
    scheme: str
    host: str  # normalised: lower-case, IDNA, no trailing dot; IPs in canonical form
    port: int
    addresses: tuple[str, ...]


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system's ``getaddrinfo``; addresses in order, without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]), None)
    return list(seen)


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped ::ffff:a.b.c.d, or 6to4)."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    return None


def _address_problem(ip: str) -> str | None:
    """Why ``ip`` is not a public address (e.g. "a loopback address"), or None if it is."""
    try:
        addr: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(ip)
    except ValueError:
        return "not a valid IP address"
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:
            return "a scoped (interface-local) IPv6 address"
        inner = _embedded_ipv4(addr)
        if inner is not None:
            problem = _address_problem(str(inner))
            return f"another form of {inner}, which is {problem}" if problem else None
    if addr.is_unspecified:
        return "the unspecified address (this machine)"
    if addr.is_loopback:
        return "a loopback address (this machine)"
    if addr.is_link_local:
        return "a link-local address (cloud metadata services live here)"
    if isinstance(addr, ipaddress.IPv4Address) and addr in ipaddress.ip_network("100.64.0.0/10"):
        return "a shared (carrier-grade NAT) address"
    if addr.is_multicast:
        return "a multicast address"
    if addr.is_private:
        return "a private address"
    if addr.is_reserved:
        return "a reserved address"
    if not addr.is_global:
        return "not a public address"
    return None


def is_public_address(ip: str) -> bool:
    """True if ``ip`` is a globally routable unicast address (IPv4-mapped IPv6 unwrapped)."""
    return _address_problem(ip) is None


def _legacy_ipv4(host: str) -> str | None:
    """The dotted-quad form of ``host`` if it is an IPv4 address in any spelling the C
    library accepts (``127.1``, ``2130706433``, ``0x7f.1``, ``0177.0.0.1``), else None."""
    labels = host.split(".")
    if not all(_NUMERIC_LABEL.match(label) for label in labels):
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


def _normalise_host(raw: str, url: str) -> tuple[str, str | None]:
    """(host, address if the host is an IP literal) for the URL's host part."""
    host = raw.lower()
    if host.startswith("[") or ":" in host:  # urlsplit removed the brackets of IPv6
        inner = host.strip("[]")
        if "%" in inner:
            raise UnsafeURLError(f"{url}: scoped IPv6 addresses ({inner}) are not fetched")
        try:
            return str(ipaddress.IPv6Address(inner)), str(ipaddress.IPv6Address(inner))
        except ValueError:
            raise UnsafeURLError(f"{url}: {raw!r} is not a valid host") from None
    host = host.removesuffix(".")
    if not host:
        raise UnsafeURLError(f"{url}: the URL has no host")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise UnsafeURLError(f"{url}: {raw!r} is not a valid host name") from None
        host = host.rstrip(".")
    address = _legacy_ipv4(host)
    if address is not None:
        return address, address
    if not _HOST_NAME.match(host) or any(len(label) > 63 for label in host.split(".")):
        raise UnsafeURLError(f"{url}: {raw!r} is not a valid host name")
    if _NUMERIC_LABEL.match(host.rsplit(".", 1)[-1]):
        # a name ending in a number is an IPv4 address to browsers; this one is malformed
        raise UnsafeURLError(f"{url}: {raw!r} is neither a host name nor an IPv4 address")
    return host, None


def check_url(
    url: str, *, allow_private: bool = False, resolver: Resolver | None = None
) -> CheckedURL:
    """Check ``url`` and resolve its host once; raise ``UnsafeURLError`` saying why it is refused.

    Only http and https, no user:password@, a valid host; every address the host resolves
    to must be public unless ``allow_private``. Returns the addresses to connect to.
    """
    text = url.strip()
    if _CONTROL.search(text):
        raise UnsafeURLError(f"{text!r}: URLs cannot contain control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise UnsafeURLError(f"{text}: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"'{scheme}:'" if scheme else "a URL without a scheme"
        raise UnsafeURLError(
            f"{text}: only http and https URLs can be fetched, not {shown}"
        )
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError(
            f"{text}: URLs with a user name or password (user:pass@host) are not fetched"
        )
    if not parts.hostname:
        raise UnsafeURLError(f"{text}: the URL has no host")
    host, literal = _normalise_host(parts.hostname, text)
    port = port if port is not None else DEFAULT_PORTS[scheme]
    if port == 0:
        raise UnsafeURLError(f"{text}: port 0 is not a valid port")

    if literal is not None:
        addresses: tuple[str, ...] = (literal,)
    elif host == "localhost" or host.endswith(".localhost"):
        if not allow_private:
            raise UnsafeURLError(
                f"{text}: host {host} is a loopback name (this machine); {LIFT_HINT}"
            )
        addresses = ("127.0.0.1", "::1")
    else:
        try:
            found = (resolver or system_resolver)(host, port)
        except (OSError, UnicodeError) as error:
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
            raise UnresolvableHostError(f"{text}: cannot resolve host {host}: {reason}") from None
        addresses = tuple(dict.fromkeys(str(a) for a in found))
        if not addresses:
            raise UnresolvableHostError(f"{text}: cannot resolve host {host}: no addresses")

    if not allow_private:
        for address in addresses:
            problem = _address_problem(address)
            if problem:
                if literal is not None:
                    named = f"{host} is"
                else:
                    named = f"host {host} resolves to {address}, which is"
                raise UnsafeURLError(f"{text}: {named} {problem}; {LIFT_HINT}")
    return CheckedURL(url=text, scheme=scheme, host=host, port=port, addresses=addresses)


__all__ = [
    "CheckedURL",
    "Resolver",
    "UnresolvableHostError",
    "UnsafeURLError",
    "check_url",
    "is_public_address",
    "system_resolver",
]
