"""Shared test setup: no test may dial anything but loopback."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from gateway.sandbox.suite import SandboxSuite

_real_connect = socket.socket.connect


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return isinstance(address, str | bytes)  # unix sockets stay on this machine


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if not _is_loopback(address):
        raise RuntimeError(f"tests must not reach the network (tried {address!r})")
    _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_real_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(scope="session")
def suite() -> SandboxSuite:
    """All three sandboxes, seeded once; tests reset their knobs and logs."""
    return SandboxSuite.build()
