"""The local web interface (`monitor serve`): today's alerts and mentions, search, an article with
why it matched, feed health, and an Atom feed of alerts per watchlist. Server-rendered with
Starlette and Jinja2; no script at all (the Content-Security-Policy allows none).

``app`` builds the application · ``pages`` the page data (pure, from the store) · ``templates/``
the HTML.
"""

from .app import build_app

__all__ = ["build_app"]
