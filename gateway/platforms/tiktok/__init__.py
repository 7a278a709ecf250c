"""TikTok API for Business v1.3: client, mapping and status table."""

from gateway.platforms.tiktok.client import TikTokClient
from gateway.platforms.tiktok.statuses import STATUS_TABLE, primary_status_filter, status_of

__all__ = ["STATUS_TABLE", "TikTokClient", "primary_status_filter", "status_of"]
