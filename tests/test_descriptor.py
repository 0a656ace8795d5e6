"""The host-side builder (backends/descriptor.py): JobSpec + JobRecord + Partition -> the job
descriptor.  Secrets never reach it; resources, memory, time limits, arrays, GPUs and backend
flags are resolved as the runtime expects; and sbatch's own spec, through the descriptor and the
runtime, gives exactly real Slurm's environment (captures 70-73)."""
from __future__ import annotations

import pytest

from slurmshim.backends.descriptor import build_descriptor, inline_size, job_environment
from slurmshim.model import (ArraySpec, GresRequest, JobRecord, JobSpec, Partition, Resources,
                             SignalSpec)
from slurmshim.runtime.descriptor import decode_inline, encode_inline, normalize, task_ids
from slurmshim.runtime.env import slurm_environment

LOCAL = Partition(name="debug", backend="local", node_names=("node01",), cpus_per_node=2,
                  mem_per_node=24105, def_mem_per_cpu=1024)
BATCH = Partition(name="cloud", backend="batch", node_names=("b1", "b2"), cpus_per_node=8,
                  mem_per_node=30000, job_queue="q", efa=True, default_time=60)


def spec(**kw) -> JobSpec:
    s = JobSpec(script="#!/bin/bash\necho hi\n", command="/home/u/job.sh", job_name="job.sh",
                work_dir="/home/u", user="alice", uid=1000, group="alice", gid=1000,
                submit_host="login1",
                environment={"PATH": "/usr/bin", "HOME": "/home/u",
                             "SLURM_SUBMIT_DIR": "/home/u/sub"})
    for k, v in kw.items():
        setattr(s, k, v)
    return s


def build(s: JobSpec, part: Partition = LOCAL, nodes=("node01",), rec: JobRecord | None = None,
          **kw):
    rec = rec or JobRecord(job_id=42, name=s.job_name or "", user=s.user)
    return build_descriptor(s, rec, part, "oracle", list(nodes), "/state/spool", **kw)


# -------------------------------------------------------------------- secrets

SECRETS = {"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t",
           "GITHUB_TOKEN": "g", "MY_PASSWORD": "p", "DB_PASSWD": "p", "SSH_AUTH_SOCK": "/s",
           "OPENAI_API_KEY": "k", "SLURM_JWT": "jwt", "VAULT_TOKEN": "v",
           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/creds", "KRB5CCNAME": "FILE:/tmp/k"}


@pytest.mark.parametrize("part", [LOCAL, BATCH], ids=["local", "batch"])
def test_secrets_never_reach_the_descriptor(part):
    env = dict(SECRETS, PATH="/usr/bin", EDITOR="vi", SLURM_TIME_FORMAT="relative")
    desc = build(spec(environment=env), part, nodes=part.node_names[:1])
    assert set(desc["environment"]) == {"PATH", "EDITOR", "SLURM_TIME_FORMAT"}
    blob = encode_inline(desc)
    for value in ("AKIA", "jwt", "FILE:/tmp/k"):
        assert value not in str(decode_inline(blob))


def test_job_environment_reports_what_it_dropped():
    env, dropped = job_environment({"A_TOKEN": "x", "B": "y"}, local=True)
    assert env == {"B": "y"} and dropped == ["A_TOKEN"]


def test_host_only_settings_stay_home_for_remote_backends():
    env = {"AWS_PROFILE": "dev", "SLURMSHIM_STATE_DIR": "/s", "AWS_REGION": "eu-west-1"}
    assert set(build(spec(environment=env))["environment"]) == set(env)
    remote = build(spec(environment=env), BATCH, nodes=["b1"])["environment"]
    assert remote == {"AWS_REGION": "eu-west-1"}


def test_runtime_computed_slurm_variables_are_not_carried():
    env = {"SLURM_SUBMIT_DIR": "/home/u/sub", "SLURM_SUBMIT_HOST": "login1",
           "SLURM_JOB_ID": "7", "SLURM_EXPORT_ENV": "NONE", "PATH": "/usr/bin"}
    desc = build(spec(environment=env, export="NONE"))
    assert desc["environment"] == {"SLURM_EXPORT_ENV": "NONE", "PATH": "/usr/bin"}
    assert desc["submit_dir"] == "/home/u/sub" and desc["export"] == "NONE"


# -------------------------------------------------------------------- resources

@pytest.mark.parametrize("res,nodes,cpus", [
    (Resources(), 1, [1]),
    (Resources(ntasks=2, cpus_per_task=1), 1, [2]),
    (Resources(cpus_per_task=4), 1, [4]),
    (Resources(nodes_min=1, ntasks_per_node=2), 1, [2]),
    (Resources(nodes_min=2, ntasks=3), 2, [2, 1]),
    (Resources(nodes_min=2, ntasks_per_node=2, cpus_per_task=2), 2, [4, 4]),
    (Resources(exclusive=True), 1, [2]),
])
def test_cpus_per_node(res, nodes, cpus):
    desc = build(spec(resources=res), nodes=["node%02d" % (i + 1) for i in range(nodes)])
    assert desc["cpus_per_node"] == cpus and desc["nodes"] == nodes


def test_task_fields_keep_not_given_apart():
    desc = build(spec(resources=Resources()))
    assert (desc["ntasks"], desc["ntasks_given"], desc["cpus_per_task"]) == (None, False, None)
    desc = build(spec(resources=Resources(ntasks=2, cpus_per_task=1)))
    assert (desc["ntasks"], desc["ntasks_given"], desc["cpus_per_task"]) == (2, True, 1)


@pytest.mark.parametrize("res,per_node,per_cpu", [
    (Resources(), None, 1024),                       # the partition's DefMemPerCPU
    (Resources(mem_per_node=4096), 4096, None),
    (Resources(mem_per_node=0), 24105, None),        # --mem=0: all of the node
    (Resources(mem_per_cpu=2000), None, 2000),
    (Resources(mem_per_gpu=8000), None, None),
])
def test_memory(res, per_node, per_cpu):
    desc = build(spec(resources=res))
    assert (desc["mem_per_node"], desc["mem_per_cpu"]) == (per_node, per_cpu)


@pytest.mark.parametrize("spec_limit,rec_limit,part,expected", [
    (None, None, LOCAL, -1),
    (30, None, LOCAL, 30),
    (30, 45, LOCAL, 45),          # the controller's resolved value wins
    (None, None, BATCH, 60),      # partition default
    (-1, None, BATCH, -1),
])
def test_time_limit(spec_limit, rec_limit, part, expected):
    rec = JobRecord(job_id=1, time_limit=rec_limit)
    desc = build(spec(time_limit=spec_limit), part, nodes=["x"], rec=rec)
    assert desc["time_limit"] == expected


def test_gpus():
    res = Resources(gres=(GresRequest("gpu", "a100", 4),), gpus_per_task=1, cpus_per_task=8,
                    ntasks=4)
    desc = build(spec(resources=res))
    assert (desc["gpus"], desc["gpu_type"], desc["req_gpus_per_task"], desc["req_gpus"]) == \
        (4, "a100", 1, None)
    assert build(spec())["gpus"] is None


# -------------------------------------------------------------------- arrays, options, backends

def test_array():
    s = spec(array=ArraySpec(indices=(1, 3, 5, 6, 7), throttle=2, text="1,3,5-7:2%2"),
             output=None)
    rec = JobRecord(job_id=43, array_job_id=40, array_task_id=3)
    desc = build(s, rec=rec, first_raw_id=100)
    assert desc["job_id"] == 40
    assert desc["array"] == {"indices": "1,3,5-7", "first_raw_id": 100, "offset": 0, "step": 2}
    assert desc["output"] == "slurm-%A_%a.out"
    assert task_ids(normalize(desc), {"array_index": 1})["job_id"] == 101
    assert build(spec())["output"] == "slurm-%j.out"


def test_options_carried():
    s = spec(output="o-%j", error="e-%j", input="in", open_mode="append", export="NONE",
             signal=SignalSpec(signum=10, secs=90, batch_only=True), account="proj",
             qos="high", reservation="r", licenses="l:1", script_args=["a", "b"])
    desc = build(s, rec=JobRecord(job_id=42, restarts=2))
    assert (desc["output"], desc["error"], desc["input"], desc["open_mode"]) == \
        ("o-%j", "e-%j", "in", "append")
    assert desc["signal"] == {"signum": 10, "secs": 90, "batch_only": True}
    assert (desc["account"], desc["qos"], desc["reservation"], desc["licenses"]) == \
        ("proj", "high", "r", "l:1")
    assert desc["script_args"] == ["a", "b"] and desc["restart_count"] == 2
    assert desc["stage"] == "/state/spool" and desc["partition"] == "debug"
    assert desc["cluster_name"] == "oracle" and desc["submit_host"] == "login1"


@pytest.mark.parametrize("part,flags", [
    (LOCAL, (False, False, 0, False, "login")),
    (BATCH, (True, True, 6818, True, "inherit")),
])
def test_backend_flags(part, flags):
    desc = build(spec(), part, nodes=part.node_names[:1])
    assert (desc["enforce_time_limit"], desc["tee_output"], desc["agent_port"],
            desc["efa"], desc["user_env"]) == flags


def test_descriptor_is_valid_and_small():
    desc = build(spec())
    assert normalize(desc)["job_id"] == 42
    assert inline_size(desc) < 2000


@pytest.mark.parametrize("part", [LOCAL, BATCH], ids=["local", "batch"])
def test_multi_node_jobs_get_a_random_agent_token(part):
    two = Resources(nodes_min=2, ntasks_per_node=1)
    first = build(spec(resources=two), part, nodes=["n1", "n2"])
    again = build(spec(resources=two), part, nodes=["n1", "n2"])
    for desc in (first, again):
        assert len(desc["agent_token"]) == 32 and int(desc["agent_token"], 16) >= 0
    assert first["agent_token"] != again["agent_token"]      # per job, not derived
    # the runtime's main node and node agents use it as is (runtime/agent.py)
    from slurmshim.runtime.agent import main_token
    assert main_token(normalize(first), publishes=False) == first["agent_token"]
    assert build(spec(resources=two), part, nodes=["n1", "n2"],
                 agent_token="given")["agent_token"] == "given"
    # one node has no agents to authenticate
    assert "agent_token" not in build(spec(), part, nodes=["n1"])


@pytest.mark.parametrize("part", [LOCAL, BATCH], ids=["local", "batch"])
def test_no_kill_reaches_the_runtime_of_multi_node_jobs(part):
    two = Resources(nodes_min=2, ntasks_per_node=1)
    kept = build(spec(resources=two, extra={"no-kill": True}), part, nodes=["n1", "n2"])
    assert normalize(kept)["no_kill"] is True
    for s in (spec(resources=two), spec(resources=two, extra={"no-kill": False})):
        assert normalize(build(s, part, nodes=["n1", "n2"]))["no_kill"] is False


# -------------------------------------------------------------------- sbatch -> runtime = Slurm

CAPTURE_71 = """\
SLURMD_NODENAME=node01
SLURM_CLUSTER_NAME=oracle
SLURM_CONF=/opt/slurm/etc/slurm.conf
SLURM_CPUS_ON_NODE=2
SLURM_CPUS_PER_TASK=1
SLURM_GTIDS=0
SLURM_JOBID=59
SLURM_JOB_ACCOUNT=root
SLURM_JOB_CPUS_PER_NODE=2
SLURM_JOB_END_TIME=1826880132
SLURM_JOB_GID=0
SLURM_JOB_ID=59
SLURM_JOB_NAME=envn2
SLURM_JOB_NODELIST=node01
SLURM_JOB_NUM_NODES=1
SLURM_JOB_PARTITION=debug
SLURM_JOB_QOS=normal
SLURM_JOB_START_TIME=1795344132
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
SLURM_TASK_PID=6458
SLURM_TOPOLOGY_ADDR=node01
SLURM_TOPOLOGY_ADDR_PATTERN=node
SLURM_TRES_PER_TASK=cpu=1
"""


def test_sbatch_spec_through_the_runtime_gives_slurms_environment(monkeypatch):
    """`sbatch -J envn2 -n 2 -c 1 envdump.sh` (capture 71): the CLI's spec, the builder and the
    runtime's environment together reproduce real Slurm's SLURM_* set."""
    sbatch_args = pytest.importorskip("slurmshim.slurm.sbatch_args")
    monkeypatch.setenv("SLURM_CONF", "/opt/slurm/etc/slurm.conf")
    script = "#!/bin/bash\nenv | grep -E '^(SLURM|SBATCH)' | sort\n"
    s = sbatch_args.build_spec(
        ["-J", "envn2", "-n", "2", "-c", "1", "envdump.sh"],
        {"PATH": "/usr/bin:/bin", "HOME": "/root", "AWS_SECRET_ACCESS_KEY": "x"},
        read_script=lambda path: (script, "/home/user/work/envdump.sh"),
        cwd="/home/user/work", user="root", uid=0, group="root", gid=0, host="vm", pid=1,
        now=1795344130.0)
    s.partition = "debug"
    s.account = "root"
    rec = JobRecord(job_id=59, name="envn2", account="root", qos="normal")
    desc = normalize(build_descriptor(s, rec, LOCAL, "oracle", ["node01"], None))
    assert "AWS_SECRET_ACCESS_KEY" not in desc["environment"]
    env = slurm_environment(dict(desc, start_time=1795344132), {}, "vm", 6458, 0.0)
    got = {k: v for k, v in env.items() if k.startswith(("SLURM", "SBATCH"))}
    assert got == dict(line.split("=", 1) for line in CAPTURE_71.splitlines())
