"""Meta Marketing API (Graph API v25.0): client, mapping and status table."""

from gateway.platforms.meta.client import MetaClient
from gateway.platforms.meta.statuses import (
    STATUS_TABLE,
    effective_status_filter,
    status_of,
    status_of_payload,
)

__all__ = [
    "STATUS_TABLE",
    "MetaClient",
    "effective_status_filter",
    "status_of",
    "status_of_payload",
]
