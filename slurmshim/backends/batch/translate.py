"""JobSpec + Partition -> the AWS Batch requests that run it.  Pure: no boto3, no I/O (the
client in backends/batch/client.py sends what this module plans), golden-tested.

What one `sbatch` becomes
=========================

* **One job definition per distinct content** (`RegisterJobDefinition`): image, the bootstrap
  command, shared-filesystem mounts (``aws.mounts``: host path -> container path, as host
  volumes; descriptor paths under a mount are rewritten to the container's path), EFA devices,
  an init process as PID 1, the job role (the partition's ``job_role_arn``, else
  ``[aws] job_role_arn``; config.py keeps the partition's in ``Partition.extra``), container
  vs multinode.
  Nothing per job is in it (resources are placeholders overridden at submit), so its name,
  ``slurmshim-<hash of the request>``, is stable and the client registers it once; SubmitJob
  names it without a revision (the latest ACTIVE one: every revision of a content-hashed name
  has the same content).
* **SubmitJob requests** (`BatchPlan.submits`): one for a plain or multi-node job, one per
  chunk of <= 10,000 tasks for an array (the descriptor's ``array.offset`` is the chunk's first
  position, so task position = offset + AWS_BATCH_JOB_ARRAY_INDEX), more for a `%N` throttle.
  A chunk of one task is a plain job (Batch arrays have 2..10,000 children); the runtime then
  takes position = offset.

Resources (per node; Batch reserves per container)
--------------------------------------------------
* VCPU = tasks per node x cpus-per-task (tasks per node = --ntasks-per-node, else
  ceil(ntasks / nodes)); --exclusive takes the partition's cpus_per_node.
* MEMORY (MiB) = --mem (0 = the partition's mem_per_node), else --mem-per-cpu x VCPU, else
  --mem-per-gpu x GPUs, else the partition's DefMemPerCPU x VCPU, else
  DEFAULT_MEM_PER_VCPU (2048 MiB, the smallest per-vCPU ratio of the c/m/r instance families,
  so a default job fits any of them) x VCPU, capped at the partition's mem_per_node.
  Batch's memory is a hard limit (the container is OOM-killed above it), unlike Slurm
  without memory enforcement: documented as an approximation.
* GPU = GPUs per node from any of --gres=gpu[:type]:N, --gpus-per-node, -G/--gpus (divided
  by nodes, rounded up), --gpus-per-task.  A GPU type must be one the partition lists.

Multi-node (--nodes > 1)
------------------------
A `multinode` job definition with one open-ended node range ``0:`` (main node 0, numNodes 2 as
registered) and ``nodeOverrides.numNodes = N`` at submit.  Batch never runs multi-node jobs on
Spot: it goes to the partition's ``mnp_queue`` when set; a Spot partition without one refuses
the job at submit time; an on-demand partition without one uses its ``job_queue``.  An array
of multi-node jobs is refused (Batch: "Multinode Array Job not supported").  On an ``efa``
partition (or with --constraint=efa) a multi-node job gets ``/dev/infiniband/uverbs0..`` with
READ/WRITE/MKNOD (``efa_devices`` of them, default 1), an unlimited memlock ulimit and
``efa: true`` in the descriptor (the runtime sets the FI_* / NCCL_* defaults).  A partition's
``instance_type`` (one: Batch runs every node of a multi-node job on the same type) goes into
the node range's ``instanceTypes`` of every multi-node job, EFA or not.

Time limit, retries, tags
-------------------------
* ``timeout.attemptDurationSeconds`` = time limit + KillWait + TIMEOUT_MARGIN (at least 60 s,
  Batch's minimum).  The runtime enforces the exact limit itself (descriptor
  ``enforce_time_limit``: SIGTERM at the limit, SIGKILL KillWait later, Slurm's banner in the
  output); Batch's timeout is only the backstop for a runtime that cannot (hung node, lost
  container), so both never race.  UNLIMITED -> no timeout.
* ``retryStrategy``: --requeue (the default on Spot partitions) -> attempts = retries + 1
  (<= 10), retry on ``Host EC2*`` status reasons (instance reclaimed or lost), exit on anything
  else; --no-requeue (or retries = 0) -> a single attempt.  Batch never retries a timeout or a
  cancelled job.
* tags (propagated to the ECS task): slurmshim:cluster, job_id, user, name (sanitised),
  partition, account, time_limit, and array_offset / throttle where they apply, so the ledger
  can be rebuilt from Batch and status.py can tell a timeout from a failure.

Dependencies
------------
``afterok`` on jobs the caller has already submitted to Batch (their Batch ids in
``native_deps``) and ``aftercorr`` between arrays with the same index list (N_TO_N, chunk k on
chunk k) are expressed with ``dependsOn`` (<= 20 ids).  Anything else -- afterany, afternotok,
after, `+minutes`, a single array task, singleton, `?` lists, more than 20 ids, targets not
(yet) on Batch -- sets ``hold_for_dependencies``: slurmshim keeps the job PENDING (reason
Dependency) and submits the planned requests (which then carry no dependsOn) once the
controller finds the dependency satisfied (plan again with ``ignore_dependency=True``).
``native_deps[id] == []`` means "already satisfied": no Batch dependency is needed.
Batch fails a job whose dependency fails; status.py shows that as Slurm does for a
never-satisfiable afterok (PENDING, DependencyNeverSatisfied).

`%N` throttle: N independent chains
-----------------------------------
Batch has no per-array concurrency limit, so the K task positions are arranged in N chains in
which each task starts only after the previous task of its chain has ended: at most N tasks
of the array run at once, and the chains proceed independently.  Two Batch-native layouts
give exactly that; plan_submission picks the one with fewer SubmitJob calls (ties: waves):

* **chains** (SEQUENTIAL): chain j is the contiguous positions [start_j, end_j), submitted as
  one array with ``dependsOn [{"type": "SEQUENTIAL"}]`` (child i runs after child i-1), split
  into segments of <= 10,000 where segment s+1 also depends on segment s as a whole.
  Calls: N x ceil(K / N / 10,000).  Good for small N (``%2`` of 50,000 tasks: 6 calls).
* **waves** (N_TO_N): wave w is the positions [wN, (w+1)N), one array of size N (pieces of
  <= 10,000 if N is larger); wave w+1 depends on wave w with type N_TO_N, so its child i waits
  for child i of wave w -- chain i is the positions i, N+i, 2N+i, ...  Calls: ceil(K / N) x
  ceil(N / 10,000).  Good for large N, and tasks start in index order as in Slurm.

Later submits refer to earlier ones with a placeholder jobId (``{{submit[i].jobId}}``); the
client submits in order and fills them in with resolve_submit().

Failure semantics (different from Slurm, which runs every task whatever the others did): when
a task fails (non-zero exit, timeout, OOM, cancelled, Spot reclaim after the last retry), Batch
fails every later task of **its chain** as "Dependent Job failed" without running them; the
other chains go on.  With chains that is the rest of the contiguous range; with waves the tasks
i+N, i+2N, ...  status.py reports those never-run tasks as PENDING / DependencyNeverSatisfied
(CANCELLED with --kill-on-invalid-dep=yes) so they are visible, and the user can resubmit
them (`sbatch --array=<those indices>`).  A SEQUENTIAL chain also runs its tasks in order
even when more capacity is free, so the array takes as long as its longest chain (~K/N tasks).
Exact alternatives, not done here: Batch consumable resources (one REPLENISHABLE resource of
N units per array; needs CreateConsumableResource, which moto does not implement) or
slurmshim-side release of N tasks at a time (needs someone to poll).

Script and runtime delivery (SubmitJob's 30 KiB, ECS's 8 KiB of overrides)
--------------------------------------------------------------------------
The job definition's command is ``/bin/sh -c <check for python3> <BOOTSTRAP>``: a small
stdlib-only Python program (BOOTSTRAP_PY) that needs only python3 (>= 3.8) in the image.  It

1. unpacks the runtime (a zip of slurmshim/runtime) from ``SLURMSHIM_RUNTIME`` (base64) or
   downloads it from ``SLURMSHIM_RUNTIME_URL``; with neither, the image must have slurmshim
   installed;
2. takes the descriptor from ``SLURMSHIM_JOB`` (base64(zlib(JSON))) or downloads it (gzip
   JSON) from ``SLURMSHIM_JOB_URL``; when the descriptor has no ``script`` but a
   ``script_url``, downloads the script (gzip) and puts it in; the result goes to a private
   file named by SLURMSHIM_JOB_FILE;
3. removes its own variables and runs ``slurmshim.runtime.job`` in the same process.

Downloads: ``s3://`` with a SigV4-signed GET using the container's credentials (the ECS task
role, else the instance role; region from ``SLURMSHIM_S3_REGION``, endpoint from
``SLURMSHIM_S3_ENDPOINT``), ``http(s)://`` (e.g. presigned) and files; gzip is detected by its
magic number.  Four tries with 1/2/4 s back-off (``SLURMSHIM_FETCH_TRIES`` changes the count).

What is inlined and what is staged is decided by measuring every SubmitJob request as botocore
sends it (``json.dumps``) against SUBMIT_BUDGET (30 KiB less a margin) **and** its container
overrides against OVERRIDES_BUDGET: Batch passes them to ECS RunTask, which refuses more than
8192 characters of overrides *after* SubmitJob accepted the job (the job then FAILS with
"Container Overrides length must be at most 8192"), so the real inline budget is ~6.5 KB.
Escalating in this order until everything fits: (1) all inline; (2) runtime staged at
``slurmshim/runtime/<sha>.zip`` (content-addressed: uploaded once per slurmshim version;
today's runtime is ~48 KB base64, so this is the normal case unless the image has slurmshim
installed and the client passes no bundle); (3) the script staged gzipped at
``slurmshim/<cluster>/jobs/<id>/script.gz`` (descriptor ``script_url``); (4) the whole
descriptor staged at ``.../job-<offset>.json.gz`` (a huge exported environment).  The client
uploads everything in ``BatchPlan.uploads`` to ``aws.s3_bucket`` before submitting (runtime
objects only when missing).  Without ``s3_bucket``, a job that does not fit is refused.

The job role (or, without one, the instance role through IMDS, which needs a metadata hop
limit of 2 for containers) must allow s3:GetObject on the bucket's ``slurmshim/`` prefix.

Failure modes (each ends the job FAILED with the message in its CloudWatch log stream):
no ``/bin/sh`` (Batch: CannotStartContainerError); an image ENTRYPOINT that does not exec its
arguments (Batch has no entrypoint override: images must have no ENTRYPOINT or one that ends
in ``exec "$@"``); no python3 (exit 127, "slurmshim: python3 not found in the job image");
Python < 3.8 (exit 1); download errors -- no s3:GetObject on the bucket for the job role, no
route to S3 (private subnet without NAT or VPC endpoint), bucket in another region without
SLURMSHIM_S3_REGION, object removed by a lifecycle rule before a long-pending job started --
exit 1 with "slurmshim bootstrap: cannot fetch s3://...: <error>".  Output files land at their
--output path only when it is on a filesystem mounted into the container (``aws.mounts``);
otherwise the runtime says so in the log and the output is in CloudWatch Logs only
(``tee_output``).
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ...errors import SubmitError
from ...model import INFINITE, JobRecord, JobSpec, Partition
from ...runtime.descriptor import encode_inline
from ..descriptor import build_descriptor

if TYPE_CHECKING:  # pragma: no cover
    from ...config import AwsSettings

# ------------------------------------------------------------------ Batch limits and constants

SUBMIT_LIMIT = 30 * 1024          # SubmitJob payload quota (bytes of the JSON body)
SUBMIT_MARGIN = 1024              # kept free for what the client adds (resolved job ids, ...)
SUBMIT_BUDGET = SUBMIT_LIMIT - SUBMIT_MARGIN
# Batch starts each container (each array child, each node) with an ECS RunTask whose overrides
# carry the SubmitJob container overrides plus Batch's own AWS_BATCH_* variables, and ECS limits
# those to 8192 characters: a bigger job is accepted by SubmitJob and then FAILS with
# "Container Overrides length must be at most 8192" (Netflix/metaflow#1482,
# ASFHyP3/hyp3#3041).  This, not the 30 KiB, is what bounds what can travel inline.
ECS_OVERRIDES_LIMIT = 8192
BATCH_OVERRIDES_RESERVE = 1536    # AWS_BATCH_JOB_ID/_JQ_NAME/_CE_NAME/_ATTEMPT/_ARRAY_INDEX/
#                                   node variables, the container name, ECS's JSON structure
OVERRIDES_BUDGET = ECS_OVERRIDES_LIMIT - BATCH_OVERRIDES_RESERVE
REGISTER_LIMIT = 24 * 1024        # RegisterJobDefinition payload quota
MAX_ARRAY_SIZE = 10_000           # arrayProperties.size is 2..10,000
MAX_DEPENDS_ON = 20
MAX_ATTEMPTS = 10
MIN_TIMEOUT = 60                  # attemptDurationSeconds minimum
MAX_TAGS = 50
TIMEOUT_MARGIN = 60               # Batch's backstop fires this long after the runtime's SIGKILL
DEFAULT_KILL_WAIT = 30
DEFAULT_MEM_PER_VCPU = 2048       # MiB, when neither the job nor the partition says
MNP_REGISTERED_NODES = 2          # numNodes in a multinode job definition (overridden at submit)
EFA_DEVICE_PERMISSIONS = ["READ", "WRITE", "MKNOD"]
DEFINITION_PREFIX = "slurmshim-"
S3_PREFIX = "slurmshim"
SUBMIT_REF = "{{submit[%d].jobId}}"
_SUBMIT_REF_RE = re.compile(r"^\{\{submit\[(\d+)\]\.jobId\}\}$")

ENV_JOB = "SLURMSHIM_JOB"
ENV_JOB_URL = "SLURMSHIM_JOB_URL"
ENV_RUNTIME = "SLURMSHIM_RUNTIME"
ENV_RUNTIME_URL = "SLURMSHIM_RUNTIME_URL"
ENV_S3_REGION = "SLURMSHIM_S3_REGION"
ENV_S3_ENDPOINT = "SLURMSHIM_S3_ENDPOINT"

RETRY_ON_HOST_FAILURE = [
    {"onStatusReason": "Host EC2*", "action": "RETRY"},
    {"onReason": "*", "action": "EXIT"},
]

PROG = "sbatch"

# ------------------------------------------------------------------ the bootstrap

#: Runs inside the container as `python3 -c BOOTSTRAP_PY` (see the module docstring).  Standard
#: library only, Python >= 3.8, no single quotes needed anywhere (it travels as an argv item).
BOOTSTRAP_PY = r'''
import base64, gzip, hashlib, hmac, io, json, os, sys, tempfile, time, zipfile, zlib
import urllib.parse as P, urllib.request as U
E = os.environ
def die(msg, code=1):
    sys.stderr.write("slurmstepd: error: slurmshim bootstrap: %s\n" % msg)
    sys.stderr.flush()
    os._exit(code)
if sys.version_info < (3, 8):
    die("python3 >= 3.8 is required in the job image, found %s" % sys.version.split()[0])
def getjson(req, timeout=10):
    with U.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read().decode())
def creds():
    if E.get("AWS_ACCESS_KEY_ID") and E.get("AWS_SECRET_ACCESS_KEY"):
        return E["AWS_ACCESS_KEY_ID"], E["AWS_SECRET_ACCESS_KEY"], E.get("AWS_SESSION_TOKEN")
    rel = E.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    full = E.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    if rel or full:
        req = U.Request(full or "http://169.254.170.2" + rel)
        if E.get("AWS_CONTAINER_AUTHORIZATION_TOKEN"):
            req.add_header("Authorization", E["AWS_CONTAINER_AUTHORIZATION_TOKEN"])
        d = getjson(req)
    else:
        md = "http://169.254.169.254/latest/"
        ttl = {"X-aws-ec2-metadata-token-ttl-seconds": "300"}
        req = U.Request(md + "api/token", method="PUT", headers=ttl)
        tok = U.urlopen(req, timeout=5).read().decode()
        h = {"X-aws-ec2-metadata-token": tok}
        base = md + "meta-data/iam/security-credentials/"
        role = U.urlopen(U.Request(base, headers=h), timeout=5).read().decode().split()[0]
        d = getjson(U.Request(base + role, headers=h))
    return d["AccessKeyId"], d["SecretAccessKey"], d.get("Token")
def s3get(url):
    bucket, _, key = url[5:].partition("/")
    region = (E.get("SLURMSHIM_S3_REGION") or E.get("AWS_REGION")
              or E.get("AWS_DEFAULT_REGION") or "us-east-1")
    endpoint = E.get("SLURMSHIM_S3_ENDPOINT")
    if endpoint:
        parts = P.urlsplit(endpoint)
        host = parts.netloc
        path = parts.path.rstrip("/") + "/" + bucket + "/" + P.quote(key, safe="/~")
        url = parts.scheme + "://" + host + path
    else:
        host = "%s.s3.%s.amazonaws.com" % (bucket, region)
        path = "/" + P.quote(key, safe="/~")
        url = "https://" + host + path
    ak, sk, token = creds()
    amz = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    day = amz[:8]
    payload = hashlib.sha256(b"").hexdigest()
    hdr = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz}
    if token:
        hdr["x-amz-security-token"] = token
    names = sorted(hdr)
    signed = "".join("%s:%s\n" % (n, hdr[n]) for n in names)
    canon = "\n".join(["GET", path, "", signed, ";".join(names), payload])
    scope = "%s/%s/s3/aws4_request" % (day, region)
    text = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(canon.encode()).hexdigest()])
    k = ("AWS4" + sk).encode()
    for part in (day, region, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, text.encode(), hashlib.sha256).hexdigest()
    hdr["Authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                            % (ak, scope, ";".join(names), sig))
    del hdr["host"]
    with U.urlopen(U.Request(url, headers=hdr), timeout=60) as r:
        return r.read()
TRIES = max(1, int(E.pop("SLURMSHIM_FETCH_TRIES", "") or 4))
def fetch(url):
    err = None
    for attempt in range(TRIES):
        try:
            if url.startswith("s3://"):
                data = s3get(url)
            elif url.startswith(("http://", "https://")):
                with U.urlopen(url, timeout=60) as r:
                    data = r.read()
            else:
                with open(url[7:] if url.startswith("file://") else url, "rb") as fh:
                    data = fh.read()
            return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        except Exception as exc:
            err = exc
            if attempt < TRIES - 1:
                time.sleep(2 ** attempt)
    die("cannot fetch %s: %s" % (url, err))
tmp = tempfile.mkdtemp(prefix="slurmshim-rt.")
blob, rurl = E.pop("SLURMSHIM_RUNTIME", None), E.pop("SLURMSHIM_RUNTIME_URL", None)
if blob or rurl:
    data = base64.b64decode(blob) if blob else fetch(rurl)
    try:
        zipfile.ZipFile(io.BytesIO(data)).extractall(tmp)
    except Exception as exc:
        die("bad runtime bundle: %s" % exc)
    sys.path.insert(0, tmp)
jurl = E.pop("SLURMSHIM_JOB_URL", None)
desc = None
if jurl:
    desc = json.loads(fetch(jurl).decode("utf-8"))
elif E.get("SLURMSHIM_JOB"):
    try:
        desc = json.loads(zlib.decompress(base64.b64decode(E["SLURMSHIM_JOB"])).decode("utf-8"))
    except Exception as exc:
        die("cannot decode SLURMSHIM_JOB: %s" % exc)
    if desc.get("script") is not None or not desc.get("script_url"):
        desc = None
if desc is not None:
    if desc.get("script") is None and desc.get("script_url"):
        desc["script"] = fetch(desc["script_url"]).decode("utf-8")
    path = os.path.join(tmp, "job.json")
    with open(path, "w") as fh:
        json.dump(desc, fh)
    E["SLURMSHIM_JOB_FILE"] = path
    E.pop("SLURMSHIM_JOB", None)
for name in ("SLURMSHIM_S3_REGION", "SLURMSHIM_S3_ENDPOINT"):
    E.pop(name, None)
import importlib.util, runpy
try:
    found = importlib.util.find_spec("slurmshim.runtime.job")
except ImportError:
    found = None
if found is None:
    die("the slurmshim runtime is not available"
        " (no bundle given and not installed in the image)")
sys.argv = ["slurmshim.runtime.job"]
runpy.run_module("slurmshim.runtime.job", run_name="__main__", alter_sys=True)
'''.lstrip("\n")

#: `sh -c SCRIPT BOOTSTRAP_PY`: $0 is the Python program, so nothing needs quoting.
BOOTSTRAP_SH = ('command -v python3 >/dev/null 2>&1 || { echo "slurmstepd: error: slurmshim: '
                'python3 not found in the job image" >&2; exit 127; }; exec python3 -c "$0"')
BOOTSTRAP_COMMAND = ["/bin/sh", "-c", BOOTSTRAP_SH, BOOTSTRAP_PY]


# ------------------------------------------------------------------ the plan

@dataclass
class BatchPlan:
    job_definition: dict                  # the RegisterJobDefinition request
    job_definition_name: str              # "slurmshim-<content hash>"
    submits: list[dict]                   # SubmitJob requests, in submission order
    chunk_offsets: list[int]              # array position of each submit's index 0
    hold_for_dependencies: bool = False   # keep PENDING (Dependency); submit when satisfied
    native_dependency_ids: list[str] = field(default_factory=list)
    stage_script: bytes | None = None     # gzip of the script, to upload at stage_key
    stage_key: str | None = None
    warnings: list[str] = field(default_factory=list)
    # -- beyond the agreed fields --
    uploads: dict[str, bytes] = field(default_factory=dict)  # S3 objects to upload: key -> body
    runtime_key: str | None = None        # the content-addressed runtime object (upload if absent)
    submit_refs: list[list[int]] = field(default_factory=list)  # earlier submits each one names
    chunk_sizes: list[int] = field(default_factory=list)  # tasks in each submit (1 for plain jobs)
    job_queue: str = ""                   # the queue used (mnp_queue for multi-node jobs)
    multinode: bool = False
    num_nodes: int = 1
    node_names: list[str] = field(default_factory=list)  # as the descriptor names the nodes
    vcpus: int = 1                        # per node
    memory: int = 0                       # MiB per node
    gpus: int = 0                         # per node
    efa: bool = False
    throttle_layout: str | None = None    # None | "chains" | "waves"
    descriptors: list[dict] = field(default_factory=list)  # the descriptor of each submit
    delivery: str = "inline"  # inline | runtime-staged | script-staged | descriptor-staged
    s3_bucket: str | None = None
    hold_reason: str = ""                 # why hold_for_dependencies (for --test-only)
    steps_prefix: str | None = None       # S3 key prefix of the step records (steps_presign)


# ------------------------------------------------------------------ small pure helpers

_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]")


def sanitize_job_name(name: str) -> str:
    """A Batch job name (1..128 of [A-Za-z0-9_-], first alphanumeric) for a Slurm job name:
    other characters become `_`, leading `_`/`-` are dropped, empty -> "sbatch" (Slurm's name
    for a script read from stdin).  The Slurm name itself stays in the ledger."""
    text = _NAME_BAD.sub("_", name or "").lstrip("_-")
    return (text or "sbatch")[:128]


_TAG_BAD = re.compile(r"[^A-Za-z0-9 +\-=._:/@]")


def sanitize_tag_value(value: Any) -> str:
    """AWS tag values: up to 256 of letters, digits, spaces and `+ - = . _ : / @`."""
    return _TAG_BAD.sub("_", "" if value is None else str(value))[:256]


def job_definition_hash(request: dict) -> str:
    """Hash of a RegisterJobDefinition request's content (its name left out): identical
    content -> identical hash -> one registration."""
    body = {k: v for k, v in request.items() if k != "jobDefinitionName"}
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


def request_size(request: dict) -> int:
    """Bytes of the JSON body botocore sends for `request` (json.dumps, default separators)."""
    return len(json.dumps(request).encode("utf-8"))


def overrides_size(request: dict) -> int:
    """Characters of the largest container override of a SubmitJob request (what ECS counts
    against its 8192-character RunTask overrides limit, less Batch's own variables)."""
    if "containerOverrides" in request:
        items = [request["containerOverrides"]]
    else:
        items = [o.get("containerOverrides") or {} for o in
                 (request.get("nodeOverrides") or {}).get("nodePropertyOverrides") or []]
    return max((len(json.dumps(o)) for o in items), default=0)


def fits(request: dict) -> bool:
    """Within both the SubmitJob payload budget and the ECS overrides budget."""
    return request_size(request) <= SUBMIT_BUDGET and overrides_size(request) <= OVERRIDES_BUDGET


def submit_ref(index: int) -> str:
    """The placeholder jobId naming the job created by submit number `index` of the plan."""
    return SUBMIT_REF % index


def resolve_submit(request: dict, job_ids: list[str]) -> dict:
    """A copy of a planned SubmitJob request with the placeholders of earlier submits replaced by
    their Batch job ids (`job_ids[i]` = the id SubmitJob returned for submit i)."""
    out = dict(request)
    deps = request.get("dependsOn")
    if deps:
        new = []
        for d in deps:
            m = _SUBMIT_REF_RE.match(str(d.get("jobId", "")))
            if m:
                d = dict(d, jobId=job_ids[int(m.group(1))])
            new.append(d)
        out["dependsOn"] = new
    return out


def _key_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text or "cluster") or "cluster"


def steps_prefix_for(cluster_name: str, raw_job_id: int) -> str:
    """Where the runtime of a job puts its srun step records, one object per attempt:
    ``<prefix><attempt>.json`` (attempt = the ledger's, restarts counted from 0)."""
    return f"{S3_PREFIX}/{_key_part(cluster_name)}/steps/{int(raw_job_id)}/"


def runtime_key_for(bundle_zip: bytes) -> str:
    return f"{S3_PREFIX}/runtime/{hashlib.sha256(bundle_zip).hexdigest()[:32]}.zip"


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _env(pairs: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in pairs.items()]


# ------------------------------------------------------------------ resources

@dataclass
class _Shape:
    nodes: int
    tasks_per_node: int
    vcpus: int
    memory: int
    gpus: int
    gpu_type: str | None
    efa: bool
    warnings: list[str]


def _constraint_features(text: str | None) -> list[str]:
    if not text:
        return []
    return [f for f in re.split(r"[&|,*\[\]()\s]+", text) if f and not f.isdigit()]


def _efa_requested(spec: JobSpec) -> bool:
    return any(f.lower() == "efa" for f in _constraint_features(spec.resources.constraint))


def _gpu_type(spec: JobSpec) -> str | None:
    res = spec.resources
    return res.gpu_type or next((g.type for g in res.gres if g.name == "gpu" and g.type), None)


def _shape(spec: JobSpec, part: Partition) -> _Shape:
    res = spec.resources
    warnings: list[str] = []
    nodes = max(1, res.num_nodes)
    if res.nodes_max and res.nodes_max > nodes:
        warnings.append(f"{PROG}: warning: --nodes={nodes}-{res.nodes_max}: AWS Batch runs a "
                        f"fixed node count; the job gets {nodes} node{'s' if nodes > 1 else ''}")
    if res.ntasks_per_node:
        tpn = res.ntasks_per_node
    else:
        tpn = max(1, -(-res.num_tasks // nodes))
    vcpus = max(1, tpn * res.cpus_per_task_or_1)
    if res.exclusive:
        vcpus = max(vcpus, part.cpus_per_node)
        warnings.append(f"{PROG}: warning: --exclusive on AWS Batch partition {part.name}: the "
                        f"job reserves a whole node's worth ({part.cpus_per_node} vCPUs) of its "
                        f"instance")
    gpus = res.gpus_per_node_total
    if res.gpus and not res.gpus_per_node and not any(g.name == "gpu" for g in res.gres) \
            and res.gpus % nodes:
        warnings.append(f"{PROG}: warning: --gpus={res.gpus} over {nodes} nodes: AWS Batch "
                        f"gives every node the same count ({gpus} per node)")
    if res.mem_per_node is not None:
        memory = res.mem_per_node or part.mem_per_node
        if res.mem_per_node == 0:
            warnings.append(f"{PROG}: warning: --mem=0 on AWS Batch partition {part.name}: the "
                            f"job gets the partition's node memory ({part.mem_per_node} MiB)")
    elif res.mem_per_cpu is not None:
        memory = res.mem_per_cpu * vcpus
    elif res.mem_per_gpu is not None:
        memory = res.mem_per_gpu * max(1, gpus)
    elif res.exclusive:
        memory = part.mem_per_node
    else:
        per = part.def_mem_per_cpu or DEFAULT_MEM_PER_VCPU
        memory = per * vcpus
        if part.mem_per_node:
            memory = min(memory, part.mem_per_node)
    memory = max(4, int(memory))
    # EFA for multi-node jobs on an EFA partition, and for any job that asks for it by feature
    efa = bool(part.efa and (nodes > 1 or _efa_requested(spec)))
    return _Shape(nodes, tpn, vcpus, memory, gpus, _gpu_type(spec), efa, warnings)


def _resource_requirements(shape: _Shape) -> list[dict[str, str]]:
    out = []
    if shape.gpus:
        out.append({"type": "GPU", "value": str(shape.gpus)})
    out.append({"type": "MEMORY", "value": str(shape.memory)})
    out.append({"type": "VCPU", "value": str(shape.vcpus)})
    return out


# ------------------------------------------------------------------ validation

def _image(part: Partition, aws: Any) -> str | None:
    return part.image or (getattr(aws, "image", None) if aws is not None else None)


def validate_for_batch(spec: JobSpec, partition: Partition,
                       aws: AwsSettings | None = None) -> list[str]:
    """Refuse, with Slurm's wording, what AWS Batch can never run on this partition (raises
    SubmitError); return `sbatch: warning: ...` lines for what it only approximates."""
    res = spec.resources
    nodes = max(1, res.num_nodes)
    part = partition
    if aws is not None and not _image(part, aws):
        raise SubmitError(
            "Requested node configuration is not available",
            detail=f"partition {part.name} has no container image: set image in "
                   f"[partitions.{part.name}] or [aws] of the slurmshim configuration")
    if nodes > 1:
        if spec.array is not None:
            raise SubmitError(
                "Multinode Array Job not supported",
                detail="AWS Batch cannot run an array of multi-node jobs (--array with "
                       f"--nodes={nodes}); submit the tasks as separate jobs or use --nodes=1")
        if part.spot and not part.mnp_queue:
            raise SubmitError(
                "Requested node configuration is not available",
                detail=f"partition {part.name} runs on Spot capacity, where AWS Batch does not "
                       f"run multi-node jobs (--nodes={nodes}), and has no mnp_queue (an "
                       f"on-demand queue for multi-node jobs)")
    gtype = _gpu_type(spec)
    if gtype is not None and gtype not in part.gpu_types:
        raise SubmitError("Requested node configuration is not available",
                          detail=f"GPU type {gtype} is not available in partition {part.name}"
                          + (f" (it has {','.join(part.gpu_types)})" if part.gpu_types else ""))
    warnings: list[str] = []
    features = _constraint_features(res.constraint)
    if any(f.lower() == "efa" for f in features) and not part.efa:
        raise SubmitError("Invalid feature specification",
                          detail=f"partition {part.name} has no EFA network (efa = true)")
    other = sorted({f for f in features if f.lower() != "efa"})
    if other:
        warnings.append(f"{PROG}: warning: --constraint={res.constraint}: AWS Batch partition "
                        f"{part.name} does not know node features {','.join(other)}; ignored")
    if res.tmp_mb:
        warnings.append(f"{PROG}: warning: --tmp ignored on AWS Batch partition {part.name}: "
                        "local disk is the compute environment's")
    for g in res.gres:
        if g.name != "gpu":
            warnings.append(f"{PROG}: warning: --gres={g.name}: AWS Batch partition "
                            f"{part.name} has no such resource; ignored")
    warnings.extend(_shape(spec, part).warnings)
    mounts = _mounts(aws)
    if mounts:
        out = spec.output or ""
        if not _on_mounts(spec.work_dir, mounts) or \
                (out.startswith("/") and not _on_mounts(out, mounts)):
            warnings.append(f"{PROG}: warning: the job's output is not on a filesystem shared "
                            f"with AWS Batch containers ({', '.join(sorted(mounts))}): it "
                            f"will only be in CloudWatch Logs (slurmshim output <job id>)")
    tw = _time_warning(spec)
    if tw:
        warnings.append(tw)
    if spec.array is not None and spec.array.throttle and \
            spec.array.throttle < len(spec.array.indices):
        warnings.append(
            f"{PROG}: warning: --array=...%{spec.array.throttle} on AWS Batch: tasks run in "
            f"{spec.array.throttle} chains; a failed task stops the rest of its chain")
    return warnings


def _time_warning(spec: JobSpec) -> str | None:
    text = None
    for use in spec.options:
        if use.option == "time":
            text = use.value
    if not text:
        return None
    try:
        from ...slurm.timespec import parse_duration_secs
        secs = parse_duration_secs(text)
    except (ValueError, ImportError):
        return None
    if 0 < secs < MIN_TIMEOUT:
        return (f"{PROG}: warning: --time={text} rounded up to AWS Batch's {MIN_TIMEOUT} second "
                f"minimum (time limit 1 minute)")
    return None


# ------------------------------------------------------------------ time limit, retries, tags

def _time_limit(spec: JobSpec, record: JobRecord, part: Partition) -> int:
    if record.time_limit is not None:
        limit = record.time_limit
    elif spec.time_limit is not None:
        limit = spec.time_limit
    elif part.default_time is not None:
        limit = part.default_time
    else:
        limit = part.max_time if part.max_time is not None else INFINITE
    return INFINITE if limit is None or limit < 0 else limit


def attempt_duration(limit_minutes: int, kill_wait: int = DEFAULT_KILL_WAIT) -> int | None:
    """attemptDurationSeconds for a Slurm time limit (None = UNLIMITED: no Batch timeout)."""
    if limit_minutes is None or limit_minutes < 0:
        return None
    return max(MIN_TIMEOUT, limit_minutes * 60 + max(0, kill_wait) + TIMEOUT_MARGIN)


def retry_strategy(spec: JobSpec, part: Partition) -> dict:
    requeue = spec.requeue if spec.requeue is not None else part.spot
    attempts = min(MAX_ATTEMPTS, max(1, part.retries + 1)) if requeue else 1
    if attempts == 1:
        return {"attempts": 1}
    return {"attempts": attempts, "evaluateOnExit": [dict(e) for e in RETRY_ON_HOST_FAILURE]}


def _tags(spec: JobSpec, record: JobRecord, part: Partition, cluster: str, job_id: int,
          limit: int) -> dict[str, str]:
    tags = {
        "slurmshim:cluster": cluster,
        "slurmshim:job_id": str(job_id),
        "slurmshim:user": spec.user or record.user,
        "slurmshim:name": sanitize_job_name(record.name or spec.job_name),
        "slurmshim:partition": part.name,
        "slurmshim:time_limit": "UNLIMITED" if limit < 0 else str(limit),
    }
    account = record.account or spec.account
    if account:
        tags["slurmshim:account"] = account
    return {k: sanitize_tag_value(v) for k, v in tags.items()}


# ------------------------------------------------------------------ job definition

def _mounts(aws: Any) -> dict[str, str]:
    return dict(getattr(aws, "mounts", None) or {})


def _container_properties(image: str, mounts: dict[str, str], efa: bool,
                          efa_devices: int, job_role_arn: str | None = None) -> dict:
    props: dict[str, Any] = {
        "image": image,
        "command": list(BOOTSTRAP_COMMAND),
        "resourceRequirements": [{"type": "MEMORY", "value": str(DEFAULT_MEM_PER_VCPU)},
                                 {"type": "VCPU", "value": "1"}],
        # an init process as PID 1 (docker --init): signals reach the runtime even before it
        # installs its handlers, and orphaned processes of the job are reaped
        "linuxParameters": {"initProcessEnabled": True},
    }
    if job_role_arn:
        props["jobRoleArn"] = job_role_arn
    if mounts:
        items = sorted(mounts.items())
        props["volumes"] = [{"name": f"slurmshim-{i}", "host": {"sourcePath": host}}
                            for i, (host, _c) in enumerate(items)]
        props["mountPoints"] = [{"sourceVolume": f"slurmshim-{i}", "containerPath": cpath,
                                 "readOnly": False} for i, (_h, cpath) in enumerate(items)]
    if efa:
        props["linuxParameters"]["devices"] = [
            {"hostPath": f"/dev/infiniband/uverbs{i}",
             "containerPath": f"/dev/infiniband/uverbs{i}",
             "permissions": list(EFA_DEVICE_PERMISSIONS)} for i in range(max(1, efa_devices))]
        props["ulimits"] = [{"name": "memlock", "softLimit": -1, "hardLimit": -1}]
    return props


def build_job_definition(*, image: str, multinode: bool, efa: bool, mounts: dict[str, str],
                         cluster_name: str, efa_devices: int = 1,
                         instance_type: str | None = None,
                         job_role_arn: str | None = None) -> dict:
    """The RegisterJobDefinition request (named by its content hash)."""
    props = _container_properties(image, mounts, efa, efa_devices, job_role_arn)
    req: dict[str, Any] = {"jobDefinitionName": ""}
    if multinode:
        rng: dict[str, Any] = {"targetNodes": "0:", "container": props}
        if instance_type:
            rng["instanceTypes"] = [instance_type]
        req.update(type="multinode", nodeProperties={
            "numNodes": MNP_REGISTERED_NODES, "mainNode": 0, "nodeRangeProperties": [rng]})
    else:
        req.update(type="container", containerProperties=props)
    req.update(platformCapabilities=["EC2"], propagateTags=True,
               tags={"slurmshim:cluster": sanitize_tag_value(cluster_name)})
    req["jobDefinitionName"] = DEFINITION_PREFIX + job_definition_hash(req)
    return req


# ------------------------------------------------------------------ arrays and throttles

@dataclass
class _Submit:
    offset: int
    size: int
    refs: list[tuple[int, str | None]]  # (earlier submit index, dependency type or None)
    head: bool                          # carries the user's native dependencies
    chunk: int | None = None            # plain chunk number (for aftercorr), None when throttled
    sequential: bool = False


def _pieces(start: int, size: int) -> list[tuple[int, int]]:
    return [(start + o, min(MAX_ARRAY_SIZE, size - o)) for o in range(0, size, MAX_ARRAY_SIZE)]


def _plain_layout(count: int) -> list[_Submit]:
    return [_Submit(off, size, [], True, chunk=i)
            for i, (off, size) in enumerate(_pieces(0, count))]


def _chain_layout(count: int, n: int) -> list[_Submit]:
    out: list[_Submit] = []
    start = 0
    base, extra = divmod(count, n)
    for j in range(n):
        length = base + (1 if j < extra else 0)
        prev = None
        for off, size in _pieces(start, length):
            refs = [] if prev is None else [(prev, None)]
            out.append(_Submit(off, size, refs, prev is None, sequential=size > 1))
            prev = len(out) - 1
        start += length
    return out


def _wave_layout(count: int, n: int) -> list[_Submit]:
    out: list[_Submit] = []
    prev_wave: list[tuple[int, int]] = []   # (submit index, size) of each piece
    for w_start in range(0, count, n):
        w_size = min(n, count - w_start)
        wave = []
        for p, (off, size) in enumerate(_pieces(w_start, w_size)):
            refs: list[tuple[int, str | None]] = []
            if prev_wave:
                prev_idx, prev_size = prev_wave[p]
                n_to_n = size > 1 and prev_size > 1
                refs.append((prev_idx, "N_TO_N" if n_to_n else None))
            out.append(_Submit(off, size, refs, not prev_wave))
            wave.append((len(out) - 1, size))
        prev_wave = wave
    return out


def _layout(count: int, throttle: int | None) -> tuple[list[_Submit], str | None]:
    if not throttle or throttle >= count:
        return _plain_layout(count), None
    chains = _chain_layout(count, throttle)
    waves = _wave_layout(count, throttle)
    if len(waves) <= len(chains):
        return waves, "waves"
    return chains, "chains"


def throttle_submit_count(count: int, throttle: int | None) -> int:
    """How many SubmitJob calls an array of `count` tasks with `%throttle` takes."""
    return len(_layout(count, throttle)[0])


# ------------------------------------------------------------------ dependencies

def _dependencies(spec: JobSpec, native_deps: dict[int, list[str]] | None,
                  layout: list[_Submit], throttled: bool) -> tuple[bool, list[list[dict]], str]:
    """(hold, per-submit user dependsOn entries, why held)."""
    none: list[list[dict]] = [[] for _ in layout]
    dep = spec.dependency
    if dep is None or not dep.terms:
        return False, none, ""
    if dep.any_of and len(dep.terms) > 1:
        return True, none, "`?` (any of) dependencies"
    per = [[] for _ in layout]
    native_deps = native_deps or {}
    for term in dep.terms:
        if term.kind not in ("afterok", "aftercorr") or term.job_id is None:
            return True, none, f"{term.kind} dependency"
        if term.minutes or term.task is not None:
            return True, none, "dependency on a task or with +time"
        ids = native_deps.get(term.job_id)
        if ids is None:
            return True, none, f"job {term.job_id} is not on AWS Batch yet"
        if not ids:
            continue  # already satisfied
        if term.kind == "afterok":
            for i, sub in enumerate(layout):
                if sub.head:
                    per[i].extend({"jobId": j} for j in ids)
        else:
            chunks = [s for s in layout if s.chunk is not None]
            if spec.array is None or throttled or len(ids) != len(chunks):
                return True, none, "aftercorr between differently split arrays"
            for i, sub in enumerate(layout):
                target = ids[sub.chunk]
                both_arrays = sub.size > 1
                per[i].append({"jobId": target, "type": "N_TO_N"} if both_arrays
                              else {"jobId": target})
    out = []
    for entries, sub in zip(per, layout):
        seen, uniq = set(), []
        for e in entries:
            key = (e["jobId"], e.get("type"))
            if key not in seen:
                seen.add(key)
                uniq.append(e)
        reserve = len(sub.refs) + (1 if sub.sequential else 0)
        if len(uniq) + reserve > MAX_DEPENDS_ON:
            return True, none, f"more than {MAX_DEPENDS_ON} dependencies"
        out.append(uniq)
    return False, out, ""


# ------------------------------------------------------------------ the planner

def _node_names(part: Partition, nodes: int) -> list[str]:
    names = list(part.node_names[:nodes])
    i = len(names)
    while len(names) < nodes:
        i += 1
        names.append(f"{part.name}-node{i:02d}")
    return names


def _rewrite_paths(desc: dict, mounts: dict[str, str]) -> None:
    """Paths on a shared filesystem as the container sees them (host prefix -> container)."""
    pairs = sorted(((h.rstrip("/") or "/", c.rstrip("/") or "/") for h, c in mounts.items()),
                   key=lambda p: -len(p[0]))

    def fix(path: Any) -> Any:
        if not isinstance(path, str) or not path.startswith("/"):
            return path
        for host, cont in pairs:
            if host == cont:
                continue
            if path == host or path.startswith(host + "/"):
                return cont + path[len(host):]
        return path

    for key in ("work_dir", "submit_dir", "output", "error", "input"):
        desc[key] = fix(desc.get(key))


def _on_mounts(path: str | None, mounts: dict[str, str]) -> bool:
    if not path or not path.startswith("/"):
        return True  # relative: resolved against work_dir, checked there
    return any(path == h.rstrip("/") or path.startswith(h.rstrip("/") + "/") for h in mounts)


def _throttle(spec: JobSpec, record: JobRecord) -> int | None:
    """The array's `%N`: the record's (scontrol update ArrayTaskThrottle= of a job slurmshim
    still holds), which the controller copies from the spec at submit."""
    if record.array_job_id is not None and record.array_task_id is None:
        return record.array_throttle
    return spec.array.throttle if spec.array is not None else None


def plan_submission(spec: JobSpec, record: JobRecord, partition: Partition,
                    aws: AwsSettings | None, *,
                    cluster_name: str, native_deps: dict[int, list[str]] | None = None,
                    runtime_bundle: str | None = None, kill_wait: int | None = None,
                    ignore_dependency: bool = False,
                    positions: list[int] | None = None,
                    steps_presign: Callable[[str], str] | None = None) -> BatchPlan:
    """Plan the Batch requests for a stored job (`record` is the ledger's record: the job, or an
    array's meta record).  Raises SubmitError for what cannot run (see validate_for_batch).

    native_deps: Slurm job id -> the Batch job ids it was submitted as (an array: one id per
    submit, in order); [] = already satisfied.  An aftercorr target may only be listed when its
    index list equals this job's (then chunk k waits N_TO_N on the target's chunk k).
    runtime_bundle: base64 of a zip holding slurmshim/__init__.py and slurmshim/runtime/*.py
    (None: the image has slurmshim installed).  kill_wait: the site's KillWait (seconds).
    ignore_dependency: the controller found the dependency satisfied (releasing a held job).
    positions: only these positions of an array, each as a plain one-task job (slurmshim
    requeueing array tasks that Batch did not retry); their dependencies are not planned.
    steps_presign: key -> a presigned PUT URL in ``s3_bucket`` (BatchClient.presign_put): a
    plain or multi-node job (or one requeued array task) then carries ``steps_urls`` in its
    descriptor, one URL per Batch attempt (the runtime takes AWS_BATCH_JOB_ATTEMPT's, and puts
    its srun step records there: runtime/stepsync.py), for the keys
    ``steps_prefix_for(cluster, raw id) + "<ledger attempt>.json"``, ledger attempts counted
    from the record's restarts.  Arrays of several tasks carry none (one raw id per task)."""
    part = partition
    warnings = validate_for_batch(spec, part, aws)
    image = _image(part, aws)
    assert image  # validate_for_batch refused otherwise
    shape = _shape(spec, part)
    multinode = shape.nodes > 1
    queue = part.job_queue or ""
    if multinode and part.mnp_queue:
        queue = part.mnp_queue
    if not queue:
        raise SubmitError("Invalid partition name specified",
                          detail=f"partition {part.name} has no job_queue")
    mounts = _mounts(aws)
    kw = DEFAULT_KILL_WAIT if kill_wait is None else kill_wait
    limit = _time_limit(spec, record, part)
    job_id = record.array_job_id if record.array_job_id else record.job_id
    bucket = getattr(aws, "s3_bucket", None) if aws is not None else None

    efa = shape.efa
    jobdef = build_job_definition(
        image=image, multinode=multinode, efa=efa, mounts=mounts, cluster_name=cluster_name,
        efa_devices=int(part.extra.get("efa_devices", 1) or 1),
        instance_type=part.extra.get("instance_type") if multinode else None,
        job_role_arn=part.extra.get("job_role_arn") or getattr(aws, "job_role_arn", None))
    def_name = jobdef["jobDefinitionName"]
    if request_size(jobdef) > REGISTER_LIMIT:  # pragma: no cover - a site with huge mounts
        raise SubmitError("Requested node configuration is not available",
                          detail="the AWS Batch job definition exceeds 24 KiB")

    # -- layout: chunks, throttle chains
    if spec.array is not None and positions is not None:
        count = len(spec.array.indices)
        layout = [_Submit(p, 1, [], True) for p in positions if 0 <= p < count]
        if not layout:
            raise SubmitError("Invalid job array specification",
                              detail=f"no array positions among {positions}")
        throttle_layout = None
        ignore_dependency = True
    elif spec.array is not None:
        count = len(spec.array.indices)
        layout, throttle_layout = _layout(count, _throttle(spec, record))
    else:
        count = 1
        layout, throttle_layout = [_Submit(0, 1, [], True)], None
    throttled = throttle_layout is not None

    hold, why = False, ""
    user_deps: list[list[dict]] = [[] for _ in layout]
    if not ignore_dependency:
        hold, user_deps, why = _dependencies(spec, native_deps, layout, throttled)
    native_ids: list[str] = []
    if not hold:
        for entries in user_deps:
            for e in entries:
                if e["jobId"] not in native_ids:
                    native_ids.append(e["jobId"])

    # -- descriptors (one per submit; they differ only by array.offset)
    node_names = _node_names(part, shape.nodes)
    base = build_descriptor(spec, record, part, cluster_name, node_names, None)
    base.update(efa=efa, kill_wait=kw, enforce_time_limit=True, tee_output=True,
                time_limit=limit)
    if spec.extra.get("srun_job"):
        # srun outside a job streams the output from CloudWatch (the tee); the spool files it
        # names are on the submit host, not in the container
        base.update(output="/dev/null", error=None)
    if mounts:
        _rewrite_paths(base, mounts)
    steps_prefix = None
    if steps_presign is not None and bucket and (spec.array is None or positions is not None) \
            and len(layout) == 1:
        steps_prefix = steps_prefix_for(cluster_name, record.job_id)
        first = int(record.restarts or 0)
        attempts = int(retry_strategy(spec, part).get("attempts", 1) or 1)
        base["steps_urls"] = [steps_presign(f"{steps_prefix}{first + i}.json")
                              for i in range(attempts)]
    descs = []
    for sub in layout:  # build_descriptor(..., array_offset=sub.offset), built once
        desc = dict(base)
        if base.get("array") is not None:
            desc["array"] = dict(base["array"], offset=sub.offset)
        descs.append(desc)

    base_tags = _tags(spec, record, part, cluster_name, job_id, limit)
    retry = retry_strategy(spec, part)
    duration = attempt_duration(limit, kw)
    name = sanitize_job_name(record.name or spec.job_name)

    def build(delivery: str) -> tuple[list[dict], dict[str, bytes], str | None, bytes | None,
                                      str | None]:
        uploads: dict[str, bytes] = {}
        runtime_key = stage_key = None
        stage_script = None
        env_common: dict[str, str] = {}
        staged_any = False
        if runtime_bundle:
            if delivery == "inline":
                env_common[ENV_RUNTIME] = runtime_bundle
            else:
                body = base64.b64decode(runtime_bundle)
                runtime_key = runtime_key_for(body)
                uploads[runtime_key] = body
                env_common[ENV_RUNTIME_URL] = f"s3://{bucket}/{runtime_key}"
                staged_any = True
        jobs_prefix = f"{S3_PREFIX}/{_key_part(cluster_name)}/jobs/{job_id}"
        if delivery == "script-staged":
            stage_key = f"{jobs_prefix}/script.gz"
            stage_script = _gzip(spec.script.encode("utf-8"))
            uploads[stage_key] = stage_script
            staged_any = True
        requests = []
        for i, (sub, desc) in enumerate(zip(layout, descs)):
            env = {}
            if delivery == "descriptor-staged":
                key = f"{jobs_prefix}/job-{sub.offset}.json.gz"
                uploads[key] = _gzip(json.dumps(desc, sort_keys=True,
                                                separators=(",", ":")).encode("utf-8"))
                env[ENV_JOB_URL] = f"s3://{bucket}/{key}"
                staged_any = True
            else:
                d = desc
                if delivery == "script-staged":
                    d = dict(desc, script=None, script_url=f"s3://{bucket}/{stage_key}")
                    descs[i] = d
                env[ENV_JOB] = encode_inline(d)
            env.update(env_common)
            if staged_any:
                region = getattr(aws, "region", None)
                endpoint = getattr(aws, "endpoint_url", None)
                if region:
                    env[ENV_S3_REGION] = region
                if endpoint:
                    env[ENV_S3_ENDPOINT] = endpoint
            overrides = {"environment": _env(env),
                         "resourceRequirements": _resource_requirements(shape)}
            req: dict[str, Any] = {"jobName": name, "jobQueue": queue, "jobDefinition": def_name}
            if multinode:
                req["nodeOverrides"] = {"numNodes": shape.nodes, "nodePropertyOverrides": [
                    {"targetNodes": "0:", "containerOverrides": overrides}]}
            else:
                req["containerOverrides"] = overrides
            if sub.size > 1:
                req["arrayProperties"] = {"size": sub.size}
            deps: list[dict] = []
            if sub.sequential:
                deps.append({"type": "SEQUENTIAL"})
            for ref, typ in sub.refs:
                deps.append({"jobId": submit_ref(ref), **({"type": typ} if typ else {})})
            if not hold:
                deps.extend(user_deps[i])
            if deps:
                req["dependsOn"] = deps
            req["retryStrategy"] = json.loads(json.dumps(retry))
            if duration is not None:
                req["timeout"] = {"attemptDurationSeconds": duration}
            tags = dict(base_tags)
            if spec.array is not None:
                tags["slurmshim:array_offset"] = str(sub.offset)
            if throttled:
                tags["slurmshim:throttle"] = str(_throttle(spec, record))
            req["tags"] = tags
            req["propagateTags"] = True
            requests.append(req)
        return requests, uploads, runtime_key, stage_script, stage_key

    ladder = ["inline"]
    if runtime_bundle:
        ladder.append("runtime-staged")
    ladder += ["script-staged", "descriptor-staged"]
    fresh = [dict(d) for d in descs]
    chosen = None
    for delivery in ladder:
        descs[:] = [dict(d) for d in fresh]
        if delivery != "inline" and not bucket:
            break
        built = build(delivery)
        if all(fits(r) for r in built[0]):
            chosen = (delivery, built)
            break
    if chosen is None:
        size = max(overrides_size(r) for r in build("inline")[0])
        raise SubmitError(
            "Job script too large for AWS Batch",
            detail=f"the job needs {size} characters of AWS Batch container overrides (limit "
                   f"{OVERRIDES_BUDGET}: ECS allows {ECS_OVERRIDES_LIMIT} including Batch's own "
                   f"variables) and no [aws] s3_bucket is configured to stage its script, "
                   f"descriptor or runtime"
            if not bucket else f"the job does not fit an AWS Batch SubmitJob request even "
                               f"with its script and descriptor staged in s3://{bucket}")
    delivery, (submits, uploads, runtime_key, stage_script, stage_key) = chosen

    return BatchPlan(
        job_definition=jobdef, job_definition_name=def_name, submits=submits,
        chunk_offsets=[s.offset for s in layout], hold_for_dependencies=hold,
        native_dependency_ids=native_ids, stage_script=stage_script, stage_key=stage_key,
        warnings=warnings, uploads=uploads, runtime_key=runtime_key,
        submit_refs=[[r for r, _t in s.refs] for s in layout],
        chunk_sizes=[s.size for s in layout], job_queue=queue, multinode=multinode,
        num_nodes=shape.nodes, node_names=node_names, vcpus=shape.vcpus, memory=shape.memory,
        gpus=shape.gpus, efa=efa, throttle_layout=throttle_layout, descriptors=descs,
        delivery=delivery, s3_bucket=bucket, hold_reason=why if hold else "",
        steps_prefix=steps_prefix)


# ------------------------------------------------------------------ after the plugins

def rename_job_definition(plan: BatchPlan) -> str:
    """Name the plan's job definition by its content again (plugins may have changed it:
    a volume added by a site plugin is a different definition, registered under its own
    hashed name) and point the SubmitJob requests that named the old one at it.  A name a
    plugin chose is not kept: the content hash is what makes "register once per content"
    safe.  Returns the name."""
    old = plan.job_definition_name
    req = plan.job_definition
    new = DEFINITION_PREFIX + job_definition_hash(req)
    req["jobDefinitionName"] = new
    plan.job_definition_name = new
    for sub in plan.submits:
        if sub.get("jobDefinition") in (old, None):
            sub["jobDefinition"] = new
    return new


def check_request_sizes(plan: BatchPlan) -> None:
    """The request limits again once plugins have had their say (the plan fitted them before):
    SubmitError naming the plugins otherwise."""
    if request_size(plan.job_definition) > REGISTER_LIMIT:
        raise SubmitError("Requested node configuration is not available",
                          detail="with the changes of the batch_job_definition plugins, the "
                                 "AWS Batch job definition exceeds 24 KiB")
    for req in plan.submits:
        if not fits(req):
            raise SubmitError("Job script too large for AWS Batch",
                              detail="with the changes of the batch_submit_job plugins, a "
                                     "SubmitJob request exceeds AWS Batch's limits (30 KiB, "
                                     f"{OVERRIDES_BUDGET} characters of container overrides)")


# ------------------------------------------------------------------ sbatch --test-only

def _decoded_descriptor(req: dict) -> dict | None:
    from ...runtime.descriptor import decode_inline
    over = req.get("containerOverrides")
    if over is None:
        npo = (req.get("nodeOverrides") or {}).get("nodePropertyOverrides") or [{}]
        over = npo[0].get("containerOverrides") or {}
    for item in over.get("environment", []):
        if item["name"] == ENV_JOB:
            return decode_inline(item["value"])
    return None


def test_only_report(plan: BatchPlan) -> str:
    """`sbatch --test-only` on a Batch partition: the exact RegisterJobDefinition and SubmitJob
    requests as JSON (2-space indent, sorted keys), plus what slurmshim would do around them
    (uploads, holds, placeholders) and the first submit's job descriptor decoded."""
    desc = plan.descriptors[0] if plan.descriptors else None
    if desc is None and plan.submits:
        desc = _decoded_descriptor(plan.submits[0])
    report = {
        "RegisterJobDefinition": plan.job_definition,
        "SubmitJob": plan.submits,
        "slurmshim": {
            "jobDefinitionName": plan.job_definition_name,
            "registerOnlyIfMissing": True,
            "holdForDependencies": plan.hold_for_dependencies,
            "holdReason": plan.hold_reason,
            "nativeDependencyIds": plan.native_dependency_ids,
            "chunkOffsets": plan.chunk_offsets,
            "chunkSizes": plan.chunk_sizes,
            "submitRefs": plan.submit_refs,
            "throttleLayout": plan.throttle_layout,
            "delivery": plan.delivery,
            "uploads": [{"url": f"s3://{plan.s3_bucket}/{k}", "bytes": len(v),
                         "onlyIfMissing": k == plan.runtime_key}
                        for k, v in sorted(plan.uploads.items())],
            "warnings": plan.warnings,
            "descriptor": desc,
        },
    }
    return json.dumps(report, indent=2, sort_keys=True) + "\n"


__all__ = ["BatchPlan", "plan_submission", "job_definition_hash", "sanitize_job_name",
           "sanitize_tag_value", "validate_for_batch", "test_only_report", "resolve_submit",
           "submit_ref", "request_size", "overrides_size", "fits", "retry_strategy",
           "attempt_duration", "throttle_submit_count", "build_job_definition",
           "runtime_key_for", "steps_prefix_for", "rename_job_definition", "check_request_sizes", "BOOTSTRAP_PY",
           "BOOTSTRAP_COMMAND", "SUBMIT_LIMIT",
           "SUBMIT_BUDGET", "OVERRIDES_BUDGET", "MAX_ARRAY_SIZE"]
