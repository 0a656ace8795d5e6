"""scontrol's command line: keyword matching, argument handling, messages and exit codes
(captures 25-39, 46), first against an in-memory controller, then end to end through
`python -m slurmshim.cli.scontrol` with a private state directory."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from slurmshim.cli import scontrol as cli
from slurmshim.errors import InvalidJobId, SlurmError
from slurmshim.model import INFINITE, JobRecord, JobSpec, JobState, NodeStatus, Partition
from slurmshim.slurm.dependency import parse_dependency

REF = Path("/work/shared/reference/real-slurm-25.11")
_HEAD = re.compile(r"(?m)^\$ (.*)\n\[exit (\d+)\]\n--- stdout ---\n")


@pytest.fixture(autouse=True)
def _standard_time_format(monkeypatch):
    """Timestamps in the standard form, whatever the caller's SLURM_TIME_FORMAT."""
    monkeypatch.delenv("SLURM_TIME_FORMAT", raising=False)


def capture(name: str) -> list[tuple[str, int, str, str]]:
    text = (REF / name).read_text()
    heads = list(_HEAD.finditer(text))
    blocks = []
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[m.end():end]
        k = body.index("--- stderr ---\n")
        stdout, stderr = body[:k], body[k + len("--- stderr ---\n"):]
        if i + 1 < len(heads):
            stderr = stderr[:-1]
        blocks.append((m.group(1), int(m.group(2)), stdout, stderr))
    return blocks


def block(name: str, command: str, nth: int = 0) -> tuple[int, str, str]:
    found = [(e, o, r) for c, e, o, r in capture(name) if c == command]
    return found[nth]


def T(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").timestamp()


WORK = "/home/user/work"
DEBUG = Partition(name="debug", default=True, max_time=INFINITE, node_names=("node01",),
                  cpus_per_node=2, mem_per_node=24105, def_mem_per_cpu=1024)
LONG = Partition(name="long", max_time=2880, node_names=("node01",), cpus_per_node=2,
                 mem_per_node=24105, def_mem_per_cpu=1024)


def _spec(line: str, **kw) -> JobSpec:
    s = JobSpec(submit_line=line, work_dir=WORK, user="root", uid=0, group="root", gid=0,
                submit_host="localhost", submit_pid=26666)
    for k, v in kw.items():
        setattr(s, k, v)
    return s


def _rec(job_id, name, script, **kw) -> JobRecord:
    r = JobRecord(job_id=job_id, name=name, user="root", uid=0, partition="debug",
                  account="root", qos="normal", time_limit=INFINITE, work_dir=WORK,
                  command=f"{WORK}/{script}")
    for k, v in kw.items():
        setattr(r, k, v)
    return r


class FakeController:
    """The controller contract of cli/scontrol.py, in memory, recording the action calls."""

    def __init__(self):
        sub42 = T("2026-11-22T10:39:58")
        self.records = [
            _rec(7, "hello", "hello.sh", state=JobState.PENDING, reason="JobHeldUser",
                 hold="user", submit_time=T("2026-11-22T10:38:03")),
            _rec(19, "hello", "hello.sh", state=JobState.PENDING, reason="Dependency",
                 submit_time=T("2026-11-22T10:38:16"), dependency="afterok:7"),
            _rec(41, "sleeper", "sleep120.sh", state=JobState.RUNNING,
                 submit_time=T("2026-11-22T10:39:56"), eligible_time=T("2026-11-22T10:39:56"),
                 start_time=T("2026-11-22T10:39:56"), node_list="node01"),
            _rec(42, "arrrun", "sleep120.sh", state=JobState.PENDING, reason="JobArrayTaskLimit",
                 array_job_id=42, array_pending=(2, 3, 4), array_throttle=1, submit_time=sub42,
                 accrue_time=T("2026-11-22T10:39:59"), last_sched_eval=T("2026-11-22T10:40:00")),
            _rec(43, "arrrun", "sleep120.sh", state=JobState.RUNNING, array_job_id=42,
                 array_task_id=1, array_throttle=1, submit_time=sub42,
                 eligible_time=T("2026-11-22T10:39:59"), start_time=T("2026-11-22T10:40:00"),
                 node_list="node01"),
        ]
        arr = _spec("sbatch --array=1-4%1 -J arrrun sleep120.sh")
        self.specs = {7: _spec("sbatch -H hello.sh", hold=True),
                      19: _spec("sbatch --dependency=afterok:7 hello.sh",
                                dependency=parse_dependency("afterok:7")),
                      41: _spec("sbatch sleep120.sh"), 42: arr, 43: arr}
        self.config = SimpleNamespace(
            partitions={"debug": DEBUG, "long": LONG}, default_partition="debug",
            cluster_name="oracle", min_job_age=300, max_array_size=1001, kill_wait=30,
            path="/etc/slurmshim/slurmshim.toml", state_dir=None)
        self.state_dir = Path("/nonexistent/state")
        self.ledger = SimpleNamespace(peek_next_id=lambda: 78)
        self.calls: list[tuple] = []
        self.nodes = [NodeStatus(name="node01", partitions=("debug",), state="mixed",
                                 cpus_total=2, cpus_alloc=1, mem_total=24105, mem_alloc=1024),
                      NodeStatus(name="node01", partitions=("long",), state="mixed",
                                 cpus_total=2, cpus_alloc=1, mem_total=24105, mem_alloc=1024)]

    # views
    def squeue_jobs(self):
        return list(self.records)

    def find_jobs(self, text):
        base, _, task = text.partition("_")
        if not base.isdigit():
            raise InvalidJobId()
        n = int(base)
        recs = [r for r in self.records if r.job_id == n and r.array_job_id in (None, n)
                or r.array_job_id == n]
        if not recs:
            recs = [r for r in self.records if r.job_id == n]
        if task:
            t = int(task)
            recs = [r for r in recs if r.array_task_id == t or
                    (r.is_array_meta and t in r.array_pending)]
        if not recs:
            raise InvalidJobId()
        return recs

    def load_spec(self, rec):
        return self.specs[rec.job_id]

    def partition_of(self, rec):
        return self.config.partitions.get(rec.partition)

    def dependency_state(self, rec):
        return "waiting", ["waiting"]

    def node_statuses(self):
        return list(self.nodes)

    # actions
    def _known(self, text):
        try:
            self.find_jobs(text.replace("_[", "_").rstrip("]").split("-")[0].split(",")[0])
            return True
        except InvalidJobId:
            return False

    def hold(self, ids, admin):
        self.calls.append(("hold", tuple(ids), admin))
        return [f"Invalid job id specified for job {i}" for i in ids if not self._known(i)]

    def release(self, ids):
        self.calls.append(("release", tuple(ids)))
        return [f"Invalid job id specified for job {i}" for i in ids if not self._known(i)]

    def requeue(self, ids, hold=False):
        self.calls.append(("requeue", tuple(ids), hold))
        out = []
        for i in ids:
            if not self._known(i):
                out.append((i, "Invalid job id specified"))
            elif self.find_jobs(i)[0].state == JobState.PENDING:
                out.append((i, "Job is pending execution"))
        return out

    def update_job(self, job_id, changes):
        self.calls.append(("update", job_id, dict(changes)))
        self.find_jobs(job_id)
        for key, val in changes.items():
            if key == "Partition" and val not in self.config.partitions:
                raise SlurmError("Invalid partition name specified")
            if key not in ("TimeLimit", "Partition", "JobName", "Nice", "Priority", "Comment",
                           "ArrayTaskThrottle"):
                raise SlurmError(f"Update of this parameter is not supported: {key}={val}")


def run(args, *, ctl=None, stdin="", now=None):
    ctl = ctl or FakeController()
    out, err = io.StringIO(), io.StringIO()
    try:
        code = cli.run(args, out=out, err=err, stdin=io.StringIO(stdin), ctl=ctl, now=now)
    except SlurmError as exc:
        err.write(exc.render("scontrol"))
        code = exc.exit_code
    return code, out.getvalue(), err.getvalue(), ctl


# ------------------------------------------------------------------- show job

def test_show_job_matches_captures():
    now = T("2026-11-22T10:40:15")
    code, out, err, _ = run(["show", "job", "42"], now=now)
    _, stdout, _ = block("33_scontrol_show_job_array_parent.txt", "scontrol show job 42")
    assert (code, out, err) == (0, stdout, "")
    code, out, err, _ = run(["show", "job", "42_3"], now=now)
    _, stdout, _ = block("34_scontrol_show_job_array_task.txt", "scontrol show job 42_3")
    assert (code, out, err) == (0, stdout, "")
    code, out, _, _ = run(["show", "job", "19"], now=now)
    _, stdout, _ = block("36_scontrol_show_job_dependency.txt", "scontrol show job 19")
    assert out == stdout
    code, out, _, _ = run(["-o", "show", "job", "7"], now=now)
    _, stdout, _ = block("35_scontrol_show_job_oneliner.txt", "scontrol -o show job 7")
    assert out == stdout


@pytest.mark.parametrize("args", [["sho", "j", "7"], ["SHOW", "JOB", "7"], ["show", "jobid=7"],
                                  ["show", "jobs", "7"], ["show", "job", "7", "-o"]])
def test_keyword_prefixes(args):
    code, out, err, _ = run(args)
    assert code == 0 and out.startswith("JobId=7 JobName=hello") and err == ""


def test_show_job_errors():
    code, out, err, _ = run(["show", "job", "999999"])
    assert (code, out, err) == (1, "", "slurm_load_jobs error: Invalid job id specified\n")
    code, out, err, _ = run(["show", "job", "42_9"])
    assert (code, out, err) == (1, "Job 42_9 not found\n", "")
    code, out, err, _ = run(["show", "job", "abc"])
    assert (code, out, err) == (1, "", "scontrol_print_job error: Invalid job id specified\n")
    ctl = FakeController()
    ctl.records = []
    code, out, err, _ = run(["show", "job"], ctl=ctl)
    assert (code, out, err) == (0, "No jobs in the system\n", "")
    code, out, err, _ = run(["-o", "show", "job"], ctl=ctl)
    assert (code, out, err) == (0, "No jobs in the system\n", "")


def test_show_all_jobs_one_after_another():
    code, out, _, _ = run(["show", "job"])
    assert code == 0
    assert [m for m in re.findall(r"^JobId=(\d+)", out, re.M)] == ["7", "19", "41", "42", "43"]
    assert out.endswith("\n\n")


def test_keyword_errors():
    assert run(["sh", "job"])[:3] == (1, "", "invalid keyword: sh\n")
    assert run(["show"])[:3] == (1, "", "too few arguments for keyword:show\n")
    assert run(["show", "job", "7", "8"])[:3] == (1, "", "too many arguments for keyword:show\n")
    assert run(["show", "bogus"])[:3] == (1, "", "invalid entity:bogus for keyword:show\n")
    assert run(["hold"])[:3] == (1, "", "too few arguments for keyword:hold\n")
    assert run(["update"])[:3] == (1, "", "too few arguments for update keyword\n")


# ------------------------------------------------------------------- options

def test_version_help_and_bad_option():
    assert run(["-V"])[:3] == (0, "slurm 25.11.7\n", "")
    assert run(["--version"])[:3] == (0, "slurm 25.11.7\n", "")
    assert run(["version"])[:3] == (0, "slurm 25.11.7\n", "")
    code, out, err, _ = run(["--help"])
    assert code == 0 and out.startswith("scontrol [<OPTION>] [<COMMAND>]\n")
    code, out, err, _ = run(["--bogus"])
    assert (code, out) == (1, "")
    assert err == ("scontrol: unrecognized option '--bogus'\n"
                   'Try "scontrol --help" for more information\n')
    code, out, err, _ = run(["-Z"])
    assert err.startswith("scontrol: invalid option -- 'Z'\n") and code == 1


def test_ping():
    code, out, err, _ = run(["ping"])
    assert code == 0 and re.fullmatch(r"Slurmctld\(primary\) at \S+ is UP\n", out)


# ------------------------------------------------------------------- hold / release / requeue

def test_hold_release_unknown_37():
    for word in ("hold", "release"):
        code, out, err, _ = run([word, "999999"])
        e, o, r = block("37_scontrol_hold_release.txt", f"scontrol {word} 999999")
        assert (code, out, err) == (e, o, r)


def test_hold_kinds(monkeypatch):
    monkeypatch.setattr(cli, "_is_operator", lambda: True)
    _, _, _, ctl = run(["hold", "19"])
    assert ctl.calls == [("hold", ("19",), True)]
    _, _, _, ctl = run(["uhold", "19"])
    assert ctl.calls == [("hold", ("19",), False)]
    _, _, _, ctl = run(["holdu", "JobID=19"])
    assert ctl.calls == [("hold", ("19",), False)]
    _, _, _, ctl = run(["rel", "7,19"])
    assert ctl.calls == [("release", ("7",)), ("release", ("19",))]
    _, _, _, ctl = run(["release", "[41-43]"])
    assert [c[1] for c in ctl.calls] == [("41",), ("42",), ("43",)]
    _, _, _, ctl = run(["hold", "42_[2-3]"])
    assert ctl.calls == [("hold", ("42_[2-3]",), True)]
    monkeypatch.setattr(cli, "_is_operator", lambda: False)
    _, _, _, ctl = run(["hold", "19"])
    assert ctl.calls == [("hold", ("19",), False)]


def test_hold_garbage_id():
    code, out, err, _ = run(["hold", "abc"])
    assert (code, out) == (1, "")
    assert err == ("Invalid job id specified for job abc\n"
                   "slurm_suspend error:Invalid job id specified\n")


def test_requeue_38():
    code, out, err, ctl = run(["requeue", "7"])
    e, o, r = block("38_scontrol_requeue.txt", "scontrol requeue 7")
    assert (code, out, err) == (e, o, r)
    code, out, err, _ = run(["requeue", "999999"])
    e, o, r = block("38_scontrol_requeue.txt", "scontrol requeue 999999")
    assert (code, out, err) == (e, o, r)
    code, out, err, ctl = run(["requeuehold", "43"])
    assert (code, out, err) == (0, "", "") and ctl.calls == [("requeue", ("43",), True)]
    code, out, err, ctl = run(["requeue", "Incomplete", "41"])
    assert code == 0 and ctl.calls == [("requeue", ("41",), False)]
    code, out, err, ctl = run(["req", "jobid=41"])
    assert code == 0 and ctl.calls == [("requeue", ("41",), False)]


# ------------------------------------------------------------------- update

def test_update_39():
    code, out, err, ctl = run(["update", "job", "7", "TimeLimit=10"])
    assert (code, out, err) == (0, "", "")
    assert ctl.calls == [("update", "7", {"TimeLimit": "10"})]
    code, out, err, ctl = run(["update", "jobid=7", "TimeLimit=1-02:03:04"])
    assert code == 0 and ctl.calls == [("update", "7", {"TimeLimit": "1564"})]
    for cmd in ("scontrol update job 999999 TimeLimit=10", "scontrol update job 7 Bogus=1"):
        e, o, r = block("39_scontrol_update.txt", cmd)
        assert run(cmd.split()[1:])[:3] == (e, o, r)


def test_update_forms_and_errors():
    code, _, _, ctl = run(["update", "TimeLimit=UNLIMITED", "JobId=7", "Nice"])
    assert ctl.calls == [("update", "7", {"TimeLimit": "UNLIMITED", "Nice": "100"})]
    code, _, _, ctl = run(["update", "job", "7", "Partition", "long"])
    assert code == 0 and ctl.calls == [("update", "7", {"Partition": "long"})]
    code, out, err, _ = run(["update", "job", "7", "Partition=nosuch"])
    assert (code, err) == (1, "Invalid partition name specified for job 7\n")
    code, out, err, _ = run(["update", "job", "7", "TimeLimit=abc"])
    assert (code, err) == (1, "scontrol: error: Invalid TimeLimit value\n")
    code, out, err, _ = run(["update", "job", "7", "TimeLimit=+10"])
    assert (code, err) == (1, "scontrol: error: Cannot increment/decrement TimeLimit when set "
                              "to UNLIMITED.\n")
    code, out, err, _ = run(["update", "TimeLimit=+10", "job", "7"])
    assert err == "scontrol: error: JobId must precede TimeLimit increment or decrement\n"
    code, out, err, _ = run(["update", "job", "7"])
    assert (code, err) == (1, "No changes specified\n")
    code, out, err, _ = run(["update", "job", "7", "Dependency=afterok:1"])
    assert (code, err) == (1, "Update of this parameter is not supported: Dependency=afterok:1\n"
                              "Request aborted\n")
    code, out, err, _ = run(["update", "job", "7", "Priority=x"])
    assert err == "scontrol: error: Invalid Priority value: x\n"
    code, out, err, _ = run(["update", "job", "7", "Comment=a", "Reboot=yes"])
    assert err == "Update of this parameter is not supported: Reboot=yes\nRequest aborted\n"
    code, out, err, _ = run(["update", "job", "7", "TimeLimit"])
    assert err == "Invalid input: TimeLimit\nRequest aborted\n"


def test_update_by_name_and_other_entities():
    code, out, err, ctl = run(["update", "JobName=sleeper", "TimeLimit=5"])
    assert code == 0 and ctl.calls == [("update", "41", {"JobName": "sleeper", "TimeLimit": "5"})]
    code, out, err, _ = run(["update", "JobName=nosuch", "TimeLimit=5"])
    assert (code, err) == (1, "scontrol: error: No jobs with name 'nosuch'\n")
    code, out, err, _ = run(["update", "NodeName=node01", "State=DRAIN"])
    assert (code, err) == (1, "slurm_update error: Requested operation not supported on this "
                              "system\n")
    code, out, err, _ = run(["update", "Foo=bar"])
    assert code == 1 and err.startswith("No valid entity in update command\n")


# ------------------------------------------------------------------- partitions, nodes, config

def test_show_partition_27():
    for cmd in ("scontrol show partition", "scontrol show partition debug",
                "scontrol show partition nosuch"):
        e, o, r = block("27_scontrol_show_partition.txt", cmd)
        code, out, err, _ = run(cmd.split()[1:])
        # the fake's partitions carry DefMemPerCPU themselves (the oracle set it cluster-wide)
        out = out.replace("DefMemPerCPU=1024", "DefMemPerNode=UNLIMITED")
        assert (code, out, err) == (e, o, r)


def test_show_node():
    code, out, err, _ = run(["show", "node"])
    assert code == 0 and out.count("NodeName=node01 ") == 1
    assert "   Partitions=debug,long \n" in out and "State=MIXED" in out
    code, out, err, _ = run(["show", "node", "node[01-02]"])
    assert code == 1 and out.endswith("Node node02 not found\n")


def test_show_config():
    code, out, err, _ = run(["show", "config"], now=T("2026-11-22T10:37:59"))
    assert code == 0 and err == ""
    lines = out.split("\n")
    assert lines[0] == "Configuration data as of 2026-11-22T10:37:59"
    assert "ClusterName             = oracle" in lines
    assert "MinJobAge               = 300 sec" in lines
    assert "MaxArraySize            = 1001" in lines
    assert "SLURM_VERSION           = 25.11.7" in lines
    assert "NEXT_JOB_ID             = 78" in lines
    assert re.search(r"\n\nSlurmctld\(primary\) at \S+ is UP\n$", out)
    code, out, err, _ = run(["show", "config", "minjobage"])
    assert "MinJobAge               = 300 sec\n" in out and "ClusterName" not in out


def test_hostlists_25():
    for cmd in ("scontrol show hostnames node[01-03],gpu7",
                "scontrol show hostlist node01,node02,node03",
                "scontrol show hostlist node01,node02,node03,gpu7,gpu8,node10",
                "scontrol show hostlistsorted node03,node01,node02",
                "scontrol show hostnames"):
        e, o, r = block("25_scontrol_hostlist.txt", cmd)
        assert run(cmd.split()[1:])[:3] == (e, o, r)
    code, out, err, _ = run(["show", "hostlist", "-"], stdin="n3\nn1\nn2\n")
    assert out == "n[3,1-2]\n"
    code, out, err, _ = run(["show", "hostlist"])
    assert code == 1 and err == "invalid encode argument\n"


def test_interactive_mode():
    code, out, err, _ = run([], stdin="show partition long\noneliner\nshow partition debug\nquit\n")
    assert code == 0
    assert out.startswith("PartitionName=long\n   AllowGroups=ALL")
    assert "\nPartitionName=debug AllowGroups=ALL " in out


# ------------------------------------------------------------------- end to end

def _env(tmp_path: Path) -> dict[str, str]:
    conf = tmp_path / "slurmshim.toml"
    conf.write_text(textwrap.dedent("""\
        cluster_name = "shimtest"
        [partitions.debug]
        default = true
        cpus = 2
        memory = 4096
        [partitions.long]
        cpus = 2
        memory = 4096
        max_time = "2-00:00:00"
        """))
    env = dict(os.environ)
    env.update(SLURMSHIM_STATE_DIR=str(tmp_path / "state"), SLURMSHIM_CONF=str(conf),
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    env.pop("SLURM_TIME_FORMAT", None)
    return env


def _sh(env, prog, *args, cwd=None):
    p = subprocess.run([sys.executable, "-m", f"slurmshim.cli.{prog}", *args], env=env,
                       capture_output=True, text=True, cwd=cwd, timeout=60)
    return p.returncode, p.stdout, p.stderr


def test_end_to_end_views(tmp_path):
    env = _env(tmp_path)
    assert _sh(env, "scontrol", "show", "job") == (0, "No jobs in the system\n", "")
    assert _sh(env, "scontrol", "show", "job", "77") == (
        1, "", "slurm_load_jobs error: Invalid job id specified\n")
    code, out, err = _sh(env, "scontrol", "show", "partition")
    assert code == 0 and err == ""
    assert out.startswith("PartitionName=debug\n") and "\nPartitionName=long\n" in out
    assert "   MaxNodes=UNLIMITED MaxTime=2-00:00:00 MinNodes=0 " in out
    assert _sh(env, "scontrol", "show", "partition", "nosuch") == (
        1, "Partition nosuch not found\n", "")
    code, out, err = _sh(env, "scontrol", "show", "config")
    assert code == 0 and "\nClusterName             = shimtest\n" in out
    assert _sh(env, "scontrol", "show", "hostnames")[0] == 0
    code, out, err = _sh(env, "scontrol", "show", "node")
    assert code == 0 and out.startswith("NodeName=node01 ")


def test_end_to_end_held_job(tmp_path):
    env = _env(tmp_path)
    script = tmp_path / "hello.sh"
    script.write_text("#!/bin/bash\necho hello\n")
    code, out, err = _sh(env, "sbatch", "-H", str(script), cwd=tmp_path)
    assert code == 0, err
    job = out.split()[-1]
    try:
        code, out, err = _sh(env, "scontrol", "show", "job", job)
        assert code == 0, err
        assert f"JobId={job} JobName=hello.sh\n" in out
        assert "   Priority=0 " in out and " Reason=JobHeldUser " in out
        assert "   NumNodes=1-1 " in out
        code, out, err = _sh(env, "scontrol", "update", "job", job, "TimeLimit=1-02:03:04")
        assert (code, out, err) == (0, "", "")
        code, out, err = _sh(env, "scontrol", "show", "job", job)
        assert " TimeLimit=1-02:04:00 " in out
        code, out, err = _sh(env, "scontrol", "requeue", job)
        assert (code, out, err) == (1, "", f"Job is pending execution for job {job}\n")
        code, out, err = _sh(env, "scontrol", "-o", "show", "job", job)
        assert out.count("\n") == 1 and out.startswith(f"JobId={job} ")
        assert _sh(env, "scontrol", "hold", "999999") == (
            1, "", "Invalid job id specified for job 999999\n"
                   "slurm_suspend error:Invalid job id specified\n")
    finally:
        _sh(env, "scancel", job)
