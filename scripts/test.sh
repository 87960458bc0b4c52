#!/usr/bin/env bash
# Set up and run the whole test suite (installs ffmpeg, xvfb, xdotool, chromium if missing), then ruff.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXTRAS=test
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
"$VENV/bin/ruff" check vidseg tests benchmarks samples
exec "$VENV/bin/python" -m pytest "$@"
