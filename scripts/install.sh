#!/usr/bin/env bash
# One-command install: system libraries napari/Qt need (Debian/Ubuntu, when root or sudo is
# available), a virtual environment in .venv, and markerless with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="skip"; fi
    fi
    if [ "$SUDO" != skip ]; then
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get update -qq
        # Xvfb (virtual screen for GUI tests) and the X/GL libraries PyQt6 loads.
        $SUDO apt-get install -y -qq --no-install-recommends \
            xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-cursor0 \
            libxkbcommon-x11-0 libgl1-mesa-dri libegl1 libxcb-randr0 libxcb-render-util0 \
            libxcb-shape0 libxcb-image0 libfontconfig1 libdbus-1-3 libglib2.0-0 >/dev/null
    else
        echo "install.sh: not root and no sudo: skipping apt packages (GUI tests need Xvfb)" >&2
    fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# constraints.txt pins the versions CI tested (scripts/refresh-constraints.sh makes it);
# MARKERLESS_UNPINNED=1 installs the newest versions pyproject.toml allows instead.
if [ -f constraints.txt ] && [ -z "${MARKERLESS_UNPINNED:-}" ]; then
    .venv/bin/python -m pip install -q -c constraints.txt -e ".[all,test]"
else
    .venv/bin/python -m pip install -q -e ".[all,test]"
fi
# trackeval (HOTA) without its declared opencv-python, which would replace the headless
# OpenCV that 3D calibration uses (it only needs numpy, scipy and tabulate here)
if [ -f constraints.txt ] && [ -z "${MARKERLESS_UNPINNED:-}" ]; then
    .venv/bin/python -m pip install -q --no-deps -c constraints.txt trackeval
else
    .venv/bin/python -m pip install -q --no-deps trackeval
fi
echo "markerless installed in $(pwd)/.venv"
