"""Meta Marketing API (the Graph API, version ``API_VERSION``): client, mapping, status table,
and the factory that owns the platform's defaults."""

from gateway.platforms.base import Platform
from gateway.platforms.factory import PlatformFactory, PlatformSettings
from gateway.platforms.meta.client import MetaClient
from gateway.platforms.meta.statuses import (
    STATUS_TABLE,
    effective_status_filter,
    status_of,
    status_of_payload,
)
from gateway.platforms.upstream import Upstream

#: The Graph API version the client and the mapping are written for.
API_VERSION = "v25.0"


def _client(http: Upstream, settings: PlatformSettings) -> MetaClient:
    return MetaClient(
        http, base_url=settings.base_url, api_version=settings.api_version or API_VERSION
    )


FACTORY = PlatformFactory(
    platform=Platform.META_ADS,
    defaults=PlatformSettings(base_url="https://graph.facebook.com", api_version=API_VERSION),
    credentials=("access_token",),
    build=_client,
)

__all__ = [
    "API_VERSION",
    "FACTORY",
    "STATUS_TABLE",
    "MetaClient",
    "effective_status_filter",
    "status_of",
    "status_of_payload",
]
