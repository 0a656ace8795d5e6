"""squeue's command line: the pure parts (parse_args, build_filter, the filter + render pipeline)
without a ledger, then a few end-to-end runs of `python -m slurmshim.cli.squeue`."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slurmshim.cli import squeue as cli
from slurmshim.errors import SlurmError, UsageError
from slurmshim.model import JobState
from slurmshim.output import squeue as sq

sys.path.insert(0, str(Path(__file__).parent))
from test_output_squeue import NOW, capture, needs_captures, queue19  # noqa: E402

USERS = {"root": (0, "root"), "alice": (1000, "alice")}


def resolve(name: str):
    if name in USERS:
        return USERS[name]
    if name.isdigit():
        uid = int(name)
        for n, (u, _) in USERS.items():
            if u == uid:
                return uid, n
        return uid, ""
    return None


def parse(*argv: str, env: dict | None = None, euid: int = 0):
    return cli.parse_args(list(argv), env or {}, resolve_user=resolve, euid=euid)


# ----------------------------------------------------------------------- parse_args

@pytest.mark.parametrize("argv,jobs", [
    (["-j1008"], [(1008, None)]),
    (["--jobs=1008,1009_3"], [(1008, None), (1009, 3)]),
    (["-j", "1008"], [(1008, None)]),
    (["--job", "1,2"], [(1, None), (2, None)]),          # abbreviation + operand
    (["1008", "-j"], [(1008, None)]),                    # permutation: the operand comes last
    (["-j", "-t", "R", "7"], [(7, None)]),
])
def test_jobs_optional_argument(argv, jobs):
    a = parse(*argv)
    assert isinstance(a, cli.SqueueArgs)
    assert a.jobs == jobs and a.job_flag


def test_second_operand_is_unrecognized():
    done = parse("-j", "1", "2")
    assert isinstance(done, cli.Done)
    assert (done.code, done.stderr) == (1, "squeue: error: Unrecognized option: 2\n")
    assert done.stdout == cli.USAGE
    done = parse("5")
    assert done.stderr == "squeue: error: Unrecognized option: 5\n" and done.code == 1


def test_bad_job_id():
    with pytest.raises(SlurmError, match="Invalid job id: abc"):
        parse("-j", "abc")


def test_getopt_errors_exit_1_with_hint():
    with pytest.raises(UsageError) as ei:
        parse("--bogus")
    assert ei.value.exit_code == 1
    assert ei.value.render("squeue") == ("squeue: unrecognized option '--bogus'\n"
                                         'Try "squeue --help" for more information\n')
    with pytest.raises(UsageError) as ei:
        parse("-Z")
    assert "invalid option -- 'Z'" in ei.value.render("squeue")
    with pytest.raises(UsageError) as ei:
        parse("-o")
    assert "option requires an argument -- 'o'" in ei.value.render("squeue")


def test_version_help_usage():
    assert parse("-V") == cli.Done("slurm 25.11.7\n")
    assert parse("--version", "--bogus-later") == cli.Done("slurm 25.11.7\n")   # in order
    assert parse("--help").stdout.startswith("Usage: squeue [OPTIONS]\n")
    assert parse("--usage").stdout == cli.USAGE
    assert parse("--helpstate").stdout.startswith("pending\nrunning\nsuspended\ncompleted\n")
    assert parse("--helpformat").stdout.startswith("%a    %F    %K")
    assert parse("--helpFormat").stdout.startswith("Account             AccrueTime")


def test_states():
    a = parse("-t", "pd,R")
    assert a.states == frozenset({JobState.PENDING, JobState.RUNNING}) and not a.all_states
    assert parse("--states=ALL").all_states
    assert parse("--state", "cg").states == frozenset({JobState.COMPLETING})
    with pytest.raises(SlurmError) as ei:
        parse("-t", "BOGUS")
    text = ei.value.render("squeue")
    assert text.startswith("squeue: error: Invalid job state specified: BOGUS\n"
                           "squeue: error: Valid job states include: pending,running,")
    assert text.endswith(",stage_out,stopped\n\n")
    assert ei.value.exit_code == 1


def test_users():
    a = parse("-u", "nosuchuser")
    assert a.uids == [] and a.messages == ["squeue: error: Invalid user: nosuchuser\n\n"]
    a = parse("-u", "root,alice")
    assert a.uids == [0, 1000] and not a.messages
    a = parse("--user=4242")                  # unknown numeric uids are kept
    assert a.uids == [4242]
    a = parse("--me", euid=1000)
    assert a.uids == [1000] and a.user_names == ["alice"]


def test_format_conflicts():
    with pytest.raises(SlurmError, match=r"-O \(--Format\) is incompatible with -o"):
        parse("-o", "%i", "-O", "JobID")
    with pytest.raises(SlurmError, match=r"-o \(--format\) is incompatible with -O"):
        parse("-O", "JobID", "-o", "%i")
    with pytest.raises(SlurmError) as ei:
        parse("-l", "-o", "%i")
    assert ei.value.render("squeue") == (
        "squeue: fatal: Options -o(--format) and -l(--long) are mutually exclusive. "
        "Please remove one and retry.\n")


def test_iterate_must_be_positive():
    with pytest.raises(SlurmError) as ei:
        parse("-i", "0")
    assert ei.value.render("squeue") == "squeue: error: --iterate=0\n\n"
    assert parse("--iterate=5").iterate == 5


def test_environment():
    env = {"SQUEUE_FORMAT": "%i", "SQUEUE_SORT": "-i", "SQUEUE_STATES": "all",
           "SQUEUE_USERS": "alice", "SQUEUE_PARTITION": "long", "SQUEUE_ARRAY": "1"}
    a = parse(env=env)
    assert (a.format, a.sort, a.all_states, a.uids, a.partitions, a.array, a.array_by_option) \
        == ("%i", "-i", True, [1000], ["long"], True, False)
    # -o/-O/-l override SQUEUE_FORMAT; options override the other variables
    assert parse("-l", env=env).format is None
    assert parse("-O", "JobID", env={"SQUEUE_FORMAT": "%i"}).format is None
    assert parse(env={"SQUEUE_FORMAT2": "JobID"}).format_long == "JobID"
    assert parse("-u", "root", env=env).uids == [0]


def test_start_defaults():
    a = parse("--start")
    assert a.format == sq.START_FORMAT and a.sort == "S"
    assert a.states == frozenset({JobState.PENDING})


def test_steps_arguments():
    a = parse("-s", "41.0,42_1.batch")
    assert a.step_flag and a.steps == [(41, None, "0"), (42, 1, "batch")]
    a = parse("-s")
    assert a.step_flag and a.steps is None
    with pytest.raises(SlurmError, match=r"Invalid job_step id: 41\.\?\?"):
        parse("-s41")
    with pytest.raises(SlurmError, match="Incompatible options --jobs and --steps"):
        parse("-j", "-s")
    a = parse("-j5", "-s")                     # a job list filters the steps
    assert a.step_flag and not a.job_flag


def test_running_over_under():
    assert parse("--running-over=1:00").running_over == 60
    with pytest.raises(SlurmError) as ei:
        parse("--running-over=abc")
    assert ei.value.render("squeue") == "squeue: fatal: Invalid time limit specification\n"
    with pytest.raises(SlurmError, match="will return 0 jobs"):
        parse("--running-over=10:00", "--running-under=1:00")


def test_only_job_state_restrictions():
    assert parse("--only-job-state", "-j", "5", "-t", "R").only_state
    with pytest.raises(SlurmError, match="only works alone"):
        parse("--only-job-state", "-u", "root")


def test_nodelist_syntax():
    assert parse("-w", "node[01-02]").nodes == ["node01", "node02"]
    with pytest.raises(SlurmError, match="'node\\[01' invalid entry for --nodelist"):
        parse("-w", "node[01")


def test_autocomplete():
    text = cli.autocomplete_text("--st")
    assert text == "--start\n--steps=\n--steps \n--states=\n\n"


# ----------------------------------------------------------------------- the pure pipeline

def run_pure(*argv: str, records=None, env: dict | None = None) -> str:
    """parse_args + build_filter + select/combine/sort/render, as cli._print_jobs does."""
    a = parse(*argv, env=env)
    assert isinstance(a, cli.SqueueArgs)
    recs = queue19() if records is None else records
    flt = cli.build_filter(a, getuid=lambda: 0)
    blen = 0 if a.array_by_option else 64
    rows = sq.select_rows(recs, flt, now=NOW, bitstr_len=blen)
    if a.format is not None:
        fmt = sq.parse_format(a.format)
    elif a.format_long is not None:
        fmt = sq.parse_long_format(a.format_long)
    else:
        fmt = sq.default_format(a.long)
    if not a.array:
        rows = sq.combine_pending(rows, blen)
    rows = sq.sort_rows(rows, a.sort, now=NOW)
    return sq.render_rows(rows, fmt, now=NOW, noheader=a.noheader, array_expand=a.array,
                          id_cut=not a.array_by_option, date_line=a.long)


PURE_CASES = [
    ("13_squeue_default.txt", "squeue", []),
    ("15_squeue_h_o.txt", 'squeue -h -o "%i %t"', ["-h", "-o", "%i %t"]),
    ("17_squeue_O.txt", 'squeue -O "JobID,State,Name,TimeLimit,NumCPUs,ReasonList"',
     ["-O", "JobID,State,Name,TimeLimit,NumCPUs,ReasonList"]),
    ("18_squeue_r.txt", "squeue -r", ["-r"]),
    ("19_squeue_t_all.txt", "squeue -t all", ["-t", "all"]),
    ("20_squeue_j.txt", "squeue -j 41,7", ["-j", "41,7"]),
    ("20_squeue_j.txt", "squeue -j 42", ["-j", "42"]),
    ("20_squeue_j.txt", "squeue -j 42_3", ["-j", "42_3"]),
    ("20_squeue_j.txt", "squeue -j 44 -r", ["-j", "44", "-r"]),
    ("20_squeue_j.txt", "squeue -j 36", ["-j", "36"]),
    ("20_squeue_j.txt", "squeue -j 36 -t all", ["-j", "36", "-t", "all"]),
    ("21_squeue_me_user.txt", "squeue --me", ["--me"]),
    ("21_squeue_me_user.txt", "squeue -u root", ["-u", "root"]),
    ("21_squeue_me_user.txt", "squeue -u nosuchuser", ["-u", "nosuchuser"]),
    ("22_squeue_states.txt", "squeue --states=PD", ["--states=PD"]),
    ("22_squeue_states.txt", "squeue -t R", ["-t", "R"]),
    ("22_squeue_states.txt", "squeue -t PD -r", ["-t", "PD", "-r"]),
    ("23_squeue_sort.txt", "squeue -S i", ["-S", "i"]),
    ("23_squeue_sort.txt", "squeue -S -i", ["-S", "-i"]),
    ("23_squeue_sort.txt", "squeue -p long", ["-p", "long"]),
]


@needs_captures
@pytest.mark.parametrize("fname,cmd,argv", PURE_CASES, ids=[c[1] for c in PURE_CASES])
def test_pure_pipeline_matches_captures(fname, cmd, argv):
    _rc, out, _err = capture(fname, cmd)
    assert run_pure(*argv) == out


def test_single_unknown_job_id_detection():
    recs = queue19()
    assert cli.job_known(recs, 41)
    assert cli.job_known(recs, 42)           # an array id
    assert cli.job_known(recs, 43)           # a task's raw id
    assert not cli.job_known(recs, 999999)


def test_build_filter_defaults():
    flt = cli.build_filter(parse(), getuid=lambda: 0)
    assert JobState.COMPLETED not in flt.states and JobState.PENDING in flt.states
    flt = cli.build_filter(parse("-t", "all", "--notme"), getuid=lambda: 7)
    assert flt.all_states and flt.notme_uid == 7


# ----------------------------------------------------------------------- end to end

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["SLURMSHIM_STATE_DIR"] = str(tmp_path / "state")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("SLURMSHIM_CONF", None)                         # no site config: built-in default
    env["HOME"] = str(tmp_path)
    for k in list(env):
        if k.startswith("SQUEUE_") or k == "SLURM_BITSTR_LEN":
            del env[k]
    return env


def squeue_cmd(tmp_path: Path, *argv: str, timeout: float = 60):
    return subprocess.run([sys.executable, "-m", "slurmshim.cli.squeue", *argv],
                          env=_env(tmp_path), cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout)


HEADER = "             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)\n"


def test_cli_empty_queue(tmp_path):
    r = squeue_cmd(tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, HEADER, "")


def test_cli_unknown_single_job(tmp_path):
    r = squeue_cmd(tmp_path, "-j", "999999")
    assert (r.returncode, r.stdout, r.stderr) == (
        1, "", "slurm_load_jobs error: Invalid job id specified\n")
    r = squeue_cmd(tmp_path, "-j", "999999,999998")
    assert (r.returncode, r.stdout) == (0, HEADER)


def test_cli_invalid_user(tmp_path):
    r = squeue_cmd(tmp_path, "-u", "nosuchuser_zz")
    assert (r.returncode, r.stdout, r.stderr) == (
        0, HEADER, "squeue: error: Invalid user: nosuchuser_zz\n\n")


def test_cli_version_and_errors(tmp_path):
    r = squeue_cmd(tmp_path, "-V")
    assert (r.returncode, r.stdout) == (0, "slurm 25.11.7\n")
    r = squeue_cmd(tmp_path, "--bogus")
    assert r.returncode == 1
    assert r.stderr == ("squeue: unrecognized option '--bogus'\n"
                        'Try "squeue --help" for more information\n')
    r = squeue_cmd(tmp_path, "-S", "a")
    assert (r.returncode, r.stdout, r.stderr) == (
        1, HEADER, "squeue: error: Invalid sort specification: a\n")
    r = squeue_cmd(tmp_path, "-o", "%i %!")
    assert (r.returncode, r.stdout, r.stderr) == (
        0, "JOBID %!\n", "squeue: error: Invalid job format specification: !\n")
    r = squeue_cmd(tmp_path, "-j", "1", "2")
    assert r.returncode == 1 and r.stdout == cli.USAGE
    assert r.stderr == "squeue: error: Unrecognized option: 2\n"


def test_cli_long_has_date_line(tmp_path):
    r = squeue_cmd(tmp_path, "-l")
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and len(lines) == 2
    time.strptime(lines[0], "%a %b %d %H:%M:%S %Y")
    assert lines[1] == ("             JOBID PARTITION     NAME     USER    STATE       TIME "
                        "TIME_LIMI  NODES NODELIST(REASON)")


def test_cli_json_empty(tmp_path):
    r = squeue_cmd(tmp_path, "--json")
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert doc["jobs"] == [] and doc["meta"]["command"] == ["squeue"]
    assert doc["meta"]["plugin"]["data_parser"] == "data_parser/v0.0.44"
    assert r.stdout.startswith('{\n  "jobs": [\n  ],\n  "last_backfill": {\n')


def test_cli_steps_header(tmp_path):
    r = squeue_cmd(tmp_path, "-s")
    assert (r.returncode, r.stdout) == (
        0, "         STEPID     NAME PARTITION     USER      TIME NODELIST\n")


def test_cli_does_not_import_boto3(tmp_path):
    code = ("import runpy, sys\n"
            "sys.argv = ['squeue']\n"
            "try:\n    runpy.run_module('slurmshim.cli.squeue', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'click'))\n"
            "sys.stderr.write(repr(bad))\n")
    r = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path), cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.stderr.endswith("[]"), r.stderr


def test_cli_iterate_until_ctrl_c(tmp_path):
    out_path = tmp_path / "iterate.out"
    with open(out_path, "w") as out:
        p = subprocess.Popen([sys.executable, "-m", "slurmshim.cli.squeue", "-i", "1"],
                             env=_env(tmp_path), cwd=tmp_path, stdout=out,
                             stderr=subprocess.PIPE, text=True)
    try:
        # Ctrl-C once it has printed two rounds (it flushes each one), however long that takes
        deadline = time.time() + 60
        while out_path.read_text().count("JOBID") < 2:
            assert time.time() < deadline and p.poll() is None, "squeue -i stopped printing"
            time.sleep(0.1)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert p.returncode == 0, err
    out = out_path.read_text()
    blocks = out.split("\n\n")
    assert len(blocks) >= 2
    first = blocks[0].splitlines()
    time.strptime(first[0], "%a %b %d %H:%M:%S %Y")
    assert first[1] + "\n" == HEADER


def _sbatch(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slurmshim.cli.sbatch", *argv],
                          env=_env(tmp_path), cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)


def test_cli_with_held_jobs(tmp_path):
    """Held jobs stay pending whatever the backend does: a stable queue to look at."""
    r1 = _sbatch(tmp_path, "-H", "-J", "held1", "--wrap=true")
    r2 = _sbatch(tmp_path, "-H", "-J", "held2", "--array=1-3%2", "--wrap=true")
    assert r1.returncode == 0 and r2.returncode == 0, (r1.stderr, r2.stderr)
    id1 = int(r1.stdout.split()[-1])
    id2 = int(r2.stdout.split()[-1])
    r = squeue_cmd(tmp_path, "-h", "-o", "%i|%j|%t|%r|%M")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == sorted([
        f"{id1}|held1|PD|JobHeldUser|0:00",
        f"{id2}_[1-3%2]|held2|PD|JobHeldUser|0:00",
    ])
    r = squeue_cmd(tmp_path, "-h", "-r", "-j", str(id2), "-o", "%i")
    assert r.stdout == f"{id2}_1\n{id2}_2\n{id2}_3\n"
    r = squeue_cmd(tmp_path, "-h", "-j", f"{id2}_2", "-o", "%i %K %A")
    assert r.stdout == f"{id2}_2 2 {id2}\n"
    r = squeue_cmd(tmp_path, "-j", str(id1))
    assert r.returncode == 0 and r.stdout.splitlines()[1].split()[:5] == [
        str(id1), "local", "held1", r.stdout.splitlines()[1].split()[3], "PD"]
    r = squeue_cmd(tmp_path, "--json", "-j", str(id1))
    doc = json.loads(r.stdout)
    assert [j["job_id"] for j in doc["jobs"]] == [id1]
    assert doc["jobs"][0]["hold"] is True and doc["jobs"][0]["job_state"] == ["PENDING"]
    assert doc["meta"]["command"] == ["squeue", "--json", "-j"]
