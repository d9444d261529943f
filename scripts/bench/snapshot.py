#!/usr/bin/env python3
"""Snapshots (issue 16): `cairn snapshot create` against a compressed level-0 backup, and
`cairn snapshot restore` against `cp`, side by side in one run (python3 stdlib only).

    python3 scripts/bench/snapshot.py --cairn .build-bench/release/cairn --mib 1024 --runs 3 --out /tmp/snapshot.md

The database is a --mib MiB one from ../shared/workload.py (reused from --pristine when that
file exists). Every timing starts with the page cache dropped (`sync; echo 3 >
/proc/sys/vm/drop_caches`). Cairn's repository and control file are removed and `cairn init`
run (untimed) before each `backup` and `snapshot create` timing, so each is a first level-0
backup / first snapshot into an empty repository. The cases alternate order round by round.
The snapshot restored in round 1 is checked against the source with `cairn digest`.
"""
from __future__ import annotations

import argparse, json, os, shutil, statistics, subprocess, sys, time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORKLOAD = REPO.parent / "shared" / "workload.py"


def run(args: list[str]) -> None:
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(args)}\n{r.stderr}")


def drop_caches() -> None:
    subprocess.run(["sync"])
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        pass


def timed(args: list[str]) -> float:
    drop_caches()
    t = time.perf_counter()
    run(args)
    return time.perf_counter() - t


def fresh(cairn: str, db: Path) -> None:
    for p in [db.parent / (db.name + ".cairn"), db.parent / ("." + db.name + ".cairn-control")]:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    run([cairn, "init", str(db)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cairn", required=True)
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default="/var/tmp/cairn-snapshot-bench")
    ap.add_argument("--pristine", default="/var/tmp/cairn-timetravel/pristine-1024.db")
    ap.add_argument("--out")
    a = ap.parse_args()
    cairn = str(Path(a.cairn).resolve())
    work = Path(a.dir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = work / "bench.db"
    if Path(a.pristine).exists() and a.mib == 1024:
        shutil.copyfile(a.pristine, db)
    else:
        run([sys.executable, str(WORKLOAD), "create", str(db), "--mib", str(a.mib)])
    run(["sqlite3", str(db), "PRAGMA journal_mode=WAL; PRAGMA wal_checkpoint(TRUNCATE);"])
    size = db.stat().st_size
    samples: dict[str, list[float]] = {"backup": [], "snapshot": [], "restore": [], "cp": [], "cpsync": [], "checked": []}
    snap = work / "kept.csnap"
    for r in range(a.runs):
        order = ["backup", "snapshot"] if r % 2 == 0 else ["snapshot", "backup"]
        for case in order:
            fresh(cairn, db)
            if case == "backup":
                samples["backup"].append(timed([cairn, "backup", str(db)]))
            else:
                samples["snapshot"].append(timed([cairn, "snapshot", "create", str(db), "--name", "bench"]))
                shutil.copyfile(work / "bench.db.cairn" / "snapshots" / "bench.csnap", snap)
        order = ["restore", "cp", "cpsync", "checked"]
        if r % 2 == 1:
            order.reverse()
        for case in order:
            out = work / f"out-{case}.db"
            for suffix in ["", "-wal", "-shm"]:
                Path(str(out) + suffix).unlink(missing_ok=True)
            if case == "restore":
                samples["restore"].append(timed([cairn, "snapshot", "restore", str(snap), "--to", str(out)]))
            elif case == "checked":
                samples["checked"].append(timed([cairn, "snapshot", "restore", str(snap), "--to", str(out), "--integrity-check"]))
            elif case == "cp":
                samples["cp"].append(timed(["cp", str(db), str(out)]))
            else:
                samples["cpsync"].append(timed(["sh", "-c", 'cp "$0" "$1" && sync "$1"', str(db), str(out)]))
        if r == 0:
            d = [subprocess.run([cairn, "digest", p, "--json"], capture_output=True, text=True).stdout for p in [str(db), str(work / "out-restore.db")]]
            if json.loads(d[0])["digest"] != json.loads(d[1])["digest"]:
                sys.exit("the restored snapshot differs from the source")
    med = {k: statistics.median(v) for k, v in samples.items()}
    snap_bytes = snap.stat().st_size
    lines = [
        f"Database {size / (1 << 20):.0f} MiB (snapshot file {snap_bytes / (1 << 20):.0f} MiB); median of {a.runs} runs, page cache dropped before each timing, cases alternated round by round.",
        "",
        "| Case | Median | Min – max | Ratio | Target | Verdict |",
        "|---|---|---|---|---|---|",
        f"| `cairn backup` (level 0, compressed) | {med['backup']:.2f} s | {min(samples['backup']):.2f} – {max(samples['backup']):.2f} s | | | |",
        f"| `cairn snapshot create` | {med['snapshot']:.2f} s | {min(samples['snapshot']):.2f} – {max(samples['snapshot']):.2f} s | {med['snapshot'] / med['backup']:.2f}× backup | ≤ 1.0× | {'PASS' if med['snapshot'] <= med['backup'] else 'MISS'} |",
        f"| `cp` | {med['cp']:.2f} s | {min(samples['cp']):.2f} – {max(samples['cp']):.2f} s | | | |",
        f"| `cp` + `sync` of the copy (the durability a restore gives) | {med['cpsync']:.2f} s | {min(samples['cpsync']):.2f} – {max(samples['cpsync']):.2f} s | | | |",
        f"| `cairn snapshot restore --to` | {med['restore']:.2f} s | {min(samples['restore']):.2f} – {max(samples['restore']):.2f} s | {med['restore'] / med['cp']:.2f}× cp | ≤ 1.2× | {'PASS' if med['restore'] <= 1.2 * med['cp'] else 'MISS'} |",
        f"| the same against `cp` + `sync` | | | {med['restore'] / med['cpsync']:.2f}× | (≤ 1.2×) | {'PASS' if med['restore'] <= 1.2 * med['cpsync'] else 'MISS'} |",
        f"| `cairn snapshot restore --to --integrity-check` | {med['checked']:.2f} s | {min(samples['checked']):.2f} – {max(samples['checked']):.2f} s | {med['checked'] / med['cp']:.2f}× cp | | |",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        Path(a.out).write_text(text)


if __name__ == "__main__":
    main()
