"""A docs page for the REST path: Swagger UI rendering ``/openapi.json``, from assets shipped
in this package (no CDN).

In sandbox mode the page is pre-authorized with the demo key, so "Try it out" on the list
operation returns rows with no setup, as GraphiQL's first click does.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from gateway.graphiql import CachedStaticFiles, asset_url, html_document, js_literal
from gateway.page_security import secure_html

STATIC_DIR: Path = Path(__file__).resolve().parent / "static" / "swagger-ui"
"""Directory holding the vendored Swagger UI browser build."""

DOCS_PATH = "/docs"
_STATIC_PREFIX = "/docs/static"
#: The security scheme of ``gateway.openapi`` that the demo key pre-authorizes.
_SECURITY_SCHEME = "bearer"


def render_docs_page(
    *,
    openapi_url: str,
    static_prefix: str = _STATIC_PREFIX,
    title: str = "Ad-platform gateway — REST API",
    demo_key: str | None = None,
) -> str:
    """A self-contained HTML page mounting Swagger UI over the document at *openapi_url*."""
    options = {
        "url": openapi_url,
        "dom_id": "#swagger-ui",
        "deepLinking": True,
        # Swagger UI asks an online validator for a badge by default: stay offline.
        "validatorUrl": None,
        # The key stays in the page; a reload forgets it.
        "persistAuthorization": False,
        "displayRequestDuration": True,
    }
    preauthorize = ""
    if demo_key is not None:
        preauthorize = (
            "\n        options.onComplete = function () {"
            f" ui.preauthorizeApiKey({js_literal(_SECURITY_SCHEME)}, {js_literal(demo_key)}); }};"
        )
    js = asset_url(static_prefix, "swagger-ui-bundle.js")
    body = f"""    <div id="swagger-ui">Loading the API documentation…</div>
    <script src="{js}"></script>
    <script>
      (function () {{
        var options = {js_literal(options)};
        var ui;{preauthorize}
        options.presets = [SwaggerUIBundle.presets.apis];
        options.layout = "BaseLayout";
        ui = SwaggerUIBundle(options);
        window.ui = ui;
      }})();
    </script>
"""
    return html_document(
        title=title, stylesheet=asset_url(static_prefix, "swagger-ui.css"), body=body
    )


def docs_routes(*, openapi_url: str, demo_key: str | None = None) -> list[BaseRoute]:
    """The docs page at ``/docs`` and its assets under ``/docs/static``."""
    page = render_docs_page(openapi_url=openapi_url, demo_key=demo_key)

    async def docs(_: Request) -> Response:
        return secure_html(page)

    return [
        Route(DOCS_PATH, docs, methods=["GET"]),
        Mount(_STATIC_PREFIX, app=CachedStaticFiles(directory=STATIC_DIR), name="docs-static"),
    ]
