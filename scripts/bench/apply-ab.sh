#!/bin/bash
# Recovery apply rate of two Cairn releases side by side, rounds interleaved.
#   OLD=old-cairn OLD_DIR=dir NEW=new-cairn NEW_DIR=dir ROUNDS=5 BYTES=500600832 scripts/bench/apply-ab.sh
# Each DIR holds app.db protected by that release (init, a level-0 backup with id 1, then a
# workload captured by `archive --follow`, e.g. `workload.py write app.db --txns 5000 --rows 20`);
# BYTES is the page-equivalent bytes `restore --latest --json` reports as bytesApplied. Needs root
# (drops the page cache before each restore). Prints backup-alone and --latest seconds and
# apply MB/s = BYTES / (latest - backup alone) per round.
set -euo pipefail
old=${OLD:?OLD: old cairn binary} new=${NEW:-.build-bench/release/cairn}
old_dir=${OLD_DIR:?OLD_DIR: database captured by OLD} new_dir=${NEW_DIR:?NEW_DIR: database captured by NEW}
rounds=${ROUNDS:-5} bytes=${BYTES:?BYTES: bytesApplied of restore --latest}
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); python3 -c "print($e - $s)"; }
for r in $(seq 1 "$rounds"); do
  for v in old new; do
    if [ $v = old ]; then c=$old d=$old_dir; else c=$new d=$new_dir; fi
    rm -f "$d/b.db" "$d/l.db"; sync; echo 3 > /proc/sys/vm/drop_caches
    b=$(seconds "$c" restore "$d/app.db" --to "$d/b.db" --backup 1); sync; echo 3 > /proc/sys/vm/drop_caches
    l=$(seconds "$c" restore "$d/app.db" --to "$d/l.db" --latest)
    python3 -c "print('$v round $r: backup alone %.3f s, --latest %.3f s, apply %.0f MB/s' % ($b, $l, $bytes / 1e6 / ($l - $b)))"
  done
done
