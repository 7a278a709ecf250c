"""Headers that keep the HTML pages (GraphiQL, /docs) from being framed, sniffed or made to run
foreign script.

The Content-Security-Policy allows this origin only, plus, for script, the exact inline blocks
the page holds (by their SHA-256): the pages are vendored (no CDN), so nothing else is needed.
Styles also allow inline ``<style>``: the vendored bundles insert their own at run time, and
styles cannot run code. ``data:`` images and fonts are what the bundles embed.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.responses import HTMLResponse

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def content_security_policy(page: str) -> str:
    """The policy for ``page``: self, and its own inline scripts by hash."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(page)
    )
    directives = [
        "default-src 'none'",
        f"script-src 'self' {hashes}".rstrip(),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def page_headers(page: str) -> dict[str, str]:
    """Every header an HTML page of ours is served with."""
    return {
        "Content-Security-Policy": content_security_policy(page),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def secure_html(page: str) -> HTMLResponse:
    """``page`` as an HTML response with ``page_headers``."""
    return HTMLResponse(page, headers=page_headers(page))
