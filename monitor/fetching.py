"""HTTP fetching over one shared, injected ``httpx.AsyncClient``.

Protections applied to every request: a total deadline (not only per read),
a cap on *decoded* bytes (so a gzip bomb stops at the cap), a bounded number of
redirects followed by hand (each hop re-checked), loop detection, and, for
untrusted URLs (article links taken from feeds), refusal of private, loopback,
link-local and metadata addresses after DNS resolution unless the
configuration allows private networks. Per-host concurrency and a minimum
delay between requests to one host keep the monitor polite.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from .errors import BlockedURLError, FetchError, HTTPStatusError, ResponseTooLargeError
from .models import FetchedResponse
from .settings import FetchSettings

Resolver = Callable[[str, int], Awaitable[list[str]]]

_REDIRECTS = {301, 302, 303, 307, 308}
MAX_RETRY_AFTER = 86400.0  # a server asking for more than a day is not believed
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.8"


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve a host name with the system resolver (getaddrinfo)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    )


@dataclass
class _HostGate:
    semaphore: asyncio.Semaphore
    last_request: float = 0.0
    blocked_until: float = 0.0


class Fetcher:
    """Fetches URLs with the protections described in the module docstring."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: FetchSettings,
        *,
        allow_private_networks: bool = False,
        resolver: Resolver = system_resolver,
        clock: Callable[[], datetime],
    ) -> None:
        self._clock = clock
        self._client = client
        self._settings = settings
        self._allow_private = allow_private_networks
        self._resolver = resolver
        self._hosts: dict[str, _HostGate] = {}
        self._global = asyncio.Semaphore(settings.concurrency)

    # -- public -------------------------------------------------------------

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = PAGE_ACCEPT,
        untrusted: bool = False,
        trusted_host: str | None = None,
    ) -> FetchedResponse:
        """GET ``url``; returns the final response (304 included) or raises FetchError.

        ``untrusted`` URLs (links found in feeds) may not reach private, loopback or link-local
        addresses unless the configuration allows private networks, or the host is
        ``trusted_host``: the host of the feed the user configured, which is trusted as much
        as the feed itself.
        """
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._follow(url, headers, untrusted, time.monotonic(), trusted_host)

    async def fetch_feed(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchedResponse:
        """GET a configured feed. The feed's own host is trusted (the user configured it, so an
        intranet or loopback feed works), but every hop of a redirect to another host is checked
        like an article link: a feed cannot send us to a private or loopback address."""
        return await self.fetch(url, etag=etag, last_modified=last_modified, accept=FEED_ACCEPT, untrusted=True,
                                trusted_host=urlsplit(url).hostname)

    # -- internals ----------------------------------------------------------

    async def _follow(
        self, url: str, headers: dict[str, str], untrusted: bool, started: float, trusted_host: str | None
    ) -> FetchedResponse:
        seen: list[str] = []
        current = url
        while True:
            await self._check_url(current, untrusted, original=url, trusted_host=trusted_host)
            if current in seen:
                raise FetchError(f"redirect loop via {current}", url=url)
            seen.append(current)
            response = await self._get_once(current, headers)
            if response.status in _REDIRECTS and "location" in response.headers:
                if len(seen) > self._settings.max_redirects:
                    raise FetchError(f"more than {self._settings.max_redirects} redirects", url=url)
                current = urljoin(current, response.headers["location"])
                continue
            if response.status >= 400:
                retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock())
                raise HTTPStatusError(response.status, url=current, retry_after=retry_after)
            return FetchedResponse(
                url=current,
                status=response.status,
                content=response.content,
                headers=response.headers,
                elapsed=time.monotonic() - started,
            )

    async def _check_url(self, url: str, untrusted: bool, *, original: str, trusted_host: str | None) -> None:
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise BlockedURLError(f"malformed URL: {exc}", url=url) from None
        if parts.scheme not in ("http", "https"):
            raise BlockedURLError(f"scheme {parts.scheme or '(none)'!r} is not allowed", url=url)
        if not parts.hostname:
            raise BlockedURLError("URL has no host", url=url)
        if not untrusted or self._allow_private:
            return
        if trusted_host is not None and parts.hostname.lower() == trusted_host.lower():
            return
        try:
            addresses = await self._resolver(parts.hostname, port)
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"cannot resolve {parts.hostname}: {exc}", url=url) from None
        for address in addresses:
            if not is_public_address(address):
                where = "" if url == original else f" (redirected from {original})"
                raise BlockedURLError(
                    f"refusing private/loopback address {address}{where}; "
                    "set allow_private_networks: true to permit",
                    url=url,
                )

    async def _get_once(self, url: str, headers: dict[str, str]) -> FetchedResponse:
        """One request. The deadline covers connecting and reading the whole body, not the wait
        for this host's turn (per-host concurrency, minimum delay, Retry-After)."""
        try:
            request = self._client.build_request("GET", url, headers=headers)
        except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
            raise BlockedURLError(f"malformed URL: {exc}", url=url) from None
        gate = await self._enter_host(url)
        try:
            async with self._global:
                try:
                    async with asyncio.timeout(self._settings.timeout):
                        response = await self._client.send(request, stream=True, follow_redirects=False)
                        try:
                            body = await self._read_capped(response, url)
                        finally:
                            await response.aclose()
                except TimeoutError:
                    raise FetchError(f"timed out after {self._settings.timeout:g}s", url=url) from None
                except httpx.TimeoutException:
                    raise FetchError("timed out", url=url) from None
                except httpx.HTTPError as exc:
                    raise FetchError(f"connection failed: {type(exc).__name__}: {exc}", url=url) from None
            if response.status_code in (429, 503):
                wait = parse_retry_after(response.headers.get("retry-after"), self._clock())
                if wait:
                    gate.blocked_until = time.monotonic() + wait
            return FetchedResponse(
                url=url,
                status=response.status_code,
                content=body,
                headers={k.lower(): v for k, v in response.headers.items()},
            )
        finally:
            gate.last_request = time.monotonic()
            gate.semaphore.release()

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        cap = self._settings.max_bytes
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and "content-encoding" not in response.headers and int(declared) > cap:
            raise ResponseTooLargeError(f"body of {declared} bytes exceeds the cap of {cap}", url=url)
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise ResponseTooLargeError(f"decoded body exceeds the cap of {cap} bytes", url=url)
                chunks.append(chunk)
        except httpx.DecodingError as exc:
            raise FetchError(f"cannot decode body: {exc}", url=url) from None
        except httpx.TimeoutException:
            raise FetchError("timed out while reading", url=url) from None
        except httpx.HTTPError as exc:
            raise FetchError(f"read failed: {type(exc).__name__}: {exc}", url=url) from None
        return b"".join(chunks)

    async def _enter_host(self, url: str) -> _HostGate:
        host = (urlsplit(url).hostname or "").lower()
        gate = self._hosts.get(host)
        if gate is None:
            gate = self._hosts[host] = _HostGate(asyncio.Semaphore(self._settings.per_host))
        blocked = gate.blocked_until - time.monotonic()
        if blocked > self._settings.timeout:
            raise FetchError(f"the host asked us to wait {blocked:.0f}s more (Retry-After); not waiting", url=url)
        await gate.semaphore.acquire()
        now = time.monotonic()
        wait = max(gate.last_request + self._settings.min_host_delay - now, gate.blocked_until - now, 0.0)
        if wait > 0:
            await asyncio.sleep(wait)
        return gate


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER)


def build_client(settings: FetchSettings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The one shared client. Called from app.py only."""
    return httpx.AsyncClient(
        headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate, br"},
        timeout=httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0)),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=max(settings.concurrency * 2, 10), max_keepalive_connections=20),
        transport=transport,
        trust_env=False,
    )
