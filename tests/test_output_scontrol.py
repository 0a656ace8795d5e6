"""Golden tests: slurmshim.output.scontrol against a real Slurm 25.11.7 (captures 25-36, 44, 46,
47 in shared/reference/real-slurm-25.11).  The records below describe the captured jobs; the
text must match the capture byte for byte."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from slurmshim.model import (INFINITE, JobRecord, JobSpec, JobState, NodeStatus, Partition,
                             Resources)
from slurmshim.output import scontrol as out
from slurmshim.slurm.dependency import parse_dependency

REF = Path("/work/shared/reference/real-slurm-25.11")

_HEAD = re.compile(r"(?m)^\$ (.*)\n\[exit (\d+)\]\n--- stdout ---\n")


@pytest.fixture(autouse=True)
def _standard_time_format(monkeypatch):
    """Timestamps in the standard form, whatever the caller's SLURM_TIME_FORMAT."""
    monkeypatch.delenv("SLURM_TIME_FORMAT", raising=False)


def capture(name: str) -> list[tuple[str, int, str, str]]:
    """[(command, exit, stdout, stderr)] of one capture file."""
    text = (REF / name).read_text()
    heads = list(_HEAD.finditer(text))
    blocks = []
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[m.end():end]
        k = body.index("--- stderr ---\n")
        stdout, stderr = body[:k], body[k + len("--- stderr ---\n"):]
        if i + 1 < len(heads):
            stderr = stderr[:-1]              # the blank line the harness adds between blocks
        blocks.append((m.group(1), int(m.group(2)), stdout, stderr))
    return blocks


def block(name: str, command: str, nth: int = 0) -> tuple[int, str, str]:
    found = [(c, e, o, r) for c, e, o, r in capture(name) if c == command]
    if not found:
        pytest.skip(f"capture {name} has no `{command}`")
    _c, e, o, r = found[nth]
    return e, o, r


def T(text: str) -> float:
    """A local wall-clock time as in the captures."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").timestamp()


DEBUG = Partition(name="debug", default=True, max_time=INFINITE, node_names=("node01",),
                  cpus_per_node=2, mem_per_node=24105, def_mem_per_cpu=1024)
LONG = Partition(name="long", default=False, max_time=2880, node_names=("node01",),
                 cpus_per_node=2, mem_per_node=24105, def_mem_per_cpu=1024)
WORK = "/home/user/work"


def spec(submit_line: str, **kw) -> JobSpec:
    s = JobSpec(submit_line=submit_line, work_dir=WORK, user="root", uid=0, group="root", gid=0,
                submit_host="localhost", submit_pid=26666)
    for k, v in kw.items():
        setattr(s, k, v)
    return s


def record(job_id: int, name: str, script: str | None, **kw) -> JobRecord:
    r = JobRecord(job_id=job_id, name=name, user="root", uid=0, partition="debug",
                  account="root", qos="normal", time_limit=INFINITE, work_dir=WORK,
                  command=f"{WORK}/{script}" if script else "")
    extra = {k: kw.pop(k) for k in ("accrue_time", "last_sched_eval") if k in kw}
    for k, v in kw.items():
        setattr(r, k, v)
    for k, v in extra.items():
        setattr(r, k, v)                 # optional facts a richer ledger may keep
    return r


def job7(**kw) -> tuple[JobRecord, JobSpec]:
    r = record(7, "hello", "hello.sh", state=JobState.PENDING, reason="JobHeldUser", hold="user",
               submit_time=T("2026-11-22T10:38:03"))
    for k, v in kw.items():
        setattr(r, k, v)
    return r, spec("sbatch -H hello.sh", hold=True)


def job41() -> tuple[JobRecord, JobSpec, float]:
    t = T("2026-11-22T10:39:56")
    r = record(41, "sleeper", "sleep120.sh", state=JobState.RUNNING, submit_time=t,
               eligible_time=t, start_time=t, node_list="node01")
    return r, spec("sbatch sleep120.sh"), t + 19


def test_held_job_30():
    r, s = job7()
    e, stdout, _ = block("30_scontrol_show_job_held.txt", "scontrol show job 7")
    assert out.show_job(r, s, now=T("2026-11-22T10:40:00"), partition=DEBUG) == stdout


def test_running_job_31_and_oneliner_35():
    r, s, now = job41()
    _, stdout, _ = block("31_scontrol_show_job_running.txt", "scontrol show job 41")
    assert out.show_job(r, s, now=now, partition=DEBUG) == stdout
    _, stdout, _ = block("35_scontrol_show_job_oneliner.txt", "scontrol -o show job 41")
    assert out.show_job(r, s, now=now, partition=DEBUG, oneliner=True) == stdout
    r7, s7 = job7()
    _, stdout, _ = block("35_scontrol_show_job_oneliner.txt", "scontrol -o show job 7")
    assert out.show_job(r7, s7, now=now, partition=DEBUG, oneliner=True) == stdout


def finished(job_id, name, script, submit, start, end, line, **kw):
    return (record(job_id, name, script, submit_time=T(submit), eligible_time=T(submit),
                   start_time=T(start), end_time=T(end), node_list="node01", **kw),
            spec(line))


def test_completed_and_failed_32():
    r, s = finished(35, "hello", "hello.sh", "2026-11-22T10:39:17", "2026-11-22T10:39:17",
                    "2026-11-22T10:39:20", "sbatch --wait hello.sh", state=JobState.COMPLETED)
    _, stdout, _ = block("32_scontrol_show_job_completed.txt", "scontrol show job 35")
    assert out.show_job(r, s, now=T("2026-11-22T10:41:00"), partition=DEBUG) == stdout
    r, s = finished(36, "exit3", "exit3.sh", "2026-11-22T10:39:27", "2026-11-22T10:39:27",
                    "2026-11-22T10:39:30", "sbatch --parsable -W exit3.sh",
                    state=JobState.FAILED, reason="NonZeroExitCode", exit_code=3)
    _, stdout, _ = block("32_scontrol_show_job_completed.txt", "scontrol show job 36")
    assert out.show_job(r, s, now=T("2026-11-22T10:41:00"), partition=DEBUG) == stdout


def array42():
    sub = T("2026-11-22T10:39:58")
    meta = record(42, "arrrun", "sleep120.sh", state=JobState.PENDING, reason="JobArrayTaskLimit",
                  array_job_id=42, array_pending=(2, 3, 4), array_throttle=1, submit_time=sub,
                  accrue_time=T("2026-11-22T10:39:59"),
                  last_sched_eval=T("2026-11-22T10:40:00"))
    task = record(43, "arrrun", "sleep120.sh", state=JobState.RUNNING, array_job_id=42,
                  array_task_id=1, array_throttle=1, submit_time=sub,
                  eligible_time=T("2026-11-22T10:39:59"), start_time=T("2026-11-22T10:40:00"),
                  node_list="node01")
    s = spec("sbatch --array=1-4%1 -J arrrun sleep120.sh")
    return meta, task, s, T("2026-11-22T10:40:15")


def test_array_parent_33():
    meta, task, s, now = array42()
    _, stdout, _ = block("33_scontrol_show_job_array_parent.txt", "scontrol show job 42")
    text = out.show_jobs([(meta, s), (task, s)], now=now, partition=DEBUG)
    assert text == stdout


def test_array_task_34():
    meta, task, s, now = array42()
    _, stdout, _ = block("34_scontrol_show_job_array_task.txt", "scontrol show job 42_3")
    assert out.show_job(meta, s, now=now, partition=DEBUG, task_id=3) == stdout
    _, stdout, _ = block("34_scontrol_show_job_array_task.txt", "scontrol show job 42_1")
    assert out.show_job(task, s, now=now, partition=DEBUG) == stdout


def job19(**kw):
    t = T("2026-11-22T10:38:16")
    r = record(19, "hello", "hello.sh", state=JobState.PENDING, reason="Dependency",
               submit_time=t, dependency="afterok:7")
    for k, v in kw.items():
        setattr(r, k, v)
    return r, spec("sbatch --dependency=afterok:7 hello.sh",
                   dependency=parse_dependency("afterok:7"))


def test_dependency_36_and_hold_release_37():
    r, s = job19()
    now = T("2026-11-22T10:40:30")
    _, stdout, _ = block("36_scontrol_show_job_dependency.txt", "scontrol show job 19")
    assert out.show_job(r, s, now=now, partition=DEBUG) == stdout
    # explicit text from the controller's view of the targets gives the same line
    assert out.show_job(r, s, now=now, partition=DEBUG,
                        dependency_text="afterok:7(unfulfilled)") == stdout
    held, _ = job19(hold="admin", reason="JobHeldAdmin")
    _, stdout, _ = block("37_scontrol_hold_release.txt", "scontrol show job 19")
    assert out.show_job(held, s, now=now, partition=DEBUG) == stdout
    released, _ = job19(reason="None")
    _, stdout, _ = block("37_scontrol_hold_release.txt", "scontrol show job 19", 1)
    assert out.show_job(released, s, now=now, partition=DEBUG) == stdout


def test_requeue_38():
    r, s, _ = job41()
    r.state = JobState.COMPLETING
    r.restarts = 1
    r.start_time = T("2026-11-22T10:40:23")
    r.last_sched_eval = T("2026-11-22T10:39:56")
    _, stdout, _ = block("38_scontrol_requeue.txt", "scontrol show job 41")
    assert out.show_job(r, s, now=T("2026-11-22T10:40:23"), partition=DEBUG) == stdout
    meta, task, s, now = array42()
    task.state = JobState.COMPLETING
    task.reason = "job_requeued_in_held_state"
    task.hold = "user"
    task.restarts = 1
    task.start_time = T("2026-11-22T10:40:23")
    task.last_sched_eval = T("2026-11-22T10:40:00")
    _, stdout, _ = block("38_scontrol_requeue.txt", "scontrol show job 43")
    assert out.show_job(task, s, now=T("2026-11-22T10:40:23"), partition=DEBUG) == stdout


def test_update_39():
    r, s = job7(time_limit=10)
    _, stdout, _ = block("39_scontrol_update.txt", "scontrol show job 7")
    assert out.show_job(r, s, now=T("2026-11-22T10:40:23"), partition=DEBUG) == stdout


def test_show_job_all_47_prefix():
    """`scontrol show job`: records one after the other, each ending in a blank line."""
    jobs = [
        finished(1, "hello", "hello.sh", "2026-11-22T10:38:03", "2026-11-22T10:38:04",
                 "2026-11-22T10:38:06", "sbatch hello.sh", state=JobState.COMPLETED),
        finished(2, "hello", "hello.sh", "2026-11-22T10:38:03", "2026-11-22T10:38:04",
                 "2026-11-22T10:38:06", "sbatch --parsable hello.sh", state=JobState.COMPLETED),
        finished(3, "wrap", None, "2026-11-22T10:38:03", "2026-11-22T10:38:07",
                 "2026-11-22T10:38:07", "sbatch --wrap=hostname", state=JobState.COMPLETED),
        finished(4, "hello", None, "2026-11-22T10:38:03", "2026-11-22T10:38:07",
                 "2026-11-22T10:38:09", "sbatch", state=JobState.COMPLETED),
    ]
    for r, s in jobs:
        if not r.command:
            r.command = "(null)"
    _, stdout, _ = block("47_scontrol_show_job_all.txt", "scontrol show job")
    text = out.show_jobs(jobs, now=T("2026-11-22T10:41:00"), partition=DEBUG)
    assert stdout.startswith(text)
    assert text.count("\n\nJobId=") == 3


def test_srun_job_without_batch_lines_46():
    """A job created by srun (BatchFlag=0): no StdErr/StdIn/StdOut lines; cancelled while
    pending: start = end = cancel time, empty NodeList, AllocTRES=(null)."""
    r = record(71, "hostname", None, state=JobState.CANCELLED, reason="PartitionConfig",
               submit_time=T("2026-11-22T10:42:47"), eligible_time=T("2026-11-22T10:42:47"),
               start_time=T("2026-11-22T10:52:57"), end_time=T("2026-11-22T10:52:57"),
               num_nodes=2, num_cpus=4, num_tasks=4, command="hostname",
               last_sched_eval=T("2026-11-22T10:42:47"))
    s = spec("srun -n 4 hostname", resources=Resources(ntasks=4), extra={"srun": True})
    _, stdout, _ = block("46_empty_queue.txt", "scontrol show job")
    first = stdout.split("\n\n")[0] + "\n\n"
    assert out.show_job(r, s, now=T("2026-11-22T10:53:00"), partition=DEBUG) == first


def test_no_jobs_46():
    _, stdout, _ = block("46_empty_queue.txt", "scontrol show job", 1)
    assert out.show_jobs([], now=0) == stdout == "No jobs in the system\n"


def test_job_layout_options():
    """Lines the captures do not show: MinMemoryNode for --mem, TresPerTask/TresPerNode, a
    node range, StdErr with -e, Comment, Partition_Limit-free time limit defaults."""
    t = T("2026-11-22T10:00:00")
    r = record(90, "gpu", "gpu.sh", state=JobState.PENDING, reason="Resources", submit_time=t,
               num_cpus=8, num_tasks=2, num_nodes=2, comment="hello world")
    s = spec("sbatch gpu.sh", error="err-%j.txt", output="/tmp/o-%x.txt",
             resources=Resources(nodes_min=2, nodes_max=3, ntasks=2, cpus_per_task=4,
                                 mem_per_node=8000, gpus_per_node=2))
    text = out.show_job(r, s, now=t, partition=DEBUG)
    assert "   NumNodes=2-3 NumCPUs=8 NumTasks=2 CPUs/Task=4 ReqB:S:C:T=0:0:*:*\n" in text
    assert "   ReqTRES=cpu=8,mem=16000M,node=2,billing=8,gres/gpu=4\n" in text
    assert "   MinCPUsNode=4 MinMemoryNode=8000M MinTmpDiskNode=0\n" in text
    assert "   Comment=hello world\n   StdErr=/home/user/work/err-90.txt\n" in text
    assert "   StdOut=/tmp/o-gpu.txt\n   TresPerNode=gres/gpu:2\n   TresPerTask=cpu=4\n\n" in text
    assert text.endswith("TresPerTask=cpu=4\n\n")


def test_show_partition_27():
    for cmd, oneliner in (("scontrol show partition", False), ("scontrol -o show partition", True)):
        _, stdout, _ = block("27_scontrol_show_partition.txt", cmd)
        assert out.show_partition([DEBUG, LONG], oneliner=oneliner,
                                  cluster_def_mem_per_cpu=1024) == stdout
    _, stdout, _ = block("27_scontrol_show_partition.txt", "scontrol show partition debug")
    assert out.show_partition([DEBUG], cluster_def_mem_per_cpu=1024) == stdout
    e, stdout, _ = block("27_scontrol_show_partition.txt", "scontrol show partition nosuch")
    assert e == 1 and out.partition_not_found("nosuch") == stdout


def test_partition_def_mem_per_cpu_of_its_own():
    text = out.show_partition([DEBUG])
    assert "   DefMemPerCPU=1024 MaxMemPerNode=UNLIMITED\n" in text


def node01(state="idle", alloc=0, mem=0, load=1.10, free=23406, busy="2026-11-22T10:37:46"):
    n = NodeStatus(name="node01", partitions=("debug", "long"), state=state, cpus_total=2,
                   cpus_alloc=alloc, mem_total=24105, mem_alloc=mem, mem_free=free, cpu_load=load,
                   addr="127.0.0.1", hostname="vm",
                   os="Linux 6.18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0",
                   boot_time=T("2026-11-22T09:58:11"))
    n.sockets = 1
    n.cores_per_socket = 2
    n.slurmd_start_time = T("2026-11-22T10:37:46")
    n.last_busy_time = T(busy)
    return n


def test_show_node_28_29_44():
    _, stdout, _ = block("28_scontrol_show_node_idle.txt", "scontrol show node node01")
    assert out.show_node([node01()]) == stdout
    _, stdout, _ = block("28_scontrol_show_node_idle.txt", "scontrol -o show node")
    assert out.show_node([node01()], oneliner=True) == stdout
    _, stdout, _ = block("29_scontrol_show_node_busy.txt", "scontrol show node node01")
    assert out.show_node([node01("allocated", 2, 2048, busy="2026-11-22T10:39:30")]) == stdout
    _, stdout, _ = block("44_sinfo_mix.txt", "scontrol show node node01")
    assert out.show_node([node01("mixed", 1, 1024, 0.07, 23696, "2026-11-22T10:52:57")]) == stdout


def test_cloud_node_state_and_reason():
    n = NodeStatus(name="c-1", partitions=("cpu",), state="idle", flags="~", cpus_total=2,
                   mem_total=4096, reason="Not responding")
    text = out.show_node([n])
    assert "   State=IDLE+CLOUD+POWERED_DOWN ThreadsPerCore=1 " in text
    assert "CPULoad=N/A" in text and "FreeMem=N/A" in text
    assert text.endswith("CurrentWatts=0 AveWatts=0\n   Reason=Not responding\n\n")


def test_ping_28():
    _, stdout, _ = block("28_scontrol_show_node_idle.txt", "scontrol ping")
    assert out.ping_text("vm") == stdout


def test_show_config_26():
    """Every key in Slurm's order; with the oracle's site values the text is identical, and the
    values we do not set are Slurm's defaults (only site-specific keys differ)."""
    _, stdout, _ = block("26_scontrol_show_config.txt", "scontrol show config")
    lines = stdout.split("\n")
    m = re.match(r"Configuration data as of (.*)", lines[0])
    assert m
    now = T(m.group(1))
    defaults = dict(out.SHOW_CONFIG_DEFAULTS)
    facts = {}
    for line in lines[1:]:
        if " = " not in line:
            continue
        key, value = line[:23].rstrip(), line.split(" = ", 1)[1]
        if len(line) > 23 and line[23:26] != " = ":
            key = line.split(" = ", 1)[0]
        if defaults.get(key) != value:
            facts[key] = value
    text = out.show_config(facts, now=now, ping=out.ping_text("vm"))
    assert text == stdout
    site = {"AccountingStorageHost", "BOOT_TIME", "ClusterName", "DefMemPerCPU",
            "PluginDir", "ReturnToService", "SlurmctldHost[0]", "SlurmctldLogFile",
            "SlurmdLogFile", "SlurmdPidFile", "SlurmdSpoolDir", "SlurmctldPidFile", "SLURM_CONF",
            "StateSaveLocation"}
    assert set(facts) == site


def test_config_facts_ours():
    facts = out.config_facts(cluster_name="shim", min_job_age=300, max_array_size=100001,
                             kill_wait=30, partitions=[DEBUG, LONG], next_job_id=12,
                             host="login1")
    text = out.show_config(facts, now=T("2026-11-22T10:00:00"))
    assert "\nClusterName             = shim\n" in text
    assert "\nMinJobAge               = 300 sec\n" in text
    assert "\nMaxArraySize            = 100001\n" in text
    assert "\nKillWait                = 30 sec\n" in text
    assert "\nSLURM_VERSION           = 25.11.7\n" in text
    assert "\nNEXT_JOB_ID             = 12\n" in text
    assert text.endswith("X11Parameters           = (null)\n\nSlurmctld(primary) at login1 is UP\n")


def test_hostlists_25():
    _, stdout, _ = block("25_scontrol_hostlist.txt", "scontrol show hostnames node[01-03],gpu7")
    assert out.show_hostnames("node[01-03],gpu7") == stdout
    _, stdout, _ = block("25_scontrol_hostlist.txt",
                         "scontrol show hostlist node01,node02,node03,gpu7,gpu8,node10")
    assert out.show_hostlist("node01,node02,node03,gpu7,gpu8,node10") == stdout
    _, stdout, _ = block("25_scontrol_hostlist.txt",
                         "scontrol show hostlistsorted node03,node01,node02")
    assert out.show_hostlist("node03,node01,node02", sort=True) == stdout
