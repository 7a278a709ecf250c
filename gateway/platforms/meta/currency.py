"""Meta money: integer minor units as strings, scaled by the currency's offset."""

from __future__ import annotations

from gateway.platforms.base import Money
from gateway.platforms.payload import JsonObject, PayloadError, opt_int

# Currencies Meta bills without a minor unit (https://developers.facebook.com/docs/marketing-api/currencies).
_OFFSET_ONE = frozenset(
    {"CLP", "COP", "CRC", "HUF", "ISK", "IDR", "JPY", "KRW", "PYG", "TWD", "VND"}
)


def currency_offset(currency: str) -> int:
    """How many minor units make one major unit for ``currency`` in Meta's API."""
    return 1 if currency.upper() in _OFFSET_ONE else 100


def budget(obj: JsonObject, key: str, currency: str) -> Money | None:
    """The budget in ``obj[key]`` in major units; "0", null or absent mean no budget here
    (Meta reports an unused budget, e.g. under a campaign budget, as "0")."""
    minor = opt_int(obj, key)
    if minor is None or minor == 0:
        return None
    if minor < 0:
        raise PayloadError(f"{key}: negative budget {minor}")
    return Money(amount=minor / currency_offset(currency), currency=currency.upper())
