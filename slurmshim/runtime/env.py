"""The environment a Slurm 25.11 batch job sees, computed from the job descriptor.  Pure.

`slurm_environment` gives the variables Slurm itself sets (SLURM_*, SLURMD_NODENAME, GPU and
ENVIRONMENT/HOSTNAME); `job_environment` puts them on top of the exported environment, honouring
--export the way sbatch and slurmd do:

* ALL (default): the submit-time environment.  The node's PATH entries that the submit PATH
  lacks are appended (a container image's tools stay reachable; the submitter's PATH still wins).
* NONE and a list without ALL: "Slurm will implicitly attempt to load the user's environment on
  the node where the script is being executed" (sbatch(1)): the node's environment is the base,
  with the exported SLURM_* and named variables on top (SLURM_GET_USER_ENV=1 is set, as slurmd
  leaves it).  The node's environment is the runtime's whole environment (descriptor user_env
  "inherit": a container's image environment), or only its login variables (HOME, USER, PATH,
  SHELL, LANG, LC_*, ...; user_env "login": the local backend, where the runtime inherits the
  supervisor's environment).
* NIL: only the exported SLURM_* variables.

On every mode the node's infrastructure variables (AWS_BATCH_*, ECS_*, AWS_CONTAINER_* -- the
job role's credentials endpoint --, AWS_EXECUTION_ENV) are kept.  Job-describing SLURM_* left
over from the submitter's own job (sbatch run inside a job) are dropped rather than leaked.

Values are identical on every node except the per-node ones (SLURM_NODEID, SLURMD_NODENAME,
SLURM_CPUS_ON_NODE, SLURM_TOPOLOGY_ADDR, HOSTNAME, SLURM_TASK_PID).
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .descriptor import (ENV_STEP_DIR, PRIVATE_ENV, compress_counts, compress_hostlist,
                         task_ids)

UNLIMITED_SECS = 365 * 24 * 3600  # SLURM_JOB_END_TIME for an UNLIMITED job: start + 365 days

EFA_DEFAULTS = {
    "FI_PROVIDER": "efa",
    "FI_EFA_USE_DEVICE_RDMA": "1",
    "FI_EFA_FORK_SAFE": "1",
    "NCCL_SOCKET_IFNAME": "^lo,docker",
}

# sbatch appends these so that an mpirun inside the job calls srun as an external launcher.
LAUNCHER_DEFAULTS = {
    "OMPI_MCA_plm_slurm_args": "--external-launcher",
    "PRTE_MCA_plm_slurm_args": "--external-launcher",
}

# what a login environment has (--export=NONE with user_env "login": the local backend, whose
# runtime inherits the supervisor's environment rather than a clean node's)
_LOGIN_NAMES = frozenset(("HOME", "USER", "LOGNAME", "SHELL", "PATH", "LANG", "LANGUAGE", "TZ",
                          "TMPDIR", "TERM", "MAIL"))

_INFRA_PREFIXES = ("AWS_BATCH_", "ECS_", "AWS_CONTAINER_")
_INFRA_NAMES = ("AWS_EXECUTION_ENV",)
_INFRA_DEFAULTS = ("AWS_REGION", "AWS_DEFAULT_REGION")

# SLURM_* variables that describe a job or step: never inherited from the submit environment.
_MANAGED_PREFIXES = ("SLURM_JOB_", "SLURM_ARRAY_", "SLURM_STEP", "SLURM_NTASKS", "SLURM_MEM_PER_",
                     "SLURM_GPUS", "SLURM_SUBMIT_", "SLURM_TOPOLOGY_ADDR", "SLURM_SRUN_COMM_",
                     "SLURM_CPUS_")
_MANAGED_NAMES = frozenset((
    "SLURM_JOBID", "SLURM_NPROCS", "SLURM_NNODES", "SLURM_NODELIST", "SLURM_NODEID",
    "SLURM_PROCID", "SLURM_LOCALID", "SLURM_GTIDS", "SLURM_TASK_PID", "SLURM_TRES_PER_TASK",
    "SLURM_TASKS_PER_NODE", "SLURM_RESTART_COUNT", "SLURMD_NODENAME", "SLURM_CLUSTER_NAME",
    "SLURM_PRIO_PROCESS", "SLURM_OOM_KILL_STEP", "SLURM_LAUNCH_NODE_IPADDR", "SLURM_DISTRIBUTION",
    "SLURMD_DEBUG", "SLURM_UMASK", "SLURM_GET_USER_ENV", "SLURM_CONF", "SLURM_LABELIO",
))


def export_mode(export: Optional[str]) -> str:
    """"ALL", "NONE", "NIL" or "LIST" (named variables without ALL)."""
    if export is None or not export.strip():
        return "ALL"
    first = export.split(",", 1)[0].strip().upper()
    if first in ("ALL", "NONE", "NIL"):
        return first
    return "LIST"


def is_managed(name: str) -> bool:
    return name in _MANAGED_NAMES or name.startswith(_MANAGED_PREFIXES)


def block_layout(num_tasks: int, cpus: Sequence[int]) -> List[int]:
    """Tasks per node for Slurm's default block distribution (slurm_step_layout.c, no
    pack_nodes): count tasks out cyclically while nodes have CPUs (`cpus` already divided by
    cpus-per-task) left, then oversubscribe evenly."""
    tasks = [0] * len(cpus)
    if not cpus:
        return tasks
    task_id, j, over = 0, 0, False
    while task_id < num_tasks:
        space = False
        for i in range(len(cpus)):
            if task_id >= num_tasks:
                break
            if j < cpus[i] or over:
                tasks[i] += 1
                task_id += 1
                if j + 1 < cpus[i]:
                    space = True
        if not space:
            over = True
        j += 1
    return tasks


def batch_tasks(desc: Mapping[str, Any]) -> Dict[str, Any]:
    """How many tasks the job has and how they lay out over its nodes, as
    env_array_for_batch_job computes it: -n, else --ntasks-per-node x nodes, else what the CPUs
    hold (CPUs // cpus-per-task).  `explicit` says whether SLURM_NTASKS is set."""
    cpus = [int(c) for c in desc["cpus_per_node"]]
    cpt = int(desc.get("cpus_per_task") or 1)
    nodes = len(cpus)
    explicit = True
    if desc.get("ntasks"):
        num = int(desc["ntasks"])
    elif desc.get("ntasks_per_node"):
        num = int(desc["ntasks_per_node"]) * nodes
    else:
        explicit = False
        num = sum(c // cpt for c in cpus)
    return {"num_tasks": num, "explicit": explicit,
            "per_node": block_layout(num, [c // cpt for c in cpus])}


def _gpu_text(count: Any, gpu_type: Optional[str]) -> str:
    return "%s:%s" % (gpu_type, count) if gpu_type else str(count)


def node_name_of(desc: Mapping[str, Any], node_index: int, hostname: str = "") -> str:
    names = desc.get("node_names") or []
    if 0 <= node_index < len(names):
        return names[node_index]
    return (hostname or "localhost").split(".")[0]


def job_times(desc: Mapping[str, Any], now: float) -> Dict[str, int]:
    start = desc.get("start_time")
    start = int(start if start is not None else now)
    limit = int(desc.get("time_limit") if desc.get("time_limit") is not None else -1)
    end = start + (UNLIMITED_SECS if limit < 0 else limit * 60)
    return {"start": start, "end": end}


def slurm_environment(desc: Mapping[str, Any], placement: Mapping[str, Any], hostname: str,
                      task_pid: int, now: float) -> Dict[str, str]:
    """Every variable Slurm sets for the batch step on this node (see module doc)."""
    ids = task_ids(dict(desc), dict(placement))
    node_index = int(placement.get("node_index") or 0)
    node = node_name_of(desc, node_index, hostname)
    names = list(desc["node_names"])
    cpus = [int(c) for c in desc["cpus_per_node"]]
    layout = batch_tasks(desc)
    times = job_times(desc, now)
    e: Dict[str, str] = {}

    e["SLURM_CLUSTER_NAME"] = str(desc.get("cluster_name") or "cluster")
    e["SLURM_JOB_ID"] = e["SLURM_JOBID"] = str(ids["job_id"])
    e["SLURM_JOB_NAME"] = str(desc.get("name") or "")
    e["SLURM_JOB_NUM_NODES"] = e["SLURM_NNODES"] = str(len(names))
    e["SLURM_JOB_NODELIST"] = e["SLURM_NODELIST"] = compress_hostlist(names)
    e["SLURM_JOB_PARTITION"] = str(desc.get("partition") or "")
    e["SLURM_JOB_CPUS_PER_NODE"] = compress_counts(cpus)
    e["SLURM_TASKS_PER_NODE"] = compress_counts(layout["per_node"])
    if ids["array_job_id"] is not None:
        indices = ids["indices"]
        e["SLURM_ARRAY_JOB_ID"] = str(ids["array_job_id"])
        e["SLURM_ARRAY_TASK_ID"] = str(ids["array_task_id"])
        e["SLURM_ARRAY_TASK_COUNT"] = str(len(indices))
        e["SLURM_ARRAY_TASK_MIN"] = str(indices[0])
        e["SLURM_ARRAY_TASK_MAX"] = str(indices[-1])
        e["SLURM_ARRAY_TASK_STEP"] = str((desc.get("array") or {}).get("step") or 1)

    if desc.get("overcommit"):
        e["SLURM_OVERCOMMIT"] = "1"
    tres = []
    if desc.get("cpus_per_task") is not None:
        e["SLURM_CPUS_PER_TASK"] = str(desc["cpus_per_task"])
        tres.append("cpu=%s" % desc["cpus_per_task"])
    if desc.get("req_gpus_per_task"):
        gtype = desc.get("gpu_type")
        tres.append("gres/gpu%s=%s" % (":" + gtype if gtype else "", desc["req_gpus_per_task"]))
    if tres:
        e["SLURM_TRES_PER_TASK"] = ",".join(tres)
    if layout["explicit"]:
        e["SLURM_NTASKS"] = e["SLURM_NPROCS"] = str(layout["num_tasks"])
    if desc.get("ntasks_per_node"):
        e["SLURM_NTASKS_PER_NODE"] = str(desc["ntasks_per_node"])

    if desc.get("mem_per_node") is not None:
        e["SLURM_MEM_PER_NODE"] = str(desc["mem_per_node"])
    elif desc.get("mem_per_cpu") is not None:
        e["SLURM_MEM_PER_CPU"] = str(desc["mem_per_cpu"])
    if desc.get("mem_per_gpu") is not None:
        e["SLURM_MEM_PER_GPU"] = str(desc["mem_per_gpu"])

    for key, var in (("account", "SLURM_JOB_ACCOUNT"), ("qos", "SLURM_JOB_QOS"),
                     ("reservation", "SLURM_JOB_RESERVATION"),
                     ("licenses", "SLURM_JOB_LICENSES"), ("dependency", "SLURM_JOB_DEPENDENCY")):
        if desc.get(key):
            e[var] = str(desc[key])

    if desc.get("open_mode"):
        # slurmctld's _set_job_env (and sbatch's _opt_verify): srun steps inherit --open-mode
        e["SLURM_OPEN_MODE"] = "a" if str(desc["open_mode"]).startswith("a") else "t"

    e["SLURM_SUBMIT_DIR"] = str(desc.get("submit_dir") or "")
    e["SLURM_SUBMIT_HOST"] = str(desc.get("submit_host") or "")
    e["SLURM_JOB_UID"] = str(desc.get("uid") or 0)
    e["SLURM_JOB_GID"] = str(desc.get("gid") or 0)
    e["SLURM_JOB_USER"] = str(desc.get("user") or "")
    e["SLURM_JOB_START_TIME"] = str(times["start"])
    e["SLURM_JOB_END_TIME"] = str(times["end"])

    e["SLURM_CPUS_ON_NODE"] = str(cpus[node_index] if node_index < len(cpus) else cpus[0])
    e["SLURM_GTIDS"] = "0"
    e["SLURM_LOCALID"] = "0"
    e["SLURM_PROCID"] = "0"
    e["SLURM_NODEID"] = str(node_index)
    e["SLURM_TASK_PID"] = str(task_pid)
    e["SLURMD_NODENAME"] = node
    e["SLURM_TOPOLOGY_ADDR"] = node
    e["SLURM_TOPOLOGY_ADDR_PATTERN"] = "node"
    e["SLURM_CONF"] = str(desc.get("slurm_conf") or "/etc/slurm/slurm.conf")
    e["SLURM_OOM_KILL_STEP"] = "0"
    e["SLURM_PRIO_PROCESS"] = str(desc.get("prio_process") or 0)

    restarts = int(placement.get("attempt") or 1) - 1 + int(desc.get("restart_count") or 0)
    if restarts > 0:
        e["SLURM_RESTART_COUNT"] = str(restarts)
    mode = export_mode(desc.get("export"))
    if mode in ("NONE", "LIST"):
        e["SLURM_GET_USER_ENV"] = "1"

    gpus = int(desc.get("gpus") or 0)
    if gpus:
        ordinals = ",".join(str(i) for i in range(gpus))
        e["SLURM_GPUS_ON_NODE"] = str(gpus)
        e["SLURM_JOB_GPUS"] = ordinals
        e["CUDA_VISIBLE_DEVICES"] = ordinals
        e["GPU_DEVICE_ORDINAL"] = ordinals
    if desc.get("req_gpus"):
        e["SLURM_GPUS"] = _gpu_text(desc["req_gpus"], desc.get("gpu_type"))
    if desc.get("req_gpus_per_node"):
        e["SLURM_GPUS_PER_NODE"] = _gpu_text(desc["req_gpus_per_node"], desc.get("gpu_type"))

    e["ENVIRONMENT"] = "BATCH"
    e["HOSTNAME"] = node
    return e


def _merge_path(first: str, extra: str) -> str:
    parts = [p for p in first.split(os.pathsep) if p] if first else []
    for p in extra.split(os.pathsep) if extra else []:
        if p and p not in parts:
            parts.append(p)
    return os.pathsep.join(parts)


def job_environment(desc: Mapping[str, Any], placement: Mapping[str, Any],
                    node_environ: Mapping[str, str], hostname: str, task_pid: int, now: float,
                    step_dir: Optional[str] = None) -> Dict[str, str]:
    """The batch script's whole environment: the exported one per --export, the node's
    infrastructure variables, then Slurm's on top (see module doc)."""
    mode = export_mode(desc.get("export"))
    exported = dict(desc.get("environment") or {})
    node = {k: v for k, v in node_environ.items() if k not in PRIVATE_ENV}
    if mode in ("ALL", "NIL"):
        base = exported
        if mode == "ALL" and node.get("PATH"):
            base["PATH"] = _merge_path(base.get("PATH", ""), node["PATH"])
    else:
        if desc.get("user_env") == "login":
            node_user = {k: v for k, v in node.items()
                         if k in _LOGIN_NAMES or k.startswith("LC_")}
        else:
            node_user = dict(node)
        base = node_user
        base.update(exported)
    for k, v in node.items():
        if k.startswith(_INFRA_PREFIXES) or k in _INFRA_NAMES:
            base[k] = v
        elif k in _INFRA_DEFAULTS:
            base.setdefault(k, v)
    for k in [k for k in base if is_managed(k)]:
        del base[k]
    for k in PRIVATE_ENV:
        base.pop(k, None)
    base.update(slurm_environment(desc, placement, hostname, task_pid, now))
    export = desc.get("export")
    if export and export.strip().upper() != "ALL":
        base.setdefault("SLURM_EXPORT_ENV", export)   # sbatch: setenv(..., 0), no overwrite
    for k, v in LAUNCHER_DEFAULTS.items():
        base.setdefault(k, v)
    if desc.get("efa") and len(desc.get("node_names") or ()) > 1:
        for k, v in EFA_DEFAULTS.items():
            base.setdefault(k, v)
    if step_dir:
        base[ENV_STEP_DIR] = step_dir
    return base
