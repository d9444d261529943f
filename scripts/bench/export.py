#!/usr/bin/env python3
"""Logical export and import (issue 16): `cairn export --format sql` against `sqlite3 DB .dump`,
and `cairn import` against `sqlite3 NEW < SCRIPT`, side by side in one run (python3 stdlib only).

    python3 scripts/bench/export.py --cairn .build-bench/release/cairn \\
        --db /var/tmp/cairn-timetravel/pristine-1024.db --runs 3 --out /tmp/export.md --json /tmp/export.json

The database given with --db (e.g. the 1 GiB `workload.py create --mib 1024` one that
scripts/bench/timetravel.py keeps) is only read: it is copied into --dir first (untimed), and
every command reads the copy. Without --db, a --mib MiB database is made there with
../shared/workload.py.

Each of --runs rounds times, with the database's pages in the page cache (read once before each
timing; the outputs are deleted and `sync` run before it, untimed), every command under
`/usr/bin/time -f %M` (peak RSS):

  dump          `sqlite3 DB .dump > dump.sql`
  export        `cairn export DB --format sql --to export.sql` (which also fsyncs its file and
                renames it; the shell's output is not synced)
  import-shell  `sqlite3 NEW < export.sql` (the same script `cairn import` reads)
  import        `cairn import export.sql --to NEW`
  import-dump   `cairn import dump.sql --to NEW` (the shell's own script), for reference

(the Cairn command first in odd rounds, the shell first in even ones). In round 1 the database
built by `cairn import` must have the source's `cairn digest`, and so must the shell's build of
Cairn's script. Prints a Markdown section with the medians, min and max, and the two ratios
(per round and of the medians); --json writes every sample.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORKLOAD = REPO.parent / "shared" / "workload.py"
MIB = 1 << 20

TARGETS = {  # ratio case: (label, limit)
    "export": ("`cairn export --format sql` / `sqlite3 .dump`", 1.0),
    "import": ("`cairn import` / `sqlite3 NEW < script`", 1.0),
}


def log(msg: str) -> None:
    print(f"[export-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class CommandFailed(RuntimeError):
    pass


def timed(cmd: list[str], stdin: Path | None = None, stdout: Path | None = None) -> dict:
    """Wall seconds of `cmd` from spawn to exit and its peak RSS (MiB)."""
    fd, name = tempfile.mkstemp(prefix="export-rss-")
    os.close(fd)
    rss_file = Path(name)
    src = open(stdin, "rb") if stdin else subprocess.DEVNULL
    sink = open(stdout, "wb") if stdout else subprocess.PIPE
    try:
        t = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *cmd], stdin=src, stdout=sink,
                           stderr=subprocess.PIPE)
        secs = time.perf_counter() - t
        if p.returncode != 0:
            raise CommandFailed(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr[-2000:].decode(errors='replace')}")
        rss = int(rss_file.read_text().split()[-1]) / 1024
    finally:
        for f in (src, sink):
            if hasattr(f, "close"):
                f.close()
        rss_file.unlink(missing_ok=True)
    return {"s": secs, "rss_mib": rss}


def untimed(cmd: list[str]) -> str:
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise CommandFailed(f"{' '.join(cmd)} exited {p.returncode}: {p.stdout[-1500:]} {p.stderr[-1500:]}")
    return p.stdout


def warm(path: Path) -> None:
    """Reads the file once so its pages are in the page cache."""
    with open(path, "rb") as f:
        while f.read(8 * MIB):
            pass


def remove(*paths: Path) -> None:
    for p in paths:
        p.unlink(missing_ok=True)
    os.sync()


def digest(cairn: str, db: Path) -> str:
    return untimed([cairn, "digest", str(db)]).split()[0]


def stats(xs: list[float]) -> dict:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def one_round(a, cairn: str, work: Path, db: Path, n: int, samples: dict, notes: dict) -> None:
    dump, script = work / "dump.sql", work / "export.sql"
    built, shell_built = work / "imported.db", work / "shell-imported.db"

    def run_dump():
        remove(dump)
        warm(db)
        samples["dump"].append(timed(["sqlite3", str(db), ".dump"], stdout=dump))

    def run_export():
        remove(script)
        warm(db)
        samples["export"].append(timed([cairn, "export", str(db), "--format", "sql", "--to", str(script)]))

    def run_import_shell():
        remove(shell_built)
        warm(script)
        samples["import-shell"].append(timed(["sqlite3", str(shell_built)], stdin=script))

    def run_import():
        remove(built)
        warm(script)
        samples["import"].append(timed([cairn, "import", str(script), "--to", str(built)]))

    for step in ([run_export, run_dump] if n % 2 == 1 else [run_dump, run_export]):
        step()
    for step in ([run_import, run_import_shell] if n % 2 == 1 else [run_import_shell, run_import]):
        step()
    if n == 1:
        notes["script_bytes"] = script.stat().st_size
        notes["dump_bytes"] = dump.stat().st_size
        source = digest(cairn, db)
        notes["digest_import"] = digest(cairn, built) == source
        notes["digest_shell_import"] = digest(cairn, shell_built) == source
        log(f"round 1: cairn import {'has' if notes['digest_import'] else 'does NOT have'} the source's digest; "
            f"the shell's build of the script {'has' if notes['digest_shell_import'] else 'does NOT have'} it")
    remove(built)
    warm(dump)
    samples["import-dump"].append(timed([cairn, "import", str(dump), "--to", str(built)]))
    if n == 1:
        notes["digest_import_dump"] = digest(cairn, built)
    for case in ("dump", "export", "import-shell", "import", "import-dump"):
        log(f"round {n}: {case} {samples[case][-1]['s']:.2f} s, peak RSS {samples[case][-1]['rss_mib']:.1f} MiB")
    remove(built, shell_built)


def render(a, info: dict, samples: dict, notes: dict) -> str:
    def s(case: str) -> str:
        st = stats([x["s"] for x in samples[case]])
        return f"{st['median']:.2f} s ({st['min']:.2f} – {st['max']:.2f})"

    def rss(case: str) -> str:
        return f"{stats([x['rss_mib'] for x in samples[case]])['median']:.0f} MiB"

    ratios = {
        "export": [e["s"] / d["s"] for e, d in zip(samples["export"], samples["dump"])],
        "import": [i["s"] / s_["s"] for i, s_ in zip(samples["import"], samples["import-shell"])],
    }
    of_medians = {
        "export": stats([x["s"] for x in samples["export"]])["median"] / stats([x["s"] for x in samples["dump"]])["median"],
        "import": stats([x["s"] for x in samples["import"]])["median"] / stats([x["s"] for x in samples["import-shell"]])["median"],
    }
    lines = [
        "## Logical export and import (issue 16)",
        "",
        f"    python3 scripts/bench/export.py --cairn {a.cairn} --db {a.db or '(made)'} --runs {a.runs}",
        "",
        f"{info['date']}, {info['machine']}; database {info['db_mib']:.0f} MiB ({info['tables']}), "
        f"Cairn's script {notes['script_bytes'] / MIB:.0f} MiB, the shell's .dump {notes['dump_bytes'] / MIB:.0f} MiB. "
        f"Median of {a.runs} rounds (min – max), the database warm in the page cache; the order of Cairn and the "
        f"shell alternates by round. Load average (1 min) {info['load_before']:.1f} before the rounds, "
        f"{info['load_after']:.1f} after: the machine is shared, so only ratios taken in the same run mean much.",
        "",
        "| Measurement | Median (min – max) | Peak RSS, median |",
        "|---|---:|---:|",
        f"| `sqlite3 DB .dump > dump.sql` | {s('dump')} | {rss('dump')} |",
        f"| `cairn export DB --format sql --to export.sql` (synced) | {s('export')} | {rss('export')} |",
        f"| `sqlite3 NEW < export.sql` | {s('import-shell')} | {rss('import-shell')} |",
        f"| `cairn import export.sql --to NEW` (synced) | {s('import')} | {rss('import')} |",
        f"| `cairn import dump.sql --to NEW` (the shell's script) | {s('import-dump')} | {rss('import-dump')} |",
        "",
        "| Ratio | Target | Per round: median (min – max) | Of the medians | Verdict |",
        "|---|---:|---:|---:|---|",
    ]
    for case, (label, limit) in TARGETS.items():
        st = stats(ratios[case])
        verdict = "**PASS**" if st["median"] <= limit and of_medians[case] <= limit else "**MISS**"
        lines.append(f"| {label} | ≤ {limit:.1f}× | {st['median']:.2f}× ({st['min']:.2f} – {st['max']:.2f}) | "
                     f"{of_medians[case]:.2f}× | {verdict} |")
    lines += [
        "",
        f"Round 1 checks: the database `cairn import` built has the source's content digest: "
        f"{'yes' if notes['digest_import'] else 'NO'}; the shell's build of Cairn's script has it too: "
        f"{'yes' if notes['digest_shell_import'] else 'NO'}.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", default=str(REPO / ".build-bench/release/cairn"))
    ap.add_argument("--db", help="database to export (read only: copied first)")
    ap.add_argument("--mib", type=int, default=1024, help="size of the database to make when --db is not given")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default="/var/tmp/cairn-export-bench")
    ap.add_argument("--out")
    ap.add_argument("--json")
    a = ap.parse_args()
    work = Path(a.dir)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    db = work / "bench.db"
    if a.db:
        log(f"copying {a.db} to {db}")
        shutil.copyfile(a.db, db)
    else:
        log(f"making a {a.mib} MiB database with workload.py")
        subprocess.run([sys.executable, str(WORKLOAD), "create", "--mib", str(a.mib), str(db)], check=True,
                       stdout=subprocess.DEVNULL)
    counts = []
    for t in untimed(["sqlite3", str(db), "SELECT name FROM sqlite_schema WHERE type = 'table'"]).split():
        rows = int(untimed(["sqlite3", str(db), 'SELECT count(*) FROM "%s"' % t]))
        counts.append(f"{t}: {rows:,} rows")
    info = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}",
        "db_mib": db.stat().st_size / MIB,
        "tables": "; ".join(counts),
        "sqlite3": untimed(["sqlite3", "--version"]).split()[0],
    }
    samples: dict[str, list[dict]] = {k: [] for k in ("dump", "export", "import-shell", "import", "import-dump")}
    notes: dict = {}
    info["load_before"] = os.getloadavg()[0]
    for n in range(1, a.runs + 1):
        one_round(a, a.cairn, work, db, n, samples, notes)
    info["load_after"] = os.getloadavg()[0]
    text = render(a, info, samples, notes)
    print(text)
    if a.out:
        Path(a.out).write_text(text)
    if a.json:
        Path(a.json).write_text(json.dumps({"info": info, "notes": notes, "samples": samples}, indent=2))
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
