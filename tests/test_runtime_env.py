"""The batch job environment, checked against real Slurm 25.11.7 (captures 70-73 in
/work/shared/reference/real-slurm-25.11, `env | grep -E '^(SLURM|SBATCH)' | sort` inside jobs on
cluster "oracle", node node01, 2 CPUs, DefMemPerCPU=1024), plus --export, GPU, EFA, multi-node
and restart rules from sbatch(1) / env.c."""
from __future__ import annotations

import pytest

from slurmshim.runtime.descriptor import normalize, placement_from_environ
from slurmshim.runtime.env import (EFA_DEFAULTS, batch_tasks, block_layout, export_mode,
                                   job_environment, slurm_environment)

CAPTURE_70 = """\
SLURMD_NODENAME=node01
SLURM_CLUSTER_NAME=oracle
SLURM_CONF=/opt/slurm/etc/slurm.conf
SLURM_CPUS_ON_NODE=1
SLURM_GTIDS=0
SLURM_JOBID=58
SLURM_JOB_ACCOUNT=root
SLURM_JOB_CPUS_PER_NODE=1
SLURM_JOB_END_TIME=1826880098
SLURM_JOB_GID=0
SLURM_JOB_ID=58
SLURM_JOB_NAME=envsingle
SLURM_JOB_NODELIST=node01
SLURM_JOB_NUM_NODES=1
SLURM_JOB_PARTITION=debug
SLURM_JOB_QOS=normal
SLURM_JOB_START_TIME=1795344098
SLURM_JOB_UID=0
SLURM_JOB_USER=root
SLURM_LOCALID=0
SLURM_MEM_PER_CPU=1024
SLURM_NNODES=1
SLURM_NODEID=0
SLURM_NODELIST=node01
SLURM_OOM_KILL_STEP=0
SLURM_PRIO_PROCESS=0
SLURM_PROCID=0
SLURM_SUBMIT_DIR=/home/user/work
SLURM_SUBMIT_HOST=vm
SLURM_TASKS_PER_NODE=1
SLURM_TASK_PID=6422
SLURM_TOPOLOGY_ADDR=node01
SLURM_TOPOLOGY_ADDR_PATTERN=node
"""

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

CAPTURE_72_1 = """\
SLURMD_NODENAME=node01
SLURM_ARRAY_JOB_ID=60
SLURM_ARRAY_TASK_COUNT=3
SLURM_ARRAY_TASK_ID=1
SLURM_ARRAY_TASK_MAX=9
SLURM_ARRAY_TASK_MIN=1
SLURM_ARRAY_TASK_STEP=1
SLURM_CLUSTER_NAME=oracle
SLURM_CONF=/opt/slurm/etc/slurm.conf
SLURM_CPUS_ON_NODE=1
SLURM_GTIDS=0
SLURM_JOBID=63
SLURM_JOB_ACCOUNT=root
SLURM_JOB_CPUS_PER_NODE=1
SLURM_JOB_END_TIME=1826880132
SLURM_JOB_GID=0
SLURM_JOB_ID=63
SLURM_JOB_NAME=envarr
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
SLURM_OOM_KILL_STEP=0
SLURM_PRIO_PROCESS=0
SLURM_PROCID=0
SLURM_SUBMIT_DIR=/home/user/work
SLURM_SUBMIT_HOST=vm
SLURM_TASKS_PER_NODE=1
SLURM_TASK_PID=6500
SLURM_TOPOLOGY_ADDR=node01
SLURM_TOPOLOGY_ADDR_PATTERN=node
"""

CAPTURE_72_5 = """\
SLURMD_NODENAME=node01
SLURM_ARRAY_JOB_ID=60
SLURM_ARRAY_TASK_COUNT=3
SLURM_ARRAY_TASK_ID=5
SLURM_ARRAY_TASK_MAX=9
SLURM_ARRAY_TASK_MIN=1
SLURM_ARRAY_TASK_STEP=1
SLURM_CLUSTER_NAME=oracle
SLURM_CONF=/opt/slurm/etc/slurm.conf
SLURM_CPUS_ON_NODE=1
SLURM_GTIDS=0
SLURM_JOBID=64
SLURM_JOB_ACCOUNT=root
SLURM_JOB_CPUS_PER_NODE=1
SLURM_JOB_END_TIME=1826880132
SLURM_JOB_GID=0
SLURM_JOB_ID=64
SLURM_JOB_NAME=envarr
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
SLURM_OOM_KILL_STEP=0
SLURM_PRIO_PROCESS=0
SLURM_PROCID=0
SLURM_SUBMIT_DIR=/home/user/work
SLURM_SUBMIT_HOST=vm
SLURM_TASKS_PER_NODE=1
SLURM_TASK_PID=6501
SLURM_TOPOLOGY_ADDR=node01
SLURM_TOPOLOGY_ADDR_PATTERN=node
"""

CAPTURE_72_9 = """\
SLURMD_NODENAME=node01
SLURM_ARRAY_JOB_ID=60
SLURM_ARRAY_TASK_COUNT=3
SLURM_ARRAY_TASK_ID=9
SLURM_ARRAY_TASK_MAX=9
SLURM_ARRAY_TASK_MIN=1
SLURM_ARRAY_TASK_STEP=1
SLURM_CLUSTER_NAME=oracle
SLURM_CONF=/opt/slurm/etc/slurm.conf
SLURM_CPUS_ON_NODE=1
SLURM_GTIDS=0
SLURM_JOBID=60
SLURM_JOB_ACCOUNT=root
SLURM_JOB_CPUS_PER_NODE=1
SLURM_JOB_END_TIME=1826880133
SLURM_JOB_GID=0
SLURM_JOB_ID=60
SLURM_JOB_NAME=envarr
SLURM_JOB_NODELIST=node01
SLURM_JOB_NUM_NODES=1
SLURM_JOB_PARTITION=debug
SLURM_JOB_QOS=normal
SLURM_JOB_START_TIME=1795344133
SLURM_JOB_UID=0
SLURM_JOB_USER=root
SLURM_LOCALID=0
SLURM_MEM_PER_CPU=1024
SLURM_NNODES=1
SLURM_NODEID=0
SLURM_NODELIST=node01
SLURM_OOM_KILL_STEP=0
SLURM_PRIO_PROCESS=0
SLURM_PROCID=0
SLURM_SUBMIT_DIR=/home/user/work
SLURM_SUBMIT_HOST=vm
SLURM_TASKS_PER_NODE=1
SLURM_TASK_PID=6536
SLURM_TOPOLOGY_ADDR=node01
SLURM_TOPOLOGY_ADDR_PATTERN=node
"""

CAPTURE_73 = """\
SLURMD_NODENAME=node01
SLURM_CLUSTER_NAME=oracle
SLURM_CONF=/opt/slurm/etc/slurm.conf
SLURM_CPUS_ON_NODE=2
SLURM_GTIDS=0
SLURM_JOBID=61
SLURM_JOB_ACCOUNT=root
SLURM_JOB_CPUS_PER_NODE=2
SLURM_JOB_END_TIME=1826880136
SLURM_JOB_GID=0
SLURM_JOB_ID=61
SLURM_JOB_NAME=envntpn
SLURM_JOB_NODELIST=node01
SLURM_JOB_NUM_NODES=1
SLURM_JOB_PARTITION=debug
SLURM_JOB_QOS=normal
SLURM_JOB_START_TIME=1795344136
SLURM_JOB_UID=0
SLURM_JOB_USER=root
SLURM_LOCALID=0
SLURM_MEM_PER_CPU=1024
SLURM_NNODES=1
SLURM_NODEID=0
SLURM_NODELIST=node01
SLURM_NPROCS=2
SLURM_NTASKS=2
SLURM_NTASKS_PER_NODE=2
SLURM_OOM_KILL_STEP=0
SLURM_PRIO_PROCESS=0
SLURM_PROCID=0
SLURM_SUBMIT_DIR=/home/user/work
SLURM_SUBMIT_HOST=vm
SLURM_TASKS_PER_NODE=2
SLURM_TASK_PID=6562
SLURM_TOPOLOGY_ADDR=node01
SLURM_TOPOLOGY_ADDR_PATTERN=node
"""


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



def parse(text: str) -> dict:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def slurm_only(env: dict) -> dict:
    return {k: v for k, v in env.items() if k.startswith(("SLURM", "SBATCH"))}


def oracle_desc(**kw) -> dict:
    """A job on the capture cluster, as the host would describe it."""
    d = {"version": 1, "job_id": 58, "name": "envsingle", "partition": "debug",
         "account": "root", "qos": "normal", "user": "root", "uid": 0, "group": "root",
         "gid": 0, "cluster_name": "oracle", "submit_dir": "/home/user/work",
         "submit_host": "vm", "work_dir": "/home/user/work", "script": "#!/bin/bash\n",
         "nodes": 1, "node_names": ["node01"], "cpus_per_node": [1], "mem_per_cpu": 1024,
         "time_limit": -1, "slurm_conf": "/opt/slurm/etc/slurm.conf",
         "environment": {"PATH": "/usr/bin:/bin", "HOME": "/root"}}
    d.update(kw)
    return normalize(d)


ARRAY = {"indices": "1,5,9", "first_raw_id": 63}

CASES = [
    # id, descriptor overrides, AWS_BATCH_* placement, task pid, start time, expected
    ("70 single", {}, {}, 6422, 1795344098, CAPTURE_70),
    ("71 -n2 -c1", dict(job_id=59, name="envn2", ntasks=2, ntasks_given=True, cpus_per_task=1,
                        cpus_per_node=[2]), {}, 6458, 1795344132, CAPTURE_71),
    ("72 array 1", dict(job_id=60, name="envarr", array=ARRAY),
     {"AWS_BATCH_JOB_ARRAY_INDEX": "0"}, 6500, 1795344132, CAPTURE_72_1),
    ("72 array 5", dict(job_id=60, name="envarr", array=ARRAY),
     {"AWS_BATCH_JOB_ARRAY_INDEX": "1"}, 6501, 1795344132, CAPTURE_72_5),
    ("72 array 9 keeps the array id", dict(job_id=60, name="envarr", array=ARRAY),
     {"AWS_BATCH_JOB_ARRAY_INDEX": "2"}, 6536, 1795344133, CAPTURE_72_9),
    ("73 -N1 --ntasks-per-node=2", dict(job_id=61, name="envntpn", ntasks_per_node=2,
                                        cpus_per_node=[2]), {}, 6562, 1795344136, CAPTURE_73),
    ("75 batch step of -n 2", dict(job_id=65, name="envstep", ntasks=2, ntasks_given=True,
                                   cpus_per_node=[2]), {}, 6810, 1795344166, CAPTURE_75_BATCH),
]


@pytest.mark.parametrize("overrides,aws,pid,start,expected",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matches_real_slurm(overrides, aws, pid, start, expected):
    desc = oracle_desc(**overrides)
    env = slurm_environment(desc, placement_from_environ(aws), "vm", pid, float(start))
    assert slurm_only(env) == parse(expected)


@pytest.mark.parametrize("overrides,aws,pid,start,expected",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_full_job_environment_adds_nothing_slurm_like(overrides, aws, pid, start, expected):
    """job_environment (what the script really gets) has exactly Slurm's SLURM_* set, apart
    from our step directory variable."""
    desc = oracle_desc(**overrides)
    node_env = {"PATH": "/usr/local/bin:/usr/bin", "SLURMSHIM_JOB_FILE": "/x"}
    node_env.update(aws)
    env = job_environment(desc, placement_from_environ(node_env), node_env, "vm", pid,
                          float(start))
    assert slurm_only(env) == parse(expected)
    assert "SLURMSHIM_JOB_FILE" not in env
    assert env["ENVIRONMENT"] == "BATCH" and env["HOSTNAME"] == "node01"


def test_start_time_from_descriptor_wins_over_now():
    env = slurm_environment(oracle_desc(start_time=1000, time_limit=10), {}, "vm", 1, 5000.0)
    assert env["SLURM_JOB_START_TIME"] == "1000"
    assert env["SLURM_JOB_END_TIME"] == str(1000 + 600)


@pytest.mark.parametrize("limit,end", [(-1, 365 * 86400), (0, 0), (1, 60), (90, 5400)])
def test_end_time(limit, end):
    env = slurm_environment(oracle_desc(time_limit=limit), {}, "vm", 1, 100.0)
    assert int(env["SLURM_JOB_END_TIME"]) - int(env["SLURM_JOB_START_TIME"]) == end


@pytest.mark.parametrize("attempt,restarts,expected", [
    ("1", 0, None), ("2", 0, "1"), ("1", 2, "2"), ("3", 1, "3")])
def test_restart_count_only_when_restarted(attempt, restarts, expected):
    place = placement_from_environ({"AWS_BATCH_JOB_ATTEMPT": attempt})
    env = slurm_environment(oracle_desc(restart_count=restarts), place, "vm", 1, 0.0)
    assert env.get("SLURM_RESTART_COUNT") == expected


@pytest.mark.parametrize("ntasks,cpus,cpt,expected", [
    (2, [2], 1, [2]), (3, [2, 2], 1, [2, 1]), (4, [2, 2], 1, [2, 2]), (5, [2, 2], 1, [3, 2]),
    (3, [4, 1], 1, [2, 1]), (2, [4, 4], 2, [1, 1]), (6, [1, 1, 1], 1, [2, 2, 2]),
    (1, [2, 2], 1, [1, 0]),
])
def test_block_layout(ntasks, cpus, cpt, expected):
    assert block_layout(ntasks, [c // cpt for c in cpus]) == expected


def test_multi_node_values():
    desc = oracle_desc(nodes=3, node_names=["node01", "node02", "node03"],
                       cpus_per_node=[4, 4, 2], ntasks=10, ntasks_given=True)
    envs = [slurm_environment(desc, placement_from_environ(
        {"AWS_BATCH_JOB_NODE_INDEX": str(i), "AWS_BATCH_JOB_NUM_NODES": "3",
         "AWS_BATCH_JOB_MAIN_NODE_INDEX": "0"}), "ip-10-0-0-%d" % i, 77, 100.0)
        for i in range(3)]
    assert envs[0]["SLURM_JOB_NODELIST"] == "node[01-03]"
    assert envs[0]["SLURM_JOB_CPUS_PER_NODE"] == "4(x2),2"
    assert envs[0]["SLURM_TASKS_PER_NODE"] == "4(x2),2"
    assert [e["SLURM_NODEID"] for e in envs] == ["0", "1", "2"]
    assert [e["SLURMD_NODENAME"] for e in envs] == ["node01", "node02", "node03"]
    assert [e["SLURM_CPUS_ON_NODE"] for e in envs] == ["4", "4", "2"]
    per_node = {"SLURM_NODEID", "SLURMD_NODENAME", "SLURM_CPUS_ON_NODE", "SLURM_TOPOLOGY_ADDR",
                "HOSTNAME"}
    for e in envs[1:]:
        assert {k: v for k, v in e.items() if k not in per_node} == \
            {k: v for k, v in envs[0].items() if k not in per_node}


def test_tasks_without_n_fill_the_cpus():
    desc = oracle_desc(cpus_per_node=[4], cpus_per_task=2)
    assert batch_tasks(desc) == {"num_tasks": 2, "explicit": False, "per_node": [2]}
    env = slurm_environment(desc, {}, "vm", 1, 0.0)
    assert "SLURM_NTASKS" not in env and env["SLURM_TASKS_PER_NODE"] == "2"
    assert env["SLURM_CPUS_PER_TASK"] == "2" and env["SLURM_TRES_PER_TASK"] == "cpu=2"


def test_gpus():
    desc = oracle_desc(gpus=4, gpu_type="a100", req_gpus_per_node=4, req_gpus_per_task=1,
                       cpus_per_task=8, cpus_per_node=[32])
    env = slurm_environment(desc, {}, "vm", 1, 0.0)
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1,2,3"
    assert env["GPU_DEVICE_ORDINAL"] == "0,1,2,3"
    assert env["SLURM_GPUS_ON_NODE"] == "4"
    assert env["SLURM_JOB_GPUS"] == "0,1,2,3"
    assert env["SLURM_GPUS_PER_NODE"] == "a100:4"
    assert env["SLURM_TRES_PER_TASK"] == "cpu=8,gres/gpu:a100=1"
    assert "SLURM_GPUS" not in env
    env = slurm_environment(oracle_desc(gpus=2, req_gpus=2), {}, "vm", 1, 0.0)
    assert env["SLURM_GPUS"] == "2"
    assert "CUDA_VISIBLE_DEVICES" not in slurm_environment(oracle_desc(), {}, "vm", 1, 0.0)


def test_memory_per_node_instead_of_per_cpu():
    env = slurm_environment(oracle_desc(mem_per_node=4096, mem_per_cpu=None), {}, "vm", 1, 0.0)
    assert env["SLURM_MEM_PER_NODE"] == "4096" and "SLURM_MEM_PER_CPU" not in env


def test_optional_job_fields():
    env = slurm_environment(oracle_desc(account=None, qos=None, reservation="maint",
                                        dependency="afterok:12", licenses="matlab:1"),
                            {}, "vm", 1, 0.0)
    assert "SLURM_JOB_ACCOUNT" not in env and "SLURM_JOB_QOS" not in env
    assert env["SLURM_JOB_RESERVATION"] == "maint"
    assert env["SLURM_JOB_DEPENDENCY"] == "afterok:12"
    assert env["SLURM_JOB_LICENSES"] == "matlab:1"


@pytest.mark.parametrize("open_mode,expected", [(None, None), ("append", "a"),
                                                ("truncate", "t")])
def test_open_mode_is_handed_to_steps(open_mode, expected):
    """--open-mode sets SLURM_OPEN_MODE=a|t in the job (slurmctld _set_job_env), which srun
    inside the job reads: submitit's `--open-mode=append` job and its `srun --output` step
    append to the same file."""
    env = slurm_environment(oracle_desc(open_mode=open_mode), {}, "vm", 1, 0.0)
    assert env.get("SLURM_OPEN_MODE") == expected


@pytest.mark.parametrize("export,mode", [
    (None, "ALL"), ("ALL", "ALL"), ("all,FOO=1", "ALL"), ("NONE", "NONE"), ("none", "NONE"),
    ("NIL", "NIL"), ("EDITOR,ARG1=test", "LIST")])
def test_export_mode(export, mode):
    assert export_mode(export) == mode


NODE_ENV = {"PATH": "/opt/conda/bin:/usr/bin", "HOME": "/home/container", "LANG": "C.UTF-8",
            "AWS_BATCH_JOB_ID": "abc", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/creds",
            "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4", "AWS_REGION": "eu-west-1",
            "SLURMSHIM_JOB": "xxx", "NODE_ONLY": "1"}


def _job_env(export, environment):
    desc = oracle_desc(export=export, environment=environment)
    return job_environment(desc, placement_from_environ(NODE_ENV), NODE_ENV, "vm", 1, 0.0)


def test_export_all_is_the_submit_environment():
    env = _job_env(None, {"PATH": "/home/u/bin:/usr/bin", "HOME": "/home/u", "FOO": "bar"})
    assert env["FOO"] == "bar" and env["HOME"] == "/home/u"
    assert env["PATH"] == "/home/u/bin:/usr/bin:/opt/conda/bin"  # the image's dirs appended
    assert "NODE_ONLY" not in env and "LANG" not in env
    # the node's infrastructure survives: Batch metadata and the job role's credentials
    assert env["AWS_BATCH_JOB_ID"] == "abc"
    assert env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] == "/v2/creds"
    assert env["AWS_REGION"] == "eu-west-1"
    assert "SLURMSHIM_JOB" not in env
    assert "SLURM_EXPORT_ENV" not in env and "SLURM_GET_USER_ENV" not in env
    assert env["OMPI_MCA_plm_slurm_args"] == "--external-launcher"


def test_export_none_loads_the_node_environment():
    env = _job_env("NONE", {"SLURM_MY_SETTING": "1"})
    assert env["HOME"] == "/home/container" and env["NODE_ONLY"] == "1"
    assert env["PATH"] == "/opt/conda/bin:/usr/bin"
    assert env["SLURM_MY_SETTING"] == "1"
    assert env["SLURM_EXPORT_ENV"] == "NONE" and env["SLURM_GET_USER_ENV"] == "1"
    assert "SLURMSHIM_JOB" not in env


def test_export_none_with_a_login_environment():
    """Local backend: the runtime inherits the supervisor's environment, so only its login
    variables stand for "the user's environment on the node"."""
    node = dict(NODE_ENV, AWS_SECRET_ACCESS_KEY="s", LC_ALL="C", SHELL="/bin/bash")
    desc = oracle_desc(export="NONE", environment={}, user_env="login")
    env = job_environment(desc, placement_from_environ(node), node, "vm", 1, 0.0)
    assert env["HOME"] == "/home/container" and env["LC_ALL"] == "C" and env["LANG"] == "C.UTF-8"
    assert "NODE_ONLY" not in env and "AWS_SECRET_ACCESS_KEY" not in env


def test_export_list_without_all():
    env = _job_env("EDITOR,ARG1=test", {"EDITOR": "vi", "ARG1": "test"})
    assert env["EDITOR"] == "vi" and env["ARG1"] == "test" and env["NODE_ONLY"] == "1"
    assert env["SLURM_EXPORT_ENV"] == "EDITOR,ARG1=test"


def test_export_nil_has_no_user_environment():
    env = _job_env("NIL", {"SLURM_X": "1"})
    assert "PATH" not in env and "HOME" not in env and "NODE_ONLY" not in env
    assert env["SLURM_X"] == "1" and env["AWS_BATCH_JOB_ID"] == "abc"
    assert "SLURM_GET_USER_ENV" not in env


def test_stale_job_variables_from_the_submitters_job_are_dropped():
    """sbatch run inside another job exports that job's SLURM_*; they must not leak."""
    env = _job_env(None, {"PATH": "/usr/bin", "SLURM_JOB_ID": "999", "SLURM_ARRAY_TASK_ID": "7",
                          "SLURM_NTASKS": "8", "SLURM_STEP_ID": "3", "SLURM_PROCID": "5",
                          "SLURM_TIME_FORMAT": "relative", "SLURM_EXPORT_ENV": "ALL"})
    assert env["SLURM_JOB_ID"] == "58"
    for gone in ("SLURM_ARRAY_TASK_ID", "SLURM_NTASKS", "SLURM_STEP_ID"):
        assert gone not in env
    assert env["SLURM_PROCID"] == "0"
    assert env["SLURM_TIME_FORMAT"] == "relative"       # a user setting, kept
    assert env["SLURM_EXPORT_ENV"] == "ALL"             # sbatch never overwrites it


def test_efa_defaults_on_multi_node_only():
    two = oracle_desc(efa=True, nodes=2, node_names=["n1", "n2"], cpus_per_node=[1, 1],
                      environment={"PATH": "/usr/bin", "FI_PROVIDER": "tcp"})
    env = job_environment(two, {}, {}, "vm", 1, 0.0)
    assert env["FI_PROVIDER"] == "tcp"  # the user's choice wins
    for k, v in EFA_DEFAULTS.items():
        if k != "FI_PROVIDER":
            assert env[k] == v
    one = oracle_desc(efa=True)
    assert "FI_EFA_USE_DEVICE_RDMA" not in job_environment(one, {}, {}, "vm", 1, 0.0)


def test_step_dir_variable():
    env = job_environment(oracle_desc(), {}, {}, "vm", 1, 0.0, step_dir="/s/steps")
    assert env["SLURMSHIM_STEP_DIR"] == "/s/steps"
