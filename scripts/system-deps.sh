#!/usr/bin/env bash
# System packages the tests need (fonts for generated pictures, Chromium for browser tests).
# Installed from Debian's packages when missing and when we may (root); otherwise the tests
# that need them say what is missing.
set -euo pipefail
need=()
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: installing ${need[*]}" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "system-deps: missing ${need[*]} (install them with apt-get)" >&2
  fi
fi
