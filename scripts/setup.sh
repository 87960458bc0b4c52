#!/usr/bin/env bash
# Set up vidseg on a fresh Debian machine: system libraries, a virtualenv, the package.
# Sourced by demo.sh and test.sh.  VENV (default .venv) picks the environment;
# EXTRAS=test adds the test tools and the system programs the tests use (ffmpeg, chromium).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing Debian packages: $*" >&2
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
# opencv-python needs libGL and GLib at import time.
ldconfig -p 2>/dev/null | grep -q 'libGL.so.1' || missing+=(libgl1)
ldconfig -p 2>/dev/null | grep -q 'libglib-2.0.so.0' || missing+=(libglib2.0-0)
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ "${EXTRAS:-}" = "test" ]; then
    command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
    # The web page's tests drive Debian's Chromium with Playwright (no browser download).
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    # The preview window's tests: a virtual X server, keys, Xlib (ctypes).
    command -v Xvfb >/dev/null || missing+=(xvfb)
    command -v xdotool >/dev/null || missing+=(xdotool)
    ldconfig -p 2>/dev/null | grep -q 'libX11.so.6' || missing+=(libx11-6)
fi
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
# A second run installs nothing: the stamp records what is installed (this source
# tree, its pyproject.toml, the extras); a change to any of them reinstalls.
stamp="$VENV/.vidseg-setup"
want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1) $ROOT"
have_extras=""
if [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "$want" ] \
    && "$VENV/bin/python" -c 'import vidseg' 2>/dev/null; then
    have_extras="installed:$(sed -n 2p "$stamp")"
fi
if [ "$have_extras" != "installed:${EXTRAS:-}" ] && [ "$have_extras" != "installed:test" ]; then
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
    spec="$ROOT"
    [ -n "${EXTRAS:-}" ] && spec="$ROOT[$EXTRAS]"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$spec"
    printf '%s\n%s\n' "$want" "${EXTRAS:-}" >"$stamp"
fi
