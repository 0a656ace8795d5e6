"""sinfo's command line: options, presets, errors and exit codes (captures 00, 40-46), against an
in-memory controller and end to end through `python -m slurmshim.cli.sinfo`."""
from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from slurmshim.cli import sinfo as cli
from slurmshim.errors import SlurmError
from slurmshim.model import INFINITE, NodeStatus, Partition

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


DEBUG = Partition(name="debug", default=True, max_time=INFINITE, node_names=("node01",),
                  cpus_per_node=2, mem_per_node=24105)
LONG = Partition(name="long", max_time=2880, node_names=("node01",), cpus_per_node=2,
                 mem_per_node=24105)


def node01(state, alloc, mem, load, free):
    n = NodeStatus(name="node01", partitions=("debug", "long"), state=state, cpus_total=2,
                   cpus_alloc=alloc, mem_total=24105, mem_alloc=mem, mem_free=free, cpu_load=load)
    n.sockets = 1
    n.cores_per_socket = 2
    return n


SCENES = {"40": node01("idle", 0, 0, 1.10, 23406), "42": node01("allocated", 2, 2048, 1.10, 23406),
          "44": node01("mixed", 1, 1024, 0.07, 23696), "46": node01("idle", 0, 0, 1.10, 23406)}


class FakeController:
    def __init__(self, node):
        self.config = SimpleNamespace(partitions={"debug": DEBUG, "long": LONG},
                                      default_partition="debug", cluster_name="oracle")
        self.node = node

    def node_statuses(self):
        return [self.node]


def run(args, scene="40", now=None, env=None):
    out, err = io.StringIO(), io.StringIO()
    old = dict(os.environ)
    try:
        for k in ("SINFO_ALL", "SINFO_PARTITION", "SINFO_SORT", "SINFO_FORMAT"):
            os.environ.pop(k, None)
        os.environ.update(env or {})
        try:
            code = cli.run(args, out=out, err=err, now=now, ctl=FakeController(SCENES[scene]))
        except SlurmError as exc:
            err.write(exc.render("sinfo"))
            code = exc.exit_code
    finally:
        os.environ.clear()
        os.environ.update(old)
    return code, out.getvalue(), err.getvalue()


def golden():
    for name in ("40_sinfo_idle.txt", "42_sinfo_busy.txt", "44_sinfo_mix.txt",
                 "46_empty_queue.txt"):
        for cmd, code, stdout, stderr in capture(name):
            argv = shlex.split(cmd)
            if argv[0] != "sinfo":
                continue
            yield pytest.param(name[:2], argv[1:], code, stdout, stderr, id=f"{name[:2]}:{cmd}")


@pytest.mark.parametrize("scene,args,code,stdout,stderr", list(golden()))
def test_golden(scene, args, code, stdout, stderr):
    m = re.match(r"(\w{3} \w{3} \d\d \d\d:\d\d:\d\d \d{4})\n", stdout)
    now = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y").timestamp() if m else None
    assert run(args, scene, now) == (code, stdout, stderr)


def test_version_00():
    for cmd, code, stdout, stderr in capture("00_version.txt"):
        if cmd.startswith("sinfo"):
            assert run(shlex.split(cmd)[1:]) == (code, stdout, stderr)
    assert run(["--version"]) == (0, "slurm 25.11.7\n", "")


@pytest.mark.parametrize("scene,name", [("40", "41_sinfo_json_idle.txt"),
                                        ("42", "43_sinfo_json_busy.txt"),
                                        ("44", "45_sinfo_json_mix.txt")])
def test_json(scene, name, monkeypatch):
    import slurmshim.controller as controller
    monkeypatch.setattr(controller, "current_user", lambda: ("root", 0, "root", 0))
    _cmd, code, stdout, _ = capture(name)[0]
    got_code, out, err = run(["--json"], scene)
    # the oracle's DefMemPerCPU was cluster-wide; ours lives on the partition (none here)
    assert (got_code, err) == (code, "")
    assert json.loads(out) == json.loads(stdout)
    assert out == stdout


def test_errors_and_exit_codes():
    code, out, err = run(["--bogus"])
    assert (code, out) == (1, "")
    assert err == "sinfo: unrecognized option '--bogus'\nTry \"sinfo --help\" for more information\n"
    code, out, err = run(["-t", "bogus"])
    assert code == 1 and err.startswith('sinfo: error: Bad state string: "bogus"\n'
                                        "sinfo: error: valid states: unknown,down,idle,")
    code, out, err = run(["-l", "-o", "%P"])
    assert (code, err) == (1, "sinfo: fatal: Options -o(--format) and -l(--long) are mutually "
                              "exclusive. Please remove one and retry.\n")
    code, out, err = run(["-a", "-p", "debug"])
    assert (code, err) == (1, "sinfo: error: Conflicting options, -a and -p, specified. "
                              "Please choose one or the other.\n")
    code, out, err = run(["-i", "0"])
    assert (code, err) == (1, "sinfo: error: Error: invalid entry for --iterate=0\n")
    code, out, err = run(["-o", "%P %Q"])
    assert (code, out, err) == (0, "PARTITION %Q\ndebug* %Q\nlong %Q\n",
                                "Invalid node format specification: Q\n")


def test_filters_and_formats():
    assert run(["-t", "alloc", "-h"], "44")[1] == ("debug*       up   infinite      1    mix node01\n"
                                                   "long         up 2-00:00:00      1    mix node01\n")
    # every partition keeps a line even when the filter leaves it no node (sinfo.c)
    empty = ("debug*       up   infinite      0    n/a \n"
             "long         up 2-00:00:00      0    n/a \n")
    assert run(["-t", "idle", "-h"], "44")[1] == empty
    assert run(["-n", "node02", "-h"])[1] == empty
    assert run(["-N", "-n", "node02", "-h"])[1] == ""
    assert run(["-p", "long,debug", "-o", "%R"])[1] == "PARTITION\ndebug\nlong\n"
    assert run(["-O", "partition:.12,nodes"])[1] == (
        "   PARTITIONNODES               \n      debug*1                   \n"
        "        long1                   \n")
    assert run(["-T"])[1] == "No reservations in the system\n"
    assert run(["--helpstate"])[1].splitlines()[:3] == ["unknown", "down", "idle"]
    assert run(["--helpformat"])[1].startswith("%S    %a    %V    %Y    %c    %O    %C    %L    \n")
    assert run(["--usage"])[1].startswith("Usage: sinfo [-abdelNRrsTv]")


def test_environment():
    assert run([], env={"SINFO_PARTITION": "long"})[1] == (
        "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n"
        "long         up 2-00:00:00      1   idle node01\n")
    assert run([], env={"SINFO_FORMAT": "%P %t"})[1] == "PARTITION STATE\ndebug* idle\nlong idle\n"
    code, _, err = run([], env={"SINFO_ALL": "1", "SINFO_PARTITION": "long"})
    assert code == 1 and "Conflicting options, SINFO_ALL and SINFO_PARTITION" in err


# ------------------------------------------------------------------- end to end

def test_end_to_end(tmp_path):
    conf = tmp_path / "slurmshim.toml"
    conf.write_text(textwrap.dedent("""\
        cluster_name = "shimtest"
        [partitions.debug]
        default = true
        cpus = 2
        memory = 4096
        [partitions.gpu]
        cpus = 8
        memory = 65536
        nodes = 3
        node_prefix = "g"
        max_time = 120
        """))
    env = dict(os.environ)
    env.update(SLURMSHIM_STATE_DIR=str(tmp_path / "state"), SLURMSHIM_CONF=str(conf),
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))

    def sh(*args):
        p = subprocess.run([sys.executable, "-m", "slurmshim.cli.sinfo", *args], env=env,
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    code, out, err = sh()
    assert (code, err) == (0, "")
    assert out == ("PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n"
                   "debug*       up   infinite      1   idle node01\n"
                   "gpu          up    2:00:00      3   idle g[01-03]\n")
    assert sh("-V") == (0, "slurm 25.11.7\n", "")
    assert sh("-p", "nosuchpart") == (0, "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n", "")
    code, out, err = sh("--json")
    assert code == 0 and json.loads(out)["meta"]["slurm"]["cluster"] == "shimtest"
