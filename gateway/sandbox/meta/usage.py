"""Call metering per ad account and the usage headers Graph sends on every response."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import orjson

from gateway.sandbox.meta.seed import AccountData

# Calls a minute that read as 100% usage when no quota is set (the headers still move).
NOMINAL_CALLS_PER_MINUTE = 1000
NOMINAL_APP_CALLS_PER_MINUTE = 5000
WINDOW_SECONDS = 60.0


def buc_header(account_ids: Iterable[str], pct: int, regain_minutes: int) -> str:
    entry = {
        "type": "ads_management",
        "call_count": pct,
        "total_cputime": pct // 2,
        "total_time": pct // 2,
        "estimated_time_to_regain_access": regain_minutes,
        "ads_api_access_tier": "standard_access",
    }
    return orjson.dumps({a: [entry] for a in account_ids}).decode()


@dataclass
class _Window:
    started: float
    calls: int = 0


class Meter:
    """Calls per account in fixed one-minute windows, and an optional hard quota."""

    def __init__(self, quota: int | None, clock: Callable[[], float]) -> None:
        self.quota = quota
        self.clock = clock
        self._windows: dict[str, _Window] = {}

    def _window(self, key: str) -> _Window:
        now = self.clock()
        window = self._windows.get(key)
        if window is None or now - window.started >= WINDOW_SECONDS:
            window = self._windows[key] = _Window(now)
        return window

    def seconds_left(self, key: str) -> float:
        return max(0.0, WINDOW_SECONDS - (self.clock() - self._window(key).started))

    def admit(self, key: str) -> bool:
        """Count a call; False (and not counted) when the quota is used up."""
        window = self._window(key)
        if self.quota is not None and window.calls >= self.quota:
            return False
        window.calls += 1
        return True

    def pct(self, key: str, nominal: int) -> int:
        calls = self._window(key).calls
        return min(100, math.ceil(calls * 100 / (self.quota or nominal)))


def usage_headers(
    meter: Meter, app_meter: Meter, account: AccountData | None, *, idle: bool = False
) -> dict[str, str]:
    """The ``x-app-usage`` header, and the account's own usage headers when it is known;
    ``idle``: every figure 0 (calls are not being metered)."""
    app_pct = 0 if idle else app_meter.pct("app", NOMINAL_APP_CALLS_PER_MINUTE)
    headers = {
        "x-app-usage": orjson.dumps(
            {"call_count": app_pct, "total_cputime": app_pct // 2, "total_time": app_pct // 2}
        ).decode()
    }
    if account is not None:
        key = account.account_id
        pct = 0 if idle else meter.pct(key, NOMINAL_CALLS_PER_MINUTE)
        left = math.ceil(meter.seconds_left(key))
        headers["x-business-use-case-usage"] = buc_header([key], pct, 0)
        headers["x-ad-account-usage"] = orjson.dumps(
            {
                "acc_id_util_pct": pct,
                "reset_time_duration": left if pct >= 100 else 0,
                "ads_api_access_tier": "standard_access",
            }
        ).decode()
    return headers
