#!/usr/bin/env python3
"""Peak memory (max RSS) of Cairn's backup, restore and capture for databases of several sizes,
side by side: does memory grow with the database?

Usually started by `scripts/bench.sh memory` (which builds Cairn in release mode first):

    scripts/bench.sh memory --sizes 1024,8192 --runs 3
    python3 scripts/bench/memory.py --cairn .build-bench/release/cairn --db 1024=/work/membench/db1g.db

For each size: a copy of the database (made by `workload.py create --mib N` unless --db gives
one), `cairn init`, then per run (each command under `/usr/bin/time -f %M`):

  1. `cairn backup DB` (level 0; no capture runs, so it captures in-process first)
  2. `cairn archive DB --follow` started, `workload.py write` changes ~1 % of the pages
  3. `cairn backup DB --level 1` while capture runs (change tracking from the persisted page map)
  4. capture stopped (SIGINT); its max RSS is the capture row
  5. `cairn restore DB --to OUT` (the level 0 + level 1 + the logs, to the latest SCN), and
     `cairn restore DB --to OUT --backup L0` (the level 0 alone)

The restored database (latest) is compared with the source by `workload.py digest` (first run;
sizes up to --verify-mib only, as the digest of a large database takes minutes).
Prints a Markdown table (median and max of the runs per row) and writes the samples as JSON.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (the benchmark driver's helpers)

MIB = 1024 * 1024


def timed(argv: list[str], logdir: Path) -> tuple[float, int, str]:
    return bench.timed_steps([argv], logdir)


def follow(cairn: str, db: Path, logdir: Path, rss_file: Path) -> bench.Daemon:
    argv = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), cairn, "archive", str(db), "--follow"]
    d = bench.Daemon(argv, logdir / "follow.log")
    d.wait_for("capturing", bench.FOLLOW_TIMEOUT)
    time.sleep(bench.FOLLOW_SETTLE)
    return d


def measure_size(args, mib: int, src: Path, work: Path) -> dict:
    cairn = args.cairn
    db = work / f"mem{mib}.db"
    out = work / f"mem{mib}-restored.db"
    logdir = work / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    bench.log(f"{mib} MiB: copying {src} (untimed)")
    bench.fresh_db(src, db)
    db_bytes = db.stat().st_size
    txns = max(20, int(db_bytes / 4096 / 100 * 0.9))
    rows: dict[str, list[dict]] = {k: [] for k in ("backup-l0", "backup-l1", "capture", "restore-latest", "restore-l0")}
    verified = None
    for r in range(args.runs):
        bench.rm(*bench.cairn_repo_paths(db))
        bench.run_untimed([cairn, "init", str(db)])
        s, rss, o = timed([cairn, "backup", str(db), "--json"], logdir)
        l0 = json.loads(o)
        rows["backup-l0"].append({"seconds": s, "rss_kib": rss})
        bench.log(f"{mib} MiB run {r + 1}: backup L0 {s:.1f}s {rss / 1024:.1f} MiB")
        rss_file = logdir / "follow.rss"
        bench.rm(rss_file)
        d = follow(cairn, db, logdir, rss_file)
        try:
            bench.run_untimed([sys.executable, str(bench.WORKLOAD), "write", str(db), "--txns", str(txns),
                               "--seed", str(100 + r)], capture=True)
            time.sleep(0.5)
            s, rss, o = timed([cairn, "backup", str(db), "--level", "1", "--json"], logdir)
            l1 = json.loads(o)
            rows["backup-l1"].append({"seconds": s, "rss_kib": rss, "pagesStored": l1.get("pagesStored"),
                                      "pageCount": l1.get("pageCount"), "level": l1.get("level")})
            bench.log(f"{mib} MiB run {r + 1}: backup L1 {s:.1f}s {rss / 1024:.1f} MiB "
                      f"(level {l1.get('level')}, {l1.get('pagesStored')} of {l1.get('pageCount')} pages)")
        finally:
            bench.stop_follow(d, traced=True)
        rows["capture"].append({"rss_kib": int(rss_file.read_text().split()[-1])})
        bench.log(f"{mib} MiB run {r + 1}: capture (archive --follow) {rows['capture'][-1]['rss_kib'] / 1024:.1f} MiB")
        for key, extra in (("restore-latest", []), ("restore-l0", ["--backup", str(l0["id"])])):
            bench.rm_db(out)
            s, rss, _ = timed([cairn, "restore", str(db), "--to", str(out), *extra], logdir)
            rows[key].append({"seconds": s, "rss_kib": rss})
            bench.log(f"{mib} MiB run {r + 1}: {key} {s:.1f}s {rss / 1024:.1f} MiB")
            if key == "restore-latest" and verified is None and mib <= args.verify_mib:
                same = bench.run_untimed([sys.executable, str(bench.WORKLOAD), "digest", str(out)], capture=True) == \
                    bench.run_untimed([sys.executable, str(bench.WORKLOAD), "digest", str(db)], capture=True)
                verified = "restored database's digest equals the source's" if same else "DIGEST DIFFERS"
                bench.log(f"{mib} MiB: {verified}")
                if not same:
                    raise SystemExit(f"{mib} MiB: the restored database differs from the source")
        bench.rm_db(out)
    bench.rm_db(db)
    bench.rm(*bench.cairn_repo_paths(db))
    return {"mib": mib, "db_bytes": db_bytes, "txns": txns, "rows": rows, "verified": verified}


LABELS = {
    "backup-l0": "`cairn backup` (level 0)",
    "backup-l1": "`cairn backup --level 1` (~1 % of pages changed, capture running)",
    "capture": "`cairn archive --follow` (capture, over the workload and the level 1)",
    "restore-latest": "`cairn restore --to` (level 0 + level 1 + logs, latest)",
    "restore-l0": "`cairn restore --to --backup L0` (level 0 alone)",
}


def render(results: list[dict], meta: dict) -> str:
    def med(xs): return statistics.median(xs) if xs else None
    head = "| Command | " + " | ".join(f"{r['db_bytes'] / MIB:.0f} MiB: max RSS MiB (median / max)" for r in results) \
        + " | " + " | ".join(f"{r['db_bytes'] / MIB:.0f} MiB: s (median)" for r in results) + " |"
    lines = [head, "| --- |" + " ---: |" * (2 * len(results))]
    for key, label in LABELS.items():
        cells = []
        for r in results:
            rss = [x["rss_kib"] / 1024 for x in r["rows"][key]]
            cells.append(f"{med(rss):.1f} / {max(rss):.1f}" if rss else "—")
        for r in results:
            secs = [x["seconds"] for x in r["rows"][key] if "seconds" in x]
            cells.append(f"{med(secs):.2f}" if secs else "—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", default=str(bench.REPO / ".build-bench" / "release" / "cairn"))
    ap.add_argument("--sizes", default="1024,8192", help="database sizes in MiB (default 1024,8192)")
    ap.add_argument("--db", action="append", default=[], help="MIB=PATH: use this database for that size (copied first)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workdir", default="/tmp/cairn-memory-bench")
    ap.add_argument("--json", help="write the samples here")
    ap.add_argument("--verify-mib", type=int, default=2048, help="compare digests for sizes up to this (default 2048)")
    args = ap.parse_args()
    args.cairn = str(Path(args.cairn).resolve())
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    given = {int(k): Path(v) for k, v in (x.split("=", 1) for x in args.db)}
    sizes = [int(x) for x in args.sizes.split(",")]
    commit = subprocess.run(["git", "-C", str(bench.REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(bench.REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip() != ""
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": commit + (" (modified working tree)" if dirty else ""), "cairn": args.cairn,
            "runs": args.runs, "nproc": os.cpu_count(), "kernel": platform.release(),
            "command": " ".join(sys.argv)}
    results = []
    for mib in sizes:
        src = given.get(mib)
        if src is None:
            src = work / f"source-{mib}.db"
            if not src.exists():
                bench.log(f"creating a {mib} MiB database (untimed)")
                bench.run_untimed([sys.executable, str(bench.WORKLOAD), "create", str(src), "--mib", str(mib)])
        results.append(measure_size(args, mib, src, work))
    table = render(results, meta)
    print(f"Date {meta['date']}, commit `{meta['commit']}`, {args.runs} runs per size, binary {args.cairn}\n")
    print(table)
    for r in results:
        print(f"\n{r['db_bytes'] / MIB:.0f} MiB: level 1 after {r['txns']} transactions; {r['verified'] or 'not verified'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
