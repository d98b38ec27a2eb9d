"""Which IP addresses the bot may fetch images from, and IP literals in every spelling.

Pure functions, no I/O: `downloads` asks `parse_host_literal` whether a URL host is an
address in disguise, and `is_public_address` about every address it would connect to.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IPAddress = IPv4Address | IPv6Address

# `is_global` alone is not enough: its tables changed between 3.11/3.12/3.13 patch releases,
# and Python 3.11 calls these global although no public host may live there:
# 192.0.0.9 (all of 192.0.0.0/24 is IETF protocol space), 192.88.99.0/24 (retired 6to4
# relays), 3fff::/20 (documentation, RFC 9637), 64:ff9b:1::/48 (local-use NAT64),
# fec0::/10 (deprecated site-local) and 5f00::/16 (SRv6 segment ids). So we list every
# refused range ourselves and keep `is_global` as a second opinion.
_REFUSED_V4: tuple[IPv4Network, ...] = tuple(
    IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network", including 0.0.0.0
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # TEST-NET-1
        "192.88.99.0/24",  # 6to4 relay anycast (retired)
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # TEST-NET-2
        "203.0.113.0/24",  # TEST-NET-3
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, including 255.255.255.255
    )
)

# Only 2000::/3 is handed out as global unicast; everything else in IPv6 is special or
# unassigned, so it is an allow-list (new special ranges outside it are refused for free).
_GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")
_REFUSED_V6: tuple[IPv6Network, ...] = tuple(
    IPv6Network(net)
    for net in (
        "::/128",  # unspecified
        "::1/128",  # loopback
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215)
        "100::/64",  # discard-only
        "2001::/32",  # Teredo: the IPv4 end is not knowable from here
        "2001:2::/48",  # benchmarking
        "2001:10::/28",  # ORCHID
        "2001:20::/28",  # ORCHIDv2
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 segment ids
        "fc00::/7",  # unique local
        "fec0::/10",  # site-local (deprecated)
        "fe80::/10",  # link-local
        "ff00::/8",  # multicast
    )
)

# IPv6 forms that carry an IPv4 address in their low 32 bits: the packet ends up there.
_NAT64 = IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = IPv6Network("::/96")


def is_public_address(ip: IPAddress) -> bool:
    """True only for global unicast: what any host on the internet could reach too."""
    if isinstance(ip, IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(embedded)
        if ip not in _GLOBAL_UNICAST_V6 or any(ip in net for net in _REFUSED_V6):
            return False
    elif any(ip in net for net in _REFUSED_V4):
        return False
    return ip.is_global and not (
        ip.is_multicast or ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_private
    )


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, NAT64, 6to4, compatible), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):  # :: and ::1 are themselves
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


# One inet_aton part: hex (0x…, empty digits mean 0 as in browsers), octal (0…) or decimal.
_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


def parse_host_literal(host: str) -> IPAddress | None:
    """The address a URL host spells, in any form `inet_aton` or a browser accepts; None for names.

    `0x7f.1`, `0177.0.0.1`, `2130706433` and `127.1` all mean 127.0.0.1 to the C resolver,
    so they must be judged as addresses, never passed on as "hostnames".
    """
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            return IPv6Address(host.replace("%25", "%"))  # a URL writes a zone id as %25
        except ValueError:
            return None
    return _parse_ipv4(host.removesuffix("."))  # browsers drop one trailing dot


def _parse_ipv4(host: str) -> IPv4Address | None:
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_PART.fullmatch(p) for p in parts):
        return None
    numbers = [_part_value(p) for p in parts]
    # a.b.c.d; a.b.c16; a.b24; a32: the last part fills every byte the others leave.
    last_bits = 8 * (5 - len(numbers))
    if any(n > 0xFF for n in numbers[:-1]) or numbers[-1] >= 1 << last_bits:
        return None
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value |= number << (24 - 8 * index)
    return IPv4Address(value)


def _part_value(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part[0] == "0":
        return int(part, 8)
    return int(part)
