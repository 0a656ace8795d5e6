"""`scontrol show ...` text, exactly as Slurm 25.11 prints it.  Pure: callers pass the records,
the clock (`now`) and any cluster facts; nothing here reads the ledger, the config or the machine.

Layouts follow `src/scontrol/info_job.c` (`_sprint_job_info`), `src/api/partition_info.c`,
`src/api/node_info.c` and `src/api/config_info.c` of Slurm 25.11.7 and were checked byte for byte
against a real controller (captures 25-36, 44, 47 in shared/reference/real-slurm-25.11).

* A record is a list of lines; lines are joined with ``"\\n   "`` (``-o``: ``" "``); the record
  ends with a blank line (``-o``: a single newline).
* Unset values print the way Slurm prints them: ``(null)``, ``None``, ``N/A`` or ``Unknown``.
"""
from __future__ import annotations

import os
import time as _time
from typing import Any, Iterable, Mapping, Sequence

from ..model import INFINITE, JobRecord, JobSpec, JobState, NodeStatus, Partition

SLURM_VERSION = "25.11.7"
NO_VAL = 4294967294          # Slurm's NO_VAL: what %a expands to on an array's meta record
NULL = "(null)"


# --------------------------------------------------------------------------- small formatters
# (thin wrappers over the shared grammars in slurmshim.slurm; imported lazily so that importing
# this module stays cheap and never fails while a sibling module is still being written)

def _ts(ts: float | None, unknown: str = "Unknown") -> str:
    """slurm_make_time_str: ISO-ish local time, `Unknown` for 0/None."""
    from ..slurm import timespec
    return timespec.format_timestamp(ts if ts else None, unknown=unknown)


def _hms(seconds: float | int) -> str:
    """secs2time_str: [D-]HH:MM:SS."""
    from ..slurm import timespec
    return timespec.format_hms(int(seconds))


def _limit(minutes: int | None) -> str:
    """mins2time_str: UNLIMITED or [D-]HH:MM:SS."""
    from ..slurm import timespec
    if minutes is None or minutes == INFINITE or minutes < 0:
        return "UNLIMITED"
    return timespec.format_limit_hms(minutes)


def _mem(mib: int | float | None) -> str:
    """convert_num_unit(UNIT_MEGA, CONVERT_NUM_UNIT_EXACT): 1024 -> 1G, 8000 -> 8000M, 0 -> 0."""
    if not mib:
        return "0"
    from ..slurm import memspec
    return memspec.format_mem(int(mib))


def _compress(names: Sequence[str], sort: bool = False) -> str:
    if not names:
        return ""
    from ..slurm import hostlist
    return hostlist.compress(list(names), sort=sort)


def _expand(text: str) -> list[str]:
    if not text:
        return []
    from ..slurm import hostlist
    return hostlist.expand(text)


def _indices(idx: Sequence[int]) -> str:
    from ..slurm.arrayspec import format_indices
    return format_indices(tuple(idx))


def _finish(lines: list[str], oneliner: bool) -> str:
    """Join a record's lines, trim trailing blanks (xstrtrim) and end it."""
    out = (" " if oneliner else "\n   ").join(lines).rstrip()
    return out + ("\n" if oneliner else "\n\n")


def _user_text(name: str, uid: int) -> str:
    return f"{name or uid}({uid})"


# --------------------------------------------------------------------------- stdio patterns

def expand_stdio(pattern: str | None, *, job_id: int, array_job_id: int | None,
                 array_task_id: int | None, job_name: str, user: str, work_dir: str) -> str:
    """slurm_expand_job_stdio_fields: the path scontrol shows for StdOut/StdErr/StdIn (relative
    paths under WorkDir; a meta record expands %a to 4294967294, as Slurm does)."""
    if not pattern:
        return ""
    from ..slurm.filenames import expand_pattern
    return expand_pattern(pattern, job_id=job_id, array_job_id=array_job_id,
                          array_task_id=array_task_id, user=user, job_name=job_name,
                          work_dir=work_dir or None)


# --------------------------------------------------------------------------- show job

_SHARE_TEXT = {"exclusive": "NO", "oversubscribe": "YES", "user": "USER", "mcs": "MCS",
               "topo": "TOPO"}


def _job_mem(spec: JobSpec | None, partition: Partition | None) -> tuple[str, int | None]:
    """(MinMemory kind, MiB per CPU or per node) following Slurm's rules: --mem-per-cpu ->
    MinMemoryCPU; --mem -> MinMemoryNode (0 = the whole node); neither -> the partition's
    DefMemPerCPU (MinMemoryCPU), else no memory request at all (MinMemoryNode=0, per=None)."""
    res = spec.resources if spec is not None else None
    if res is not None and res.mem_per_cpu:
        return "CPU", res.mem_per_cpu
    if res is not None and res.mem_per_node is not None:
        return "Node", res.mem_per_node
    if partition is not None and partition.def_mem_per_cpu:
        return "CPU", partition.def_mem_per_cpu
    return "Node", None


def job_tres(record: JobRecord, spec: JobSpec | None, partition: Partition | None, *,
             requested: bool) -> str:
    """ReqTRES / AllocTRES: cpu=,mem=,node=,billing=[,gres/gpu=]."""
    cpus = record.num_cpus
    res = spec.resources if spec is not None else None
    if requested and res is not None:
        nodes = res.num_nodes
    else:
        nodes = record.num_nodes
    kind, per = _job_mem(spec, partition)
    if kind == "CPU":
        mem = (per or 0) * cpus
    elif per:
        mem = per * nodes
    elif per == 0:                     # --mem=0: all of each node's memory
        mem = (partition.mem_per_node if partition is not None else 0) * nodes
    else:                              # no memory request: memory is not tracked
        mem = 0
    parts = [f"cpu={cpus}"]
    if mem:
        parts.append(f"mem={_mem(mem)}")
    parts.append(f"node={nodes}")
    parts.append(f"billing={cpus}")
    gpn = res.gpus_per_node_total if res is not None else 0
    if gpn:
        gpus = res.gpus if (res is not None and res.gpus) else gpn * nodes
        parts.append(f"gres/gpu={gpus}")
    return ",".join(parts)


def _gpu_tres(count: int, gpu_type: str | None) -> str:
    return f"gres/gpu:{gpu_type}:{count}" if gpu_type else f"gres/gpu:{count}"


def default_dependency_text(record: JobRecord, spec: JobSpec | None) -> str | None:
    """What `Dependency=` shows when the caller did not work it out: for a job still pending,
    every term of its dependency as `(unfulfilled)` (`(failed)` when the reason is
    DependencyNeverSatisfied); otherwise None (`(null)`: Slurm drops satisfied terms).  The
    CLI passes a better text built from the targets' states."""
    if record.state != JobState.PENDING:
        return None
    dep = spec.dependency if spec is not None else None
    if dep is None and record.dependency:
        from ..slurm.dependency import parse_dependency
        try:
            dep = parse_dependency(record.dependency)
        except ValueError:
            return None
    if dep is None or not dep.terms:
        return None
    from ..slurm.dependency import format_dependency
    failed = record.reason == "DependencyNeverSatisfied"
    text = format_dependency(dep, (lambda t: False) if failed else None, empty="")
    return text or None


def show_job(record: JobRecord, spec: JobSpec | None = None, *, now: float,
             oneliner: bool = False, dependency_text: Any = ...,
             partition: Partition | None = None, task_id: int | None = None,
             group_name: str | None = None, track_wckey: bool = False,
             details: bool = False) -> str:
    """One job record as `scontrol show job` prints it (25.11 layout).

    `task_id`: for `show job N_T` on an array's meta record, Slurm prints the meta record with
    `ArrayTaskId=T` and the task's StdOut; pass T.  `dependency_text`: the text after
    `Dependency=` without the key (None -> `(null)`; omitted -> `default_dependency_text`).
    `partition`: the job's partition (time-limit default, DefMemPerCPU, node memory)."""
    spec = spec if spec is not None else record.spec
    res = spec.resources if spec is not None else None
    pending = record.state == JobState.PENDING
    lines: list[str] = []

    # ---- line 1
    head = [f"JobId={record.job_id}"]
    if record.array_job_id is not None:
        if record.is_array_meta and task_id is None:
            text = _indices(record.array_pending)
            if record.array_throttle:
                text += f"%{record.array_throttle}"
            head.append(f"ArrayJobId={record.array_job_id} ArrayTaskId={text}")
        else:
            tid = task_id if task_id is not None else record.array_task_id
            head.append(f"ArrayJobId={record.array_job_id} ArrayTaskId={tid}")
        if record.array_throttle:
            head.append(f"ArrayTaskThrottle={record.array_throttle}")
    head.append(f"JobName={record.name}")
    lines.append(" ".join(head))

    # ---- identity
    gid = spec.gid if spec is not None else record.uid
    group = group_name or (spec.group if spec is not None and spec.group else "") or record.user
    lines.append(f"UserId={_user_text(record.user, record.uid)} "
                 f"GroupId={_user_text(group, gid)} MCS_label=N/A")
    prio = 0 if record.hold else record.priority
    line = (f"Priority={prio} Nice={record.nice} Account={record.account or NULL} "
            f"QOS={record.qos or NULL}")
    if track_wckey:
        line += f" WCKey={(spec.wckey if spec is not None else None) or NULL}"
    lines.append(line)

    # ---- state
    if dependency_text is ...:
        dependency_text = default_dependency_text(record, spec)
    reason = (record.reason or "None").replace(" ", "_")
    lines.append(f"JobState={record.state.value} Reason={reason} "
                 f"Dependency={dependency_text or NULL}")
    requeue = 0 if (spec is not None and spec.requeue is False) else 1
    batch = _batch_flag(spec)
    lines.append(f"Requeue={requeue} Restarts={record.restarts} BatchFlag={batch} Reboot=0 "
                 f"ExitCode={record.exit_code}:{record.exit_signal}")
    if details:
        lines.append(f"DerivedExitCode={record.derived_exit_code}:0")

    # ---- times
    if pending or not record.start_time:
        run = 0.0
    else:
        end = record.end_time if (record.end_time and record.state.is_terminal) else now
        run = max(0.0, end - record.start_time)
    limit = record.time_limit
    if limit is None and partition is not None:
        limit = partition.default_time if partition.default_time is not None else partition.max_time
    tmin = spec.time_min if spec is not None else None
    lines.append(f"RunTime={_hms(run)} TimeLimit={_limit(limit)} "
                 f"TimeMin={_limit(tmin) if tmin else 'N/A'}")
    lines.append(f"SubmitTime={_ts(record.submit_time)} EligibleTime={_ts(record.eligible_time)}")
    accrue = getattr(record, "accrue_time", None)
    if accrue is None:
        accrue = record.eligible_time
    lines.append(f"AccrueTime={_ts(accrue)}")
    end_time = record.end_time
    if not end_time and record.state in (JobState.RUNNING, JobState.SUSPENDED,
                                         JobState.CONFIGURING) and record.start_time:
        if limit is not None and limit != INFINITE and limit >= 0:
            end_time = record.start_time + limit * 60
    deadline = spec.deadline if spec is not None else None
    lines.append(f"StartTime={_ts(record.start_time)} EndTime={_ts(end_time)} "
                 f"Deadline={_ts(deadline) if deadline else 'N/A'}")
    last_eval = getattr(record, "last_sched_eval", None) or record.start_time or record.submit_time
    lines.append(f"SuspendTime=None SecsPreSuspend=0 LastSchedEval={_ts(last_eval)} "
                 "Scheduler=Main")

    # ---- placement
    submit_host = (spec.submit_host if spec is not None else "") or "localhost"
    submit_pid = spec.submit_pid if spec is not None else 0
    lines.append(f"Partition={record.partition} AllocNode:Sid={submit_host}:{submit_pid}")
    extra = spec.extra if spec is not None else {}
    lines.append(f"ReqNodeList={extra.get('nodelist') or NULL} "
                 f"ExcNodeList={extra.get('exclude') or NULL}")
    nodes = _expand(record.node_list) if record.node_list else []
    lines.append(f"NodeList={_compress(nodes, sort=True)}")
    if nodes:
        lines.append(f"BatchHost={nodes[0]}")

    # ---- sizes
    if pending:
        nmin = record.num_nodes
        nmax = None
        if res is not None and res.nodes_min:
            nmax = res.nodes_max or res.nodes_min
        elif spec is not None and spec.hold:
            nmax = nmin                      # sbatch -H sets max_nodes: NumNodes=1-1
        if nmax is not None and nmax < nmin:
            nmin = nmax
        num_nodes = f"{nmin}-{nmax}" if nmax else f"{nmin}"
    else:
        num_nodes = f"{record.num_nodes}"
    cpt = res.cpus_per_task if (res is not None and res.cpus_per_task) else 1
    lines.append(f"NumNodes={num_nodes} NumCPUs={record.num_cpus} NumTasks={record.num_tasks} "
                 f"CPUs/Task={cpt} ReqB:S:C:T=0:0:*:*")
    lines.append(f"ReqTRES={job_tres(record, spec, partition, requested=True)}")
    alloc = job_tres(record, spec, partition, requested=False) if nodes else NULL
    lines.append(f"AllocTRES={alloc}")
    tpn = res.ntasks_per_node if (res is not None and res.ntasks_per_node) else 0
    lines.append(f"Socks/Node=* NtasksPerN:B:S:C={tpn}:0:*:* CoreSpec=*")
    min_cpus = cpt * (tpn or 1)
    kind, per = _job_mem(spec, partition)
    tmp = res.tmp_mb if (res is not None and res.tmp_mb) else 0
    lines.append(f"MinCPUsNode={min_cpus} MinMemory{kind}={_mem(per)} MinTmpDiskNode={_mem(tmp)}")
    features = res.constraint if (res is not None and res.constraint) else NULL
    lines.append(f"Features={features} DelayBoot=00:00:00")
    if spec is not None and spec.reservation:
        lines.append(f"Reservation={spec.reservation}")
    share = "OK"
    if res is not None and res.exclusive:
        share = "NO"
    elif extra.get("oversubscribe"):
        share = "YES"
    lic = (spec.licenses if spec is not None else None) or NULL
    lic_alloc = lic if (nodes and lic != NULL) else NULL
    lines.append(f"OverSubscribe={share} Contiguous=0 Licenses={lic} LicensesAlloc={lic_alloc} "
                 "Network=(null)")

    # ---- command and files
    command = record.command or (spec.command if spec is not None else "") or NULL
    lines.append(f"Command={command}")
    lines.append(f"SubmitLine={(spec.submit_line if spec is not None else '') or NULL}")
    lines.append(f"WorkDir={record.work_dir or (spec.work_dir if spec is not None else '')}")
    comment = record.comment or (spec.comment if spec is not None else None)
    if comment:
        lines.append(f"Comment={comment}")
    if batch:
        out, err, inp = _stdio_paths(record, spec, task_id)
        lines.append(f"StdErr={err}")
        lines.append(f"StdIn={inp}")
        lines.append(f"StdOut={out}")
    if spec is not None and spec.kill_on_invalid_dep is not None:
        lines.append("KillOnInvalidDependent=" + ("Yes" if spec.kill_on_invalid_dep else "No"))
    if spec is not None and spec.mail_type and spec.mail_user:
        lines.append(f"MailUser={spec.mail_user} MailType={spec.mail_type}")
    if res is not None:
        if res.gpus:
            lines.append(f"TresPerJob={_gpu_tres(res.gpus, res.gpu_type)}")
        per_node = []
        if res.gpus_per_node:
            per_node.append(_gpu_tres(res.gpus_per_node, res.gpu_type))
        for g in res.gres:
            if g.name == "gpu" and res.gpus_per_node:
                continue
            per_node.append(f"gres/{g.name}:{g.type}:{g.count}" if g.type
                            else f"gres/{g.name}:{g.count}")
        if per_node:
            lines.append("TresPerNode=" + ",".join(per_node))
        per_task = []
        if res.cpus_per_task:
            per_task.append(f"cpu={res.cpus_per_task}")
        if res.gpus_per_task:
            per_task.append(_gpu_tres(res.gpus_per_task, res.gpu_type))
        if per_task:
            lines.append("TresPerTask=" + ",".join(per_task))
    return _finish(lines, oneliner)


def _batch_flag(spec: JobSpec | None) -> int:
    """1 for sbatch jobs; 0 for jobs created by srun/salloc (no StdErr/StdIn/StdOut lines)."""
    if spec is None:
        return 1
    ex = spec.extra or {}
    if ex.get("batch_flag") == 0 or ex.get("srun") or ex.get("interactive"):
        return 0
    return 1


def _stdio_paths(record: JobRecord, spec: JobSpec | None,
                 task_id: int | None) -> tuple[str, str, str]:
    """(StdOut, StdErr, StdIn) as scontrol shows them: the patterns expanded for this record
    (`task_id` overrides the task, for `show job N_T` on a meta record).  StdErr is empty when
    no -e was given (25.11); StdIn defaults to /dev/null."""
    tid = task_id if task_id is not None else record.array_task_id
    is_array = record.array_job_id is not None
    kw = dict(job_id=record.job_id, array_job_id=record.array_job_id, array_task_id=tid,
              job_name=record.name, user=record.user,
              work_dir=record.work_dir or (spec.work_dir if spec is not None else ""))
    if spec is not None:
        pattern = spec.output or ("slurm-%A_%a.out" if is_array else "slurm-%j.out")
        out = expand_stdio(pattern, **kw)
        err = expand_stdio(spec.error, **kw) if spec.error else ""
        inp = expand_stdio(spec.input, **kw) if spec.input else "/dev/null"
        return out, err, inp
    # no spec: trust the record (already expanded by the controller)
    out = record.stdout_path
    if not out:
        out = expand_stdio("slurm-%A_%a.out" if is_array else "slurm-%j.out", **kw)
    elif is_array and (record.is_array_meta or task_id is not None):
        out = expand_stdio("slurm-%A_%a.out", **kw)
    err = record.stderr_path if record.stderr_path and record.stderr_path != out else ""
    return out, err, record.stdin_path or "/dev/null"


def show_jobs(items: Iterable[tuple[JobRecord, JobSpec | None]], *, now: float,
              oneliner: bool = False, **kw: Any) -> str:
    """Several records; `No jobs in the system` when there are none (exit 0)."""
    out = [show_job(rec, spec, now=now, oneliner=oneliner, **kw) for rec, spec in items]
    if not out:
        return "No jobs in the system\n"
    return "".join(out)


# --------------------------------------------------------------------------- show partition

def _time_value(minutes: int | None, none_text: str) -> str:
    if minutes is None:
        return none_text
    if minutes == INFINITE or minutes < 0:
        return "UNLIMITED"
    return _limit(minutes)


def partition_tres(part: Partition) -> str:
    """TRES=cpu=2,mem=24105M,node=1,billing=2[,gres/gpu=N]."""
    cpus = part.total_cpus
    parts = [f"cpu={cpus}", f"mem={_mem(part.mem_per_node * part.nodes)}",
             f"node={part.nodes}", f"billing={cpus}"]
    if part.gpus_per_node:
        parts.append(f"gres/gpu={part.gpus_per_node * part.nodes}")
    return ",".join(parts)


def show_partition(partitions: Iterable[Partition], *, oneliner: bool = False,
                   cluster_def_mem_per_cpu: int | None = None) -> str:
    """`scontrol show partition` for the given partitions, in order.

    `cluster_def_mem_per_cpu`: a cluster-wide DefMemPerCPU (slurm.conf level); a partition whose
    def_mem_per_cpu merely repeats it shows `DefMemPerNode=UNLIMITED`, as Slurm does."""
    out = []
    for p in partitions:
        lines = [f"PartitionName={p.name}",
                 "AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL",
                 f"AllocNodes=ALL Default={'YES' if p.default else 'NO'} QoS=N/A",
                 f"DefaultTime={_time_value(p.default_time, 'NONE')} DisableRootJobs=NO "
                 "ExclusiveUser=NO ExclusiveTopo=NO GraceTime=0 Hidden=NO",
                 f"MaxNodes=UNLIMITED MaxTime={_time_value(p.max_time, 'UNLIMITED')} MinNodes=0 "
                 "LLN=NO MaxCPUsPerNode=UNLIMITED MaxCPUsPerSocket=UNLIMITED",
                 f"Nodes={_compress(p.node_names)}",
                 "PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO",
                 "OverTimeLimit=NONE PreemptMode=OFF",
                 f"State={(p.state or 'UP').upper()} TotalCPUs={p.total_cpus} "
                 f"TotalNodes={p.nodes} SelectTypeParameters=NONE",
                 "JobDefaults=(null)"]
        if p.def_mem_per_cpu and p.def_mem_per_cpu != cluster_def_mem_per_cpu:
            mem = f"DefMemPerCPU={p.def_mem_per_cpu}"
        else:
            mem = "DefMemPerNode=UNLIMITED"
        lines.append(f"{mem} MaxMemPerNode=UNLIMITED")
        lines.append(f"TRES={partition_tres(p)}")
        out.append((" " if oneliner else "\n   ").join(lines) + ("\n" if oneliner else "\n\n"))
    return "".join(out)


def partition_not_found(name: str) -> str:
    """stdout text (exit 1) for `scontrol show partition NAME` with an unknown NAME."""
    return f"Partition {name} not found\n"


# --------------------------------------------------------------------------- show node

def node_alloc_tres(node: NodeStatus) -> str:
    parts = []
    if node.cpus_alloc:
        parts.append(f"cpu={node.cpus_alloc}")
    if node.mem_alloc:
        parts.append(f"mem={_mem(node.mem_alloc)}")
    return ",".join(parts)


def node_cfg_tres(node: NodeStatus) -> str:
    parts = [f"cpu={node.cpus_total}", f"mem={_mem(node.mem_total)}", f"billing={node.cpus_total}"]
    gpus = getattr(node, "gpus_total", 0) or 0
    if gpus:
        parts.append(f"gres/gpu={gpus}")
    return ",".join(parts)


def show_node(nodes: Iterable[NodeStatus], *, oneliner: bool = False,
              version: str = SLURM_VERSION) -> str:
    """`scontrol show node` for the given nodes (trailing blanks kept exactly as Slurm's)."""
    from .sinfo import node_state_complete

    le = " " if oneliner else "\n   "
    out = []
    for n in nodes:
        sockets = getattr(n, "sockets", None) or 1
        threads = getattr(n, "threads_per_core", None) or 1
        cores = getattr(n, "cores_per_socket", None) or max(1, n.cpus_total // (sockets * threads))
        boards = getattr(n, "boards", None) or 1
        tmp_disk = getattr(n, "tmp_disk", 0) or 0
        s = f"NodeName={n.name} "
        if n.arch:
            s += f"Arch={n.arch} "
        s += f"CoresPerSocket={cores} " + le
        load = "N/A" if n.cpu_load is None else f"{n.cpu_load:.2f}"
        s += (f"CPUAlloc={n.cpus_alloc} CPUEfctv={n.cpus_total} CPUTot={n.cpus_total} "
              f"CPULoad={load}") + le
        s += f"AvailableFeatures={n.features or NULL}" + le
        s += f"ActiveFeatures={n.features or NULL}" + le
        s += f"Gres={n.gres or NULL}" + le
        s += (f"NodeAddr={n.addr or n.name} NodeHostName={n.hostname or n.name} "
              f"Version={version}") + le
        if n.os:
            s += f"OS={n.os} " + le
        free = "N/A" if n.mem_free is None else str(n.mem_free)
        s += (f"RealMemory={n.mem_total} AllocMem={n.mem_alloc} FreeMem={free} "
              f"Sockets={sockets} Boards={boards}") + le
        s += (f"State={node_state_complete(n)} ThreadsPerCore={threads} TmpDisk={tmp_disk} "
              f"Weight={n.weight} Owner=N/A MCS_label=N/A") + le
        if n.partitions:
            s += f"Partitions={','.join(n.partitions)} " + le
        boot = f"BootTime={_ts(n.boot_time, unknown='None')} " if n.boot_time else "BootTime=None "
        start = getattr(n, "slurmd_start_time", None) or n.boot_time
        s += boot + (f"SlurmdStartTime={_ts(start)}" if start else "SlurmdStartTime=None") + le
        busy = getattr(n, "last_busy_time", None) or start
        s += f"LastBusyTime={_ts(busy)} ResumeAfterTime=None" + le
        s += f"CfgTRES={node_cfg_tres(n)}" + le
        s += f"AllocTRES={node_alloc_tres(n)}" + le
        s += "CurrentWatts=0 AveWatts=0"
        if n.reason:
            rtime = getattr(n, "reason_time", None)
            ruser = getattr(n, "reason_user", None)
            first, *rest = n.reason.split("\n")
            s += le + f"Reason={first}"
            if rtime:
                s += f" [{ruser or 'root'}@{_ts(rtime)}]"
            for r in rest:
                s += le + "       " + r
        out.append(s + ("\n" if oneliner else "\n\n"))
    return "".join(out)


def node_not_found(name: str) -> str:
    return f"Node {name} not found\n"


# --------------------------------------------------------------------------- show config

#: The whole `scontrol show config` key list of Slurm 25.11.7, in its order, with the values a
#: default single-controller cluster shows (capture 26).  `show_config` overrides what we know.
SHOW_CONFIG_DEFAULTS: tuple[tuple[str, str], ...] = (
    ("AccountingStorageBackupHost", "(null)"),
    ("AccountingStorageEnforce", "none"),
    ("AccountingStorageHost", "localhost"),
    ("AccountingStorageExternalHost", "(null)"),
    ("AccountingStorageParameters", "(null)"),
    ("AccountingStoragePort", "6819"),
    ("AccountingStorageTRES", "cpu,mem,energy,node,billing,fs/disk,vmem,pages"),
    ("AccountingStorageType", "accounting_storage/slurmdbd"),
    ("AccountingStoreFlags", "(null)"),
    ("AcctGatherEnergyType", "(null)"),
    ("AcctGatherFilesystemType", "(null)"),
    ("AcctGatherInterconnectType", "(null)"),
    ("AcctGatherNodeFreq", "0 sec"),
    ("AcctGatherProfileType", "(null)"),
    ("AllowSpecResourcesUsage", "no"),
    ("AuthAltTypes", "(null)"),
    ("AuthAltParameters", "(null)"),
    ("AuthInfo", "(null)"),
    ("AuthType", "auth/munge"),
    ("BatchStartTimeout", "10 sec"),
    ("BcastExclude", "/lib,/usr/lib,/lib64,/usr/lib64"),
    ("BcastParameters", "(null)"),
    ("BOOT_TIME", "Unknown"),
    ("BurstBufferType", "(null)"),
    ("CertgenParameters", "(null)"),
    ("CertgenType", "(null)"),
    ("CertmgrParameters", "(null)"),
    ("CertmgrType", "(null)"),
    ("CliFilterParameters", "(null)"),
    ("CliFilterPlugins", "(null)"),
    ("ClusterName", "cluster"),
    ("CommunicationParameters", "(null)"),
    ("CompleteWait", "0 sec"),
    ("CpuFreqDef", "Unknown"),
    ("CpuFreqGovernors", "OnDemand,Performance,UserSpace"),
    ("CredType", "cred/munge"),
    ("DataParserParameters", "(null)"),
    ("DebugFlags", "(null)"),
    ("DefMemPerNode", "UNLIMITED"),
    ("DependencyParameters", "(null)"),
    ("DisableRootJobs", "no"),
    ("EioTimeout", "60"),
    ("EnforcePartLimits", "NO"),
    ("EpilogMsgTime", "2000 usec"),
    ("FairShareDampeningFactor", "1"),
    ("FederationParameters", "(null)"),
    ("FirstJobId", "1"),
    ("GresTypes", "(null)"),
    ("GpuFreqDef", "(null)"),
    ("GroupUpdateForce", "1"),
    ("GroupUpdateTime", "600 sec"),
    ("HASH_VAL", "Match"),
    ("HashPlugin", "hash/k12"),
    ("HealthCheckInterval", "0 sec"),
    ("HealthCheckNodeState", "ANY"),
    ("HealthCheckProgram", "(null)"),
    ("HttpParserType", "http_parser/libhttp_parser"),
    ("InactiveLimit", "0 sec"),
    ("InteractiveStepOptions", "--interactive --preserve-env --pty $SHELL"),
    ("JobAcctGatherFrequency", "30"),
    ("JobAcctGatherType", "jobacct_gather/linux"),
    ("JobAcctGatherParams", "(null)"),
    ("JobCompHost", "localhost"),
    ("JobCompLoc", "(null)"),
    ("JobCompParams", "(null)"),
    ("JobCompPass", "(null)"),
    ("JobCompPort", "0"),
    ("JobCompType", "(null)"),
    ("JobCompUser", "root"),
    ("JobDefaults", "(null)"),
    ("JobFileAppend", "0"),
    ("JobRequeue", "1"),
    ("JobSubmitPlugins", "(null)"),
    ("KillOnBadExit", "0"),
    ("KillWait", "30 sec"),
    ("LaunchParameters", "(null)"),
    ("Licenses", "(null)"),
    ("LogTimeFormat", "iso8601_ms"),
    ("MailDomain", "(null)"),
    ("MailProg", "/bin/mail"),
    ("MaxArraySize", "1001"),
    ("MaxBatchRequeue", "5"),
    ("MaxDBDMsgs", "20004"),
    ("MaxJobCount", "10000"),
    ("MaxJobId", "67043328"),
    ("MaxMemPerNode", "UNLIMITED"),
    ("MaxNodeCount", "1"),
    ("MaxStepCount", "40000"),
    ("MaxTasksPerNode", "512"),
    ("MCSPlugin", "(null)"),
    ("MCSParameters", "(null)"),
    ("MessageTimeout", "10 sec"),
    ("MetricsType", "(null)"),
    ("MinJobAge", "300 sec"),
    ("MpiDefault", "(null)"),
    ("MpiParams", "(null)"),
    ("NamespaceType", "(null)"),
    ("NEXT_JOB_ID", "1"),
    ("NodeFeaturesPlugins", "(null)"),
    ("OverTimeLimit", "0 min"),
    ("PluginDir", "/usr/lib/slurm"),
    ("PlugStackConfig", "(null)"),
    ("PreemptMode", "OFF"),
    ("PreemptParameters", "(null)"),
    ("PreemptType", "(null)"),
    ("PreemptExemptTime", "00:00:00"),
    ("PrEpParameters", "(null)"),
    ("PrEpPlugins", "prep/script"),
    ("PriorityParameters", "(null)"),
    ("PrioritySiteFactorParameters", "(null)"),
    ("PrioritySiteFactorPlugin", "(null)"),
    ("PriorityDecayHalfLife", "7-00:00:00"),
    ("PriorityCalcPeriod", "00:05:00"),
    ("PriorityFavorSmall", "no"),
    ("PriorityFlags", ""),
    ("PriorityMaxAge", "7-00:00:00"),
    ("PriorityType", "priority/multifactor"),
    ("PriorityUsageResetPeriod", "NONE"),
    ("PriorityWeightAge", "0"),
    ("PriorityWeightAssoc", "0"),
    ("PriorityWeightFairShare", "0"),
    ("PriorityWeightJobSize", "0"),
    ("PriorityWeightPartition", "0"),
    ("PriorityWeightQOS", "0"),
    ("PriorityWeightTRES", "(null)"),
    ("PrivateData", "none"),
    ("ProctrackType", "proctrack/linuxproc"),
    ("PrologEpilogTimeout", "65534"),
    ("PrologFlags", "(null)"),
    ("PropagatePrioProcess", "0"),
    ("PropagateResourceLimits", "ALL"),
    ("PropagateResourceLimitsExcept", "(null)"),
    ("RebootProgram", "(null)"),
    ("ReconfigFlags", "(null)"),
    ("RequeueExit", "(null)"),
    ("RequeueExitHold", "(null)"),
    ("ResumeFailProgram", "(null)"),
    ("ResumeProgram", "(null)"),
    ("ResumeRate", "300 nodes/min"),
    ("ResumeTimeout", "60 sec"),
    ("ResvEpilog", "(null)"),
    ("ResvOverRun", "0 min"),
    ("ResvProlog", "(null)"),
    ("ReturnToService", "1"),
    ("SchedulerParameters", "(null)"),
    ("SchedulerTimeSlice", "30 sec"),
    ("SchedulerType", "sched/backfill"),
    ("ScronParameters", "(null)"),
    ("SelectType", "select/cons_tres"),
    ("SelectTypeParameters", "CR_CORE_MEMORY"),
    ("SlurmUser", "root(0)"),
    ("SlurmctldAddr", "(null)"),
    ("SlurmctldDebug", "info"),
    ("SlurmctldHost[0]", "localhost"),
    ("SlurmctldLogFile", "(null)"),
    ("SlurmctldPort", "6817"),
    ("SlurmctldSyslogDebug", "(null)"),
    ("SlurmctldPrimaryOffProg", "(null)"),
    ("SlurmctldPrimaryOnProg", "(null)"),
    ("SlurmctldTimeout", "120 sec"),
    ("SlurmctldParameters", "(null)"),
    ("SlurmdDebug", "info"),
    ("SlurmdLogFile", "(null)"),
    ("SlurmdParameters", "(null)"),
    ("SlurmdPidFile", "/var/run/slurmd.pid"),
    ("SlurmdPort", "6818"),
    ("SlurmdSpoolDir", "/var/spool/slurmd"),
    ("SlurmdSyslogDebug", "(null)"),
    ("SlurmdTimeout", "300 sec"),
    ("SlurmdUser", "root(0)"),
    ("SlurmSchedLogFile", "(null)"),
    ("SlurmSchedLogLevel", "0"),
    ("SlurmctldPidFile", "/var/run/slurmctld.pid"),
    ("SLURM_CONF", "/etc/slurm/slurm.conf"),
    ("SLURM_VERSION", SLURM_VERSION),
    ("SrunEpilog", "(null)"),
    ("SrunPortRange", "0-0"),
    ("SrunProlog", "(null)"),
    ("StateSaveLocation", "/var/spool/slurmctld"),
    ("SuspendExcNodes", "(null)"),
    ("SuspendExcParts", "(null)"),
    ("SuspendExcStates", "(null)"),
    ("SuspendProgram", "(null)"),
    ("SuspendRate", "60 nodes/min"),
    ("SuspendTime", "INFINITE"),
    ("SuspendTimeout", "30 sec"),
    ("SwitchParameters", "(null)"),
    ("SwitchType", "(null)"),
    ("TaskEpilog", "(null)"),
    ("TaskPlugin", "(null)"),
    ("TaskPluginParam", "(null type)"),
    ("TaskProlog", "(null)"),
    ("TCPTimeout", "2 sec"),
    ("TLSParameters", "(null)"),
    ("TLSType", "tls/none"),
    ("TmpFS", "/tmp"),
    ("TopologyParam", "(null)"),
    ("TopologyPlugin", "topology/flat"),
    ("TrackWCKey", "no"),
    ("TreeWidth", "16"),
    ("UsePam", "no"),
    ("UnkillableStepProgram", "(null)"),
    ("UnkillableStepTimeout", "60 sec"),
    ("UrlParserType", "url_parser/libhttp_parser"),
    ("VSizeFactor", "0 percent"),
    ("WaitTime", "0 sec"),
    ("X11Parameters", "(null)"),
)

#: Keys Slurm prints under another name depending on the value (DefMemPerCPU vs DefMemPerNode).
_CONFIG_ALIASES = {"DefMemPerCPU": "DefMemPerNode", "MaxMemPerCPU": "MaxMemPerNode"}


def config_facts(*, cluster_name: str, min_job_age: int, max_array_size: int, kill_wait: int,
                 partitions: Sequence[Partition] = (), boot_time: float | None = None,
                 next_job_id: int | None = None, host: str = "localhost",
                 conf_path: str | None = None, state_dir: str | None = None,
                 user: str | None = None, uid: int | None = None,
                 def_mem_per_cpu: int | None = None, first_job_id: int = 1) -> dict[str, str]:
    """The `show config` values slurmshim has a meaning for, as strings keyed like Slurm's."""
    facts: dict[str, str] = {
        "ClusterName": cluster_name,
        "MinJobAge": f"{min_job_age} sec",
        "MaxArraySize": str(max_array_size),
        "KillWait": f"{kill_wait} sec",
        "SLURM_VERSION": SLURM_VERSION,
        "SlurmctldHost[0]": host,
        "AccountingStorageHost": host,
        "FirstJobId": str(first_job_id),
        "MaxNodeCount": str(sum(p.nodes for p in partitions) or 1),
    }
    if boot_time:
        facts["BOOT_TIME"] = _ts(boot_time)
    if next_job_id is not None:
        facts["NEXT_JOB_ID"] = str(next_job_id)
    if conf_path:
        facts["SLURM_CONF"] = conf_path
    if state_dir:
        facts["StateSaveLocation"] = state_dir
        facts["SlurmdSpoolDir"] = os.path.join(state_dir, "spool")
    if user is not None:
        text = f"{user}({uid if uid is not None else 0})"
        facts["SlurmUser"] = text
        facts["SlurmdUser"] = text
        facts["JobCompUser"] = user
    if def_mem_per_cpu:
        facts["DefMemPerCPU"] = str(def_mem_per_cpu)
    return facts


def show_config(facts: Mapping[str, str], *, now: float, ping: str | None = None) -> str:
    """`scontrol show config`: `Configuration data as of <ts>`, every key as `%-23s = %s` (our
    values where we have them, Slurm's defaults otherwise), a blank line, then the ping line(s)
    (`ping`; default: the primary controller UP on SlurmctldHost)."""
    lines = [f"Configuration data as of {_ts(now)}"]
    used = set()
    for key, default in SHOW_CONFIG_DEFAULTS:
        value = default
        name = key
        for alias, base in _CONFIG_ALIASES.items():
            if base == key and alias in facts:
                name, value = alias, facts[alias]
                used.add(alias)
        if key in facts:
            value = facts[key]
            used.add(key)
        lines.append(f"{name:<23} = {value}")
    if ping is None:
        host = facts.get("SlurmctldHost[0]", "localhost").split("(")[0]
        ping = ping_text(host)
    return "\n".join(lines) + "\n\n" + ping


def ping_text(host: str, up: bool = True) -> str:
    """`scontrol ping`: `Slurmctld(primary) at <host> is UP`."""
    return f"Slurmctld(primary) at {host} is {'UP' if up else 'DOWN'}\n"


# --------------------------------------------------------------------------- hostlists

def show_hostnames(text: str) -> str:
    """`scontrol show hostnames LIST`: one name a line."""
    return "".join(f"{h}\n" for h in _expand(text))


def show_hostlist(text: str, *, sort: bool = False) -> str:
    """`scontrol show hostlist[sorted] LIST`: the ranged expression (input order kept unless
    sorted, like Slurm's hostlist_ranged_string)."""
    names = _expand(text)
    return _compress(names, sort=sort) + "\n"


def now_default() -> float:
    return _time.time()
