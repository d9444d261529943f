#!/usr/bin/env bash
# Installs what is missing, builds Cairn in release mode, and runs the quickstart:
# a sample database is protected, written to by another process, backed up, destroyed,
# restored, and the restore is proven equal to the source.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
swift build -c release --product cairn
exec .build/release/cairn quickstart "$@"
