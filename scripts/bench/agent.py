#!/usr/bin/env python3
"""`cairn agent` at scale (issue 13): one agent protecting many small databases (python3 stdlib only).

    python3 scripts/bench/agent.py --cairn .build-bench/release/cairn --count 500 --written 50 \
        --dirs 10 --out /tmp/agent.md --json /tmp/agent.json

Each run makes fresh databases (COUNT small WAL databases: --paths of them named by `path:`
entries, the rest spread over --dirs directories named by `dir:` entries), starts the agent,
waits (polling /api/status) until every database is capturing and has its level-0 backup, then:
idle CPU/RSS/threads/fds/inotify in windows (no HTTP request meanwhile); GET latency of
/metrics, /healthz, /api/status and / (from a client process of its own, as a scraper); WRITTEN writer threads (one connection each) committing
one INSERT every 20-50 ms while CPU/RSS are sampled and the endpoints timed again; SIGTERM
(exit 0 expected); commit-to-captured lag of every written transaction = its record's
commitMicros in the archived .clog minus the writer's clock right after COMMIT returned.
"""
from __future__ import annotations

import argparse, http.client, json, os, random, re, shutil, signal, socket, sqlite3, statistics
import subprocess, sys, tempfile, threading, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import CLOG_TXN, read_clog, nearest_rank  # noqa: E402  (the .clog reader of the main bench)

REPO = Path(__file__).resolve().parents[2]
CLK = os.sysconf("SC_CLK_TCK")
ENDPOINTS = ["/metrics", "/healthz", "/api/status", "/"]


def log(msg: str) -> None:
    print(f"[agent-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- /proc readings

def cpu_seconds(pid: int) -> float:
    """utime+stime of the whole process (threads that ended included), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def status_kib(pid: int) -> dict:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM", "Threads"):
            out[k] = int(v.split()[0])
    return out


def fd_census(pid: int) -> dict:
    """Open fds, inotify instances, inotify watches and the inodes they watch."""
    fds = inotify = watches = 0
    inodes: set[int] = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        fds += 1
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:inotify":
                continue
            inotify += 1
            for line in Path(f"/proc/{pid}/fdinfo/{fd}").read_text().splitlines():
                m = re.match(r"inotify wd:\S+ ino:([0-9a-f]+)", line)
                if m:
                    watches += 1
                    inodes.add(int(m.group(1), 16))
        except OSError:
            pass
    return {"fds": fds, "inotify_instances": inotify, "inotify_watches": watches, "inodes": inodes}


def user_inotify_instances(exclude: int) -> int:
    """inotify instances held by this user's other processes (they count against the same limit)."""
    n = 0
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == exclude:
            continue
        try:
            n += sum(1 for fd in (p / "fd").iterdir() if os.readlink(fd) == "anon_inode:inotify")
        except OSError:
            pass
    return n


def sysctl(name: str) -> int:
    return int(Path(f"/proc/sys/fs/inotify/{name}").read_text())


# ---------------------------------------------------------------- HTTP

def get(port: int, path: str, timeout: float = 30) -> tuple[int, bytes, float]:
    t0 = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        return r.status, body, time.perf_counter() - t0
    finally:
        c.close()


def status(port: int) -> dict:
    return json.loads(get(port, "/api/status")[1])


def time_endpoints(port: int, n: int, raw: dict) -> dict:
    """n GETs of each endpoint, made by a client process of its own (as a scraper is: the writer
    threads of this process would otherwise hold the client up on Python's interpreter lock);
    every time (s) is also appended to raw[endpoint]."""
    done = subprocess.run([sys.executable, __file__, "--client", str(port), str(n)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"the client exited {done.returncode}")
    out = {}
    for ep, got in json.loads(done.stdout).items():
        times = got["seconds"]
        raw.setdefault(ep, []).extend(times)
        out[ep] = {"median_ms": 1000 * statistics.median(times), "p99_ms": 1000 * nearest_rank(times, 0.99),
                   "max_ms": 1000 * max(times), "bytes": got["bytes"], "codes": got["codes"]}
    return out


def client(port: int, n: int) -> None:
    """The client process of `time_endpoints`: n GETs of each endpoint, one after another;
    prints {endpoint: {seconds, bytes, codes}} as JSON, or the failure on stderr (exit 1)."""
    out = {}
    for ep in ENDPOINTS:
        times, size, codes = [], 0, set()
        for i in range(n):
            try:
                code, body, t = get(port, ep)
            except (OSError, http.client.HTTPException) as e:
                sys.exit(f"GET {ep} #{i + 1}: {e!r}")
            times.append(t)
            size, codes = len(body), codes | {code}
        out[ep] = {"seconds": times, "bytes": size, "codes": sorted(codes)}
    print(json.dumps(out))


# ---------------------------------------------------------------- one run

def make_databases(work: Path, a) -> tuple[list[Path], int]:
    """COUNT small WAL databases and the agent's configuration (cairn.yml); returns (databases, HTTP port)."""
    dbs = []
    for i in range(a.count):
        d = work / ("single" if i < a.paths else f"d{i % a.dirs:03d}")
        d.mkdir(parents=True, exist_ok=True)
        p = d / f"db{i:04d}.db"
        c = sqlite3.connect(p, isolation_level=None)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        c.execute("BEGIN")
        c.executemany("INSERT INTO t(v) VALUES(?)", [(f"row {i}-{k} " + "x" * 20,) for k in range(a.rows)])
        c.execute("COMMIT")
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        c.close()
        dbs.append(p)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    lines = [f"http:\n  listen: 127.0.0.1:{port}", "log:\n  level: warning", "databases:"]
    lines += [f"  - path: {p}" for p in dbs[:a.paths]]
    lines += [f"  - dir: {work / f'd{k:03d}'}\n    pattern: \"*.db\"" for k in range(min(a.dirs, a.count - a.paths))]
    (work / "cairn.yml").write_text("\n".join(lines) + "\n")
    return dbs, port


class NotReady(Exception): pass


def wait_ready(port: int, proc: subprocess.Popen, count: int, deadline_s: float, progress: list) -> tuple[float, dict]:
    """Polls /api/status until every database is capturing with a level-0 backup; appends
    (seconds, databases, capturing, with level-0, RSS MiB, CPU s) to `progress` every ~15 s."""
    t0, last, noted = time.monotonic(), {}, -15.0
    while time.monotonic() - t0 < deadline_s:
        if proc.poll() is not None:
            raise NotReady(f"the agent exited {proc.returncode} while starting")
        try:
            snap = status(port)
            dbs = snap["databases"]
            last = {"databases": len(dbs), "capturing": sum(d["state"] == "capturing" for d in dbs),
                    "with_level0": sum("0" in d.get("lastBackupAt", {}) for d in dbs), "problems": snap.get("problems", [])}
            el = time.monotonic() - t0
            if el - noted >= 15:
                noted = el
                progress.append([round(el), last["databases"], last["capturing"], last["with_level0"],
                                 round(status_kib(proc.pid)["VmRSS"] / 1024), cpu_seconds(proc.pid)])
            if last["databases"] == count and last["capturing"] == count and last["with_level0"] == count:
                return el, snap
        except (OSError, ValueError, http.client.HTTPException):
            pass
        time.sleep(1)
    raise NotReady(f"not ready after {deadline_s:.0f} s: {last}")


def proc_windows(pid: int, seconds: float, windows: int) -> list[dict]:
    out = []
    for _ in range(windows):
        try:
            c0, t0 = cpu_seconds(pid), time.monotonic()
            time.sleep(seconds / windows)
            c1, t1 = cpu_seconds(pid), time.monotonic()
            s = status_kib(pid)
        except (OSError, KeyError, IndexError):  # the process is gone
            break
        out.append({"cpu_pct": 100 * (c1 - c0) / (t1 - t0), "rss_mib": s["VmRSS"] / 1024,
                    "hwm_mib": s["VmHWM"] / 1024, "threads": s["Threads"]})
    return out


def writer(db: Path, stop: threading.Event, done: list[float], errors: list[str]) -> None:
    c = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA busy_timeout=5000")
    rnd = random.Random(str(db))
    try:
        while not stop.is_set():
            c.execute("BEGIN IMMEDIATE")
            c.execute("INSERT INTO t(v) VALUES(?)", (f"w {len(done)}",))
            c.execute("COMMIT")
            done.append(time.time())
            time.sleep(rnd.uniform(0.020, 0.050))
    except sqlite3.Error as e:
        errors.append(f"{db.name}: {e}")
    finally:
        c.close()


def stable_scns(port: int, paths: set[str], deadline_s: float = 60) -> dict[str, int]:
    """capturedScn of each path once two snapshots a second apart agree."""
    prev, t0 = None, time.monotonic()
    while time.monotonic() - t0 < deadline_s:
        cur = {d["path"]: d["capturedScn"] for d in status(port)["databases"] if d["path"] in paths}
        if cur == prev:
            return cur
        prev = cur
        time.sleep(1)
    raise RuntimeError("capturedScn of the written databases did not settle")


def captured_micros(cairn: str, db: Path, lo: int, hi: int) -> tuple[dict[int, int], list[int]]:
    """commitMicros of SCNs lo..hi from the archived logs `cairn list logs` names, and the missing SCNs."""
    got: dict[int, int] = {}
    logs = json.loads(subprocess.run([cairn, "list", "logs", str(db), "--json"], check=True,
                                     capture_output=True, text=True).stdout)
    for lg in logs:
        if lg["highScn"] < lo or lg["lowScn"] > hi:
            continue
        path = Path(f"{db}.cairn") / "archive" / f"log-i{lg['incarnation']:04d}-s{lg['sequence']:08d}.clog"
        for magic, scn, micros, _ in read_clog(path):
            if lo <= scn <= hi and magic == CLOG_TXN:
                got[scn] = micros
    return got, [s for s in range(lo, hi + 1) if s not in got]


def stop_agent(proc: subprocess.Popen, r: dict) -> None:
    """SIGTERM: the agent captures and archives everything committed, then exits 0."""
    t = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        r["exit_code"] = proc.wait(timeout=300)
    except subprocess.TimeoutExpired:
        r["exit_code"] = "no exit 300 s after SIGTERM (killed)"
    r["stop_s"] = time.monotonic() - t


def one_run(a, n: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"cairn-agent-{n}-", dir=a.workdir))
    r: dict = {"run": n, "workdir": str(work), "startup_progress": []}
    t = time.monotonic()
    dbs, port = make_databases(work, a)
    r["create_s"] = time.monotonic() - t
    log(f"run {n}: {a.count} databases created in {r['create_s']:.1f} s under {work}")
    logf = open(work / "agent.log", "wb")
    r.update(inotify_other_processes_of_user=user_inotify_instances(exclude=os.getpid()),
             max_user_instances=sysctl("max_user_instances"), max_user_watches=sysctl("max_user_watches"))
    proc = subprocess.Popen([a.cairn, "agent", "--config", str(work / "cairn.yml")], stdout=logf,
                            stderr=subprocess.STDOUT, start_new_session=True)
    written = [dbs[i * a.count // a.written] for i in range(a.written)]
    done: dict[Path, list[float]] = {p: [] for p in written}
    base: dict[str, int] = {}  # capturedScn of each written database before writing
    try:
        try:
            r["startup_s"], snap = wait_ready(port, proc, a.count, a.start_timeout, r["startup_progress"])
            log(f"run {n}: all {a.count} capturing with a level-0 backup after {r['startup_s']:.1f} s")
        except NotReady as e:
            r["failed"] = str(e)
            snap = status(port) if proc.poll() is None else {"databases": []}
        census = fd_census(proc.pid) if proc.poll() is None else {"inodes": set()}
        watched = census.pop("inodes")
        r.update(census, dbs_with_file_watch=sum(is_watched(p, watched) for p in dbs),
                 agent_problems=snap.get("problems", []),
                 db_problems=sorted({q for d in snap["databases"] for q in d.get("problems", [])})[:10])
        if "failed" in r:
            failed(r, proc, r["failed"])
        else:
            measure(a, r, proc, port, written, done, base)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        logf.close()
    return finish(a, r, work, written, done, base if "failed" not in r else {}, watched)


def alive(proc: subprocess.Popen, phase: str) -> None:
    if proc.poll() is not None:
        raise RuntimeError(f"the agent exited with status {proc.returncode} while {phase}")


def measure(a, r: dict, proc: subprocess.Popen, port: int, written: list[Path], done: dict, base: dict) -> None:
    """Idle, /metrics latency, written; a failure (the agent dying, a request refused) is recorded in r."""
    stop, phase, t_start = threading.Event(), "idle", time.monotonic()
    try:
        # Idle: no HTTP request while the windows run.
        r["idle"] = proc_windows(proc.pid, a.idle_seconds, a.windows)
        alive(proc, phase)
        r["idle_cpu_pct"] = statistics.median(w["cpu_pct"] for w in r["idle"])
        r["idle_rss_mib"] = statistics.median(w["rss_mib"] for w in r["idle"])
        r["idle_rss_growth_mib_per_min"] = (r["idle"][-1]["rss_mib"] - r["idle"][0]["rss_mib"]) / (
            a.idle_seconds * (a.windows - 1) / a.windows / 60) if a.windows > 1 else 0.0
        log(f"run {r['run']}: idle CPU {r['idle_cpu_pct']:.2f} % of a core, RSS {r['idle_rss_mib']:.1f} MiB")
        phase = "timing the endpoints while idle"
        r["http_idle"] = time_endpoints(port, a.requests, r.setdefault("get_seconds_idle", {}))
        # Written: one writer thread per database; the k-th commit is SCN base+k.
        phase = "writing"
        base.update(stable_scns(port, {str(p) for p in written}))
        errors: list[str] = []
        threads = [threading.Thread(target=writer, args=(p, stop, done[p], errors), daemon=True) for p in written]
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        for th in threads:
            th.start()
        samples: list[dict] = []
        sampler = threading.Thread(target=lambda: samples.extend(proc_windows(proc.pid, a.write_seconds, a.windows)))
        sampler.start()
        time.sleep(a.write_seconds / 3)
        r["http_writing"] = time_endpoints(port, a.requests, r.setdefault("get_seconds_writing", {}))
        sampler.join()
        alive(proc, phase)
        stop.set()
        for th in threads:
            th.join()
        r.update(write_cpu_pct_overall=100 * (cpu_seconds(proc.pid) - c0) / (time.monotonic() - t0),
                 writing=samples, writing_rss_mib=max(w["rss_mib"] for w in samples), writer_errors=errors,
                 txns=sum(len(v) for v in done.values()), txn_per_s=sum(len(v) for v in done.values()) / a.write_seconds,
                 census_writing={k: v for k, v in fd_census(proc.pid).items() if k != "inodes"},
                 hwm_mib=status_kib(proc.pid)["VmHWM"] / 1024)
        phase = "stopping"
        stop_agent(proc, r)
    except (OSError, RuntimeError, ValueError, http.client.HTTPException) as e:
        stop.set()
        failed(r, proc, f"{phase}, {time.monotonic() - t_start:.0f} s after ready: {e}")


def failed(r: dict, proc: subprocess.Popen, why: str) -> None:
    """Records why the run failed and how the agent is; a live agent is measured for 10 s, then stopped."""
    try:
        rc = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        rc = None
    r["failed"] = f"{why}; the agent " + (f"had exited with status {rc}" if rc is not None else "was still running")
    log(f"run {r['run']}: {r['failed']}")
    if rc is None:
        r["stuck"] = proc_windows(proc.pid, 10, 2)
        stop_agent(proc, r)
    else:
        r["exit_code"] = rc


def is_watched(db: Path, watched: set) -> bool:
    """Whether inotify watches the database file or its directory (the engines' hub watches directories)."""
    try:
        return db.stat().st_ino in watched or db.parent.stat().st_ino in watched
    except OSError:
        return False


def finish(a, r: dict, work: Path, written: list[Path], done: dict, base: dict, watched: set) -> dict:
    """Reads the agent's log and the archived logs: commit-to-captured lag of every written txn."""
    lines = (work / "agent.log").read_text(errors="replace").splitlines()
    r.update(log_lines=len(lines), log_inotify=[l for l in lines if "inotify" in l.lower()][:5], log_head=lines[:8])
    lags, lag_watched, lag_polled, missing = [], [], [], 0
    for p in written if base else []:
        lo, k = base[str(p)], len(done[p])
        got, miss = captured_micros(a.cairn, p, lo + 1, lo + k)
        missing += len(miss)
        for i, t_done in enumerate(done[p]):
            if lo + 1 + i in got:
                lag = got[lo + 1 + i] / 1e6 - t_done
                lags.append(lag)
                (lag_watched if is_watched(p, watched) else lag_polled).append(lag)
    r["missing_txns"] = missing
    for name, xs in (("lag", lags), ("lag_watched", lag_watched), ("lag_polled", lag_polled)):
        r[f"{name}_n"] = len(xs)
        if xs:
            r.update({f"{name}_p50_ms": 1000 * nearest_rank(xs, 0.5), f"{name}_p99_ms": 1000 * nearest_rank(xs, 0.99),
                      f"{name}_max_ms": 1000 * max(xs)})
    log(f"run {r['run']}: {r.get('txns', 0)} txns, lag p50 {r.get('lag_p50_ms', 0):.1f} ms p99 "
        f"{r.get('lag_p99_ms', 0):.1f} ms, missing {missing}, exit {r.get('exit_code')}")
    if not a.keep and "failed" not in r:
        shutil.rmtree(work, ignore_errors=True)
    return r


# ---------------------------------------------------------------- report

TARGETS = [  # (label, key, limit, unit)
    ("Idle CPU (% of one core), nothing written", "idle_cpu_pct", 2.0, "%"),
    ("RSS while idle (MiB)", "idle_rss_mib", 256, "MiB"),
    ("Peak RSS, VmHWM over the run (MiB)", "hwm_mib", 256, "MiB"),
    ("Capture lag p99, written databases (ms)", "lag_p99_ms", 100, "ms"),
    ("/metrics p99 while idle (ms)", "metrics_idle_p99_ms", 100, "ms"),
    ("/metrics p99 while writing (ms)", "metrics_writing_p99_ms", 100, "ms"),
]


def summarize(runs: list[dict]) -> list[dict]:
    for r in runs:
        for phase in ("idle", "writing"):
            if f"http_{phase}" in r:
                r[f"metrics_{phase}_p99_ms"] = r[f"http_{phase}"]["/metrics"]["p99_ms"]
    sound = all("failed" not in r and r["missing_txns"] == 0 and r.get("exit_code") == 0 for r in runs)
    rows = []
    for label, key, limit, unit in TARGETS:
        xs = [r[key] for r in runs if key in r]
        m = statistics.median(xs) if xs else None
        rows.append({"target": label, "key": key, "limit": limit, "median": m, "best": min(xs) if xs else None,
                     "runs_measured": len(xs), "pass": m is not None and m <= limit and sound})
    return rows


def fmt(x, f="{:.1f}") -> str:
    return "–" if x is None else f.format(x)


def med(runs: list[dict], f):
    xs = [f(r) for r in runs]
    return statistics.median(xs) if xs else None


PER_RUN = [  # (label, function of a run)
    ("ready: all capturing + level-0", lambda r: fmt(r.get("startup_s"), "{:.1f} s") if "startup_s" in r else "**no**"),
    ("failed", lambda r: "**yes**" if "failed" in r else "no"),
    ("idle CPU % of a core", lambda r: fmt(r.get("idle_cpu_pct"), "{:.2f}")),
    ("idle RSS MiB (growth MiB/min)", lambda r: f"{fmt(r.get('idle_rss_mib'))} ({fmt(r.get('idle_rss_growth_mib_per_min'))})"),
    ("VmHWM MiB", lambda r: fmt(r.get("hwm_mib"))),
    ("threads / open fds", lambda r: f"{r['idle'][-1]['threads'] if 'idle' in r else '–'} / {r.get('fds', '–')}"),
    ("inotify instances / watches", lambda r: f"{r.get('inotify_instances', '–')} / {r.get('inotify_watches', '–')}"),
    ("databases watched (the file or its directory)", lambda r: str(r.get("dbs_with_file_watch", "–"))),
    ("writing: CPU % / txn/s", lambda r: f"{fmt(r.get('write_cpu_pct_overall'))} / {fmt(r.get('txn_per_s'), '{:.0f}')}"),
    ("lag p50 / p99 / max ms", lambda r: " / ".join(fmt(r.get(f"lag_{q}_ms")) for q in ("p50", "p99", "max"))),
    ("lag p99 ms: watched / polled dbs", lambda r: " / ".join(
        f"{fmt(r.get(f'lag_{k}_p99_ms'), '{:.0f}')} (n={r.get(f'lag_{k}_n', 0)})" for k in ("watched", "polled"))),
    ("missing txns", lambda r: str(r.get("missing_txns", "–"))),
    ("exit code / stop s", lambda r: f"{r.get('exit_code', '–')} / {fmt(r.get('stop_s'))}"),
]


def render(a, runs: list[dict], rows: list[dict], info: dict) -> str:
    r0 = runs[-1]
    L = ["## Agent at scale (issue 13)", "",
         f"Measured on commit `{info['commit']}` (branch `{info['branch']}`), "
         f"{info['date']}, {info['machine']}. The machine has {os.cpu_count()} cores shared with other work, "
         "so CPU and latency figures are noisy; medians over the runs, each run on fresh databases.", "",
         "```", info["command"], "```", "",
         f"One agent, {a.count} databases of {a.rows} rows ({a.paths} named by `path:`, the rest by "
         f"{a.dirs} `dir:` entries), {a.written} of them written by one thread each (one INSERT every "
         f"20–50 ms, {a.write_seconds:.0f} s); idle measured over {a.idle_seconds:.0f} s in {a.windows} windows, "
         f"{a.requests} GETs per endpoint, one after another from a client process of its own; {len(runs)} run(s).", "",
         "| Target | Limit | Measured (median) | Best | |", "|---|---:|---:|---:|---|"]
    for row in rows:
        verdict = "PASS" if row["pass"] else "FAIL" if row["median"] is None or row["median"] > row["limit"] else "FAIL (a run failed)"
        L.append(f"| {row['target']} | ≤ {row['limit']:g} | {fmt(row['median'], '{:.2f}')} | "
                 f"{fmt(row['best'], '{:.2f}')} | {verdict} |")
    L += ["", "| Per run | " + " | ".join(str(r["run"]) for r in runs) + " |", "|---|" + "---:|" * len(runs)]
    L += [f"| {label} | " + " | ".join(f(r) for r in runs) + " |" for label, f in PER_RUN]
    timed = [r for r in runs if "http_idle" in r]
    if timed:
        L += ["", "| Endpoint (median of runs) | idle median ms | idle p99 ms | writing median ms | writing p99 ms | body bytes |",
              "|---|---:|---:|---:|---:|---:|"]
        for ep in ENDPOINTS:
            cells = [fmt(med(timed, lambda r: r[f"http_{ph}"][ep][k])) for ph in ("idle", "writing") for k in ("median_ms", "p99_ms")]
            L.append(f"| `{ep}` | " + " | ".join(cells) + f" | {timed[-1]['http_idle'][ep]['bytes']} |")
    for r in runs:
        if "failed" in r:
            L += ["", f"Run {r['run']} failed: {r['failed']}. Start-up progress (s since start, databases, capturing, "
                  "with a level-0 backup, agent RSS MiB, agent CPU s):", "", "```",
                  *(" ".join(map(str, row)) for row in r["startup_progress"]), "```"]
            for ph in ("idle", "writing"):
                for ep, xs in r.get(f"get_seconds_{ph}", {}).items():
                    if xs and f"http_{ph}" not in r:
                        L.append(f"GET `{ep}` ({ph}) before the failure: {len(xs)} answered, median "
                                 f"{1000 * statistics.median(xs):.0f} ms, max {1000 * max(xs):.0f} ms.")
            if "stuck" in r:
                L.append(f"Then: CPU {r['stuck'][-1]['cpu_pct']:.0f} % of a core, RSS {r['stuck'][-1]['rss_mib']:.0f} MiB, "
                         f"{r['stuck'][-1]['threads']} threads.")
    L += ["", f"inotify: `max_user_instances` = {r0['max_user_instances']}, `max_user_watches` = {r0['max_user_watches']}; "
          f"this user's other processes held {r0['inotify_other_processes_of_user']} instance(s) when the agent started; "
          f"the agent held {r0.get('inotify_instances')} instance(s) with {r0.get('inotify_watches')} watch(es) for {a.count} "
          f"databases (the engines open 2 per database: {2 * a.count} wanted). Lines of the agent's log mentioning inotify: "
          f"{len(r0['log_inotify'])}; agent problems in /api/status: {r0.get('agent_problems') or 'none'}; "
          f"database problems: {r0.get('db_problems') or 'none'}. The agent's log (level warning) had "
          f"{r0['log_lines']} line(s)" + (":" if r0["log_head"] else "."), ""]
    if r0["log_head"]:
        L += ["```", *r0["log_head"], "```", ""]
    return "\n".join(L) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", default=str(REPO / ".build-bench/release/cairn"))
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--written", type=int, default=50)
    ap.add_argument("--dirs", type=int, default=10, help="directories named by `dir:` entries")
    ap.add_argument("--paths", type=int, default=5, help="databases named by `path:` entries")
    ap.add_argument("--rows", type=int, default=300)
    ap.add_argument("--idle-seconds", type=float, default=60)
    ap.add_argument("--write-seconds", type=float, default=60)
    ap.add_argument("--windows", type=int, default=6, help="measurement windows per phase")
    ap.add_argument("--requests", type=int, default=30, help="GETs per endpoint per phase")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--start-timeout", type=float, default=900)
    ap.add_argument("--workdir", default=None, help="parent of the per-run directories (default: /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep each run's databases and agent log")
    ap.add_argument("--out", help="markdown section to write")
    ap.add_argument("--json", help="raw numbers to write")
    a = ap.parse_args()
    a.cairn = str(Path(a.cairn).resolve())
    git = lambda *x: subprocess.run(["git", "-C", str(REPO), *x], capture_output=True, text=True).stdout.strip()
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    info = {"commit": git("rev-parse", "--short", "HEAD"), "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "date": time.strftime("%Y-%m-%d"), "machine": f"{cpu.group(1) if cpu else '?'}, Linux {os.uname().release}",
            "command": "python3 scripts/bench/agent.py " + " ".join(sys.argv[1:]),
            "ulimit_n": __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)}
    runs = []
    for n in range(1, a.runs + 1):
        runs.append(one_run(a, n))
        if "failed" in runs[-1]:
            log(f"run {n} failed; its databases and agent.log stay in {runs[-1]['workdir']}; no further runs")
            break
    rows = summarize(runs)
    text = render(a, runs, rows, info)
    print(text)
    if a.out:
        Path(a.out).write_text(text)
    if a.json:
        Path(a.json).write_text(json.dumps({"info": info, "args": vars(a), "targets": rows, "runs": runs}, indent=1, default=str))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--client"]:
        client(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
