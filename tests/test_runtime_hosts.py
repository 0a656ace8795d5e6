"""The job's node names in the nodes' hosts files (runtime/hosts.py), the join timeout, and the
main node's server as the rendezvous that knows every node's address (runtime/agent.py).  No
test here (or anywhere) writes the machine's real /etc/hosts: the fixture below checks it."""
from __future__ import annotations

import hashlib
import os
import socket
import stat
import time

import pytest

from slurmshim.runtime import agent as A
from slurmshim.runtime.descriptor import normalize
from slurmshim.runtime.hosts import HostsFile, hosts_path, node_addr, table_of


@pytest.fixture(autouse=True)
def real_hosts_file_untouched():
    def digest():
        try:
            with open("/etc/hosts", "rb") as fh:
                return hashlib.sha256(fh.read()).hexdigest()
        except OSError:
            return None
    before = digest()
    yield
    assert digest() == before, "a test changed /etc/hosts"


BATCH = {"job_id": 53, "nodes": 2, "agent_port": 6818}
ECS = {"ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/abc"}


# -------------------------------------------------------------------- which file

def test_hosts_path_local_backend_never():
    """agent_port 0 (local backend): the nodes are this machine; nothing, whatever is set."""
    local = normalize({"job_id": 53, "nodes": 2, "agent_port": 0,
                       "environment": {"SLURMSHIM_HOSTS_FILE": "/tmp/x"}})
    assert hosts_path(local, dict(ECS, SLURMSHIM_HOSTS_FILE="/tmp/x")) is None
    assert hosts_path(local, ECS) is None


def test_hosts_path_batch():
    desc = normalize(BATCH)
    # a container of ECS (Batch) or Kubernetes (Batch on EKS): its own /etc/hosts
    assert hosts_path(desc, ECS) == "/etc/hosts"
    assert hosts_path(desc, {"ECS_CONTAINER_METADATA_URI": "http://x"}) == "/etc/hosts"
    assert hosts_path(desc, {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}) == "/etc/hosts"
    # anywhere else (a machine of one's own, a CI container, this test): nothing
    assert hosts_path(desc, {}) is None
    # SLURMSHIM_HOSTS_FILE: the node's environment, else the job's; "" / none: off
    assert hosts_path(desc, {"SLURMSHIM_HOSTS_FILE": "/tmp/h"}) == "/tmp/h"
    for off in ("", "none", "NONE", "off", "0"):
        assert hosts_path(desc, dict(ECS, SLURMSHIM_HOSTS_FILE=off)) is None
    job = normalize(dict(BATCH, environment={"SLURMSHIM_HOSTS_FILE": "none"}))
    assert hosts_path(job, ECS) is None
    assert hosts_path(job, dict(ECS, SLURMSHIM_HOSTS_FILE="/tmp/n")) == "/tmp/n"


def test_node_addr():
    assert node_addr({"SLURMSHIM_NODE_ADDR": " 10.0.0.7 "}) == "10.0.0.7"
    addr = node_addr({})          # the outward interface's address, or the host name's
    socket.inet_aton(addr)


def test_join_timeout():
    batch, local = normalize(BATCH), normalize({"job_id": 53, "nodes": 2})
    assert A.join_timeout(batch, {}) == 300.0
    assert A.join_timeout(local, {}) == 60.0
    assert A.join_timeout(dict(batch, agent_timeout=30), {}) == 30.0
    # the variable: the job's (as sbatch exported it) first, then the node's own
    assert A.join_timeout(batch, {"SLURMSHIM_NODE_JOIN_TIMEOUT": "45"}) == 45.0
    job = dict(batch, agent_timeout=30, environment={"SLURMSHIM_NODE_JOIN_TIMEOUT": "600"})
    assert A.join_timeout(job, {"SLURMSHIM_NODE_JOIN_TIMEOUT": "45"}) == 600.0
    # nonsense is ignored
    for bad in ("", "abc", "0", "-5"):
        assert A.join_timeout(batch, {"SLURMSHIM_NODE_JOIN_TIMEOUT": bad}) == 300.0


# -------------------------------------------------------------------- the file

def test_hosts_file_appends_the_job_lines_and_keeps_the_rest(tmp_path):
    path = tmp_path / "hosts"
    path.write_text("127.0.0.1\tlocalhost\n10.0.9.9\tip-10-0-9-9")      # no final newline
    mode = stat.S_IMODE(os.stat(path).st_mode)
    inode = os.stat(path).st_ino
    h = HostsFile(str(path), 53)
    assert h.update([("10.0.0.5", "cloud-dy-01")]) is None
    assert h.update([("10.0.0.5", "cloud-dy-01"), ("10.0.0.6", "cloud-dy-02")]) is None
    # an older, smaller table never takes a name away
    assert h.update([("10.0.0.5", "cloud-dy-01")]) is None
    assert path.read_text() == ("127.0.0.1\tlocalhost\n10.0.9.9\tip-10-0-9-9\n"
                                "10.0.0.5 cloud-dy-01 # slurmshim job 53\n"
                                "10.0.0.6 cloud-dy-02 # slurmshim job 53\n")
    # an address that changed: our lines rewritten in place, the file itself kept (a
    # container's /etc/hosts is a bind mount: it cannot be replaced)
    assert h.update([("10.0.0.8", "cloud-dy-02"), ("10.0.0.7", "cloud-dy-03")]) is None
    assert path.read_text() == ("127.0.0.1\tlocalhost\n10.0.9.9\tip-10-0-9-9\n"
                                "10.0.0.5 cloud-dy-01 # slurmshim job 53\n"
                                "10.0.0.8 cloud-dy-02 # slurmshim job 53\n"
                                "10.0.0.7 cloud-dy-03 # slurmshim job 53\n")
    assert os.stat(path).st_ino == inode and stat.S_IMODE(os.stat(path).st_mode) == mode


def test_hosts_file_that_cannot_be_written(tmp_path):
    """(a container running as non-root): an error text, once per failed attempt; the
    entries are tried again with the next update."""
    target = tmp_path / "no-such-dir" / "hosts"
    h = HostsFile(str(target), 53)
    err = h.update([("10.0.0.5", "cloud-dy-01")])
    assert err == "%s: No such file or directory" % target
    target.parent.mkdir()
    assert h.update([("10.0.0.6", "cloud-dy-02")]) is None
    assert target.read_text() == ("10.0.0.5 cloud-dy-01 # slurmshim job 53\n"
                                  "10.0.0.6 cloud-dy-02 # slurmshim job 53\n")


def test_table_of_drops_what_is_not_an_entry():
    assert table_of([["10.0.0.5", "n1"], ["10.0.0.6"], ["1.2.3.4", "a b"], ["x", "#c"],
                     [1, "n2"], "junk", ["10.0.0.7", "n3"]]) == [("10.0.0.5", "n1"),
                                                               ("10.0.0.7", "n3")]
    assert table_of(None) == []


# -------------------------------------------------------------------- the rendezvous

def hello(server, node, name, addr=None):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    msg = {"op": "hello", "token": server.token, "node": node, "name": name, "pid": 1}
    if addr:
        msg["addr"] = addr
    A._send(sock, msg)
    return sock, A._Lines(sock)


def test_server_hands_every_node_the_names_of_all(tmp_path):
    seen = []
    server = A.AgentServer({"job_id": 53}, names=["n1", "n2", "n3"], main_addr="10.0.0.1",
                           join_timeout=60, on_hosts=seen.append)
    socks = []
    try:
        s2, l2 = hello(server, 1, "n2", addr="10.0.0.2")
        socks.append(s2)
        welcome = l2.next()
        assert welcome["op"] == "welcome"
        assert welcome["hosts"] == [["10.0.0.1", "n1"], ["10.0.0.2", "n2"]]
        # the main node's own file had the name before the node was welcomed
        assert seen == [[("10.0.0.1", "n1"), ("10.0.0.2", "n2")]]
        s3, l3 = hello(server, 2, "n3")          # no addr: the one it connects from
        socks.append(s3)
        table = [["10.0.0.1", "n1"], ["10.0.0.2", "n2"], ["127.0.0.1", "n3"]]
        assert l3.next()["hosts"] == table
        assert l2.next() == {"op": "hosts", "hosts": table}   # the first node learns it too
        assert server.take_failures() == {}
    finally:
        server.finish(0)
        for s in socks:
            s.close()


def test_join_deadline_answers_the_waiting_step_first(tmp_path):
    """A step waiting for a node that never joins is answered at the join deadline (with
    "expired"), and only then does take_failures() report the node; a node whose agent
    goes away is reported as lost."""
    server = A.AgentServer({"job_id": 53}, names=["n1", "n2", "n3"], main_addr="10.0.0.1",
                           join_timeout=1.5)
    try:
        s2, l2 = hello(server, 1, "n2")
        assert l2.next()["op"] == "welcome"
        step = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        A._send(step, {"op": "step", "token": server.token, "step": "0", "timeout": 0,
                       "nodes": {"1": {"tasks": []}, "2": {"tasks": []}}})
        began = time.time()
        failures = {}
        while not failures:
            failures = server.take_failures()
            assert time.time() - began < 20
            time.sleep(0.02)
        assert time.time() - began >= 1.0
        assert failures == {2: "join"}
        # the answer had been sent by then
        reply = A._Lines(step).next()
        assert reply["op"] == "error" and reply["missing"] == [2] and reply["gone"] == []
        assert reply["expired"] is True and reply["join_timeout"] == 1.5
        step.close()
        assert server.take_failures() == {}           # reported once
        s2.close()                                    # node 2's agent goes away
        end = time.time() + 20
        failures = {}
        while not failures and time.time() < end:
            failures = server.take_failures()
            time.sleep(0.02)
        assert failures == {1: "lost"}
        # a step on the node that left fails at once
        client = A.StepClient(server.address(), lambda msg: None)
        client.start("1", {1: {"tasks": []}}, 0)
        assert client.replied.wait(10)
        assert client.reply["gone"] == [1]
        client.close()
    finally:
        server.finish(0)


def test_a_node_being_stopped_is_not_a_failure_at_first():
    """A node agent that got SIGTERM says "leaving" before it goes (AWS Batch stops every node
    of a job it terminates, the main node too): its end counts as a failure only leave_grace
    seconds later -- long enough for the main node's own stop to end the job first."""
    server = A.AgentServer({"job_id": 53}, names=["n1", "n2", "n3"], main_addr="10.0.0.1",
                           join_timeout=600)
    try:
        sock, lines = hello(server, 1, "n2")
        assert lines.next()["op"] == "welcome"
        A._send(sock, {"op": "leaving"})
        sock.close()
        other, lines = hello(server, 2, "n3")      # and one that just vanishes
        assert lines.next()["op"] == "welcome"
        other.close()
        assert wait(lambda: "left" in server.nodes[1] and "left" in server.nodes[2])
        leaving = server.nodes[1]["leaving"]
        assert "leaving" not in server.nodes[2]
        assert server.take_failures(leaving + server.leave_grace - 0.01) == {2: "lost"}
        assert server.take_failures(leaving + server.leave_grace) == {1: "lost"}
        assert server.leave_grace == A.LEAVE_GRACE == 10.0
    finally:
        server.finish(0)


def wait(pred, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False
