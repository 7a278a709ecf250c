"""What the image is built from: constraints.txt pins every runtime dependency within the
ranges pyproject.toml allows, and the Dockerfile keeps its operating promises."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    found: dict[str, str] = {}
    for line in lines:
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned exactly: {line}"
            found[canonicalize_name(name)] = version
    return found


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pinned = pins()
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not in constraints.txt"
        assert requirement.specifier.contains(pinned[name]), f"{name}=={pinned[name]} vs {spec}"


def test_dockerfile_runs_unprivileged_with_a_readiness_check_and_a_configuration() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    instructions = [line for line in dockerfile.splitlines() if not line.startswith("#")]
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    assert any("--constraint constraints.txt" in line for line in instructions)
    (healthcheck,) = [line for line in instructions if line.startswith("HEALTHCHECK ")]
    assert "/readyz" in healthcheck
    (cmd,) = [line for line in instructions if line.startswith("CMD ")]
    # the command serves a configuration: no sandbox fallback in the image
    assert '"serve"' in cmd
    assert "--sandbox" not in cmd
    assert '"demo"' not in cmd
