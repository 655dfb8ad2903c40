"""The Starlette application: routes, the security headers, the access check, and one read-only
store per request (Starlette runs these synchronous endpoints in its thread pool; a store is not
shared between threads)."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..config import Config
from ..delivery import plan_digest
from ..errors import StorageError
from ..export import write_atom
from ..storage import SearchFilters, Store
from ..storage.search import feed_activity
from .pages import article_page, feed_health, search_page, story_page

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
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        return response


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
              token: str | None = None) -> Starlette:
    """The web interface over ``config``'s store; ``open_store()`` opens a read-only store."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("monitor.web", "templates"),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    names = {f.url: f.name for f in config.feeds}
    base = config.web_base_url

    @contextmanager
    def store() -> Iterator[Store]:
        with open_store() as opened:
            yield opened

    def page(template: str, request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(template).render(request=request, title=context.pop("title", "monitor"),
                                                 **context)
        return HTMLResponse(html, status_code=status)

    def home(request: Request) -> Response:
        with store() as s:
            digest = plan_digest(s, config, clock()).digest  # the next digest, as it stands now
        return page("home.html.j2", request, title="monitor: alerts", digest=digest)

    def search(request: Request) -> Response:
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
        try:
            article_id = int(request.path_params["article_id"])
            with store() as s:
                stored = s.article(article_id)
                story = story_page(s, stored.story, names) if stored.story is not None and stored.story_size > 1 \
                    else None
        except (ValueError, OverflowError, StorageError):
            return page("missing.html.j2", request, status=404, title="monitor: not found")
        view = article_page(stored, config.watchlists, names, story)
        return page("article.html.j2", request, title=stored.article.title, view=view)

    def story(request: Request) -> Response:
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

    def feeds(request: Request) -> Response:
        now = clock()
        since = now - timedelta(days=RECENT_DAYS)
        with store() as s:
            rows = s.feed_rows()
            recent = {url: n for url, (n, _) in s.run(lambda conn: feed_activity(conn, since)).items()}
        return page("feeds.html.j2", request, title="monitor: feeds", feeds=feed_health(rows, names, recent,
                                                                                        RECENT_DAYS))

    def atom(request: Request) -> Response:
        watchlist = request.path_params["watchlist"]
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
              Route("/feeds", feeds), Route("/feeds/{watchlist}.atom", atom), Route("/style.css", style),
              Route("/favicon.svg", icon)]
    return Starlette(routes=routes, middleware=middleware)
