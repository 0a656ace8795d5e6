"""srun inside a job (slurmshim.runtime.srun): options, task environment, labels, exit codes,
error lines, step records and --multi-prog, against real Slurm 25.11.7 captures 74, 75 and 80
and srun(1)."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from slurmshim.runtime.common import StepDir
from slurmshim.runtime.srun import UsageError, parse_args, parse_multi_prog, StepError

REPO = Path(__file__).resolve().parents[1]
STAMP = r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\]"

CAPTURE_75_BATCH = """\
SLURMD_NODENAME=node01
SLURM_CLUSTER_NAME=oracle
SLURM_CONF=/opt/slurm/etc/slurm.conf
SLURM_CPUS_ON_NODE=2
SLURM_GTIDS=0
SLURM_JOBID=65
SLURM_JOB_ACCOUNT=root
SLURM_JOB_CPUS_PER_NODE=2
SLURM_JOB_END_TIME=1826880166
SLURM_JOB_GID=0
SLURM_JOB_ID=65
SLURM_JOB_NAME=envstep
SLURM_JOB_NODELIST=node01
SLURM_JOB_NUM_NODES=1
SLURM_JOB_PARTITION=debug
SLURM_JOB_QOS=normal
SLURM_JOB_START_TIME=1795344166
SLURM_JOB_UID=0
SLURM_JOB_USER=root
SLURM_LOCALID=0
SLURM_MEM_PER_CPU=1024
SLURM_NNODES=1
SLURM_NODEID=0
SLURM_NODELIST=node01
SLURM_NPROCS=2
SLURM_NTASKS=2
SLURM_OOM_KILL_STEP=0
SLURM_PRIO_PROCESS=0
SLURM_PROCID=0
SLURM_SUBMIT_DIR=/home/user/work
SLURM_SUBMIT_HOST=vm
SLURM_TASKS_PER_NODE=2
SLURM_TASK_PID=6810
SLURM_TOPOLOGY_ADDR=node01
SLURM_TOPOLOGY_ADDR_PATTERN=node
"""

CAPTURE_75_STEP = """\
SLURMD_DEBUG=2
SLURMD_NODENAME=node01
SLURM_CLUSTER_NAME=oracle
SLURM_CONF=/opt/slurm/etc/slurm.conf
SLURM_CPUS_ON_NODE=2
SLURM_DISTRIBUTION=cyclic
SLURM_GTIDS=0
SLURM_JOBID=65
SLURM_JOB_ACCOUNT=root
SLURM_JOB_CPUS_PER_NODE=2
SLURM_JOB_END_TIME=1826880166
SLURM_JOB_GID=0
SLURM_JOB_GROUP=root
SLURM_JOB_ID=65
SLURM_JOB_NAME=envstep
SLURM_JOB_NODELIST=node01
SLURM_JOB_NUM_NODES=1
SLURM_JOB_PARTITION=debug
SLURM_JOB_QOS=normal
SLURM_JOB_START_TIME=1795344166
SLURM_JOB_UID=0
SLURM_JOB_USER=root
SLURM_LAUNCH_NODE_IPADDR=127.0.0.1
SLURM_LOCALID=0
SLURM_MEM_PER_CPU=1024
SLURM_NNODES=1
SLURM_NODEID=0
SLURM_NODELIST=node01
SLURM_NPROCS=1
SLURM_NTASKS=1
SLURM_OOM_KILL_STEP=0
SLURM_PRIO_PROCESS=0
SLURM_PROCID=0
SLURM_SRUN_COMM_HOST=127.0.0.1
SLURM_SRUN_COMM_PORT=46485
SLURM_STEPID=0
SLURM_STEP_ID=0
SLURM_STEP_LAUNCHER_PORT=46485
SLURM_STEP_NODELIST=node01
SLURM_STEP_NUM_NODES=1
SLURM_STEP_NUM_TASKS=1
SLURM_STEP_TASKS_PER_NODE=1
SLURM_SUBMIT_DIR=/home/user/work
SLURM_SUBMIT_HOST=vm
SLURM_TASKS_PER_NODE=1
SLURM_TASK_PID=6832
SLURM_TOPOLOGY_ADDR=node01
SLURM_TOPOLOGY_ADDR_PATTERN=node
SLURM_UMASK=0022
"""


def parse(text: str) -> dict:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


# -------------------------------------------------------------------- option parsing

@pytest.mark.parametrize("argv,opts,command", [
    (["-n", "4", "hostname"], {"ntasks": "4"}, ["hostname"]),
    (["-n4", "hostname", "-n", "2"], {"ntasks": "4"}, ["hostname", "-n", "2"]),
    (["--ntasks=4", "-l", "echo"], {"ntasks": "4", "label": True}, ["echo"]),
    (["--ntasks", "4", "--label", "--", "-x"], {"ntasks": "4", "label": True}, ["-x"]),
    (["-ln2", "a"], {"label": True, "ntasks": "2"}, ["a"]),
    (["--lab", "--cpus-per=2", "a"], {"label": True, "cpus_per_task": "2"}, ["a"]),
    (["-K", "a"], {"kill_on_bad_exit": True}, ["a"]),
    (["--kill-on-bad-exit=0", "a"], {"kill_on_bad_exit": "0"}, ["a"]),
    (["--multi-prog", "conf", "x"], {"multi_prog": True}, ["conf", "x"]),
    (["--exclusive", "--mem=1G", "-t", "5", "a"], {}, ["a"]),
    (["-J", "name", "-D", "/tmp", "--export=NONE", "a"],
     {"job_name": "name", "chdir": "/tmp", "export": "NONE"}, ["a"]),
])
def test_parse_args(argv, opts, command):
    got, cmd, warnings = parse_args(argv)
    assert got == opts and cmd == command and warnings == []


def test_mpi_and_cpu_bind_warn():
    _, _, warnings = parse_args(["--mpi=pmix", "--cpu-bind=cores", "--mpi=none", "a"])
    assert warnings == ["option --mpi=pmix is not supported here and is ignored",
                        "option --cpu-bind=cores is not supported here and is ignored"]


@pytest.mark.parametrize("argv,message", [
    (["--bogus", "hostname"], "srun: unrecognized option '--bogus'"),
    (["-y", "a"], "srun: invalid option -- 'y'"),
    (["-n"], "srun: option requires an argument -- 'n'"),
    (["--ntasks"], "srun: option '--ntasks' requires an argument"),
    (["--label=3", "a"], "srun: option '--label' doesn't allow an argument"),
    (["--mem-per", "1", "a"], "srun: option '--mem-per' is ambiguous; possibilities: "
                              "'--mem-per-cpu' '--mem-per-gpu'"),
])
def test_usage_errors(argv, message):
    with pytest.raises(UsageError) as err:
        parse_args(argv)
    assert str(err.value) == message


# -------------------------------------------------------------------- running steps

def fake_job(tmp_path: Path, cpus: int = 4, job_id: int = 62, **env) -> dict:
    """The environment of a batch job on node01 with its step directory."""
    steps = StepDir(str(tmp_path / "steps"))
    steps.write_job_info({"job_id": job_id, "node_names": ["node01"], "cpus_per_node": [cpus],
                          "node_index": 0, "group": "root", "kill_wait": 2})
    e = parse(CAPTURE_75_BATCH)
    e.update({"SLURM_JOB_ID": str(job_id), "SLURM_JOBID": str(job_id),
              "SLURM_CPUS_ON_NODE": str(cpus),
              "SLURM_JOB_CPUS_PER_NODE": str(cpus), "SLURM_NTASKS": str(cpus),
              "SLURM_NPROCS": str(cpus), "SLURM_TASKS_PER_NODE": str(cpus),
              "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO),
              "SLURMSHIM_STEP_DIR": str(tmp_path / "steps"), "MY_VAR": "mine"})
    e.update(env)
    return e


def srun(tmp_path, args, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "slurmshim.runtime.srun"] + args,
                          env=env or fake_job(tmp_path), cwd=str(tmp_path),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                          preexec_fn=lambda: os.umask(0o022), **kw)


def lines(data: bytes) -> list:
    return data.decode().splitlines()


def test_n4_runs_four_tasks(tmp_path):
    p = srun(tmp_path, ["-n", "4", "bash", "-c", "echo $SLURM_PROCID $SLURM_LOCALID "
                        "$SLURM_STEP_ID $SLURM_NTASKS $SLURM_GTIDS"])
    assert p.returncode == 0, p.stderr
    assert sorted(lines(p.stdout)) == ["%d %d 0 4 0,1,2,3" % (i, i) for i in range(4)]


def test_default_task_count_comes_from_slurm_ntasks(tmp_path):
    """Capture 74: `srun -l hostname` in a -n 2 job runs two tasks."""
    p = srun(tmp_path, ["-l", "hostname"], env=fake_job(tmp_path, cpus=2))
    host = socket.gethostname()
    assert sorted(lines(p.stdout)) == ["0: " + host, "1: " + host]


@pytest.mark.parametrize("n,first,last", [(2, "0: x", "1: x"), (12, " 0: x", "11: x"),
                                          (101, "  0: x", "100: x")])
def test_label_width(tmp_path, n, first, last):
    p = srun(tmp_path, ["-n", str(n), "-l", "--overcommit", "echo", "x"])
    out = sorted(lines(p.stdout), key=lambda s: int(s.split(":")[0]))
    assert out[0] == first and out[-1] == last and len(out) == n


def test_label_on_stderr_and_unterminated_last_line(tmp_path):
    p = srun(tmp_path, ["-n", "1", "-l", "bash", "-c", "printf 'a\\nb'; echo e >&2"])
    assert p.stdout == b"0: a\n0: b\n"
    assert p.stderr == b"0: e\n"


def test_worst_exit_code_and_error_lines(tmp_path):
    p = srun(tmp_path, ["-n", "3", "bash", "-c", "exit $SLURM_PROCID"])
    assert p.returncode == 2
    assert lines(p.stderr) == ["srun: error: node01: task 1: Exited with exit code 1",
                               "srun: error: node01: task 2: Exited with exit code 2"]


def test_tasks_with_the_same_exit_are_grouped(tmp_path):
    """Captures 74 and 80: `srun -n 2 false`."""
    p = srun(tmp_path, ["-n", "2", "false"])
    assert p.returncode == 1
    assert lines(p.stderr) == ["srun: error: node01: tasks 0-1: Exited with exit code 1"]


def test_exit_7(tmp_path):
    """Capture 80: `srun bash -c "exit 7"` (one task: SLURM_NTASKS=1)."""
    p = srun(tmp_path, ["bash", "-c", "exit 7"], env=fake_job(tmp_path, cpus=1))
    assert p.returncode == 7
    assert lines(p.stderr) == ["srun: error: node01: task 0: Exited with exit code 7"]


def test_missing_command(tmp_path):
    """Capture 80: `srun -n 1 nosuchcommand` exits 2 with the execve line."""
    p = srun(tmp_path, ["-n", "1", "nosuchcommand"])
    assert p.returncode == 2
    err = lines(p.stderr)
    assert len(err) == 2 and "srun: error: node01: task 0: Exited with exit code 2" in err
    execve = [e for e in err if not e.startswith("srun:")][0]
    assert re.fullmatch(STAMP + r" error: execve\(\): nosuchcommand: No such file or directory",
                        execve), err


def test_task_killed_by_a_signal(tmp_path):
    p = srun(tmp_path, ["-n", "2", "bash", "-c", "[ $SLURM_PROCID = 1 ] && kill -9 $$; exit 3"])
    assert p.returncode == 128 + 9  # a signal beats any exit code
    assert sorted(lines(p.stderr)) == ["srun: error: node01: task 0: Exited with exit code 3",
                                       "srun: error: node01: task 1: Killed"]


def test_too_many_cpus(tmp_path):
    p = srun(tmp_path, ["-n", "8", "true"])
    assert p.returncode == 1
    assert lines(p.stderr) == ["srun: error: Unable to create step for job 62: More processors "
                               "requested than permitted"]


def test_step_records(tmp_path):
    env = fake_job(tmp_path)
    assert srun(tmp_path, ["-n", "2", "-c", "2", "true"], env=env).returncode == 0
    assert srun(tmp_path, ["-J", "named", "bash", "-c", "exit 4"], env=env).returncode == 4
    recs = {r["step_id"]: r for r in StepDir(str(tmp_path / "steps")).records()}
    assert set(recs) == {0, 1}
    r0, r1 = recs[0], recs[1]
    assert (r0["name"], r0["state"], r0["exit_code"], r0["signal"]) == ("true", "COMPLETED", 0, 0)
    assert (r0["ntasks"], r0["ncpus"], r0["nnodes"], r0["node_list"]) == (2, 4, 1, "node01")
    assert r0["start_time"] <= r0["end_time"] and r0["job_id"] == 62
    assert (r1["name"], r1["state"], r1["exit_code"], r1["ntasks"]) == ("named", "FAILED", 4, 4)


def test_step_environment_matches_capture_75(tmp_path):
    env = fake_job(tmp_path, cpus=2, job_id=65)
    p = srun(tmp_path, ["-n", "1", "bash", "-c", "env | grep -E '^(SLURM|SBATCH)' | sort"],
             env=env)
    got = parse(p.stdout.decode())
    want = parse(CAPTURE_75_STEP)
    for volatile in ("SLURM_TASK_PID", "SLURM_SRUN_COMM_PORT", "SLURM_STEP_LAUNCHER_PORT"):
        assert got.pop(volatile).isdigit()
        want.pop(volatile)
    assert got.pop("SLURMSHIM_STEP_DIR") == str(tmp_path / "steps")
    assert got == want


def test_per_task_output_files(tmp_path):
    p = srun(tmp_path, ["-n", "2", "-o", "out-%j.%s.%t.txt", "bash", "-c",
                        "echo $SLURM_PROCID; echo e$SLURM_PROCID >&2"])
    assert p.returncode == 0 and p.stdout == b""
    assert (tmp_path / "out-62.0.0.txt").read_text() == "0\ne0\n"
    assert (tmp_path / "out-62.0.1.txt").read_text() == "1\ne1\n"


def test_output_of_one_task_only(tmp_path):
    p = srun(tmp_path, ["-n", "3", "--output=1", "bash", "-c", "echo $SLURM_PROCID"])
    assert p.stdout == b"1\n"


def test_export_none(tmp_path):
    p = srun(tmp_path, ["--export=NONE", "-n", "1", "/usr/bin/env"])
    out = dict(l.split("=", 1) for l in lines(p.stdout))
    assert "MY_VAR" not in out and out["SLURM_JOB_ID"] == "62"
    p = srun(tmp_path, ["--export=MY_VAR,OTHER=1", "-n", "1", "/usr/bin/env"])
    out = dict(l.split("=", 1) for l in lines(p.stdout))
    assert out["MY_VAR"] == "mine" and out["OTHER"] == "1" and "PYTHONPATH" not in out


def test_kill_on_bad_exit(tmp_path):
    p = srun(tmp_path, ["-n", "2", "-K", "bash", "-c",
                        "[ $SLURM_PROCID = 0 ] && exit 5; sleep 30"])
    assert p.returncode in (5, 128 + 9)


def test_forwards_sigterm_to_tasks(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "slurmshim.runtime.srun", "-n", "2", "bash",
                             "-c", "touch started.$SLURM_PROCID; sleep 30"],
                            env=fake_job(tmp_path), cwd=str(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    import time
    end = time.time() + 15
    while time.time() < end and not all((tmp_path / ("started.%d" % i)).exists()
                                        for i in range(2)):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 128 + signal.SIGTERM
    assert proc.stderr.read() == b""  # a cancelled step does not report its tasks
    rec = StepDir(str(tmp_path / "steps")).records()[0]
    assert (rec["state"], rec["signal"]) == ("CANCELLED", 15)


def test_outside_a_job(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    p = srun(tmp_path, ["hostname"], env=env)
    assert p.returncode == 1 and b"SLURM_JOB_ID" in p.stderr


def test_unrecognized_option_like_slurm(tmp_path):
    """Capture 80: `srun --bogus hostname`."""
    p = srun(tmp_path, ["--bogus", "hostname"])
    assert p.returncode == 255
    assert p.stderr == b"srun: unrecognized option '--bogus'\n" \
                       b"Try \"srun --help\" for more information\n"


def test_no_command(tmp_path):
    p = srun(tmp_path, ["-n", "2"])
    assert (p.returncode, p.stderr) == (1, b"srun: fatal: No command given to execute.\n")


# -------------------------------------------------------------------- --multi-prog

SILLY = """\
###################################################################
# srun multiple program configuration file
#
# srun -n8 -l --multi-prog silly.conf
###################################################################
4-6       hostname
1,7       echo  task:%t
0,2-3     echo  offset:%o
"""


def test_multi_prog_man_page_example(tmp_path):
    (tmp_path / "silly.conf").write_text(SILLY)
    p = srun(tmp_path, ["-n8", "-l", "--overcommit", "--multi-prog", "silly.conf"])
    assert p.returncode == 0, p.stderr
    host = socket.gethostname()
    got = sorted(lines(p.stdout), key=lambda s: int(s.split(":")[0]))
    assert got == ["0: offset:0", "1: task:1", "2: offset:1", "3: offset:2",
                   "4: " + host, "5: " + host, "6: " + host, "7: task:7"]


def test_multi_prog_parsing(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text("# comment\n\n0 echo 'a b' c\\ d %t\n1-2 printf %o,\\\n  x\n* echo rest\n")
    count, progs = parse_multi_prog(str(conf), None)
    assert count == 3  # no -n: the highest rank decides ("*" covers the rest)
    assert progs[0] == ["echo", "a b", "c d", "0"]
    assert progs[1] == ["printf", "0,", "x"] and progs[2] == ["printf", "1,", "x"]
    count, progs = parse_multi_prog(str(conf), 5)
    assert count == 5 and progs[4] == ["echo", "rest"]


@pytest.mark.parametrize("text,ntasks,message", [
    ("0 echo a\n", 2, "Configuration file {p} invalid, no record for task id 1"),
    ("0-3 echo a\n", 2, "Invalid task id, 3 >= ntasks"),
    ("0\n", None, "Line 1 of configuration file {p} invalid"),
    ("3-1 echo\n", None, "Line 1 of configuration file {p} invalid"),
])
def test_multi_prog_errors(tmp_path, text, ntasks, message):
    conf = tmp_path / "c.conf"
    conf.write_text(text)
    with pytest.raises(StepError) as err:
        parse_multi_prog(str(conf), ntasks)
    assert str(err.value) == message.format(p=conf)


def test_multi_prog_missing_file(tmp_path):
    p = srun(tmp_path, ["-n", "2", "--multi-prog", "nope.conf"])
    assert p.returncode == 1
    assert p.stderr == b"srun: error: Unable to open configuration file nope.conf\n"
