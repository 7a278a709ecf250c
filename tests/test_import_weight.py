"""Modules only some configurations use are not imported by a gateway that does not use them."""

from __future__ import annotations

import subprocess
import sys

from gateway.coordination import InProcessCoordinator, degraded_probe, open_coordinator

# Builds the app as ``gateway serve`` does, on the sandboxes' configuration (no Redis), then
# lists the Redis client's modules that were imported.
BUILD_APP = """
import sys
from gateway.app import create_app
from gateway.sandbox.suite import SandboxSuite
suite = SandboxSuite.build()
create_app(suite.settings(key="lp_test_import_weight"), transport=suite.transport())
print(",".join(sorted(m for m in sys.modules if m == "redis" or m.startswith("redis."))))
"""


# The modules ``gateway serve`` imports before reading its configuration, then those of the
# optional libraries and of the sandboxes that were imported with them.
IMPORT_SERVE = """
import sys
import gateway.app, gateway.cli, gateway.platforms.apple.client
optional = ("redis", "jwt", "cryptography")
loaded = [m for m in sys.modules if m.partition(".")[0] in optional]
flags = "gateway.sandbox.control"
loaded += [m for m in sys.modules if m.startswith("gateway.sandbox.") and m != flags]
print(",".join(sorted(loaded)))
"""


def _run(code: str) -> str:
    run = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_a_gateway_without_redis_does_not_import_the_redis_client() -> None:
    assert _run(BUILD_APP) == ""


def test_redis_and_the_apple_signing_libraries_wait_until_a_configuration_needs_them() -> None:
    assert _run(IMPORT_SERVE) == ""


async def test_the_redis_coordinator_is_imported_when_configured_and_its_state_probed() -> None:
    coordinator = open_coordinator("redis://127.0.0.1:9/0")  # not connected until used
    try:
        probe = degraded_probe(coordinator)
        assert type(coordinator).__name__ == "FallbackCoordinator"
        assert probe is not None and probe() is False
    finally:
        await coordinator.aclose()
    assert degraded_probe(InProcessCoordinator()) is None


def test_the_lazy_names_are_the_classes() -> None:
    from gateway import coordination
    from gateway.coordination.fallback import FallbackCoordinator
    from gateway.coordination.redis import RedisCoordinator

    assert coordination.FallbackCoordinator is FallbackCoordinator
    assert coordination.RedisCoordinator is RedisCoordinator
