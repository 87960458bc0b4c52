"""Who may use the web view: the token rule, the token check and the Origin check.

Binding 127.0.0.1, ``::1`` or ``localhost`` keeps the page on this machine and
needs no token.  Any other address is *exposed*: a token is then required
(given, or generated with :func:`secrets.token_urlsafe` and printed once), and
every request must carry it, in an ``Authorization: Bearer`` or
``X-Vidseg-Token`` header or, for ``<img>`` and ``EventSource`` which cannot
send headers, as ``?token=``.  Tokens are compared in constant time.

Controls change the run, so they are POST only and refuse a request whose
``Origin`` is another site (a page elsewhere cannot drive them through the
user's browser).  Without a token the ``Host`` header must name this machine,
so a DNS-rebinding page cannot read the streams either.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from ..errors import ConfigError

__all__ = [
    "LOCAL_HOSTS",
    "bearer",
    "check_token",
    "host_header_local",
    "host_is_local",
    "origin_allowed",
    "resolve_token",
]

LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def host_is_local(host: str) -> bool:
    """True when binding ``host`` keeps the server on this machine (no token needed).

    >>> host_is_local("127.0.0.1"), host_is_local("[::1]"), host_is_local("127.0.0.2")
    (True, True, False)
    """
    return host.strip("[]").lower() in LOCAL_HOSTS


def resolve_token(host: str, token: str | None) -> tuple[str | None, bool]:
    """The token the server checks, and whether it was generated here.

    An exposed ``host`` without a ``token`` gets a new random one; a local host
    keeps whatever was given (``None``: no check).

    Raises
    ------
    ConfigError
        ``token`` is given but too short to be a secret.
    """
    if token is not None:
        if len(token) < 16:
            raise ConfigError(
                f"--token must be at least 16 characters (got {len(token)}); "
                "leave it out to have one generated"
            )
        return token, False
    if host_is_local(host):
        return None, False
    return secrets.token_urlsafe(24), True


def check_token(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the request's token with the server's."""
    if given is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, else None."""
    if authorization is None:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def origin_allowed(origin: str | None, scheme: str, host: str) -> bool:
    """True when a request's ``Origin`` is this server (or absent, as from curl).

    >>> origin_allowed("http://127.0.0.1:8080", "http", "127.0.0.1:8080")
    True
    >>> origin_allowed("https://evil.example", "http", "127.0.0.1:8080")
    False
    """
    if origin is None:
        return True
    if origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.scheme == scheme and parts.netloc.lower() == host.lower()


def host_header_local(host_header: str) -> bool:
    """True when a ``Host`` header names this machine (DNS-rebinding guard).

    >>> host_header_local("localhost:8080"), host_header_local("[::1]:80")
    (True, True)
    >>> host_header_local("evil.example:8080")
    False
    """
    name = urlsplit(f"//{host_header}").hostname or ""
    return name.lower() in LOCAL_HOSTS
