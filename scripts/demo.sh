#!/usr/bin/env bash
# Set up and run the main job on the built-in clip (a pan over a real photo):
# writes vidseg-demo.mp4 (H.264) and vidseg-demo.csv, prints the cluster areas.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
exec "$VENV/bin/vidseg" demo --overwrite "$@"
