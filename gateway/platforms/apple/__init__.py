"""Apple Ads Platform API v1: client, OAuth, mapping and the status table."""

from gateway.platforms.apple.client import AppleClient
from gateway.platforms.apple.statuses import STATUS_TABLE, map_status

__all__ = ["STATUS_TABLE", "AppleClient", "map_status"]
