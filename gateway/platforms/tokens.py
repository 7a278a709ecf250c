"""Which resume tokens each platform's client could have issued.

A cursor is signed, but its secret may leak; so before a resume token from a cursor is handed
to a platform client, it is checked against that platform's own token format and bounds (the
pure ``is_resume_token`` of each platform's paging module). A token that fails means the cursor
is not one the gateway wrote, which the contract answers with the first page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gateway.platforms.apple import phases as apple_paging
from gateway.platforms.base import Platform
from gateway.platforms.meta import paging as meta_paging
from gateway.platforms.tiktok import paging as tiktok_paging

_CHECKS: Mapping[Platform, Callable[[str], bool]] = {
    Platform.META_ADS: meta_paging.is_resume_token,
    Platform.TIKTOK_ADS: tiktok_paging.is_resume_token,
    Platform.APPLE_ADS: apple_paging.is_resume_token,
}


def is_resume_token(platform: Platform, token: str) -> bool:
    """Whether ``platform``'s client could have issued ``token``."""
    return _CHECKS[platform](token)
