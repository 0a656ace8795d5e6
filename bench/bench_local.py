"""Benchmarks of the front end and the local backend (not tests: numbers for the notes).

    python bench/bench_local.py [--quick] [--instructions]

1. `squeue` median wall time with 10,000 jobs in the ledger (target <= 150 ms), two cases:
   10,000 pending jobs (10,000 lines printed) and 10,000 finished jobs + 100 pending.  For the
   first, also squeue right after an sbatch, and with no stored listing at all (the ledger keeps
   the listing's rows per block of 256 jobs; a changed job's block is read from the table).
2. `sbatch --hold` median wall time with 10,000 jobs in the ledger (target <= 200 ms).
3. An array of 1,000 trivial tasks on the local backend: wall time from `sbatch` to the last
   task COMPLETED in sacct (target <= 30 s), and the overhead per task.
Each command runs as the real console script would (a fresh Python process).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def fill_ledger(state: Path, n: int, finished: bool, active: int = 0) -> None:
    from slurmshim.ledger import Ledger
    from slurmshim.model import JobRecord, JobSpec, JobState
    led = Ledger(state / "ledger.sqlite3")
    now = time.time()
    spec = JobSpec(script="#!/bin/sh\ntrue\n", job_name="bench", user="bench", work_dir="/tmp")
    led.db.execute("BEGIN")
    spec_id = led.db.execute("INSERT INTO specs(spec, script) VALUES(?, ?)",
                             ('{"job_name": "bench"}', b"#!/bin/sh\ntrue\n")).lastrowid
    del spec
    for i in range(n + active):
        done = finished and i < n
        rec = JobRecord(job_id=i + 1, name=f"bench{i % 50}", user="bench", partition="local",
                        state=JobState.COMPLETED if done else JobState.PENDING,
                        reason="None" if done else "JobHeldUser", hold=None if done else "user",
                        priority=0, submit_time=now - 3600, start_time=now - 3500 if done else None,
                        end_time=now - 3400 if done else None, node_list="node01" if done else "",
                        spec_id=spec_id, time_limit=60)
        led.insert(rec)
    led.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES('next_job_id', ?)",
                   (str(n + active + 1),))
    led.db.execute("COMMIT")
    led.close()


def forget_listing(state: Path) -> None:
    """As if every job had changed: the next listing reads every block from the table."""
    import sqlite3
    db = sqlite3.connect(state / "ledger.sqlite3")
    db.execute("UPDATE listing_blocks SET rows=NULL")
    db.commit()
    db.close()


def timed(cmd: list[str], env: dict, cwd: str, runs: int, before=None) -> list[float]:
    """Wall times of `runs` runs of cmd; `before()`, untimed, before each."""
    out = []
    for _ in range(runs):
        if before is not None:
            before()
        t0 = time.perf_counter()
        res = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        out.append(time.perf_counter() - t0)
        if res.returncode != 0:
            raise SystemExit(f"{cmd} failed: {res.stderr.decode()}")
    return out


def script_cmd(name: str) -> list[str]:
    """The installed console script when there is one, else the module (same code path)."""
    exe = Path(sys.executable).parent / name
    return [str(exe)] if exe.exists() else [sys.executable, "-m", f"slurmshim.cli.{name}"]


def report(label: str, times: list[float], target: float | None = None,
           startup: float | None = None) -> None:
    """`startup`: the interpreter's median start-up (ms).  On a shared machine it alone varies
    two-fold, so the time above it, what slurmshim itself costs, is printed too."""
    med = statistics.median(times) * 1000
    extra = f" (target <= {target:.0f} ms: {'met' if med <= target else 'NOT met'})" if target else ""
    own = f"; {med - startup:.0f} ms above start-up" if startup is not None else ""
    print(f"{label}: median {med:.0f} ms, min {min(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms over {len(times)} runs{extra}{own}")


def instructions(cmd: list[str], env: dict, cwd: str) -> str:
    """Instructions executed by one run, counted by callgrind: unlike wall time, the same on a
    busy machine, so two versions can be compared while other work runs.  Count the console
    script, as users run it: `python -m` would put the bench's fresh directory on sys.path,
    which the plugin cache is keyed on, and count a cache miss."""
    res = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + cmd,
                         env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    for line in res.stderr.splitlines():
        if "Collected :" in line:
            return f"{int(line.rsplit(':', 1)[1]) / 1e6:.0f} M instructions"
    return "valgrind failed"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer runs, 200-task array")
    ap.add_argument("--instructions", action="store_true",
                    help="also count each command's instructions with valgrind (repeatable)")
    args = ap.parse_args()
    runs = 5 if args.quick else 15
    # A real install has byte-compiled modules; this machine sets PYTHONDONTWRITEBYTECODE, so
    # compile once here or every run would pay for compiling the sources.
    import compileall
    compileall.compile_dir(str(ROOT / "slurmshim"), quiet=1)
    base = Path(tempfile.mkdtemp(prefix="slurmshim-bench."))
    conf = base / "empty.toml"
    conf.write_text("")
    env = dict(os.environ, SLURMSHIM_CONF=str(conf), PYTHONPATH=str(ROOT))
    baseline = timed([sys.executable, "-c", "pass"], env, str(base), runs)
    report("python -c pass (interpreter start-up on this machine)", baseline)
    startup = statistics.median(baseline) * 1000

    def count(label: str, cmd: list[str], env_: dict) -> None:
        if args.instructions:
            print(f"  {label}: {instructions(cmd, env_, str(base))}")
    count("python -c pass", [sys.executable, "-c", "pass"], env)

    st = base / "pending"
    st.mkdir()
    fill_ledger(st, 10_000, finished=False)
    env_p = dict(env, SLURMSHIM_STATE_DIR=str(st))
    report("squeue, 10,000 pending jobs (10,000 lines)",
           timed(script_cmd("squeue"), env_p, str(base), runs), 150, startup)
    count("squeue", script_cmd("squeue"), env_p)
    # The runs above read the listing the ledger keeps (ledger.py, "the listing blocks"); the
    # first one built it.  What squeue costs when jobs have changed since the last listing:
    sbatch_hold = script_cmd("sbatch") + ["--hold", "--wrap=true"]
    report("squeue right after an sbatch (one block of 256 jobs read from the table)",
           timed(script_cmd("squeue"), env_p, str(base), runs,
                 before=lambda: subprocess.run(sbatch_hold, env=env_p, cwd=str(base),
                                               stdout=subprocess.DEVNULL, check=True)),
           150, startup)
    report("squeue with no stored listing (every job changed since the last one)",
           timed(script_cmd("squeue"), env_p, str(base), runs,
                 before=lambda: forget_listing(st)), 150, startup)
    report("sbatch --hold, 10,000 jobs in the ledger",
           timed(sbatch_hold, env_p, str(base), runs), 200, startup)
    count("sbatch --hold", sbatch_hold, env_p)

    st2 = base / "finished"
    st2.mkdir()
    fill_ledger(st2, 10_000, finished=True, active=100)
    env_f = dict(env, SLURMSHIM_STATE_DIR=str(st2))
    report("squeue, 10,000 finished + 100 pending jobs",
           timed(script_cmd("squeue"), env_f, str(base), runs), 150, startup)
    count("squeue", script_cmd("squeue"), env_f)
    report("sbatch --hold, 10,100 jobs in the ledger",
           timed(sbatch_hold, env_f, str(base), runs), 200, startup)

    tasks = 200 if args.quick else 1000
    st3 = base / "array"
    st3.mkdir()
    env_a = dict(env, SLURMSHIM_STATE_DIR=str(st3))
    work = base / "work"
    work.mkdir()
    t0 = time.perf_counter()
    res = subprocess.run(script_cmd("sbatch") + ["--parsable", f"--array=0-{tasks - 1}",
                                                 "-o", "/dev/null", "--wrap=true"],
                         env=env_a, cwd=work, capture_output=True, text=True, check=True)
    job = res.stdout.strip()
    while True:
        out = subprocess.run(script_cmd("sacct") + ["-j", job, "-X", "-n", "-P", "-o", "State",
                                                    "--array"],
                             env=env_a, cwd=work, capture_output=True, text=True).stdout.split()
        if len(out) == tasks and all(s == "COMPLETED" for s in out):
            break
        time.sleep(0.5)
    wall = time.perf_counter() - t0
    per_task = wall / tasks
    print(f"array of {tasks} trivial tasks: {wall:.1f} s from sbatch to the last COMPLETED "
          f"(target <= 30 s for 1,000); {per_task * 1000:.0f} ms per task on 2 cores "
          f"(runner + runtime start, ledger updates, scheduling)")


if __name__ == "__main__":
    main()
