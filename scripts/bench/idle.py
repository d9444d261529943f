#!/usr/bin/env python3
"""What idle captures cost: N registered databases captured by ONE process
(`cairn capture-many DB...`, hidden, each database on a thread of its own as
`cairn archive DB --follow --no-guardian` runs it), nothing written to them; prints the CPU the
process uses per second per database (summed over its threads from /proc/PID/task/*/schedstat,
nanosecond resolution, cross-checked with utime+stime), its resident size, threads,
context switches and inotify instances.

    swift build -c release --product cairn
    python3 scripts/bench/idle.py --cairn .build/release/cairn --count 50 --per-dir 5 --seconds 30
    python3 scripts/bench/idle.py --cairn .build/release/cairn --count 500 --perf   # + perf record

It asserts nothing (timings depend on the machine); --json writes the numbers.
"""
from __future__ import annotations

import argparse
import json
import re
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def make_databases(work: Path, count: int, per_dir: int) -> list[Path]:
    dbs = []
    for i in range(count):
        d = work / f"dir{i // per_dir:04d}"
        d.mkdir(parents=True, exist_ok=True)
        db = d / f"app{i:04d}.db"
        c = sqlite3.connect(db)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        c.executemany("INSERT INTO t(v) VALUES (?)", [("x" * 100,)] * 50)
        c.commit()
        c.close()
        dbs.append(db)
    return dbs


def init_all(cairn: str, dbs: list[Path], width: int = 8) -> None:
    pending = list(dbs)
    lock = threading.Lock()
    errors: list[str] = []

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                db = pending.pop()
            r = subprocess.run([cairn, "init", str(db)], capture_output=True, text=True)
            if r.returncode != 0:
                with lock:
                    errors.append(f"{db}: {r.stderr.strip()}")

    threads = [threading.Thread(target=worker) for _ in range(width)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit("cairn init failed:\n" + "\n".join(errors[:5]))


def tasks(pid: int) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return []


def cpu_ns(pid: int) -> int:
    total = 0
    for t in tasks(pid):
        try:
            total += int(open(f"/proc/{pid}/task/{t}/schedstat").read().split()[0])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            pass
    return total


def ticks(pid: int) -> int:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def context_switches(pid: int) -> int:
    n = 0
    for t in tasks(pid):
        try:
            for line in open(f"/proc/{pid}/task/{t}/status"):
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    n += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return n


def status(pid: int, key: str) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def inotify_instances(pid: int) -> int:
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify":
                n += 1
        except OSError:
            pass
    return n


def smaps_summary(pid: int) -> str:
    """Resident KiB by kind of mapping: thread stacks (8 MiB anonymous mappings with a guard
    page), other anonymous memory (heap, malloc arenas), files (the executable, libraries)."""
    kinds: dict[str, list[int]] = {}
    name, size = "", 0
    for line in open(f"/proc/{pid}/smaps"):
        m = re.match(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$", line)
        if m:
            name = m.group(1).strip()
            lo, hi = line.split()[0].split("-")
            size = (int(hi, 16) - int(lo, 16)) // 1024
            continue
        if line.startswith("Rss:"):
            rss = int(line.split()[1])
            if name.startswith("/"):
                kind = "files"
            elif name in ("[heap]",):
                kind = "heap"
            elif name == "" and size in (8192, 8188, 8184):
                kind = "stacks (8 MiB)"
            elif name == "" and size >= 65536 - 8 and size <= 65536:
                kind = "malloc arenas (64 MiB)"
            elif name == "":
                kind = "other anonymous"
            else:
                kind = name
            kinds.setdefault(kind, []).append(rss)
    lines = [f"  {k:28} {sum(v):8} KiB in {len(v)} mappings" for k, v in sorted(kinds.items(), key=lambda kv: -sum(kv[1]))]
    return "\n".join(lines) + "\n" + stacks_by_thread(pid)


def stacks_by_thread(pid: int) -> str:
    """Resident KiB of the stacks of blocked threads, by thread name (the stack pointer in
    /proc/PID/task/TID/syscall locates each thread's stack mapping)."""
    maps = []
    lo = hi = 0
    for line in open(f"/proc/{pid}/smaps"):
        m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) ", line)
        if m:
            lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        elif line.startswith("Rss:"):
            maps.append((lo, hi, int(line.split()[1])))
    groups: dict[str, list[int]] = {}
    for t in tasks(pid):
        try:
            comm = open(f"/proc/{pid}/task/{t}/comm").read().strip()
            fields = open(f"/proc/{pid}/task/{t}/syscall").read().split()
        except OSError:
            continue
        if len(fields) < 3 or fields[0] == "running":
            continue
        sp = int(fields[-2], 16)
        rss = next((r for a, b, r in maps if a <= sp < b), 0)
        groups.setdefault(comm, []).append(rss)
    return "\n".join(f"  stack of {k:19} {sum(v) // max(1, len(v)):6} KiB each, {len(v)} threads" for k, v in sorted(groups.items(), key=lambda kv: -sum(kv[1])))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", default=".build/release/cairn")
    ap.add_argument("--count", type=int, default=50, help="databases")
    ap.add_argument("--per-dir", type=int, default=5, help="databases per directory")
    ap.add_argument("--settle", type=float, default=10, help="seconds after every capture started before measuring")
    ap.add_argument("--seconds", type=float, default=30, help="seconds measured")
    ap.add_argument("--work", help="directory for the databases (default: a new temporary one, removed)")
    ap.add_argument("--perf", action="store_true", help="also `perf record -g` the measured window and print the top symbols")
    ap.add_argument("--json", help="write the numbers here")
    ap.add_argument("--smaps", action="store_true", help="also print where the resident memory is (/proc/PID/smaps by kind of mapping)")
    args = ap.parse_args()

    cairn = str(Path(args.cairn).resolve())
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="cairn-idle-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.time()
        dbs = make_databases(work, args.count, args.per_dir)
        init_all(cairn, dbs)
        print(f"{args.count} databases in {(args.count + args.per_dir - 1) // args.per_dir} directories registered in {time.time() - t0:.1f} s", flush=True)

        log = open(work / "capture.log", "w+")
        proc = subprocess.Popen([cairn, "capture-many"] + [str(d) for d in dbs], stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.time() + 120 + args.count * 0.5
        while True:
            log.seek(0)
            started = log.read().count("capturing ")
            if started >= args.count:
                break
            if proc.poll() is not None or time.time() > deadline:
                log.seek(0)
                sys.exit(f"capture-many: {started}/{args.count} started (exit {proc.poll()}):\n{log.read()[-3000:]}")
            time.sleep(0.2)
        time.sleep(args.settle)

        pid = proc.pid
        perf = None
        if args.perf:
            perf = subprocess.Popen(["perf", "record", "-g", "-F", "999", "-o", str(work / "perf.data"), "-p", str(pid), "--", "sleep", str(args.seconds)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ns0, tk0, cs0, w0 = cpu_ns(pid), ticks(pid), context_switches(pid), time.monotonic()
        time.sleep(args.seconds)
        ns1, tk1, cs1, w1 = cpu_ns(pid), ticks(pid), context_switches(pid), time.monotonic()
        if perf:
            perf.wait()
        wall = w1 - w0
        hz = os.sysconf("SC_CLK_TCK")
        result = {
            "databases": args.count,
            "directories": (args.count + args.per_dir - 1) // args.per_dir,
            "seconds": round(wall, 2),
            "cpu_percent_of_one_core": round(100 * (ns1 - ns0) / 1e9 / wall, 3),
            "cpu_us_per_s_per_db": round((ns1 - ns0) / 1e3 / wall / args.count, 2),
            "cpu_us_per_s_per_db_utime_stime": round((tk1 - tk0) / hz * 1e6 / wall / args.count, 1),
            "context_switches_per_s_per_db": round((cs1 - cs0) / wall / args.count, 2),
            "rss_mib": round(status(pid, "VmRSS") / 1024, 1),
            "rss_kib_per_db": round(status(pid, "VmRSS") / args.count, 1),
            "threads": status(pid, "Threads"),
            "inotify_instances": inotify_instances(pid),
        }
        if args.smaps:
            print(smaps_summary(pid))
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
        for k, v in result.items():
            print(f"{k:36} {v}")
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        if perf:
            r = subprocess.run(["perf", "report", "-i", str(work / "perf.data"), "--stdio", "--no-children", "--sort", "dso,symbol", "-g", "none", "--percent-limit", "0.7"],
                               capture_output=True, text=True)
            print("\n".join(line for line in r.stdout.splitlines() if line and not line.startswith("#"))[:6000])
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
