"""How long a TAB takes:
``python bench/bench_completion.py [--active N] [--finished N] [--runs N]``.

Builds a ledger with N active and M finished jobs (array tasks included) and a configuration
with a few partitions in a temporary directory, then times:

* the helper as the brief names it, ``python -m slurmshim.cli._complete jobids`` (a full
  interpreter start with site-packages) and as the scripts run it, ``python -S -E
  .../_complete.py jobids``;
* each shell's completion function, called inside one long-lived shell (so the numbers are
  what a user waits for after pressing TAB, without the shell's own start-up): a static
  completion (``sbatch --<TAB>``), a job id completion (``scancel <TAB>``, which runs the
  helper) and a partition completion (``sbatch -p <TAB>``, which reads the configuration);
  the first TAB after installation also asks Python where the helper is (then cached in
  ~/.cache/slurmshim/completion-helper), timed separately.

The budget is 100 ms per TAB; the exit status is 1 when a median is above it.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
COMPLETIONS = ROOT / "completions"
HELPER = ROOT / "slurmshim" / "cli" / "_complete.py"
BUDGET_MS = 100.0


def make_site(tmp: Path, active: int, finished: int) -> dict[str, str]:
    from slurmshim.ledger import _JOB_COLUMNS, Ledger
    state = tmp / "state"
    ledger = Ledger(state / "ledger.sqlite3")          # creates the schema
    rows = []
    now = time.time()
    job_id = 1
    for i in range(active + finished):
        is_active = i >= finished
        row = dict.fromkeys(_JOB_COLUMNS)
        row.update(job_id=job_id, name=f"job{i % 50}", user=f"user{i % 7}", uid=1000,
                   partition=("cpu", "gpu", "mem")[i % 3], state="PENDING" if is_active
                   else "COMPLETED", reason="None", priority=1, nice=0, num_nodes=1,
                   num_cpus=1, num_tasks=1, submit_time=now - i, exit_code=0, exit_signal=0,
                   derived_exit_code=0, node_list="", restarts=0, work_dir="/tmp",
                   command="job.sh", stdout_path="", stderr_path="", stdin_path="/dev/null",
                   backend="local")
        if i % 10 == 0:                                   # every tenth is an array task
            row.update(array_job_id=job_id - (i % 3), array_task_id=i % 3)
        rows.append(tuple(row[c] for c in _JOB_COLUMNS) + (1 if is_active else 0,))
        job_id += 1
    cols = ",".join(_JOB_COLUMNS) + ",active"
    marks = ",".join("?" * (len(_JOB_COLUMNS) + 1))
    with ledger.transaction():
        ledger.db.executemany(f"INSERT INTO jobs({cols}) VALUES({marks})", rows)
    ledger.close()
    conf = tmp / "slurmshim.toml"
    conf.write_text("".join(f'[partitions.{p}]\nbackend = "local"\nnodes = 8\n'
                            for p in ("cpu", "gpu", "mem")), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURMSHIM_")}
    env.update(SLURMSHIM_STATE_DIR=str(state), SLURMSHIM_CONF=str(conf),
               SLURMSHIM_PYTHON=sys.executable, HOME=str(tmp),
               XDG_CACHE_HOME=str(tmp / "cache"))
    return env


def time_process(cmd: list[str], env, runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (user + system) milliseconds of each run."""
    import resource
    wall, cpu = [], []
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True, cwd=str(ROOT))  # warm
    for _ in range(runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True, cwd=str(ROOT))
        wall.append((time.perf_counter() - t0) * 1000)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)
    return wall, cpu


BASH_BENCH = r'''
source "$1"
tab() {  # LINE: one TAB at the end of LINE, in this shell; prints milliseconds
    local line=$1 t0 t1
    COMP_LINE=$line COMP_POINT=${#line}
    read -ra COMP_WORDS <<< "$line"
    [[ $line == *' ' ]] && COMP_WORDS+=('')
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    t0=$EPOCHREALTIME
    _slurmshim >/dev/null 2>&1
    t1=$EPOCHREALTIME
    echo "$2 $(( (${t1/./} - ${t0/./}) )) ${#COMPREPLY[@]}"
}
# no $(...) around tab: a completion function runs in the shell itself, and what it caches
# (the helper's location) must survive from one TAB to the next
tab 'scancel ' first
for ((i = 0; i < $2; i++)); do
    tab 'sbatch --' static
    tab 'scancel ' jobids
    tab 'sbatch -p ' partitions
done
'''

ZSH_BENCH = r'''
zmodload zsh/datetime
source "$1"
compadd() { : }
_files() { : }
tab() {
    local t0=$EPOCHREALTIME
    words=(${(z)1}); [[ $1 == *' ' ]] && words+=('')
    CURRENT=${#words}; PREFIX=$words[CURRENT]; IPREFIX=''
    _slurmshim
    print -- $2 $(( (EPOCHREALTIME - t0) * 1000000 ))
}
tab 'scancel ' first
repeat $2; do
    tab 'sbatch --' static
    tab 'scancel ' jobids
    tab 'sbatch -p ' partitions
done
'''

FISH_BENCH = r'''
source $argv[1]
function tab
    set -l t0 (date +%s%N)
    complete -C $argv[1] >/dev/null
    set -l t1 (date +%s%N)
    math "($t1 - $t0) / 1000"
end
echo first (tab 'scancel ')
for i in (seq $argv[2])
    echo static (tab 'sbatch --')
    echo jobids (tab 'scancel ')
    echo partitions (tab 'sbatch -p ')
end
'''


def time_shell(shell: str, env, runs: int) -> dict[str, list[float]]:
    exe = shutil.which(shell)
    if exe is None:
        return {}
    if shell == "bash":
        cmd = [exe, "--norc", "-c", BASH_BENCH, "bash", str(COMPLETIONS / "slurmshim.bash"),
               str(runs)]
    elif shell == "zsh":
        cmd = [exe, "-f", "-c", ZSH_BENCH, "zsh", str(COMPLETIONS / "_slurmshim"), str(runs)]
    else:
        cmd = [exe, "--no-config", "-c", FISH_BENCH, str(COMPLETIONS / "slurmshim.fish"),
               str(runs)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    out: dict[str, list[float]] = {}
    for line in res.stdout.splitlines():
        what, us = line.split()[:2]
        out.setdefault(what, []).append(float(us) / 1000)
    return out


def report(name: str, ms: list[float]) -> tuple[str, float]:
    med = statistics.median(ms)
    p90 = sorted(ms)[max(0, int(len(ms) * 0.9) - 1)]
    return f"{name:<52} {med:8.1f} {p90:8.1f} {max(ms):8.1f}", med


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="How long a TAB takes.")
    ap.add_argument("--active", type=int, default=2000, help="active jobs (default 2000)")
    ap.add_argument("--finished", type=int, default=20000, help="finished jobs (default 20000)")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args(argv)
    over = []
    with tempfile.TemporaryDirectory() as tmp:
        env = make_site(Path(tmp), args.active, args.finished)
        print(f"ledger: {args.active} active + {args.finished} finished jobs; "
              f"{args.runs} runs; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
        print(f"{'':<52} {'median':>8} {'p90':>8} {'max':>8}   (ms, wall clock; helper "
              "processes also: median CPU ms)")
        rows = [
            ("helper: python -m slurmshim.cli._complete jobids",
             time_process([sys.executable, "-m", "slurmshim.cli._complete", "jobids"], env,
                          args.runs), False),
            ("helper: python -S -E _complete.py jobids",
             time_process([sys.executable, "-S", "-E", str(HELPER), "jobids"], env,
                          args.runs), True),
            ("helper: python -S -E _complete.py partitions",
             time_process([sys.executable, "-S", "-E", str(HELPER), "partitions"], env,
                          args.runs), True),
        ]
        for name, (ms, cpu), budgeted in rows:
            line, med = report(name, ms)
            print(f"{line}   cpu {statistics.median(cpu):5.1f}")
            if budgeted and med > BUDGET_MS:
                over.append(name)
        cache = Path(env["XDG_CACHE_HOME"]) / "slurmshim" / "completion-helper"
        for shell in ("bash", "zsh", "fish"):
            firsts = []
            for _ in range(max(3, args.runs // 5)):       # no cached helper location
                cache.unlink(missing_ok=True)
                data = time_shell(shell, env, 0)
                if not data:
                    break
                firsts += data["first"]
            if not firsts:
                print(f"{shell}: not installed")
                continue
            data = time_shell(shell, env, args.runs)    # the location is cached now
            data["install"] = firsts
            for what, label in (("static", "sbatch --<TAB> (static)"),
                                ("jobids", "scancel <TAB> (job ids, helper)"),
                                ("partitions", "sbatch -p <TAB> (partitions, helper)"),
                                ("first", "first TAB of a new session (job ids)"),
                                ("install", "first TAB after installing (locates helper)")):
                line, med = report(f"{shell}: {label}", data[what])
                print(line)
                if what != "install" and med > BUDGET_MS:
                    over.append(f"{shell} {what}")
    if over:
        print(f"over the {BUDGET_MS:.0f} ms budget: {', '.join(over)}")
        return 1
    print(f"every TAB within the {BUDGET_MS:.0f} ms budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
