"""TikTok API for Business v1.3: client, mapping, status table, and the factory that owns the
platform's defaults."""

from gateway.platforms.base import Platform
from gateway.platforms.factory import PlatformFactory, PlatformSettings
from gateway.platforms.tiktok.client import TikTokClient
from gateway.platforms.tiktok.statuses import STATUS_TABLE, primary_status_filter, status_of
from gateway.platforms.upstream import Upstream


def _client(http: Upstream, settings: PlatformSettings) -> TikTokClient:
    return TikTokClient(http, base_url=settings.base_url)


FACTORY = PlatformFactory(
    platform=Platform.TIKTOK_ADS,
    defaults=PlatformSettings(base_url="https://business-api.tiktok.com"),
    credentials=("access_token",),
    build=_client,
)

__all__ = ["FACTORY", "STATUS_TABLE", "TikTokClient", "primary_status_filter", "status_of"]
