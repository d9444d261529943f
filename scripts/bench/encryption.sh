#!/usr/bin/env bash
# Encryption throughput in a release build (cairn-microbench encryption): a buffer through
# EncryptingWriter and DecryptingReader beside plain file writes and reads of the same bytes
# (files on /dev/shm), random 4 KiB reads, and AES-256-GCM against ChaCha20-Poly1305 on the
# same blocks. Prints MB/s.
#
#   bash scripts/bench/encryption.sh [MiB]     default 256
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product cairn-microbench --scratch-path .build-bench >/dev/null
exec .build-bench/release/cairn-microbench encryption "${1:-256}"
