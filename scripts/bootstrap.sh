#!/usr/bin/env bash
# Sourced by scripts/run.sh and scripts/test.sh: makes sure `uv` exists and the project's
# environment matches uv.lock. Needs only Python 3.11 and pip on the machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if command -v uv >/dev/null 2>&1; then
  UV="$(command -v uv)"
elif [ -x "$ROOT/.tools/bin/uv" ]; then
  UV="$ROOT/.tools/bin/uv"
else
  echo "bootstrap: installing uv into .tools/ (one time)" >&2
  python3 -m venv "$ROOT/.tools"
  "$ROOT/.tools/bin/pip" install --quiet --disable-pip-version-check uv
  UV="$ROOT/.tools/bin/uv"
fi
export UV
"$UV" sync --frozen --quiet
