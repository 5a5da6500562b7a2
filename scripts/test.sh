#!/usr/bin/env bash
# The README's test command: set up, lint, type-check, and run the bounded test set.
# Extra arguments go to pytest (e.g. `-m slow` for the load and fault tests).
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
bash scripts/system-deps.sh chromium

echo "== ruff" >&2
"$UV" run ruff check --no-cache src tests
"$UV" run ruff format --check src tests scripts bench
echo "== mypy" >&2
"$UV" run mypy
echo "== import layers (lint-imports)" >&2
"$UV" run lint-imports --no-cache
echo "== pytest" >&2
set +e
"$UV" run pytest -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure here" >&2
  exit 1
fi
exit "$rc"
