"""sacct's command line (slurmshim.cli.sacct): option parsing, Slurm's error lines and exit
codes, the selection rules (time window, users, -j forms, -s, -D, --array) through the pure
functions, and a few end-to-end runs of `python -m slurmshim.cli.sacct` on a private state dir.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slurmshim.cli import sacct as cli
from slurmshim.model import JobRecord, JobState, StepRecord
from slurmshim.output import sacct as out

from test_output_sacct import CAPTURES, NOW, ORACLE, T, build_oracle, load_blocks, run_pure

S = JobState
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("SLURM_TIME_FORMAT", raising=False)
    monkeypatch.delenv("SACCT_FORMAT", raising=False)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def fails(argv, now=NOW) -> tuple[int, str, str]:
    with pytest.raises(cli.Exit) as e:
        cli.parse_args(argv, now)
    return e.value.code, e.value.stdout, e.value.stderr


# ------------------------------------------------------------------ getopt and errors

@pytest.mark.parametrize("argv,stderr", [
    (["-Z"], "sacct: invalid option -- 'Z'\n"),
    (["--bogus"], "sacct: unrecognized option '--bogus'\n"),
    (["-j"], "sacct: option requires an argument -- 'j'\n"),
    (["--jobs"], "sacct: option '--jobs' requires an argument\n"),
    (["--brief=x"], "sacct: option '--brief' doesn't allow an argument\n"),
    (["--parsa"], "sacct: option '--parsa' is ambiguous; possibilities: '--parsable' "
                 "'--parsable2'\n"),
    (["-j", "abc"], "sacct: fatal: Bad job/step specified: abc\n"),
    (["-j", "12,x3"], "sacct: fatal: Bad job/step specified: x3\n"),
    (["-j", "12.foo"], "sacct: fatal: Bad step specified: 12\n"),
    (["-j", "12_x"], "sacct: fatal: Bad job array element specified: 12\n"),
    (["-s", "bogus"], "sacct: fatal: unrecognized job state value 'bogus'\n"),
    (["-s", "all"], "sacct: fatal: unrecognized job state value 'all'\n"),
    (["-s", "CG"], "sacct: fatal: job state CG is not supported / accounted\n"),
    (["-S", "bogus"], "Invalid time specification (pos=0): bogus\n"),
    (["-o", "jobid", "-l"], "sacct: fatal: Options -o(--format) and -l(--long) are mutually "
                            "exclusive. Please remove one and retry.\n"),
    (["-B"], "sacct: fatal: When requesting job scripts you must also request specific jobs "
             "with the '-j' option.\n"),
    (["--env-vars"], "sacct: fatal: When requesting job environment you must also request "
                     "specific jobs with the '-j' option.\n"),
    (["-B", "--env-vars", "-j", "1"], "sacct: fatal: Options --batch-script and --env-vars "
                                      "are mutually exclusive\n"),
    (["--units=X"], "sacct: error: Invalid unit type 'X'. Possible options are 'KMGTP'\n"
                    "sacct: fatal: Invalid unit type\n"),
    (["-k", "0"], "sacct: fatal: Invalid time limit specification\n"),
    (["-i", "x"], "sacct: error: invalid node range -i 'x'\n"),
    (["--whole-hetjob=maybe"], 'sacct: error: Invalid --whole-hetjob value "maybe". Valid '
                               'values: [yes|no].\n'),
])
def test_errors(argv, stderr):
    code, stdout, err = fails(argv)
    assert (code, stdout, err) == (1, "", stderr)


def test_94_captured_errors():
    blocks = load_blocks("94_sacct_unknown.txt")
    code, _, err = fails(blocks[1]["argv"])
    assert (code, err) == (blocks[1]["exit"], blocks[1]["stderr"])
    code, stdout, err = cli.run(blocks[2]["argv"], now=NOW)
    assert (code, stdout, err) == (blocks[2]["exit"], "", blocks[2]["stderr"])


def test_informational_options():
    assert fails(["-e"]) == (0, (CAPTURES / "96_sacct_fields.txt").read_text()
                             .split("--- stdout ---\n")[1].split("--- stderr ---")[0], "")
    assert fails(["--helpformat"])[0] == 0
    assert fails(["-V"]) == (0, "slurm 25.11.7\n", "")
    assert fails(["--version"]) == (0, "slurm 25.11.7\n", "")
    assert fails(["--usage"]) == (0, "Usage: sacct [options]\n\tUse --help for help\n", "")
    code, text, _ = fails(["--help"])
    assert code == 0 and text.startswith("sacct [<OPTION>]\n     Valid <OPTION> values are:\n")
    assert fails(["--helpstate"])[1].split() == list(out.HELP_STATES)
    # options are handled in order: -e wins over a later bad option
    assert fails(["-e", "-Z"])[0] == 0
    assert fails(["-Z", "-e"])[0] == 1


def test_unknown_operands_and_bad_times():
    code, _, err = cli.run(["foo", "bar"], now=NOW)
    assert (code, err) == (1, "sacct: error: Unknown arguments:\nsacct: error:  foo\n"
                              "sacct: error:  bar\n")
    code, _, err = cli.run(["-S", "2026-11-22T12:00", "-E", "2026-11-22T10:30"], now=NOW)
    assert code == 1
    assert err == ("sacct: error: Start time (2026-11-22T12:00:00) requested is after end "
                   "time (2026-11-22T10:30:00).\n")


# ------------------------------------------------------------------ parsed options

def test_job_lists_accumulate_and_forms():
    q = cli.parse_args(["-j", "1", "--jobs=2,3", "-j", "3,12_4,7.batch,8_2.0,9.extern"],
                       NOW).query
    assert q.selectors == [
        out.StepSelector(1), out.StepSelector(2), out.StepSelector(3),
        out.StepSelector(12, 4), out.StepSelector(7, None, "batch"),
        out.StepSelector(8, 2, "0"), out.StepSelector(9, None, "extern")]
    # extension: a bracketed task range (real 25.11 sacct rejects it)
    q = cli.parse_args(["-j", "5_[1-3,7]"], NOW).query
    assert [s.task for s in q.selectors] == [1, 2, 3, 7]


def test_format_and_output_options():
    o = cli.parse_args(["-o", "jobid", "--format=state%20", "-b", "-n", "-p",
                        "--delimiter=;"], NOW)
    assert o.format_opts == ["jobid", "state%20"] and o.brief and not o.header
    assert (o.parsable, o.delimiter) == ("p", ";")
    assert cli.parse_args(["-p", "-P"], NOW).parsable == "P"
    o = cli.parse_args(["--json", "-X", "-D", "-T", "--array", "-a"], NOW)
    assert o.mimetype == "json" and o.query.allocations and o.query.duplicates
    assert o.query.truncate and o.query.array and o.all_users
    assert cli.parse_args(["--yaml=v0.0.44"], NOW).data_parser == "v0.0.44"
    o = cli.parse_args(["-s", "cd,F", "--state=to", "--name=Foo,bar", "-r", "Debug"], NOW)
    assert o.query.states == {S.COMPLETED, S.FAILED, S.TIMEOUT}
    assert o.query.names == ["foo", "bar"] and o.query.partitions == ["debug"]


def test_time_options():
    q = cli.parse_args(["--starttime=now-1hour", "-E", "2026-11-22T10:50:00"], NOW).query
    assert q.start == NOW - 3600 and q.end == T("10:50:00")


def test_sacct_format_env(monkeypatch):
    monkeypatch.setenv("SACCT_FORMAT", "jobid%-5,state")
    assert [(c.name, c.width) for c in out.parse_fields(
        out.field_list(env_format=os.environ["SACCT_FORMAT"]))] == [("JobID", -5),
                                                                    ("State", 10)]


# ------------------------------------------------------------------ defaults

def test_time_window_defaults():
    n = int(NOW)
    midnight = int(T("00:00:00"))
    assert out.resolve_window(out.Query(), NOW) == (midnight, n + 1)
    assert out.resolve_window(out.Query(selectors=[out.StepSelector(1)]), NOW) == (0, n + 1)
    assert out.resolve_window(out.Query(states={S.FAILED}), NOW) == (n, n + 1)
    assert out.resolve_window(out.Query(states={S.FAILED}, selectors=[out.StepSelector(1)]),
                              NOW) == (0, n + 1)
    assert out.resolve_window(out.Query(states={S.FAILED}, start=T("10:00:00")), NOW) == (
        int(T("10:00:00")), int(T("10:00:00")) + 1)
    assert out.resolve_window(out.Query(start=T("10:00:00")), NOW) == (int(T("10:00:00")),
                                                                       n + 1)
    assert out.resolve_window(out.Query(end=T("10:00:00")), NOW) == (midnight,
                                                                     int(T("10:00:00")))


@pytest.mark.parametrize("argv,uid,want", [
    ([], 0, None),                       # root sees everyone
    ([], 1000, {1000}),                  # anyone else only themselves
    (["-a"], 1000, None),
    (["-j", "5"], 1000, None),           # -j means every user's job 5
    (["-u", "-1"], 1000, None),
    (["-u", "0,7"], 1000, {0, 7}),
    (["-a", "-u", "0"], 1000, {0}),      # order matters, as in Slurm
    (["-u", "0", "-a"], 1000, None),
    (["-u", "0"], 0, {0}),
])
def test_user_defaults(argv, uid, want):
    o = cli.parse_args(argv, NOW)
    cli._resolve_users(o, uid)
    assert o.query.uids == want


def test_invalid_user():
    o = cli.parse_args(["-u", "no-such-user-xyz"], NOW)
    with pytest.raises(cli.Exit) as e:
        cli._resolve_users(o, 0)
    assert e.value.stderr == "sacct: error: Invalid user id: no-such-user-xyz\n"


# ------------------------------------------------------------------ selection (pure)

def ids(argv, oracle=ORACLE, now=NOW, uid=0) -> list[str]:
    text = run_pure(["-P", "-n", "-o", "jobid", *argv], oracle, now, uid)
    return text.splitlines()


def test_select_by_raw_task_id_and_array_id():
    assert ids(["-X", "-j", "56"]) == ["55_1"]            # a task's own raw id
    assert ids(["-X", "-j", "55"]) == ["55_1", "55_3", "55_[4]"]
    assert ids(["-X", "-j", "55_3"]) == ["55_3"]
    assert ids(["-X", "-j", "55_2"]) == []                # cancelled while pending: gone
    assert ids(["-X", "-j", "42_4"]) == []                # still pending in the meta record
    assert ids(["-X", "-j", "60_[1-5]"]) == ["60_1", "60_5"]


def test_select_steps_only():
    assert ids(["-j", "62.batch,62.3"]) == ["62.batch", "62.3"]
    assert ids(["-j", "62_0"]) == []


def test_name_partition_and_user_filters():
    assert ids(["-X", "--name=EXIT3"]) == ["34", "36"]
    assert ids(["-X", "--name=exit3,victim", "-r", "nosuch"]) == []
    assert ids(["-X", "--name=victim"], uid=1000) == []      # not the caller's job
    assert ids(["-X", "--name=victim", "-u", "0"], uid=1000) == ["53"]


def test_state_filters_need_a_window():
    # 98: -s without -S means "now": finished jobs never match
    assert ids(["-X", "-s", "CA"]) == []
    # with -s, -E defaults to -S: a single instant again
    assert ids(["-X", "-s", "CA", "-S", "midnight"]) == []
    assert ids(["-X", "-s", "CA", "-S", "midnight", "-E", "now"]) == [
        "7", "19", "42_2", "42_3", "42_[4%1]", "44_6", "44_[7-10%2]", "41", "42_1", "53",
        "55_1", "55_[4]", "71"]
    assert ids(["-X", "-s", "F,TO", "-S", "midnight", "-E", "now"]) == [
        "34", "36", "54", "68", "69", "70", "73"]
    assert ids(["-X", "-s", "TO", "-j", "54,53"]) == ["54"]   # -j: since the epoch
    assert ids(["-X", "-s", "RQ", "-j", "41"]) == ["41"]      # the REQUEUED attempt
    got = run_pure(["-X", "-s", "RQ", "-j", "41", "-P", "-n", "-o", "state,start"])
    assert got == "REQUEUED|2026-11-22T10:39:56\n"


def test_running_and_pending_states():
    o = build_oracle()
    run = JobRecord(job_id=90, name="run", user="root", uid=0, partition="debug",
                    state=S.RUNNING, submit_time=T("10:59:00"), start_time=T("10:59:30"),
                    node_list="node01")
    pend = JobRecord(job_id=91, name="pend", user="root", uid=0, partition="debug",
                     state=S.PENDING, submit_time=T("10:59:40"), reason="Resources")
    o.jobs += [run, pend]
    o.steps[90] = [StepRecord(job_id=90, step_id="batch", state=S.RUNNING,
                              start_time=T("10:59:30"), node_list="node01")]
    assert ids(["-s", "R"], o) == ["90", "90.batch"]
    assert ids(["-X", "-s", "PD"], o) == ["91"]
    assert ids(["-X", "-s", "r,pd", "-S", "10:59:00"], o) == []     # E = S: before both
    assert ids(["-X", "-s", "r,pd", "-S", "10:59:00", "-E", "now"], o) == ["90", "91"]
    assert run_pure(["-X", "-j", "90,91", "-P", "-n", "-o", "state,elapsed,end,nodelist"],
                    o) == ("RUNNING|00:00:30|Unknown|node01\n"
                           "PENDING|00:00:00|Unknown|None assigned\n")


def test_duplicates():
    assert ids(["-j", "41"]) == ["41"]
    assert ids(["-D", "-j", "41"]) == ["41", "41.batch", "41"]
    assert ids(["-D", "-j", "42_1"]) == ["42_1", "42_1.batch", "42_1"]


def test_array_expansion():
    assert ids(["-X", "-j", "44", "--array"]) == [
        "44_1", "44_2", "44_3", "44_4", "44_5", "44_6", "44_7", "44_8", "44_9", "44_10"]
    got = run_pure(["-X", "-j", "44", "--array", "-P", "-n", "-o", "jobid,jobidraw,state"])
    assert got.splitlines()[-1] == "44_10|44|CANCELLED by 0"


def test_default_window_hides_old_and_never_eligible_jobs():
    later = NOW + 86400                       # the next day: nothing ended since midnight
    assert ids(["-X"], now=later) == []
    assert "7" not in ids(["-X"]) and "7" in ids(["-X", "-j", "7"])
    assert "19" not in ids(["-X"])


def test_truncate_window():
    got = run_pure(["-X", "-T", "-j", "54", "-S", "10:41:00", "-E", "10:42:00", "-P", "-n",
                    "-o", "start,end,elapsed"])
    assert got == "2026-11-22T10:41:00|2026-11-22T10:42:00|00:01:00\n"


def test_units_and_noconvert():
    assert run_pure(["-X", "-j", "62", "-n", "-P", "-o", "reqmem,reqtres", "--noconvert"]) == \
        "2048M|billing=2,cpu=2,mem=2048M,node=1\n"
    assert run_pure(["-X", "-j", "62", "-n", "-P", "-o", "reqmem", "--units=K"]) == \
        "2097152K\n"


def test_json_with_allocations_has_no_steps():
    import json

    doc = json.loads(run_pure(["--json", "-X", "-j", "53"]))
    assert doc["jobs"][0]["steps"] == []
    assert doc["meta"]["command"] == ["sacct", "--json", "-X", "-j"]


# ------------------------------------------------------------------ end to end (subprocess)

def _sacct(state_dir: Path, *args: str, tz: str = "UTC") -> subprocess.CompletedProcess:
    env = dict(os.environ, SLURMSHIM_STATE_DIR=str(state_dir), PYTHONPATH=str(REPO), TZ=tz)
    env.pop("SACCT_FORMAT", None)
    return subprocess.run([sys.executable, "-m", "slurmshim.cli.sacct", *args],
                          capture_output=True, text=True, env=env, cwd=state_dir, timeout=60)


def _python(state_dir: Path, code: str) -> str:
    env = dict(os.environ, SLURMSHIM_STATE_DIR=str(state_dir), PYTHONPATH=str(REPO))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=state_dir, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout


SUBMIT = """
import os
from slurmshim.controller import Controller
from slurmshim.model import JobSpec
ctl = Controller.open()
spec = JobSpec(script={script!r}, job_name={name!r}, work_dir=os.getcwd(), user="me",
               uid=os.getuid(), group="grp", gid=os.getgid(), hold={hold!r},
               submit_line="sbatch job.sh")
print(ctl.submit(spec).job_id)
"""


def _submit(state_dir: Path, name: str, script: str = "#!/bin/sh\ntrue\n",
            hold: bool = False) -> int:
    return int(_python(state_dir, SUBMIT.format(script=script, name=name, hold=hold)))


def test_cli_empty_ledger_prints_the_header(tmp_path):
    res = _sacct(tmp_path)
    assert (res.returncode, res.stderr) == (0, "")
    assert res.stdout == load_blocks("94_sacct_unknown.txt")[0]["stdout"]
    res = _sacct(tmp_path, "-j", "999999", "-n")
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")


def test_cli_errors_and_info(tmp_path):
    res = _sacct(tmp_path, "-j", "abc")
    assert (res.returncode, res.stdout, res.stderr) == (
        1, "", "sacct: fatal: Bad job/step specified: abc\n")
    res = _sacct(tmp_path, "--format=Bogus")
    assert (res.returncode, res.stderr) == (1, 'sacct: error: Invalid field requested: '
                                               '"Bogus"\n')
    res = _sacct(tmp_path, "-Z")
    assert (res.returncode, res.stderr) == (1, "sacct: invalid option -- 'Z'\n")
    res = _sacct(tmp_path, "-e")
    assert res.returncode == 0 and res.stdout.startswith("Account             AdminComment")
    res = _sacct(tmp_path, "-V")
    assert res.stdout == "slurm 25.11.7\n"


def test_cli_never_imports_boto3(tmp_path):
    code = ("import sys; from slurmshim.cli import sacct; sacct.run(['-X'])\n"
            "assert 'boto3' not in sys.modules, 'boto3 imported'\n")
    _python(tmp_path, code)


def test_cli_held_job_then_cancelled(tmp_path):
    """A held job (no runner needed): pending, never eligible (absent without -j), then
    cancelled while pending: `CANCELLED by <uid>`, AllocCPUS 0, Start None, `None assigned`."""
    jid = _submit(tmp_path, "held", hold=True)
    res = _sacct(tmp_path, "-j", str(jid), "-P", "-n",
                 "-o", "jobid,jobname,state,alloccpus,nodelist,start,end,reason,user")
    assert res.returncode == 0, res.stderr
    assert res.stdout == f"{jid}|held|PENDING|0|None assigned|Unknown|Unknown|JobHeldUser|me\n"
    assert _sacct(tmp_path, "-X", "-n").stdout == ""          # never eligible
    _python(tmp_path, "from slurmshim.controller import Controller\n"
                      "c = Controller.open()\n"
                      f"c.cancel_records([c.ledger.get({jid})])\n")
    res = _sacct(tmp_path, "-j", str(jid), "-P", "-n", "-o", "jobid,state,alloccpus,start,"
                 "elapsed,nodelist,exitcode")
    assert res.stdout == f"{jid}|CANCELLED by {os.getuid()}|0|None|00:00:00|None assigned|0:0\n"
    res = _sacct(tmp_path, "-j", str(jid))
    assert res.stdout.splitlines()[2].split()[-2:] == ["CANCELLED+", "0:0"]


WAIT = 90.0    # seconds: how long the local backend may take to run a job on a loaded machine


def _noon_tz(now: float) -> str:
    """A POSIX TZ in which `now` is between 11:30 and 12:30: a test that lists "since
    midnight" (sacct's default window, -S midnight) in it cannot cross midnight, where the
    jobs it has just run would fall out of the window."""
    utc = time.gmtime(now)
    ahead = round(12 - (utc.tm_hour + utc.tm_min / 60))      # hours east of UTC, -12..12
    return f"<NOON>{-ahead:+d}"                               # POSIX offsets count west


def _wait_done(state_dir: Path, jid: int, timeout: float = WAIT) -> str:
    deadline = time.time() + timeout
    state = ""
    while time.time() < deadline:
        res = _sacct(state_dir, "-X", "-j", str(jid), "-P", "-n", "-o", "state")
        state = res.stdout.strip()
        if state and state not in ("PENDING", "RUNNING"):
            return state
        time.sleep(0.5)
    return state


def test_cli_completed_and_failed_jobs(tmp_path):
    """Needs the local backend's runner: a job exiting 3 is FAILED 3:0 with a FAILED 3:0 batch
    step; a successful one COMPLETED 0:0; both show in the default (since midnight) listing
    -- midnight in a time zone where it is about noon now, whatever the time of day."""
    tz = _noon_tz(time.time())
    ok = _submit(tmp_path, "hello", "#!/bin/sh\necho hi\n")
    bad = _submit(tmp_path, "exit3", "#!/bin/sh\nexit 3\n")
    if _wait_done(tmp_path, bad) in ("PENDING", "RUNNING", ""):
        pytest.fail(f"the local backend did not finish the jobs within {WAIT:.0f} s")
    _wait_done(tmp_path, ok)
    res = _sacct(tmp_path, "-P", "-o", "jobid,jobname,state,exitcode", tz=tz)
    assert res.returncode == 0, res.stderr
    assert res.stdout == (
        "JobID|JobName|State|ExitCode\n"
        f"{ok}|hello|COMPLETED|0:0\n{ok}.batch|batch|COMPLETED|0:0\n"
        f"{bad}|exit3|FAILED|3:0\n{bad}.batch|batch|FAILED|3:0\n")
    time.sleep(1.1)  # a job that ended within this very second still overlaps "now"
    res = _sacct(tmp_path, "-X", "-s", "F", "-n", "-P", "-o", "jobid")
    assert res.stdout == ""                                    # -s alone: the window is now
    res = _sacct(tmp_path, "-X", "-s", "F", "-S", "midnight", "-E", "now", "-n", "-P",
                 "-o", "jobid", tz=tz)
    assert res.stdout == f"{bad}\n"
    res = _sacct(tmp_path, "-X", "-j", f"{ok},{bad}", "-P", "-n",
                 "-o", "jobid,alloccpus,nodelist,exitcode,derivedexitcode,timelimit")
    lines = res.stdout.splitlines()
    assert [ln.split("|")[0] for ln in lines] == [str(ok), str(bad)]
    # DerivedExitCode only counts srun steps: a batch script's exit 3 leaves it 0:0 (capture 92)
    assert lines[1].split("|")[3:5] == ["3:0", "0:0"]
