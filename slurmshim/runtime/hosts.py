"""Node names that resolve inside a multi-node job.  Standard library only, Python >= 3.8.

Slurm users address a job's nodes by name: `MASTER_ADDR=$(scontrol show hostnames
$SLURM_JOB_NODELIST | head -n1)`, `ssh node02`, `ping node02`.  On AWS Batch the names slurmshim
gives the nodes (`cloud-dy-01`, ...) resolve nowhere, so the runtime makes them resolve: the main
node knows its own address and each other node's (the address its node agent joins from, see
agent.py), sends the table to every node agent (when it joins, to every node when another joins,
and with every step it runs there), and each node adds one line per node to its hosts file:

    10.0.1.17 cloud-dy-01 # slurmshim job 53

A node's name resolves once that node has joined (the main node's own from the start): srun
waits for the nodes of a step, so a step's tasks find every name of the step on every node.
Lines are only ever appended while the table grows (a container's /etc/hosts is a bind mount,
written in place, never replaced); a node whose address changed has its line rewritten in place.
Other lines are left alone.

Which file (hosts_path):
* never on the local backend (agent_port 0: every node is this machine; its node names are its
  own business), whatever the environment says;
* $SLURMSHIM_HOSTS_FILE (the node's environment, else the job's exported one): that file; "" or
  "none" turns the feature off;
* otherwise /etc/hosts, when the node runs in a container that a cloud orchestrator manages, as
  Batch's do (ECS_CONTAINER_METADATA_URI[_V4], or KUBERNETES_SERVICE_HOST for Batch on EKS): the
  file is the container's own.  Anywhere else nothing is written.
A hosts file that cannot be written (a container running as non-root) costs one warning on the
runtime's stderr; names then do not resolve, and $SLURM_LAUNCH_NODE_IPADDR (srun steps) still
holds the main node's address.

A node's own address (node_addr): $SLURMSHIM_NODE_ADDR, else the address of the interface that
routes outwards (a UDP socket's connect() picks it without sending anything: on Batch, the
container's private IPv4 address, the one Batch gives the other nodes as
AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS), else what the host name resolves to.
"""
from __future__ import annotations

import socket
import threading
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

ENV_HOSTS_FILE = "SLURMSHIM_HOSTS_FILE"
ENV_NODE_ADDR = "SLURMSHIM_NODE_ADDR"
DEFAULT_HOSTS_FILE = "/etc/hosts"
# set in the containers of an orchestrator that owns (and gives each container) its /etc/hosts
_CONTAINER_MARKERS = ("ECS_CONTAINER_METADATA_URI_V4", "ECS_CONTAINER_METADATA_URI",
                      "KUBERNETES_SERVICE_HOST")
_OFF = ("", "none", "no", "off", "0")


def hosts_path(desc: Mapping[str, Any], environ: Mapping[str, str]) -> Optional[str]:
    """The hosts file this node maintains for the job, or None (see the module doc)."""
    if not int(desc.get("agent_port") or 0):
        return None     # local backend: never
    job_env = desc.get("environment") or {}
    for source in (environ, job_env):
        if ENV_HOSTS_FILE in source:
            value = str(source[ENV_HOSTS_FILE]).strip()
            return None if value.lower() in _OFF else value
    if any(environ.get(name) for name in _CONTAINER_MARKERS):
        return DEFAULT_HOSTS_FILE
    return None


def node_addr(environ: Mapping[str, str]) -> str:
    """This node's address as the job's other nodes reach it (see the module doc)."""
    given = (environ.get(ENV_NODE_ADDR) or "").strip()
    if given:
        return given
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.connect(("10.255.255.255", 9))   # routing only: a UDP connect sends nothing
        addr = sock.getsockname()[0]
        if addr and addr != "0.0.0.0":
            return addr
    except OSError:
        pass
    finally:
        sock.close()
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def table_of(entries: Iterable[Sequence[str]]) -> List[Tuple[str, str]]:
    """[[addr, name], ...] from the wire -> [(addr, name), ...], malformed items dropped."""
    out = []
    for item in entries or []:
        if isinstance(item, (list, tuple)) and len(item) == 2 and all(
                isinstance(x, str) and x and not any(c.isspace() or c == "#" for c in x)
                for x in item):
            out.append((item[0], item[1]))
    return out


class HostsFile:
    """The job's lines in one hosts file.  update() merges entries (name -> address; names are
    never removed) and writes what changed.  Thread-safe."""

    def __init__(self, path: str, job_id: Any) -> None:
        self.path = path
        self.tag = "# slurmshim job %s" % job_id
        self.names: Dict[str, str] = {}
        self.lock = threading.Lock()
        self.error: Optional[str] = None   # the last failure, for one warning

    def _line(self, name: str) -> str:
        return "%s %s %s\n" % (self.names[name], name, self.tag)

    def update(self, entries: Iterable[Tuple[str, str]]) -> Optional[str]:
        """Merge `entries` and write them; returns an error text when the file cannot be
        written (None when it was, or nothing changed)."""
        with self.lock:
            before = dict(self.names)
            for addr, name in entries:
                self.names[name] = addr
            if self.names == before and self.error is None:
                return None
            try:
                self._write()
                self.error = None
            except OSError as exc:   # kept: tried again with the next update
                self.error = "%s: %s" % (self.path, exc.strerror or exc)
            return self.error

    def _write(self) -> None:
        try:
            with open(self.path, "r", encoding="utf-8", errors="surrogateescape") as fh:
                text = fh.read()
        except FileNotFoundError:
            text = ""
        ours = {}
        for line in text.splitlines():
            if line.rstrip().endswith(self.tag):
                fields = line.split()
                if len(fields) >= 2:
                    ours[fields[1]] = fields[0]
        changed = [n for n, a in ours.items() if self.names.get(n) != a]
        if not changed:
            new = [n for n in self.names if n not in ours]
            if not new:
                return
            prefix = "" if not text or text.endswith("\n") else "\n"
            with open(self.path, "a", encoding="utf-8", errors="surrogateescape") as fh:
                fh.write(prefix + "".join(self._line(n) for n in new))
            return
        # an address changed: rewrite our lines in place (the file itself stays, e.g. a bind
        # mount), everything else as it was
        keep = [line for line in text.splitlines(True) if not line.rstrip().endswith(self.tag)]
        if keep and not keep[-1].endswith("\n"):
            keep[-1] += "\n"
        body = "".join(keep) + "".join(self._line(n) for n in self.names)
        with open(self.path, "r+", encoding="utf-8", errors="surrogateescape") as fh:
            fh.write(body)
            fh.truncate()
