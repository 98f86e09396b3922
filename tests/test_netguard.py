"""The network guard: which URLs cxkb may fetch, and the addresses it pins for the fetch."""

from __future__ import annotations

import pytest

from ingest.errors import IngestError, UnresolvableHostError, UnsafeURLError
from ingest.netguard import CheckedURL, check_url, is_public_address, system_resolver

PUBLIC = "93.184.216.34"


def public_resolver(host: str, port: int) -> list[str]:
    return [PUBLIC]


def resolver_to(*addresses: str):
    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


LOOPBACK_SPELLINGS = [
    ("http://127.0.0.1/", "127.0.0.1"),
    ("http://127.1/", "127.0.0.1"),
    ("http://2130706433/", "127.0.0.1"),
    ("http://0x7f.1/", "127.0.0.1"),
    ("http://0x7f000001/", "127.0.0.1"),
    ("http://0177.0.0.1/", "127.0.0.1"),
    ("http://127.0.0.1./", "127.0.0.1"),
    ("http://[::1]/", "::1"),
    ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1"),
    ("http://0.0.0.0/", "0.0.0.0"),
    ("http://１２７．０．０．１/", "127.0.0.1"),  # full-width digits and dots (IDNA maps them)
]

PRIVATE = [
    ("http://10.0.0.1/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://100.64.0.1/", "carrier-grade NAT"),
    ("http://[fd00::1]/", "private"),
    ("http://[fe80::1]/", "link-local"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[2002:7f00:1::]/", "127.0.0.1"),  # 6to4 wrapping of a loopback address
]


@pytest.mark.parametrize(("url", "address"), LOOPBACK_SPELLINGS)
def test_every_spelling_of_this_machine_is_refused_without_asking_dns(url: str, address: str):
    def no_dns(host: str, port: int) -> list[str]:
        raise AssertionError(f"an IP literal must not be resolved ({host})")

    with pytest.raises(UnsafeURLError) as caught:
        check_url(url, resolver=no_dns)
    message = str(caught.value)
    assert url in message
    assert "--allow-private" in message
    assert address in message

    checked = check_url(url, allow_private=True, resolver=no_dns)
    assert checked.addresses == (address,)
    assert checked.host == address


@pytest.mark.parametrize("url", ["http://localhost/", "http://foo.localhost:8080/x",
                                 "http://LOCALHOST./"])
def test_localhost_names_are_loopback_by_name(url: str):
    with pytest.raises(UnsafeURLError, match="loopback name.*--allow-private"):
        check_url(url, resolver=public_resolver)  # even if DNS says otherwise
    checked = check_url(url, allow_private=True, resolver=public_resolver)
    assert "127.0.0.1" in checked.addresses


@pytest.mark.parametrize(("url", "why"), PRIVATE)
def test_private_and_special_addresses_are_refused_unless_allowed(url: str, why: str):
    with pytest.raises(UnsafeURLError, match=why) as caught:
        check_url(url, resolver=public_resolver)
    assert "--allow-private" in str(caught.value)
    assert check_url(url, allow_private=True).addresses


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("file:///etc/passwd", "'file:'"),
        ("ftp://example.com/x", "'ftp:'"),
        ("gopher://example.com/", "'gopher:'"),
        ("data:text/html,<script>alert(1)</script>", "'data:'"),
        ("javascript:alert(1)", "'javascript:'"),
        ("example.com/no-scheme", "without a scheme"),
    ],
)
def test_only_http_and_https_are_fetched(url: str, shown: str):
    for allow_private in (False, True):
        with pytest.raises(UnsafeURLError) as caught:
            check_url(url, allow_private=allow_private, resolver=public_resolver)
        assert "only http and https URLs can be fetched" in str(caught.value)
        assert shown in str(caught.value)


@pytest.mark.parametrize("url", ["http://user:pass@example.com/", "https://user@example.com/",
                                 "http://example.com\\@127.0.0.1/"])
def test_credentials_in_urls_are_refused(url: str):
    with pytest.raises(UnsafeURLError, match="user name or password"):
        check_url(url, allow_private=True, resolver=public_resolver)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http:///path", "no host"),
        ("http://exa mple.com/", "not a valid host name"),
        ("http://example.com\n.evil.com/", "control characters"),
        ("http://%31%32%37.0.0.1/", "not a valid host name"),
        ("http://a..b/", "not a valid host name"),
        ("http://1.2.3.999/", "neither a host name nor an IPv4 address"),
        ("http://example.com:99999/", "out of range"),
        ("http://example.com:0/", "port 0"),
    ],
)
def test_malformed_urls_say_what_is_wrong(url: str, why: str):
    with pytest.raises(UnsafeURLError, match=why):
        check_url(url, allow_private=True, resolver=public_resolver)


def test_a_public_name_is_resolved_once_and_its_addresses_returned():
    calls: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return [PUBLIC, PUBLIC, "2606:2800:220:1:248:1893:25c8:1946"]

    checked = check_url("HTTPS://Blog.Example.COM./post?id=1#c2", resolver=resolve)
    assert checked == CheckedURL(
        url="HTTPS://Blog.Example.COM./post?id=1#c2",
        scheme="https",
        host="blog.example.com",
        port=443,
        addresses=(PUBLIC, "2606:2800:220:1:248:1893:25c8:1946"),
    )
    assert calls == [("blog.example.com", 443)]


def test_international_names_are_converted_with_idna():
    seen: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        seen.append(host)
        return [PUBLIC]

    checked = check_url("http://Bücher.example:8080/", resolver=resolve)
    assert checked.host == "xn--bcher-kva.example"
    assert checked.port == 8080
    assert seen == ["xn--bcher-kva.example"]


def test_every_resolved_address_must_be_public():
    with pytest.raises(UnsafeURLError) as caught:
        check_url("http://mixed.example.com/", resolver=resolver_to(PUBLIC, "10.1.2.3"))
    message = str(caught.value)
    assert "mixed.example.com" in message and "10.1.2.3" in message
    assert "--allow-private" in message

    with pytest.raises(UnsafeURLError, match="169.254.169.254"):
        check_url("http://rebind.example.com/", resolver=resolver_to("169.254.169.254"))
    with pytest.raises(UnsafeURLError, match="another form of 127.0.0.1"):
        check_url("http://mapped.example.com/", resolver=resolver_to("::ffff:127.0.0.1"))

    checked = check_url("http://mixed.example.com/", allow_private=True,
                        resolver=resolver_to(PUBLIC, "10.1.2.3"))
    assert checked.addresses == (PUBLIC, "10.1.2.3")


def test_a_name_that_does_not_resolve_says_so():
    def fail(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    with pytest.raises(UnresolvableHostError, match="cannot resolve host nowhere.example") as c:
        check_url("http://nowhere.example/", resolver=fail)
    assert isinstance(c.value, UnsafeURLError) and isinstance(c.value, IngestError)
    with pytest.raises(UnresolvableHostError, match="no addresses"):
        check_url("http://empty.example/", resolver=resolver_to())


@pytest.mark.parametrize(
    ("ip", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:93.184.216.34", True),
        ("10.0.0.1", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("0.0.0.0", False),
        ("::", False),
        ("255.255.255.255", False),
        ("fe80::1%eth0", False),
        ("not an address", False),
    ],
)
def test_is_public_address(ip: str, public: bool):
    assert is_public_address(ip) is public


def test_the_system_resolver_dedupes_in_order():
    found = system_resolver("127.0.0.1", 80)
    assert found == ["127.0.0.1"]
