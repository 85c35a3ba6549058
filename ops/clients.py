"""Who sent a request: the client's address, and whether it came straight from this host.

A proxy's forwarded headers (the client's address, the scheme it was asked on) are believed
only from a proxy that DJANGO_TRUSTED_PROXIES names: an address or network, or `unix` for
whoever talks to gunicorn over its Unix socket (the project's own front, which alone can).
From anyone else those headers are dropped before Django reads them
(ForwardedHeadersMiddleware), so a client cannot pick its own address or scheme.
"""

import ipaddress
from functools import cache

from django.conf import settings

# The headers a proxy sets about its client, as Django names them in request.META.
FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
    # The front's offer to send files itself (X-Accel-Redirect): only the front may make it.
    "HTTP_X_SENDFILE_TYPE",
)
UNIX_SOCKET = "unix"
UNKNOWN = "0.0.0.0"
# Set on a request by the middleware: it came through a trusted proxy.
PROXIED = "image_parroter.proxied"


@cache
def _trusted(proxies: tuple[str, ...]) -> tuple[bool, tuple]:
    networks = tuple(
        ipaddress.ip_network(proxy, strict=False) for proxy in proxies if proxy != UNIX_SOCKET
    )
    return UNIX_SOCKET in proxies, networks


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def is_trusted_proxy(peer: str) -> bool:
    """Whether the peer of the connection (REMOTE_ADDR; empty over a Unix socket) is a
    proxy that DJANGO_TRUSTED_PROXIES names."""
    unix, networks = _trusted(tuple(settings.TRUSTED_PROXIES))
    if not peer:
        return unix
    address = _address(peer)
    return address is not None and any(address in network for network in networks)


def forwarded_address(meta: dict) -> str:
    """The client's address as the trusted proxy gives it: the last of X-Forwarded-For (the
    address that proxy saw; ours sends only that one), else X-Real-IP; empty if neither holds
    an address."""
    candidates = [
        *reversed(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")),
        meta.get("HTTP_X_REAL_IP", ""),
    ]
    for candidate in candidates:
        if (address := _address(candidate)) is not None:
            return str(address)
    return ""


def client_address(request) -> str:
    """The client's address (what the limits count by), as the middleware left REMOTE_ADDR;
    UNKNOWN when that is no address (a Unix socket that is not a trusted proxy's, a proxy
    that named none): such clients are counted together, never as somebody else."""
    address = _address(request.META.get("REMOTE_ADDR", ""))
    return UNKNOWN if address is None else str(address)


def came_through_proxy(request) -> bool:
    return bool(request.META.get(PROXIED))


def from_loopback(request) -> bool:
    """Sent on this host straight to gunicorn: a loopback peer that is not a trusted proxy.
    A request the front forwarded is not, whatever its socket says."""
    if came_through_proxy(request):
        return False
    address = _address(client_address(request))
    return address is not None and address.is_loopback
