"""The job descriptor: everything the in-job runtime needs, as one JSON object.

The host builds it (slurmshim/backends/descriptor.py) and hands it to the runtime either as a file
(env ``SLURMSHIM_JOB_FILE``, local backend) or inline (env ``SLURMSHIM_JOB`` =
base64(zlib(JSON)), AWS Batch, where a SubmitJob request must stay under 30 KiB).  This module is
standard library only and imports nothing outside slurmshim/runtime/: the runtime is shipped alone
into arbitrary container images (Python >= 3.8).

Schema, version 1.  "?" marks a field that may be null/absent; absent optional fields take the
default shown.  Times are POSIX seconds, memory is MiB, time limits are minutes.

    version          int     1
    job_id           int     the job id; for an array, the ARRAY job id N (tasks' ids: raw_id_for)
    array            obj?    null for a plain job, else
        indices      str       every task index, sorted, compressed: "1,5,9-11"
        first_raw_id int?      raw id of the task at position 0 (default N+1; see raw_id_for)
        offset       int?      position of this submission's first task (Batch arrays split in
                               chunks of <= 10,000: position = offset + AWS_BATCH_JOB_ARRAY_INDEX)
        step         int?      the ":step" of the --array text (SLURM_ARRAY_TASK_STEP), default 1
    name             str     job name (SLURM_JOB_NAME, %x)
    partition        str
    account          str?    SLURM_JOB_ACCOUNT (omitted when null)
    qos              str?    SLURM_JOB_QOS (omitted when null)
    reservation      str?    SLURM_JOB_RESERVATION
    licenses         str?    SLURM_JOB_LICENSES
    dependency       str?    the --dependency text (SLURM_JOB_DEPENDENCY)
    user, uid, group, gid    the submitting user (SLURM_JOB_USER/UID/GID, %u)
    cluster_name     str
    submit_dir       str     SLURM_SUBMIT_DIR (the cwd of sbatch)
    submit_host      str     SLURM_SUBMIT_HOST
    work_dir         str     -D/--chdir, else submit_dir: the script runs there
    script           str?    the batch script text (null only when script_url is given)
    script_url       str?    where to fetch a script too big to inline: a path, file://,
                             http(s):// (e.g. a presigned S3 URL) or s3:// (needs the aws CLI)
    script_args      [str]   arguments after the script name
    command          str     scontrol's Command= (informational)
    ntasks           int?    -n/--ntasks as given (null if not given)
    ntasks_given     bool    whether -n was given
    ntasks_per_node  int?    --ntasks-per-node
    cpus_per_task    int?    -c as given (null if not given)
    nodes            int     number of nodes
    node_names       [str]   one name per node, in node-index order (SLURM_JOB_NODELIST)
    cpus_per_node    [int]   CPUs allocated on each node (SLURM_CPUS_ON_NODE, JOB_CPUS_PER_NODE)
    mem_per_node     int?    --mem (SLURM_MEM_PER_NODE)
    mem_per_cpu      int?    --mem-per-cpu or the partition's DefMemPerCPU (SLURM_MEM_PER_CPU)
    mem_per_gpu      int?    --mem-per-gpu
    gpus             int?    GPUs allocated on each node (CUDA_VISIBLE_DEVICES=0..n-1)
    gpu_type         str?
    req_gpus         int?    -G/--gpus as given (SLURM_GPUS)
    req_gpus_per_node int?   --gpus-per-node as given (SLURM_GPUS_PER_NODE)
    req_gpus_per_task int?   --gpus-per-task as given (SLURM_GPUS_PER_TASK, TRES_PER_TASK)
    time_limit       int     minutes, -1 = UNLIMITED
    start_time       float?  job start; normally null (the runtime uses its own clock, or env
                             SLURMSHIM_START_TIME when the supervisor wants to impose it)
    output           str?    --output pattern; default slurm-%j.out (slurm-%A_%a.out for arrays)
    error            str?    --error pattern; null = same file as output
    input            str?    --input pattern; null = /dev/null
    open_mode        str?    "append" | "truncate" (null = truncate, Slurm's default)
    environment      {str:str} the exported environment, already filtered by --export and
                             scrubbed of credentials by the host
    export           str?    the --export text as given (null = ALL)
    signal           obj?    --signal: {"signum": int, "secs": int, "batch_only": bool}
    restart_count    int     Slurm-level restarts so far (requeues); Batch attempts add to it
    efa              bool    the partition has EFA: multi-node jobs get FI_*/NCCL_* defaults
    stage            str?    a directory the runtime writes into (see stage_dir_for); null = none
    slurm_conf       str?    value of SLURM_CONF (default /etc/slurm/slurm.conf)
    umask            str?    octal umask for the job ("0022"); null = leave as is
    prio_process     int     SLURM_PRIO_PROCESS (the submitter's nice value), default 0
    kill_wait        int     seconds between SIGTERM and SIGKILL on cancel/timeout, default 30
    enforce_time_limit bool  the runtime itself ends the job at start + time_limit (Batch: true;
                             the local supervisor enforces it and says so with a control file)
    tee_output       bool    also copy the job's output to the runtime's stdout/stderr
                             (Batch: that is what CloudWatch Logs sees)
    agent_port       int     TCP port of the main node's agent for multi-node jobs; 0 = any
                             free port on loopback, published in <stage dir>/agent.json (local)
    agent_token      str?    shared secret every node's agent and srun present to the main
                             node's agent server, which closes any connection without it; the
                             host puts a random one (secrets.token_hex) in every multi-node
                             job's descriptor.  null (a descriptor made by hand) = a random one
                             published in the 0600 <stage dir>/agent.json (agent_port 0), else
                             a digest of this descriptor (runtime/agent.py)
    agent_timeout    float?  seconds the other nodes have to join the main node, from its start
                             (also how long a node agent tries to reach it); a node that has
                             not joined by then has failed (NODE_FAIL, see no_kill).  The job's
                             or the node's $SLURMSHIM_NODE_JOIN_TIMEOUT wins; null: 300 (60 on
                             the local backend, agent_port 0)
    no_kill          bool    --no-kill: a failed node (never joined, or lost) does not end the
                             job; only steps that need it fail.  Default false: the job ends
                             NODE_FAIL, as Slurm ends it
    provide_srun     bool    put an `srun` that runs slurmshim.runtime.srun first on PATH
    user_env         str     what "the user's environment on the node" is for --export=NONE
                             and lists: "inherit" (the runtime's environment: a container's
                             image environment; default) or "login" (only its login variables)
    steps_urls       [str]?  Batch with an s3_bucket: presigned PUT URLs, one per Batch attempt
                             (index AWS_BATCH_JOB_ATTEMPT - 1), where the main node uploads its
                             srun step records for sacct (runtime/stepsync.py); absent: the
                             steps are not recorded on the host

Placement comes from the AWS_BATCH_* variables, which the local backend sets too
(placement_environ builds them): AWS_BATCH_JOB_ARRAY_INDEX (position p, 0-based),
AWS_BATCH_JOB_NODE_INDEX, AWS_BATCH_JOB_NUM_NODES, AWS_BATCH_JOB_MAIN_NODE_INDEX,
AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS, AWS_BATCH_JOB_ATTEMPT (1-based), AWS_BATCH_JOB_ID.
"""
from __future__ import annotations

import base64
import json
import os
import re
import zlib
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

VERSION = 1

ENV_FILE = "SLURMSHIM_JOB_FILE"
ENV_INLINE = "SLURMSHIM_JOB"
ENV_START_TIME = "SLURMSHIM_START_TIME"
ENV_STEP_DIR = "SLURMSHIM_STEP_DIR"
#: Variables only the runtime itself reads; never passed on to the job.
PRIVATE_ENV = (ENV_FILE, ENV_INLINE, ENV_START_TIME)

NO_VAL = 4294967294  # Slurm's NO_VAL: what %a expands to outside an array

DEFAULTS: Dict[str, Any] = {
    "array": None, "account": None, "qos": None, "reservation": None, "licenses": None,
    "dependency": None, "user": "", "uid": 0, "group": "", "gid": 0, "cluster_name": "cluster",
    "partition": "", "name": "", "submit_dir": "", "submit_host": "", "work_dir": "",
    "script": None, "script_url": None, "script_args": [], "command": "", "ntasks": None,
    "ntasks_given": False, "ntasks_per_node": None, "cpus_per_task": None, "nodes": 1,
    "node_names": None, "cpus_per_node": None, "mem_per_node": None, "mem_per_cpu": None,
    "mem_per_gpu": None, "gpus": None, "gpu_type": None, "req_gpus": None,
    "req_gpus_per_node": None, "req_gpus_per_task": None, "time_limit": -1, "start_time": None,
    "output": None, "error": None, "input": None, "open_mode": None, "environment": {},
    "export": None, "signal": None, "restart_count": 0, "efa": False, "stage": None,
    "slurm_conf": "/etc/slurm/slurm.conf", "umask": None, "prio_process": 0, "kill_wait": 30,
    "enforce_time_limit": False, "tee_output": False, "agent_port": 0, "agent_token": None,
    "agent_timeout": None, "no_kill": False, "provide_srun": True, "user_env": "inherit",
}


class DescriptorError(Exception):
    """The descriptor is missing, unreadable or of an unknown version."""


# ------------------------------------------------------------------ loading and encoding

def encode_inline(desc: Dict[str, Any]) -> str:
    """base64(zlib(compact JSON)): the value of SLURMSHIM_JOB."""
    raw = json.dumps(desc, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")


def decode_inline(text: str) -> Dict[str, Any]:
    try:
        return json.loads(zlib.decompress(base64.b64decode(text.encode("ascii"))).decode("utf-8"))
    except (ValueError, zlib.error) as exc:
        raise DescriptorError("cannot decode %s: %s" % (ENV_INLINE, exc))


def normalize(desc: Dict[str, Any]) -> Dict[str, Any]:
    """Check the version and fill every optional field with its default (returns a new dict)."""
    if not isinstance(desc, dict):
        raise DescriptorError("job descriptor is not a JSON object")
    version = desc.get("version", VERSION)
    if not isinstance(version, int) or version > VERSION:
        raise DescriptorError("job descriptor version %r is newer than this runtime (%d)"
                              % (version, VERSION))
    if "job_id" not in desc:
        raise DescriptorError("job descriptor has no job_id")
    out = dict(DEFAULTS)
    out.update({k: v for k, v in desc.items() if v is not None or k not in DEFAULTS})
    out["version"] = version
    nodes = int(out.get("nodes") or 1)
    out["nodes"] = nodes
    if not out["node_names"]:
        out["node_names"] = ["node%02d" % (i + 1) for i in range(nodes)]
    if not out["cpus_per_node"]:
        out["cpus_per_node"] = [1] * nodes
    if not out["work_dir"]:
        out["work_dir"] = out["submit_dir"] or "/tmp"
    if not out["submit_dir"]:
        out["submit_dir"] = out["work_dir"]
    out["environment"] = dict(out.get("environment") or {})
    out["script_args"] = list(out.get("script_args") or [])
    return out


def load_descriptor(environ: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """The descriptor named by SLURMSHIM_JOB_FILE, else decoded from SLURMSHIM_JOB, normalized."""
    environ = os.environ if environ is None else environ
    path = environ.get(ENV_FILE)
    if path:
        try:
            with open(path, "r", encoding="utf-8") as fh:
                desc = json.load(fh)
        except (OSError, ValueError) as exc:
            raise DescriptorError("cannot read job descriptor %s: %s" % (path, exc))
    elif environ.get(ENV_INLINE):
        desc = decode_inline(environ[ENV_INLINE])
    else:
        raise DescriptorError("no job descriptor: set %s or %s" % (ENV_FILE, ENV_INLINE))
    return normalize(desc)


def write_descriptor(desc: Dict[str, Any], path: str) -> None:
    """Write a descriptor file atomically (host side helper)."""
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(desc, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


# ------------------------------------------------------------------ placement

def placement_from_environ(environ: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Where this copy of the runtime runs, from the AWS_BATCH_* variables (absent = single node,
    not an array child, attempt 1)."""
    environ = os.environ if environ is None else environ

    def num(name: str, default: Optional[int]) -> Optional[int]:
        val = environ.get(name, "")
        try:
            return int(val)
        except ValueError:
            return default

    return {
        "array_index": num("AWS_BATCH_JOB_ARRAY_INDEX", None),
        "node_index": num("AWS_BATCH_JOB_NODE_INDEX", 0),
        "num_nodes": num("AWS_BATCH_JOB_NUM_NODES", 1),
        "main_node_index": num("AWS_BATCH_JOB_MAIN_NODE_INDEX", 0),
        "main_node_addr": environ.get("AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS") or None,
        "attempt": max(1, num("AWS_BATCH_JOB_ATTEMPT", 1) or 1),
        "batch_job_id": environ.get("AWS_BATCH_JOB_ID") or None,
    }


def placement_environ(array_index: Optional[int] = None, node_index: int = 0, num_nodes: int = 1,
                      main_node_index: int = 0, main_node_addr: Optional[str] = None,
                      attempt: int = 1, batch_job_id: Optional[str] = None) -> Dict[str, str]:
    """The AWS_BATCH_* variables as AWS Batch sets them: what the local backend puts in the
    runtime's environment so that one code path serves both backends.  Like Batch, the main
    node's address is only given to the other nodes."""
    env = {"AWS_BATCH_JOB_ATTEMPT": str(attempt)}
    if batch_job_id:
        env["AWS_BATCH_JOB_ID"] = batch_job_id
    if array_index is not None:
        env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(array_index)
    if num_nodes > 1:
        env["AWS_BATCH_JOB_NODE_INDEX"] = str(node_index)
        env["AWS_BATCH_JOB_NUM_NODES"] = str(num_nodes)
        env["AWS_BATCH_JOB_MAIN_NODE_INDEX"] = str(main_node_index)
        if node_index != main_node_index and main_node_addr:
            env["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"] = main_node_addr
    return env


# ------------------------------------------------------------------ ids

def raw_id_for(array_job_id: int, indices: Union[str, Sequence[int]], position: int,
               first_raw_id: Optional[int] = None) -> int:
    """The raw job id (SLURM_JOB_ID) of the array task at `position` (0-based in the sorted index
    list).  Slurm gives split-off tasks fresh ids and the LAST task keeps the array id, so with K
    tasks: position p < K-1 -> first_raw_id + p (default first_raw_id = N + 1), p = K-1 -> N."""
    count = len(expand_indices(indices)) if isinstance(indices, str) else len(indices)
    if position < 0 or position >= count:
        raise ValueError("array position %d out of range 0..%d" % (position, count - 1))
    if position == count - 1:
        return array_job_id
    base = array_job_id + 1 if first_raw_id is None else first_raw_id
    return base + position


def task_ids(desc: Dict[str, Any], placement: Dict[str, Any]) -> Dict[str, Any]:
    """The ids of this job or array task: raw job id, array job id / task index / position."""
    arr = desc.get("array")
    if not arr:
        return {"job_id": int(desc["job_id"]), "array_job_id": None, "array_task_id": None,
                "position": None, "indices": None}
    indices = expand_indices(arr["indices"])
    position = int(arr.get("offset") or 0) + int(placement.get("array_index") or 0)
    if position >= len(indices):
        raise DescriptorError("array position %d but only %d indices" % (position, len(indices)))
    n = int(desc["job_id"])
    raw = arr.get("raw_id")  # set by a host that chose the task's id itself (local backend)
    return {"job_id": int(raw) if raw else raw_id_for(n, indices, position, arr.get("first_raw_id")),
            "array_job_id": n, "array_task_id": indices[position], "position": position,
            "indices": indices}


def stage_dir_for(desc: Dict[str, Any], raw_job_id: int) -> Optional[str]:
    """<stage>/<raw job id>: where the runtime writes status.json, steps/ and agent.json, and
    where the supervisor puts control.json (null when the descriptor has no stage)."""
    stage = desc.get("stage")
    if not stage:
        return None
    return os.path.join(stage, str(raw_job_id))


# ------------------------------------------------------------------ index lists

def expand_indices(text: Union[str, Iterable[int]]) -> List[int]:
    """"1,5,9-11" (also "0-15:4") -> sorted unique ints."""
    if not isinstance(text, str):
        return sorted(set(int(i) for i in text))
    out = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        step = 1
        if ":" in part:
            part, step_s = part.split(":", 1)
            step = int(step_s)
        if "-" in part:
            lo_s, hi_s = part.split("-", 1)
            out.update(range(int(lo_s), int(hi_s) + 1, max(step, 1)))
        else:
            out.add(int(part))
    return sorted(out)


def compress_indices(indices: Iterable[int]) -> str:
    """Sorted unique ints -> "1,5,9-11" (runs of consecutive values become ranges)."""
    vals = sorted(set(int(i) for i in indices))
    parts = []
    i = 0
    while i < len(vals):
        j = i
        while j + 1 < len(vals) and vals[j + 1] == vals[j] + 1:
            j += 1
        parts.append(str(vals[i]) if i == j else "%d-%d" % (vals[i], vals[j]))
        i = j + 1
    return ",".join(parts)


# ------------------------------------------------------------------ hostlists

_HOST_RE = re.compile(r"^(.*?)(\d+)$")


def expand_hostlist(text: str) -> List[str]:
    """"node[01-03],gpu7" -> ["node01", "node02", "node03", "gpu7"] (one bracket per name)."""
    names: List[str] = []
    for item in _split_top(text):
        m = re.match(r"^([^\[]*)\[([^\]]*)\](.*)$", item)
        if not m:
            if item:
                names.append(item)
            continue
        prefix, body, suffix = m.groups()
        for rng in body.split(","):
            if "-" in rng:
                lo, hi = rng.split("-", 1)
                width = len(lo)
                for n in range(int(lo), int(hi) + 1):
                    names.append("%s%0*d%s" % (prefix, width, n, suffix))
            elif rng:
                names.append(prefix + rng + suffix)
    return names


def _split_top(text: str) -> List[str]:
    out, depth, cur = [], 0, ""
    for ch in text or "":
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _width_equiv(n: int, wn: int, m: int, wm: int) -> Optional[int]:
    """Slurm's hostlist _width_equiv: can n (width wn) and m (width wm) share a range, and with
    which width?  "9" and "10" can (width 1), "09" and "10" can (width 2), "9" and "010" not."""
    def pad(num: int, width: int) -> int:
        return max(0, width - len(str(num)))
    if wn == wm:
        return wn
    npad, nmpad, mpad, mnpad = pad(n, wn), pad(n, wm), pad(m, wm), pad(m, wn)
    if npad != nmpad and mpad != mnpad:
        return None
    if npad != nmpad:
        return wn
    return wm


def compress_hostlist(names: Sequence[str]) -> str:
    """["node01", "node02", "node03", "gpu7"] -> "node[01-03],gpu7".  Order is kept, as
    `scontrol show hostlist` keeps it; neighbours with the same prefix share one bracket."""
    groups: List[List[Any]] = []  # [prefix, [[lo, hi, width], ...], count]
    for name in names:
        m = _HOST_RE.match(name)
        if not m:
            groups.append([name, None, 1])
            continue
        prefix, digits = m.group(1), m.group(2)
        num, width = int(digits), len(digits)
        last = groups[-1] if groups else None
        if last is not None and last[1] is not None and last[0] == prefix:
            rng = last[1][-1]
            common = _width_equiv(rng[1], rng[2], num, width)
            if rng[1] + 1 == num and common is not None:
                rng[1], rng[2] = num, common
            else:
                last[1].append([num, num, width])
            last[2] += 1
        else:
            groups.append([prefix, [[num, num, width]], 1])
    out = []
    for prefix, ranges, count in groups:
        if ranges is None:
            out.append(prefix)
        elif count == 1:
            out.append("%s%0*d" % (prefix, ranges[0][2], ranges[0][0]))
        else:
            body = ",".join("%0*d" % (w, lo) if lo == hi else "%0*d-%0*d" % (w, lo, w, hi)
                            for lo, hi, w in ranges)
            out.append("%s[%s]" % (prefix, body))
    return ",".join(out)


def compress_counts(values: Sequence[int]) -> str:
    """[2, 2, 2, 1] -> "2(x3),1" (SLURM_TASKS_PER_NODE, SLURM_JOB_CPUS_PER_NODE)."""
    out = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        reps = j - i + 1
        out.append(str(values[i]) if reps == 1 else "%d(x%d)" % (values[i], reps))
        i = j + 1
    return ",".join(out)
