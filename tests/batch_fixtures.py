"""Shared moto helpers for the AWS Batch tests and the bench (no AWS account, loopback only).

* `MotoServer`: moto's ThreadedMotoServer on 127.0.0.1 with an ephemeral port, plus the moto-api
  knobs the tests need (config, reset, recorder, state manager).
* `FakeDocker`: a stand-in for the docker SDK client that moto's full Batch backend drives: each
  "container" is a local subprocess running the job's command with the container environment
  (plus the AWS_BATCH_* variables moto forgets: array index, attempt, node index), its stdout and
  stderr timestamped the way `docker logs --timestamps` prints them.  `install_fake_docker()`
  patches it into moto's DockerModel in this process -- the ThreadedMotoServer's process.
* `make_infra()`: VPC, subnet, security group, IAM service role and instance profile, a SPOT and
  an EC2 (on-demand) compute environment and one job queue on each.
* `write_config()`: a slurmshim TOML config with a batch partition on those queues.

Import this only from tests and benches: it imports moto and boto3.
"""
from __future__ import annotations

import base64
import datetime as _dt
import json
import logging
import os
import signal
import subprocess
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
        owner.containers.append(self)

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
        self.owner.runs.append({"image": image, "command": command, "name": name,
                                "environment": dict(environment or {})})
        return FakeContainer(self.owner, command, environment or {}, name, **kw)

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
    swaps the fake)."""
    from moto import settings
    from moto.utilities import docker_utilities

    if "orig" not in _installed:
        _installed["orig"] = docker_utilities.DockerModel.docker_client
        _installed["orig_host"] = settings.moto_server_host
    view = _DockerClientView(fake)
    _installed["fake"] = fake
    docker_utilities.DockerModel.docker_client = property(lambda self: view)  # type: ignore
    settings.moto_server_host = lambda: "http://127.0.0.1"  # type: ignore[assignment]


def uninstall_fake_docker() -> None:
    from moto import settings
    from moto.utilities import docker_utilities

    if "orig" in _installed:
        docker_utilities.DockerModel.docker_client = _installed.pop("orig")  # type: ignore
        settings.moto_server_host = _installed.pop("orig_host")  # type: ignore[assignment]
        _installed.pop("fake", None)


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
