#!/usr/bin/env bash
# The README's run command: set up, migrate, and start the whole system on embedded defaults.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
"$UV" run aics db upgrade
exec "$UV" run aics serve "$@"
