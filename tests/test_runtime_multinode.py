"""srun across the nodes of a multi-node job: the agent protocol (runtime/agent.py) piece by
piece, the main node's runtime with a late or missing node, and whole jobs on a local 3-node
partition through the real commands (tasks really run under their node's runtime, labels, exit
codes and error lines naming the node, signals, cancel, a node dying mid-step, sacct)."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from slurm_cluster import Cluster
from slurmshim.runtime import agent as A
from slurmshim.runtime.descriptor import normalize, placement_environ
from slurmshim.runtime.srun import label_lines

REPO = Path(__file__).resolve().parents[1]
THREE_NODES = '[partitions.local]\nbackend = "local"\nnodes = 3\ndefault = true\n'
DONE = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"}


@pytest.fixture(autouse=True)
def real_hosts_file_untouched():
    """Nothing here may write the machine's /etc/hosts (tests run as root, often in a
    container): hosts files are temporary ones, named by SLURMSHIM_HOSTS_FILE."""
    def digest():
        try:
            return Path("/etc/hosts").read_bytes()
        except OSError:
            return None
    before = digest()
    yield
    assert digest() == before, "a test changed /etc/hosts"


def wait_for(pred, timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def alive(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid, "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


# -------------------------------------------------------------------- pure pieces

def test_label_lines():
    assert label_lines(b"1: ", b"a\nb\nrest") == (b"1: a\n1: b\n", b"rest")
    assert label_lines(b"1: ", b"no newline") == (b"", b"no newline")
    assert label_lines(b"10: ", b"x\n") == (b"10: x\n", b"")


def test_tokens():
    desc = normalize({"job_id": 7, "nodes": 2})
    assert A.main_token(dict(desc, agent_token="s3cret"), publishes=True) == "s3cret"
    # every node derives the same token from the same descriptor; another job's differs
    assert A.main_token(desc, publishes=False) == A.descriptor_token(normalize(
        {"job_id": 7, "nodes": 2}))
    assert A.descriptor_token(desc) != A.descriptor_token(normalize({"job_id": 8, "nodes": 2}))
    r1, r2 = A.main_token(desc, publishes=True), A.main_token(desc, publishes=True)
    assert r1 != r2 and len(r1) == 32
    assert A.token_ok("abc", "abc") and not A.token_ok("abd", "abc")
    assert not A.token_ok(None, "abc") and not A.token_ok(123, "abc")


def test_find_main_batch_and_local(tmp_path):
    desc = normalize({"job_id": 7, "nodes": 2, "agent_port": 6817})
    # AWS Batch: the main node's address from AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS
    assert A._find_main(desc, {"main_node_addr": "10.0.0.5"}, None) == \
        ("10.0.0.5", 6817, A.descriptor_token(desc))
    assert A._find_main(dict(desc, agent_token="t"), {"main_node_addr": "10.0.0.5"}, None)[2] \
        == "t"
    # local: port and token from <stage>/<id>/agent.json, once the main node wrote it
    local = normalize({"job_id": 7, "nodes": 2})
    assert A._find_main(local, {"main_node_addr": "127.0.0.1"}, str(tmp_path)) is None
    A.write_private_json(str(tmp_path / "agent.json"), {"host": "127.0.0.1", "port": 4242,
                                                       "token": "tok"})
    assert stat.S_IMODE(os.stat(tmp_path / "agent.json").st_mode) == 0o600
    assert A._find_main(local, {"main_node_addr": "127.0.0.1"}, str(tmp_path)) == \
        ("127.0.0.1", 4242, "tok")


# -------------------------------------------------------------------- the protocol

def job_desc(tmp_path: Path, **kw) -> dict:
    d = {"version": 1, "job_id": 53, "name": "mn", "partition": "debug", "user": "alice",
         "cluster_name": "oracle", "submit_dir": str(tmp_path), "work_dir": str(tmp_path),
         "script": "#!/bin/sh\n", "nodes": 3, "node_names": ["node01", "node02", "node03"],
         "cpus_per_node": [1, 1, 1], "stage": str(tmp_path / "stage"), "kill_wait": 3,
         "environment": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                         "HOME": str(tmp_path)}}
    d.update(kw)
    return d


def runtime_env(tmp_path: Path, desc: dict, extra: dict) -> dict:
    path = tmp_path / ("desc-%d.json" % len(list(tmp_path.glob("desc-*.json"))))
    path.write_text(json.dumps(desc))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO),
           "HOME": str(tmp_path), "SLURMSHIM_JOB_FILE": str(path)}
    env.update(extra)
    return env


def start_node(tmp_path: Path, desc: dict, index: int, **env) -> subprocess.Popen:
    """A real non-main node: `python -m slurmshim.runtime.job` with node index `index`."""
    extra = placement_environ(node_index=index, num_nodes=len(desc["node_names"]),
                              main_node_addr="127.0.0.1")
    extra.update(env)
    return subprocess.Popen([sys.executable, "-m", "slurmshim.runtime.job"],
                            env=runtime_env(tmp_path, desc, extra), cwd=str(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


class Collector:
    """Messages a StepClient hands over, with a way to wait for one."""

    def __init__(self):
        self.msgs = []
        self.cond = threading.Condition()

    def __call__(self, msg):
        with self.cond:
            self.msgs.append(msg)
            self.cond.notify_all()

    def wait(self, pred, timeout=15.0):
        end = time.time() + timeout
        with self.cond:
            while not any(pred(m) for m in self.msgs):
                left = end - time.time()
                if left <= 0:
                    raise AssertionError("no such message; got %r" % self.msgs)
                self.cond.wait(left)
            return next(m for m in self.msgs if pred(m))

    def output(self, rank, fd=1):
        return b"".join(A.decode_data(m["data"]) for m in list(self.msgs)
                        if m.get("op") == "io" and m["rank"] == rank and m["fd"] == fd)


@pytest.fixture
def mesh(tmp_path):
    """The main node's server (in this process) and node02's real runtime joined to it."""
    desc = job_desc(tmp_path)
    job_dir = tmp_path / "stage" / "53"
    job_dir.mkdir(parents=True)
    server = A.AgentServer({"job_id": 53, "start_time": time.time()}, job_dir=str(job_dir))
    node = start_node(tmp_path, desc, 1, NODE_MARK="i-am-node02")
    try:
        assert wait_for(lambda: 1 in server.nodes), node.stderr.read() if node.poll() else ""
        yield server, node
    finally:
        server.finish(0)
        try:
            node.wait(timeout=10)
        except subprocess.TimeoutExpired:
            node.kill()


def task(rank, *argv, **kw):
    spec = {"rank": rank, "argv": list(argv), "env": {"SLURM_PROCID": str(rank)},
            "out": True, "err": True, "input": None}
    spec.update(kw)
    return spec


def start_step(server, plan, step="0", timeout=5.0):
    got = Collector()
    client = A.StepClient(server.address(), got)
    client.start(step, plan, timeout)
    assert client.replied.wait(timeout + 5)
    return client, got


def test_server_refuses_a_wrong_token(tmp_path):
    server = A.AgentServer({"job_id": 53}, job_dir=str(tmp_path))
    try:
        for first in ({"op": "hello", "token": "guess", "node": 1, "name": "evil"},
                      {"op": "step", "token": "guess", "step": "0",
                       "nodes": {"1": {"tasks": [task(1, "touch", str(tmp_path / "pwned"))]}}},
                      {"op": "hello", "node": 1}):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            A._send(sock, first)
            lines = A._Lines(sock)
            assert lines.next() == {"op": "error", "message": "authentication failed"}
            assert lines.next() is None          # and the connection is closed
            sock.close()
        assert server.nodes == {}
        assert not (tmp_path / "pwned").exists()
        # the token is in agent.json, readable by the job's owner only
        data = json.loads((tmp_path / "agent.json").read_text())
        assert data["port"] == server.port and data["token"] == server.token
        assert stat.S_IMODE(os.stat(tmp_path / "agent.json").st_mode) == 0o600
    finally:
        server.finish(0)


def test_step_output_and_exit_come_back(mesh):
    server, node = mesh
    cmd = 'echo out $SLURM_PROCID $NODE_MARK; echo err >&2; printf tail; exit 3'
    client, got = start_step(server, {1: {"env": {"PATH": os.environ["PATH"]}, "cwd": "/",
                                          "tasks": [task(1, "sh", "-c", cmd),
                                                    task(2, "sh", "-c", "pwd", err=False)]}})
    assert client.reply == {"op": "started"}
    ex1 = got.wait(lambda m: m.get("op") == "task_exit" and m["rank"] == 1)
    ex2 = got.wait(lambda m: m.get("op") == "task_exit" and m["rank"] == 2)
    assert os.WEXITSTATUS(ex1["status"]) == 3 and ex2["status"] == 0
    assert ex1["node"] == 1 and ex1["step"] == "0"
    # the node's own variables (NODE_MARK stands for AWS_BATCH_*) do not leak, srun's do come
    assert got.output(1) == b"out 1\ntail" and got.output(1, 2) == b"err\n"
    assert got.output(2) == b"/\n"
    # output arrives before the exit
    ops = [(m["op"], m["rank"]) for m in got.msgs if m.get("rank") == 1]
    assert ops[-1] == ("task_exit", 1)
    client.close()


def test_bad_command_and_stdin_file(mesh, tmp_path):
    server, node = mesh
    (tmp_path / "in.txt").write_text("from a file\n")
    client, got = start_step(server, {1: {"env": {"PATH": "/usr/bin:/bin"}, "tasks": [
        task(1, "no-such-program-xyz"), task(2, "cat", input=str(tmp_path / "in.txt")),
        task(3, "cat", input=str(tmp_path / "missing.txt"))]}})
    statuses = {r: got.wait(lambda m, r=r: m.get("op") == "task_exit" and m["rank"] == r)
                ["status"] for r in (1, 2, 3)}
    assert os.WEXITSTATUS(statuses[1]) == 2            # ENOENT, as slurmstepd reports it
    assert b"execve(): no-such-program-xyz: No such file or directory" in got.output(1, 2)
    assert got.output(2) == b"from a file\n" and statuses[2] == 0
    assert os.WEXITSTATUS(statuses[3]) == 1
    assert b"Could not open stdin file" in got.output(3, 2)
    client.close()


def test_signals_reach_the_tasks_and_srun_gone_kills_them(mesh, tmp_path):
    server, node = mesh
    client, got = start_step(server, {1: {"tasks": [
        task(1, "sh", "-c", "echo $$ > %s/t1; exec sleep 60" % tmp_path)]}})
    assert wait_for(lambda: (tmp_path / "t1").exists() and (tmp_path / "t1").read_text())
    client.signal(signal.SIGUSR1)
    ex = got.wait(lambda m: m.get("op") == "task_exit")
    assert os.WIFSIGNALED(ex["status"]) and os.WTERMSIG(ex["status"]) == signal.SIGUSR1
    client.close()
    # srun going away ends what is left of its step
    client, got = start_step(server, {1: {"tasks": [
        task(1, "sh", "-c", "echo $$ > %s/t2; exec sleep 60" % tmp_path)]}}, step="1")
    assert wait_for(lambda: (tmp_path / "t2").exists() and (tmp_path / "t2").read_text())
    pid = int((tmp_path / "t2").read_text())
    client.close()
    assert wait_for(lambda: not alive(pid), 10)


def test_task_ancestry_is_the_node_runtime(mesh, tmp_path):
    server, node = mesh
    client, got = start_step(server, {1: {"tasks": [task(1, "sh", "-c", "echo $PPID")]}})
    got.wait(lambda m: m.get("op") == "task_exit")
    assert int(got.output(1)) == node.pid
    client.close()


def test_waiting_for_a_node_that_never_joins(mesh):
    server, node = mesh
    began = time.time()
    client, got = start_step(server, {1: {"tasks": [task(1, "true")]},
                                      2: {"tasks": [task(2, "true")]}}, timeout=1.0)
    assert 0.9 <= time.time() - began < 5
    assert client.reply["op"] == "error" and client.reply["missing"] == [2]
    assert client.reply["gone"] == []
    client.close()


def test_node_lost_mid_step_and_then_gone(mesh, tmp_path):
    server, node = mesh
    client, got = start_step(server, {1: {"tasks": [task(1, "sleep", "3")]}})
    time.sleep(0.3)
    os.killpg(node.pid, signal.SIGKILL)          # the whole node goes away
    assert got.wait(lambda m: m.get("op") == "lost") == {"op": "lost", "node": 1}
    client.close()
    # a new step on it fails at once: the node left the job
    began = time.time()
    client, got = start_step(server, {1: {"tasks": [task(1, "true")]}}, step="1", timeout=30)
    assert time.time() - began < 5
    assert client.reply["op"] == "error" and client.reply["gone"] == [1]
    client.close()


def test_node_agent_stopped_by_a_signal_says_it_is_leaving(mesh):
    """SIGTERM (what Batch sends every node of a job it terminates): the agent tells the main
    node before it goes, which does not count it failed at once (agent.LEAVE_GRACE)."""
    server, node = mesh
    os.kill(node.pid, signal.SIGTERM)
    assert node.wait(timeout=30) == 0
    assert wait_for(lambda: "left" in server.nodes[1])
    leaving = server.nodes[1]["leaving"]
    assert server.take_failures(leaving + A.LEAVE_GRACE - 0.01) == {}
    assert server.take_failures(leaving + A.LEAVE_GRACE) == {1: "lost"}


def test_job_end_stops_the_node_and_its_tasks(mesh, tmp_path):
    server, node = mesh
    client, got = start_step(server, {1: {"tasks": [
        task(1, "sh", "-c", "echo $$ > %s/t; exec sleep 60" % tmp_path)]}})
    assert wait_for(lambda: (tmp_path / "t").exists() and (tmp_path / "t").read_text())
    pid = int((tmp_path / "t").read_text())
    server.finish(0)
    assert node.wait(timeout=10) == 0
    assert wait_for(lambda: not alive(pid), 5)
    client.close()


# -------------------------------------------------------------------- the main node's runtime

def run_main(tmp_path, script, late_node=None, wait="3", nodes=2, start=(), env=None,
             main_env=None, **desc_kw):
    """The main node's runtime of a local-mode job (stage, agent_port 0); `start`: the other
    nodes started first (they join as soon as the main node's server is up, however loaded
    the machine), `late_node`: start them all once srun says it waits for them.
    `wait`: SLURMSHIM_SRUN_NODE_WAIT (None: unset), `env`: more of the job's environment,
    `main_env`: of the main node's own.  Returns (exit status, the job's output)."""
    names = ["node%02d" % (i + 1) for i in range(nodes)]
    desc = job_desc(tmp_path, script=script, nodes=nodes, node_names=names,
                    cpus_per_node=[1] * nodes, **desc_kw)
    if wait is not None:
        desc["environment"]["SLURMSHIM_SRUN_NODE_WAIT"] = wait
    desc["environment"].update(env or {})
    others = [start_node(tmp_path, desc, i) for i in start]
    placement = placement_environ(node_index=0, num_nodes=nodes)
    placement.update(main_env or {})
    main = subprocess.Popen([sys.executable, "-m", "slurmshim.runtime.job"],
                            env=runtime_env(tmp_path, desc, placement),
                            cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    out = tmp_path / "slurm-53.out"
    if late_node:   # the other nodes start once srun says it waits for them
        assert wait_for(lambda: out.exists() and "retrying" in out.read_text(), 30)
        others = [start_node(tmp_path, desc, i) for i in range(1, nodes)]
    try:
        rc = main.wait(timeout=60)
    finally:
        for p in others:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if main.poll() is None:
            os.killpg(main.pid, signal.SIGKILL)
    return rc, (tmp_path / "slurm-53.out").read_text()


def job_status(tmp_path) -> dict:
    return json.loads((tmp_path / "stage" / "53" / "status.json").read_text())


def test_srun_fails_clearly_when_a_node_never_joins(tmp_path):
    rc, out = run_main(tmp_path, "#!/bin/bash\nsrun -N2 -l hostname; echo rc=$?\n"
                                 "srun -N1 -l echo only main\n")
    assert rc == 0
    assert out.splitlines() == [
        "srun: Job 53 step creation temporarily disabled, retrying (waiting for node02 to "
        "join)",
        "srun: error: Unable to create step for job 53: node02 not responding: no node agent "
        "joined within 3 seconds",
        "rc=1",
        "0: only main"]
    steps = sorted(p.name for p in (tmp_path / "stage/53/steps").glob("step-*.json"))
    assert steps == ["step-1.json", "step-batch.json"]     # the failed step left no record


def test_srun_waits_for_a_late_node(tmp_path):
    rc, out = run_main(tmp_path, "#!/bin/bash\nsrun -N2 -l bash -c 'echo $SLURMD_NODENAME'\n",
                       late_node=True, wait="30")
    assert rc == 0, out
    lines = out.splitlines()
    assert lines[0] == ("srun: Job 53 step creation temporarily disabled, retrying (waiting "
                        "for node02 to join)")
    assert lines[1] == "srun: Step created for StepId=53.0"
    assert sorted(lines[2:]) == ["0: node01", "1: node02"]


# srun says so when a node takes more than two seconds to join: not part of what is compared
_WAITING = re.compile(r"srun: (Job \d+ step creation temporarily disabled, retrying \(waiting "
                      r"for \S+ to join\)|Step created for StepId=\d+\.\d+)$")
STAMP = r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\]"
FOREVER = "until [ -e never ]; do sleep 0.1; done\n"   # only the runtime ends such a job


def node_fail_lines(lines, job, node, why):
    """The runtime's two lines when it ends a job for a failed node: which node stopped
    responding, then Slurm's banner.  Returns the other lines."""
    said = [i for i, line in enumerate(lines) if re.fullmatch(
        STAMP + " error: Nodes %s not responding: %s" % (node, re.escape(why)), line)]
    banner = [i for i, line in enumerate(lines) if re.fullmatch(
        STAMP + r" error: \*\*\* JOB %d ON node01 CANCELLED AT \S+ DUE TO NODE FAILURE, SEE "
        r"SLURMCTLD LOG FOR DETAILS \*\*\*" % job, line)]
    assert len(said) == 1 and len(banner) == 1 and said[0] < banner[0], lines
    return [line for i, line in enumerate(lines) if i not in (said[0], banner[0])]


JOIN_3S = "no node agent joined within 3 seconds of the job's start (SLURMSHIM_NODE_JOIN_TIMEOUT)"
LOST = "its node agent's connection to the main node was lost"


def test_a_node_that_never_joins_ends_the_job_node_fail(tmp_path):
    """The job's join timeout ($SLURMSHIM_NODE_JOIN_TIMEOUT, here 3 s): srun, which waits for
    node03 no longer than that, fails naming it; the runtime says which node did not respond
    and ends the job NODE_FAIL as Slurm ends a job whose node is down: banner, script stopped,
    non-zero exit status."""
    began = time.time()
    # (the main node's own variable: node02's agent keeps its default time to reach it)
    rc, out = run_main(tmp_path, "#!/bin/bash\nsrun -N3 -l hostname\necho rc=$?\n" + FOREVER,
                       nodes=3, start=[1], wait=None,
                       main_env={"SLURMSHIM_NODE_JOIN_TIMEOUT": "3"})
    assert 2.5 <= time.time() - began < 40
    assert rc == 128 + signal.SIGTERM
    lines = node_fail_lines([line for line in out.splitlines() if not _WAITING.match(line)],
                            53, "node03", JOIN_3S)
    # (the script may echo srun's status before the runtime stops it)
    assert lines in (["srun: error: Unable to create step for job 53: node03 not responding: "
                      + JOIN_3S], ["srun: error: Unable to create step for job 53: node03 not "
                                   "responding: " + JOIN_3S, "rc=1"]), lines
    status = job_status(tmp_path)
    assert status["state"] == "NODE_FAIL" and status["reason"] == "NODE_FAIL"
    assert status["failed_nodes"] == {"node03": "join"}
    assert sorted(status["nodes_joined"]) == ["1"]


def test_no_kill_keeps_the_job_running_on_the_nodes_it_has(tmp_path):
    """--no-kill (descriptor no_kill): a node that never joins, and one lost mid-step, fail
    the steps that need them -- srun's errors name them, Slurm's "Node failure on" for the
    lost one -- and the job runs on with the nodes it has."""
    script = """#!/bin/bash
srun -N3 true; echo rc=$?
srun -N2 -l bash -c 'if [ $SLURM_NODEID = 1 ]; then kill -9 $PPID; exit; fi
echo on $SLURMD_NODENAME'
echo rc=$?
srun -N2 true; echo rc=$?
srun -N1 -l echo still here
"""
    rc, out = run_main(tmp_path, script, nodes=3, start=[1], wait=None, no_kill=True,
                       main_env={"SLURMSHIM_NODE_JOIN_TIMEOUT": "3"})
    assert rc == 0, out
    lines = [line for line in out.splitlines() if not _WAITING.match(line)]
    stamped = sorted(re.sub(STAMP + " ", "", line) for line in lines if re.match(STAMP, line))
    rest = [line for line in lines if not re.match(STAMP, line)]
    assert stamped == ["error: Nodes node02 not responding: " + LOST,
                       "error: Nodes node03 not responding: " + JOIN_3S]
    assert rest[:2] == ["srun: error: Unable to create step for job 53: node03 not responding: "
                        + JOIN_3S, "rc=1"]
    # (the task on node01 and srun's word about node02 come in either order)
    assert sorted(rest[2:4]) == ["0: on node01", "srun: error: Node failure on node02"]
    assert rest[4:] == [
        "srun: error: node02: task 1: Exited with exit code 1",
        "rc=1",
        "srun: error: Unable to create step for job 53: Node failure on node02",
        "rc=1",
        "0: still here"]
    status = job_status(tmp_path)
    assert status["state"] == "COMPLETED"
    assert status["failed_nodes"] == {"node02": "lost", "node03": "join"}


# -------------------------------------------------------------------- whole jobs, local backend

CHAIN = r"""#!/bin/bash
# the pids from this process up to init
p=$$; chain=""
while [ "$p" -gt 1 ]; do
  chain="$chain $p"
  p=$(sed 's/.*) //' /proc/$p/stat | cut -d' ' -f2)
done
echo "chain:$chain"
"""


@pytest.fixture
def cluster(tmp_path):
    return Cluster(tmp_path, config=THREE_NODES)


def finished(cluster, job, timeout=60):
    return cluster.wait_state(str(job), DONE, timeout=timeout)


def test_three_node_step_runs_on_every_node(cluster, tmp_path):
    # the local backend never touches a hosts file (its node names are this machine's), even
    # when told where one is and running in what looks like an ECS container
    hosts = tmp_path / "hosts"
    cluster.env.update(SLURMSHIM_HOSTS_FILE=str(hosts),
                       ECS_CONTAINER_METADATA_URI_V4="http://169.254.170.2/v4/x")
    cluster.script("chain.sh", CHAIN)
    cluster.script("job.sh", """#!/bin/bash
srun -l bash -c 'echo $SLURMD_NODENAME $SLURM_PROCID $SLURM_NODEID $$; ./chain.sh'
srun bash -c 'exit $(( SLURM_PROCID == 1 ? 3 : 0 ))'; echo rc=$?
srun -l -n 6 --overcommit bash -c 'echo $SLURMD_NODENAME/$SLURM_LOCALID; printf "no newline"'
""")
    job = cluster.submit("-N3", "job.sh")
    assert finished(cluster, job) == "COMPLETED"
    out = cluster.read("slurm-%d.out" % job).splitlines()
    pids = json.loads((cluster.state / "spool" / str(job) / "pids.json").read_text())
    nodes = pids["nodes"]
    assert len(nodes) == 3
    first = [line for line in out if re.match(r"\d: node\d+ ", line)]
    chains = {int(line.split(":")[0]): [int(p) for p in line.split("chain:")[1].split()]
              for line in out if "chain:" in line}
    assert len(first) == 3 and sorted(chains) == [0, 1, 2]
    for line in first:
        label, name, procid, nodeid, pid = re.match(r"(\d): (\S+) (\d) (\d) (\d+)$",
                                                    line).groups()
        rank = int(label)
        assert (name, int(procid), int(nodeid)) == ("node%02d" % (rank + 1), rank, rank)
        # the task ran under its own node's runtime, and no other
        assert int(pid) in chains[rank]
        assert nodes[rank] in chains[rank]
        assert [n for n in nodes if n in chains[rank]] == [nodes[rank]]
    assert "srun: error: node02: task 1: Exited with exit code 3" in out
    assert "rc=3" in out
    six = sorted(line for line in out if "/" in line and line[0].isdigit())
    assert six == ["0: node01/0", "1: node01/1", "2: node02/0", "3: node02/1",
                   "4: node03/0", "5: node03/1"]
    assert sorted(line for line in out if line.endswith("no newline")) == \
        ["%d: no newline" % r for r in range(6)]
    assert not [line for line in out if "warning" in line]
    res = cluster.run("sacct", "-j", str(job), "-n", "-P", "-o",
                      "JobID,State,ExitCode,NTasks,NNodes,NodeList")
    rows = {r.split("|")[0]: r.split("|")[1:] for r in res.stdout.splitlines()}
    assert rows["%d.0" % job] == ["COMPLETED", "0:0", "3", "3", "node[01-03]"]
    assert rows["%d.1" % job] == ["FAILED", "3:0", "3", "3", "node[01-03]"]
    assert rows["%d.2" % job] == ["COMPLETED", "0:0", "6", "3", "node[01-03]"]
    assert not hosts.exists()


def test_node_dying_mid_step_ends_the_job_node_fail(cluster):
    """A node's runtime dies mid-step (here: its task kills it): srun says "Node failure on
    node02" as Slurm's does and fails the node's tasks; the job ends NODE_FAIL (only the
    runtime's stop can end this script), its error stream saying which node stopped
    responding, then Slurm's banner."""
    cluster.script("job.sh", """#!/bin/bash
srun -l bash -c 'if [ $SLURM_NODEID = 1 ]; then kill -9 $PPID; sleep 2; fi; echo done'
echo rc=$?
""" + FOREVER)
    job = cluster.submit("-N3", "job.sh")
    assert finished(cluster, job) == "NODE_FAIL"
    out = node_fail_lines(cluster.read("slurm-%d.out" % job).splitlines(), job, "node02", LOST)
    assert "srun: error: Node failure on node02" in out
    assert "srun: error: node02: task 1: Exited with exit code 1" in out
    res = cluster.run("sacct", "-j", str(job), "-X", "-n", "-P", "-o", "State,NodeList")
    assert res.stdout.split("\n")[0] == "NODE_FAIL|node[01-03]"


def test_signal_reaches_tasks_on_every_node(cluster):
    cluster.script("job.sh", """#!/bin/bash
srun -l bash -c 'trap "echo usr1 on \\$SLURMD_NODENAME; kill \\$!; exit 0" USR1
touch ready.$SLURM_PROCID; sleep 30 & wait'
echo rc=$?
""")
    job = cluster.submit("-N3", "job.sh")
    work = cluster.work
    assert wait_for(lambda: all((work / ("ready.%d" % r)).exists() for r in range(3)), 30)
    res = cluster.run("scancel", "-s", "USR1", str(job))
    assert res.returncode == 0, res.stderr
    assert finished(cluster, job) == "COMPLETED"
    out = cluster.read("slurm-%d.out" % job).splitlines()
    assert sorted(line for line in out if "usr1" in line) == \
        ["0: usr1 on node01", "1: usr1 on node02", "2: usr1 on node03"]
    assert out[-1] == "rc=0"


def test_cancel_kills_tasks_on_every_node(cluster):
    cluster.script("job.sh", """#!/bin/bash
srun -l bash -c 'echo $$ > pid.$SLURM_PROCID; exec sleep 60'
""")
    job = cluster.submit("-N3", "job.sh")
    work = cluster.work
    assert wait_for(lambda: all((work / ("pid.%d" % r)).exists() and
                                (work / ("pid.%d" % r)).read_text() for r in range(3)), 30)
    pids = [int((work / ("pid.%d" % r)).read_text()) for r in range(3)]
    assert all(alive(p) for p in pids)
    assert cluster.run("scancel", str(job)).returncode == 0
    assert finished(cluster, job).startswith("CANCELLED")
    assert wait_for(lambda: not any(alive(p) for p in pids), 10), \
        [p for p in pids if alive(p)]
    res = cluster.run("sacct", "-j", "%d.0" % job, "-n", "-P", "-o", "State,NNodes,NodeList")
    assert res.stdout.split("\n")[0].split("|")[1:] == ["3", "node[01-03]"]


def test_single_node_job_keeps_the_fast_path(cluster):
    cluster.script("job.sh", "#!/bin/bash\nsrun -n 2 -l --overcommit bash -c "
                             "'echo $SLURMD_NODENAME'\n"
                             "ls $SLURMSHIM_STEP_DIR\n")
    job = cluster.submit("job.sh")
    assert finished(cluster, job) == "COMPLETED"
    out = cluster.read("slurm-%d.out" % job).splitlines()
    assert sorted(out[:2]) == ["0: node01", "1: node01"]
    assert "agent.json" not in out                  # no agent server for one node
    assert not (cluster.state / "spool" / str(job) / "agent.json").exists()


# -------------------------------------------------------------------- the job's token

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_batch_like_main_node_refuses_a_node_with_another_token(tmp_path):
    """As on AWS Batch: no stage directory, a fixed agent port, the main node's address from
    AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS, and the random token of the job's descriptor
    (backends/descriptor.py).  A node agent that presents another token is refused and gives
    up; the job's real node joins and runs its task."""
    from slurmshim.backends.descriptor import new_agent_token
    token = new_agent_token()
    port = free_port()
    desc = job_desc(tmp_path, nodes=2, node_names=["node01", "node02"], cpus_per_node=[1, 1],
                    stage=None, agent_port=port, agent_token=token, agent_timeout=60,
                    script="#!/bin/bash\nuntil [ -e go ]; do sleep 0.05; done\n"
                           "srun -N2 -l bash -c 'echo $SLURMD_NODENAME'\n")
    main = subprocess.Popen([sys.executable, "-m", "slurmshim.runtime.job"],
                            env=runtime_env(tmp_path, desc, placement_environ(
                                node_index=0, num_nodes=2)),
                            cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    real = None
    try:
        def listening():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                return True
            except OSError:
                return False
        assert wait_for(listening, 60), "the main node's agent server did not start"
        impostor = start_node(tmp_path, dict(desc, agent_token=new_agent_token(),
                                             agent_timeout=3), 1)
        _out, err = impostor.communicate(timeout=60)
        assert impostor.returncode == 1
        assert err.decode() == ("slurmstepd: error: node02: the main node at 127.0.0.1:%d "
                                "refused this node\n" % port)
        real = start_node(tmp_path, desc, 1)
        (tmp_path / "go").touch()
        assert main.wait(timeout=60) == 0
        assert real.wait(timeout=30) == 0
    finally:
        for p in (main, real):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
    out = (tmp_path / "slurm-53.out").read_text().splitlines()
    assert sorted(out) == ["0: node01", "1: node02"], out


def test_batch_like_job_names_its_nodes_and_gives_the_launch_address(tmp_path):
    """As on AWS Batch (a fixed agent port, no stage), with two "machines" on loopback
    addresses of their own (main node 127.0.0.3, node02 127.0.0.2: SLURMSHIM_NODE_ADDR) and
    each its own hosts file (SLURMSHIM_HOSTS_FILE, standing for the container's /etc/hosts):
    the main node's file names it before the script starts; once node02 joins, both files name
    both nodes -- before any task runs there -- after the lines that were there.  srun's tasks
    get SLURM_LAUNCH_NODE_IPADDR (and SLURM_SRUN_COMM_HOST) = the main node's address, which
    the other nodes reach; the batch step has neither, as under Slurm."""
    port = free_port()
    for name in ("node01", "node02"):
        (tmp_path / ("hosts-" + name)).write_text("127.0.0.1\tlocalhost\n")
    script = """#!/bin/bash
echo batch launch=${SLURM_LAUNCH_NODE_IPADDR-unset}
cat %(d)s/hosts-node01
touch %(d)s/started
srun -N2 -l bash -c 'echo launch=$SLURM_LAUNCH_NODE_IPADDR comm=$SLURM_SRUN_COMM_HOST
cat %(d)s/hosts-$SLURMD_NODENAME'
""" % {"d": tmp_path}
    desc = job_desc(tmp_path, nodes=2, node_names=["node01", "node02"], cpus_per_node=[1, 1],
                    stage=None, agent_port=port, agent_token="t0k3n", agent_timeout=60,
                    script=script)
    env = placement_environ(node_index=0, num_nodes=2)
    env.update(SLURMSHIM_HOSTS_FILE=str(tmp_path / "hosts-node01"),
               SLURMSHIM_NODE_ADDR="127.0.0.3")
    main = subprocess.Popen([sys.executable, "-m", "slurmshim.runtime.job"],
                            env=runtime_env(tmp_path, desc, env), cwd=str(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    node = None
    try:
        assert wait_for(lambda: (tmp_path / "started").exists(), 60)
        node = start_node(tmp_path, desc, 1, SLURMSHIM_HOSTS_FILE=str(tmp_path / "hosts-node02"),
                          SLURMSHIM_NODE_ADDR="127.0.0.2",
                          AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS="127.0.0.3")
        assert main.wait(timeout=60) == 0, main.stderr.read()
        assert node.wait(timeout=30) == 0
    finally:
        for p in (main, node):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
    out = [line for line in (tmp_path / "slurm-53.out").read_text().splitlines()
           if not _WAITING.match(line)]
    names = ["127.0.0.1\tlocalhost", "127.0.0.3 node01 # slurmshim job 53",
             "127.0.0.2 node02 # slurmshim job 53"]
    assert out[:3] == ["batch launch=unset"] + names[:2]
    for rank in (0, 1):
        assert [line[3:] for line in out[3:] if line.startswith("%d: " % rank)] == \
            ["launch=127.0.0.3 comm=127.0.0.3"] + names
    assert len(out) == 3 + 2 * 4
    for name in ("node01", "node02"):
        assert (tmp_path / ("hosts-" + name)).read_text() == "\n".join(names) + "\n"


def test_main_node_that_cannot_listen_fails_the_job_clearly(tmp_path):
    """The agent port is fixed on Batch; taken (by anything), the job fails at once, saying so,
    instead of running a script whose sruns cannot reach the other nodes."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        desc = job_desc(tmp_path, nodes=2, node_names=["node01", "node02"],
                        cpus_per_node=[1, 1], stage=None, agent_port=port,
                        script="#!/bin/bash\necho not reached\n")
        proc = subprocess.run([sys.executable, "-m", "slurmshim.runtime.job"],
                              env=runtime_env(tmp_path, desc, placement_environ(
                                  node_index=0, num_nodes=2)),
                              cwd=str(tmp_path), capture_output=True, timeout=60)
    assert proc.returncode == 1
    out = (tmp_path / "slurm-53.out").read_text()
    assert re.fullmatch(r"\[\S+\] error: cannot listen for the job's other nodes on TCP port "
                        r"%d: Address already in use\n" % port, out), out


# -------------------------------------------------------------------- stdin

def test_step_stdin_reaches_the_tasks_that_take_it(mesh):
    server, node = mesh
    client, got = start_step(server, {1: {"env": {"PATH": os.environ["PATH"]}, "tasks": [
        task(1, "cat", stdin=True), task(2, "tr", "a-z", "A-Z", stdin=True),
        task(3, "cat")]}})
    big = b"".join(b"line %d\n" % i for i in range(20000))     # more than a pipe holds
    client.stdin(b"hello\n")
    client.stdin(big)
    client.stdin(None)
    for rank in (1, 2, 3):
        ex = got.wait(lambda m, r=rank: m.get("op") == "task_exit" and m["rank"] == r, 30)
        assert ex["status"] == 0
    assert got.output(1) == b"hello\n" + big
    assert got.output(2) == (b"hello\n" + big).upper()
    assert got.output(3) == b""                  # no "stdin": /dev/null
    client.close()


STDIN_JOB = r"""#!/bin/bash
seq 1 20000 > numbers
srun -N2 -n2 -l wc -l < numbers
printf 'a\nb\n' | srun -N2 -n2 -l cat | sort
echo data | srun -N2 -n2 -l -i 1 bash -c 'echo got:$(cat)' | sort
echo data | srun -N2 -n2 -l -i none bash -c 'echo got:$(cat)' | sort
printf 'x\n' | srun -N1 -n2 --overcommit -l cat | sort
srun -N2 -n2 -l cat; echo rc=$?
"""


def test_srun_forwards_stdin_to_every_task_on_every_node(cluster):
    """srun(1): stdin goes "from the standard input of srun to all remote tasks" (-i all, the
    default: each task gets all of it), to one task with -i N, to none with -i none."""
    cluster.script("job.sh", STDIN_JOB)
    job = cluster.submit("-N2", "job.sh")
    assert finished(cluster, job) == "COMPLETED"
    out = cluster.read("slurm-%d.out" % job).splitlines()
    assert sorted(out[:2]) == ["0: 20000", "1: 20000"]
    assert out[2:] == ["0: a", "0: b", "1: a", "1: b",
                       "0: got:", "1: got:data",
                       "0: got:", "1: got:",
                       "0: x", "1: x",
                       "rc=0"]      # the batch script's stdin is /dev/null: at once at its end
