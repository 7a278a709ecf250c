"""A GraphiQL page served from assets shipped in this package (no CDN)."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR: Path = Path(__file__).resolve().parent / "static" / "graphiql"
"""Directory holding the vendored GraphiQL and React browser builds."""

_CACHE_CONTROL = "public, max-age=3600"

_SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")
_STYLESHEET = "graphiql.min.css"

# Characters that could end a <script> element or break a JS string literal.
_SCRIPT_ESCAPES = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)


def js_literal(value: object) -> str:
    """Serialise *value* as JSON that is safe inside an inline ``<script>``."""
    return json.dumps(value, ensure_ascii=False).translate(_SCRIPT_ESCAPES)


def asset_url(static_prefix: str, name: str) -> str:
    """The URL of a vendored asset, escaped for an HTML attribute."""
    return html.escape(f"{static_prefix.rstrip('/')}/{name}", quote=True)


def html_document(*, title: str, stylesheet: str, body: str, style: str = "") -> str:
    """The frame every page of ours shares: no referrer, no favicon request, one vendored
    stylesheet (``stylesheet`` is an escaped URL), an optional ``<style>``, then ``body``."""
    style_block = f"\n    <style>\n{style}    </style>" if style else ""
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="no-referrer">
    <title>{html.escape(title, quote=True)}</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{stylesheet}">{style_block}
  </head>
  <body>
{body}  </body>
</html>
"""


def render_graphiql_page(
    *,
    endpoint: str,
    static_prefix: str,
    title: str = "Ad-platform gateway — GraphiQL",
    default_query: str | None = None,
    default_headers: str | None = None,
    default_variables: str | None = None,
) -> str:
    """Return a self-contained HTML page mounting GraphiQL against *endpoint*.

    Assets are loaded from *static_prefix* only; the header editor is shown so a
    bearer token can be pasted, and headers are never persisted to local storage.
    *default_variables* (JSON text) fills the Variables editor on every load, so the
    default query runs on the first click.
    """
    props: dict[str, object] = {
        "isHeadersEditorEnabled": True,
        "shouldPersistHeaders": False,
        "defaultEditorToolsVisibility": "headers",
    }
    if default_query is not None:
        props["defaultQuery"] = default_query
    if default_headers is not None:
        props["defaultHeaders"] = default_headers
    if default_variables is not None:
        # GraphiQL 3 has no "defaultVariables": ``variables`` sets the editor's content.
        props["variables"] = default_variables

    scripts = "\n".join(
        f'    <script src="{asset_url(static_prefix, name)}"></script>' for name in _SCRIPTS
    )
    body = f"""    <div id="graphiql">Loading GraphiQL…</div>
{scripts}
    <script>
      (function () {{
        var url = new URL({js_literal(endpoint)}, window.location.href).toString();
        var props = {js_literal(props)};
        props.fetcher = GraphiQL.createFetcher({{ url: url }});
        ReactDOM.createRoot(document.getElementById("graphiql")).render(
          React.createElement(GraphiQL, props)
        );
      }})();
    </script>
"""
    return html_document(
        title=title,
        stylesheet=asset_url(static_prefix, _STYLESHEET),
        style="      html, body { height: 100%; margin: 0; overflow: hidden; }\n"
        "      #graphiql { height: 100vh; }\n",
        body=body,
    )


class CachedStaticFiles(StaticFiles):
    """StaticFiles that adds a ``Cache-Control`` header to every file response."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = _CACHE_CONTROL
        return response


def graphiql_routes(
    *, endpoint: str = "/graphql", static_prefix: str = "/graphiql/static"
) -> list[BaseRoute]:
    """Return the route serving the GraphiQL assets under *static_prefix*.

    The page itself (see :func:`render_graphiql_page`) is served by the GraphQL
    endpoint's own handler; *endpoint* is accepted so callers configure both alike.
    """
    del endpoint  # the assets do not depend on it
    return [
        Mount(
            static_prefix.rstrip("/"),
            app=CachedStaticFiles(directory=STATIC_DIR),
            name="graphiql-static",
        )
    ]
