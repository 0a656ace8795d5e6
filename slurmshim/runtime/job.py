"""`python3 -m slurmshim.runtime.job`: run one batch job (or array task) on this node, the way
slurmd + slurmstepd run a batch step.  Standard library only, Python >= 3.8.

On the main node (node index == main node index): load the descriptor and the AWS_BATCH_*
placement, open the output files (umask first, missing parent directories created, append or
truncate), write the script to a private directory and exec it (the kernel honours its `#!`
line; a noexec /tmp falls back to running the interpreter), in its own session, with the Slurm
environment, in work_dir (or /tmp, with Slurm's message).  Signals are forwarded to the script's
process group; a cancel or time limit writes Slurm's banner into the job's error stream, sends
SIGCONT + SIGTERM, and SIGKILL after kill_wait seconds.  The exit status is the script's
(128 + signal when it was killed); after such a stop it is never 0 nor a plain code of the
script's (128 + the stop signal: see stopped_rc), so AWS Batch, which sees nothing but the
container's exit status, cannot take a timed-out job that trapped SIGTERM for a success.  Other
nodes run the node agent (runtime/agent.py).

Multi-node jobs: the main node runs the agent server the other nodes join (agent.py).  A node
that does not join within the join timeout ($SLURMSHIM_NODE_JOIN_TIMEOUT, default 300 s from
the job's start; 60 s on the local backend), or whose agent is lost while the job runs, has
failed: the job's error stream gets "error: Nodes node03 not responding: <why>" (what
slurmctld would log) and, as Slurm does, the job is stopped NODE_FAIL (banner "DUE TO NODE
FAILURE, SEE SLURMCTLD LOG FOR DETAILS", a non-zero exit status) -- on both backends; AWS
Batch on its own would let the job run on without the node.  With the descriptor's no_kill
(--no-kill) the job runs on and only the steps that need the node fail.  On AWS Batch the main
node's address (hosts.node_addr) is srun's SLURM_LAUNCH_NODE_IPADDR, and the job's node names
are made to resolve on every node (hosts.py); the local backend's nodes are all this machine:
no hosts file is touched there.

The supervisor (local backend) tells the runtime why it signals by writing
<stage>/<raw id>/control.json first (common.request_signal): {"reason": "CANCELLED" | "TIMEOUT" |
"REQUEUE" | "PREEMPTED" | "NODE_FAIL", "target": "all" | "batch" | "steps"}.  With a reason the
job is stopped (banner, SIGCONT + SIGTERM to everything, SIGKILL after kill_wait); without one
the signal is only delivered to the target (scancel -s: "steps", -b: "batch", -f: "all").  A
SIGTERM with no control file at all is a plain cancel ("DUE to SIGNAL Terminated"; that is what
AWS Batch's TerminateJob sends), or a time limit when it comes at or after the job's end time.
Send signals to the runtime's pid only; if the supervisor must SIGKILL the runtime itself, it
should kill the job's session too (status.json "batch_pid" is its session id).

Files under <stage>/<raw id>/ (when the descriptor has a stage):
    status.json   written at start (state RUNNING, pid, paths) and at the end: state
                  (COMPLETED FAILED CANCELLED TIMEOUT REQUEUED PREEMPTED NODE_FAIL), exit_code,
                  signal, rc, reason, start_time, end_time, node, steps, nodes_joined,
                  failed_nodes ({name: "join" | "lost"}; also written when a node fails)
    steps/        the step directory (SLURMSHIM_STEP_DIR): counter, step-<id>.json, job.json
    agent.json    the main node's agent address and token (multi-node, agent_port 0; 0600)
    control.json  written by the supervisor, consumed by the runtime
Without a stage, the step directory lives in the job's private temporary directory.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from .agent import (ENV_JOIN_TIMEOUT, AgentServer, join_timeout, main_token, run_node_agent,
                    write_private_json)
from .common import (StepDir, cancel_banner, error_line, exit_info, kill_session, read_chunks,
                     session_pids, spawn, take_control, write_fd, write_json)
from .descriptor import (ENV_START_TIME, DescriptorError, compress_hostlist, load_descriptor,
                         placement_from_environ, stage_dir_for, task_ids)
from .hosts import HostsFile, hosts_path, node_addr
from .env import job_environment, job_times, node_name_of
from .fname import default_output, expand_pattern

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGCONT,
             signal.SIGHUP)
REPLY_GRACE = 5.0  # seconds a stop or signal waits for the in-job command that asked for it
STOP_REASONS = {"CANCELLED": "CANCELLED", "TIMEOUT": "TIMEOUT", "REQUEUE": "REQUEUED",
                "PREEMPTED": "PREEMPTED", "NODE_FAIL": "NODE_FAIL"}


class JobSetupError(Exception):
    """The job cannot start; the message is Slurm's."""


def stopped_rc(info: Dict[str, int], stop_reason: Optional[str], stop_signal: int) -> int:
    """The runtime's exit status.  Normally the script's (128 + signal when it was killed).
    A job the runtime stopped (time limit, cancel, requeue, ...) never exits 0 or with a plain
    code of the script's: a script that traps SIGTERM and exits 0 (or 3) would otherwise look
    COMPLETED (FAILED) on AWS Batch, where the container's exit status is all there is.  It
    exits as if the stop signal had killed it (143 for SIGTERM), or with the signal that did."""
    if stop_reason and not info["signal"]:
        return 128 + (stop_signal or signal.SIGTERM)
    return info["rc"]


def fetch_script(desc: Dict[str, Any]) -> str:
    """The script text, inline or from script_url (path, file://, http(s)://, s3://)."""
    if desc.get("script") is not None:
        return desc["script"]
    url = desc.get("script_url")
    if not url:
        raise JobSetupError("job descriptor has neither script nor script_url")
    try:
        if url.startswith("s3://"):
            aws = shutil.which("aws")
            if not aws:
                raise JobSetupError("cannot fetch %s: the aws CLI is not installed in this image"
                                    " (use a presigned https URL)" % url)
            return subprocess.run([aws, "s3", "cp", url, "-"], check=True,
                                  stdout=subprocess.PIPE).stdout.decode("utf-8")
        if url.startswith(("http://", "https://")):
            import urllib.request
            with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 - our own URL
                return resp.read().decode("utf-8")
        path = url[len("file://"):] if url.startswith("file://") else url
        with open(path, "r", encoding="utf-8") as fh:
            return fh.read()
    except (OSError, subprocess.CalledProcessError, ValueError) as exc:
        raise JobSetupError("cannot fetch the batch script from %s: %s" % (url, exc))


def _open_output(path: str, append: bool) -> int:
    flags = os.O_CREAT | os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC
    if not append:
        flags |= os.O_TRUNC
    if path == "/dev/null":
        return os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        return os.open(path, flags, 0o666)
    except FileNotFoundError:
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, 0o755, exist_ok=True)  # slurmstepd 25.11 does mkdirpath too
        return os.open(path, flags, 0o666)


def _pump(src: int, dests: List[int]) -> None:
    for data in read_chunks(src):
        for fd in dests:
            try:
                os.write(fd, data)
            except OSError:
                pass
    os.close(src)


def _srun_shim(bin_dir: str) -> None:
    """An `srun` on PATH that runs slurmshim.runtime.srun with this Python (the image may not
    have slurmshim installed at all)."""
    pkg_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.makedirs(bin_dir, exist_ok=True)
    path = os.path.join(bin_dir, "srun")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('#!/bin/sh\nPYTHONPATH=%s${PYTHONPATH:+:$PYTHONPATH} exec %s -m '
                 'slurmshim.runtime.srun "$@"\n'
                 % (_sh_quote(pkg_root), _sh_quote(sys.executable)))
    os.chmod(path, 0o755)


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


class BatchJob:
    def __init__(self, desc: Dict[str, Any], placement: Dict[str, Any],
                 environ: Dict[str, str]) -> None:
        self.desc = desc
        self.placement = placement
        self.environ = environ
        self.ids = task_ids(desc, placement)
        self.raw_id = self.ids["job_id"]
        self.node_index = int(placement.get("node_index") or 0)
        self.hostname = socket.gethostname()
        self.node = node_name_of(desc, self.node_index, self.hostname)
        start = environ.get(ENV_START_TIME) or desc.get("start_time")
        self.start_time = float(start) if start else time.time()
        self.desc_eff = dict(desc, start_time=self.start_time)
        self.job_dir = stage_dir_for(desc, self.raw_id)
        self.pending: List[int] = []
        self.child: Optional[int] = None
        self.stop_reason: Optional[str] = None   # CANCELLED / TIMEOUT / REQUEUE / ...
        self.stop_signal = signal.SIGTERM
        self.kill_at: Optional[float] = None
        # (pid, deadline, actions): signals held back until a command of this job that asked
        # for them has exited (see _after_requester)
        self.held: Optional[Tuple[int, float, List[Callable[[], None]]]] = None
        self.err_fd: Optional[int] = None
        self.own_err = 2 if desc.get("tee_output") else None
        self.status: Dict[str, Any] = {}
        self.server: Optional[AgentServer] = None
        self.signal_sent = False
        self.main_addr: Optional[str] = None     # multi-node on AWS Batch: this node's address
        self.hosts: Optional[HostsFile] = None
        self.hosts_warned = False
        self.failed_nodes: Dict[str, str] = {}   # node name -> "join" | "lost"

    # -- bookkeeping -------------------------------------------------------------------------
    def _write_status(self, **fields: Any) -> None:
        self.status.update(fields)
        if self.job_dir:
            write_json(os.path.join(self.job_dir, "status.json"), self.status)

    def _banner(self, reason: str, signum: int) -> None:
        self._job_error(cancel_banner("JOB %d" % self.raw_id, self.node, reason, signum))

    def _job_error(self, text: str) -> None:
        """A line of slurmstepd's into the job's error stream (and the runtime's own, tee)."""
        write_fd(self.err_fd, text)
        if self.own_err is not None and self.own_err != self.err_fd:
            write_fd(self.own_err, text)

    def _expand(self, pattern: str) -> str:
        d = self.desc
        return expand_pattern(pattern, job_id=self.raw_id, array_job_id=self.ids["array_job_id"],
                              array_task_id=self.ids["array_task_id"], step_id=None,
                              node_name=self.node, node_id=self.node_index, task_id=0,
                              user=d.get("user") or "", job_name=d.get("name") or "",
                              restart_count=int(d.get("restart_count") or 0),
                              work_dir=d.get("work_dir"))

    # -- signals -----------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: Any) -> None:
        self.pending.append(signum)

    def _stop(self, reason: str, signum: int = signal.SIGTERM,
              requester: Optional[int] = None) -> None:
        """Cancel / time limit / requeue: banner once, SIGCONT + SIGTERM now, SIGKILL later."""
        if self.stop_reason is None:
            self.stop_reason = reason
            self.stop_signal = signum
            self._banner(reason, signum)
        self._after_requester(requester, self._terminate)

    def _terminate(self) -> None:
        if self.child is not None:
            kill_session(self.child, signal.SIGCONT)
            kill_session(self.child, signal.SIGTERM)
        if self.kill_at is None:
            self.kill_at = time.time() + float(self.desc.get("kill_wait") or 30)

    def _after_requester(self, requester: Optional[int], action: Callable[[], None]) -> None:
        """Run `action` (signal the job's processes) now -- or, when the request came from a
        command running inside this very job (`scontrol requeue $SLURM_JOB_ID` in submitit's
        preemption handler, `scancel $SLURM_JOB_ID` in a script), once that command has
        exited.  slurmctld answers the client before slurmd signals the job, so such a command
        gets its reply and exits with it; here the command itself makes the request and would
        otherwise be killed on its way out (exit status -15 instead of 0).  Bounded by
        REPLY_GRACE seconds.  Requests from outside the job are never held back."""
        inside = bool(requester) and self.child is not None and requester != os.getpid() \
            and requester in session_pids(self.child)
        if not inside:
            action()
        elif self.held is not None:
            self.held[2].append(action)
        else:
            self.held = (int(requester), time.time() + REPLY_GRACE, [action])

    def _release_held(self, now: float) -> None:
        if self.held is None:
            return
        pid, deadline, actions = self.held
        if now < deadline and self.child is not None and pid in session_pids(self.child):
            return
        self.held = None
        for action in actions:
            action()

    def _deliver(self, signum: int, target: str) -> None:
        if self.child is None:
            return
        if target in ("steps", "all"):
            for pid in self._steps.running_step_pids():
                try:
                    os.kill(pid, signum)
                except OSError:
                    pass
        if target == "batch":
            try:
                os.kill(self.child, signum)
            except OSError:
                pass
        elif target == "all":
            try:
                os.killpg(self.child, signum)
            except OSError:
                pass

    def _handle_pending(self) -> None:
        while self.pending:
            signum = self.pending.pop(0)
            control = take_control(self.job_dir)
            reason = control.get("reason")
            requester = control.get("requester")
            if reason in STOP_REASONS or (signum == signal.SIGTERM and not control):
                if not reason:
                    end = job_times(self.desc_eff, self.start_time)["end"]
                    limit = int(self.desc.get("time_limit") if self.desc.get("time_limit")
                                is not None else -1)
                    reason = "TIMEOUT" if limit >= 0 and time.time() >= end - 1 else "CANCELLED"
                self._stop(reason, signum if signum != signal.SIGCONT else signal.SIGTERM,
                           requester)
            else:
                target = control.get("target") or "all"
                self._after_requester(requester, lambda s=signum, t=target: self._deliver(s, t))

    def _timers(self, now: float) -> None:
        self._release_held(now)
        limit = int(self.desc.get("time_limit") if self.desc.get("time_limit") is not None
                    else -1)
        end = job_times(self.desc_eff, self.start_time)["end"]
        sig = self.desc.get("signal")
        if sig and limit >= 0 and not self.signal_sent and \
                now >= end - int(sig.get("secs", 60) or 0):
            self.signal_sent = True
            self._deliver(int(sig["signum"]), "batch" if sig.get("batch_only") else "steps")
        if self.desc.get("enforce_time_limit") and limit >= 0 and now >= end and \
                self.stop_reason is None:
            self._stop("TIMEOUT")
        if self.kill_at is not None and now >= self.kill_at and self.child is not None:
            kill_session(self.child, signal.SIGKILL)
            self.kill_at = now + 5  # again later if something survives
        self._check_nodes(now)

    def _check_nodes(self, now: float) -> None:
        """Multi-node: a node that did not join within the join timeout, or whose agent was
        lost, has failed.  Say so in the job's error stream (what slurmctld would log: "Nodes
        ... not responding"), and end the job NODE_FAIL as Slurm does -- unless the job has
        no_kill (--no-kill), which keeps it running on the nodes it has (steps that need a
        failed node fail)."""
        if self.server is None or self.stop_reason is not None:
            return      # (a job being stopped: its nodes are stopped too, Batch's included)
        failed = self.server.take_failures(now)
        if not failed:
            return
        names = self.desc.get("node_names") or []
        for kind in ("join", "lost"):
            nodes = [names[n] if 0 <= n < len(names) else "node%d" % n
                     for n, why in sorted(failed.items()) if why == kind]
            if not nodes:
                continue
            for name in nodes:
                self.failed_nodes[name] = kind
            if kind == "join":
                why = "no node agent joined within %g seconds of the job's start (%s)" % (
                    self.server.join_timeout or 0, ENV_JOIN_TIMEOUT)
            else:
                why = "its node agent's connection to the main node was lost"
            self._job_error(error_line("Nodes %s not responding: %s"
                                       % (compress_hostlist(nodes), why)))
        self._write_status(failed_nodes=dict(self.failed_nodes))
        if not self.desc.get("no_kill") and self.stop_reason is None:
            self._stop("NODE_FAIL")

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> int:
        for sig in FORWARDED:
            signal.signal(sig, self._on_signal)
        if self.job_dir:
            os.makedirs(self.job_dir, exist_ok=True)
        tmp_root = os.environ.get("TMPDIR") or "/tmp"
        self.tmp = tempfile.mkdtemp(prefix="slurmshim.job%d." % self.raw_id,
                                    dir=tmp_root if os.path.isdir(tmp_root) else None)
        try:
            return self._run()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _run(self) -> int:
        d = self.desc
        step_path = os.path.join(self.job_dir, "steps") if self.job_dir else \
            os.path.join(self.tmp, "steps")
        if self.job_dir and os.path.isdir(step_path) and os.listdir(step_path):
            # a requeued job runs again under the same id: keep the last run's records aside
            n = 1
            while os.path.exists("%s.prev%d" % (step_path, n)):
                n += 1
            os.replace(step_path, "%s.prev%d" % (step_path, n))
        self._steps = StepDir(step_path)
        from .stepsync import setup as stepsync_setup  # AWS Batch: srun steps to sacct
        stepsync_setup(self._steps.path, d, self.placement)
        if d.get("umask"):
            try:
                os.umask(int(str(d["umask"]), 8))
            except ValueError:
                pass
        self._write_status(job_id=self.raw_id, array_job_id=self.ids["array_job_id"],
                           array_task_id=self.ids["array_task_id"], node=self.node,
                           state="RUNNING", pid=os.getpid(), start_time=self.start_time,
                           attempt=self.placement.get("attempt"),
                           batch_job_id=self.placement.get("batch_job_id"))

        # stdio, as slurmstepd sets it up before anything else
        out_pat = d.get("output") or default_output(self.ids["array_job_id"] is not None)
        out_path = self._expand(out_pat)
        err_path = self._expand(d["error"]) if d.get("error") else out_path
        in_path = self._expand(d["input"]) if d.get("input") else "/dev/null"
        append = (d.get("open_mode") or "truncate") == "append"
        tee = bool(d.get("tee_output"))
        fds: Dict[str, Optional[int]] = {}
        try:
            fds["out"] = _open_output(out_path, append)
        except OSError as exc:
            fds["out"] = None
            msg = "Could not open stdout file %s: %s" % (out_path, os.strerror(exc.errno or 5))
            if not tee:
                return self._setup_failed(msg)
            write_fd(2, error_line(msg))
        if err_path == out_path:
            fds["err"] = fds["out"]
        else:
            try:
                fds["err"] = _open_output(err_path, append)
            except OSError as exc:
                fds["err"] = None
                msg = "Could not open stderr file %s: %s" % (err_path,
                                                              os.strerror(exc.errno or 5))
                if not tee:
                    return self._setup_failed(msg)
                write_fd(2, error_line(msg))
        try:
            stdin_fd = os.open(in_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            return self._setup_failed("Could not open stdin file %s: %s"
                                      % (in_path, os.strerror(exc.errno or 5)))
        self.err_fd = fds["err"]
        self._write_status(stdout=out_path, stderr=err_path, stdin=in_path)

        try:
            text = fetch_script(d)
        except JobSetupError as exc:
            write_fd(self.err_fd if self.err_fd is not None else 2, error_line(str(exc)))
            return self._finish({"exit_code": 1, "signal": 0, "rc": 1})
        script = os.path.join(self.tmp, "slurm_script")
        with open(script, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(script, 0o700)

        env = job_environment(self.desc_eff, self.placement, self.environ, self.hostname,
                              0, self.start_time, step_dir=self._steps.path)
        if d.get("provide_srun", True):
            bin_dir = os.path.join(self.tmp, "bin")
            _srun_shim(bin_dir)
            env["PATH"] = bin_dir + os.pathsep + (env.get("PATH") or os.defpath)
        if int(self.placement.get("num_nodes") or 1) > 1:
            try:
                self._start_server()
            except OSError as exc:
                write_fd(self.err_fd if self.err_fd is not None else 2, error_line(
                    "cannot listen for the job's other nodes on TCP port %d: %s"
                    % (int(d.get("agent_port") or 0), exc.strerror or exc)))
                return self._finish({"exit_code": 1, "signal": 0, "rc": 1})
        self._steps.write_job_info({
            "job_id": self.raw_id, "array_job_id": self.ids["array_job_id"],
            "array_task_id": self.ids["array_task_id"], "name": d.get("name"),
            "user": d.get("user"), "uid": d.get("uid"), "group": d.get("group"),
            "gid": d.get("gid"), "node_names": d.get("node_names"),
            "cpus_per_node": d.get("cpus_per_node"), "node_index": self.node_index,
            "cpus_per_task": d.get("cpus_per_task"), "kill_wait": d.get("kill_wait"),
            "restart_count": d.get("restart_count"), "start_time": self.start_time,
            "work_dir": d.get("work_dir"), "open_mode": d.get("open_mode"),
            "join_timeout": self.server.join_timeout if self.server else None,
            "launch_addr": self.main_addr, "agent_port": d.get("agent_port")})
        batch_rec = {"job_id": self.raw_id, "step_id": "batch", "name": "batch",
                     "state": "RUNNING", "start_time": self.start_time,
                     "ntasks": 1, "ncpus": int((d.get("cpus_per_node") or [1])[0]),
                     "nnodes": 1, "node_list": self.node}
        self._steps.write_record(batch_rec)

        # stdio for the child: the files, or pipes that copy to the files and our own stdio
        pumps = []
        child_out, child_err = fds["out"], fds["err"]
        if tee:
            r_out, child_out = os.pipe()
            pumps.append((r_out, [fd for fd in (fds["out"], 1) if fd is not None]))
            if err_path == out_path:
                child_err = child_out
            else:
                r_err, child_err = os.pipe()
                pumps.append((r_err, [fd for fd in (fds["err"], 2) if fd is not None]))
        null = None
        if child_out is None:
            null = os.open("/dev/null", os.O_WRONLY)
            child_out = null
        if child_err is None:
            child_err = child_out

        self.child = spawn([script] + list(d.get("script_args") or []), env,
                           d.get("work_dir") or None, stdin_fd, child_out, child_err,
                           new_session=True, shebang_fallback=True)
        for fd in {child_out, child_err, stdin_fd}:
            if fd not in (fds["out"], fds["err"]):
                os.close(fd)
        threads = []
        for src, dests in pumps:
            t = threading.Thread(target=_pump, args=(src, dests), daemon=True)
            t.start()
            threads.append(t)
        self._write_status(batch_pid=self.child)

        status = self._wait()
        info = exit_info(status)
        self._sweep()
        for t in threads:
            t.join(timeout=5)
        return self._finish(info, batch_rec)

    def _start_server(self) -> None:
        """Multi-node: the agent server the other nodes join, started before the script so
        that its first srun finds it; srun reads its address and token from <step dir>/agent.json
        (owner-only, like <stage>/agent.json for the local backend's node agents).  On AWS Batch
        (a fixed agent port: the nodes are separate machines) this node's address is the job's
        launch address (srun's SLURM_LAUNCH_NODE_IPADDR) and the first line of the node names
        the runtime makes resolvable (hosts.py); the local backend's nodes are all this
        machine, whose names are left alone."""
        d = self.desc
        port = int(d.get("agent_port") or 0)
        if self.job_dir:
            try:
                os.unlink(os.path.join(self.job_dir, "agent.json"))  # a previous run's
            except OSError:
                pass
        token = main_token(d, publishes=bool(self.job_dir) and not port)
        main_index = int(self.placement.get("main_node_index") or 0)
        if port:
            self.main_addr = node_addr(self.environ)
            path = hosts_path(d, self.environ)
            if path:
                self.hosts = HostsFile(path, self.raw_id)
                self._on_hosts([(self.main_addr, self.node)])
        self.server = AgentServer({"job_id": self.raw_id, "start_time": self.start_time},
                                  port=port, job_dir=self.job_dir, token=token,
                                  names=list(d.get("node_names") or []), main_index=main_index,
                                  main_addr=self.main_addr,
                                  join_timeout=join_timeout(d, self.environ),
                                  on_hosts=self._on_hosts if self.hosts else None)
        write_private_json(os.path.join(self._steps.path, "agent.json"), self.server.address())

    def _on_hosts(self, table: List[Tuple[str, str]]) -> None:
        if self.hosts is None:
            return
        error = self.hosts.update(table)
        if error and not self.hosts_warned:
            self.hosts_warned = True
            write_fd(2, "slurmstepd: warning: %s: cannot add the job's node names to the hosts "
                        "file: %s\n" % (self.node, error))

    def _wait(self) -> int:
        """Wait for the batch script.  waitpid(-1) also reaps orphans that the kernel hands to
        us when the runtime is a container's PID 1."""
        delay = 0.005
        while True:
            self._handle_pending()
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return 0
            if pid == self.child:
                return status
            if pid:
                continue
            self._timers(time.time())
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _sweep(self) -> None:
        """Like Slurm's proctrack: nothing outlives the batch script.  Processes already told to
        stop get a moment to finish (srun writes its step record), then SIGKILL."""
        if self.stop_reason is not None:
            deadline = time.time() + min(2.0, float(self.desc.get("kill_wait") or 30))
            while time.time() < deadline and any(
                    p != os.getpid() for p in session_pids(self.child)):
                time.sleep(0.02)
        kill_session(self.child, signal.SIGKILL)

    def _setup_failed(self, message: str) -> int:
        write_fd(2, error_line(message))
        return self._finish({"exit_code": 1, "signal": 0, "rc": 1})

    def _finish(self, info: Dict[str, int], batch_rec: Optional[Dict[str, Any]] = None) -> int:
        end = time.time()
        if self.stop_reason:
            state = STOP_REASONS.get(self.stop_reason, "CANCELLED")
        elif info["exit_code"] == 0 and info["signal"] == 0:
            state = "COMPLETED"
        else:
            state = "FAILED"
        if getattr(self, "_steps", None) is not None:
            for rec in self._steps.records():
                if rec.get("state") == "RUNNING" and rec.get("step_id") != "batch":
                    sig = int(self.stop_signal) if self.stop_reason else signal.SIGKILL
                    self._steps.write_record(dict(rec, state="CANCELLED", end_time=end,
                                                  exit_code=0, signal=sig, pid=None))
        if batch_rec is not None:
            step_state = "CANCELLED" if self.stop_reason else state
            self._steps.write_record(dict(batch_rec, state=step_state, end_time=end,
                                          exit_code=info["exit_code"], signal=info["signal"]))
        if getattr(self, "_steps", None) is not None:
            from .stepsync import sync  # the final records (never fails the job)
            sync(self._steps.path, final=True)
        rc = stopped_rc(info, self.stop_reason, int(self.stop_signal))
        if self.server is not None:
            self.server.finish(rc)
        steps = []
        if getattr(self, "_steps", None) is not None:
            steps = [r["step_id"] for r in self._steps.records()]
        self._write_status(state=state, exit_code=info["exit_code"], signal=info["signal"],
                           rc=rc, reason=self.stop_reason, end_time=end, steps=steps,
                           failed_nodes=dict(self.failed_nodes),
                           nodes_joined={str(k): v for k, v in
                                         (self.server.nodes if self.server else {}).items()})
        return rc


def main(argv: Optional[List[str]] = None) -> int:
    environ = dict(os.environ)
    try:
        desc = load_descriptor(environ)
    except DescriptorError as exc:
        sys.stderr.write("slurmstepd: error: %s\n" % exc)
        return 1
    placement = placement_from_environ(environ)
    num_nodes = int(placement.get("num_nodes") or 1)
    if num_nodes > 1 and placement.get("node_index") != placement.get("main_node_index"):
        ids = task_ids(desc, placement)
        node = node_name_of(desc, int(placement.get("node_index") or 0), socket.gethostname())
        return run_node_agent(desc, placement, stage_dir_for(desc, ids["job_id"]), node)
    try:
        return BatchJob(desc, placement, environ).run()
    except DescriptorError as exc:
        sys.stderr.write("slurmstepd: error: %s\n" % exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
