"""A parser for the parts of a real slurm.conf that describe a cluster's shape.

What it reads, the way slurmctld's parser (src/common/parse_config.c, read_config.c) does:

* one `Key=Value` pair after another, keys case-insensitive, values optionally in double quotes;
* `#` starts a comment (`\\#` is a literal `#`); a line ending in `\\` continues on the next;
* `Include FILE` (also `include`): followed, relative to the including file's directory (globs
  allowed); a missing file is a warning, not an error;
* `NodeName=` lines (hostlist ranges like `gpu[01-04]`): CPUs, Boards, SocketsPerBoard, Sockets,
  CoresPerSocket, ThreadsPerCore, RealMemory, TmpDisk, Gres, Features/AvailableFeatures, Weight,
  State; `NodeName=DEFAULT` sets the defaults of the lines after it; CPUs defaults to
  boards x sockets x cores x threads, as in Slurm;
* `NodeSet=` lines (`Nodes=` or `Feature=`), usable in a partition's `Nodes=`;
* `PartitionName=` lines: Nodes (a hostlist, node sets, or `ALL`), Default, MaxTime, DefaultTime,
  State, DefMemPerCPU, DefMemPerNode, MaxMemPerCPU, MaxNodes, and `PartitionName=DEFAULT`;
* the global keys ClusterName, MaxArraySize, MinJobAge, KillWait, DefMemPerCPU.

Everything else (daemons, plugins, accounting...) is kept in `other` and otherwise ignored.
Pure apart from reading the file and its includes.
"""
from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from typing import Any

from ..model import INFINITE


class SlurmConfError(ValueError):
    """A slurm.conf that cannot be understood: `file:line: problem`."""


@dataclass
class NodeGroup:
    """One NodeName line (after DEFAULT values were applied)."""

    names: list[str]
    expr: str
    cpus: int = 1
    sockets: int = 1
    cores_per_socket: int = 1
    threads_per_core: int = 1
    real_memory: int = 1          # MiB
    tmp_disk: int = 0             # MiB
    gres: list[tuple[str, str | None, int]] = field(default_factory=list)  # (name, type, count)
    features: list[str] = field(default_factory=list)
    weight: int = 1
    state: str = "UNKNOWN"
    where: str = ""

    @property
    def gpus(self) -> int:
        return sum(c for n, _, c in self.gres if n == "gpu")

    @property
    def gpu_types(self) -> list[str]:
        return sorted({t for n, t, _ in self.gres if n == "gpu" and t})

    def shape(self) -> tuple:
        return (self.cpus, self.real_memory, self.gpus, tuple(self.gpu_types),
                tuple(sorted(f.lower() for f in self.features)))


@dataclass
class PartitionDef:
    name: str
    nodes_expr: str = ""
    nodes: list[str] = field(default_factory=list)
    default: bool = False
    max_time: int = INFINITE      # minutes
    default_time: int | None = None
    state: str = "UP"
    def_mem_per_cpu: int | None = None
    def_mem_per_node: int | None = None
    max_mem_per_cpu: int | None = None
    max_nodes: int | None = None
    where: str = ""
    other: dict[str, str] = field(default_factory=dict)


@dataclass
class SlurmConf:
    path: str
    cluster_name: str | None = None
    max_array_size: int | None = None
    min_job_age: int | None = None
    kill_wait: int | None = None
    def_mem_per_cpu: int | None = None
    node_groups: list[NodeGroup] = field(default_factory=list)
    nodesets: dict[str, list[str]] = field(default_factory=dict)
    partitions: dict[str, PartitionDef] = field(default_factory=dict)
    other: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def node(self, name: str) -> NodeGroup | None:
        for g in self.node_groups:
            if name in g.names:
                return g
        return None

    @property
    def all_nodes(self) -> list[str]:
        out: list[str] = []
        for g in self.node_groups:
            out.extend(n for n in g.names if n not in out)
        return out


# ---------------------------------------------------------------- lexical level

def _strip_comment(line: str) -> str:
    out = []
    i = 0
    quoted = False
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line) and line[i + 1] == "#":
            out.append("#")
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == "#" and not quoted:
            break
        out.append(c)
        i += 1
    return "".join(out)


def logical_lines(text: str, file: str) -> list[tuple[str, str]]:
    """(where, line) for each logical line: comments removed, continuations joined."""
    out: list[tuple[str, str]] = []
    buf = ""
    start = 0
    for n, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = _strip_comment(raw).rstrip()
        if not buf:
            start = n
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        if buf.strip():
            out.append((f"{file}:{start}", buf.strip()))
        buf = ""
    if buf.strip():
        out.append((f"{file}:{start}", buf.strip()))
    return out


_PAIR = re.compile(r'\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s]*)')


def pairs(line: str, where: str) -> list[tuple[str, str]]:
    """`Key=Value Key2="a b"` -> [(key, value)] in order."""
    out: list[tuple[str, str]] = []
    pos = 0
    line = line.strip()
    while pos < len(line):
        m = _PAIR.match(line, pos)
        if m is None:
            rest = line[pos:].strip()
            if not rest:
                break
            raise SlurmConfError(f"{where}: cannot parse {rest.split()[0]!r} (expected Key=Value)")
        val = m.group(2)
        if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
            val = val[1:-1]
        out.append((m.group(1), val))
        pos = m.end()
    return out


# ---------------------------------------------------------------- values

def _int(value: str, key: str, where: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SlurmConfError(f"{where}: {key}={value} is not a number") from None


def _time(value: str, key: str, where: str) -> int:
    from ..slurm.timespec import parse_time_limit
    try:
        return parse_time_limit(value)
    except ValueError:
        raise SlurmConfError(f"{where}: {key}={value} is not a time limit") from None


def _mem_value(value: str, key: str, where: str) -> int | None:
    if value.upper() in ("UNLIMITED", "INFINITE", "0"):
        return None
    from ..slurm.memspec import parse_mem
    try:
        return parse_mem(value)
    except ValueError:
        raise SlurmConfError(f"{where}: {key}={value} is not a memory size") from None


def _bool(value: str) -> bool:
    return value.strip().upper() in ("YES", "Y", "TRUE", "1")


def parse_node_gres(text: str, where: str = "") -> list[tuple[str, str | None, int]]:
    """`gpu:a100:8`, `gpu:4,mps:100`, `gpu:a100:4(S:0-1)` -> [(name, type, count)]."""
    from ..slurm.gres import parse_count
    out: list[tuple[str, str | None, int]] = []
    depth = 0
    items, cur = [], ""
    for c in text:
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
            continue
        if depth:
            continue
        if c == ",":
            items.append(cur)
            cur = ""
        else:
            cur += c
    items.append(cur)
    for item in (i.strip() for i in items):
        if not item or item.lower() == "(null)":
            continue
        parts = item.split(":")
        name = parts[0]
        gtype: str | None = None
        count = 1
        if len(parts) == 2:
            c = parse_count(parts[1])
            if c is None:
                gtype = parts[1]
            else:
                count = c
        elif len(parts) >= 3:
            gtype = parts[1] or None
            c = parse_count(parts[2])
            if c is None:
                raise SlurmConfError(f"{where}: bad Gres count in {item!r}")
            count = c
        out.append((name, gtype, count))
    return out


def _expand(expr: str, where: str) -> list[str]:
    from ..slurm.hostlist import expand
    try:
        return expand(expr)
    except ValueError:
        raise SlurmConfError(f"{where}: invalid host list {expr!r}") from None


# ---------------------------------------------------------------- the file

_NODE_KEYS = {"cpus", "procs", "boards", "socketsperboard", "sockets", "corespersocket",
              "threadspercore", "realmemory", "tmpdisk", "gres", "features",
              "availablefeatures", "weight", "state"}


def parse_file(path: str) -> SlurmConf:
    with open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    return parse_text(text, path)


def parse_text(text: str, path: str = "slurm.conf") -> SlurmConf:
    conf = SlurmConf(path=path)
    lines = _with_includes(text, path, conf, depth=0)
    node_default: dict[str, str] = {}
    part_default: dict[str, str] = {}
    raw_parts: list[tuple[str, str, dict[str, str]]] = []
    for where, line in lines:
        kv = pairs(line, where)
        if not kv:
            continue
        key0, val0 = kv[0][0].lower(), kv[0][1]
        attrs = {k.lower(): v for k, v in kv[1:]}
        if key0 == "nodename":
            if val0.upper() == "DEFAULT":
                node_default.update(attrs)
                continue
            merged = dict(node_default)
            merged.update(attrs)
            conf.node_groups.append(_node_group(val0, merged, where, conf))
        elif key0 == "partitionname":
            if val0.upper() == "DEFAULT":
                part_default.update(attrs)
                continue
            merged = dict(part_default)
            merged.update(attrs)
            raw_parts.append((val0, where, merged))
        elif key0 == "nodeset":
            if "nodes" in attrs:
                conf.nodesets[val0] = _expand(attrs["nodes"], where)
            elif "feature" in attrs:
                feat = attrs["feature"].lower()
                conf.nodesets[val0] = [n for g in conf.node_groups
                                       if feat in (f.lower() for f in g.features)
                                       for n in g.names]
            else:
                conf.warnings.append(f"{where}: NodeSet={val0} has neither Nodes nor Feature")
        elif key0 in ("frontendname", "downnodes", "switchname", "slurmctldhost"):
            conf.other[kv[0][0]] = val0
        else:
            for k, v in kv:
                _global(conf, k, v, where)
    for name, where, attrs in raw_parts:
        conf.partitions[name] = _partition(name, attrs, where, conf)
    if not conf.partitions:
        conf.warnings.append(f"{path}: no PartitionName lines")
    return conf


def _with_includes(text: str, path: str, conf: SlurmConf, depth: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for where, line in logical_lines(text, path):
        first, _, rest = line.partition(" ")
        if first.lower() == "include" and "=" not in first:
            target = rest.strip().strip('"')
            if depth > 8:
                conf.warnings.append(f"{where}: include {target}: nested too deeply, skipped")
                continue
            full = target if os.path.isabs(target) else \
                os.path.join(os.path.dirname(os.path.abspath(path)), target)
            found = sorted(glob.glob(full)) if any(c in full for c in "*?[") else \
                ([full] if os.path.isfile(full) else [])
            if not found:
                conf.warnings.append(f"{where}: include {target}: file not found, skipped")
                continue
            for inc in found:
                conf.warnings.append(f"{where}: include {target}: read {inc}")
                with open(inc, encoding="utf-8", errors="replace") as fh:
                    out.extend(_with_includes(fh.read(), inc, conf, depth + 1))
            continue
        out.append((where, line))
    return out


def _global(conf: SlurmConf, key: str, value: str, where: str) -> None:
    k = key.lower()
    if k == "clustername":
        conf.cluster_name = value
    elif k == "maxarraysize":
        conf.max_array_size = _int(value, key, where)
    elif k == "minjobage":
        conf.min_job_age = _int(value, key, where)
    elif k == "killwait":
        conf.kill_wait = _int(value, key, where)
    elif k == "defmempercpu":
        conf.def_mem_per_cpu = _mem_value(value, key, where)
    else:
        conf.other[key] = value


def _node_group(expr: str, attrs: dict[str, str], where: str, conf: SlurmConf) -> NodeGroup:
    g = NodeGroup(names=_expand(expr, where), expr=expr, where=where)
    for k in attrs:
        if k not in _NODE_KEYS and k not in ("nodehostname", "nodeaddr", "port", "reason",
                                             "cpuspeclist", "corespeccount", "memspeclimit",
                                             "bcastaddr", "cpubind", "topology", "restrictedcorescount"):
            conf.warnings.append(f"{where}: NodeName {k} ignored")
    boards = _int(attrs.get("boards", "1"), "Boards", where)
    sockets_pb = attrs.get("socketsperboard")
    if sockets_pb is not None:
        g.sockets = boards * _int(sockets_pb, "SocketsPerBoard", where)
    else:
        g.sockets = _int(attrs.get("sockets", "1"), "Sockets", where)
    g.cores_per_socket = _int(attrs.get("corespersocket", "1"), "CoresPerSocket", where)
    g.threads_per_core = _int(attrs.get("threadspercore", "1"), "ThreadsPerCore", where)
    cpus = attrs.get("cpus", attrs.get("procs"))
    g.cpus = _int(cpus, "CPUs", where) if cpus is not None else \
        g.sockets * g.cores_per_socket * g.threads_per_core
    g.real_memory = _int(attrs.get("realmemory", "1"), "RealMemory", where)
    g.tmp_disk = _int(attrs.get("tmpdisk", "0"), "TmpDisk", where)
    g.weight = _int(attrs.get("weight", "1"), "Weight", where)
    g.state = attrs.get("state", "UNKNOWN").upper()
    g.gres = parse_node_gres(attrs.get("gres", ""), where)
    feats = attrs.get("features", attrs.get("availablefeatures", ""))
    g.features = [f for f in re.split(r"[,&|]", feats) if f and f.lower() != "(null)"]
    if g.real_memory <= 1:
        conf.warnings.append(f"{where}: NodeName={expr} has no RealMemory (Slurm assumes 1 MB)")
    return g


def _partition(name: str, attrs: dict[str, str], where: str, conf: SlurmConf) -> PartitionDef:
    p = PartitionDef(name=name, where=where)
    p.nodes_expr = attrs.get("nodes", "")
    seen: list[str] = []
    if p.nodes_expr.upper() == "ALL":
        seen = conf.all_nodes
    elif p.nodes_expr:
        for tok in _split_top(p.nodes_expr):
            names = conf.nodesets.get(tok) or _expand(tok, where)
            for n in names:
                if n not in seen:
                    seen.append(n)
    unknown = [n for n in seen if conf.node(n) is None]
    if unknown:
        from ..slurm.hostlist import compress
        conf.warnings.append(f"{where}: partition {name}: nodes {compress(unknown)} have no "
                             "NodeName line; left out")
    p.nodes = [n for n in seen if n not in unknown]
    p.default = _bool(attrs.get("default", "NO"))
    if "maxtime" in attrs:
        p.max_time = _time(attrs["maxtime"], "MaxTime", where)
    if "defaulttime" in attrs:
        p.default_time = _time(attrs["defaulttime"], "DefaultTime", where)
    p.state = attrs.get("state", "UP").upper()
    if "defmempercpu" in attrs:
        p.def_mem_per_cpu = _mem_value(attrs["defmempercpu"], "DefMemPerCPU", where)
    elif conf.def_mem_per_cpu:
        p.def_mem_per_cpu = conf.def_mem_per_cpu
    if "defmempernode" in attrs:
        p.def_mem_per_node = _mem_value(attrs["defmempernode"], "DefMemPerNode", where)
    if "maxmempercpu" in attrs:
        p.max_mem_per_cpu = _mem_value(attrs["maxmempercpu"], "MaxMemPerCPU", where)
    if "maxnodes" in attrs and attrs["maxnodes"].upper() not in ("UNLIMITED", "INFINITE"):
        p.max_nodes = _int(attrs["maxnodes"], "MaxNodes", where)
    known = {"nodes", "default", "maxtime", "defaulttime", "state", "defmempercpu",
             "defmempernode", "maxmempercpu", "maxnodes"}
    p.other = {k: v for k, v in attrs.items() if k not in known}
    return p


def _split_top(expr: str) -> list[str]:
    """Split a Nodes= value on commas outside brackets."""
    out, cur, depth = [], "", 0
    for c in expr:
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        if c == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += c
    if cur:
        out.append(cur)
    return [t.strip() for t in out if t.strip()]


def summary(conf: SlurmConf) -> dict[str, Any]:
    """A JSON-able digest (for --json and tests)."""
    return {
        "cluster_name": conf.cluster_name,
        "node_groups": [{"nodes": g.expr, "count": len(g.names), "cpus": g.cpus,
                         "real_memory": g.real_memory, "gres": [list(x) for x in g.gres],
                         "features": g.features} for g in conf.node_groups],
        "partitions": {n: {"nodes": len(p.nodes), "default": p.default, "max_time": p.max_time,
                           "state": p.state} for n, p in conf.partitions.items()},
        "warnings": conf.warnings,
    }
