"""`srun` inside a job: run a job step on the job's nodes.  Standard library only.

The console script `srun` calls main() when SLURM_JOB_ID is set; the job runtime also puts an
`srun` of its own first on PATH (the image may not have slurmshim installed).  Supported: -n, -c,
-N, --ntasks-per-node, -l/--label, --multi-prog, -o/-e/-i (all | none | task id | pattern), -J,
-D, --export, --open-mode, -K/--kill-on-bad-exit, and the usual input variables (SLURM_NTASKS,
SLURM_CPUS_PER_TASK, SLURM_NNODES, SLURM_NTASKS_PER_NODE, SLURM_LABELIO, SLURM_EXPORT_ENV,
SRUN_OUTPUT/ERROR/INPUT, SLURM_OPEN_MODE, SLURM_KILL_BAD_EXIT).  Resource options that only
constrain a step inside its allocation are accepted and ignored; --mpi and --cpu-bind are
ignored with a warning (no PMI is provided).

Each step takes an id from the counter in $SLURMSHIM_STEP_DIR and leaves step-<id>.json there:
written at start (state RUNNING, srun's pid) and at the end (exit code and signal of the worst
task, state COMPLETED / FAILED / CANCELLED, times, ntasks, ncpus, node list), so the host can show
N.0, N.1 in sacct.

Tasks on this node are forked here; the tasks that the layout puts on the job's other nodes
are sent, through the main node's agent server, to those nodes' agents (runtime/agent.py), which
start them in their own process groups and stream their output and exit statuses back; srun
labels and writes the output, forwards signals and reports every task's exit as usual.  Nodes
whose agent has not joined yet are waited for until the job's join timeout runs out
($SLURMSHIM_NODE_JOIN_TIMEOUT, default 300 s from the job's start; agent.py), or sooner
($SLURMSHIM_SRUN_NODE_WAIT seconds, an optional cap of one srun's own); then srun fails naming
them ("Unable to create step for job N: node03 not responding: ...").  A node lost mid-step:
"srun: error: Node failure on node02" (Slurm's words), its tasks fail with exit code 1, srun
exits non-zero -- and the job ends NODE_FAIL unless it has --no-kill (job.py).  The tasks'
SLURM_LAUNCH_NODE_IPADDR (and SLURM_SRUN_COMM_HOST) is the main node's address on AWS Batch,
which the other nodes reach (MASTER_ADDR for torch.distributed), 127.0.0.1 on the local backend.

stdin, as srun(1) has it ("-i, --input": by default srun redirects stdin to all tasks; "IO
Redirection": "stdin will be redirected from the standard input of srun to all remote tasks"):
srun's stdin is broadcast -- every task that takes it gets all of it -- to all tasks (-i all,
the default), to task N only (-i N), to none (-i none: /dev/null); -i FILE (a pattern) is opened
by each task on its own node.  srun reads its stdin and copies it to each such task, through the
agents for tasks on other nodes; a single task on this node reads srun's stdin directly.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .common import (StdinWriter, StepDir, exit_info, read_chunks, read_json,
                     signal_name, spawn)
from .descriptor import (ENV_STEP_DIR, compress_counts, compress_hostlist, compress_indices,
                         expand_hostlist)
from .env import block_layout, export_mode
from .fname import expand_pattern

PROG = "srun"
ENV_NODE_WAIT = "SLURMSHIM_SRUN_NODE_WAIT"   # seconds to wait for other nodes' agents to join
ANNOUNCE_AFTER = 2.0   # seconds of waiting for nodes before srun says it is waiting
STOP_GRACE = 2.0       # seconds a pending step stopped by a signal waits for the server's answer

# long name -> (short letter or None, argument: 0 none / 1 required / 2 optional, kind)
# kind: the key in opts, "ignore" (accepted, no effect) or "warn" (accepted, warning)
OPTIONS: Dict[str, Tuple[Optional[str], int, str]] = {
    "ntasks": ("n", 1, "ntasks"),
    "cpus-per-task": ("c", 1, "cpus_per_task"),
    "nodes": ("N", 1, "nodes"),
    "ntasks-per-node": (None, 1, "ntasks_per_node"),
    "label": ("l", 0, "label"),
    "multi-prog": (None, 0, "multi_prog"),
    "output": ("o", 1, "output"),
    "error": ("e", 1, "error"),
    "input": ("i", 1, "input"),
    "export": (None, 1, "export"),
    "job-name": ("J", 1, "job_name"),
    "chdir": ("D", 1, "chdir"),
    "open-mode": (None, 1, "open_mode"),
    "kill-on-bad-exit": ("K", 2, "kill_on_bad_exit"),
    "help": ("h", 0, "help"),
    "usage": (None, 0, "help"),
    "mpi": (None, 1, "warn"),
    "cpu-bind": (None, 1, "warn"),
    "distribution": ("m", 1, "warn"),
    "unbuffered": ("u", 0, "ignore"),
    "wait": ("W", 1, "ignore"),
    "verbose": ("v", 0, "ignore"),
    "quiet": ("Q", 0, "ignore"),
    "exclusive": (None, 2, "ignore"),
    "overlap": (None, 0, "overlap"),
    "exact": (None, 0, "ignore"),
    "mem": (None, 1, "ignore"),
    "mem-per-cpu": (None, 1, "ignore"),
    "mem-per-gpu": (None, 1, "ignore"),
    "gpus": ("G", 1, "ignore"),
    "gpus-per-node": (None, 1, "ignore"),
    "gpus-per-task": (None, 1, "ignore"),
    "gres": (None, 1, "ignore"),
    "time": ("t", 1, "ignore"),
    "partition": ("p", 1, "ignore"),
    "account": ("A", 1, "ignore"),
    "qos": ("q", 1, "ignore"),
    "nodelist": ("w", 1, "ignore"),
    "exclude": ("x", 1, "ignore"),
    "jobid": (None, 1, "ignore"),
    "external-launcher": (None, 0, "ignore"),
    "propagate": (None, 2, "ignore"),
    "hint": (None, 1, "ignore"),
    "threads-per-core": (None, 1, "ignore"),
    "mem-bind": (None, 1, "ignore"),
    "gpu-bind": (None, 1, "ignore"),
    "overcommit": ("O", 0, "overcommit"),
}
_SHORT = {v[0]: k for k, v in OPTIONS.items() if v[0]}

USAGE = """\
Usage: srun [-N nnodes] [-n ntasks] [-c ncpus] [--ntasks-per-node=n] [-l] [-J jobname]
            [-o out] [-e err] [-i in] [-D dir] [--export=...] [--open-mode=append|truncate]
            [-K] [--multi-prog] executable [args...]
"""


class UsageError(Exception):
    """getopt-level error: the lines to print, exit 255 (like Slurm's srun)."""


class StepError(Exception):
    """A Slurm-style error: `srun: error: <message>`, exit 1."""


# ------------------------------------------------------------------ options

def parse_args(argv: Sequence[str]) -> Tuple[Dict[str, Any], List[str], List[str]]:
    """getopt_long with "+": options end at the first non-option.  Returns (options, command,
    warnings)."""
    opts: Dict[str, Any] = {}
    warnings: List[str] = []
    i = 0
    argv = list(argv)

    def store(name: str, value: Any) -> None:
        kind = OPTIONS[name][2]
        if kind == "warn":
            if str(value).lower() != "none":
                warnings.append("option --%s=%s is not supported here and is ignored"
                                % (name, value))
        elif kind != "ignore":
            opts[kind] = value

    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if arg.startswith("--"):
            body = arg[2:]
            name, eq, value = body.partition("=")
            matches = [k for k in OPTIONS if k == name] or \
                [k for k in OPTIONS if k.startswith(name)]
            if len(matches) != 1:
                if len(matches) > 1:
                    raise UsageError("%s: option '--%s' is ambiguous; possibilities: %s"
                                     % (PROG, name, " ".join("'--%s'" % m for m in matches)))
                raise UsageError("%s: unrecognized option '%s'" % (PROG, arg))
            name = matches[0]
            takes = OPTIONS[name][1]
            if takes == 0:
                if eq:
                    raise UsageError("%s: option '--%s' doesn't allow an argument"
                                     % (PROG, name))
                store(name, True)
            elif takes == 2:
                store(name, value if eq else True)
            else:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise UsageError("%s: option '--%s' requires an argument"
                                         % (PROG, name))
                    value = argv[i]
                store(name, value)
            i += 1
            continue
        if arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                letter = arg[j]
                name = _SHORT.get(letter)
                if name is None:
                    raise UsageError("%s: invalid option -- '%s'" % (PROG, letter))
                takes = OPTIONS[name][1]
                if takes == 0:
                    store(name, True)
                    j += 1
                    continue
                rest = arg[j + 1:]
                if takes == 2:
                    store(name, rest if rest else True)
                elif rest:
                    store(name, rest)
                else:
                    i += 1
                    if i >= len(argv):
                        raise UsageError("%s: option requires an argument -- '%s'"
                                         % (PROG, letter))
                    store(name, argv[i])
                break
            i += 1
            continue
        break
    return opts, argv[i:], warnings


def _int(value: Any, what: str) -> int:
    try:
        n = int(str(value).split("-", 1)[0])
    except ValueError:
        raise StepError('Invalid numeric value "%s" for %s.' % (value, what))
    return n


# ------------------------------------------------------------------ multi-prog

def _in_range(rank: int, spec: str, ntasks: int) -> Optional[int]:
    """Offset of `rank` within the rank spec ("1,3-5", "*"), or None."""
    if spec == "*":
        return rank
    passed = 0
    for rng in spec.split(","):
        if rng.isdigit():
            if rank == int(rng):
                return passed
            passed += 1
        elif "-" in rng:
            lo_s, hi_s = rng.split("-", 1)
            if lo_s.isdigit() and hi_s.isdigit():
                lo, hi = int(lo_s), int(hi_s)
                if lo <= rank <= hi:
                    return passed + rank - lo
                passed += hi - lo + 1
    return None


def _split_args(text: str, rank: int, offset: int) -> List[str]:
    """Tokenize a multi-prog command: whitespace separates, '...' quotes, backslash escapes,
    %t = task rank, %o = offset within the range."""
    args: List[str] = []
    cur: Optional[str] = None
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            if cur is not None:
                args.append(cur)
                cur = None
            i += 1
            continue
        cur = cur or ""
        if ch == "%" and i + 1 < len(text):
            letter = text[i + 1]
            if letter == "t":
                cur += str(rank)
            elif letter == "o":
                cur += str(offset)
            i += 2
        elif ch == "\\":
            if i + 1 < len(text):
                cur += text[i + 1]
            i += 2
        elif ch == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise StepError("Program arguments specification format invalid: %s." % text)
            cur += text[i + 1:end]
            i = end + 1
        else:
            cur += ch
            i += 1
    if cur is not None:
        args.append(cur)
    return args


def parse_multi_prog(path: str, ntasks: Optional[int]) -> Tuple[int, Dict[int, List[str]]]:
    """Read a --multi-prog file (srun(1) MULTIPLE PROGRAM CONFIGURATION).  Returns the task
    count (the highest rank + 1 when -n was not given) and each rank's argv."""
    try:
        with open(path, "r", encoding="utf-8") as fh:
            raw = fh.read().split("\n")
    except OSError:
        raise StepError("Unable to open configuration file %s" % path)
    lines: List[Tuple[int, str]] = []
    buf, start = "", 0
    for num, line in enumerate(raw, 1):
        if not buf:
            start = num
        if line.endswith("\\"):
            buf += line[:-1]
            continue
        buf += line
        lines.append((start, buf))
        buf = ""
    if buf:
        lines.append((start, buf))
    entries: List[Tuple[int, str, str]] = []
    highest = -1
    for num, line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.split(None, 1)
        if len(parts) < 2:
            raise StepError("Line %d of configuration file %s invalid" % (num, path))
        spec, rest = parts
        if spec != "*":
            for rng in spec.split(","):
                ends = rng.split("-", 1)
                if not all(e.isdigit() for e in ends):
                    raise StepError("Line %d of configuration file %s invalid" % (num, path))
                if len(ends) == 2 and int(ends[0]) > int(ends[1]):
                    raise StepError("Line %d of configuration file %s invalid" % (num, path))
                highest = max(highest, int(ends[-1]))
        entries.append((num, spec, rest))
    count = ntasks if ntasks else highest + 1
    if ntasks and highest >= ntasks:
        raise StepError("Invalid task id, %d >= ntasks" % highest)
    if count <= 0:
        raise StepError("Invalid task count %d" % count)
    programs: Dict[int, List[str]] = {}
    for rank in range(count):
        for _num, spec, rest in entries:
            offset = _in_range(rank, spec, count)
            if offset is not None:
                programs[rank] = _split_args(rest, rank, offset)
                break
        else:
            raise StepError("Configuration file %s invalid, no record for task id %d"
                            % (path, rank))
    return count, programs


# ------------------------------------------------------------------ the step

def _task_ranges(ids: Sequence[int]) -> str:
    return compress_indices(ids)


class _Out:
    """Where a task's stdout or stderr goes: an fd shared by tasks, with a lock for labelled
    lines."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.lock = threading.Lock()


def label_lines(prefix: bytes, buf: bytes) -> Tuple[bytes, bytes]:
    """Split off the complete lines of `buf`, each with `prefix`: (text to write, the rest)."""
    if b"\n" not in buf:
        return b"", buf
    head, rest = buf.rsplit(b"\n", 1)
    return b"".join(prefix + line + b"\n" for line in head.split(b"\n")), rest


def _label_pump(src: int, out: _Out, prefix: bytes) -> None:
    buf = b""
    for data in read_chunks(src):
        text, buf = label_lines(prefix, buf + data)
        if text:
            with out.lock:
                write_fd_bytes(out.fd, text)
    if buf:
        with out.lock:
            write_fd_bytes(out.fd, prefix + buf + b"\n")
    os.close(src)


def _decode(text: str) -> bytes:
    from .agent import decode_data
    return decode_data(text)


def write_fd_bytes(fd: int, data: bytes) -> None:
    while data:
        try:
            n = os.write(fd, data)
        except InterruptedError:
            continue
        except OSError:
            return
        data = data[n:]


class Step:
    def __init__(self, opts: Dict[str, Any], command: List[str], environ: Dict[str, str]) -> None:
        self.opts = opts
        self.command = command
        self.environ = environ
        step_dir = environ.get(ENV_STEP_DIR)
        self.steps: Optional[StepDir] = StepDir(step_dir) if step_dir else None
        self.info = self.steps.job_info() if self.steps else {}
        self.job_id = int(environ.get("SLURM_JOB_ID") or self.info.get("job_id") or 0)
        self.cancelled = False
        self.pending: List[int] = []

    # -- layout ------------------------------------------------------------------------------
    def plan(self) -> None:
        o, env = self.opts, self.environ
        job_nodes = self.info.get("node_names") or expand_hostlist(
            env.get("SLURM_JOB_NODELIST") or env.get("SLURMD_NODENAME") or "localhost")
        cpus = [int(c) for c in (self.info.get("cpus_per_node") or [])] or \
            [_int(env.get("SLURM_CPUS_ON_NODE") or 1, "cpus")] * len(job_nodes)
        if "cpus_per_task" in o:
            cpt = _int(o["cpus_per_task"], "--cpus-per-task")
        else:
            cpt = _int(env.get("SLURM_CPUS_PER_TASK") or 1, "SLURM_CPUS_PER_TASK")
        self.cpt_given = "cpus_per_task" in o or bool(env.get("SLURM_CPUS_PER_TASK"))
        self.cpt = max(cpt, 1)
        ntasks: Optional[int] = None
        if "ntasks" in o:
            ntasks = _int(o["ntasks"], "--ntasks")
        elif env.get("SLURM_NTASKS") or env.get("SLURM_NPROCS"):
            ntasks = _int(env.get("SLURM_NTASKS") or env.get("SLURM_NPROCS"), "SLURM_NTASKS")
        ntpn = o.get("ntasks_per_node") or env.get("SLURM_NTASKS_PER_NODE")
        ntpn_i = _int(ntpn, "--ntasks-per-node") if ntpn else None
        if "nodes" in o:
            nnodes = _int(o["nodes"], "--nodes")
        elif ntasks:
            nnodes = min(len(job_nodes), ntasks)
        else:
            nnodes = len(job_nodes)
        if nnodes < 1 or nnodes > len(job_nodes):
            raise StepError("Unable to create step for job %d: Requested node configuration is "
                            "not available" % self.job_id)
        self.programs: Optional[Dict[int, List[str]]] = None
        if o.get("multi_prog"):
            if not self.command:
                raise StepError("No command given to execute.")
            count, self.programs = parse_multi_prog(self.command[0],
                                                    ntasks if "ntasks" in o else None)
            ntasks = count
            extra = self.command[1:]
            for rank in self.programs:
                self.programs[rank] = self.programs[rank] + extra
        if not ntasks:
            ntasks = (ntpn_i or 1) * nnodes
        if ntasks < 1:
            raise StepError("invalid number of tasks (-n %d)" % ntasks)
        overcommit = o.get("overcommit") or o.get("overlap") or \
            self.environ.get("SLURM_OVERCOMMIT") in ("1", "yes")
        if ntasks * self.cpt > sum(cpus[:nnodes]) and not overcommit:
            raise StepError("Unable to create step for job %d: More processors requested than "
                            "permitted" % self.job_id)
        self.ntasks = ntasks
        self.node_names = list(job_nodes[:nnodes])
        if ntpn_i and "ntasks" not in o and not o.get("multi_prog"):
            self.per_node = [ntpn_i] * nnodes
            self.ntasks = sum(self.per_node)
        else:
            self.per_node = block_layout(ntasks, [c // self.cpt for c in cpus[:nnodes]])
        self.task_node: List[int] = []
        for node, count in enumerate(self.per_node):
            self.task_node.extend([node] * count)
        here = self.info.get("node_index")
        self.here = int(here) if here is not None else 0
        self.job_cpus = cpus

    # -- environment -------------------------------------------------------------------------
    def base_env(self) -> Dict[str, str]:
        export = self.opts.get("export") or self.environ.get("SLURM_EXPORT_ENV")
        mode = export_mode(export)
        env = dict(self.environ)
        if mode == "ALL":
            base = env
            if export:
                for item in export.split(",")[1:]:
                    name, eq, value = item.partition("=")
                    if eq and name not in base:
                        base[name] = value
        else:
            base = {k: v for k, v in env.items() if k.startswith("SLURM") or k == ENV_STEP_DIR}
            if mode == "LIST":
                for item in export.split(","):
                    name, eq, value = item.partition("=")
                    if eq:
                        base[name] = value
                    elif name in env:
                        base[name] = env[name]
        return base

    def step_env(self, port: int) -> Dict[str, str]:
        e = self.base_env()
        nodelist = compress_hostlist(self.node_names)
        tpn = compress_counts(self.per_node)
        e["SLURM_STEP_ID"] = e["SLURM_STEPID"] = str(self.step_id)
        e["SLURM_STEP_NUM_TASKS"] = e["SLURM_NTASKS"] = e["SLURM_NPROCS"] = str(self.ntasks)
        e["SLURM_STEP_NUM_NODES"] = e["SLURM_NNODES"] = str(len(self.node_names))
        e["SLURM_STEP_NODELIST"] = e["SLURM_NODELIST"] = nodelist
        e.setdefault("SLURM_JOB_NODELIST", nodelist)
        e["SLURM_STEP_TASKS_PER_NODE"] = e["SLURM_TASKS_PER_NODE"] = tpn
        e["SLURM_STEP_LAUNCHER_PORT"] = e["SLURM_SRUN_COMM_PORT"] = str(port)
        host = self.info.get("launch_addr") or "127.0.0.1"
        e["SLURM_SRUN_COMM_HOST"] = e["SLURM_LAUNCH_NODE_IPADDR"] = host
        e["SLURM_DISTRIBUTION"] = "cyclic" if self.ntasks <= len(self.node_names) else "block"
        e["SLURMD_DEBUG"] = "2"
        mask = os.umask(0)
        os.umask(mask)
        e["SLURM_UMASK"] = "0%o%o%o" % ((mask >> 6) & 7, (mask >> 3) & 7, mask & 7)
        group = self.info.get("group")
        if group:
            e["SLURM_JOB_GROUP"] = str(group)
        if self.cpt_given:
            e["SLURM_CPUS_PER_TASK"] = str(self.cpt)
        if self.opts.get("label"):
            e["SLURM_LABELIO"] = "1"
        if self.opts.get("job_name"):
            e["SLURM_JOB_NAME"] = str(self.opts["job_name"])
        return e

    def task_env(self, base: Dict[str, str], rank: int) -> Dict[str, str]:
        node = self.task_node[rank]
        on_node = [r for r in range(self.ntasks) if self.task_node[r] == node]
        e = dict(base)
        name = self.node_names[node]
        e["SLURM_PROCID"] = str(rank)
        e["SLURM_LOCALID"] = str(on_node.index(rank))
        e["SLURM_NODEID"] = str(node)
        e["SLURM_GTIDS"] = ",".join(str(r) for r in on_node)
        e["SLURMD_NODENAME"] = name
        e["SLURM_TOPOLOGY_ADDR"] = name
        e["SLURM_CPUS_ON_NODE"] = str(self.job_cpus[node] if node < len(self.job_cpus)
                                      else self.job_cpus[0])
        return e

    # -- io ----------------------------------------------------------------------------------
    def _expand(self, pattern: str, rank: int) -> str:
        env = self.environ
        arr = env.get("SLURM_ARRAY_JOB_ID")
        task = env.get("SLURM_ARRAY_TASK_ID")
        return expand_pattern(pattern, job_id=self.job_id,
                              array_job_id=int(arr) if arr else None,
                              array_task_id=int(task) if task else None, step_id=self.step_id,
                              node_name=self.node_names[self.task_node[rank]],
                              node_id=self.task_node[rank], task_id=rank,
                              user=env.get("SLURM_JOB_USER", ""),
                              job_name=env.get("SLURM_JOB_NAME", ""),
                              restart_count=int(env.get("SLURM_RESTART_COUNT") or 0),
                              is_srun=True)

    def _targets(self, which: str, default_fd: int) -> List[Optional[_Out]]:
        """Per-rank output target (None = /dev/null) for stdout ("o") or stderr ("e")."""
        o = self.opts
        spec = o.get("output") if which == "o" else (o.get("error") or o.get("output"))
        env_name = "SRUN_OUTPUT" if which == "o" else "SRUN_ERROR"
        if spec is None:
            spec = self.environ.get(env_name) or (self.environ.get("SRUN_OUTPUT")
                                                  if which == "e" else None)
        if spec is None or spec == "all":
            shared = _Out(default_fd)
            return [shared] * self.ntasks
        if spec == "none":
            return [None] * self.ntasks
        if spec.isdigit():
            shared = _Out(default_fd)
            return [shared if r == int(spec) else None for r in range(self.ntasks)]
        mode = o.get("open_mode") or self.environ.get("SLURM_OPEN_MODE") or \
            self.info.get("open_mode") or "truncate"
        flags = os.O_CREAT | os.O_WRONLY | os.O_APPEND
        if not str(mode).lower().startswith("a"):
            flags |= os.O_TRUNC
        files: Dict[str, _Out] = {}
        out: List[Optional[_Out]] = []
        for rank in range(self.ntasks):
            path = self._expand(spec, rank)
            if path not in files:
                if path in self._opened:
                    files[path] = self._opened[path]
                else:
                    try:
                        fd = os.open(path, flags, 0o666)
                    except OSError as exc:
                        raise StepError("Could not open %s file %s: %s"
                                        % ("stdout" if which == "o" else "stderr", path,
                                           os.strerror(exc.errno or 5)))
                    files[path] = self._opened[path] = _Out(fd)
            out.append(files[path])
        return out

    def _input_specs(self) -> List[Optional[str]]:
        """Per rank: None = srun's stdin, "" = /dev/null, else a file to open."""
        spec = self.opts.get("input") or self.environ.get("SRUN_INPUT")
        if spec is None or spec == "all":
            return [None] * self.ntasks
        if spec == "none":
            return [""] * self.ntasks
        if spec.isdigit():
            return [None if r == int(spec) else "" for r in range(self.ntasks)]
        return [self._expand(spec, rank) for rank in range(self.ntasks)]

    def _inputs(self, specs: List[Optional[str]], ranks: Sequence[int],
                feeds: Optional[Dict[int, int]] = None) -> Dict[int, int]:
        """stdin fds of the tasks run here.  With `feeds`, a task that takes srun's stdin gets
        a pipe whose write end is put in feeds[rank] (srun copies its stdin there)."""
        fds: Dict[int, int] = {}
        for rank in ranks:
            path = specs[rank]
            if path is None and feeds is not None:
                fds[rank], feeds[rank] = os.pipe()
            elif path is None:
                fds[rank] = 0
            elif path == "":
                fds[rank] = self._devnull()
            else:
                try:
                    fds[rank] = os.open(path, os.O_RDONLY)
                except OSError as exc:
                    raise StepError("Could not open stdin file %s: %s"
                                    % (path, os.strerror(exc.errno or 5)))
        return fds

    def _fan_stdin(self, writers: List[StdinWriter], remote: bool) -> None:
        """Copy srun's stdin to every task that takes it: the pipes of the tasks here, and the
        agents of the other nodes (which copy it to theirs).  A thread of its own, which may
        stay blocked on a stdin that never ends: srun exits when its tasks have."""
        client = self.remote if remote else None

        def pump() -> None:
            for data in read_chunks(0):
                for w in writers:
                    w.put(data)
                if client is not None:
                    client.stdin(data)
            for w in writers:
                w.put(None)
            if client is not None:
                client.stdin(None)

        threading.Thread(target=pump, name="srun-stdin", daemon=True).start()

    def _devnull(self) -> int:
        if self._null is None:
            self._null = os.open(os.devnull, os.O_RDWR)
        return self._null

    # -- signals -----------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: Any) -> None:
        self.pending.append(signum)

    def _forward(self) -> None:
        while self.pending:
            signum = self.pending.pop(0)
            if signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
                self.cancelled = True
                if self.kill_at is None:
                    self.kill_at = time.time() + float(self.info.get("kill_wait") or 30)
            for pid in self.alive:
                try:
                    os.killpg(pid, signum)
                except OSError:
                    pass
            if self.remote is not None and self._remote_left():
                self.remote.signal(signum)

    # -- run ---------------------------------------------------------------------------------
    def run(self) -> int:
        self._opened: Dict[str, _Out] = {}
        self._null: Optional[int] = None
        self.kill_at: Optional[float] = None
        self.alive: Dict[int, int] = {}
        self.results: Dict[int, int] = {}
        self.remote: Any = None   # agent.StepClient when tasks run on other nodes
        self.plan()
        self.step_id = self.steps.next_step_id() if self.steps else 0
        name = self.opts.get("job_name") or os.path.basename(self.command[0])
        record = {"job_id": self.job_id, "step_id": self.step_id, "name": name,
                  "state": "RUNNING", "pid": os.getpid(), "start_time": time.time(),
                  "ntasks": self.ntasks, "ncpus": self.ntasks * self.cpt,
                  "nnodes": len(self.node_names),
                  "node_list": compress_hostlist(self.node_names),
                  "command": list(self.command)}
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP,
                    signal.SIGUSR1, signal.SIGUSR2, signal.SIGCONT):
            signal.signal(sig, self._on_signal)

        # a listening socket stands for srun's I/O port (SLURM_SRUN_COMM_PORT)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        try:
            base = self.step_env(port)
            self.outs = self._targets("o", 1)
            self.errs = self._targets("e", 2)
            in_specs = self._input_specs()
            self.label = bool(self.opts.get("label") or self.environ.get("SLURM_LABELIO"))
            self.width = len(str(self.ntasks - 1))
            cwd = self.opts.get("chdir")
            local = [r for r in range(self.ntasks) if self.task_node[r] == self.here]
            remote = [r for r in range(self.ntasks) if self.task_node[r] != self.here]
            takers = [r for r in range(self.ntasks) if in_specs[r] is None]
            # one task here reads srun's stdin itself; anything else gets copies of it
            fan_out = len(takers) > 1 or any(r in remote for r in takers)
            feeds: Dict[int, int] = {}
            ins = self._inputs(in_specs, local, feeds if fan_out else None)
            if remote:
                self._launch_remote(base, remote, in_specs, cwd or os.getcwd())
            if self.steps:
                self.steps.write_record(record)
            pumps = []
            for rank in local:
                argv = self.programs[rank] if self.programs is not None else self.command
                env = self.task_env(base, rank)
                fds = []
                for target in (self.outs[rank], self.errs[rank]):
                    if target is None:
                        fds.append(self._devnull())
                    elif self.label:
                        r, w = os.pipe()
                        pumps.append((r, target, self._prefix(rank)))
                        fds.append(w)
                    else:
                        fds.append(target.fd)
                pid = spawn(argv, env, cwd, ins[rank], fds[0], fds[1], new_pgrp=True)
                self.alive[pid] = rank
                for fd, target in zip(fds, (self.outs[rank], self.errs[rank])):
                    if self.label and target is not None:
                        os.close(fd)
                if ins[rank] not in (0, self._null):
                    os.close(ins[rank])   # a file or a pipe: the task has its own copy
            if fan_out:
                self._fan_stdin([StdinWriter(fd) for fd in feeds.values()],
                                any(r in remote for r in takers))
            threads = []
            for r, target, prefix in pumps:
                t = threading.Thread(target=_label_pump, args=(r, target, prefix), daemon=True)
                t.start()
                threads.append(t)
            results = self._wait()
            for t in threads:
                t.join(timeout=10)
        finally:
            listener.close()
            if self.remote is not None:
                self.remote.close()
        return self._report(results, record)

    def _prefix(self, rank: int) -> bytes:
        return ("%*d: " % (self.width, rank)).encode()

    # -- tasks on the other nodes ------------------------------------------------------------
    def _launch_remote(self, base: Dict[str, str], ranks: List[int],
                       in_specs: List[Optional[str]], cwd: str) -> None:
        """Start the tasks of the other nodes through the main node's agent server (which
        relays to each node's agent, runtime/agent.py), waiting for nodes that have not joined
        yet.  Their output and exits come back through _on_remote."""
        from .agent import ENV_JOIN_TIMEOUT, StepClient  # only multi-node steps need it
        address = read_json(os.path.join(self.steps.path, "agent.json")) if self.steps else None
        if not address or not address.get("port"):
            raise StepError("Unable to create step for job %d: no node agent server for the "
                            "job's other nodes (srun must run on the job's main node)"
                            % self.job_id)
        plan: Dict[int, Dict[str, Any]] = {}
        for rank in ranks:
            node = self.task_node[rank]
            part = plan.setdefault(node, {"env": base, "cwd": cwd, "tasks": []})
            argv = self.programs[rank] if self.programs is not None else self.command
            env = self.task_env(base, rank)
            part["tasks"].append({
                "rank": rank, "argv": list(argv),
                "env": {k: v for k, v in env.items() if base.get(k) != v},
                "out": self.outs[rank] is not None, "err": self.errs[rank] is not None,
                "input": in_specs[rank] or None, "stdin": in_specs[rank] is None})
        self._rlock = threading.Lock()
        self._rbuf: Dict[Tuple[int, int], bytes] = {}
        self._rpending = set(ranks)
        self._lost: List[int] = []
        try:   # an optional cap of this srun's own; the job's join timeout bounds it anyway
            timeout = max(0.0, float(self.environ.get(ENV_NODE_WAIT) or 0))
        except ValueError:
            timeout = 0.0
        client = StepClient(address, self._on_remote)
        try:
            client.start(str(self.step_id), plan, timeout)
        except OSError as exc:
            raise StepError("Unable to create step for job %d: cannot reach the node agent "
                            "server: %s" % (self.job_id, exc))
        self.remote = client
        names = compress_hostlist([self.node_names[n] for n in sorted(plan)])
        began, announced = time.time(), False
        while not client.replied.wait(0.05):
            stop = [s for s in self.pending if s in (signal.SIGTERM, signal.SIGINT,
                                                    signal.SIGQUIT, signal.SIGHUP)]
            # the job ending because a node never joined: the server's answer naming it is
            # already on its way (agent.py answers before the job is told); read it first
            if stop and not client.replied.wait(STOP_GRACE):
                sys.stderr.write("%s: Cancelled pending job step with signal %d\n"
                                 % (PROG, stop[0]))
                raise StepError("Unable to create step for job %d: Job/step already "
                                "completing or completed" % self.job_id)
            if not announced and time.time() - began >= ANNOUNCE_AFTER:
                announced = True
                sys.stderr.write("%s: Job %d step creation temporarily disabled, retrying "
                                 "(waiting for %s to join)\n" % (PROG, self.job_id, names))
                sys.stderr.flush()
        reply = client.reply or {}
        if reply.get("op") != "started":
            gone = [self.node_names[n] for n in reply.get("gone") or []]
            missing = [self.node_names[n] for n in reply.get("missing") or []
                       if self.node_names[n] not in gone]
            if gone:
                why = "Node failure on %s" % compress_hostlist(gone)
            elif missing and reply.get("expired"):
                why = "%s not responding: no node agent joined within %g seconds of the " \
                    "job's start (%s)" % (compress_hostlist(missing),
                                          float(reply.get("join_timeout") or 0),
                                          ENV_JOIN_TIMEOUT)
                if self.info.get("agent_port"):   # AWS Batch: a fixed port between containers
                    why += " (they join the main node on TCP port %d)" % int(
                        self.info["agent_port"])
            elif missing:
                why = "%s not responding: no node agent joined within %d seconds" \
                    % (compress_hostlist(missing), int(timeout))
                if self.info.get("agent_port"):   # AWS Batch: a fixed port between containers
                    why += " (they join the main node on TCP port %d)" % int(
                        self.info["agent_port"])
            else:
                why = str(reply.get("message") or "the node agent server refused the step")
            raise StepError("Unable to create step for job %d: %s" % (self.job_id, why))
        if announced:
            sys.stderr.write("%s: Step created for StepId=%d.%d\n"
                             % (PROG, self.job_id, self.step_id))

    def _remote_left(self) -> bool:
        if self.remote is None:
            return False
        with self._rlock:
            return bool(self._rpending)

    def _on_remote(self, msg: Dict[str, Any]) -> None:
        """Messages about the other nodes' tasks (from StepClient's reader thread)."""
        op = msg.get("op")
        if op == "io":
            rank = int(msg.get("rank") or 0)
            fd = 2 if msg.get("fd") == 2 else 1
            if 0 <= rank < self.ntasks:
                self._remote_write(rank, fd, _decode(msg.get("data") or ""))
        elif op == "task_exit":
            rank = int(msg.get("rank") or 0)
            self._remote_flush(rank)
            with self._rlock:
                if rank in self._rpending:
                    self._rpending.discard(rank)
                    self.results[rank] = int(msg.get("status") or 0)
        elif op in ("lost", "closed"):
            with self._rlock:
                if op == "lost":
                    nodes = {int(msg.get("node") or 0)}
                else:
                    nodes = {self.task_node[r] for r in self._rpending}
                ranks = [r for r in self._rpending if self.task_node[r] in nodes]
            for node in sorted(nodes):
                if node not in self._lost and any(self.task_node[r] == node for r in ranks):
                    self._lost.append(node)
                    sys.stderr.write("%s: error: Node failure on %s\n"
                                     % (PROG, self.node_names[node]))
                    sys.stderr.flush()
            for rank in ranks:
                self._remote_flush(rank)
            with self._rlock:
                for rank in ranks:
                    if rank in self._rpending:
                        self._rpending.discard(rank)
                        self.results[rank] = 1 << 8   # exit code 1

    def _remote_write(self, rank: int, fd: int, data: bytes) -> None:
        target = (self.outs if fd == 1 else self.errs)[rank]
        if target is None or not data:
            return
        if self.label:
            key = (rank, fd)
            text, self._rbuf[key] = label_lines(self._prefix(rank), self._rbuf.get(key, b"") + data)
            data = text
        if data:
            with target.lock:
                write_fd_bytes(target.fd, data)

    def _remote_flush(self, rank: int) -> None:
        for fd, targets in ((1, self.outs), (2, self.errs)):
            rest = self._rbuf.pop((rank, fd), b"")
            if rest and targets[rank] is not None:
                with targets[rank].lock:
                    write_fd_bytes(targets[rank].fd, self._prefix(rank) + rest + b"\n")

    def _wait(self) -> Dict[int, int]:
        results = self.results
        kill_bad = self.opts.get("kill_on_bad_exit")
        if kill_bad is None and self.environ.get("SLURM_KILL_BAD_EXIT"):
            kill_bad = self.environ["SLURM_KILL_BAD_EXIT"] != "0"
        if kill_bad not in (None, False):
            kill_bad = str(kill_bad) != "0"
        delay = 0.002
        while self.alive or self._remote_left():
            self._forward()
            if kill_bad and not self.cancelled and any(results.values()):
                self.cancelled = True
                self.pending.append(signal.SIGKILL)
                continue
            pid = 0
            if self.alive:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    self.alive.clear()
                    continue
            if pid:
                rank = self.alive.pop(pid, None)
                if rank is not None:
                    results[rank] = status
                delay = 0.002
                continue
            if self.kill_at is not None and time.time() >= self.kill_at:
                self.pending.append(signal.SIGKILL)
                self.kill_at = time.time() + 5
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return results

    def _report(self, results: Dict[int, int], record: Dict[str, Any]) -> int:
        """Slurm's per-task exit lines, the worst status as srun's exit code, the step record."""
        groups: Dict[Tuple[int, int], List[int]] = {}
        for rank, status in sorted(results.items()):
            groups.setdefault((self.task_node[rank], status), []).append(rank)
        worst = 0
        for (node, status), ranks in sorted(groups.items(), key=lambda kv: kv[1][0]):
            what = "task" if len(ranks) == 1 else "tasks"
            where = self.node_names[node]
            if os.WIFSIGNALED(status):
                sig = os.WTERMSIG(status)
                core = " (core dumped)" if os.WCOREDUMP(status) else ""
                if not self.cancelled:
                    sys.stderr.write("%s: error: %s: %s %s: %s%s\n"
                                     % (PROG, where, what, _task_ranges(ranks),
                                        signal_name(sig), core))
                if not os.WIFSIGNALED(worst) or sig > os.WTERMSIG(worst):
                    worst = status
            elif os.WIFEXITED(status) and os.WEXITSTATUS(status):
                code = os.WEXITSTATUS(status)
                sys.stderr.write("%s: error: %s: %s %s: Exited with exit code %d\n"
                                 % (PROG, where, what, _task_ranges(ranks), code))
                if not os.WIFSIGNALED(worst) and code > os.WEXITSTATUS(worst):
                    worst = status
        sys.stderr.flush()
        info = exit_info(worst)
        if self.cancelled and info["signal"]:
            state = "CANCELLED"
        elif info["exit_code"] or info["signal"]:
            state = "FAILED"
        else:
            state = "COMPLETED"
        if self.steps:
            self.steps.write_record(dict(record, state=state, end_time=time.time(),
                                         exit_code=info["exit_code"], signal=info["signal"],
                                         pid=None))
            from .stepsync import sync  # AWS Batch: this step to sacct (never fails srun)
            sync(self.steps.path)
        return info["rc"]


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    environ = dict(os.environ)
    try:
        opts, command, warnings = parse_args(argv)
    except UsageError as exc:
        sys.stderr.write("%s\nTry \"srun --help\" for more information\n" % exc)
        return 255
    if opts.get("help"):
        sys.stdout.write(USAGE)
        return 0
    for w in warnings:
        sys.stderr.write("%s: warning: %s\n" % (PROG, w))
    if not command:
        sys.stderr.write("%s: fatal: No command given to execute.\n" % PROG)
        return 1
    if not environ.get("SLURM_JOB_ID"):
        sys.stderr.write("%s: error: no job allocation (SLURM_JOB_ID is not set): run srun "
                         "inside a batch job\n" % PROG)
        return 1
    try:
        return Step(opts, command, environ).run()
    except StepError as exc:
        sys.stderr.write("%s: error: %s\n" % (PROG, exc))
        return 1


if __name__ == "__main__":
    sys.exit(main())
