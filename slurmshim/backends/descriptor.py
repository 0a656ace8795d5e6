"""Host side of the in-job runtime: JobSpec + JobRecord + Partition -> the job descriptor
(schema: slurmshim/runtime/descriptor.py), which both backends hand to
`python3 -m slurmshim.runtime.job` (local: a file, SLURMSHIM_JOB_FILE; AWS Batch: inline,
SLURMSHIM_JOB = runtime.descriptor.encode_inline(desc)).

The exported environment arrives already filtered by --export (slurm/sbatch_args.py); here it is
scrubbed once more (credentials never leave the submit host, whoever built the spec), stripped of
the SLURM_* the runtime computes itself, and, for backends that do not run on this machine, of
host-only settings (AWS profile and config paths, slurmshim's own state paths).
"""
from __future__ import annotations

import os
import re
import secrets
import socket
from typing import Any

from ..model import INFINITE, JobRecord, JobSpec, Partition
from ..runtime.descriptor import VERSION, compress_indices, encode_inline
from ..runtime.env import is_managed

try:  # the sbatch front end's list is the reference; keep a copy if it moves
    from ..slurm.sbatch_args import is_secret as _is_secret
except ImportError:  # pragma: no cover
    _is_secret = None

_FALLBACK_SECRET = re.compile(
    r"(TOKEN|SECRET|PASSW(OR)?D|_API_?KEY$|_ACCESS_KEY|_PRIVATE_KEY|CREDENTIALS)", re.I)
_ALWAYS_SECRET = frozenset({"AWS_ACCESS_KEY_ID", "SSH_AUTH_SOCK", "SSH_AGENT_PID",
                            "GPG_AGENT_INFO", "KRB5CCNAME", "SLURM_JWT", "DOCKER_AUTH_CONFIG"})
# meaningful only on the submit host: dropped for jobs that run elsewhere
HOST_ONLY = frozenset({"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE",
                       "AWS_SHARED_CREDENTIALS_FILE", "SLURMSHIM_STATE_DIR", "SLURMSHIM_CONF"})

BATCH_AGENT_PORT = 6818  # like slurmd's port; the MNP security group must allow it


def new_agent_token() -> str:
    """A multi-node job's shared secret (runtime/agent.py): every node's agent and srun present
    it to the main node's agent server, which refuses anyone without it.  Random per job (per
    descriptor built: a requeued job gets a new one), never derived from anything readable."""
    return secrets.token_hex(16)


def is_secret(name: str) -> bool:
    if name in _ALWAYS_SECRET:
        return True
    if _is_secret is not None:
        return _is_secret(name)
    return bool(_FALLBACK_SECRET.search(name))


def job_environment(environment: dict[str, str], local: bool) -> tuple[dict[str, str], list[str]]:
    """The descriptor's `environment`: secrets, runtime-computed SLURM_* and (for remote
    backends) host-only variables removed.  Returns (environment, names dropped as secrets)."""
    out: dict[str, str] = {}
    dropped: list[str] = []
    for name, value in environment.items():
        if is_secret(name):
            dropped.append(name)
        elif is_managed(name) or (not local and name in HOST_ONLY):
            continue
        else:
            out[name] = value
    return out, dropped


def _tasks_per_node(spec: JobSpec, nodes: int) -> list[int]:
    res = spec.resources
    if res.ntasks_per_node:
        return [res.ntasks_per_node] * nodes
    if res.ntasks:
        base, extra = divmod(res.ntasks, nodes)
        return [base + (1 if i < extra else 0) for i in range(nodes)]
    return [1] * nodes


def _array_step(text: str) -> int:
    """SLURM_ARRAY_TASK_STEP: atoi of what follows the first ':' of the --array text."""
    if ":" not in (text or ""):
        return 1
    digits = re.match(r"\d*", text.split(":", 1)[1]).group(0)
    return int(digits) if digits else 0


def _umask(spec: JobSpec) -> str:
    if spec.extra.get("umask"):
        return str(spec.extra["umask"])
    mask = os.umask(0)
    os.umask(mask)
    return "0%o%o%o" % ((mask >> 6) & 7, (mask >> 3) & 7, mask & 7)


def build_descriptor(spec: JobSpec, record: JobRecord, partition: Partition, cluster_name: str,
                     node_names: list[str], stage: str | None, *,
                     first_raw_id: int | None = None, array_offset: int = 0,
                     agent_port: int | None = None,
                     agent_token: str | None = None) -> dict[str, Any]:
    """The job descriptor for `record` (a plain job, or an array's meta record or task: the
    descriptor always describes the whole array, the runtime picks its task from
    AWS_BATCH_JOB_ARRAY_INDEX).  `node_names`: the job's nodes, one per node.  `stage`: the
    directory the runtime writes status and step records into (local), or None.  A multi-node
    job gets `agent_token` (default: a new random one, new_agent_token())."""
    res = spec.resources
    local = partition.backend == "local"
    nodes = len(node_names) if node_names else res.num_nodes
    names = list(node_names) if node_names else [f"node{i + 1:02d}" for i in range(nodes)]
    cpt = res.cpus_per_task or 1
    if res.exclusive:
        cpus = [partition.cpus_per_node] * nodes
    else:
        cpus = [max(1, t * cpt) for t in _tasks_per_node(spec, nodes)]
    if spec.extra.get("overcommit") and not res.exclusive:
        cpus = [cpt] * nodes

    mem_per_node = mem_per_cpu = None
    if res.mem_per_node is not None:
        mem_per_node = res.mem_per_node or partition.mem_per_node  # --mem=0: the whole node
    elif res.mem_per_cpu is not None:
        mem_per_cpu = res.mem_per_cpu
    elif res.mem_per_gpu is None and partition.def_mem_per_cpu:
        mem_per_cpu = partition.def_mem_per_cpu

    if record.time_limit is not None:
        limit = record.time_limit
    elif spec.time_limit is not None:
        limit = spec.time_limit
    else:
        limit = partition.default_time if partition.default_time is not None else \
            (partition.max_time if partition.max_time is not None else INFINITE)
    if limit is None or limit < 0:
        limit = INFINITE

    array = None
    if spec.array is not None:
        array = {"indices": compress_indices(spec.array.indices), "first_raw_id": first_raw_id,
                 "offset": array_offset, "step": _array_step(spec.array.text)}
        job_id = record.array_job_id if record.array_job_id is not None else record.job_id
    else:
        job_id = record.job_id

    environment, _dropped = job_environment(spec.environment, local)
    gpu_type = res.gpu_type or next((g.type for g in res.gres if g.name == "gpu" and g.type),
                                    None)
    work_dir = spec.work_dir or record.work_dir or os.getcwd()
    submit_dir = spec.extra.get("submit_dir") or spec.environment.get("SLURM_SUBMIT_DIR") or \
        work_dir
    sig = None
    if spec.signal is not None:
        sig = {"signum": spec.signal.signum, "secs": spec.signal.secs,
               "batch_only": spec.signal.batch_only}

    desc = {
        "version": VERSION,
        "job_id": job_id,
        "array": array,
        "name": spec.job_name or record.name,
        "partition": partition.name,
        "account": record.account or spec.account,
        "qos": record.qos or spec.qos or "normal",
        "reservation": spec.reservation,
        "licenses": spec.licenses,
        "dependency": spec.dependency.text if spec.dependency is not None else None,
        "user": spec.user or record.user,
        "uid": spec.uid if spec.user else record.uid,
        "group": spec.group or spec.user or record.user,
        "gid": spec.gid,
        "cluster_name": cluster_name,
        "submit_dir": submit_dir,
        "submit_host": spec.submit_host or socket.gethostname().split(".")[0],
        "work_dir": work_dir,
        "script": spec.script,
        "script_args": list(spec.script_args),
        "command": spec.command or record.command,
        "ntasks": res.ntasks,
        "ntasks_given": res.ntasks is not None,
        "ntasks_per_node": res.ntasks_per_node,
        "cpus_per_task": res.cpus_per_task,
        "nodes": nodes,
        "node_names": names,
        "cpus_per_node": cpus,
        "mem_per_node": mem_per_node,
        "mem_per_cpu": mem_per_cpu,
        "mem_per_gpu": res.mem_per_gpu,
        "gpus": res.gpus_per_node_total or None,
        "gpu_type": gpu_type,
        "req_gpus": res.gpus,
        "req_gpus_per_node": res.gpus_per_node,
        "req_gpus_per_task": res.gpus_per_task,
        "time_limit": limit,
        "start_time": None,
        "output": spec.output or ("slurm-%A_%a.out" if array else "slurm-%j.out"),
        "error": spec.error,
        "input": spec.input,
        "open_mode": spec.open_mode,
        "environment": environment,
        "export": spec.export,
        "signal": sig,
        "restart_count": record.restarts,
        "efa": bool(partition.efa),
        "stage": stage,
        "slurm_conf": os.environ.get("SLURM_CONF") or "/etc/slurm/slurm.conf",
        "umask": _umask(spec),
        "prio_process": int(spec.extra.get("prio_process", 0) or 0),
        "overcommit": bool(spec.extra.get("overcommit")),
        "kill_wait": int(partition.extra.get("kill_wait", 30)),
        "enforce_time_limit": not local,
        "tee_output": not local,
        "agent_port": agent_port if agent_port is not None else (0 if local
                                                                 else BATCH_AGENT_PORT),
        "provide_srun": True,
        "user_env": "login" if local else "inherit",
    }
    if nodes > 1:  # (a single node has no agents to authenticate: no token)
        desc["agent_token"] = agent_token or new_agent_token()
        if spec.extra.get("no-kill"):
            desc["no_kill"] = True     # a failed node fails only the steps that need it
    return desc


def inline_size(desc: dict[str, Any]) -> int:
    """Bytes the descriptor takes as SLURMSHIM_JOB (SubmitJob requests must stay < 30 KiB: stage
    the script elsewhere and set script_url when this is too big)."""
    return len(encode_inline(desc))
