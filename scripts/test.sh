#!/usr/bin/env bash
# Set up everything the suite needs, then lint, type-check and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
bash scripts/services.sh
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy
# Two workers: the suite is mostly subprocesses, sandboxes and servers waiting on each other.
.venv/bin/pytest -q -n 2 "$@"
