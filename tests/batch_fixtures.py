"""Shared moto helpers for the AWS Batch tests and the bench (no AWS account, loopback only).

* `MotoServer`: moto's ThreadedMotoServer on 127.0.0.1 with an ephemeral port, plus the moto-api
  knobs the tests need (config, reset, recorder, state manager).
* `FakeDocker`: a stand-in for the docker SDK client that moto's full Batch backend drives: each
  "container" is a local subprocess running the job's command with the container environment
  (plus the AWS_BATCH_* variables moto forgets: array index, attempt, node index), its stdout and
  stderr timestamped the way `docker logs --timestamps` prints them.  `install_fake_docker()`
  patches it into moto's DockerModel in this process -- the ThreadedMotoServer's process.
* Multi-node parallel jobs (moto runs the job definition's numNodes containers, ignores
  SubmitJob's nodeOverrides, and gives the nodes only AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS):
  `install_fake_docker()` also applies nodeOverrides to the job as Batch does (numNodes, each
  node range's containerOverrides environment and command), and FakeDocker gives every node what
  Batch sets -- AWS_BATCH_JOB_ID `<id>#<i>`, AWS_BATCH_JOB_NODE_INDEX, _NUM_NODES,
  _MAIN_NODE_INDEX, the main node's address (below) on the other nodes only -- and, because
  all fake containers share one network namespace where Batch gives each its own (awsvpc), one
  free loopback port per job for the runtime's node agents (the descriptor's agent_port).  As
  on Batch, the other nodes are stopped once the main node has exited, and only the main
  node's exit status decides the job's (moto would fail it for any node's).  Each node is a
  "machine" of its own in what the runtime sees: node i has the loopback address
  127.0.0.<11+i> (SLURMSHIM_NODE_ADDR; the other nodes get the main node's as
  AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS) and its own hosts file standing for the
  container's /etc/hosts (SLURMSHIM_HOSTS_FILE, `FakeDocker.hosts_file(name)`, made with a
  localhost line), so that the runtime never writes this machine's /etc/hosts.  The nodes
  whose index is in `FakeDocker.fail_nodes` fail at once, as a container that cannot start
  (their agent never joins the main node).
  `FakeDocker.clock_offset` makes the jobs started while it is set look as if they had started
  that many seconds earlier (Batch's startedAt and the runtime's clock alike), so time limits
  can be reached without waiting minutes.
* `make_infra()`: VPC, subnet, security group, IAM service role and instance profile, a SPOT and
  an EC2 (on-demand) compute environment and one job queue on each.
* `write_config()`: a slurmshim TOML config with a batch partition on those queues.

Import this only from tests and benches: it imports moto and boto3.
"""
from __future__ import annotations

import base64
import copy
import datetime as _dt
import json
import logging
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
SPOT_INSTANCE_REASON = "Host EC2 (instance i-0123456789abcdef0) terminated."

AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def set_fake_credentials(env: dict | None = None) -> dict:
    """Put fake credentials (and no profile) in `env` (default os.environ)."""
    env = os.environ if env is None else env
    env.update(AWS_TEST_ENV)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        env.pop(name, None)
    return env


# ---------------------------------------------------------------- fake docker

def _iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeContainer:
    """One 'container': a subprocess in its own session.  docker's `kill()` is SIGKILL; ECS's
    StopTask (what TerminateJob does) is SIGTERM, then SIGKILL after a grace period: we do
    the ECS thing, synchronously, so the runtime's banner is in the log when moto collects it."""

    grace = 3.0

    def __init__(self, owner: "FakeDocker", command: Any, environment: dict, name: str,
                 mounts: Any = None, **_kw: Any) -> None:
        self.owner = owner
        self.name = name
        self.environment = dict(environment or {})
        self.lines: list[tuple[float, str, str]] = []   # (time, "out"|"err", line)
        self._lock = threading.Lock()
        if isinstance(command, str):
            argv = ["/bin/sh", "-c", command]
        else:
            argv = [str(c) for c in command]
        env = {k: v for k, v in os.environ.items()
               if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "TZ")}
        env.update(owner.extra_env)
        env.update({k: str(v) for k, v in self.environment.items()})
        self._batch_env(env)
        self.env = env
        self.argv = argv
        self.started = time.time()
        self.proc = subprocess.Popen(argv, env=env, cwd=owner.cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self._readers = [threading.Thread(target=self._read, args=(self.proc.stdout, "out"),
                                          daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stderr, "err"),
                                          daemon=True)]
        for t in self._readers:
            t.start()
        self.status = "running"
        self.attrs = {"NetworkSettings": {"Networks": {"bridge": {"IPAddress": "127.0.0.1"}},
                                          "IPAddress": "127.0.0.1"}}
        # Batch: "If the main node exits, the job is considered finished, and all of the child
        # nodes are stopped" (moto instead waits for each node to exit by itself)
        node = owner.mnp_node(name)
        with owner.lock:
            owner.containers.append(self)
            late = node is not None and node[2].get("main_done")
        if late:
            threading.Thread(target=self.kill, daemon=True).start()
        elif node is not None and node[1] == node[2]["main_node"]:
            threading.Thread(target=self._stop_nodes_after_main, args=(node[0], node[2]),
                             daemon=True).start()

    def _stop_nodes_after_main(self, job_id: str, info: dict) -> None:
        self.proc.wait()
        with self.owner.lock:
            info["main_done"] = True
            others = [c for c in self.owner.containers if c is not self and
                      (self.owner.mnp_node(c.name) or ("",))[0] == job_id]
        for other in others:
            threading.Thread(target=other.kill, daemon=True).start()

    def _batch_env(self, env: dict) -> None:
        """What real Batch sets and moto does not."""
        job_id = env.get("AWS_BATCH_JOB_ID", "")
        if ":" in job_id:
            parent, _, idx = job_id.rpartition(":")
            env.setdefault("AWS_BATCH_JOB_ARRAY_INDEX", idx)
        env.setdefault("AWS_BATCH_JOB_ATTEMPT", "1")
        env.setdefault("AWS_BATCH_CE_NAME", "moto-ce")
        env.setdefault("AWS_BATCH_JQ_NAME", "moto-queue")

    def _read(self, stream, which: str) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self.lines.append((time.time(), which, line))
        stream.close()

    # -- the docker SDK surface moto uses ---------------------------------------------------
    def reload(self) -> None:
        if self.proc.poll() is not None:
            for t in self._readers:
                t.join(timeout=2)
            self.status = "exited"

    def kill(self, signal_: Any = None) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=self.grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
        self.reload()

    def logs(self, stdout: bool = True, stderr: bool = True, timestamps: bool = False,
             since: Any = None, **_kw: Any) -> bytes:
        for t in self._readers:
            if self.proc.poll() is not None:
                t.join(timeout=2)
        with self._lock:
            lines = list(self.lines)
        out = []
        for ts, which, line in lines:
            if (which == "out" and stdout) or (which == "err" and stderr):
                out.append(f"{_iso(ts)} {line}" if timestamps else line)
        return ("\n".join(out) + ("\n" if out else "")).encode()

    def wait(self, **_kw: Any) -> dict:
        rc = self.proc.wait()
        self.reload()
        node = self.owner.mnp_node(self.name)
        if node is not None and node[1] != node[2]["main_node"]:
            # Batch judges a multi-node job by its main node alone; moto by every node: the
            # other nodes' exits (stopped by Batch once the main node ended) do not count
            return {"StatusCode": 0}
        return {"StatusCode": 128 - rc if rc < 0 else rc}

    def remove(self, **_kw: Any) -> None:
        pass

    def stop(self, **_kw: Any) -> None:
        self.kill()


class _Containers:
    def __init__(self, owner: "FakeDocker") -> None:
        self.owner = owner

    def run(self, image: str, command: Any = None, detach: bool = True, environment: Any = None,
            name: str = "", **kw: Any) -> FakeContainer:
        if isinstance(environment, list):
            environment = dict(e.split("=", 1) for e in environment)
        environment = dict(environment or {})
        self.owner._prepare(name, environment)
        node = self.owner.mnp_node(name)
        if node is not None and node[1] in self.owner.fail_nodes:
            command = ["/bin/sh", "-c", "echo 'CannotStartContainerError: fake' >&2; exit 1"]
        self.owner.runs.append({"image": image, "command": command, "name": name,
                                "environment": dict(environment)})
        return FakeContainer(self.owner, command, environment, name, **kw)

    def list(self, **_kw: Any) -> list:
        return list(self.owner.containers)


class _Images:
    def get(self, name: str) -> Any:
        return {"name": name}

    def pull(self, name: str, *a: Any, **kw: Any) -> Any:
        return {"name": name}


class FakeDocker:
    """A docker.DockerClient look-alike whose containers are local processes."""

    def __init__(self, cwd: str | None = None, extra_env: dict | None = None) -> None:
        self.cwd = cwd or "/"
        self.extra_env = dict(extra_env or {})
        self.containers: list[FakeContainer] = []
        self.runs: list[dict] = []
        self.containers_api = _Containers(self)
        self.images = _Images()
        self.jobs: dict[str, Any] = {}      # moto Job objects created since install, by id
        self.mnp: dict[str, dict] = {}      # multi-node jobs: numNodes, mainNode, agent port
        self.clock_offset = 0.0             # seconds: see the module docstring
        self._backdated: set[str] = set()
        self.lock = threading.Lock()
        self.hosts_dir = tempfile.mkdtemp(prefix="fake-docker-hosts.")
        self.fail_nodes: set[int] = set()   # multi-node: these node indices fail to start

    def hosts_file(self, name: str) -> str:
        """The hosts file of the container `name` (its /etc/hosts, in the runtime's eyes)."""
        return os.path.join(self.hosts_dir, name.replace("/", "_"))

    @staticmethod
    def node_addr(index: int) -> str:
        return f"127.0.0.{index + 11}"

    def mnp_node(self, name: str) -> tuple[str, int, dict] | None:
        """(job id, node index, job info) of a multi-node job's container (moto names them
        `<job name>-<job id>-<node index>`), None for anything else."""
        prefix, _, index = name.rpartition("-")
        if not index.isdigit():
            return None
        for job_id, info in self.mnp.items():
            if prefix == job_id or prefix.endswith("-" + job_id):
                return job_id, int(index), info
        return None

    def _prepare(self, name: str, env: dict) -> None:
        """The container environment real Batch would give (see the module docstring)."""
        node = self.mnp_node(name)
        job_id = env.get("AWS_BATCH_JOB_ID")
        if node is not None:
            job_id, index, info = node
            env["AWS_BATCH_JOB_ID"] = f"{job_id}#{index}"
            env["AWS_BATCH_JOB_NODE_INDEX"] = str(index)
            env["AWS_BATCH_JOB_NUM_NODES"] = str(info["num_nodes"])
            env["AWS_BATCH_JOB_MAIN_NODE_INDEX"] = str(info["main_node"])
            if index == info["main_node"]:
                env.pop("AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS", None)
            else:
                env["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"] = \
                    self.node_addr(info["main_node"])
            env["SLURMSHIM_NODE_ADDR"] = self.node_addr(index)
            hosts = self.hosts_file(name)
            with open(hosts, "w", encoding="utf-8") as fh:
                fh.write("127.0.0.1\tlocalhost\n")
            env["SLURMSHIM_HOSTS_FILE"] = hosts
            if env.get("SLURMSHIM_JOB"):
                from slurmshim.runtime.descriptor import decode_inline, encode_inline
                desc = decode_inline(env["SLURMSHIM_JOB"])
                if desc.get("agent_port"):
                    if not info.get("port"):
                        info["port"] = free_port()
                    desc["agent_port"] = info["port"]
                    env["SLURMSHIM_JOB"] = encode_inline(desc)
        job = self.jobs.get(job_id or "")
        if self.clock_offset and job is not None:
            if job.job_id not in self._backdated:
                self._backdated.add(job.job_id)
                shift = _dt.timedelta(seconds=self.clock_offset)
                job.job_started_at = job.job_started_at - shift
                if job.latest_attempt and job.latest_attempt.get("startedAt"):
                    job.latest_attempt["startedAt"] -= int(self.clock_offset * 1000)
            env["SLURMSHIM_START_TIME"] = repr(job.job_started_at.timestamp())

    def kill_all(self) -> None:
        for c in list(self.containers):
            try:
                if c.proc.poll() is None:
                    os.killpg(c.proc.pid, signal.SIGKILL)
            except OSError:
                pass


class _DockerClientView:
    """What `DockerModel.docker_client` returns: `.containers` and `.images`."""

    def __init__(self, fake: FakeDocker) -> None:
        self.containers = fake.containers_api
        self.images = fake.images
        self.api = None


_installed: dict[str, Any] = {}


def install_fake_docker(fake: FakeDocker) -> None:
    """Route every moto Batch container of this process to `fake` (idempotent; a second call
    swaps the fake), and make moto apply SubmitJob's nodeOverrides to multi-node jobs (see the
    module docstring)."""
    from moto import settings
    from moto.batch import models as batch_models
    from moto.batch import responses as batch_responses
    from moto.utilities import docker_utilities

    if "orig" not in _installed:
        _installed["orig"] = docker_utilities.DockerModel.docker_client
        _installed["orig_host"] = settings.moto_server_host
        _installed["job_init"] = batch_models.Job.__init__
        _installed["submitjob"] = batch_responses.BatchResponse.submitjob
        batch_models.Job.__init__ = _job_init  # type: ignore[method-assign]
        batch_responses.BatchResponse.submitjob = _submitjob  # type: ignore[method-assign]
    view = _DockerClientView(fake)
    _installed["fake"] = fake
    docker_utilities.DockerModel.docker_client = property(lambda self: view)  # type: ignore
    settings.moto_server_host = lambda: "http://127.0.0.1"  # type: ignore[assignment]


def uninstall_fake_docker() -> None:
    from moto import settings
    from moto.batch import models as batch_models
    from moto.batch import responses as batch_responses
    from moto.utilities import docker_utilities

    if "orig" in _installed:
        docker_utilities.DockerModel.docker_client = _installed.pop("orig")  # type: ignore
        settings.moto_server_host = _installed.pop("orig_host")  # type: ignore[assignment]
        batch_models.Job.__init__ = _installed.pop("job_init")  # type: ignore[method-assign]
        batch_responses.BatchResponse.submitjob = _installed.pop("submitjob")  # type: ignore
        _installed.pop("fake", None)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# SubmitJob's nodeOverrides, from the request handler to the Job it creates (same thread)
_submitting = threading.local()


def _submitjob(self: Any) -> str:
    _submitting.node_overrides = self._get_param("nodeOverrides")
    try:
        return _installed["submitjob"](self)
    finally:
        _submitting.node_overrides = None


def _job_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _installed["job_init"](self, *args, **kwargs)
    fake = _installed.get("fake")
    if fake is None:
        return
    fake.jobs[self.job_id] = self
    if self.job_definition.type != "multinode":
        return
    overrides = getattr(_submitting, "node_overrides", None)
    if overrides:
        self.job_definition = mnp_definition(self.job_definition, overrides)
    props = self.job_definition.node_properties or {}
    fake.mnp[self.job_id] = {"num_nodes": int(props.get("numNodes") or 1),
                             "main_node": int(props.get("mainNode") or 0), "port": None}


def mnp_definition(job_def: Any, node_overrides: dict) -> Any:
    """A copy of a moto multinode JobDefinition with SubmitJob's nodeOverrides applied as Batch
    applies them: numNodes, and each nodePropertyOverrides entry's containerOverrides
    (environment merged over the range's, command replaced) on the node range it targets
    (matched by its targetNodes text, which is how slurmshim targets them)."""
    props = copy.deepcopy(job_def.node_properties or {})
    if node_overrides.get("numNodes"):
        props["numNodes"] = int(node_overrides["numNodes"])
    for over in node_overrides.get("nodePropertyOverrides") or []:
        co = over.get("containerOverrides") or {}
        for rng in props.get("nodeRangeProperties") or []:
            if rng.get("targetNodes") != over.get("targetNodes"):
                continue
            cont = rng.setdefault("container", {})
            env = {e["name"]: e["value"] for e in cont.get("environment") or []}
            env.update({e["name"]: e["value"] for e in co.get("environment") or []})
            cont["environment"] = [{"name": k, "value": v} for k, v in env.items()]
            if co.get("command"):
                cont["command"] = list(co["command"])
    clone = copy.copy(job_def)
    clone.node_properties = props
    return clone


# ---------------------------------------------------------------- moto server

class MotoServer:
    """ThreadedMotoServer on 127.0.0.1:<ephemeral>; endpoint like http://127.0.0.1:PORT."""

    def __init__(self, recording_path: str | None = None) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        logging.getLogger("moto").setLevel(logging.CRITICAL)
        self.recording_path = recording_path
        if recording_path:
            os.environ["MOTO_RECORDER_FILEPATH"] = recording_path
            from moto.moto_api import recorder
            recorder._location = recording_path  # the singleton read the variable at import
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.stop()

    # -- moto-api --------------------------------------------------------------------------
    def _post(self, path: str, body: Any = None) -> bytes:
        data = json.dumps(body).encode() if body is not None else b""
        req = urllib.request.Request(self.endpoint + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as resp:
            return resp.read()

    def _get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.endpoint + path, timeout=30) as resp:
            return resp.read()

    def set_use_docker(self, use: bool) -> None:
        self._post("/moto-api/config", {"batch": {"use_docker": use}})

    def reset(self) -> None:
        self._post("/moto-api/reset")

    def start_recording(self) -> None:
        self._post("/moto-api/recorder/reset-recording")
        self._post("/moto-api/recorder/start-recording")

    def stop_recording(self) -> None:
        self._post("/moto-api/recorder/stop-recording")

    def recorded(self) -> list[dict]:
        """Every recorded request: {"method", "url", "target" (X-Amz-Target or path),
        "body" (decoded JSON or text)}."""
        text = self._get("/moto-api/recorder/download-recording").decode()
        out = []
        for line in text.splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            body = row.get("body") or ""
            if row.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = body
            headers = row.get("headers") or {}
            out.append({"method": row.get("method"), "url": row.get("url"), "headers": headers,
                        "path": row.get("url", "").split("://", 1)[-1].split("/", 1)[-1],
                        "target": headers.get("X-Amz-Target") or headers.get("x-amz-target"),
                        "body": parsed})
        return out

    def batch_requests(self, operation: str | None = None) -> list[dict]:
        """Recorded Batch REST calls, e.g. operation "submitjob" (the URL path /v1/submitjob)."""
        out = []
        for r in self.recorded():
            path = "/" + r["path"].split("?", 1)[0]
            if path.startswith("/v1/"):
                op = path[len("/v1/"):]
                if operation is None or op == operation.lower():
                    out.append(dict(r, operation=op))
        return out


# ---------------------------------------------------------------- infrastructure

@dataclass
class Infra:
    region: str = REGION
    spot_queue: str = "slurmshim-spot"
    od_queue: str = "slurmshim-od"
    spot_ce: str = "slurmshim-spot-ce"
    od_ce: str = "slurmshim-od-ce"
    subnet: str = ""
    sg: str = ""
    role_arn: str = ""
    profile_arn: str = ""
    extra: dict = field(default_factory=dict)


def make_infra(endpoint: str | None = None, region: str = REGION, *,
               spot_max_vcpus: int = 256, od_max_vcpus: int = 64,
               instance_types: tuple[str, ...] = ("c5.xlarge",)) -> Infra:
    """VPC, subnet, SG, IAM role + instance profile, SPOT and EC2 CEs, one queue on each.
    `endpoint` None = in-process mock_aws (the caller's decorator/context)."""
    import boto3

    kw = {"region_name": region}
    if endpoint:
        kw["endpoint_url"] = endpoint
    ec2 = boto3.client("ec2", **kw)
    iam = boto3.client("iam", **kw)
    batch = boto3.client("batch", **kw)
    inf = Infra(region=region)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    inf.subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    inf.sg = ec2.create_security_group(GroupName="slurmshim", Description="slurmshim tests",
                                       VpcId=vpc)["GroupId"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})
    inf.role_arn = iam.create_role(RoleName="slurmshim-batch",
                                   AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    inf.profile_arn = iam.create_instance_profile(
        InstanceProfileName="slurmshim-ecs")["InstanceProfile"]["Arn"]
    for ce, typ, maxv in ((inf.spot_ce, "SPOT", spot_max_vcpus),
                          (inf.od_ce, "EC2", od_max_vcpus)):
        res = {"type": typ, "minvCpus": 0, "maxvCpus": maxv, "desiredvCpus": 0,
               "instanceTypes": list(instance_types), "subnets": [inf.subnet],
               "securityGroupIds": [inf.sg], "instanceRole": inf.profile_arn}
        if typ == "SPOT":
            res["allocationStrategy"] = "SPOT_PRICE_CAPACITY_OPTIMIZED"
        batch.create_compute_environment(computeEnvironmentName=ce, type="MANAGED",
                                         state="ENABLED", computeResources=res,
                                         serviceRole=inf.role_arn)
    for q, ce in ((inf.spot_queue, inf.spot_ce), (inf.od_queue, inf.od_ce)):
        batch.create_job_queue(jobQueueName=q, state="ENABLED", priority=10,
                               computeEnvironmentOrder=[{"order": 1,
                                                         "computeEnvironment": ce}])
    return inf


def write_config(path: str, inf: Infra, *, endpoint: str | None = None,
                 image: str = "python:3.12-slim",
                 extra_partition: str = "", s3_bucket: str | None = None, retries: int = 3,
                 mounts: dict | None = None) -> str:
    """A slurmshim TOML config: batch partition `cloud` (Spot queue + on-demand MNP queue, the
    default) and `od` (on-demand only)."""
    lines = ["cluster_name = \"awstest\"", "min_job_age = 3600", "", "[aws]",
             f"region = \"{inf.region}\"", f"image = \"{image}\""]
    if endpoint:
        lines.append(f"endpoint_url = \"{endpoint}\"")
    if s3_bucket:
        lines.append(f"s3_bucket = \"{s3_bucket}\"")
    if mounts:
        lines.append("[aws.mounts]")
        lines.extend(f"\"{k}\" = \"{v}\"" for k, v in mounts.items())
    lines += ["", "[partitions.cloud]", "backend = \"batch\"", "default = true",
              f"job_queue = \"{inf.spot_queue}\"", f"mnp_queue = \"{inf.od_queue}\"",
              "spot = true", f"retries = {retries}", "cpus_per_node = 4", "mem_per_node = 8192",
              "nodes = 64", "max_time = \"1-00:00:00\"",
              "", "[partitions.od]", "backend = \"batch\"", f"job_queue = \"{inf.od_queue}\"",
              "cpus_per_node = 4", "mem_per_node = 8192", "nodes = 16", ""]
    if extra_partition:
        lines.append(extra_partition)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def wait_for(pred, timeout: float = 30.0, interval: float = 0.2, what: str = "condition"):
    """Poll `pred()` until it returns something truthy; AssertionError after `timeout`."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


# ---------------------------------------------------------------- in-process tests' environment

def in_process_aws_env(monkeypatch, poll: str = "0", releaser: bool = False) -> None:
    """The environment of an in-process Batch test (moto's mock_aws or botocore's Stubber):
    fake credentials and no profile, endpoint or instance metadata; the botocore path (moto
    patches botocore only, not slurmshim's own SigV4 fast path); SLURMSHIM_BATCH_POLL=`poll`;
    and no background releaser unless asked (it would talk to real AWS endpoints)."""
    for k, v in AWS_TEST_ENV.items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BATCH"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("SLURMSHIM_AWS_FASTPATH", "0")
    monkeypatch.setenv("SLURMSHIM_BATCH_POLL", poll)
    if not releaser:
        monkeypatch.setenv("SLURMSHIM_BATCH_RELEASER", "0")


# ---------------------------------------------------------------- one module's server

def moto_with_fake_docker(recording_path: str | None):
    """What an end-to-end test module's `moto` fixture yields: moto's server with the fake
    docker installed (`srv.fake`) and fake credentials in os.environ, all undone afterwards.
    Use as `yield from bf.moto_with_fake_docker(path)` in a module-scoped fixture."""
    saved = {k: os.environ.get(k) for k in AWS_TEST_ENV}
    set_fake_credentials()
    srv = MotoServer(recording_path=recording_path)
    fake = FakeDocker(extra_env=dict(AWS_TEST_ENV))
    install_fake_docker(fake)
    srv.set_use_docker(True)
    srv.fake = fake
    try:
        yield srv
    finally:
        fake.kill_all()
        srv.stop()
        uninstall_fake_docker()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ---------------------------------------------------------------- gates

def gate(flag: Any, limit: float = 600) -> str:
    """A POSIX shell command (for /bin/sh -- dash has no $SECONDS) that waits until the file
    `flag` exists: a job whose script runs it stays running until the test opens the gate
    (`open_gate(flag)`), however slow the machine, instead of sleeping a guessed time.  The
    fake containers share this filesystem, so `flag` is an absolute path the test owns.  A
    gate never opened gives up after at least `limit` seconds (polls of 0.1 s, counted), so
    a job left behind (a process the fake container's kill missed) does not wait for ever:
    tests should open their gates when they end."""
    import shlex
    path = shlex.quote(str(flag))
    polls = int(limit * 10)
    # one compound command, so that `cond || <gate>` runs all of it or none of it
    return (f"{{ _g=0; while [ ! -e {path} ] && [ $_g -lt {polls} ]; do sleep 0.1; "
            f"_g=$((_g + 1)); done; }}")


def open_gate(flag: Any) -> None:
    """Let the jobs waiting at `gate(flag)` go on."""
    with open(flag, "a", encoding="utf-8"):
        pass
