"""The Redis coordinator: state shared by every instance that names the same Redis and prefix.

Each value is one key under the configured prefix, and every key expires (``PXAT`` at a
regain time or cool-down end, ``PX`` for usage and hints, a bucket once it would be full), so
Redis never fills up with the state of accounts nobody calls any more. Compare-and-set steps
run as server-side scripts (``register_script``: EVALSHA, reloaded if Redis lost it), one
round trip each, so concurrent instances cannot interleave inside them. Times come from Redis'
own clock inside the bucket script, so instances' clocks need not agree to the millisecond.
"""

from __future__ import annotations

import math

from redis.asyncio import Redis

from gateway.coordination.base import AccountState, BucketGrant

# Keep the later of two regain times: another instance may already know a longer one.
_SET_MAX = """
local current = tonumber(redis.call('GET', KEYS[1]))
local value = tonumber(ARGV[1])
if current == nil or value > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
end
return 0
"""

# A token bucket: capacity ARGV[1] tokens refilled over ARGV[2] seconds. Returns whether one
# was taken, the tokens left and the wait for the next, as strings (Lua numbers would be
# truncated to integers on the way out).
_TAKE = """
local capacity = tonumber(ARGV[1])
local per = tonumber(ARGV[2])
local rate = capacity / per
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local last = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - last) * rate)
local granted = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  granted = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return {granted, tostring(tokens), tostring(wait)}
"""


class RedisCoordinator:
    """Coordination state in Redis under ``prefix`` (one prefix per gateway deployment)."""

    def __init__(self, client: Redis, prefix: str = "gateway:") -> None:
        self._redis = client
        self._prefix = prefix
        self._set_max = client.register_script(_SET_MAX)
        self._take = client.register_script(_TAKE)

    @classmethod
    def from_url(cls, url: str, prefix: str = "gateway:", timeout: float = 0.5) -> RedisCoordinator:
        """A coordinator on ``url``; short socket timeouts so an unreachable Redis is noticed
        in a fraction of a second (the caller then falls back to local state)."""
        client = Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout, decode_responses=True
        )
        return cls(client, prefix)

    def _key(self, kind: str, name: str) -> str:
        return f"{self._prefix}{kind}:{name}"

    async def ping(self) -> None:
        """Raise if Redis cannot be reached."""
        await self._redis.ping()

    async def account_state(self, scope: str) -> AccountState:
        throttle, usage, circuit = await self._redis.mget(
            [self._key(kind, scope) for kind in ("throttle", "usage", "circuit")]
        )
        return AccountState(
            throttled_until=_float(throttle),
            usage_pct=_float(usage),
            circuit_open_until=_float(circuit),
        )

    async def set_throttled(self, scope: str, until: float) -> None:
        await self._set_max(
            keys=[self._key("throttle", scope)], args=[repr(until), math.ceil(until * 1000)]
        )

    async def set_usage(self, scope: str, pct: float, ttl: float) -> None:
        await self._redis.set(self._key("usage", scope), repr(pct), px=_ms(ttl))

    async def set_circuit(self, scope: str, open_until: float | None) -> None:
        key = self._key("circuit", scope)
        if open_until is None:
            await self._redis.delete(key)
        else:
            await self._redis.set(key, repr(open_until), pxat=math.ceil(open_until * 1000))

    async def get_hint(self, key: str) -> int | None:
        value = await self._redis.get(self._key("hint", key))
        return None if value is None else int(value)

    async def set_hint(self, key: str, size: int | None, ttl: float) -> None:
        if size is None:
            await self._redis.delete(self._key("hint", key))
        else:
            await self._redis.set(self._key("hint", key), str(size), px=_ms(ttl))

    async def take(self, bucket: str, capacity: int, per_seconds: float) -> BucketGrant:
        granted, tokens_text, wait_text = await self._take(
            keys=[self._key("bucket", bucket)], args=[capacity, repr(float(per_seconds))]
        )
        tokens = float(tokens_text)
        rate = capacity / per_seconds
        return BucketGrant(
            granted=bool(int(granted)),
            remaining=math.floor(tokens),
            wait=float(wait_text),
            reset=(capacity - tokens) / rate,
        )

    async def aclose(self) -> None:
        await self._redis.aclose()


def _float(value: str | None) -> float | None:
    return None if value is None else float(value)


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))
