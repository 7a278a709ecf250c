"""Log capture through the production handler (JSON formatter, redacting filter)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from gateway.observability.logs import build_handler, configured_secrets
from gateway.sandbox.suite import SandboxSuite
from tests.gateway.conftest import KEY, gateway

__all__ = ["CapturedLogs", "gateway", "logs"]


class CapturedLogs:
    """Every line the handler wrote, raw and parsed."""

    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    @property
    def text(self) -> str:
        return self._stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.text.splitlines() if line]

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("event") == event]


@pytest.fixture
def logs(suite: SandboxSuite) -> Iterator[CapturedLogs]:
    """The root logger writes through the gateway's handler at INFO while the test runs."""
    stream = io.StringIO()
    handler = build_handler(stream, secrets=configured_secrets(suite.settings(key=KEY)))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield CapturedLogs(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
