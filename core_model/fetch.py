"""Fetching an image from an http(s) URL, only when the operator allows it (``--allow-url``).

The host's addresses are resolved once and every one must be a public address
(loopback, private, link-local, multicast, reserved and unspecified ranges are
refused, so a URL cannot reach the machine's own services or a cloud metadata
endpoint); the connection goes to the checked address (no second DNS lookup), no
redirect is followed, and the body is capped in size and in total time.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
import urllib.parse

from lavr.core_model.errors import ImageError

__all__ = ["MAX_URL_BYTES", "URL_DEADLINE", "fetch_url", "is_url"]

#: Largest image body fetched from a URL.
MAX_URL_BYTES = 20 * 1024 * 1024
#: Most seconds one fetch may take, connection to last byte.
URL_DEADLINE = 20.0
_CHUNK = 1 << 16


def is_url(source: object) -> bool:
    """Whether ``source`` is a string that looks like a URL (``scheme://...``)."""
    return isinstance(source, str) and "://" in source[:16]


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified)


def _resolve(url: str, host: str, port: int, *, allow_private: bool) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ImageError(url, f"cannot resolve {host!r} ({exc})") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise ImageError(url, f"{host!r} has no address")
    refused = [a for a in addresses if not _public(a)]
    if refused and not allow_private:
        raise ImageError(url, f"{host!r} resolves to a private, loopback or link-local address "
                              f"({refused[0]}); only public addresses are fetched")
    return addresses[0]


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an already checked address, with the certificate checked for ``host``."""

    def __init__(self, address: str, host: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def fetch_url(url: str, *, max_bytes: int = MAX_URL_BYTES, deadline: float = URL_DEADLINE,
              allow_private: bool = False) -> bytes:
    """The body of an ``http``/``https`` URL on a public address.

    Args:
        url: The URL.
        max_bytes: Largest body accepted.
        deadline: Most seconds from connecting to the last byte.
        allow_private: Accept private and loopback addresses (tests and trusted
            intranets only).

    Raises:
        ImageError: Not http(s), a private address, a redirect, an HTTP error, too
            large, too slow, or no connection.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImageError(url, "only http:// and https:// URLs with a host are fetched")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _resolve(url, parts.hostname, port, allow_private=allow_private)
    start = time.monotonic()
    conn: http.client.HTTPConnection = (
        _PinnedHTTPS(address, parts.hostname, port, timeout=min(10.0, deadline))
        if parts.scheme == "https" else
        http.client.HTTPConnection(address, port, timeout=min(10.0, deadline)))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        conn.request("GET", path, headers={"Host": parts.netloc, "User-Agent": "lavr",
                                           "Accept": "image/*"})
        response = conn.getresponse()
        if 300 <= response.status < 400:
            raise ImageError(url, f"the server redirects (HTTP {response.status}) to "
                                  f"{response.getheader('Location', '?')}; lavr does not follow "
                                  f"redirects: pass the final URL")
        if response.status != 200:
            raise ImageError(url, f"HTTP {response.status} {response.reason}")
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise ImageError(url, f"the image is {declared} bytes, more than the {max_bytes} "
                                  f"accepted from a URL")
        body = bytearray()
        while True:
            if time.monotonic() - start > deadline:
                raise ImageError(url, f"the download took longer than {deadline:g} s")
            chunk = response.read(_CHUNK)
            if not chunk:
                break
            body += chunk
            if len(body) > max_bytes:
                raise ImageError(url, f"the image is more than the {max_bytes} bytes accepted "
                                      f"from a URL")
        return bytes(body)
    except (OSError, http.client.HTTPException) as exc:
        raise ImageError(url, f"cannot fetch it ({type(exc).__name__}: {exc})") from exc
    finally:
        conn.close()
