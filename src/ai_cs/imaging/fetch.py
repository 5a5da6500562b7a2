"""Downloading a customer's picture URL without becoming a proxy into the shop's network (SSRF).

For every hop (the URL and each redirect):

1. Only ``http`` and ``https``; the host must be a plain DNS name or an IP literal.
2. The host is resolved **once** (numeric spellings such as ``2130706433`` or ``0x7f000001``
   resolve the same way the socket layer would read them) and **every** address is checked:
   loopback, private, link-local, CGNAT (100.64/10), multicast, reserved, unspecified and
   addresses embedding one of those (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, Teredo, NAT64) are
   refused, unless the host **and port** as written are listed in
   ``settings.fetch_allowed_hosts`` (see :func:`host_allowed`: ``host`` alone covers the default
   ports 80 and 443 only, ``host:port`` that one port, ``host:*`` every port).
3. The connection goes to the checked IP itself (the URL's host is replaced by the address), with
   the original ``Host`` header and, for https, SNI and certificate verification against the
   original host name. A second DNS answer (rebinding) is never asked for, so it cannot
   redirect the request. Proxies from the environment are ignored for the same reason.
4. Redirects are followed by hand, at most :data:`MAX_REDIRECTS`, each one checked as above
   before anything connects to it: a public URL redirecting to an allow-listed internal name is
   refused unless that exact host and port are allowed.

The body is streamed with a byte cap (:data:`~ai_cs.imaging.intake.MAX_BYTES`) and a deadline
for the whole fetch (:data:`FETCH_TIMEOUT_S`, plus at most one read timeout); the content type
must be ``image/*`` (not SVG) or ``application/octet-stream``, and compressed transfer encodings
are refused so the cap counts real bytes. A refused URL never opens a connection.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import httpx

from ai_cs.config import Settings
from ai_cs.imaging.errors import EmptyFile, FetchFailed, ImageTooLarge, UrlNotAllowed
from ai_cs.imaging.limits import MAX_BYTES

FETCH_TIMEOUT_S: Final = 15.0
"""Deadline for one whole fetch, redirects included."""
READ_TIMEOUT_S: Final = 5.0
"""Longest silence tolerated from the server; bounds how far the deadline can be overrun."""
DNS_TIMEOUT_S: Final = 5.0
MAX_REDIRECTS: Final = 3
MAX_URL_CHARS: Final = 2048
CHUNK_BYTES: Final = 64 * 1024
USER_AGENT: Final = "ai-cs-image-fetch/0.1"
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")
_CGNAT: Final = ipaddress.ip_network("100.64.0.0/10")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]


class FetchTimeout(FetchFailed, code="fetch_timeout"):
    """The fetch did not finish before its deadline."""


class TooManyRedirects(FetchFailed, code="too_many_redirects"):
    """More than :data:`MAX_REDIRECTS` redirects."""


class WrongContentType(FetchFailed, code="wrong_content_type"):
    """The server did not say it sent a picture."""


@dataclass(frozen=True)
class FetchedImage:
    """The body of a successful fetch."""

    data: bytes
    url: str  # the final URL after redirects
    content_type: str


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect and what to tell the server."""

    url: httpx.URL
    host: str  # ASCII (IDNA) host name as written, lower case
    addresses: tuple[IPAddress, ...]
    exempt: bool


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is a public unicast address (nothing embedded in it is private)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded: list[IPAddress] = []
        if address.ipv4_mapped is not None:
            embedded.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            embedded.append(address.sixtofour)
        if address.teredo is not None:
            embedded.extend(address.teredo)
        if address in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if any(not is_public(inner) for inner in embedded):
            return False
        if address.is_site_local:
            return False
    elif address in _CGNAT:
        return False
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def _literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal means, including legacy IPv4 spellings."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(ch in "0123456789abcdefx." for ch in host):
        # inet_aton reads what the socket layer reads: 2130706433, 0x7f000001, 0177.1, 127.1
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """All addresses ``getaddrinfo`` gives for ``host`` (TCP), in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        addr = str(sockaddr[0]).split("%", 1)[0]
        if addr not in seen:
            seen.append(addr)
    return seen


def _resolve(host: str, port: int, resolver: Resolver, timeout: float) -> list[str]:
    # getaddrinfo has no timeout of its own; run it aside so a dead DNS server cannot hang us.
    result: list[str] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            result.extend(resolver(host, port))
        except (OSError, UnicodeError) as exc:
            failure.append(exc)

    worker = threading.Thread(target=work, name="aics-dns", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise FetchTimeout(f"resolving {host!r} took longer than {timeout:.0f}s")
    if failure or not result:
        raise FetchFailed(f"cannot resolve host {host!r}")
    return result


DEFAULT_PORTS: Final = frozenset({80, 443})
"""Ports an allow-list entry naming only a host covers."""


def _allow_entry(entry: str) -> tuple[str, int | None | str]:
    """``(host, port)`` of one allow-list entry; port ``None`` = 80/443, ``"*"`` = any."""
    text = entry.strip().lower()
    port_text = ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host = text  # a bare IPv6 literal or a plain name
    host = host.rstrip(".")
    if port_text == "*":
        return host, "*"
    if port_text.isdigit() and 0 < int(port_text) < 65536:
        return host, int(port_text)
    if port_text:
        return "", None  # malformed port: the entry allows nothing rather than every port
    return host, None


def host_allowed(host: str, port: int, allowed_hosts: Sequence[str]) -> bool:
    """Whether ``host`` on ``port`` is exempt from the public-address rule.

    ``host`` covers ports 80 and 443 only (the web's defaults), ``host:port`` exactly that port,
    ``host:*`` any port (for loopback test servers on random ports). IPv6 as ``[::1]:8080``.
    """
    for entry in allowed_hosts:
        name, entry_port = _allow_entry(entry)
        if not name or name != host:
            continue
        if entry_port == "*" or entry_port == port:
            return True
        if entry_port is None and port in DEFAULT_PORTS:
            return True
    return False


def check_url(
    url: str | httpx.URL,
    allowed_hosts: Sequence[str] = (),
    *,
    resolver: Resolver = system_resolver,
    dns_timeout: float = DNS_TIMEOUT_S,
) -> Target:
    """Parse, resolve and check one URL; raise :class:`UrlNotAllowed` before any connection."""
    text = str(url)
    if len(text) > MAX_URL_CHARS:
        raise UrlNotAllowed(f"URL is longer than {MAX_URL_CHARS} characters")
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(text)
        raw_host = parsed.raw_host.decode("ascii").lower().rstrip(".")
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise UrlNotAllowed(f"malformed URL {text[:100]!r}") from exc
    if parsed.scheme not in ("http", "https"):
        scheme = parsed.scheme or text.split(":", 1)[0]
        raise UrlNotAllowed(f"URL scheme {scheme!r} is not allowed; use http or https")
    if not raw_host:
        raise UrlNotAllowed(f"URL {text[:100]!r} has no host")
    literal = _literal_address(raw_host)
    if literal is None and not all(ch.isalnum() or ch in ".-_" for ch in raw_host):
        raise UrlNotAllowed(f"host {raw_host!r} is not a valid host name")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    exempt = host_allowed(raw_host, port, allowed_hosts)

    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        names = _resolve(raw_host, port, resolver, dns_timeout)
        try:
            addresses = [ipaddress.ip_address(name) for name in names]
        except ValueError as exc:
            raise FetchFailed(f"host {raw_host!r} resolved to a malformed address") from exc
    if not exempt:
        for address in addresses:
            if not is_public(address):
                how = "is" if literal is not None else "resolves to"
                raise UrlNotAllowed(
                    f"host {raw_host!r} {how} non-public address {address}; refused"
                )
    return Target(url=parsed, host=raw_host, addresses=tuple(addresses), exempt=exempt)


def _pinned_url(target: Target, address: IPAddress) -> httpx.URL:
    return target.url.copy_with(host=str(address))


def _content_type_ok(value: str) -> bool:
    main = value.split(";", 1)[0].strip().lower()
    if main == "application/octet-stream":
        return True
    return main.startswith("image/") and main != "image/svg+xml"


def _timeout(deadline: float) -> httpx.Timeout:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchTimeout(f"fetch took longer than {FETCH_TIMEOUT_S:.0f}s")
    step = min(READ_TIMEOUT_S, remaining)
    return httpx.Timeout(connect=step, read=step, write=step, pool=step)


def _read_body(response: httpx.Response, url: str, max_bytes: int, deadline: float) -> bytes:
    declared = response.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
        raise ImageTooLarge(f"{url} is {int(declared)} bytes; at most {max_bytes} are accepted")
    body = bytearray()
    for chunk in response.iter_raw(CHUNK_BYTES):
        body.extend(chunk)
        if len(body) > max_bytes:
            raise ImageTooLarge(f"{url} sent more than {max_bytes} bytes")
        if time.monotonic() > deadline:
            raise FetchTimeout(f"{url} did not finish within {FETCH_TIMEOUT_S:.0f}s")
    if not body:
        raise EmptyFile(f"{url} sent an empty body")
    return bytes(body)


def fetch_image(
    url: str,
    settings: Settings,
    *,
    max_bytes: int = MAX_BYTES,
    timeout: float = FETCH_TIMEOUT_S,
    max_redirects: int = MAX_REDIRECTS,
    resolver: Resolver = system_resolver,
    verify: bool | ssl.SSLContext = True,
) -> FetchedImage:
    """Download one picture under the rules in the module docstring."""
    deadline = time.monotonic() + timeout
    target = check_url(url, settings.fetch_allowed_hosts, resolver=resolver)
    redirects = 0
    with httpx.Client(
        follow_redirects=False, trust_env=False, verify=verify, timeout=READ_TIMEOUT_S
    ) as client:
        while True:
            response_or_next = _one_hop(client, target, max_bytes, deadline)
            if isinstance(response_or_next, FetchedImage):
                return response_or_next
            redirects += 1
            if redirects > max_redirects:
                raise TooManyRedirects(f"more than {max_redirects} redirects from {url!r}")
            target = check_url(response_or_next, settings.fetch_allowed_hosts, resolver=resolver)


def _one_hop(
    client: httpx.Client, target: Target, max_bytes: int, deadline: float
) -> FetchedImage | httpx.URL:
    """Fetch ``target``: the picture, or the checked-later URL it redirects to."""
    shown = str(target.url)
    headers = {
        "Host": target.url.netloc.decode("ascii"),
        "User-Agent": USER_AGENT,
        "Accept": "image/*",
        "Accept-Encoding": "identity",
    }
    extensions: dict[str, object] = {}
    if target.url.scheme == "https":
        extensions["sni_hostname"] = target.host
    last_error: Exception | None = None
    for address in target.addresses:
        try:
            with client.stream(
                "GET",
                _pinned_url(target, address),
                headers=headers,
                extensions=extensions,
                timeout=_timeout(deadline),
            ) as response:
                if response.status_code in _REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchFailed(f"{shown} redirects without a Location")
                    try:
                        return target.url.join(location.strip())
                    except httpx.InvalidURL as exc:
                        raise UrlNotAllowed(f"{shown} redirects to a malformed URL") from exc
                if response.status_code != 200:
                    raise FetchFailed(f"{shown} answered HTTP {response.status_code}")
                content_type = response.headers.get("content-type", "")
                if not _content_type_ok(content_type):
                    raise WrongContentType(
                        f"{shown} sent content type {content_type or 'none'!r}, not a picture"
                    )
                encoding = response.headers.get("content-encoding", "identity").strip().lower()
                if encoding not in ("", "identity"):
                    raise FetchFailed(f"{shown} sent a {encoding!r}-compressed body; refused")
                data = _read_body(response, shown, max_bytes, deadline)
                return FetchedImage(data=data, url=shown, content_type=content_type)
        except httpx.TimeoutException as exc:
            raise FetchTimeout(f"{shown} timed out") from exc
        except httpx.ConnectError as exc:
            last_error = exc  # try the next checked address of the same host
            continue
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError) as exc:
            raise FetchFailed(f"fetching {shown} failed: {type(exc).__name__}") from exc
    detail = " ".join(str(last_error).split())[:160] if last_error else "no address"
    raise FetchFailed(f"cannot connect to {target.host!r}: {detail}") from last_error
