#!/usr/bin/env python3
"""Live-page validation, page repair and the recovery advisor (issue 14), side by side with
their baselines (python3 stdlib only).

    python3 scripts/bench/integrity.py --cairn .build-bench/release/cairn --mib 1024 --runs 3

Makes a database of --mib MiB with ../shared/workload.py, registers it, starts
`cairn archive --follow`, takes a level-0 backup and writes --txns transactions after it (so
repairs need the backup plus the logs). Then, --runs rounds, the cases interleaved, the page
cache dropped (`sync; echo 3 > /proc/sys/vm/drop_caches`) before every cold timing:
  cat        `cat DB > /dev/null`                        (cold)
  validate   `cairn validate DB --live --json`           (cold; also the command's own
             time from its report, `validate-own`: process start-up, ~0.09 s cold, left out)
  restore    `cairn restore DB --to OUT`                 (cold; the full restore)
  repair10   `cairn repair pages DB --page P1,...,P10`, those 10 scattered leaf pages damaged first (cold)
  repair10-damaged  the same with `--damaged` (a full validation finds them first)
  advise     `cairn advise DB` on the healthy database   (warm; its read of the database file
             measured from /proc/PID/io)
Prints medians and ratios (validate vs cat: higher is better, cat_s / validate_s; repair10 vs
restore: repair_s / restore_s) as a Markdown table; --json writes every sample.
"""
from __future__ import annotations

import argparse, json, os, random, shutil, sqlite3, statistics, subprocess, sys, tempfile, time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORKLOAD = REPO.parent / "shared" / "workload.py"


def log(msg: str) -> None:
    print(f"[integrity-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def drop_caches() -> None:
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def run(cmd: list[str], ok=(0,)) -> float:
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr[-2000:]}")
    return time.perf_counter() - t


def read_bytes_of(cmd: list[str], path: str) -> tuple[float, int]:
    """Wall time of `cmd`, and how many bytes it read from any file (/proc/PID/io rchar,
    sampled while it runs): far below the database's size shows the database was not read."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rchar = 0
    while p.poll() is None:
        try:
            for line in Path(f"/proc/{p.pid}/io").read_text().splitlines():
                if line.startswith("rchar:"):
                    rchar = max(rchar, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.002)
    return time.perf_counter() - t, rchar


def leaf_pages(db: str) -> list[int]:
    c = sqlite3.connect(db)
    try:
        rows = c.execute("SELECT pageno FROM dbstat WHERE pagetype='leaf' ORDER BY pageno").fetchall()
    except sqlite3.OperationalError:
        rows = [(p,) for p in range(2, c.execute("PRAGMA page_count").fetchone()[0])]
    c.close()
    return [r[0] for r in rows]


def damage(db: str, pages: list[int], rng: random.Random, page_size: int = 4096) -> None:
    fd = os.open(db, os.O_RDWR)
    for p in pages:
        at = (p - 1) * page_size + rng.randrange(200, page_size - 64)
        old = os.pread(fd, 64, at)
        os.pwrite(fd, bytes(b ^ 0xFF for b in old), at)
    os.fsync(fd)
    os.close(fd)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cairn", default=str(REPO / ".build-bench/release/cairn"))
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--txns", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    cairn = os.path.abspath(a.cairn)
    work = Path(a.dir or tempfile.mkdtemp(prefix="cairn-integrity-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    db = str(work / "bench.db")
    out = str(work / "restored.db")
    rng = random.Random(14)
    # Everything in the work directory is this script's: start from nothing but the pristine
    # database, made once per size and copied for each run of the script.
    pristine = work / f"pristine-{a.mib}.db"
    for p in work.iterdir():
        if p != pristine:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    if not pristine.exists():
        log(f"making a {a.mib} MiB database in {work}")
        subprocess.run([sys.executable, str(WORKLOAD), "create", "--mib", str(a.mib), str(pristine)], check=True, stdout=subprocess.DEVNULL)
    shutil.copyfile(pristine, db)
    subprocess.run([cairn, "init", db], check=True, stdout=subprocess.DEVNULL)
    follow = subprocess.Popen([cairn, "archive", db, "--follow"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run([cairn, "backup", db])
        subprocess.run([sys.executable, str(WORKLOAD), "write", "--txns", str(a.txns), db], check=True, stdout=subprocess.DEVNULL)
        leaves = leaf_pages(db)
        has_advise = " advise " in subprocess.run([cairn, "--help"], capture_output=True, text=True).stdout
        samples: dict[str, list[float]] = {k: [] for k in ("cat", "validate", "validate-own", "restore", "repair10", "repair10-damaged", "advise")}
        advise_read = []
        for r in range(a.runs):
            log(f"round {r + 1} of {a.runs}")
            drop_caches(); samples["cat"].append(run(["sh", "-c", f"cat '{db}' > /dev/null"]))
            drop_caches()
            t = time.perf_counter()
            v = subprocess.run([cairn, "validate", db, "--live", "--json"], capture_output=True, text=True)
            samples["validate"].append(time.perf_counter() - t)
            if v.returncode != 0:
                raise SystemExit(f"validate exited {v.returncode}: {v.stdout[-2000:]} {v.stderr[-2000:]}")
            samples["validate-own"].append(json.loads(v.stdout)["seconds"])
            if os.path.exists(out): os.unlink(out)
            drop_caches(); samples["restore"].append(run([cairn, "restore", db, "--to", out]))
            os.unlink(out)
            chosen = rng.sample(leaves, 10)
            damage(db, chosen, rng)
            drop_caches(); samples["repair10"].append(run([cairn, "repair", "pages", db, "--page", ",".join(map(str, chosen))]))
            damage(db, rng.sample(leaves, 10), rng)
            drop_caches(); samples["repair10-damaged"].append(run([cairn, "repair", "pages", db, "--damaged"]))
            if has_advise:
                run([cairn, "advise", db], ok=(0, 10, 11))  # warm
                secs, read = read_bytes_of([cairn, "advise", db], db)
                samples["advise"].append(secs)
                advise_read.append(read)
        med = {k: statistics.median(v) for k, v in samples.items() if v}
        size = os.path.getsize(db)
        print(f"\n{a.mib} MiB database ({size / 2**20:.0f} MiB file), {a.txns} transactions after the level-0 backup, "
              f"median of {a.runs} runs, page cache dropped before each cold timing.\n")
        print("| case | median s | runs s | ratio | target |")
        print("|---|---:|---|---:|---|")
        def row(k, ratio="", target=""):
            print(f"| {k} | {med[k]:.3f} | {' / '.join(f'{x:.3f}' for x in samples[k])} | {ratio} | {target} |")
        row("cat")
        v = med["cat"] / med["validate"]
        row("validate", f"{v:.2f}× cat speed", f"≥ 0.8× {'PASS' if v >= 0.8 else 'MISS'}")
        vo = med["cat"] / med["validate-own"]
        row("validate-own", f"{vo:.2f}× cat speed", "(the command's own time: process start-up left out)")
        per_round = statistics.median(c / x for c, x in zip(samples["cat"], samples["validate"]))
        print(f"| validate / cat, median of the per-round ratios | | | {per_round:.2f}× | |")
        row("restore")
        rr = med["repair10"] / med["restore"]
        row("repair10", f"{rr:.3f}× restore", f"≤ 0.05× {'PASS' if rr <= 0.05 else 'MISS'}")
        row("repair10-damaged", f"{med['repair10-damaged'] / med['restore']:.3f}× restore", "(finds them first: a full validation)")
        if samples["advise"]:
            row("advise", f"read {max(advise_read) / 2**20:.1f} MiB in all", f"≤ 0.5 s {'PASS' if med['advise'] <= 0.5 else 'MISS'}")
        if a.json:
            Path(a.json).write_text(json.dumps({"samples": samples, "advise_rchar": advise_read, "mib": a.mib}, indent=1))
    finally:
        follow.terminate()
        follow.wait()


if __name__ == "__main__":
    main()
