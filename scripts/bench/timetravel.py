#!/usr/bin/env python3
"""Time travel (issue 15): flashback against restore in place, a query as of a point, and the
history commands, side by side in one run (python3 stdlib only).

    python3 scripts/bench/timetravel.py --cairn .build-bench/release/cairn --mib 1024 --runs 3 \
        --out /tmp/timetravel.md --json /tmp/timetravel.json

Two databases, made once per invocation in --dir (the --mib MiB one from ../shared/workload.py
is kept there as pristine-MIB.db and reused by later invocations):

  big   a --mib MiB database, `cairn init`, `cairn archive --follow` running, a level-0 backup,
        --before transactions (`workload.py write`); the captured SCN is the TARGET (its content
        digest and the rows about to change are recorded); then another process updates
        `orders` rows picked at random so that about --percent % of the database's pages change,
        in --change-txns transactions; once capture has them all, it is stopped (SIGINT: exit 0,
        everything archived) and the directory (database, WAL, control files, repository) is
        kept as the pristine state.
  hist  a small database: a table `items` of 1,000 rows (5 columns) and an empty `ev`,
        registered, a level-0 backup, capture running; another process commits --txns
        transactions of one INSERT into `ev` each (autocommit), then one UPDATE of the 1,000
        rows of `items` (SCN --txns + 1); once captured, capture is stopped.

Then --runs rounds; before every timing the page cache is dropped (`sync; echo 3 >
/proc/sys/vm/drop_caches`; with no permission, POSIX_FADV_DONTNEED on every file of the
directory), and every cairn process runs under `/usr/bin/time -f %M` (peak RSS):

  query      `cairn query DB --as-of TARGET "SELECT * FROM orders WHERE id = K"` (K a row that
             changed after TARGET, a literal; its old values checked), cold, then warm
  flashback  the pristine state copied back (untimed), `cairn flashback DB --scn TARGET --json`
  restore    the pristine state copied back (untimed), `cairn restore DB --in-place --scn TARGET --json`
             (flashback first in odd rounds, restore first in even ones; in round 1 the database
             after each is checked against the target's digest)
  log-list   `cairn log list HIST --json` (cold; the entries counted in round 1), text, and --json warm
  log-show   `cairn log show HIST --scn N --json` of the 1,000-row UPDATE (cold; its 1,000
             updated rows counted in round 1), then warm

Prints a Markdown section (--out writes it) with medians, min and max, the flashback /
restore ratio and each target's verdict; --json writes every sample.
"""
from __future__ import annotations

import argparse, json, math, os, random, re, shutil, sqlite3, statistics, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import CommandFailed, Daemon, stop_follow  # noqa: E402  (`archive --follow` as the main bench runs it)

REPO = Path(__file__).resolve().parents[2]
WORKLOAD = REPO.parent / "shared" / "workload.py"
MIB = 1 << 20

TARGETS = {  # case: (label, limit, unit)
    "ratio": ("flashback / restore --in-place", 0.1, "×"),
    "query": ("query --as-of, primary-key lookup, cold: time", 0.5, "s"),
    "query-rss": ("query --as-of, primary-key lookup, cold: peak RSS", 64, "MiB"),
    "log-list-json": ("log list --json over the history", 2.0, "s"),
    "log-show-json": ("log show --scn N --json, 1,000 rows updated", 0.5, "s"),
}


def log(msg: str) -> None:
    print(f"[timetravel-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- page cache, processes

def drop_caches(*dirs: Path) -> str:
    """Empties the page cache: drop_caches when permitted, else POSIX_FADV_DONTNEED on every
    file under `dirs`. Returns which way was used."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return "drop_caches"
    except OSError:
        for d in dirs:
            for root, _, files in os.walk(d):
                for name in files:
                    try:
                        fd = os.open(os.path.join(root, name), os.O_RDONLY)
                    except OSError:
                        continue
                    try:
                        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    finally:
                        os.close(fd)
        return "fadvise"


def timed(cmd: list[str], out: Path | None = None, ok=(0,)) -> dict:
    """Runs `cmd` under /usr/bin/time -f %M; wall seconds from spawn to exit, peak RSS (MiB) and
    its standard output (kept in `out` when given, else returned when short)."""
    fd, name = tempfile.mkstemp(prefix="tt-rss-")
    os.close(fd)
    rss_file = Path(name)
    sink = open(out, "wb") if out else subprocess.PIPE
    try:
        t = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *cmd], stdout=sink,
                           stderr=subprocess.PIPE)
        secs = time.perf_counter() - t
        if p.returncode not in ok:
            raise CommandFailed(f"{' '.join(cmd)} exited {p.returncode}: "
                                f"{(p.stdout or b'')[-2000:].decode(errors='replace')} {p.stderr[-2000:].decode(errors='replace')}")
        rss = int(rss_file.read_text().split()[-1]) / 1024
    finally:
        if out:
            sink.close()
        rss_file.unlink(missing_ok=True)
    return {"s": secs, "rss_mib": rss, "stdout": None if out else p.stdout.decode(errors="replace")}


def cairn_json(cairn: str, *args: str) -> dict:
    p = subprocess.run([cairn, *args, "--json"], capture_output=True, text=True)
    if p.returncode != 0:
        raise CommandFailed(f"cairn {' '.join(args)} --json exited {p.returncode}: {p.stdout[-1500:]} {p.stderr[-1500:]}")
    return json.loads(p.stdout)


def untimed(cmd: list[str]) -> str:
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise CommandFailed(f"{' '.join(cmd)} exited {p.returncode}: {p.stdout[-1500:]} {p.stderr[-1500:]}")
    return p.stdout


def start_follow(cairn: str, db: Path, logf: Path) -> Daemon:
    d = Daemon([cairn, "archive", str(db), "--follow"], logf)
    d.wait_for("capturing", 60)
    time.sleep(1)
    if d.p.poll() is not None:
        d.stop()
        raise CommandFailed(f"cairn archive --follow exited {d.p.returncode}: {d.output[-1500:]}")
    return d


def wait_captured(cairn: str, db: Path, scn: int, timeout: float = 600) -> float:
    """Polls `cairn status --json` until capturedScn reaches `scn` (no lag left); returns the wait."""
    t0 = time.monotonic()
    while True:
        got = cairn_json(cairn, "status", str(db))["capturedScn"]
        if got >= scn:
            if got > scn:
                raise CommandFailed(f"{db}: captured SCN {got}, expected exactly {scn}")
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise CommandFailed(f"{db}: captured SCN {got} after {timeout:.0f} s, expected {scn}")
        time.sleep(0.2)


def digest(cairn: str, db: Path) -> str:
    return untimed([cairn, "digest", str(db)]).split()[0]


def copy_state(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True)


# ---------------------------------------------------------------- the two databases

def make_big(a, cairn: str, work: Path) -> dict:
    """The pristine state of the big database (see the docstring); returns what the rounds need."""
    pristine_db = work / f"pristine-{a.mib}.db"
    if not pristine_db.exists():
        log(f"making a {a.mib} MiB database (workload.py create), kept as {pristine_db}")
        tmp = work / f"making-{a.mib}.db"
        subprocess.run([sys.executable, str(WORKLOAD), "create", "--mib", str(a.mib), str(tmp)], check=True,
                       stdout=subprocess.DEVNULL)
        os.rename(tmp, pristine_db)
    big, keep = work / "big", work / "big.pristine"
    for d in (big, keep):
        if d.exists():
            shutil.rmtree(d)
    big.mkdir()
    db = big / "bench.db"
    shutil.copyfile(pristine_db, db)
    untimed([cairn, "init", str(db)])
    follow = start_follow(cairn, db, work / "big-follow.log")
    try:
        t = time.perf_counter()
        backup = cairn_json(cairn, "backup", str(db), "--level", "0")
        log(f"big: level-0 backup {backup.get('id')} in {time.perf_counter() - t:.1f} s")
        subprocess.run([sys.executable, str(WORKLOAD), "write", "--txns", str(a.before), str(db)], check=True,
                       stdout=subprocess.DEVNULL)
        wait_captured(cairn, db, a.before)
        target = a.before
        target_digest = digest(cairn, db)
        c = sqlite3.connect(db, isolation_level=None, timeout=60)
        page_count = c.execute("PRAGMA page_count").fetchone()[0]
        max_order = c.execute("SELECT max(id) FROM orders").fetchone()[0]
        rng = random.Random(15)
        ids = rng.sample(range(1, max_order + 1), max(1, round(page_count * a.percent / 100)))
        old = {}
        for k in range(0, len(ids), 500):
            chunk = ids[k:k + 500]
            cur = c.execute(f"SELECT * FROM orders WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            names = [d[0] for d in cur.description]
            for row in cur:
                old[row[0]] = dict(zip(names, row))
        c.close()
        # The change comes from another process, as an application's would.
        per = math.ceil(len(ids) / a.change_txns)
        code = ("import sqlite3, sys, json\n"
                "ids = json.load(sys.stdin); per = int(sys.argv[2])\n"
                "c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)\n"
                "for k in range(0, len(ids), per):\n"
                "    c.execute('BEGIN IMMEDIATE')\n"
                "    for i in range(k, min(k + per, len(ids)), 500):\n"
                "        ch = ids[i:min(i + 500, k + per, len(ids))]\n"
                "        c.execute('UPDATE orders SET amount = amount + 1, status = \\'changed\\' WHERE id IN (%s)' % ','.join('?' * len(ch)), ch)\n"
                "    c.execute('COMMIT')\n")
        subprocess.run([sys.executable, "-c", code, str(db), str(per)], input=json.dumps(ids), text=True, check=True)
        changes = math.ceil(len(ids) / per)
        wait_captured(cairn, db, target + changes)
    finally:
        stopped, _ = stop_follow(follow)
    if stopped != target + changes:
        raise CommandFailed(f"big: capture stopped at SCN {stopped}, expected {target + changes}")
    copy_state(big, keep)
    preview = cairn_json(cairn, "flashback", str(db), "--scn", str(target), "--preview")
    copy_state(keep, big)
    info = {"db": db, "big": big, "keep": keep, "target": target, "target_digest": target_digest,
            "page_count": page_count, "rows_changed": len(ids), "change_txns": changes, "old": old,
            "preview": preview, "db_bytes": db.stat().st_size, "backup": backup,
            "repo_bytes": sum(f.stat().st_size for f in (big / "bench.db.cairn").rglob("*") if f.is_file())}
    log(f"big: {info['db_bytes'] / MIB:.0f} MiB, {page_count} pages; target SCN {target}; {len(ids)} rows changed in "
        f"{changes} transactions; flashback would rewrite {preview.get('pages')} pages")
    return info


def make_hist(a, cairn: str, work: Path) -> dict:
    hist = work / "hist"
    if hist.exists():
        shutil.rmtree(hist)
    hist.mkdir()
    db = hist / "hist.db"
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, price REAL, updated INTEGER)")
    c.execute("CREATE TABLE ev(id INTEGER PRIMARY KEY, at INTEGER, kind TEXT)")
    c.execute("BEGIN")
    c.executemany("INSERT INTO items VALUES(?,?,?,?,?)", ((i, f"item {i}", i % 97, i * 0.25, 0) for i in range(1, 1001)))
    c.execute("COMMIT")
    c.close()
    untimed([cairn, "init", str(db)])
    follow = start_follow(cairn, db, work / "hist-follow.log")
    try:
        cairn_json(cairn, "backup", str(db), "--level", "0")
        code = ("import sqlite3, sys, time\n"
                "n = int(sys.argv[2])\n"
                "c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)\n"
                "c.execute('PRAGMA synchronous=NORMAL')\n"
                "t = time.perf_counter()\n"
                "for i in range(n):\n"
                "    c.execute('INSERT INTO ev(at, kind) VALUES(?, ?)', (i, 'kind %d' % (i % 7)))\n"
                "print(n / (time.perf_counter() - t))\n"
                "c.execute('UPDATE items SET qty = qty + 1, price = price * 1.01, updated = 1')\n")
        t = time.perf_counter()
        rate = float(untimed([sys.executable, "-c", code, str(db), str(a.txns)]))
        scn = a.txns + 1
        wait_captured(cairn, db, scn)
        log(f"hist: {a.txns} single-INSERT transactions ({rate:.0f} txn/s) and the 1,000-row UPDATE (SCN {scn}) "
            f"captured {time.perf_counter() - t:.1f} s after the writer started")
    finally:
        stopped, _ = stop_follow(follow)
    if stopped != scn:
        raise CommandFailed(f"hist: capture stopped at SCN {stopped}, expected {scn}")
    return {"db": db, "dir": hist, "update_scn": scn, "writer_txn_per_s": rate, "db_bytes": db.stat().st_size,
            "logs": len(cairn_json(cairn, "list", "logs", str(db)))}


# ---------------------------------------------------------------- rounds

def rows_equal(a_row: dict, b_row: dict) -> bool:
    if a_row.keys() != b_row.keys():
        return False
    for x, y in ((a_row[k], b_row[k]) for k in a_row):
        if isinstance(x, float) or isinstance(y, float):
            if not (isinstance(x, (int, float)) and isinstance(y, (int, float)) and math.isclose(x, y, rel_tol=1e-12)):
                return False
        elif x != y:
            return False
    return True


def one_round(a, cairn: str, work: Path, big: dict, hist: dict, n: int, samples: dict, notes: dict) -> None:
    db, target = str(big["db"]), str(big["target"])
    dirs = (big["big"], hist["dir"])
    # query --as-of: read-only, on the pristine state.
    copy_state(big["keep"], big["big"])
    key = sorted(big["old"])[(n * 7919) % len(big["old"])]
    sql = f"SELECT * FROM orders WHERE id = {key}"
    notes["query_sql"] = "SELECT * FROM orders WHERE id = K"
    notes["cache"] = drop_caches(*dirs)
    r = timed([cairn, "query", db, "--as-of", target, sql, "--json"])
    samples["query"].append(r["s"]); samples["query-rss"].append(r["rss_mib"])
    got = json.loads(r["stdout"])
    row = got[0] if len(got) == 1 else None
    if row is None or not rows_equal(row, big["old"][key]):
        raise CommandFailed(f"query --as-of {target} of orders id {key}: got {got}, expected the row before the change "
                            f"{big['old'][key]}")
    r = timed([cairn, "query", db, "--as-of", target, sql, "--json"])
    samples["query-warm"].append(r["s"]); samples["query-warm-rss"].append(r["rss_mib"])
    # flashback and restore --in-place, each from the pristine state, the order alternating.
    cases = [("flashback", ["flashback", db, "--scn", target, "--json"]),
             ("restore", ["restore", db, "--in-place", "--scn", target, "--json"])]
    for name, args in (cases if n % 2 == 1 else cases[::-1]):
        copy_state(big["keep"], big["big"])
        drop_caches(*dirs)
        r = timed([cairn, *args])
        samples[name].append(r["s"]); samples[f"{name}-rss"].append(r["rss_mib"])
        out = json.loads(r["stdout"])
        notes.setdefault(f"{name}_json", out)
        if n == 1:
            d = digest(cairn, big["db"])
            if d != big["target_digest"]:
                raise CommandFailed(f"after {name}: digest {d}, the target's is {big['target_digest']}")
            notes[f"{name}_digest_checked"] = True
    samples["ratio"].append(samples["flashback"][-1] / samples["restore"][-1])
    # History.
    h, scn = str(hist["db"]), str(hist["update_scn"])
    out = work / "log-list.json"
    drop_caches(*dirs)
    r = timed([cairn, "log", "list", h, "--json"], out=out)
    samples["log-list-json"].append(r["s"]); samples["log-list-json-rss"].append(r["rss_mib"])
    if n == 1:
        entries = json.loads(out.read_text())["entries"]
        kinds = {}
        for e in entries:
            kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
        notes["log_list_entries"] = kinds
        notes["log_list_json_bytes"] = out.stat().st_size
        if kinds.get("transaction") != hist["update_scn"]:
            raise CommandFailed(f"log list --json: {kinds}, expected {hist['update_scn']} transactions")
    r = timed([cairn, "log", "list", h, "--json"], out=out)
    samples["log-list-json-warm"].append(r["s"])
    drop_caches(*dirs)
    r = timed([cairn, "log", "list", h], out=out)
    samples["log-list-text"].append(r["s"]); samples["log-list-text-rss"].append(r["rss_mib"])
    if n == 1:
        notes["log_list_text_lines"] = sum(1 for _ in out.open())
    out = work / "log-show.json"
    drop_caches(*dirs)
    r = timed([cairn, "log", "show", h, "--scn", scn, "--json"], out=out)
    samples["log-show-json"].append(r["s"]); samples["log-show-json-rss"].append(r["rss_mib"])
    if n == 1:
        shown = json.loads(out.read_text())
        tables = {t["name"]: len(t["updated"]) for t in shown["rows"]["tables"]}
        notes["log_show_updated"] = tables
        notes["log_show_json_bytes"] = out.stat().st_size
        if tables.get("items") != 1000:
            raise CommandFailed(f"log show --scn {scn}: updated rows {tables}, expected 1000 in items")
    r = timed([cairn, "log", "show", h, "--scn", scn, "--json"], out=out)
    samples["log-show-json-warm"].append(r["s"])
    log(f"round {n}: query {samples['query'][-1]:.3f} s ({samples['query-rss'][-1]:.1f} MiB), flashback "
        f"{samples['flashback'][-1]:.3f} s, restore --in-place {samples['restore'][-1]:.3f} s (ratio "
        f"{samples['ratio'][-1]:.3f}), log list --json {samples['log-list-json'][-1]:.3f} s, log show "
        f"{samples['log-show-json'][-1]:.3f} s")


# ---------------------------------------------------------------- report

def stats(xs: list[float]) -> dict:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


ROWS = [  # (case, what is timed, unit, format)
    ("flashback", "`cairn flashback DB --scn TARGET --json` (cold)", "s", "{:.3f}"),
    ("restore", "`cairn restore DB --in-place --scn TARGET --json` (cold)", "s", "{:.3f}"),
    ("ratio", "flashback / restore --in-place, per round", "×", "{:.3f}"),
    ("query", "`cairn query DB --as-of TARGET \"SELECT * FROM orders WHERE id = K\" --json` (cold)", "s", "{:.3f}"),
    ("query-rss", "the same: peak RSS", "MiB", "{:.1f}"),
    ("query-warm", "the same, warm (right after)", "s", "{:.3f}"),
    ("log-list-json", "`cairn log list HIST --json` (cold)", "s", "{:.3f}"),
    ("log-list-json-warm", "the same, warm", "s", "{:.3f}"),
    ("log-list-text", "`cairn log list HIST` (text, cold)", "s", "{:.3f}"),
    ("log-show-json", "`cairn log show HIST --scn N --json`, 1,000 rows updated (cold)", "s", "{:.3f}"),
    ("log-show-json-warm", "the same, warm", "s", "{:.3f}"),
]


def render(a, info: dict, big: dict, hist: dict, samples: dict, notes: dict) -> str:
    runs = len(samples["flashback"])
    L = ["## Time travel (issue 15)", "",
         f"Measured on commit `{info['commit']}` (branch `{info['branch']}`), {info['date']}, {info['machine']}, "
         f"{os.cpu_count()} cores shared with other work (noisy): medians of {runs} rounds, with min and max.", "",
         "```", info["command"], "```", "",
         f"- **big**: a {big['db_bytes'] / MIB:.0f} MiB database (`workload.py create --mib {a.mib}`, "
         f"{big['page_count']} pages of 4 KiB), registered, `cairn archive --follow` capturing, a level-0 backup, "
         f"{a.before} transactions (`workload.py write`); TARGET = SCN {big['target']}. Then another process "
         f"updated {big['rows_changed']} `orders` rows picked at random in {big['change_txns']} transactions: "
         f"flashback rewrites {big['preview'].get('pages')} pages "
         f"({100 * big['preview'].get('pages', 0) / big['page_count']:.2f} % of the database). Once captured, "
         "capture was stopped (flashback and restore --in-place both refuse while another process has the "
         f"database open) and the directory (database, WAL, control files, repository: "
         f"{big['repo_bytes'] / MIB:.0f} MiB) kept; it is copied back, untimed, before every flashback and "
         "every restore. Round 1 checked that both leave the database with the TARGET's content digest "
         "(`cairn digest`), and every query returned the row's values before the change.",
         f"- **hist**: a small database ({hist['db_bytes'] / MIB:.1f} MiB; `items`: 1,000 rows of 5 columns), "
         f"registered, a level-0 backup, capture running; another process committed {a.txns:,} transactions of one "
         f"INSERT each (autocommit, {hist['writer_txn_per_s']:.0f} txn/s), then one UPDATE of the 1,000 rows of "
         f"`items` (SCN {hist['update_scn']}), in {hist['logs']} log(s). `log list` lists "
         f"{notes.get('log_list_entries', {}).get('transaction', '?'):,} transactions "
         f"({notes.get('log_list_json_bytes', 0) / MIB:.1f} MiB of JSON); `log show` prints "
         f"{', '.join(f'{v:,} updated rows of `{k}`' for k, v in notes.get('log_show_updated', {}).items())} "
         f"({notes.get('log_show_json_bytes', 0) / 1024:.0f} KiB of JSON).",
         f"- Page cache dropped before every timing marked cold (`{notes.get('cache')}`); every cairn process "
         "under `/usr/bin/time -f %M` (peak RSS); flashback and restore alternate which goes first.", "",
         "| Measurement | Target | Median | Min – max | Verdict |", "|---|---|---:|---:|---|"]
    for case, what, unit, f in ROWS:
        s = stats(samples[case])
        limit = TARGETS.get(case)
        verdict = "" if limit is None else ("**PASS**" if s["median"] <= limit[1] else "**MISS**")
        target = "" if limit is None else f"≤ {limit[1]:g} {unit}"
        L.append(f"| {what} | {target} | {f.format(s['median'])} {unit} | {f.format(s['min'])} – {f.format(s['max'])} | {verdict} |")
    med_ratio = statistics.median(samples["flashback"]) / statistics.median(samples["restore"])
    L += ["", f"Ratio of the medians: {med_ratio:.3f}×. Peak RSS (highest of the rounds): flashback "
          f"{max(samples['flashback-rss']):.1f} MiB, restore --in-place {max(samples['restore-rss']):.1f} MiB, "
          f"query {max(samples['query-rss']):.1f} MiB, log list --json {max(samples['log-list-json-rss']):.1f} MiB, "
          f"log show --json {max(samples['log-show-json-rss']):.1f} MiB.", "",
          "| Round | " + " | ".join(str(i + 1) for i in range(runs)) + " |", "|---|" + "---:|" * runs]
    for case, _, unit, f in ROWS:
        L.append(f"| {case} ({unit}) | " + " | ".join(f.format(x) for x in samples[case]) + " |")
    fj, rj = notes.get("flashback_json", {}), notes.get("restore_json", {})
    L += ["", f"What each did (round 1): flashback rewrote {fj.get('pages')} of {fj.get('databasePages')} pages "
          f"(from SCN {fj.get('from')} back to {fj.get('scn')}, new incarnation {fj.get('incarnation')}); restore "
          f"--in-place used backup {rj.get('backupId')} (SCN {rj.get('backupScn')}), applied "
          f"{rj.get('transactionsApplied')} transactions ({rj.get('bytesApplied', 0) / MIB:.1f} MiB) from "
          f"{rj.get('logsApplied')} log(s), integrity_check {'run' if rj.get('integrityChecked') else 'not run'}.", ""]
    return "\n".join(L) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", default=str(REPO / ".build-bench/release/cairn"))
    ap.add_argument("--mib", type=int, default=1024, help="size of the big database")
    ap.add_argument("--before", type=int, default=2000, help="transactions between the backup and TARGET")
    ap.add_argument("--percent", type=float, default=1.0, help="share of the big database's pages to change")
    ap.add_argument("--change-txns", type=int, default=5, help="transactions the change is made in")
    ap.add_argument("--txns", type=int, default=100_000, help="single-INSERT transactions of the history database")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default="/var/tmp/cairn-timetravel",
                    help="work directory (the --mib database made there is kept and reused)")
    ap.add_argument("--out", help="markdown section to write")
    ap.add_argument("--json", help="raw numbers to write")
    a = ap.parse_args()
    cairn = str(Path(a.cairn).resolve())
    work = Path(a.dir)
    work.mkdir(parents=True, exist_ok=True)
    git = lambda *x: subprocess.run(["git", "-C", str(REPO), *x], capture_output=True, text=True).stdout.strip()
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    info = {"commit": git("rev-parse", "--short", "HEAD"), "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "date": time.strftime("%Y-%m-%d"), "machine": f"{cpu.group(1) if cpu else '?'}, Linux {os.uname().release}",
            "command": "python3 scripts/bench/timetravel.py " + " ".join(sys.argv[1:]),
            "load_start": os.getloadavg()}
    t0 = time.monotonic()
    big = make_big(a, cairn, work)
    hist = make_hist(a, cairn, work)
    cases = ["flashback", "restore", "ratio", "query", "query-warm", "log-list-json", "log-list-json-warm",
             "log-list-text", "log-show-json", "log-show-json-warm"]
    samples: dict[str, list[float]] = {k: [] for k in cases}
    samples.update({f"{k}-rss": [] for k in ("flashback", "restore", "query", "query-warm", "log-list-json",
                                             "log-list-text", "log-show-json")})
    notes: dict = {}
    for n in range(1, a.runs + 1):
        log(f"round {n} of {a.runs}")
        one_round(a, cairn, work, big, hist, n, samples, notes)
    info["load_end"], info["minutes"] = os.getloadavg(), (time.monotonic() - t0) / 60
    text = render(a, info, big, hist, samples, notes)
    print(text)
    if a.out:
        Path(a.out).write_text(text)
    if a.json:
        big_out = {k: (str(v) if isinstance(v, Path) else v) for k, v in big.items() if k != "old"}
        hist_out = {k: (str(v) if isinstance(v, Path) else v) for k, v in hist.items()}
        Path(a.json).write_text(json.dumps({"info": info, "args": vars(a), "big": big_out, "hist": hist_out,
                                            "samples": samples, "notes": notes}, indent=1, default=str))


if __name__ == "__main__":
    main()
