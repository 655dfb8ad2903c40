"""URL identity: when two links name the same article.

:func:`canonical_url` folds what does not change the article: http and https, "www." or not,
the default port, a trailing slash, the fragment, the order of query parameters, and tracking
parameters. The feed parser keys entries by it, the store makes it unique, the digest groups
by it.

Why not courlan's rules (trafilatura brings courlan): its ``normalize_url(strict=True)`` drops
every query parameter outside a short allow-list, which merges distinct articles whose identity
is in the query (``?id=123``, ``?p=456``, ``?aid=``, common on Chinese and Swedish CMSs), and its
tracker pattern also matches ``cid`` and ``uid``, which such sites use as article ids. Without
``strict`` it keeps trackers. So the tracking list here is our own, matched on whole names.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PARAMS = re.compile(
    r"^(utm_[a-z]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|ocid|cmpid|at_medium|at_campaign|ref|ref_src|spm|xtor|"
    r"ito|mkt_tok|_hsenc|_hsmi|igshid|wt\.mc_id|wt_mc|rss|from_rss|src)$",
    re.I,
)


def canonical_url(url: str) -> str:
    """Normalise a link for identity: http and https, "www." or not, a trailing slash or not, tracking
    parameters and the fragment all name the same article."""
    parts = urlsplit(url.strip())
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                             if not _TRACKING_PARAMS.match(k)))
    netloc = parts.netloc.lower()
    if netloc.endswith(":80") and parts.scheme == "http":
        netloc = netloc[:-3]
    if netloc.endswith(":443") and parts.scheme == "https":
        netloc = netloc[:-4]
    netloc = netloc.removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("http", netloc, path, query, ""))


def http_link(url: str | None) -> str | None:
    """The link when it is http(s) with a host; None for javascript:, data:, file: or nothing (a
    feed's link goes into a mail or a page only through this)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None
