#!/usr/bin/env bash
# Set up Forgeline and run the demo: the whole workflow on a bundled sample repository, scripted model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/forgeline demo "$@"
