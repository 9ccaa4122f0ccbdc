#!/usr/bin/env bash
# Refresh constraints.txt: the exact versions CI installs (scripts/install.sh uses them).
#
# pyproject.toml keeps version *ranges* for users; constraints.txt pins what was tested, so a
# fresh CI machine installs the same versions as the last green run. Refresh it when a
# dependency is added or to move to newer releases, then run the whole test suite
# (bash .ci/run) before committing the new file:
#
#     bash scripts/refresh-constraints.sh && bash .ci/run
#
# `bash scripts/refresh-constraints.sh --from .venv` pins the versions of an existing
# environment instead (one the whole suite just passed in), without resolving anew.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--from" ]; then
    venv=$(cd "$2" && pwd)
    fresh=""
else
    venv=$(mktemp -d)/venv
    fresh=1
    PY=${PYTHON:-python3}
    "$PY" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q -e ".[all,test]"
fi
{
    echo "# Versions tested by CI (bash .ci/run); installed by scripts/install.sh."
    echo "# Made by scripts/refresh-constraints.sh on $(date -u +%Y-%m-%d) with $("$venv/bin/python" --version)."
    echo "# pyproject.toml keeps the ranges users install from; refresh this file with that script."
    "$venv/bin/python" -m pip freeze --exclude-editable | grep -v -e '^markerless' -e ' @ ' | sort -f
} > constraints.txt
if [ -n "$fresh" ]; then rm -rf "$(dirname "$venv")"; fi
echo "constraints.txt: $(grep -vc '^#' constraints.txt) pinned packages"
