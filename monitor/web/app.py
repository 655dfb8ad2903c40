"""The Starlette application: routes, the security headers, the access check, and one read-only
store per request (Starlette runs these synchronous endpoints in its thread pool; a store is not
shared between threads)."""

from __future__ import annotations

import base64
import hmac
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from datetime import datetime, timedelta
from io import StringIO
from typing import Any
from urllib.parse import quote_plus, urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ..config import Config, ConfigWatch
from ..delivery import plan_digest
from ..errors import ConfigError, MonitorError, StorageError
from ..export import write_atom
from ..feedops import add_feed, discover, remove_feed_named
from ..fetching import Fetcher
from ..gist import Dictionary
from ..storage import SearchFilters, Store
from ..storage.search import feed_activity
from ..urls import http_link
from .forms import FormError, FormGuard, read_form
from .pages import article_page, feed_health, search_page, story_page

log = logging.getLogger(__name__)

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
LEVELS = ("alert", "mention", "none")
RECENT_DAYS = 7


class _Security(BaseHTTPMiddleware):
    """Security headers on every response, and the token check when one is set."""

    def __init__(self, app: Any, token: str | None) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if self.token is not None and not _authorised(request, self.token):
            response: Response = PlainTextResponse("a token is required", status_code=401,
                                                   headers={"WWW-Authenticate": 'Basic realm="monitor"'})
        else:
            response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"  # nothing to other sites
        response.headers["X-Frame-Options"] = "DENY"
        return response


class _Live:
    """The config as feeds.yaml now says: re-read when the file changes (an edit that does not
    load is logged, and the last good config kept)."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._watch = ConfigWatch(config.path)
        self._lock = threading.Lock()

    def get(self) -> Config:
        with self._lock:
            found = self._watch.changed()
            if isinstance(found, ConfigError):
                log.error("feeds.yaml not reloaded, the previous configuration is shown: %s", found)
            elif found is not None:
                self._config = found
            return self._config

    def names(self) -> dict[str, str]:
        return {f.url: f.name for f in self.get().feeds}


def _authorised(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    given = ""
    if header.lower().startswith("bearer "):
        given = header[7:].strip()
    elif header.lower().startswith("basic "):
        try:
            given = base64.b64decode(header[6:]).decode("utf-8").partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            given = ""
    return hmac.compare_digest(given.encode(), token.encode())


def build_app(config: Config, open_store: Callable[[], Store], *, clock: Callable[[], datetime],
              token: str | None = None, edits: bool = True,
              open_fetcher: Callable[[Config], AbstractAsyncContextManager[Fetcher]] | None = None) -> Starlette:
    """The web interface over ``config``'s store; ``open_store()`` opens a read-only store. Its
    only writes are the feed forms (``edits``), which edit feeds.yaml; the config is re-read when
    that file changes (the database and web settings only at a restart). ``open_fetcher(config)``
    gives the guarded fetcher the add form finds feeds with (no forms without one)."""
    edits = edits and open_fetcher is not None
    env = jinja2.Environment(loader=jinja2.PackageLoader("monitor.web", "templates"),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["http_link"] = http_link  # feed-supplied links: http(s) only
    base = config.web_base_url
    live = _Live(config)
    guard = FormGuard()
    dictionary = Dictionary()  # CC-CEDICT for the gists, read once for the server's life

    @contextmanager
    def store() -> Iterator[Store]:
        with open_store() as opened:
            yield opened

    def page(template: str, request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(template).render(request=request, title=context.pop("title", "monitor"),
                                                 **context)
        return HTMLResponse(html, status_code=status)

    def home(request: Request) -> Response:
        config = live.get()
        with store() as s:
            digest = plan_digest(s, config, clock(), dictionary).digest  # the next digest, as it stands now
        return page("home.html.j2", request, title="monitor: alerts", digest=digest)

    def search(request: Request) -> Response:
        config = live.get()
        q = request.query_params
        filters = SearchFilters(languages=tuple(v for v in q.getlist("language") if v),
                                feed_urls=tuple(u for u in q.getlist("feed") if u),
                                watchlist=q.get("watchlist") or None,
                                levels=tuple(v for v in q.getlist("level") if v in LEVELS),
                                sort="date" if q.get("sort") == "date" else "relevance")
        try:
            with store() as s:
                found = search_page(s, q.get("q", ""), filters)
        except StorageError as exc:  # e.g. a database from before the search index, opened read-only
            return PlainTextResponse(f"search is not available: {exc}", status_code=503)
        return page("search.html.j2", request, title=f"monitor: search {found.query}", found=found,
                    filters=filters, feeds=config.feeds, watchlists=config.watchlists)

    def article(request: Request) -> Response:
        config = live.get()
        names = live.names()
        try:
            article_id = int(request.path_params["article_id"])
            with store() as s:
                stored = s.article(article_id)
                story = story_page(s, stored.story, names) if stored.story is not None and stored.story_size > 1 \
                    else None
        except (ValueError, OverflowError, StorageError):
            return page("missing.html.j2", request, status=404, title="monitor: not found")
        view = article_page(stored, config.watchlists, names, story, dictionary)
        return page("article.html.j2", request, title=stored.article.title, view=view)

    def story(request: Request) -> Response:
        names = live.names()
        try:
            number = int(request.path_params["story_id"])
            if not 0 < number < 2 ** 63:
                raise ValueError(number)
            with store() as s:
                view = story_page(s, number, names)
        except ValueError:
            view = None
        if view is None:
            return page("missing.html.j2", request, status=404, title="monitor: not found")
        return page("story.html.j2", request, title=f"Story: {view.lead.title_en or view.lead.title}", view=view)

    def feeds(request: Request, message: str | None = None, error: str | None = None,
              status: int = 200) -> Response:
        config = live.get()
        since = clock() - timedelta(days=RECENT_DAYS)
        with store() as s:
            rows = s.feed_rows()
            recent = {url: n for url, (n, _) in s.run(lambda conn: feed_activity(conn, since)).items()}
        done = request.query_params.get("done")
        return page("feeds.html.j2", request, status=status, title="monitor: feeds",
                    feeds=feed_health(rows, config.feeds, recent, RECENT_DAYS), edits=edits,
                    csrf_add=guard.token("feeds-add"), csrf_remove=guard.token("feeds-remove"),
                    message=message or (done if done else None), error=error)

    async def feeds_add(request: Request) -> Response:
        try:
            fields = await read_form(request)
            guard.check(request, "feeds-add", fields)
            url = fields.get("url", "").strip()
            if urlsplit(url).scheme not in ("http", "https"):
                raise FormError("give the address of a feed or of a page that links to one (http or https)")
            config = live.get()
            assert open_fetcher is not None  # the route exists only with one
            async with open_fetcher(config) as fetcher:
                found = await discover(fetcher, url)
            entry = await run_in_threadpool(
                add_feed, config, found, name=fields.get("name") or None,
                interval=fields.get("interval", "").strip() or None,
                tags=[t for t in fields.get("tags", "").split(",") if t.strip()])
        except FormError as exc:
            return await run_in_threadpool(feeds, request, None, str(exc), exc.status)
        except (MonitorError, ValueError, OSError) as exc:  # no feed found, already listed, a bad
            # address, or feeds.yaml not writable or the edit would not load: said on the page
            return await run_in_threadpool(feeds, request, None, str(exc), 422)
        return RedirectResponse(f"/feeds?done=added+{quote_plus(entry['name'])}", status_code=303)

    async def feeds_remove(request: Request) -> Response:
        try:
            fields = await read_form(request)
            guard.check(request, "feeds-remove", fields)
            name = fields.get("name", "")
            await run_in_threadpool(remove_feed_named, live.get().path, name)
        except FormError as exc:
            return await run_in_threadpool(feeds, request, None, str(exc), exc.status)
        except (MonitorError, OSError) as exc:
            return await run_in_threadpool(feeds, request, None, str(exc), 422)
        return RedirectResponse(f"/feeds?done=removed+{quote_plus(name)}", status_code=303)

    def atom(request: Request) -> Response:
        watchlist = request.path_params["watchlist"]
        config = live.get()
        if watchlist not in {w.name for w in config.watchlists}:
            return PlainTextResponse(f"no watchlist {watchlist!r}", status_code=404)
        with store() as s:
            found = list(s.articles(filters=SearchFilters(levels=("alert",), watchlist=watchlist)))
        out = StringIO()
        root = base or str(request.base_url).rstrip("/")
        write_atom(found[-200:], out, title=f"monitor alerts: {watchlist}", now=clock(),
                   feed_id=f"tag:monitor,2026:alerts:{watchlist}", self_url=str(request.url),
                   link_for=lambda article_id: f"{root}/article/{article_id}")
        return Response(out.getvalue(), media_type="application/atom+xml; charset=utf-8")

    def style(request: Request) -> Response:
        return Response(env.loader.get_source(env, "style.css")[0] if env.loader else "", media_type="text/css")

    def icon(request: Request) -> Response:
        return Response(env.loader.get_source(env, "favicon.svg")[0] if env.loader else "",
                        media_type="image/svg+xml")

    # without a token the server is for this machine only: refuse other Host names (DNS rebinding)
    middleware = [Middleware(_Security, token=token)]
    if token is None:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost", "[::1]"]))
    routes = [Route("/", home), Route("/search", search), Route("/article/{article_id}", article),
              Route("/story/{story_id}", story),
              Route("/feeds", feeds), Route("/feeds/{watchlist}.atom", atom),
              *([Route("/feeds/add", feeds_add, methods=["POST"]),
                 Route("/feeds/remove", feeds_remove, methods=["POST"])] if edits else []), Route("/style.css", style),
              Route("/favicon.svg", icon)]
    return Starlette(routes=routes, middleware=middleware)
