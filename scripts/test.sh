#!/usr/bin/env bash
# The whole test suite: lint, format check, strict typing, then pytest.
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
echo "== ruff" && .venv/bin/ruff check gateway tests bench
echo "== ruff format" && .venv/bin/ruff format --check gateway tests bench
echo "== mypy" && .venv/bin/mypy
echo "== pytest" && .venv/bin/pytest "$@"
