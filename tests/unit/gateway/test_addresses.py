"""Which addresses count as public, and every spelling of an IP literal."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest

from bot.gateway.addresses import is_public_address, parse_host_literal

REFUSED = [
    # IPv4
    "127.0.0.1",
    "127.255.255.254",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # CGNAT
    "100.127.255.255",
    "0.0.0.0",
    "0.1.2.3",
    "255.255.255.255",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "192.0.0.9",  # Python 3.11 calls this global
    "192.0.0.170",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "198.18.0.1",
    "198.19.255.255",
    "192.88.99.1",  # retired 6to4 relays, global to Python
    # IPv6
    "::",
    "::1",
    "fd00::1",
    "fc00::1",
    "fe80::1",
    "fec0::1",  # site-local, global to Python
    "ff02::1",
    "2001:db8::1",
    "3fff::1",  # documentation since 2024, global to Python 3.11
    "5f00::1",
    "100::1",
    "2001::1",  # Teredo
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "64:ff9b:1::1",  # local-use NAT64
    "4000::1",  # outside 2000::/3
    # IPv6 carrying an internal IPv4
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::",
    "2002:a00:1::1",
    "::127.0.0.1",  # IPv4-compatible
    "::2",
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",  # just below CGNAT
    "100.128.0.1",  # just above
    "172.32.0.1",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "::8.8.8.8",
]


@pytest.mark.parametrize("address", REFUSED)
def test_internal_and_special_addresses_are_refused(address: str) -> None:
    assert not is_public_address(ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_global_unicast_is_public(address: str) -> None:
    assert is_public_address(ip_address(address))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0X7F.0X0.0X0.0X1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0177.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("169.254.43518", "169.254.169.254"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("8.8.8.8", "8.8.8.8"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("::ffff:7f00:1", "::ffff:7f00:1"),
        ("[::1]", "::1"),
        ("[fe80::1%25eth0]", "fe80::1%eth0"),
        ("2606:4700:4700::1111", "2606:4700:4700::1111"),
    ],
)
def test_literal_forms_are_parsed_like_inet_aton(host: str, expected: str) -> None:
    assert parse_host_literal(host) == ip_address(expected)


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "images.example",
        "localhost",  # a name: the resolver's answer is what gets checked
        "1.2.3.4.5",
        "1..2",
        "08.0.0.1",  # not octal: a name to the resolver, judged by what it resolves to
        "256.0.0.1",
        "1.2.3.256",
        "4294967296",
        "0x1g.1",
        "[not-an-address]",
        "",
    ],
)
def test_names_and_invalid_literals_are_not_addresses(host: str) -> None:
    assert parse_host_literal(host) is None


@pytest.mark.parametrize(
    ("host", "public"),
    [
        ("0x7f.1", False),
        ("2130706433", False),
        ("[::ffff:127.0.0.1]", False),
        ("0177.0.0.1", False),
        ("127.1", False),
        ("0xa9fea9fe", False),
        ("134744072", True),  # 8.8.8.8
    ],
)
def test_odd_literals_are_judged_as_the_address_they_mean(host: str, public: bool) -> None:
    parsed = parse_host_literal(host)
    assert isinstance(parsed, IPv4Address | IPv6Address)
    assert is_public_address(parsed) is public
