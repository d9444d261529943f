#!/usr/bin/env bash
# Installs the system packages Cairn builds and tests with (Debian/Ubuntu, as root), if missing.
set -euo pipefail
need=()
for pkg in libsqlite3-dev libzstd-dev libxxhash-dev sqlite3 zstd pkg-config python3 curl chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# moto's S3 server: the S3 client's integration tests run against it on loopback. Debian's own
# Python refuses pip installs outside a virtual environment (PEP 668), hence the second try.
if ! command -v moto_server >/dev/null 2>&1; then
  echo "installing: moto[server] (pip)"
  if ! python3 -m pip --version >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq python3-pip >/dev/null
  fi
  pip_install=(python3 -m pip install --quiet --disable-pip-version-check 'moto[server]')
  "${pip_install[@]}" >/dev/null 2>&1 || "${pip_install[@]}" --break-system-packages >/dev/null \
    || { echo "could not install moto: run pip install 'moto[server]' and run again" >&2; exit 1; }
  hash -r
fi
if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then export PATH=/opt/swift/usr/bin:$PATH; else
    echo "swift is not installed: install Swift 6.1 or newer (https://www.swift.org/install/linux/) and run again" >&2; exit 1
  fi
fi
