"""The Apple Ads sandbox: Apple's OAuth token endpoint and the Platform API v1 over seeded
data."""

from __future__ import annotations

from gateway.platforms.apple.client import AppleClient
from gateway.platforms.upstream import Upstream
from gateway.sandbox.apple.app import create_app, sandbox_state
from gateway.sandbox.apple.seed import AppleSeed, build_seed

__all__ = ["AppleSeed", "build_seed", "client_for", "create_app", "sandbox_state"]


def client_for(http: Upstream, base_url: str) -> AppleClient:
    """An AppleClient against the sandbox mounted at ``base_url`` (API and token endpoint)."""
    base = base_url.rstrip("/")
    return AppleClient(http, base_url=base, token_url=f"{base}/auth/oauth2/token")
