"""The GraphiQL page and its locally served assets."""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette

from gateway.graphiql import STATIC_DIR, graphiql_routes, render_graphiql_page

ASSETS = (
    "graphiql.min.js",
    "graphiql.min.css",
    "react.production.min.js",
    "react-dom.production.min.js",
)


def _page(**kwargs: str) -> str:
    return render_graphiql_page(endpoint="/graphql", static_prefix="/graphiql/static", **kwargs)


def test_assets_are_shipped() -> None:
    for name in ASSETS:
        assert (STATIC_DIR / name).stat().st_size > 0, name


def test_page_has_no_external_references() -> None:
    page = _page(default_query="{ __typename }", default_headers='{"A": "b"}')
    assert "http://" not in page
    assert "https://" not in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']//""", page)


def test_page_loads_local_assets_and_endpoint() -> None:
    page = _page()
    for name in ASSETS:
        assert f'"/graphiql/static/{name}"' in page
    assert '"/graphql"' in page
    assert "GraphiQL.createFetcher" in page
    assert '"isHeadersEditorEnabled": true' in page
    assert "defaultQuery" not in page
    assert "defaultHeaders" not in page


def test_trailing_slash_on_prefix_is_ignored() -> None:
    page = render_graphiql_page(endpoint="/api/graphql", static_prefix="/assets/gql/")
    assert '"/assets/gql/graphiql.min.js"' in page
    assert '"/api/graphql"' in page


def test_defaults_are_embedded() -> None:
    page = _page(default_query="query Q { me { id } }", default_headers='{"Authorization": ""}')
    assert '"defaultQuery": "query Q { me { id } }"' in page
    assert r'"defaultHeaders": "{\"Authorization\": \"\"}"' in page


def test_hostile_title_and_query_are_escaped() -> None:
    hostile = '</script><script>alert("x")</script>'
    page = _page(title=hostile, default_query=hostile, default_headers=hostile)
    assert "<script>alert" not in page
    assert page.count("</script>") == 4  # the three asset tags and the inline one
    assert "<title>&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)" in page
    assert r"\u003c/script\u003e\u003cscript\u003ealert(\"x\")" in page


async def test_static_route_serves_javascript() -> None:
    app = Starlette(routes=graphiql_routes())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        js = await client.get("/graphiql/static/graphiql.min.js")
        css = await client.get("/graphiql/static/graphiql.min.css")
        missing = await client.get("/graphiql/static/nope.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert "window.GraphiQL" in js.text
    assert "max-age" in js.headers["cache-control"]
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert missing.status_code == 404
