"""Multi-node jobs: the main node's agent server, the other nodes' node agent, and the srun side
of a step that spans nodes.  Standard library only, Python >= 3.8.

AWS Batch starts the main node first and the others once it runs, in any order, and stops them
when the main node exits; the main node gets no list of its peers.  So every other node runs a
*node agent* that connects to the main node (AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS and
the descriptor's agent_port; with agent_port 0 -- local backend, one machine -- the main node
publishes its loopback port in <stage dir>/agent.json) and waits for work.  srun on the main
node reaches the same server on loopback (<step dir>/agent.json) to start a step's tasks on the
other nodes: the server relays between srun and the node agents.

Every connection authenticates with the job's token (agent_token below): the descriptor's
"agent_token", a random secret the host puts in every multi-node job's descriptor (every node
gets the same descriptor); without one (a descriptor made by hand), a random one the main node
publishes in agent.json (mode 0600, local backend), else a digest of the descriptor itself.  A
connection whose first message lacks the right token gets {"op": "error", "message":
"authentication failed"} and is closed; a node agent refused that way keeps trying until its
join timeout, then exits 1 ("the main node refused this node").

Protocol: newline-delimited JSON over TCP.
    node -> main   {"op": "hello", "token": t, "node": i, "name": "node02", "pid": n,
                    "addr": a}   addr only when $SLURMSHIM_NODE_ADDR sets it: the main node
                                 otherwise takes the address the connection comes from
    main -> node   {"op": "welcome", "job_id": N, "start_time": t, "hosts": HOSTS}
    main -> node   {"op": "hosts", "hosts": HOSTS}    another node joined
                   HOSTS = [[addr, name], ...]: the main node and every node that joined
                   (hosts.py writes them into the node's hosts file, when it keeps one)
    main -> node   {"op": "exit", "code": rc}          the job is over: tasks killed, agent exits 0
    srun -> main   {"op": "step", "token": t, "step": "3", "timeout": secs (0: no cap but the
                    job's node join deadline),
                    "nodes": {"1": {"env": {...}, "cwd": d, "tasks": [TASK, ...]}, ...}}
                   TASK = {"rank": r, "argv": [...], "env": {overrides of env}, "out": bool,
                           "err": bool, "input": path or null, "stdin": bool}
                   stdin: a file `input` opened on the node, else -- "stdin" true -- a pipe
                   fed with srun's standard input (below), else /dev/null
    main -> srun   {"op": "started"} once every node got its tasks, or
                   {"op": "error", "message": m, "missing": [i...], "gone": [i...],
                    "expired": bool, "join_timeout": secs}: a node did not join within the
                   step's timeout or (expired) the job's join timeout, or (gone) left the job
    main -> node   {"op": "run", "step": s, "env": ..., "cwd": ..., "tasks": [...],
                    "hosts": HOSTS}                   (the hosts first, then the tasks)
    node -> main -> srun (the server adds "node": i)
                   {"op": "io", "step": s, "rank": r, "fd": 1|2, "data": base64}
                   {"op": "task_exit", "step": s, "rank": r, "status": wait status}
    main -> srun   {"op": "lost", "node": i}            the node's agent went away mid-step
    srun -> main   {"op": "signal", "signum": n}        forwarded to the step's tasks
    main -> node   {"op": "signal", "step": s, "signum": n}
    srun -> main   {"op": "stdin", "data": base64} ... {"op": "stdin", "eof": true}
    main -> node   the same with "step": s           srun's stdin, to every task of the step
                                                     on the node that has "stdin" (each gets
                                                     all of it, as Slurm broadcasts it)
    main -> node   {"op": "end", "step": s}             srun is gone: kill what is left
    node -> main   {"op": "leaving"}                    the node agent got SIGTERM (Batch stops
                                                     every node of a terminated job): its end
                                                     is not a node failure, at first
A task's output always arrives before its task_exit (same connection, sent in that order).
The server records who joined (node index -> address): the rendezvous that the node names
(hosts.py) and a hostfile need.

Node failures.  Every other node must join within the job's join timeout (join_timeout(): the
job's or the node's $SLURMSHIM_NODE_JOIN_TIMEOUT, else the descriptor's agent_timeout, else
300 s -- 60 s on the local backend, whose nodes all start with the job), counted from the
moment the main node's server starts.  srun waits for a node that has not joined yet until
then, no longer.  A node that never joined by then, or whose agent's connection drops while the
job runs (its container or machine died; TCP keepalive notices a silent peer within about a
minute), is a failed node: take_failures() hands it to the main node's runtime (job.py), which
ends the job NODE_FAIL as Slurm does, unless the job has no_kill (--no-kill), in which case only
the steps that need the node fail.  AWS Batch itself does nothing when a child node dies.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from .common import StdinWriter, read_chunks, read_json, session_pids, spawn
from .hosts import ENV_NODE_ADDR, HostsFile, hosts_path, table_of

ENV_JOIN_TIMEOUT = "SLURMSHIM_NODE_JOIN_TIMEOUT"
DEFAULT_JOIN_TIMEOUT = 300.0      # seconds the other nodes have to join (AWS Batch)
LOCAL_JOIN_TIMEOUT = 60.0         # the same on the local backend (agent_port 0)
FIRST_MESSAGE_TIMEOUT = 30.0      # an unauthenticated peer may not hold a connection longer
MAX_LINE = 256 * 1024 * 1024      # bytes of one message (a step's environments)
DRAIN_TIMEOUT = 5.0               # how long a task's output may trail its exit
LEAVE_GRACE = 10.0                # a node stopped by a signal fails the job only this much later
# the node's own infrastructure variables win over the ones srun sends (see env.py)
_INFRA_PREFIXES = ("AWS_BATCH_", "ECS_", "AWS_CONTAINER_")
_INFRA_NAMES = ("AWS_EXECUTION_ENV",)


def join_timeout(desc: Dict[str, Any], environ: Optional[Dict[str, str]] = None) -> float:
    """Seconds the job's other nodes have to join the main node (see the module doc): the job's
    exported $SLURMSHIM_NODE_JOIN_TIMEOUT, else the node's own, else the descriptor's
    agent_timeout, else the default.  Values that are not positive numbers are ignored."""
    environ = os.environ if environ is None else environ
    for value in ((desc.get("environment") or {}).get(ENV_JOIN_TIMEOUT),
                  environ.get(ENV_JOIN_TIMEOUT), desc.get("agent_timeout")):
        try:
            secs = float(value) if value is not None and str(value).strip() else 0.0
        except ValueError:
            continue
        if secs > 0:
            return secs
    return DEFAULT_JOIN_TIMEOUT if int(desc.get("agent_port") or 0) else LOCAL_JOIN_TIMEOUT


def _keepalive(sock: socket.socket) -> None:
    """Notice a peer that vanished without closing (its machine died): TCP keepalive probes
    after 30 s of silence, every 10 s, 3 unanswered ones end the connection."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
            if hasattr(socket, name):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
    except OSError:
        pass


# ------------------------------------------------------------------ wire format

def _send(sock: socket.socket, msg: Dict[str, Any]) -> None:
    sock.sendall((json.dumps(msg, separators=(",", ":")) + "\n").encode("utf-8"))


class _Lines:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def next(self) -> Optional[Dict[str, Any]]:
        """The next message; None at end of stream, on an error or an oversized line."""
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE:
                return None
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return None
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        try:
            msg = json.loads(line.decode("utf-8"))
        except ValueError:
            return {"op": "invalid"}
        return msg if isinstance(msg, dict) else {"op": "invalid"}


class _Conn:
    """A socket whose messages may be sent from several threads."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lock = threading.Lock()

    def send(self, msg: Dict[str, Any]) -> bool:
        with self.lock:
            try:
                _send(self.sock, msg)
                return True
            except OSError:
                return False

    def close(self) -> None:
        for action in (lambda: self.sock.shutdown(socket.SHUT_RDWR), self.sock.close):
            try:
                action()
            except OSError:
                pass


def encode_data(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_data(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return b""


# ------------------------------------------------------------------ token

def descriptor_token(desc: Dict[str, Any]) -> str:
    """A token every node derives alike from the (normalized) descriptor they all got."""
    raw = json.dumps(desc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(b"slurmshim-agent\0" + raw.encode("utf-8")).hexdigest()


def main_token(desc: Dict[str, Any], publishes: bool) -> str:
    """The main node's token: the descriptor's agent_token, else a random one when it is
    published in a private agent.json (local backend), else the descriptor digest."""
    if desc.get("agent_token"):
        return str(desc["agent_token"])
    if publishes:
        return secrets.token_hex(16)
    return descriptor_token(desc)


def token_ok(given: Any, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode("utf-8"),
                                                          expected.encode("utf-8"))


def write_private_json(path: str, data: Dict[str, Any]) -> None:
    """Like common.write_json, but readable by the owner only (it holds the token)."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    try:
        os.unlink(tmp)
    except OSError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)


# ------------------------------------------------------------------ the main node's server

class _Route:
    """A running step that spans nodes: srun's connection and the nodes it uses."""

    def __init__(self, conn: _Conn, nodes: Set[int]) -> None:
        self.conn = conn
        self.nodes = nodes


class AgentServer:
    """Runs on the main node while the batch script runs.

    names: the job's node names (index order); main_index / main_addr: the main node's index
    and address (the first entry of the hosts table); join_timeout: seconds the other nodes
    have to join, from now (None: no deadline; they are then expected but never failed for
    being late); on_hosts: called with the hosts table before a node that joined is given
    any work (the main node's own hosts file)."""

    def __init__(self, info: Dict[str, Any], port: int = 0, host: Optional[str] = None,
                 job_dir: Optional[str] = None, token: Optional[str] = None,
                 names: Optional[List[str]] = None, main_index: int = 0,
                 main_addr: Optional[str] = None, join_timeout: Optional[float] = None,
                 on_hosts: Optional[Callable[[List[Tuple[str, str]]], None]] = None) -> None:
        self.info = dict(info)
        self.token = token or secrets.token_hex(16)
        self.names = list(names or [])
        self.main_index = int(main_index)
        self.main_addr = main_addr
        self.join_timeout = join_timeout
        self.join_deadline = time.time() + join_timeout if join_timeout else None
        self.on_hosts = on_hosts
        self.nodes: Dict[int, Dict[str, Any]] = {}
        self.failed: Dict[int, str] = {}       # node -> "join" (never joined) | "lost"
        self._reported: Set[int] = set()
        self._fail_after: Dict[int, float] = {}
        self.leave_grace = LEAVE_GRACE
        self._waiting = 0                      # step requests waiting for nodes
        self._node_conns: Dict[int, _Conn] = {}
        self._steps: Dict[str, _Route] = {}
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._closed = False
        bind = host if host is not None else ("0.0.0.0" if port else "127.0.0.1")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((bind, port))
        self.sock.listen(64)
        self.host, self.port = self.sock.getsockname()[0], self.sock.getsockname()[1]
        self.local_host = "127.0.0.1" if bind in ("0.0.0.0", "") else bind
        if job_dir:
            write_private_json(os.path.join(job_dir, "agent.json"),
                               {"host": self.local_host, "port": self.port, "pid": os.getpid(),
                                "token": self.token})
        threading.Thread(target=self._accept, name="agent-accept", daemon=True).start()

    def address(self) -> Dict[str, Any]:
        """What srun on this node needs: where to connect, and the token."""
        return {"host": self.local_host, "port": self.port, "token": self.token}

    def expected(self) -> List[int]:
        """The other nodes' indices."""
        return [i for i in range(len(self.names)) if i != self.main_index]

    def _name(self, node: int) -> str:
        return self.names[node] if 0 <= node < len(self.names) else "node%d" % node

    def host_table(self) -> List[Tuple[str, str]]:
        """(address, name) of the main node and of every node that joined, in node order.
        Call with the lock held."""
        addrs = {n: rec["addr"] for n, rec in self.nodes.items() if rec.get("addr")}
        if self.main_addr and 0 <= self.main_index < len(self.names):
            addrs[self.main_index] = self.main_addr
        return [(addrs[n], self._name(n)) for n in sorted(addrs)
                if 0 <= n < len(self.names)]

    def take_failures(self, now: Optional[float] = None) -> Dict[int, str]:
        """Nodes that failed since the last call: node -> "join" (it did not join within the
        join timeout) or "lost" (its agent's connection dropped while the job ran; one that
        said it was being stopped counts only leave_grace seconds later, when the job has not
        been stopped meanwhile).  A step request that waits for a node that will not come is
        answered first (srun names the node before the job is ended)."""
        now = time.time() if now is None else now
        with self._cond:
            if self._closed:
                return {}
            if self.join_deadline is not None and now >= self.join_deadline:
                late = [n for n in self.expected() if n not in self.nodes and
                        n not in self.failed]
                if late:
                    if self._waiting and now < self.join_deadline + 5.0:
                        self._cond.notify_all()   # they answer first; then the failure counts
                        return {}
                    for n in late:
                        self.failed[n] = "join"
            new = {n: why for n, why in self.failed.items() if n not in self._reported and
                   now >= self._fail_after.get(n, 0.0)}
            self._reported.update(new)
        return new

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn, peer), daemon=True).start()

    def _serve(self, sock: socket.socket, peer: Any) -> None:
        sock.settimeout(FIRST_MESSAGE_TIMEOUT)
        lines = _Lines(sock)
        first = lines.next()
        conn = _Conn(sock)
        if not first or not token_ok(first.get("token"), self.token):
            if first is not None:
                conn.send({"op": "error", "message": "authentication failed"})
            conn.close()
            return
        sock.settimeout(None)
        if first.get("op") == "hello":
            _keepalive(sock)
            self._serve_node(conn, lines, first, peer)
        elif first.get("op") == "step":
            self._serve_step(conn, lines, first)
        else:
            conn.close()

    # -- node agents ----------------------------------------------------------------------
    def _serve_node(self, conn: _Conn, lines: _Lines, hello: Dict[str, Any], peer: Any) -> None:
        try:
            node = int(hello.get("node", -1))
        except (TypeError, ValueError):
            node = -1
        addr = hello.get("addr") if isinstance(hello.get("addr"), str) and hello.get("addr") \
            else peer[0]
        with self._cond:
            if self._closed:
                conn.send({"op": "exit", "code": self.info.get("exit_code", 0)})
                conn.close()
                return
            self.nodes[node] = {"name": hello.get("name"), "addr": addr,
                                "pid": hello.get("pid"), "joined": time.time()}
            table = self.host_table()
        if self.on_hosts is not None:
            self.on_hosts(table)     # this node's name resolves here before it gets work
        with self._cond:
            old = self._node_conns.get(node)
            self._node_conns[node] = conn
            table = self.host_table()
            others = [c for n, c in self._node_conns.items() if n != node]
            self._cond.notify_all()
        if old is not None:
            old.close()
        conn.send(dict(self.info, op="welcome", hosts=[list(e) for e in table]))
        for other in others:
            other.send({"op": "hosts", "hosts": [list(e) for e in table]})
        while True:
            msg = lines.next()
            if msg is None:
                break
            if msg.get("op") == "leaving":
                with self._lock:
                    self.nodes[node]["leaving"] = time.time()
                continue
            step = msg.get("step")
            with self._lock:
                route = self._steps.get(str(step)) if step is not None else None
            if route is not None and msg.get("op") in ("io", "task_exit"):
                msg["node"] = node
                route.conn.send(msg)
        with self._cond:
            if self._node_conns.get(node) is not conn:
                return  # replaced by a new connection of the same node
            del self._node_conns[node]
            if node in self.nodes:
                self.nodes[node]["left"] = time.time()
            routes = [r for r in self._steps.values() if node in r.nodes]
            closed = self._closed
            self._cond.notify_all()
        conn.close()
        if not closed:
            for route in routes:   # srun says "Node failure on ..." before the job ends
                route.conn.send({"op": "lost", "node": node})
            with self._cond:
                if node not in self.failed:
                    self.failed[node] = "lost"
                    leaving = (self.nodes.get(node) or {}).get("leaving")
                    if leaving:   # stopped: the main node's own stop is probably coming
                        self._fail_after[node] = leaving + self.leave_grace

    # -- srun -----------------------------------------------------------------------------
    def _serve_step(self, conn: _Conn, lines: _Lines, req: Dict[str, Any]) -> None:
        step = str(req.get("step"))
        plan = req.get("nodes") or {}
        try:
            needed = {int(k) for k in plan}
            timeout = float(req.get("timeout") or 0)
        except (TypeError, ValueError):
            conn.send({"op": "error", "message": "invalid step request"})
            conn.close()
            return
        deadline = time.time() + timeout if timeout > 0 else None
        expired = False
        reply: Optional[Dict[str, Any]] = None
        with self._cond:
            self._waiting += 1
            while True:
                missing = sorted(needed - set(self._node_conns))
                gone = [n for n in missing if "left" in self.nodes.get(n, {})]
                now = time.time()
                expired = self.join_deadline is not None and now >= self.join_deadline
                ends = [t for t in (deadline, self.join_deadline) if t is not None]
                if not missing or gone or expired or self._closed or \
                        (deadline is not None and now >= deadline):
                    break
                self._cond.wait(max(0.0, min(ends) - now) if ends else None)
            if missing:
                reply = {"op": "error", "missing": missing, "gone": gone, "expired": expired,
                         "join_timeout": self.join_timeout,
                         "message": "node agents not connected"}
            elif self._closed:
                reply = {"op": "error", "missing": [], "gone": [],
                         "message": "the job is over"}
            else:
                route = _Route(conn, set(needed))
                self._steps[step] = route
                targets = {n: self._node_conns[n] for n in needed}
                table = [list(e) for e in self.host_table()]
                self._waiting -= 1
        if reply is not None:
            conn.send(reply)
            conn.close()
            with self._cond:   # only now may take_failures() report the missing nodes
                self._waiting -= 1
            return
        for n, target in sorted(targets.items()):
            part = plan.get(str(n)) or {}
            ok = target.send({"op": "run", "step": step, "env": part.get("env") or {},
                              "cwd": part.get("cwd"), "tasks": part.get("tasks") or [],
                              "hosts": table})
            if not ok:
                conn.send({"op": "lost", "node": n})
        conn.send({"op": "started"})
        try:
            while True:
                msg = lines.next()
                if msg is None:
                    break
                op = msg.get("op")
                if op == "signal":
                    relay = {"op": "signal", "step": step,
                             "signum": int(msg.get("signum") or signal.SIGTERM)}
                elif op == "stdin":
                    relay = {"op": "stdin", "step": step, "data": msg.get("data") or "",
                             "eof": bool(msg.get("eof"))}
                else:
                    continue
                with self._lock:
                    targets = {n: self._node_conns.get(n) for n in route.nodes}
                for target in targets.values():
                    if target is not None:
                        target.send(relay)
        finally:
            with self._lock:
                self._steps.pop(step, None)
                targets = {n: self._node_conns.get(n) for n in route.nodes}
            for target in targets.values():
                if target is not None:
                    target.send({"op": "end", "step": step})
            conn.close()

    def finish(self, code: int) -> None:
        """The job is over: tell every node agent to exit, and stop listening."""
        with self._cond:
            self._closed = True
            self.info["exit_code"] = code
            conns = list(self._node_conns.values())
            self._node_conns = {}
            self._cond.notify_all()
        for conn in conns:
            conn.send({"op": "exit", "code": code})
            conn.close()
        try:
            self.sock.close()
        except OSError:
            pass


# ------------------------------------------------------------------ the other nodes' agent

def _find_main(desc: Dict[str, Any], placement: Dict[str, Any],
               job_dir: Optional[str]) -> Optional[Tuple[str, int, str]]:
    """(host, port, token) of the main node's server, or None while it is not known yet."""
    port = int(desc.get("agent_port") or 0)
    if port and placement.get("main_node_addr"):
        return placement["main_node_addr"], port, main_token(desc, False)
    if job_dir:
        data = read_json(os.path.join(job_dir, "agent.json"))
        if data and data.get("port"):
            token = str(desc.get("agent_token") or data.get("token") or "")
            return (placement.get("main_node_addr") or data.get("host") or "127.0.0.1",
                    int(data["port"]), token)
    return None


class _Task:
    def __init__(self, step: str, rank: int, pid: int, readers: List[threading.Thread],
                 stdin: Optional[StdinWriter] = None) -> None:
        self.step = step
        self.rank = rank
        self.pid = pid
        self.readers = readers
        self.stdin = stdin
        self.done = False


class NodeAgent:
    """A non-main node's agent: joins the main node, runs the step tasks it is sent, streams
    their output back and reports their exits."""

    def __init__(self, desc: Dict[str, Any], placement: Dict[str, Any],
                 job_dir: Optional[str], node_name: str,
                 environ: Optional[Dict[str, str]] = None) -> None:
        self.desc = desc
        self.placement = placement
        self.job_dir = job_dir
        self.node_name = node_name
        self.environ = dict(os.environ if environ is None else environ)
        self.conn: Optional[_Conn] = None
        self.tasks: Dict[int, _Task] = {}      # pid -> task
        self.lock = threading.Lock()
        self.spawned = threading.Event()
        self.stopping = False
        self.refused = False
        path = hosts_path(desc, self.environ)
        self.hosts = HostsFile(path, desc.get("job_id")) if path else None
        self.hosts_warned = False

    def connect(self, timeout: float) -> bool:
        deadline = time.time() + timeout
        while not self.stopping:
            target = _find_main(self.desc, self.placement, self.job_dir)
            if target:
                sock = None
                try:
                    sock = socket.create_connection(target[:2], timeout=5)
                    hello = {"op": "hello", "token": target[2],
                             "node": int(self.placement.get("node_index") or 0),
                             "name": self.node_name, "pid": os.getpid()}
                    if (self.environ.get(ENV_NODE_ADDR) or "").strip():
                        hello["addr"] = self.environ[ENV_NODE_ADDR].strip()
                    _send(sock, hello)
                    lines = _Lines(sock)
                    reply = lines.next()
                    if reply and reply.get("op") in ("welcome", "exit"):
                        sock.settimeout(None)
                        _keepalive(sock)
                        self.conn = _Conn(sock)
                        self.lines = lines
                        self.first = reply
                        return True
                    self.refused = bool(reply and reply.get("op") == "error")
                except OSError:
                    pass
                if sock is not None:
                    sock.close()
            if time.time() > deadline:
                return False
            time.sleep(0.2)
        return False

    def serve(self) -> int:
        """Handle the main node's messages until the job is over or the main node is gone."""
        assert self.conn is not None
        threading.Thread(target=self._reaper, name="agent-reaper", daemon=True).start()
        msg: Optional[Dict[str, Any]] = self.first
        try:
            while msg is not None and msg.get("op") != "exit":
                op = msg.get("op")
                if "hosts" in msg:          # welcome, hosts, run: names first, then tasks
                    self._hosts(msg["hosts"])
                if op == "run":
                    self._run(str(msg.get("step")), msg)
                elif op == "signal":
                    self._signal(str(msg.get("step")), int(msg.get("signum") or 0))
                elif op == "stdin":
                    self._stdin(str(msg.get("step")), msg)
                elif op == "end":
                    self._signal(str(msg.get("step")), signal.SIGKILL)
                msg = self.lines.next()
        finally:
            self.shutdown()
        return 0

    def stop(self) -> None:
        """From a signal handler: tell the main node this node is being stopped (not failing:
        AWS Batch stops every node of a job it terminates), then make serve() return (its recv
        sees the end of stream).  A thread does it: the handler may have interrupted a send
        that holds the connection's lock."""
        self.stopping = True
        conn = self.conn
        if conn is not None:
            def leave() -> None:
                conn.send({"op": "leaving"})
                try:
                    conn.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            threading.Thread(target=leave, name="agent-leave", daemon=True).start()

    def shutdown(self) -> None:
        """The job is over (or the main node is gone): no task of this node survives."""
        if self.conn is not None:
            self.conn.close()
        with self.lock:
            pids = [t.pid for t in self.tasks.values() if not t.done]
        for signum in (signal.SIGCONT, signal.SIGTERM):
            for pid in pids:
                _killpg(pid, signum)
        deadline = time.time() + 1.0
        while time.time() < deadline:
            with self.lock:
                if all(t.done for t in self.tasks.values()):
                    break
            time.sleep(0.02)
        for pid in pids:
            _killpg(pid, signal.SIGKILL)
        if os.getsid(0) == os.getpid():   # a session of our own: sweep what tasks left behind
            for pid in session_pids(os.getpid()):
                if pid != os.getpid():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass

    def _hosts(self, entries: Any) -> None:
        """The job's node names into this node's hosts file (hosts.py), when it keeps one."""
        if self.hosts is None:
            return
        error = self.hosts.update(table_of(entries))
        if error and not self.hosts_warned:
            self.hosts_warned = True
            sys.stderr.write("slurmstepd: warning: %s: cannot add the job's node names to the "
                             "hosts file: %s\n" % (self.node_name, error))
            sys.stderr.flush()

    # -- tasks ------------------------------------------------------------------------------
    def _env(self, base: Dict[str, str], extra: Dict[str, str]) -> Dict[str, str]:
        env = dict(base)
        env.update(extra)
        for k, v in self.environ.items():
            if k.startswith(_INFRA_PREFIXES) or k in _INFRA_NAMES:
                env[k] = v
        return {str(k): str(v) for k, v in env.items()}

    def _run(self, step: str, msg: Dict[str, Any]) -> None:
        base = msg.get("env") or {}
        cwd = msg.get("cwd") or None
        null = os.open(os.devnull, os.O_RDWR)
        try:
            for spec in msg.get("tasks") or []:
                self._start(step, spec, base, cwd, null)
        finally:
            os.close(null)

    def _start(self, step: str, spec: Dict[str, Any], base: Dict[str, str],
               cwd: Optional[str], null: int) -> None:
        rank = int(spec.get("rank") or 0)
        assert self.conn is not None
        to_close: List[int] = []
        pipes: List[Tuple[int, int]] = []
        started = False
        feed: Optional[int] = None
        try:
            stdin = null
            if spec.get("input"):
                try:
                    stdin = os.open(spec["input"], os.O_RDONLY)
                    to_close.append(stdin)
                except OSError as exc:
                    raise _LaunchError("Could not open stdin file %s: %s"
                                       % (spec["input"], os.strerror(exc.errno or 5)))
            elif spec.get("stdin"):
                stdin, feed = os.pipe()
                to_close.append(stdin)
            fds = []
            for fd_no, key in ((1, "out"), (2, "err")):
                if spec.get(key, True):
                    r, w = os.pipe()
                    pipes.append((fd_no, r))
                    to_close.append(w)
                    fds.append(w)
                else:
                    fds.append(null)
            argv = [str(a) for a in spec.get("argv") or []]
            if not argv:
                raise _LaunchError("no command")
            env = self._env(base, spec.get("env") or {})
            with self.lock:  # the reaper looks the pid up under the lock: register first
                pid = spawn(argv, env, cwd, stdin, fds[0], fds[1], new_pgrp=True)
                readers = [threading.Thread(target=self._pump, args=(step, rank, fd_no, r),
                                            daemon=True) for fd_no, r in pipes]
                for t in readers:
                    t.start()
                writer = StdinWriter(feed) if feed is not None else None
                feed = None
                self.tasks[pid] = _Task(step, rank, pid, readers, writer)
                started = True
            self.spawned.set()
        except (OSError, _LaunchError) as exc:
            text = "%s: error: %s: task %d: %s\n" % ("slurmstepd", self.node_name, rank, exc)
            self.conn.send({"op": "io", "step": step, "rank": rank, "fd": 2,
                            "data": encode_data(text.encode("utf-8"))})
            self.conn.send({"op": "task_exit", "step": step, "rank": rank, "status": 1 << 8})
        finally:
            for fd in to_close + ([] if started else [r for _n, r in pipes]) + \
                    ([feed] if feed is not None else []):
                os.close(fd)

    def _pump(self, step: str, rank: int, fd_no: int, src: int) -> None:
        assert self.conn is not None
        for data in read_chunks(src):
            self.conn.send({"op": "io", "step": step, "rank": rank, "fd": fd_no,
                            "data": encode_data(data)})
        os.close(src)

    def _reaper(self) -> None:
        """Reap every child (the agent is PID 1 of a Batch container: orphans too)."""
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                self.spawned.wait(0.5)
                self.spawned.clear()
                continue
            except InterruptedError:
                continue
            with self.lock:
                task = self.tasks.get(pid)
            if task is not None:
                threading.Thread(target=self._finish, args=(task, status), daemon=True).start()

    def _finish(self, task: _Task, status: int) -> None:
        deadline = time.time() + DRAIN_TIMEOUT
        for t in task.readers:
            t.join(max(0.0, deadline - time.time()))
        with self.lock:
            task.done = True
            self.tasks.pop(task.pid, None)
        if task.stdin is not None:
            task.stdin.put(None)
        if self.conn is not None:
            self.conn.send({"op": "task_exit", "step": task.step, "rank": task.rank,
                            "status": status})

    def _stdin(self, step: str, msg: Dict[str, Any]) -> None:
        """srun's stdin for the step's tasks that take it (each gets every byte)."""
        data = decode_data(msg.get("data") or "")
        with self.lock:
            writers = [t.stdin for t in self.tasks.values()
                       if t.step == step and not t.done and t.stdin is not None]
        for w in writers:
            if data:
                w.put(data)
            if msg.get("eof"):
                w.put(None)

    def _signal(self, step: str, signum: int) -> None:
        if not signum:
            return
        with self.lock:
            pids = [t.pid for t in self.tasks.values() if t.step == step and not t.done]
        for pid in pids:
            _killpg(pid, signum)


class _LaunchError(Exception):
    pass


def _killpg(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except OSError:
        pass


def run_node_agent(desc: Dict[str, Any], placement: Dict[str, Any], job_dir: Optional[str],
                   node_name: str, timeout: Optional[float] = None) -> int:
    """A non-main node: join the main node, run the step tasks it sends until it says the job
    is over (or the connection drops, or SIGTERM arrives: Batch stops the other nodes when the
    main one ends)."""
    agent = NodeAgent(desc, placement, job_dir, node_name)

    def on_term(signum: int, frame: Any) -> None:
        if agent.conn is None:
            raise _Stop()
        agent.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_term)
    timeout = join_timeout(desc) if timeout is None else timeout
    try:
        if not agent.connect(timeout):
            if agent.stopping:
                return 0
            target = _find_main(desc, placement, job_dir)
            where = " at %s:%d" % (target[0], target[1]) if target else ""
            why = "the main node%s refused this node" % where if agent.refused else \
                "cannot reach the main node of the job%s" % where
            sys.stderr.write("slurmstepd: error: %s: %s\n" % (node_name, why))
            return 1
    except _Stop:
        return 0
    return agent.serve()


class _Stop(Exception):
    pass


# ------------------------------------------------------------------ srun's side

class StepClient:
    """srun's connection to the main node's server for one step.  `on_message` is called from
    a reader thread with every message after "started" (io, task_exit, lost), and with
    {"op": "closed"} when the server goes away."""

    def __init__(self, address: Dict[str, Any], on_message: Callable[[Dict[str, Any]], None]
                 ) -> None:
        self.address = address
        self.on_message = on_message
        self.conn: Optional[_Conn] = None
        self.reply: Optional[Dict[str, Any]] = None
        self.replied = threading.Event()

    def start(self, step: str, plan: Dict[str, Any], timeout: float) -> None:
        sock = socket.create_connection((self.address.get("host") or "127.0.0.1",
                                         int(self.address["port"])), timeout=10)
        sock.settimeout(None)
        self.conn = _Conn(sock)
        if not self.conn.send({"op": "step", "token": self.address.get("token"), "step": step,
                               "timeout": timeout,
                               "nodes": {str(k): v for k, v in plan.items()}}):
            raise OSError("connection to the main node's agent lost")
        threading.Thread(target=self._read, name="srun-step", daemon=True).start()

    def _read(self) -> None:
        assert self.conn is not None
        lines = _Lines(self.conn.sock)
        while True:
            msg = lines.next()
            if msg is None:
                break
            if not self.replied.is_set() and msg.get("op") in ("started", "error"):
                self.reply = msg
                self.replied.set()
                continue
            self.on_message(msg)
        if not self.replied.is_set():
            self.reply = {"op": "error", "message": "the main node's agent closed the connection"}
            self.replied.set()
        elif self.reply and self.reply.get("op") == "started":
            self.on_message({"op": "closed"})

    def signal(self, signum: int) -> None:
        if self.conn is not None:
            self.conn.send({"op": "signal", "signum": int(signum)})

    def stdin(self, data: Optional[bytes]) -> None:
        """Forward a piece of srun's stdin to the step's remote tasks; None = end of file."""
        if self.conn is not None:
            self.conn.send({"op": "stdin", "eof": True} if data is None else
                           {"op": "stdin", "data": encode_data(data)})

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
