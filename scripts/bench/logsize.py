#!/usr/bin/env python3
"""Bytes of redo stored per transaction: Cairn's archived logs against the WAL the same
transactions wrote and against what Litestream stores for them, side by side in one run.

Usually started by `scripts/bench.sh logsize` (which builds Cairn in release mode first):

    scripts/bench.sh logsize --db /work/membench/db1g.db --txns 2000 --rows 1,10 --runs 3
    python3 scripts/bench/logsize.py --cairn .build-bench/release/cairn --db DB

For each `--rows` value and run, on fresh copies of the database, `workload.py write --txns N
--rows R` runs three times:

  1. alone, while this script holds a read transaction open, so no checkpoint can restart the
     WAL: the WAL file then holds every frame the transactions wrote (its size is the figure);
  2. with `cairn archive --follow` capturing (after `cairn init` and a level-0 backup); stopped
     with SIGINT, which archives everything: the figure is the archived logs' total size;
  3. with `litestream replicate` to a file replica, started and left to finish its initial
     snapshot first: the figure is the level-0 LTX files written for the workload (every file
     of `ltx/0` but the snapshot's, txid 1). Litestream ships what was committed each sync
     interval (1 s) as one file, each page once, LZ4-compressed; its compactions into higher
     levels copy the same pages again and are not counted.

Prints a Markdown table (medians of the runs) and writes the samples as JSON.
"""
from __future__ import annotations

import argparse
import json
import shutil
import signal
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (the benchmark driver's helpers)


def workload(db: Path, txns: int, rows: int) -> list[str]:
    return [sys.executable, str(bench.WORKLOAD), "write", str(db), "--txns", str(txns), "--rows", str(rows)]


def wal_bytes(src: Path, work: Path, txns: int, rows: int) -> int:
    db = work / "plain.db"
    bench.fresh_db(src, db)
    reader = sqlite3.connect(str(db), isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
    try:
        bench.run_untimed(workload(db, txns, rows))
        return (Path(str(db) + "-wal")).stat().st_size - 32
    finally:
        reader.close()
        bench.rm_db(db)


def cairn_bytes(ctx, src: Path, work: Path, txns: int, rows: int) -> int:
    db = work / "cairn.db"
    bench.fresh_db(src, db)
    if ctx.key_file:
        bench.run_untimed([ctx.cairn, "init", str(db), "--encryption-key-file", ctx.key_file])
        bench.cairn_json(ctx, "backup", str(db))
    else:
        bench.cairn_protect(ctx, db)
    follow = bench.start_follow(ctx, db, "logsize-follow.log")
    bench.run_untimed(workload(db, txns, rows))
    scn, _ = bench.stop_follow(follow)
    if scn < txns:
        raise bench.CommandFailed(f"captured only {scn} of {txns} transactions")
    logs = bench.cairn_json(ctx, "list", "logs", str(db))
    total = sum(int(l["bytes"]) for l in logs)
    for p in bench.cairn_repo_paths(db):
        bench.rm(p)
    bench.rm_db(db)
    return total


def litestream_bytes(ctx, src: Path, work: Path, txns: int, rows: int) -> int:
    db, cfg, rep = work / "ls.db", work / "litestream.yml", work / "ls-replica"
    bench.fresh_db(src, db)
    bench.rm(rep)
    bench.write_litestream_config(cfg, db, rep)
    d = bench.Daemon([ctx.litestream, "replicate", "-config", str(cfg)], ctx.logdir / "logsize-litestream.log")
    d.wait_for("snapshot complete", bench.LITESTREAM_TIMEOUT)
    bench.run_untimed(workload(db, txns, rows))
    time.sleep(3)  # its sync interval is 1 s: let it ship the last transactions
    d.stop(signal.SIGTERM, timeout=120)
    level0 = rep / "ltx" / "0"
    shipped = sum(f.stat().st_size for f in level0.glob("*.ltx") if not f.name.startswith("0000000000000001-"))
    bench.rm(rep)
    bench.rm_db(db)
    return shipped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", required=True)
    ap.add_argument("--db", required=True, help="the database to copy for every run")
    ap.add_argument("--txns", type=int, default=2000)
    ap.add_argument("--rows", default="1,10")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default="/tmp/cairn-logsize")
    ap.add_argument("--json", help="write the samples here")
    ap.add_argument("--encryption-key-file", help="register Cairn's copies with encryption on (`cairn init --encryption-key-file`): "
                    "its logs are then encrypted")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    ls = bench.find_litestream() if hasattr(bench, "find_litestream") else None
    ctx = type("Ctx", (), {})()
    ctx.cairn, ctx.logdir, ctx.key_file, ctx.args = a.cairn, work, a.encryption_key_file, a
    ctx.litestream = ls or "litestream"
    src = Path(a.db)
    results = {}
    for rows in [int(x) for x in a.rows.split(",")]:
        samples = {"wal": [], "cairn": [], "litestream": []}
        for r in range(a.runs):
            samples["wal"].append(wal_bytes(src, work, a.txns, rows))
            samples["cairn"].append(cairn_bytes(ctx, src, work, a.txns, rows))
            # Without a litestream binary the Cairn ÷ Litestream column says n/a.
            if shutil.which(ctx.litestream):
                samples["litestream"].append(litestream_bytes(ctx, src, work, a.txns, rows))
            bench.log(f"rows {rows} run {r + 1}: " + ", ".join(f"{k} {v[-1] / a.txns:.0f} B/txn" for k, v in samples.items() if v))
        results[rows] = samples
    print(f"`workload.py write --txns {a.txns} --rows R` on copies of {src} "
          f"({src.stat().st_size / 2**20:.0f} MiB); medians of {a.runs} runs.\n")
    print("| Rows per txn | WAL B/txn | Cairn archived logs B/txn | Litestream replica B/txn "
          "| Cairn ÷ WAL (target ≤ 0.05) | Cairn ÷ Litestream (target ≤ 0.2) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for rows, s in results.items():
        w, c, l = (statistics.median(s[k]) / a.txns if s[k] else float("nan") for k in ("wal", "cairn", "litestream"))
        print(f"| {rows} | {w:.0f} | {c:.0f} | {l:.0f} | {c / w:.3f} | {c / l:.3f} |")
    if a.json:
        Path(a.json).write_text(json.dumps({"txns": a.txns, "db": str(src), "samples": results}, indent=2))


if __name__ == "__main__":
    main()
