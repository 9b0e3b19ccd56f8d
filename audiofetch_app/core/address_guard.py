"""Which addresses a download may reach, for downloads someone else on the network asked for.

The person at the machine (the window, the CLI, a browser on loopback) reaches everything. A
LAN client reaches only public internet addresses: loopback, private (RFC 1918), shared
(RFC 6598), link-local, unique-local (RFC 4193), multicast, unspecified and reserved ranges
are refused, unless Settings (or `serve --allow-network`) open chosen networks, for a NAS.

The check runs on every new connection, after DNS resolution, on the very addresses that are
then connected to: so every redirect and every URL a page or playlist leads to is checked, and
a name that resolves differently a second time (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from audiofetch_app.core.net_errors import NetError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressRefused(NetError):
    """A LAN client's download would reach an address only this machine should."""

    retryable = False


def parse_networks(text: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDR networks (`192.168.1.0/24`, `fd00::/8`, a single address) from a comma or
    line separated text or a list; ValueError with a sentence for one that is not."""
    items = text.replace(",", "\n").splitlines() if isinstance(text, str) else list(text)
    found = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"“{item}” is not a network; write it like 192.168.1.0/24 or "
                             "a single address like 192.168.1.20.") from None
    return tuple(found)


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses, plus the networks in `allowed`."""

    allowed: tuple[IPNetwork, ...] = ()

    def permits(self, address: IPAddress) -> bool:
        """True for a public unicast address or one inside an allowed network."""
        for form in _forms(address):
            if any(form in network for network in self.allowed if
                   network.version == form.version):
                return True
        return all(form.is_global and not form.is_multicast for form in _forms(address))

    def check(self, host: str, addresses: list[IPAddress]) -> None:
        """AddressRefused (one sentence) unless every address `host` resolves to is fine."""
        refused = [a for a in addresses if not self.permits(a)]
        if refused or not addresses:
            raise AddressRefused(
                f"{host} is an address on this computer or its local network "
                f"({refused[0] if refused else 'no address'}), which downloads asked for "
                "from another device may not reach; the person at this computer can, or "
                "Settings can allow that network.")


def is_network_peer(host: str | None) -> bool:
    """True when a request's peer address (after trusted proxies) is another device: not a
    loopback address. Names that are no address (a test client's) count as this machine."""
    try:
        address = ipaddress.ip_address((host or "").split("%", 1)[0])
    except ValueError:
        return False
    return not any(form.is_loopback for form in _forms(address))


def policy_for(saved: str, extra: Iterable[IPNetwork] = ()) -> AddressPolicy:
    """The policy from the Settings text of allowed networks plus `extra` ones."""
    return AddressPolicy(parse_networks(saved) + tuple(extra))


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits


def _forms(address: IPAddress) -> list[IPAddress]:
    """The address and any IPv4 address carried inside it (mapped, 6to4, Teredo, NAT64)."""
    forms: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64:
            forms.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        for inner in (address.ipv4_mapped, address.sixtofour,
                      address.teredo[1] if address.teredo else None):
            if inner is not None:
                forms.append(inner)
    return forms


# The policy for the work running now: set for a job a LAN client asked for (and for its
# preview); None means the person at the machine, who may reach everything.
current: ContextVar[AddressPolicy | None] = ContextVar("address_policy", default=None)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving names itself and connecting only to addresses
    the policy permits."""

    def __init__(self, policy: AddressPolicy,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve(host, port)
        self.policy.check(host, addresses)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(str(address), port, timeout=timeout,
                                                    local_address=local_address,
                                                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("Downloads asked for from another device may not use local "
                             "sockets.")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order, without repeats.

    Raises httpcore.ConnectError when the name does not resolve (as a connection would)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(str(exc)) from exc
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def guarded_transport(policy: AddressPolicy, **options: Any) -> httpx.AsyncHTTPTransport:
    """An httpx transport (`options` as for AsyncHTTPTransport) whose every new connection
    passes `policy`. httpx does not take a network backend itself, so the backend of its
    httpcore pool is set; tests/test_address_guard.py fails if httpx changes that."""
    transport = httpx.AsyncHTTPTransport(**options)
    transport._pool._network_backend = GuardedBackend(policy)
    return transport


def check_url(url: str, policy: AddressPolicy | None = None) -> None:
    """Check the host of `url` now (blocking resolution), for clients that do not go through
    httpx (an S3 endpoint); AddressRefused if the policy refuses it. No policy: no check."""
    policy = policy or current.get()
    if policy is None:
        return
    host = httpx.URL(url).host
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return  # it cannot be reached at all; the connection will say so
    policy.check(host, [ipaddress.ip_address(str(i[4][0]).split("%", 1)[0]) for i in infos])
