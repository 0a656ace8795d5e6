"""`python -m slurmshim.runtime.job` end to end, as a subprocess on tmp_path: output files and
their names, exit codes, interpreters, --export, banners on cancel / time limit (texts from
captures 55, 93 and work/ of real Slurm 25.11.7), scripts that cannot run, multi-node agents."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slurmshim.runtime.common import request_signal
from slurmshim.runtime.descriptor import encode_inline, placement_environ

REPO = Path(__file__).resolve().parents[1]
PY38 = Path("/root/.pyenv/versions/3.8.18/bin/python")
STAMP = r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\]"
TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"


def make_desc(tmp_path: Path, script: str, **kw) -> dict:
    d = {"version": 1, "job_id": 53, "name": "victim", "partition": "debug", "user": "alice",
         "uid": os.getuid(), "group": "alice", "gid": os.getgid(), "cluster_name": "oracle",
         "submit_dir": str(tmp_path), "submit_host": "login1", "work_dir": str(tmp_path),
         "script": script, "nodes": 1, "node_names": ["node01"], "cpus_per_node": [2],
         "time_limit": -1, "stage": str(tmp_path / "stage"), "kill_wait": 3,
         "environment": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
                         "SUBMIT_ONLY": "yes"}}
    d.update(kw)
    return d


def runtime_env(tmp_path: Path, desc: dict, extra: dict | None = None, inline=False) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO),
           "HOME": str(tmp_path), "NODE_ONLY": "from-node"}
    if inline:
        env["SLURMSHIM_JOB"] = encode_inline(desc)
    else:
        path = tmp_path / ("desc-%d.json" % len(list(tmp_path.glob("desc-*.json"))))
        path.write_text(json.dumps(desc))
        env["SLURMSHIM_JOB_FILE"] = str(path)
    env.update(extra or {})
    return env


def run_job(tmp_path: Path, script: str, extra_env=None, python=None, inline=False, **kw):
    desc = make_desc(tmp_path, script, **kw)
    proc = subprocess.run([python or sys.executable, "-m", "slurmshim.runtime.job"],
                          env=runtime_env(tmp_path, desc, extra_env, inline), cwd=str(tmp_path),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return proc, desc


def status(tmp_path: Path, raw_id: int = 53) -> dict:
    return json.loads((tmp_path / "stage" / str(raw_id) / "status.json").read_text())


def wait_for(pred, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


# -------------------------------------------------------------------- outputs and exit codes

def test_default_output_file_exit_code_and_status(tmp_path):
    proc, _ = run_job(tmp_path, "#!/bin/bash\necho out $SLURM_JOB_ID\necho err >&2\nexit 3\n")
    assert proc.returncode == 3
    assert (tmp_path / "slurm-53.out").read_text() == "out 53\nerr\n"
    st = status(tmp_path)
    assert (st["state"], st["exit_code"], st["signal"], st["rc"]) == ("FAILED", 3, 0, 3)
    assert st["stdout"] == st["stderr"] == str(tmp_path / "slurm-53.out")
    assert st["start_time"] <= st["end_time"]
    batch = json.loads((tmp_path / "stage/53/steps/step-batch.json").read_text())
    assert (batch["state"], batch["exit_code"], batch["name"]) == ("FAILED", 3, "batch")


def test_completed(tmp_path):
    proc, _ = run_job(tmp_path, "#!/bin/sh\necho fine\n")
    assert proc.returncode == 0
    assert status(tmp_path)["state"] == "COMPLETED"


def test_inline_descriptor(tmp_path):
    proc, _ = run_job(tmp_path, "#!/bin/sh\necho inline $SLURM_JOB_NAME\n", inline=True)
    assert proc.returncode == 0
    assert (tmp_path / "slurm-53.out").read_text() == "inline victim\n"


@pytest.mark.parametrize("output,error,files", [
    ("o-%j.txt", None, {"o-53.txt": "out\nerr\n"}),
    ("o-%j.txt", "e-%j.txt", {"o-53.txt": "out\n", "e-53.txt": "err\n"}),
    ("%x.%u.%N.%n.%t.%s.%J.%4j.%%.out", None, {"victim.alice.node01.0.0.batch.53.0053.%.out":
                                               "out\nerr\n"}),
    ("sub/dir/%j.out", None, {"sub/dir/53.out": "out\nerr\n"}),  # parents are created
    ("lit\\%j.out", None, {"lit%j.out": "out\nerr\n"}),           # a backslash: no expansion
])
def test_output_patterns(tmp_path, output, error, files):
    proc, _ = run_job(tmp_path, "#!/bin/sh\necho out\necho err >&2\n", output=output,
                      error=error)
    assert proc.returncode == 0
    for name, text in files.items():
        assert (tmp_path / name).read_text() == text
    assert not (tmp_path / "slurm-53.out").exists()


def test_absolute_output_path(tmp_path):
    target = tmp_path / "abs" / "x.log"
    run_job(tmp_path, "#!/bin/sh\necho hi\n", output=str(target))
    assert target.read_text() == "hi\n"


@pytest.mark.parametrize("mode,expected", [(None, "new\n"), ("truncate", "new\n"),
                                           ("append", "old\nnew\n")])
def test_open_mode(tmp_path, mode, expected):
    (tmp_path / "slurm-53.out").write_text("old\n")
    run_job(tmp_path, "#!/bin/sh\necho new\n", open_mode=mode)
    assert (tmp_path / "slurm-53.out").read_text() == expected


def test_stdin_from_input_and_default_dev_null(tmp_path):
    (tmp_path / "in-53.txt").write_text("line one\n")
    run_job(tmp_path, "#!/bin/sh\ncat\n", input="in-%j.txt")
    assert (tmp_path / "slurm-53.out").read_text() == "line one\n"
    (tmp_path / "slurm-53.out").unlink()
    run_job(tmp_path, "#!/bin/sh\ncat; echo done\n")
    assert (tmp_path / "slurm-53.out").read_text() == "done\n"


@pytest.mark.parametrize("position,raw,task,fname", [
    (0, 61, 1, "slurm-60_1.out"), (1, 62, 5, "slurm-60_5.out"), (2, 60, 9, "slurm-60_9.out")])
def test_array_task_ids_and_default_name(tmp_path, position, raw, task, fname):
    proc, _ = run_job(tmp_path, "#!/bin/sh\necho $SLURM_JOB_ID $SLURM_ARRAY_JOB_ID "
                      "$SLURM_ARRAY_TASK_ID\n", job_id=60,
                      array={"indices": "1,5,9"},
                      extra_env={"AWS_BATCH_JOB_ARRAY_INDEX": str(position)})
    assert proc.returncode == 0
    assert (tmp_path / fname).read_text() == "%d 60 %d\n" % (raw, task)
    assert status(tmp_path, raw)["array_task_id"] == task


def test_batch_array_chunk_offset(tmp_path):
    """Arrays split in chunks of <= 10,000 on Batch: position = offset + Batch's index."""
    run_job(tmp_path, "#!/bin/sh\necho $SLURM_ARRAY_TASK_ID $SLURM_JOB_ID\n", job_id=100,
            array={"indices": "0-19999", "offset": 10000},
            extra_env={"AWS_BATCH_JOB_ARRAY_INDEX": "5"})
    assert (tmp_path / "slurm-100_10005.out").read_text() == "10005 10106\n"


# -------------------------------------------------------------------- interpreters

@pytest.mark.parametrize("script,expected", [
    ("#!/bin/sh\necho sh $0\n", re.compile(r"sh /.*/slurm_script\n")),
    ("#!/usr/bin/env python3\nimport os\nprint('py', os.environ['SLURM_JOB_ID'])\n", "py 53\n"),
    ("#!/bin/bash\necho bash ${BASH_VERSINFO[0]:+yes} \"$1\" \"$2\"\n", "bash yes a b c\n"),
    ("#!/usr/bin/python3 -u\nimport sys\nprint('args', sys.argv[1:])\n",
     "args ['a', 'b c']\n"),
])
def test_interpreter_from_shebang(tmp_path, script, expected):
    proc, _ = run_job(tmp_path, script, script_args=["a", "b c"])
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "slurm-53.out").read_text()
    if isinstance(expected, str):
        assert text == expected
    else:
        assert expected.fullmatch(text), text


def test_task_pid_is_the_script(tmp_path):
    run_job(tmp_path, "#!/bin/bash\necho $$ $SLURM_TASK_PID\n")
    pid, task_pid = (tmp_path / "slurm-53.out").read_text().split()
    assert pid == task_pid


# -------------------------------------------------------------------- scripts that cannot run

def test_bad_interpreter_is_reported(tmp_path):
    proc, _ = run_job(tmp_path, "#!/nonexistent/interp -x\necho never\n")
    assert proc.returncode == 2  # errno ENOENT, as slurmstepd exits
    text = (tmp_path / "slurm-53.out").read_text()
    assert re.fullmatch(STAMP + r" error: execve\(\): bad interpreter\(/nonexistent/interp -x\): "
                        r"No such file or directory\n", text), text
    assert status(tmp_path)["state"] == "FAILED"


def test_script_without_shebang_is_reported(tmp_path):
    proc, _ = run_job(tmp_path, "echo no shebang\n")
    assert proc.returncode != 0
    text = (tmp_path / "slurm-53.out").read_text()
    assert re.fullmatch(STAMP + r" error: execve\(\): /\S+/slurm_script: Exec format error\n",
                        text), text


def test_interpreter_that_is_not_executable(tmp_path):
    interp = tmp_path / "notexec"
    interp.write_text("#!/bin/sh\n")
    interp.chmod(0o644)
    proc, _ = run_job(tmp_path, "#!%s\necho never\n" % interp)
    assert proc.returncode == 13
    assert "Permission denied" in (tmp_path / "slurm-53.out").read_text()


def test_unwritable_output_fails_the_job_with_a_message(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    if os.access(str(ro), os.W_OK):
        pytest.skip("running as root: permissions are not enforced")
    proc, _ = run_job(tmp_path, "#!/bin/sh\necho x\n", output=str(ro / "out.txt"))
    assert proc.returncode == 1
    assert "Could not open stdout file %s" % (ro / "out.txt") in proc.stderr.decode()
    assert status(tmp_path)["state"] == "FAILED"


def test_missing_work_dir_goes_to_tmp(tmp_path):
    missing = tmp_path / "nowhere"
    proc, _ = run_job(tmp_path, "#!/bin/sh\npwd\n", work_dir=str(missing),
                      output=str(tmp_path / "o.txt"))
    assert proc.returncode == 0
    lines = (tmp_path / "o.txt").read_text().splitlines()
    assert re.fullmatch(STAMP + r" error: couldn't chdir to `%s': No such file or directory: "
                        r"going to /tmp instead" % re.escape(str(missing)), lines[0]), lines
    assert lines[1] == "/tmp"


def test_missing_descriptor(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "slurmshim.runtime.job"],
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert proc.returncode == 1
    assert b"no job descriptor" in proc.stderr


def test_script_from_url(tmp_path):
    src = tmp_path / "staged.sh"
    src.write_text("#!/bin/sh\necho staged\n")
    proc, _ = run_job(tmp_path, None, script_url="file://%s" % src)
    assert proc.returncode == 0
    assert (tmp_path / "slurm-53.out").read_text() == "staged\n"


# -------------------------------------------------------------------- environment

def test_export_all_uses_the_submit_environment(tmp_path):
    run_job(tmp_path, "#!/bin/sh\necho ${SUBMIT_ONLY:-none} ${NODE_ONLY:-none}\n")
    assert (tmp_path / "slurm-53.out").read_text() == "yes none\n"


def test_export_none_uses_the_node_environment(tmp_path):
    run_job(tmp_path, "#!/bin/sh\necho ${SUBMIT_ONLY:-none} ${NODE_ONLY:-none} "
            "$SLURM_EXPORT_ENV\n", export="NONE",
            environment={"SLURM_FOO": "1"})
    assert (tmp_path / "slurm-53.out").read_text() == "none from-node NONE\n"


def test_private_variables_do_not_reach_the_job(tmp_path):
    run_job(tmp_path, "#!/bin/sh\nenv\n", export="NONE")
    text = (tmp_path / "slurm-53.out").read_text()
    assert "SLURMSHIM_JOB_FILE" not in text
    assert "SLURMSHIM_STEP_DIR=%s" % (tmp_path / "stage/53/steps") in text


def test_umask(tmp_path):
    run_job(tmp_path, "#!/bin/sh\numask\n", umask="0027")
    assert (tmp_path / "slurm-53.out").read_text().strip() in ("0027", "027")


def test_restart_count_from_attempt(tmp_path):
    run_job(tmp_path, "#!/bin/sh\necho ${SLURM_RESTART_COUNT:-unset}\n",
            extra_env={"AWS_BATCH_JOB_ATTEMPT": "3"}, open_mode="append")
    run_job(tmp_path, "#!/bin/sh\necho ${SLURM_RESTART_COUNT:-unset}\n", open_mode="append")
    assert (tmp_path / "slurm-53.out").read_text() == "2\nunset\n"


# -------------------------------------------------------------------- cancel, time limit, signals

def _start(tmp_path, script, extra_env=None, **kw):
    desc = make_desc(tmp_path, script, **kw)
    proc = subprocess.Popen([sys.executable, "-m", "slurmshim.runtime.job"],
                            env=runtime_env(tmp_path, desc, extra_env), cwd=str(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert wait_for(lambda: (tmp_path / "started").exists()), "the script did not start"
    return proc


SLEEPER = "#!/bin/bash\ntouch started\nsleep 60\necho not reached\n"


@pytest.mark.parametrize("reason,text", [
    (None, "DUE to SIGNAL Terminated"),
    ("CANCELLED", "DUE to SIGNAL Terminated"),
    ("TIMEOUT", "DUE TO TIME LIMIT"),
    ("REQUEUE", "DUE TO JOB REQUEUE"),
])
def test_cancel_banner(tmp_path, reason, text):
    proc = _start(tmp_path, SLEEPER)
    if reason:
        request_signal(str(tmp_path / "stage" / "53"), reason)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    out = (tmp_path / "slurm-53.out").read_text()
    assert re.fullmatch(STAMP + r" error: \*\*\* JOB 53 ON node01 CANCELLED AT %s %s \*\*\*\n"
                        % (TS, text), out), out
    st = status(tmp_path)
    assert st["state"] == {None: "CANCELLED", "CANCELLED": "CANCELLED", "TIMEOUT": "TIMEOUT",
                           "REQUEUE": "REQUEUED"}[reason]
    assert (st["exit_code"], st["signal"]) == (0, 15)
    batch = json.loads((tmp_path / "stage/53/steps/step-batch.json").read_text())
    assert (batch["state"], batch["signal"]) == ("CANCELLED", 15)


# A command inside the job asks for the job's own stop (submitit's `scontrol requeue
# $SLURM_JOB_ID`): it writes control.json as the supervisor side does (requester = its pid),
# then the supervisor signals the runtime.  `hold` is how long the command takes to exit.
REQUESTER = """#!/bin/bash
%s - <<'PY'
import os, sys, time
sys.path.insert(0, %r)
from slurmshim.runtime.common import request_signal
request_signal(%r, "REQUEUE")
open("asked", "w").close()
time.sleep(%s)
open("requester-done", "w").close()
PY
sleep 60
"""


@pytest.mark.parametrize("hold,survives", [(1.0, True), (60, False)])
def test_stop_asked_from_inside_the_job_waits_for_the_asking_command(tmp_path, hold, survives):
    """Slurm replies to the client before slurmd kills the job: the asking command finishes
    (and exits 0) before the job is signalled -- but a command that hangs does not hold the stop
    back for more than REPLY_GRACE seconds."""
    from slurmshim.runtime.job import REPLY_GRACE
    script = REQUESTER % (sys.executable, str(REPO), str(tmp_path / "stage" / "53"), hold)
    desc = make_desc(tmp_path, script)
    proc = subprocess.Popen([sys.executable, "-m", "slurmshim.runtime.job"],
                            env=runtime_env(tmp_path, desc), cwd=str(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert wait_for(lambda: (tmp_path / "asked").exists()), "the requester did not run"
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert (tmp_path / "requester-done").exists() == survives
    assert time.time() - t0 < REPLY_GRACE + 10
    assert status(tmp_path)["state"] == "REQUEUED"
    assert "DUE TO JOB REQUEUE" in (tmp_path / "slurm-53.out").read_text()


def test_banner_goes_to_the_error_file(tmp_path):
    proc = _start(tmp_path, SLEEPER, output="o.txt", error="e.txt")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert (tmp_path / "o.txt").read_text() == ""
    assert "CANCELLED AT" in (tmp_path / "e.txt").read_text()


def test_trapped_sigterm_then_sigkill_after_kill_wait(tmp_path):
    script = "#!/bin/bash\ntrap 'echo got TERM' TERM\ntouch started\n" \
             "while true; do sleep 0.1; done\n"
    proc = _start(tmp_path, script, kill_wait=1)
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert 0.8 < time.time() - t0 < 10
    assert proc.returncode == 128 + signal.SIGKILL
    text = (tmp_path / "slurm-53.out").read_text()
    assert "got TERM" in text and "DUE to SIGNAL Terminated" in text


def test_runtime_enforces_the_time_limit(tmp_path):
    # a 1-minute job that "started" 59 s ago: its limit falls due in about a second
    start = time.time() - 59
    proc, _ = run_job(tmp_path, SLEEPER, time_limit=1, enforce_time_limit=True,
                      extra_env={"SLURMSHIM_START_TIME": repr(start)})
    assert proc.returncode == 128 + signal.SIGTERM
    assert "DUE TO TIME LIMIT ***" in (tmp_path / "slurm-53.out").read_text()
    assert status(tmp_path)["state"] == "TIMEOUT"


def test_sigterm_at_the_end_time_counts_as_timeout(tmp_path):
    """AWS Batch's own attemptDurationSeconds also ends in a bare SIGTERM."""
    proc = _start(tmp_path, SLEEPER, time_limit=1,
                  extra_env={"SLURMSHIM_START_TIME": repr(time.time() - 61)})
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert "DUE TO TIME LIMIT" in (tmp_path / "slurm-53.out").read_text()


# A batch script that reports USR1.  The runtime starts with USR1 blocked, and the script
# inherits that: a USR1 sent before the script has its handler waits, pending, until the script
# unblocks it -- instead of killing a script that is not ready yet (the signal below falls due
# about a second after the start: on a loaded machine, maybe before the script runs at all).
USR1_REPORTER = """#!%s
import signal, sys, time
def report(signum, frame):
    print("got USR1")
    sys.exit(0)
signal.signal(signal.SIGUSR1, report)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
time.sleep(50)
print("no signal")
""" % sys.executable


def _block_usr1():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})


def test_signal_option_reaches_the_batch_shell(tmp_path):
    desc = make_desc(tmp_path, USR1_REPORTER, time_limit=1,
                     signal={"signum": int(signal.SIGUSR1), "secs": 58, "batch_only": True})
    env = runtime_env(tmp_path, desc, {"SLURMSHIM_START_TIME": repr(time.time() - 1)})
    proc = subprocess.run([sys.executable, "-m", "slurmshim.runtime.job"], env=env,
                          cwd=str(tmp_path), preexec_fn=_block_usr1, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "slurm-53.out").read_text() == "got USR1\n"


@pytest.mark.parametrize("target", ["batch", "all"])
def test_other_signals_are_forwarded(tmp_path, target):
    script = "#!/bin/bash\ntrap 'echo shell got USR2; exit 0' USR2\ntouch started\n" \
             "for i in $(seq 200); do sleep 0.1; done\n"
    proc = _start(tmp_path, script)
    request_signal(str(tmp_path / "stage" / "53"), None, target=target)
    proc.send_signal(signal.SIGUSR2)
    proc.wait(timeout=30)
    assert proc.returncode == 0
    text = (tmp_path / "slurm-53.out").read_text()
    if target == "batch":
        assert text == "shell got USR2\n"
    else:  # the whole process group: the foreground sleep dies of it too
        assert text.endswith("shell got USR2\n")


def test_sigterm_as_a_plain_signal_is_not_a_cancel(tmp_path):
    """scancel -b -s TERM: the batch shell gets TERM; no banner, no SIGKILL later."""
    script = "#!/bin/bash\ntrap 'echo shell got TERM; exit 4' TERM\ntouch started\n" \
             "for i in $(seq 200); do sleep 0.1; done\n"
    proc = _start(tmp_path, script)
    request_signal(str(tmp_path / "stage" / "53"), None, target="batch")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.returncode == 4
    assert (tmp_path / "slurm-53.out").read_text() == "shell got TERM\n"
    assert status(tmp_path)["state"] == "FAILED"


def test_signal_to_steps_only(tmp_path):
    """scancel -s USR2 (no -b): the steps' tasks get it, the batch shell does not."""
    script = ("#!/bin/bash\ntrap 'echo shell got USR2' USR2\n"
              "srun bash -c 'trap \"echo task got USR2; exit 0\" USR2; touch started; "
              "while :; do sleep 0.1; done'\necho after step $?\n")
    proc = _start(tmp_path, script)
    request_signal(str(tmp_path / "stage" / "53"), None, target="steps")
    proc.send_signal(signal.SIGUSR2)
    proc.wait(timeout=30)
    assert proc.returncode == 0
    text = (tmp_path / "slurm-53.out").read_text()
    # every process of the step gets it (like Slurm's proctrack), so bash also reports the
    # foreground sleep it lost; the batch shell itself is untouched
    assert text.endswith("task got USR2\nafter step 0\n"), text
    assert "shell got" not in text


def test_background_processes_do_not_outlive_the_job(tmp_path):
    run_job(tmp_path, "#!/bin/bash\n(sleep 300; echo leak) &\necho $! > bg.pid\n")
    pid = int((tmp_path / "bg.pid").read_text())
    assert wait_for(lambda: not os.path.exists("/proc/%d" % pid) or
                    open("/proc/%d/stat" % pid).read().split()[2] == "Z", 30)


def test_tee_output_copies_to_the_runtime_stdout(tmp_path):
    proc, _ = run_job(tmp_path, "#!/bin/sh\necho to-out\necho to-err >&2\n", tee_output=True,
                      error="e.txt")
    assert proc.stdout == b"to-out\n" and proc.stderr == b"to-err\n"
    assert (tmp_path / "slurm-53.out").read_text() == "to-out\n"
    assert (tmp_path / "e.txt").read_text() == "to-err\n"


# -------------------------------------------------------------------- srun from the batch script

def test_srun_is_on_path_and_steps_are_recorded(tmp_path):
    proc, _ = run_job(tmp_path, "#!/bin/bash\nsrun -n 2 -l echo hi\nsrun true\n", ntasks=2,
                      ntasks_given=True)
    assert proc.returncode == 0, proc.stderr
    assert sorted((tmp_path / "slurm-53.out").read_text().splitlines()) == ["0: hi", "1: hi"]
    st = status(tmp_path)
    assert sorted(map(str, st["steps"])) == ["0", "1", "batch"]
    step0 = json.loads((tmp_path / "stage/53/steps/step-0.json").read_text())
    assert (step0["name"], step0["ntasks"], step0["state"]) == ("echo", 2, "COMPLETED")


def test_cancel_marks_running_steps_cancelled(tmp_path):
    proc = _start(tmp_path, "#!/bin/bash\ntouch started\nsrun sleep 60\n")
    assert wait_for(lambda: (tmp_path / "stage/53/steps/step-0.json").exists())
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    step0 = json.loads((tmp_path / "stage/53/steps/step-0.json").read_text())
    assert step0["state"] == "CANCELLED" and step0["end_time"]


def test_requeued_run_sets_previous_steps_aside(tmp_path):
    run_job(tmp_path, "#!/bin/bash\nsrun true\n")
    run_job(tmp_path, "#!/bin/bash\nsrun true\nsrun true\n")
    steps = tmp_path / "stage/53"
    assert sorted(p.name for p in (steps / "steps").glob("step-*.json")) == \
        ["step-0.json", "step-1.json", "step-batch.json"]
    assert (steps / "steps.prev1" / "step-0.json").exists()


# -------------------------------------------------------------------- multi-node

def test_two_nodes_main_runs_the_script_other_waits(tmp_path):
    # the step on both nodes (srun, silent) holds the script until the other node has joined
    desc = make_desc(tmp_path, "#!/bin/bash\nsrun true\necho main done\n",
                     nodes=2, node_names=["node01", "node02"], cpus_per_node=[1, 1])
    main = subprocess.Popen(
        [sys.executable, "-m", "slurmshim.runtime.job"],
        env=runtime_env(tmp_path, desc, placement_environ(node_index=0, num_nodes=2)),
        cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    other = subprocess.Popen(
        [sys.executable, "-m", "slurmshim.runtime.job"],
        env=runtime_env(tmp_path, desc, placement_environ(node_index=1, num_nodes=2,
                                                          main_node_addr="127.0.0.1")),
        cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert main.wait(timeout=30) == 0
    assert other.wait(timeout=30) == 0, other.stderr.read()
    assert (tmp_path / "slurm-53.out").read_text() == "main done\n"
    st = status(tmp_path)
    assert st["nodes_joined"]["1"]["name"] == "node02"


def test_other_node_exits_when_stopped(tmp_path):
    desc = make_desc(tmp_path, "#!/bin/sh\n", nodes=2, node_names=["n1", "n2"],
                     cpus_per_node=[1, 1])
    other = subprocess.Popen(
        [sys.executable, "-m", "slurmshim.runtime.job"],
        env=runtime_env(tmp_path, desc, placement_environ(node_index=1, num_nodes=2,
                                                          main_node_addr="127.0.0.1")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert wait_for(lambda: _catches(other.pid, signal.SIGTERM)), "no SIGTERM handler"
    other.send_signal(signal.SIGTERM)  # Batch stops the other nodes when the main one ends
    assert other.wait(timeout=10) == 0


def _catches(pid: int, signum: int) -> bool:
    """Whether the process has installed a handler for `signum` (SigCgt in /proc/PID/status):
    a signal sent earlier would find the default action."""
    try:
        with open("/proc/%d/status" % pid) as fh:
            caught = next(line for line in fh if line.startswith("SigCgt:"))
    except (OSError, StopIteration):
        return False
    return bool(int(caught.split()[1], 16) >> (signum - 1) & 1)


# -------------------------------------------------------------------- Python 3.8 in containers

@pytest.mark.skipif(not PY38.exists(), reason="no Python 3.8 here")
def test_runs_on_python_38(tmp_path):
    proc, _ = run_job(tmp_path, "#!/bin/bash\nsrun -n 2 -l echo $SLURM_JOB_ID\n",
                      python=str(PY38), ntasks=2, ntasks_given=True)
    assert proc.returncode == 0, proc.stderr
    assert sorted((tmp_path / "slurm-53.out").read_text().splitlines()) == ["0: 53", "1: 53"]


# A script that outlives its limit but traps SIGTERM and exits 0 (or any code of its own): the
# job is TIMEOUT, and the runtime -- whose exit status is all AWS Batch sees -- exits as if
# SIGTERM had killed it, never 0.  A cancel the script survives alike.
TRAPS_TERM = "#!/bin/bash\ntrap 'echo caught TERM; exit %d' TERM\ntouch started\n" \
             "while true; do sleep 0.1; done\n"


@pytest.mark.parametrize("code", [0, 3])
def test_stopped_job_never_exits_with_the_scripts_own_code(tmp_path, code):
    # a 1-minute job that "started" 61 s ago and gets its SIGTERM (Batch's backstop, or the
    # runtime's own timer) once the script's trap is in place
    proc = _start(tmp_path, TRAPS_TERM % code, time_limit=1,
                  extra_env={"SLURMSHIM_START_TIME": repr(time.time() - 61)})
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    out = (tmp_path / "slurm-53.out").read_text()
    assert "DUE TO TIME LIMIT ***" in out and out.endswith("caught TERM\n")
    st = status(tmp_path)
    assert (st["state"], st["exit_code"], st["signal"], st["rc"]) == \
        ("TIMEOUT", code, 0, 128 + signal.SIGTERM)


def test_cancelled_job_that_exits_0_still_exits_as_terminated(tmp_path):
    proc = _start(tmp_path, TRAPS_TERM % 0)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert status(tmp_path)["state"] == "CANCELLED"
    assert (tmp_path / "slurm-53.out").read_text().endswith("caught TERM\n")


def test_finished_job_keeps_the_scripts_exit_status(tmp_path):
    from slurmshim.runtime.job import stopped_rc
    assert stopped_rc({"exit_code": 3, "signal": 0, "rc": 3}, None, 15) == 3
    assert stopped_rc({"exit_code": 0, "signal": 9, "rc": 137}, "TIMEOUT", 15) == 137
    assert stopped_rc({"exit_code": 0, "signal": 0, "rc": 0}, "REQUEUE", 15) == 143
