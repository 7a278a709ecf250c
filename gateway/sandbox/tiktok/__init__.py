"""TikTok Business API v1.3 sandbox: seed data, the app, and a client pointed at it."""

from __future__ import annotations

from gateway.platforms.tiktok.client import TikTokClient
from gateway.platforms.upstream import Upstream
from gateway.sandbox.tiktok.app import create_app
from gateway.sandbox.tiktok.seed import TikTokSeed, build_seed


def client_for(http: Upstream, base_url: str) -> TikTokClient:
    """A TikTokClient talking to the sandbox mounted at ``base_url``
    (e.g. ``"http://sandbox.test/tiktok"``)."""
    return TikTokClient(http, base_url=base_url)


__all__ = ["TikTokSeed", "build_seed", "client_for", "create_app"]
