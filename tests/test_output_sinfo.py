"""Golden tests: slurmshim.output.sinfo against a real Slurm 25.11.7 (captures 40-46)."""
from __future__ import annotations

import re
import shlex
from datetime import datetime
from pathlib import Path

import pytest

from slurmshim.model import INFINITE, NodeStatus, Partition
from slurmshim.output import sinfo as out
from slurmshim.output.sinfo import SinfoOptions

REF = Path("/work/shared/reference/real-slurm-25.11")
_HEAD = re.compile(r"(?m)^\$ (.*)\n\[exit (\d+)\]\n--- stdout ---\n")


@pytest.fixture(autouse=True)
def _standard_time_format(monkeypatch):
    """Timestamps in the standard form, whatever the caller's SLURM_TIME_FORMAT."""
    monkeypatch.delenv("SLURM_TIME_FORMAT", raising=False)


def capture(name: str) -> list[tuple[str, int, str, str]]:
    text = (REF / name).read_text()
    heads = list(_HEAD.finditer(text))
    blocks = []
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[m.end():end]
        k = body.index("--- stderr ---\n")
        stdout, stderr = body[:k], body[k + len("--- stderr ---\n"):]
        if i + 1 < len(heads):
            stderr = stderr[:-1]
        blocks.append((m.group(1), int(m.group(2)), stdout, stderr))
    return blocks


def T(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").timestamp()


DEBUG = Partition(name="debug", default=True, max_time=INFINITE, node_names=("node01",),
                  cpus_per_node=2, mem_per_node=24105, def_mem_per_cpu=1024)
LONG = Partition(name="long", max_time=2880, node_names=("node01",), cpus_per_node=2,
                 mem_per_node=24105, def_mem_per_cpu=1024)


def node01(state: str, alloc: int, mem: int, load: float, free: int) -> NodeStatus:
    n = NodeStatus(name="node01", partitions=("debug", "long"), state=state, cpus_total=2,
                   cpus_alloc=alloc, mem_total=24105, mem_alloc=mem, mem_free=free, cpu_load=load,
                   addr="127.0.0.1", hostname="vm")
    n.sockets = 1
    n.cores_per_socket = 2
    return n


SCENES = {
    "40_sinfo_idle.txt": node01("idle", 0, 0, 1.10, 23406),
    "42_sinfo_busy.txt": node01("allocated", 2, 2048, 1.10, 23406),
    "44_sinfo_mix.txt": node01("mixed", 1, 1024, 0.07, 23696),
    "46_empty_queue.txt": node01("idle", 0, 0, 1.10, 23406),
}


def options(args: list[str]) -> SinfoOptions:
    """A tiny parser for the option spellings used in the captures (the CLI has the real one)."""
    o = SinfoOptions()
    it = iter(args)
    for a in it:
        if a == "-s":
            o.summarize = True
        elif a == "-N":
            o.node = True
        elif a == "-l":
            o.long = True
        elif a == "-Nl":
            o.node = o.long = True
        elif a == "-h":
            o.no_header = True
        elif a == "-R":
            o.list_reasons = True
        elif a == "-o":
            o.format = next(it)
        elif a == "-O":
            o.long_format = next(it)
        elif a == "-p":
            o.partitions = next(it).split(",")
        else:
            raise AssertionError(a)
    return o


def cases():
    for name in SCENES:
        for cmd, code, stdout, stderr in capture(name):
            argv = shlex.split(cmd)
            if argv[0] != "sinfo" or "--json" in argv:
                continue
            yield pytest.param(name, argv[1:], code, stdout, stderr, id=f"{name[:2]}:{cmd}")


@pytest.mark.parametrize("name,args,code,stdout,stderr", list(cases()))
def test_sinfo_golden(name, args, code, stdout, stderr):
    opts = options(args)
    now = 0.0
    m = re.match(r"(\w{3} \w{3} \d\d \d\d:\d\d:\d\d \d{4})\n", stdout)
    if m:
        now = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y").timestamp()
    text, err = out.render([DEBUG, LONG], [SCENES[name]], opts, now=now)
    assert (text, err) == (stdout, stderr)
    assert code == 0


def test_cases_were_found():
    assert len(list(cases())) >= 29


@pytest.mark.parametrize("name", ["41_sinfo_json_idle.txt", "43_sinfo_json_busy.txt",
                                  "45_sinfo_json_mix.txt"])
def test_sinfo_json(name):
    cmd, code, stdout, _ = capture(name)[0]
    scene = {"41": SCENES["40_sinfo_idle.txt"], "43": SCENES["42_sinfo_busy.txt"],
             "45": SCENES["44_sinfo_mix.txt"]}[name[:2]]
    text = out.render_json([DEBUG, LONG], [scene], SinfoOptions(), cluster="oracle",
                           user="root", group="root", cluster_def_mem_per_cpu=1024)
    assert text == stdout


def test_cloud_partition_sample():
    """The AWS ParallelCluster sample of slurm-formats.md 8.5: powered-down cloud nodes.  That
    sample (from a mock) pads PARTITION to 13; 25.11 pads to the widest name (+1 for `*`)."""
    parts = [Partition(name="cpu2mem4gb", default=True, max_time=INFINITE,
                       node_names=tuple(f"cpu2mem4gb-dy-c7i-large-{i}" for i in range(1, 101))),
             Partition(name="cpu4mem32gb", max_time=INFINITE,
                       node_names=tuple(f"cpu4mem32gb-dy-r7i-xlarge-{i}" for i in range(1, 101)))]
    nodes = [NodeStatus(name=n, partitions=(p.name,), state="idle", flags="~")
             for p in parts for n in p.node_names]
    text, err = out.render(parts, nodes, SinfoOptions(), now=0)
    assert text == (
        "PARTITION   AVAIL  TIMELIMIT  NODES  STATE NODELIST\n"
        "cpu2mem4gb*    up   infinite    100  idle~ cpu2mem4gb-dy-c7i-large-[1-100]\n"
        "cpu4mem32gb    up   infinite    100  idle~ cpu4mem32gb-dy-r7i-xlarge-[1-100]\n")
    assert err == ""


def mixed_cluster():
    part = Partition(name="batch", default=True, max_time=60, node_names=tuple(
        f"n{i}" for i in range(1, 7)), cpus_per_node=4, mem_per_node=8192)
    states = [("idle", 0, ""), ("allocated", 4, ""), ("mixed", 2, ""), ("down", 0, "*"),
              ("drained", 0, ""), ("idle", 0, "")]
    nodes = []
    for (state, alloc, flags), name in zip(states, part.node_names):
        n = NodeStatus(name=name, partitions=("batch",), state=state, flags=flags, cpus_total=4,
                       cpus_alloc=alloc, mem_total=8192)
        if state in ("down", "drained"):
            n.reason = "maintenance"
            n.reason_uid = 0
            n.reason_user = "root"
            n.reason_time = T("2026-11-22T09:00:00")
        nodes.append(n)
    return part, nodes


def test_grouping_and_state_order():
    part, nodes = mixed_cluster()
    text, _ = out.render([part], nodes, SinfoOptions(), now=0)
    assert text == (
        "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n"
        "batch*       up    1:00:00      1  down* n4\n"
        "batch*       up    1:00:00      1  drain n5\n"
        "batch*       up    1:00:00      1    mix n3\n"
        "batch*       up    1:00:00      1  alloc n2\n"
        "batch*       up    1:00:00      2   idle n[1,6]\n")
    text, _ = out.render([part], nodes, SinfoOptions(summarize=True), now=0)
    assert text.splitlines()[1] == "batch*       up    1:00:00          2/2/2/6 n[1-6]"
    text, _ = out.render([part], nodes, SinfoOptions(format="%C %A"), now=0)
    assert text == "CPUS(A/I/O/T) NODES(A/I)\n6/10/8/24 2/2\n"


def test_reasons():
    part, nodes = mixed_cluster()
    text, _ = out.render([part], nodes, SinfoOptions(list_reasons=True), now=0)
    assert text == ("REASON               USER      TIMESTAMP           NODELIST\n"
                    "maintenance          root      2026-11-22T09:00:00 n[4-5]\n")


def test_state_filter():
    part, nodes = mixed_cluster()
    flt = out.parse_state_filter("idle,alloc")
    text, _ = out.render([part], nodes, SinfoOptions(states=flt, format="%N %t"), now=0)
    # `alloc` matches any node with allocated CPUs (mixed too) and `idle` any node whose base
    # state is idle (a drained node too), as in sinfo; lines sort by state, highest first
    assert text == "NODELIST STATE\nn5 drain\nn3 mix\nn2 alloc\nn[1,6] idle\n"
    with pytest.raises(ValueError):
        out.parse_state_filter("bogus")


def test_bad_format_letter():
    text, err = out.render([DEBUG], [SCENES["40_sinfo_idle.txt"]], SinfoOptions(format="%P %Q"),
                           now=0)
    assert text == "PARTITION %Q\ndebug* %Q\n"
    assert err == "Invalid node format specification: Q\n"
    text, err = out.render([DEBUG], [SCENES["40_sinfo_idle.txt"]],
                           SinfoOptions(long_format="partition,bogus"), now=0)
    assert err == "sinfo: error: Invalid job format specification: bogus\n"


def test_node_states_strings():
    cases = [("idle", "", "idle", "idle", "IDLE"), ("idle", "~", "idle~", "idle~",
                                                    "IDLE+CLOUD+POWERED_DOWN"),
             ("allocated", "#", "alloc#", "allocated#", "ALLOCATED+CLOUD+POWERING_UP"),
             ("down", "*", "down*", "down*", "DOWN+NOT_RESPONDING"),
             ("drained", "", "drain", "drained", "IDLE+DRAIN"),
             ("draining", "", "drng", "draining", "ALLOCATED+DRAIN"),
             ("completing", "", "comp", "completing", "IDLE+COMPLETING"),
             ("idle", "%", "idle%", "idle%", "IDLE+CLOUD+POWERING_DOWN")]
    for state, flags, compact, long, complete in cases:
        code = out.node_state_code(NodeStatus(name="x", partitions=(), state=state, flags=flags))
        assert (out.state_compact(code).lower(), out.state_long(code).lower(),
                out.state_complete(code)) == (compact, long, complete)
