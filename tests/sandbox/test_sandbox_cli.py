"""``gateway sandbox --throttle-regain-minutes``: the wait an injected Meta throttle names."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import uvicorn

from gateway import cli
from gateway.platforms.base import Platform
from gateway.sandbox.suite import SandboxSuite
from tests.sandbox.wire import suite_http


def run_sandbox(monkeypatch: pytest.MonkeyPatch, *flags: str) -> tuple[int, list[SandboxSuite]]:
    """``gateway sandbox`` with ``flags``, without serving: the suites it built."""
    built: list[SandboxSuite] = []
    build = SandboxSuite.build

    def recording_build(**options: Any) -> SandboxSuite:
        built.append(build(**options))
        return built[-1]

    monkeypatch.setattr(SandboxSuite, "build", recording_build)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    return cli.main(["sandbox", "--large-adsets", "5", *flags]), built


async def test_the_regain_time_of_an_injected_throttle_is_a_flag(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status, [suite] = run_sandbox(monkeypatch, "--throttle-regain-minutes", "2")
    assert status == 0
    suite.controls[Platform.META_ADS].fail_next(1, "throttle")
    async with suite_http(suite) as h:
        account = h.account(Platform.META_ADS)
        response = await h.meta(f"/{account.external_id}/adsets")
    usage = orjson.loads(response.headers["x-business-use-case-usage"])
    digits = account.external_id.removeprefix("act_")
    assert list(usage) == [digits]
    assert usage[digits][0]["estimated_time_to_regain_access"] == 2


def test_the_default_regain_time_is_five_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    _, [suite] = run_sandbox(monkeypatch)
    assert {c.throttle_regain_minutes for c in suite.controls.values()} == {5}


@pytest.mark.parametrize("value", ["-1", "1441"])
def test_an_unusable_regain_time_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    status, built = run_sandbox(monkeypatch, "--throttle-regain-minutes", value)
    assert (status, built) == (2, [])
    assert "regain" in capsys.readouterr().err
