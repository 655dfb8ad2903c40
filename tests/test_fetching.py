"""The fetcher against a real server on 127.0.0.1 that misbehaves on purpose."""

from __future__ import annotations

import asyncio
import gzip
import re
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

import pytest

from monitor.errors import BlockedURLError, FetchError, HTTPStatusError, ResponseTooLargeError
from monitor.fetching import Fetcher, build_client, is_public_address, parse_retry_after
from monitor.settings import FetchSettings
from tests.support.httpserver import TestServer

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def fetch(url: str, settings: FetchSettings | None = None, **kwargs: object) -> object:
    settings = settings or FetchSettings(timeout=5)
    allow = bool(kwargs.pop("allow_private", True))
    resolver = kwargs.pop("resolver", None)

    async def go() -> object:
        async with build_client(settings) as client:
            extra = {"resolver": resolver} if resolver else {}
            fetcher = Fetcher(client, settings, allow_private_networks=allow, clock=lambda: NOW, **extra)  # type: ignore[arg-type]
            return await fetcher.fetch(url, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(go())


def test_gzip_and_brotli_bodies_are_decoded(server: TestServer) -> None:
    url = server.add("/gz", gzip.compress(b"<rss>hello</rss>"), headers={"Content-Encoding": "gzip"})
    response = fetch(url)
    assert response.content == b"<rss>hello</rss>"  # type: ignore[attr-defined]
    assert server.requests_to("/gz")[0].headers["accept-encoding"] == "gzip, deflate, br"
    assert "monitor/" in server.requests_to("/gz")[0].headers["user-agent"]


def test_size_cap_on_plain_and_declared_bodies(server: TestServer) -> None:
    url = server.add("/big", b"x" * 2_000_000)
    with pytest.raises(ResponseTooLargeError):
        fetch(url, FetchSettings(max_bytes=100_000))


def test_gzip_bomb_stops_at_the_cap_on_decoded_bytes(server: TestServer) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    url = server.add("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(ResponseTooLargeError, match="decoded body exceeds"):
        fetch(url, FetchSettings(max_bytes=1_000_000))


def test_redirect_loop_and_long_chains(server: TestServer) -> None:
    server.add("/a", b"", status=302, headers={"Location": "/b"})
    server.add("/b", b"", status=301, headers={"Location": "/a"})
    with pytest.raises(FetchError, match="redirect loop"):
        fetch(server.url("/a"))
    for i in range(10):
        server.add(f"/r{i}", b"", status=307, headers={"Location": f"/r{i + 1}"})
    server.add("/r10", b"<rss/>")
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(server.url("/r0"))
    ok = fetch(server.url("/r7"))
    assert ok.url == server.url("/r10") and ok.content == b"<rss/>"  # type: ignore[attr-defined]


def test_trickling_server_hits_the_total_deadline(server: TestServer) -> None:
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(40):
            try:
                handler.wfile.write(b"x")
                handler.wfile.flush()
            except OSError:
                return
            time.sleep(0.1)

    url = server.add_handler("/slow", trickle)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetch(url, FetchSettings(timeout=1.0))
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("status", [404, 410, 500, 502, 503])
def test_error_statuses(server: TestServer, status: int) -> None:
    url = server.add("/e", b"error", status=status)
    with pytest.raises(HTTPStatusError) as info:
        fetch(url)
    assert info.value.status == status and url in str(info.value)


def test_retry_after_is_read(server: TestServer) -> None:
    url = server.add("/busy", b"", status=429, headers={"Retry-After": "120"})
    with pytest.raises(HTTPStatusError) as info:
        fetch(url)
    assert info.value.retry_after == 120
    assert parse_retry_after("Sun, 22 Nov 2026 12:05:00 GMT", NOW) == 300
    assert parse_retry_after("soon", NOW) is None


def test_connection_refused_is_a_fetch_error() -> None:
    with pytest.raises(FetchError, match="connection failed"):
        fetch("http://127.0.0.1:9/feed")


def test_untrusted_links_to_private_addresses_are_refused(server: TestServer) -> None:
    url = server.add("/page", b"<html></html>", "text/html")
    with pytest.raises(BlockedURLError, match=re.escape("127.0.0.1")):
        fetch(url, allow_private=False, untrusted=True)
    assert server.requests_to("/page") == []
    # the same link is fine from the feed's own host, or with the switch on
    assert fetch(url, allow_private=False, untrusted=True, trusted_host="127.0.0.1").status == 200  # type: ignore[attr-defined]
    assert fetch(url, allow_private=True, untrusted=True).status == 200  # type: ignore[attr-defined]


def test_private_address_checked_after_dns_and_on_every_redirect(server: TestServer) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return {"metadata.test": ["169.254.169.254"], "intranet.test": ["10.1.2.3"]}.get(host, ["127.0.0.1"])

    with pytest.raises(BlockedURLError, match=re.escape("169.254.169.254")):
        fetch("http://metadata.test/latest/meta-data/", allow_private=False, untrusted=True, resolver=resolver)
    server.add("/hop", b"", status=302, headers={"Location": "http://intranet.test/admin"})
    with pytest.raises(BlockedURLError, match="redirected from"):
        fetch(server.url("/hop"), allow_private=False, untrusted=True, trusted_host="127.0.0.1", resolver=resolver)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "gopher://x/"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(BlockedURLError, match="not allowed"):
        fetch(url)


@pytest.mark.parametrize(("address", "public"), [("8.8.8.8", True), ("127.0.0.1", False), ("10.0.0.1", False),
                                                 ("172.16.5.4", False), ("192.168.1.1", False),
                                                 ("169.254.169.254", False), ("::1", False), ("fc00::1", False),
                                                 ("::ffff:127.0.0.1", False), ("2606:4700::1111", True)])
def test_public_address_classification(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_per_host_delay_and_retry_after_hold_back_the_next_request(server: TestServer) -> None:
    busy = server.add("/busy", b"", status=429, headers={"Retry-After": "1"})
    ok = server.add("/ok", b"<rss/>")
    settings = FetchSettings(timeout=5, min_host_delay=0.3)

    async def go() -> list[float]:
        async with build_client(settings) as client:
            fetcher = Fetcher(client, settings, allow_private_networks=True, clock=lambda: NOW)
            stamps = []
            await fetcher.fetch(ok)
            stamps.append(time.monotonic())
            await fetcher.fetch(ok)  # the same host: waits min_host_delay
            stamps.append(time.monotonic())
            with pytest.raises(HTTPStatusError):
                await fetcher.fetch(busy)
            stamps.append(time.monotonic())
            await fetcher.fetch(ok)  # the whole host said 429 + Retry-After: 1 -> waits ~1 s
            stamps.append(time.monotonic())
            return stamps

    stamps = asyncio.run(go())
    assert stamps[1] - stamps[0] >= 0.25
    assert stamps[3] - stamps[2] >= 0.9


def test_size_cap_on_a_streamed_body_without_content_length(server: TestServer) -> None:
    def stream(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/xml")
        handler.send_header("Connection", "close")
        handler.end_headers()
        try:
            for _ in range(100):
                handler.wfile.write(b"x" * 65536)
        except OSError:
            return
        handler.close_connection = True

    url = server.add_handler("/stream", stream)
    with pytest.raises(ResponseTooLargeError, match="decoded body exceeds"):
        fetch(url, FetchSettings(max_bytes=1_000_000, timeout=10))
