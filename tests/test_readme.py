"""The README's first example works as printed: run against the demo gateway (as
``bash scripts/run.sh`` serves it), its first curl returns rows."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from gateway.app import close_runtime
from gateway.cli import build_demo_app

README = Path(__file__).resolve().parent.parent / "README.md"
_CURL = re.compile(r'curl "(?P<url>[^"]+)" \\\n\s+-H "(?P<name>[^:]+): (?P<value>[^"]+)"')


def first_curl() -> tuple[str, dict[str, str]]:
    """The URL and header of the first curl command in the README's "Try it" section."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Try it") :]
    match = _CURL.search(section)
    assert match is not None, "no curl example in the Try it section"
    return match["url"], {match["name"]: match["value"]}


async def test_the_first_curl_example_returns_rows() -> None:
    url, headers = first_curl()
    parts = urlsplit(url)
    assert parts.netloc == "127.0.0.1:8000"  # where scripts/run.sh listens
    app, _ = build_demo_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        response = await http.get(f"{parts.path}?{parts.query}", headers=headers)
    await close_runtime(app.state.runtime)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert items
    query = dict(p.split("=", 1) for p in parts.query.split("&"))
    assert {item["campaignId"] for item in items} == {query["campaignId"]}
    assert {item["status"] for item in items} == {query["status"]}
