"""Multi-node jobs: the main node's agent server and the other nodes' node agent.

AWS Batch starts the main node first and the others once it runs, in any order, and stops them
when the main node exits; the main node gets no list of its peers.  So every other node runs a
*node agent* that connects to the main node (AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS and
the descriptor's agent_port; with agent_port 0 -- local backend, one machine -- the main node
publishes its loopback port in <stage dir>/agent.json) and waits for work.

Protocol: newline-delimited JSON over TCP.
    node -> main   {"op": "hello", "node": i, "name": "node02", "addr": "10.0.0.12", "pid": n}
    main -> node   {"op": "welcome", "job_id": N, "start_time": t}
    main -> node   {"op": "exit", "code": rc}          the job is over: the agent exits 0
    (reserved)     {"op": "run", "step": s, "tasks": [...]}  srun fan-out, not implemented yet;
                   the agent answers {"op": "error", "message": ...}
The server records who joined (node index -> address): that is the rendezvous a hostfile or an
srun fan-out needs.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
from typing import Any, Dict, List, Optional

from .common import read_json, write_json

DEFAULT_CONNECT_TIMEOUT = 900.0


def _send(sock: socket.socket, msg: Dict[str, Any]) -> None:
    sock.sendall((json.dumps(msg, separators=(",", ":")) + "\n").encode("utf-8"))


class _Lines:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def next(self) -> Optional[Dict[str, Any]]:
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return None
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        try:
            return json.loads(line.decode("utf-8"))
        except ValueError:
            return {"op": "invalid"}


class AgentServer:
    """Runs on the main node while the batch script runs."""

    def __init__(self, info: Dict[str, Any], port: int = 0, host: Optional[str] = None,
                 job_dir: Optional[str] = None) -> None:
        self.info = dict(info)
        self.nodes: Dict[int, Dict[str, Any]] = {}
        self._conns: List[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        bind = host if host is not None else ("0.0.0.0" if port else "127.0.0.1")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((bind, port))
        self.sock.listen(64)
        self.host, self.port = self.sock.getsockname()[0], self.sock.getsockname()[1]
        if job_dir:
            write_json(os.path.join(job_dir, "agent.json"),
                       {"host": "127.0.0.1" if bind in ("0.0.0.0", "") else bind,
                        "port": self.port, "pid": os.getpid()})
        threading.Thread(target=self._accept, name="agent-accept", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn, peer), daemon=True).start()

    def _serve(self, conn: socket.socket, peer: Any) -> None:
        lines = _Lines(conn)
        hello = lines.next()
        if not hello or hello.get("op") != "hello":
            conn.close()
            return
        node = int(hello.get("node", -1))
        with self._lock:
            if self._closed:
                _send(conn, {"op": "exit", "code": self.info.get("exit_code", 0)})
                conn.close()
                return
            self.nodes[node] = {"name": hello.get("name"), "addr": hello.get("addr") or peer[0],
                                "pid": hello.get("pid"), "joined": time.time()}
            self._conns.append(conn)
        try:
            _send(conn, dict(self.info, op="welcome"))
        except OSError:
            pass

    def finish(self, code: int) -> None:
        """The job is over: tell every node agent to exit, and stop listening."""
        with self._lock:
            self._closed = True
            self.info["exit_code"] = code
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                _send(conn, {"op": "exit", "code": code})
                conn.close()
            except OSError:
                pass
        try:
            self.sock.close()
        except OSError:
            pass


def _my_addr() -> str:
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def _find_main(desc: Dict[str, Any], placement: Dict[str, Any],
               job_dir: Optional[str]) -> Optional[tuple]:
    port = int(desc.get("agent_port") or 0)
    if port and placement.get("main_node_addr"):
        return placement["main_node_addr"], port
    if job_dir:
        data = read_json(os.path.join(job_dir, "agent.json"))
        if data and data.get("port"):
            return placement.get("main_node_addr") or data.get("host") or "127.0.0.1", \
                int(data["port"])
    return None


def run_node_agent(desc: Dict[str, Any], placement: Dict[str, Any], job_dir: Optional[str],
                   node_name: str, timeout: Optional[float] = None) -> int:
    """A non-main node: join the main node, then wait until it says the job is over (or the
    connection drops, or SIGTERM arrives: Batch stops the other nodes when the main one ends)."""
    def on_term(signum: int, frame: Any) -> None:
        raise _Stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_term)
    try:
        return _agent(desc, placement, job_dir, node_name, timeout)
    except _Stop:
        return 0


class _Stop(Exception):
    pass


def _agent(desc: Dict[str, Any], placement: Dict[str, Any], job_dir: Optional[str],
           node_name: str, timeout: Optional[float]) -> int:
    timeout = float(desc.get("agent_timeout") or DEFAULT_CONNECT_TIMEOUT) \
        if timeout is None else timeout
    deadline = time.time() + timeout
    sock = None
    while sock is None:
        target = _find_main(desc, placement, job_dir)
        if target:
            try:
                sock = socket.create_connection(target, timeout=5)
            except OSError:
                sock = None
        if sock is None:
            if time.time() > deadline:
                sys.stderr.write("slurmstepd: error: %s: cannot reach the main node of the job\n"
                                 % node_name)
                return 1
            time.sleep(0.2)
    sock.settimeout(None)
    try:
        _send(sock, {"op": "hello", "node": int(placement.get("node_index") or 0),
                     "name": node_name, "addr": _my_addr(), "pid": os.getpid()})
        lines = _Lines(sock)
        while True:
            msg = lines.next()
            if msg is None or msg.get("op") == "exit":
                return 0
            if msg.get("op") == "run":
                _send(sock, {"op": "error", "message": "srun fan-out to other nodes is not "
                                                       "implemented yet"})
    finally:
        sock.close()
