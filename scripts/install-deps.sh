#!/usr/bin/env bash
# Installs the system packages Cairn builds and tests with (Debian/Ubuntu, as root), if missing.
set -euo pipefail
need=()
for pkg in libsqlite3-dev libzstd-dev libxxhash-dev sqlite3 zstd pkg-config python3; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then export PATH=/opt/swift/usr/bin:$PATH; else
    echo "swift is not installed: install Swift 6.1 or newer (https://www.swift.org/install/linux/) and run again" >&2; exit 1
  fi
fi
