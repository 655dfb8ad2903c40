"""The web interface's only writes are its feed forms; this guards them against cross-site request
forgery (a page elsewhere making the reader's browser post to the local server, which a token in
basic auth would not stop): each form carries a token (an HMAC of the form's name under a secret
made when the server starts), and a browser's ``Origin`` and ``Sec-Fetch-Site`` must say the post
comes from this site. Bodies are small URL-encoded forms, read here without a multipart parser."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request

__all__ = ["FormError", "FormGuard", "read_form"]

MAX_FORM_BYTES = 16_384


class FormError(Exception):
    """A post the server will not act on; its message is for the reader."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class FormGuard:
    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def token(self, form: str) -> str:
        return hmac.new(self._secret, form.encode(), hashlib.sha256).hexdigest()

    def check(self, request: Request, form: str, fields: dict[str, str]) -> None:
        """FormError (403) unless the post carries this form's token and comes from this site."""
        if not hmac.compare_digest(fields.get("csrf", "").encode(), self.token(form).encode()):
            raise FormError("this form has expired or came from elsewhere: reload the page and try again", 403)
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            raise FormError(f"a {site} post is refused", 403)
        origin = request.headers.get("origin")
        if origin == "null" and site is None:  # an opaque origin that no fetch metadata vouches for
            raise FormError("a post from an unknown site is refused", 403)
        if origin not in (None, "null") and urlsplit(origin).netloc != request.headers.get("host"):
            raise FormError("a post from another site is refused", 403)


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a URL-encoded form (the first value of each)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise FormError("expected a form (application/x-www-form-urlencoded)", 415)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormError("the form is too large", 413)
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise FormError("the form could not be read") from None
    return {key: values[0] for key, values in parsed.items() if values}
