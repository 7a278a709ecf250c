"""Apple Ads Platform API v1: client, OAuth, mapping, the status table, and the factory that
owns the platform's defaults."""

from gateway.platforms.apple.client import AppleClient
from gateway.platforms.apple.statuses import STATUS_TABLE, map_status
from gateway.platforms.base import Platform
from gateway.platforms.factory import PlatformFactory, PlatformSettings
from gateway.platforms.upstream import Upstream

#: Apple's OAuth 2 token endpoint (client credentials with an ES256 client-secret JWT).
TOKEN_URL = "https://appleid.apple.com/auth/oauth2/token"  # noqa: S105 - a URL, not a secret


def _client(http: Upstream, settings: PlatformSettings) -> AppleClient:
    return AppleClient(http, base_url=settings.base_url, token_url=settings.token_url or TOKEN_URL)


FACTORY = PlatformFactory(
    platform=Platform.APPLE_ADS,
    defaults=PlatformSettings(base_url="https://api.ads.apple.com", token_url=TOKEN_URL),
    credentials=("client_id", "team_id", "key_id", "private_key_pem"),
    build=_client,
)

__all__ = ["FACTORY", "STATUS_TABLE", "TOKEN_URL", "AppleClient", "map_status"]
