"""Who is on the other end of a staff request: the peer, or behind a trusted proxy the
address that proxy saw.

X-Forwarded-For is written by whoever sends the request, so it is read only when the
immediate peer is one of HOTLINE_TRUSTED_PROXIES, and then from the right: each trusted
proxy appends the address it saw, and the first address from the right that is not a
trusted proxy is the client. Anything to its left was written by the client itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from ivr.settings import ProxyNetwork

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_HOPS = 20
"""X-Forwarded-For entries read at most (a client can send thousands)."""


def client_address(
    remote_addr: str, forwarded_for: Iterable[str], trusted: Sequence[ProxyNetwork]
) -> str:
    """The client's address (normalised), given the peer and every X-Forwarded-For header."""
    peer = _address(remote_addr)
    if peer is None:
        return remote_addr[:64]
    if not _trusted(peer, trusted):
        return str(peer)
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    client = peer
    for hop in reversed(hops[-MAX_HOPS:]):
        address = _address(hop)
        if address is None:
            # Not what a proxy writes: stop at the last address a trusted proxy vouched for.
            break
        client = address
        if not _trusted(address, trusted):
            break
    return str(client)


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


def _trusted(address: Address, trusted: Sequence[ProxyNetwork]) -> bool:
    # An IPv4 peer may arrive as IPv4-mapped IPv6 (::ffff:10.0.0.1) on a dual-stack socket.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == network.version and address in network for network in trusted)
