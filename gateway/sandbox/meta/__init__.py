"""Meta Graph API sandbox: seed data, the app, and a client pointed at it."""

from __future__ import annotations

from gateway.platforms.meta import API_VERSION, MetaClient
from gateway.platforms.upstream import Upstream
from gateway.sandbox.meta.app import create_app
from gateway.sandbox.meta.seed import MetaSeed, build_seed


def client_for(http: Upstream, base_url: str) -> MetaClient:
    """A MetaClient talking to the sandbox mounted at ``base_url``
    (e.g. ``"http://sandbox.test/meta"``)."""
    return MetaClient(http, base_url=base_url, api_version=API_VERSION)


__all__ = ["MetaSeed", "build_seed", "client_for", "create_app"]
