#!/usr/bin/env bash
# Client-side encryption (issue 12): local backup and restore of one database, encrypted
# against unencrypted, with a release build. Prints the median of RUNS runs of each.
#   swift build -c release --product cairn --scratch-path .build-bench
#   python3 ../shared/workload.py create --mib 256 --seed 1 /tmp/enc-bench/base.db
#   bash scripts/bench-encryption.sh /tmp/enc-bench/base.db [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
CAIRN="$PWD/.build-bench/release/cairn"
BASE=$(realpath "$1")
RUNS=${2:-5}
WORK=$(dirname "$BASE")/enc-bench-run
rm -rf "$WORK" && mkdir -p "$WORK"
openssl rand -hex 32 > "$WORK/master.key" && chmod 600 "$WORK/master.key"
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for kind in plain encrypted; do
  cp "$BASE" "$WORK/$kind.db"
  extra=()
  [ "$kind" = encrypted ] && extra=(--encryption-key-file "$WORK/master.key")
  "$CAIRN" init "$WORK/$kind.db" --noarchivelog "${extra[@]}" > /dev/null
done
for i in $(seq "$RUNS"); do
  for kind in plain encrypted; do   # interleaved, so both see the same machine state
    sync; t0=$(now); "$CAIRN" backup "$WORK/$kind.db" > /dev/null; t1=$(now)
    echo "$t1 - $t0" | bc >> "$WORK/$kind.backup"
    rm -f "$WORK/$kind.restored"
    sync; t0=$(now); "$CAIRN" restore "$WORK/$kind.db" --to "$WORK/$kind.restored" > /dev/null; t1=$(now)
    echo "$t1 - $t0" | bc >> "$WORK/$kind.restore"
  done
done
for op in backup restore; do
  p=$(median < "$WORK/plain.$op"); e=$(median < "$WORK/encrypted.$op")
  printf "%-8s plain %6.3f s  encrypted %6.3f s  %+5.1f %%   (runs: plain %s; encrypted %s)\n" "$op" "$p" "$e" \
    "$(echo "($e - $p) * 100 / $p" | bc -l)" "$(tr '\n' ' ' < "$WORK/plain.$op")" "$(tr '\n' ' ' < "$WORK/encrypted.$op")"
done
du -sb "$WORK/plain.db.cairn/backups" "$WORK/encrypted.db.cairn/backups"
