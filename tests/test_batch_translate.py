"""backends/batch/translate.py: JobSpec + Partition -> RegisterJobDefinition / SubmitJob requests.

Golden files (tests/golden/batch/*.json) hold the requests for representative sbatch lines, with
the inline job descriptor shown decoded; regenerate them with UPDATE_GOLDEN=1 after an intended
change and review the diff.  Every planned request is also checked against AWS Batch's documented
constraints (assert_valid_submit) and, when botocore is installed, against the API model itself.
"""
from __future__ import annotations

import base64
import functools
import glob
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from slurmshim.backends.batch import translate as T
from slurmshim.config import AwsSettings, parse_config
from slurmshim.errors import SubmitError
from slurmshim.model import JobRecord, Partition
from slurmshim.runtime.descriptor import decode_inline, encode_inline, task_ids
from slurmshim.slurm.sbatch_args import build_spec

GOLDEN = Path(__file__).parent / "golden" / "batch"
REPO = Path(__file__).resolve().parent.parent
SCRIPT = "#!/bin/bash\n#SBATCH --comment=golden\nsrun hostname\necho done\n"


# ------------------------------------------------------------------ fixtures

@pytest.fixture(autouse=True)
def _pinned_host_facts(monkeypatch):
    monkeypatch.delenv("SLURM_CONF", raising=False)


def make_spec(*argv: str, script: str = SCRIPT, env: dict | None = None, cwd: str = "/fsx/u"):
    spec = build_spec(
        list(argv) + ["job.sh"], env if env is not None else {"PATH": "/usr/bin:/bin",
                                                              "HOME": "/fsx/u"},
        read_script=lambda _p: (script, f"{cwd}/job.sh"), cwd=cwd, user="alice", uid=1000,
        group="alice", gid=1000, host="login1", pid=4242, now=1700000000.0,
        max_array_size=100001)
    spec.extra["umask"] = "0022"
    return spec


def record_for(spec, job_id: int = 100) -> JobRecord:
    return JobRecord(job_id=job_id, name=spec.job_name or "", user=spec.user, uid=spec.uid,
                     partition=spec.partition or "", account=spec.account,
                     array_job_id=job_id if spec.array is not None else None,
                     array_throttle=spec.array.throttle if spec.array is not None else None,
                     time_limit=spec.time_limit, work_dir=spec.work_dir)


def _nodes(prefix: str, n: int = 10) -> tuple[str, ...]:
    return tuple(f"{prefix}-dy-{i:02d}" for i in range(1, n + 1))


CPU = Partition(name="cpu", backend="batch", job_queue="cpu-q", node_names=_nodes("cpu"),
                cpus_per_node=16, mem_per_node=64000, max_time=-1)
GPU = Partition(name="gpu", backend="batch", job_queue="gpu-q", image="public.ecr.aws/acme/cuda:12",
                node_names=_nodes("gpu"), cpus_per_node=96, mem_per_node=1100000,
                gpus_per_node=8, gpu_types=("a100",))
SPOT = Partition(name="spot", backend="batch", job_queue="spot-q", mnp_queue="od-q", spot=True,
                 retries=3, node_names=_nodes("spot"), cpus_per_node=16, mem_per_node=64000)
SPOT_NO_MNP = Partition(name="spotonly", backend="batch", job_queue="spot-q", spot=True,
                        node_names=_nodes("spotonly"), cpus_per_node=16, mem_per_node=64000)
EFA = Partition(name="hpc", backend="batch", job_queue="hpc-q", efa=True,
                node_names=_nodes("hpc"), cpus_per_node=96, mem_per_node=370000,
                extra={"instance_type": "hpc7a.48xlarge"})
#: A partition as a site configures it (config.py parses the Batch-only keys into .extra).
P5 = parse_config({"partitions": {"p5": {
    "backend": "batch", "job_queue": "p5-q", "efa": True, "efa_devices": 32,
    "instance_type": "p5.48xlarge", "cpus_per_node": 192, "mem_per_node": "2000G",
    "gpus_per_node": 8, "gpu_types": ["h100"], "nodes": 4,
    "job_role_arn": "arn:aws:iam::123456789012:role/slurmshim-p5-job"}}},
    "p5.toml").partitions["p5"]
AWS = AwsSettings(region="us-east-1", s3_bucket="shim-bucket",
                  image="public.ecr.aws/acme/hpc:1", mounts={"/fsx": "/fsx"})
AWS_NO_BUCKET = AwsSettings(region="us-east-1", image="public.ecr.aws/acme/hpc:1",
                            mounts={"/fsx": "/fsx"})


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data,
                        compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


#: A tiny stand-in for the runtime bundle: goldens must not change with every runtime edit.
FAKE_BUNDLE = base64.b64encode(_zip({"slurmshim/__init__.py": b""})).decode()
#: Incompressible and too big to inline: forces the runtime to be staged.
BIG_BUNDLE = base64.b64encode(_zip({"slurmshim/blob.bin": b"".join(
    hashlib.sha256(str(i).encode()).digest() for i in range(1200))})).decode()


def real_bundle() -> str:
    files = {"slurmshim/__init__.py": b""}
    for path in glob.glob(str(REPO / "slurmshim" / "runtime" / "*.py")):
        files[f"slurmshim/runtime/{os.path.basename(path)}"] = Path(path).read_bytes()
    return base64.b64encode(_zip(files)).decode()


def big_script(kib: int = 90) -> str:
    lines = ["#!/bin/bash"]
    i = 0
    while sum(len(x) + 1 for x in lines) < kib * 1024:
        lines.append("echo " + hashlib.sha256(str(i).encode()).hexdigest())
        i += 1
    return "\n".join(lines) + "\n"


def plan(*argv, part=CPU, aws=AWS, native=None, bundle=FAKE_BUNDLE, script=SCRIPT, env=None,
         job_id=100, **kw):
    spec = make_spec(*argv, script=script, env=env)
    spec.partition = part.name
    return T.plan_submission(spec, record_for(spec, job_id), part, aws, cluster_name="hpc1",
                             native_deps=native, runtime_bundle=bundle, **kw)


# ------------------------------------------------------------------ Batch's constraints

JOB_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
GLOB_REASON_RE = re.compile(r"^[A-Za-z0-9.:\s]*\*?$")
GLOB_EXIT_RE = re.compile(r"^[0-9]*\*?$")
TAG_VALUE_RE = re.compile(r"^[A-Za-z0-9 +\-=._:/@]*$")
FAKE_BATCH_ID = "0123abcd-0123-4567-89ab-0123456789ab"


@functools.lru_cache(maxsize=None)
def _batch_input_shape(operation: str):
    try:
        import botocore.session
    except ImportError:  # pragma: no cover
        return None
    model = botocore.session.get_session().get_service_model("batch")
    return model.operation_model(operation).input_shape


def _botocore_check(operation: str, params: dict) -> None:
    """Validate against the Batch API model shipped in botocore (types, required members)."""
    shape = _batch_input_shape(operation)
    if shape is None:  # pragma: no cover
        return
    from botocore.validate import ParamValidator
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()


def assert_valid_job_definition(req: dict) -> None:
    assert re.match(r"^[A-Za-z0-9_-]{1,128}$", req["jobDefinitionName"])
    assert req["type"] in ("container", "multinode")
    assert T.request_size(req) <= T.REGISTER_LIMIT
    if req["type"] == "container":
        assert "containerProperties" in req and "nodeProperties" not in req
        containers = [req["containerProperties"]]
    else:
        np_ = req["nodeProperties"]
        assert "containerProperties" not in req
        assert 0 <= np_["mainNode"] < np_["numNodes"]
        ranges = np_["nodeRangeProperties"]
        assert 1 <= len(ranges) <= 5
        assert any(re.match(r"^\d*:$", r["targetNodes"]) for r in ranges), \
            "numNodes can only be overridden with an open-ended node range"
        for r in ranges:
            assert len(r.get("instanceTypes", [])) <= 1
        containers = [r["container"] for r in ranges]
    for c in containers:
        assert c["image"]
        assert all(x != "" for x in c["command"])
        rr = {r["type"]: int(r["value"]) for r in c["resourceRequirements"]}
        assert rr["VCPU"] >= 1 and rr["MEMORY"] >= 4
        for dev in (c.get("linuxParameters") or {}).get("devices", []):
            assert set(dev["permissions"]) <= {"READ", "WRITE", "MKNOD"}
    assert len(req.get("tags", {})) <= T.MAX_TAGS
    _botocore_check("RegisterJobDefinition", req)


def assert_valid_submit(req: dict, jobdef: dict | None = None, job_ids: list[str] | None = None):
    """Everything AWS Batch documents about a SubmitJob request (moto checks almost none)."""
    if job_ids is not None:
        req = T.resolve_submit(req, job_ids)
    assert JOB_NAME_RE.match(req["jobName"]), req["jobName"]
    assert req["jobQueue"] and req["jobDefinition"]
    if jobdef is not None:
        assert req["jobDefinition"] == jobdef["jobDefinitionName"]
    array = req.get("arrayProperties")
    if array is not None:
        assert 2 <= array["size"] <= 10_000
    deps = req.get("dependsOn", [])
    assert len(deps) <= 20
    for d in deps:
        assert set(d) <= {"jobId", "type"}
        if d.get("type") == "SEQUENTIAL":
            assert "jobId" not in d and array is not None
        elif d.get("type") == "N_TO_N":
            assert d["jobId"] and array is not None
        else:
            assert d.get("type") is None and d["jobId"]
    if "timeout" in req:
        assert req["timeout"]["attemptDurationSeconds"] >= 60
    retry = req.get("retryStrategy")
    if retry is not None:
        assert 1 <= retry["attempts"] <= 10
        rules = retry.get("evaluateOnExit", [])
        assert len(rules) <= 5
        for rule in rules:
            assert rule["action"].upper() in ("RETRY", "EXIT")
            assert set(rule) - {"action"} and set(rule) <= {"action", "onStatusReason",
                                                          "onReason", "onExitCode"}
            for key in ("onStatusReason", "onReason"):
                if key in rule:
                    assert len(rule[key]) <= 512 and GLOB_REASON_RE.match(rule[key]), rule
            if "onExitCode" in rule:
                assert GLOB_EXIT_RE.match(rule["onExitCode"])
        if rules:  # no match = retry: the list must end with a catch-all EXIT
            assert rules[-1] == {"onReason": "*", "action": "EXIT"}
    assert ("containerOverrides" in req) != ("nodeOverrides" in req), \
        "Container overrides and node overrides are mutually exclusive"
    if "nodeOverrides" in req:
        assert array is None, "Multinode Array Job not supported"
        no = req["nodeOverrides"]
        assert no["numNodes"] >= 2
        overrides = [o["containerOverrides"] for o in no["nodePropertyOverrides"]]
        for o in no["nodePropertyOverrides"]:
            assert re.match(r"^\d*:\d*$", o["targetNodes"])
    else:
        overrides = [req["containerOverrides"]]
    for o in overrides:
        for e in o.get("environment", []):
            assert not e["name"].startswith("AWS_BATCH"), e["name"]
            assert e["value"] is not None
        assert all(x != "" for x in o.get("command", ["x"]))
        for r in o.get("resourceRequirements", []):
            assert r["type"] in ("GPU", "MEMORY", "VCPU") and r["value"].isdigit()
        rr = {r["type"]: int(r["value"]) for r in o.get("resourceRequirements", [])}
        assert rr.get("VCPU", 1) >= 1 and rr.get("MEMORY", 4) >= 4
    tags = req.get("tags", {})
    assert 1 <= len(tags) <= 50
    if req.get("propagateTags") and jobdef is not None:
        assert len(set(tags) | set(jobdef.get("tags", {}))) <= 50
    for k, v in tags.items():
        assert 1 <= len(k) <= 128 and not k.lower().startswith("aws:")
        assert len(v) <= 256 and TAG_VALUE_RE.match(v), (k, v)
    assert T.request_size(req) <= T.SUBMIT_LIMIT
    # ECS RunTask: 8192 characters of overrides, Batch's own AWS_BATCH_* variables included
    assert T.overrides_size(req) + T.BATCH_OVERRIDES_RESERVE <= 8192
    if job_ids is not None:
        _botocore_check("SubmitJob", req)


def assert_valid_plan(p: T.BatchPlan) -> None:
    assert_valid_job_definition(p.job_definition)
    assert p.job_definition["jobDefinitionName"] == p.job_definition_name
    assert len(p.submits) == len(p.chunk_offsets) == len(p.submit_refs) == len(p.chunk_sizes)
    ids = [FAKE_BATCH_ID[:-4] + f"{i:04d}" for i in range(len(p.submits))]
    for i, req in enumerate(p.submits):
        assert all(r < i for r in p.submit_refs[i]), "a submit may only name earlier ones"
        assert_valid_submit(req, p.job_definition, ids)
        assert T.request_size(req) <= T.SUBMIT_BUDGET and T.fits(req)
        size = req.get("arrayProperties", {}).get("size", 1)
        assert size == p.chunk_sizes[i]
    if p.hold_for_dependencies:
        assert not p.native_dependency_ids
        assert all(not any("jobId" in d and not d["jobId"].startswith("{{")
                           for d in r.get("dependsOn", [])) for r in p.submits)


# ------------------------------------------------------------------ golden files

def _env_of(req: dict) -> list[dict]:
    if "containerOverrides" in req:
        return req["containerOverrides"]["environment"]
    return req["nodeOverrides"]["nodePropertyOverrides"][0]["containerOverrides"]["environment"]


def golden_view(p: T.BatchPlan) -> dict:
    """The plan as a golden file shows it: the exact requests, except that the inline job
    descriptor (base64(zlib(JSON)), whose bytes depend on the zlib build) is shown decoded."""
    submits = json.loads(json.dumps(p.submits))
    for i, req in enumerate(submits):
        for item in _env_of(req):
            if item["name"] == T.ENV_JOB:
                assert decode_inline(item["value"]) == p.descriptors[i]
                item["value"] = f"<base64(zlib(descriptors[{i}]))>"
    uploads = {}
    for key, body in sorted(p.uploads.items()):
        data = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
        uploads[key] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    descriptors = json.loads(json.dumps(p.descriptors))
    for d in descriptors:   # a multi-node job's agent secret: random by design
        if "agent_token" in d:
            assert re.fullmatch(r"[0-9a-f]{32}", d["agent_token"])
            d["agent_token"] = "<random>"
    return {
        "RegisterJobDefinition": p.job_definition,
        "SubmitJob": submits,
        "descriptors": descriptors,
        "plan": {
            "job_definition_name": p.job_definition_name,
            "job_queue": p.job_queue,
            "hold_for_dependencies": p.hold_for_dependencies,
            "native_dependency_ids": p.native_dependency_ids,
            "chunk_offsets": p.chunk_offsets,
            "chunk_sizes": p.chunk_sizes,
            "submit_refs": p.submit_refs,
            "throttle_layout": p.throttle_layout,
            "delivery": p.delivery,
            "stage_key": p.stage_key,
            "runtime_key": p.runtime_key,
            "uploads": uploads,
            "warnings": p.warnings,
            "vcpus": p.vcpus, "memory": p.memory, "gpus": p.gpus, "efa": p.efa,
            "num_nodes": p.num_nodes, "node_names": p.node_names,
        },
    }


def check_golden(name: str, data: dict) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"missing golden file {path}: run with UPDATE_GOLDEN=1"
    expected = json.loads(path.read_text())
    assert json.loads(text) == expected, f"{path} differs (UPDATE_GOLDEN=1 to regenerate)"


GOLDEN_CASES = {
    "plain": dict(argv=()),
    "n4_c2_mem8g": dict(argv=("-n4", "-c2", "--mem=8G")),
    "gpu_a100_2": dict(argv=("--gres=gpu:a100:2", "-c8"), part=GPU),
    "array_1_5_9-11_throttle2": dict(argv=("--array=1,5,9-11%2",)),
    "array_0-49999_chunks": dict(argv=("--array=0-49999",)),
    "mnp_n4_spot_mnp_queue": dict(argv=("-N4", "--ntasks-per-node=8", "--time=2:00:00"),
                                  part=SPOT),
    "mnp_n2_efa": dict(argv=("-N2", "--ntasks-per-node=96", "--exclusive"), part=EFA),
    "mnp_n2_p5_configured": dict(argv=("-N2", "--gres=gpu:h100:8", "--ntasks-per-node=8"),
                                 part=P5),
    "time_30_seconds": dict(argv=("--time=0:30",)),
    "no_requeue_spot": dict(argv=("--no-requeue",), part=SPOT),
    "afterok_native": dict(argv=("--dependency=afterok:7:8",),
                           native={7: ["batch-7"], 8: ["batch-8a", "batch-8b"]}),
    "afterany_held": dict(argv=("--dependency=afterany:7",), native={7: ["batch-7"]}),
    "big_script_staged": dict(argv=("-J", "big job!",), script=big_script(),
                              bundle=BIG_BUNDLE),
    "runtime_staged": dict(argv=("--array=0-3", "-o", "/fsx/u/out-%A_%a.txt"),
                           bundle=BIG_BUNDLE),
}


def golden_plan(case: dict) -> T.BatchPlan:
    kw = dict(case)
    argv = kw.pop("argv")
    return plan(*argv, **kw)


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_requests(name):
    p = golden_plan(GOLDEN_CASES[name])
    assert_valid_plan(p)
    check_golden(name, golden_view(p))


def test_no_stray_golden_files():
    if os.environ.get("UPDATE_GOLDEN") == "1":
        pytest.skip("regenerating")
    have = {p.stem for p in GOLDEN.glob("*.json")}
    assert have == set(GOLDEN_CASES)


# ------------------------------------------------------------------ every plan is legal Batch

MATRIX = [
    ((), CPU), (("-n4", "-c2", "--mem=8G"), CPU), (("--array=0-10000",), CPU),
    (("--array=0-20000:2%3",), CPU), (("--array=0-99%10",), CPU), (("--array=0-99999%7",), CPU),
    (("--array=0-49999%2",), CPU), (("--array=0-49999%1000",), CPU),
    (("--array=0-49999%20000",), CPU), (("--array=5-6%1",), CPU), (("--array=0-20%1",), CPU),
    (("--array=7",), CPU), (("-N3", "-n7"), CPU), (("-N2", "-C", "efa"), EFA),
    (("-C", "efa"), EFA), (("--gpus-per-task=1", "-n4"), GPU), (("-G", "3", "-N2"), GPU),
    (("--mem-per-gpu=10G", "--gpus-per-node=a100:2"), GPU), (("--time=UNLIMITED",), SPOT),
    (("--requeue",), CPU), (("-J", "-x y/z"), CPU), (("--exclusive",), CPU),
    (("--array=0-3", "--dependency=aftercorr:7"), CPU),
]


@pytest.mark.parametrize("argv,part", MATRIX, ids=lambda v: " ".join(v) if isinstance(v, tuple)
                         else v.name)
def test_every_plan_satisfies_batch_constraints(argv, part):
    p = plan(*argv, part=part, native={7: ["t0"]})
    assert_valid_plan(p)


def test_the_constraint_checker_catches_violations():
    good = plan("--array=0-3").submits[0]
    assert_valid_submit(good)
    bad_cases = [
        dict(good, jobName="-x"), dict(good, jobName="a b"), dict(good, jobName="x" * 129),
        dict(good, arrayProperties={"size": 1}), dict(good, arrayProperties={"size": 10001}),
        dict(good, dependsOn=[{"jobId": str(i)} for i in range(21)]),
        dict(good, timeout={"attemptDurationSeconds": 59}),
        dict(good, retryStrategy={"attempts": 11}), dict(good, retryStrategy={"attempts": 0}),
        dict(good, retryStrategy={"attempts": 3, "evaluateOnExit": [
            {"onStatusReason": "Host EC2 (instance*", "action": "RETRY"},
            {"onReason": "*", "action": "EXIT"}]}),
        dict(good, retryStrategy={"attempts": 3, "evaluateOnExit": [
            {"onStatusReason": "Host EC2*", "action": "RETRY"}]}),
        dict(good, retryStrategy={"attempts": 3, "evaluateOnExit": [
            {"onReason": "*", "action": "EXIT"}] * 6}),
        dict(good, nodeOverrides={"numNodes": 2, "nodePropertyOverrides": []}),
        dict(good, tags={f"k{i}": "v" for i in range(51)}),
        dict(good, tags={"slurmshim:name": "a,b"}),
        dict(good, containerOverrides={"environment": [{"name": "AWS_BATCH_X", "value": "1"}]}),
        dict(good, containerOverrides={"environment": [{"name": "BIG", "value": "x" * 31000}]}),
        dict(good, containerOverrides={"environment": [{"name": "MID", "value": "x" * 7000}]}),
    ]
    for bad in bad_cases:
        with pytest.raises(AssertionError):
            assert_valid_submit(bad)


def test_sizes_are_measured_as_botocore_sends_them():
    pytest.importorskip("botocore")
    from botocore.serialize import create_serializer
    import botocore.session
    model = botocore.session.get_session().get_service_model("batch")
    req = plan("--array=0-3").submits[0]
    body = create_serializer("rest-json").serialize_to_request(
        req, model.operation_model("SubmitJob"))["body"]
    assert len(body) == T.request_size(req)


# ------------------------------------------------------------------ arrays and chunks

def test_fifty_thousand_tasks_take_five_submit_calls():
    p = plan("--array=0-49999")
    assert len(p.submits) == 5 <= 6
    assert p.chunk_offsets == [0, 10000, 20000, 30000, 40000]
    assert [r["arrayProperties"]["size"] for r in p.submits] == [10000] * 5
    assert [d["array"]["offset"] for d in p.descriptors] == p.chunk_offsets
    assert all("dependsOn" not in r for r in p.submits)
    # one Slurm array id and the full index list in every chunk's descriptor
    assert {d["job_id"] for d in p.descriptors} == {100}
    assert {d["array"]["indices"] for d in p.descriptors} == {"0-49999"}


def test_chunk_positions_map_to_the_right_slurm_tasks():
    spec_indices = [3] + list(range(10, 30010, 3))  # 10,001 tasks, uneven indices
    text = "3," + "10-30007:3"
    p = plan(f"--array={text}")
    assert p.chunk_sizes == [10000, 1]
    assert "arrayProperties" not in p.submits[1]  # a chunk of one is a plain job
    seen = []
    for desc, size in zip(p.descriptors, p.chunk_sizes):
        for child in ([None] if size == 1 else [0, 1, size - 1]):
            ids = task_ids(desc, {"array_index": child})
            seen.append((ids["position"], ids["array_task_id"]))
    assert seen == [(0, 3), (1, 10), (9999, spec_indices[9999]), (10000, spec_indices[10000])]


def test_single_task_array_is_a_plain_job_with_array_variables():
    p = plan("--array=7")
    assert len(p.submits) == 1 and "arrayProperties" not in p.submits[0]
    assert task_ids(p.descriptors[0], {"array_index": None})["array_task_id"] == 7


# ------------------------------------------------------------------ %N throttle

def simulate(p: T.BatchPlan, fail: int | None = None):
    """Batch's scheduling semantics for the plan's submits, with unit-length tasks and unlimited
    capacity: returns (max tasks running at once, positions that ran, positions Batch failed
    as 'Dependent Job failed').  SEQUENTIAL: child i after child i-1; N_TO_N: child i after
    child i of the named job; plain jobId: after the whole named job (every child).  A task
    runs one round after the last task it waits for; a failure fails every task that waits
    on it, directly or not, without running it."""
    level: list[list[int]] = []    # per submit, per child: the round it runs in
    state: list[list[str]] = []    # "ok" | "failed" (ran) | "depfail" (never ran)
    for s, req in enumerate(p.submits):
        size, off = p.chunk_sizes[s], p.chunk_offsets[s]
        rules = []  # (kind, submit it names)
        for d in req.get("dependsOn", []):
            m = re.match(r"^\{\{submit\[(\d+)\]\.jobId\}\}$", d.get("jobId", ""))
            kind = d.get("type") or "ALL"
            rules.append((kind, int(m.group(1)) if m else None))
            if kind == "ALL":  # waits for every child of the named job
                r = int(m.group(1))
                rules[-1] = ("ALL", (max(level[r]), any(x != "ok" for x in state[r])))
        lv, st = [0] * size, [""] * size
        for c in range(size):
            waits: list[tuple[int, bool]] = []   # (round of the awaited task, it did not succeed)
            for kind, arg in rules:
                if kind == "SEQUENTIAL":
                    if c:
                        waits.append((lv[c - 1], st[c - 1] != "ok"))
                elif kind == "N_TO_N":
                    waits.append((level[arg][c], state[arg][c] != "ok"))
                else:
                    waits.append(arg)
            lv[c] = 1 + max((w for w, _bad in waits), default=0)
            if any(bad for _w, bad in waits):
                st[c] = "depfail"
            else:
                st[c] = "failed" if off + c == fail else "ok"
        level.append(lv)
        state.append(st)
    counts: dict[int, int] = {}
    ran, depfail = [], []
    for s in range(len(p.submits)):
        for c in range(p.chunk_sizes[s]):
            pos = p.chunk_offsets[s] + c
            if state[s][c] == "depfail":
                depfail.append(pos)
            else:
                ran.append(pos)
                counts[level[s][c]] = counts.get(level[s][c], 0) + 1
    return max(counts.values(), default=0), sorted(ran), sorted(depfail)


@pytest.mark.parametrize("count,throttle", [(5, 2), (100, 10), (100, 1), (101, 7), (25000, 2),
                                            (30001, 3), (50000, 1000), (20000, 15000),
                                            (12, 5), (10001, 10000)])
def test_throttle_limits_concurrency_and_runs_every_task(count, throttle):
    p = plan(f"--array=0-{count - 1}%{throttle}")
    assert_valid_plan(p)
    assert p.throttle_layout in ("chains", "waves")
    assert len(p.submits) == T.throttle_submit_count(count, throttle)
    peak, ran, depfail = simulate(p)
    assert peak <= throttle
    assert peak == throttle, "the throttle should not slow the array further"
    assert ran == list(range(count)) and not depfail
    assert all(r["tags"]["slurmshim:throttle"] == str(throttle) for r in p.submits)


def test_throttle_picks_the_cheaper_layout():
    assert plan("--array=0-49999%2").throttle_layout == "chains"
    assert len(plan("--array=0-49999%2").submits) == 6
    assert plan("--array=0-49999%1000").throttle_layout == "waves"
    assert len(plan("--array=0-49999%1000").submits) == 50
    assert plan("--array=0-9%10").throttle_layout is None  # %N >= tasks: nothing to limit


@pytest.mark.parametrize("spec_text,fail,expect_blocked", [
    # chains: 10 tasks %2 -> chains [0-4] and [5-9]; position 2 fails -> 3, 4 never run
    ("0-9%2", 2, [3, 4]),
    # waves: 12 tasks %5 -> chains i, i+5, i+10; position 1 fails -> 6, 11 never run
    ("0-11%5", 1, [6, 11]),
])
def test_throttle_failure_stops_only_the_failed_tasks_chain(spec_text, fail, expect_blocked):
    p = plan(f"--array={spec_text}")
    _peak, ran, depfail = simulate(p, fail=fail)
    assert depfail == expect_blocked
    assert sorted(ran + depfail) == list(range(len(ran) + len(depfail)))


def test_throttled_array_with_native_dependency_puts_it_on_the_chain_heads():
    p = plan("--array=0-9%2", "--dependency=afterok:7", native={7: ["t7"]})
    heads = [i for i, refs in enumerate(p.submit_refs) if not refs]
    for i, req in enumerate(p.submits):
        has = {"jobId": "t7"} in req.get("dependsOn", [])
        assert has == (i in heads)


# ------------------------------------------------------------------ dependencies

def deps_of(p: T.BatchPlan) -> list[list[dict]]:
    return [r.get("dependsOn", []) for r in p.submits]


def test_afterok_on_batch_jobs_is_native():
    p = plan("--dependency=afterok:7:8", native={7: ["a"], 8: ["b1", "b2"]})
    assert not p.hold_for_dependencies
    assert deps_of(p) == [[{"jobId": "a"}, {"jobId": "b1"}, {"jobId": "b2"}]]
    assert p.native_dependency_ids == ["a", "b1", "b2"]


def test_afterok_on_every_chunk_of_an_array():
    p = plan("--array=0-19999", "--dependency=afterok:7", native={7: ["a"]})
    assert deps_of(p) == [[{"jobId": "a"}], [{"jobId": "a"}]]


def test_satisfied_dependency_needs_nothing():
    p = plan("--dependency=afterok:7", native={7: []})
    assert not p.hold_for_dependencies and deps_of(p) == [[]]


def test_aftercorr_between_equally_split_arrays_is_n_to_n():
    p = plan("--array=0-14999", "--dependency=aftercorr:7", native={7: ["c0", "c1"]})
    assert deps_of(p) == [[{"jobId": "c0", "type": "N_TO_N"}],
                          [{"jobId": "c1", "type": "N_TO_N"}]]


@pytest.mark.parametrize("argv,native", [
    (("--dependency=afterany:7",), {7: ["a"]}),
    (("--dependency=afternotok:7",), {7: ["a"]}),
    (("--dependency=after:7",), {7: ["a"]}),
    (("--dependency=afterok:7+5",), {7: ["a"]}),
    (("--dependency=afterok:7_3",), {7: ["a"]}),
    (("--dependency=singleton",), {}),
    (("--dependency=afterok:7?afterok:8",), {7: ["a"], 8: ["b"]}),
    (("--dependency=afterok:7",), {}),                     # target not on Batch yet
    (("--dependency=afterok:7",), None),
    (("--dependency=afterok:7",), {7: [f"id{i}" for i in range(21)]}),
    (("--array=0-14999", "--dependency=aftercorr:7"), {7: ["only-one"]}),
    (("--array=0-9%2", "--dependency=aftercorr:7"), {7: ["a"]}),
    (("--dependency=aftercorr:7",), {7: ["a"]}),           # not an array
])
def test_other_dependencies_are_held_by_slurmshim(argv, native):
    p = plan(*argv, native=native)
    assert p.hold_for_dependencies and p.hold_reason
    assert p.native_dependency_ids == []
    assert all("jobId" not in d or d["jobId"].startswith("{{") for r in deps_of(p) for d in r)
    released = plan(*argv, native=native, ignore_dependency=True)
    assert not released.hold_for_dependencies
    assert released.submits == p.submits


# ------------------------------------------------------------------ refusals

def test_multinode_on_spot_without_mnp_queue_is_refused():
    with pytest.raises(SubmitError) as exc:
        plan("-N2", part=SPOT_NO_MNP)
    assert exc.value.reason == "Requested node configuration is not available"
    assert "Spot" in exc.value.message and "mnp_queue" in exc.value.message
    assert exc.value.render("sbatch").endswith(
        "sbatch: error: Batch job submission failed: Requested node configuration is not "
        "available\n")


def test_multinode_array_is_refused_as_batch_refuses_it():
    with pytest.raises(SubmitError) as exc:
        plan("-N2", "--array=0-3", part=SPOT)
    assert exc.value.reason == "Multinode Array Job not supported"


@pytest.mark.parametrize("argv,part,reason", [
    (("--gres=gpu:v100:1",), GPU, "Requested node configuration is not available"),
    (("--gpus=h100:1",), GPU, "Requested node configuration is not available"),
    (("--gres=gpu:a100:1",), CPU, "Requested node configuration is not available"),
    (("-C", "efa"), CPU, "Invalid feature specification"),
])
def test_unrunnable_requests_get_slurm_errors(argv, part, reason):
    with pytest.raises(SubmitError) as exc:
        plan(*argv, part=part)
    assert exc.value.reason == reason


def test_no_image_anywhere_is_a_clear_error():
    with pytest.raises(SubmitError) as exc:
        plan(aws=AwsSettings(s3_bucket="b"))
    assert "no container image" in exc.value.message


def test_validate_returns_warnings_for_approximations():
    spec = make_spec("-C", "bigmem&efa", "--exclusive", "--time=0:20", "--mem=0")
    warnings = T.validate_for_batch(spec, EFA, AWS)
    text = "\n".join(warnings)
    assert all(w.startswith("sbatch: warning: ") for w in warnings)
    assert "bigmem" in text and "--exclusive" in text and "--mem=0" in text
    assert "--time=0:20 rounded up to AWS Batch's 60 second minimum" in text


# ------------------------------------------------------------------ routing and resources

@pytest.mark.parametrize("argv,part,queue,multinode", [
    ((), SPOT, "spot-q", False), (("-N4",), SPOT, "od-q", True), (("-N2",), CPU, "cpu-q", True),
    (("--array=0-3",), SPOT, "spot-q", False),
])
def test_queue_routing(argv, part, queue, multinode):
    p = plan(*argv, part=part)
    assert p.job_queue == queue and all(r["jobQueue"] == queue for r in p.submits)
    assert p.multinode == multinode
    assert p.job_definition["type"] == ("multinode" if multinode else "container")


@pytest.mark.parametrize("argv,part,vcpus,memory,gpus", [
    ((), CPU, 1, 2048, 0),
    (("-n4", "-c2", "--mem=8G"), CPU, 8, 8192, 0),
    (("-c4", "--mem-per-cpu=1500"), CPU, 4, 6000, 0),
    (("--mem-per-gpu=10G", "--gpus-per-node=a100:2"), GPU, 1, 20480, 2),
    (("--gres=gpu:a100:4", "-c16"), GPU, 16, 32768, 4),
    (("--gpus-per-task=1", "-n4"), GPU, 4, 8192, 4),
    (("-G", "a100:3", "-N2"), GPU, 1, 2048, 2),
    (("-N2", "-n8"), CPU, 4, 8192, 0),
    (("-N2", "--ntasks-per-node=3", "-c2"), CPU, 6, 12288, 0),
    (("--exclusive",), CPU, 16, 64000, 0),
    (("--mem=0",), CPU, 1, 64000, 0),
    (("-c16",), CPU, 16, 32768, 0),
    (("-c64",), Partition(name="small", backend="batch", job_queue="q", cpus_per_node=64,
                          mem_per_node=100000), 64, 100000, 0),  # default capped at the node
    ((), Partition(name="dm", backend="batch", job_queue="q", def_mem_per_cpu=3000,
                   mem_per_node=64000), 1, 3000, 0),
])
def test_resources(argv, part, vcpus, memory, gpus):
    p = plan(*argv, part=part)
    assert (p.vcpus, p.memory, p.gpus) == (vcpus, memory, gpus)
    over = p.submits[0].get("containerOverrides") or \
        p.submits[0]["nodeOverrides"]["nodePropertyOverrides"][0]["containerOverrides"]
    rr = {r["type"]: int(r["value"]) for r in over["resourceRequirements"]}
    assert rr == dict({"VCPU": vcpus, "MEMORY": memory}, **({"GPU": gpus} if gpus else {}))


def test_job_definition_is_shared_across_job_shapes():
    names = {plan(*a).job_definition_name for a in
             [(), ("-n4", "-c2", "--mem=8G"), ("--array=0-9",), ("--time=5",), ("--no-requeue",)]}
    assert len(names) == 1
    assert plan(part=GPU).job_definition_name not in names  # another image
    assert plan("-N2").job_definition_name not in names      # multinode


def test_job_definition_hash_is_content_only():
    jd = plan().job_definition
    assert T.job_definition_hash(jd) == T.job_definition_hash(dict(jd, jobDefinitionName="x"))
    assert jd["jobDefinitionName"] == "slurmshim-" + T.job_definition_hash(jd)
    other = json.loads(json.dumps(jd))
    other["containerProperties"]["image"] = "other:2"
    assert T.job_definition_hash(other) != T.job_definition_hash(jd)


def test_efa_multinode_gets_devices_memlock_one_instance_type_and_runtime_flag():
    p = plan("-N2", part=EFA)
    rng = p.job_definition["nodeProperties"]["nodeRangeProperties"][0]
    assert rng["targetNodes"] == "0:" and rng["instanceTypes"] == ["hpc7a.48xlarge"]
    c = rng["container"]
    assert c["linuxParameters"]["initProcessEnabled"] is True
    assert c["linuxParameters"]["devices"] == [{
        "hostPath": "/dev/infiniband/uverbs0", "containerPath": "/dev/infiniband/uverbs0",
        "permissions": ["READ", "WRITE", "MKNOD"]}]
    assert c["ulimits"] == [{"name": "memlock", "softLimit": -1, "hardLimit": -1}]
    assert p.descriptors[0]["efa"] is True and p.efa
    assert p.submits[0]["nodeOverrides"]["numNodes"] == 2
    single = plan(part=EFA)  # single node on an EFA partition: no EFA devices
    assert "devices" not in single.job_definition["containerProperties"]["linuxParameters"]
    assert single.descriptors[0]["efa"] is False
    asked = plan("-C", "efa", part=EFA)
    assert "devices" in asked.job_definition["containerProperties"]["linuxParameters"]


def test_configured_batch_keys_reach_the_job_definition():
    """efa_devices, instance_type and job_role_arn from the TOML partition table; the role of
    [aws] job_role_arn when the partition names none."""
    node = plan("-N2", part=P5).job_definition["nodeProperties"]["nodeRangeProperties"][0]
    assert node["instanceTypes"] == ["p5.48xlarge"]
    assert len(node["container"]["linuxParameters"]["devices"]) == 32
    assert node["container"]["jobRoleArn"] == "arn:aws:iam::123456789012:role/slurmshim-p5-job"
    single = plan("--gres=gpu:h100:1", part=P5).job_definition
    assert "nodeProperties" not in single   # one instance type is an MNP setting only
    assert single["containerProperties"]["jobRoleArn"].endswith("role/slurmshim-p5-job")
    site_role = AwsSettings(region="us-east-1", image="i",
                            job_role_arn="arn:aws:iam::123456789012:role/site-default")
    assert plan(aws=site_role).job_definition["containerProperties"]["jobRoleArn"] == \
        "arn:aws:iam::123456789012:role/site-default"
    assert plan(part=P5, aws=site_role).job_definition["containerProperties"][
        "jobRoleArn"].endswith("role/slurmshim-p5-job")     # the partition's wins


def test_efa_devices_count_is_configurable():
    part = Partition(name="p5", backend="batch", job_queue="q", efa=True,
                     extra={"efa_devices": 4})
    devs = plan("-N2", part=part).job_definition["nodeProperties"]["nodeRangeProperties"][0][
        "container"]["linuxParameters"]["devices"]
    assert [d["hostPath"] for d in devs] == [f"/dev/infiniband/uverbs{i}" for i in range(4)]


# ------------------------------------------------------------------ time, retries, tags

@pytest.mark.parametrize("argv,part,seconds", [
    (("--time=10",), CPU, 600 + 30 + 60), (("--time=0:30",), CPU, 60 + 30 + 60),
    (("--time=1-00:00:00",), CPU, 86400 + 90), (("--time=UNLIMITED",), CPU, None),
    ((), CPU, None),
    ((), Partition(name="d", backend="batch", job_queue="q", default_time=30), 1800 + 90),
])
def test_time_limit_becomes_a_backstop_timeout(argv, part, seconds):
    p = plan(*argv, part=part)
    assert p.submits[0].get("timeout") == (None if seconds is None else
                                           {"attemptDurationSeconds": seconds})
    assert p.descriptors[0]["enforce_time_limit"] is True


def test_kill_wait_moves_the_backstop():
    assert plan("--time=1", kill_wait=120).submits[0]["timeout"] == {
        "attemptDurationSeconds": 60 + 120 + 60}
    assert plan("--time=1", kill_wait=120).descriptors[0]["kill_wait"] == 120
    assert T.attempt_duration(0, 0) == 60


def test_thirty_second_time_limit_warns():
    p = plan("--time=0:30")
    assert p.warnings == ["sbatch: warning: --time=0:30 rounded up to AWS Batch's 60 second "
                          "minimum (time limit 1 minute)"]
    assert p.descriptors[0]["time_limit"] == 1


@pytest.mark.parametrize("argv,part,attempts", [
    ((), SPOT, 4), (("--no-requeue",), SPOT, 1), ((), CPU, 1), (("--requeue",), CPU, 4),
    ((), Partition(name="s", backend="batch", job_queue="q", spot=True, retries=20), 10),
    ((), Partition(name="s", backend="batch", job_queue="q", spot=True, retries=0), 1),
])
def test_retry_strategy(argv, part, attempts):
    retry = plan(*argv, part=part).submits[0]["retryStrategy"]
    assert retry["attempts"] == attempts
    if attempts > 1:
        assert retry["evaluateOnExit"] == [{"onStatusReason": "Host EC2*", "action": "RETRY"},
                                           {"onReason": "*", "action": "EXIT"}]
    else:
        assert "evaluateOnExit" not in retry


def test_tags():
    spec_argv = ("-J", "My Job (v2)", "-A", "proj:x,y", "--array=0-3")
    tags = plan(*spec_argv).submits[0]["tags"]
    assert tags == {"slurmshim:cluster": "hpc1", "slurmshim:job_id": "100",
                    "slurmshim:user": "alice", "slurmshim:name": "My_Job__v2_",
                    "slurmshim:partition": "cpu", "slurmshim:account": "proj:x_y",
                    "slurmshim:time_limit": "UNLIMITED", "slurmshim:array_offset": "0"}
    assert all(r["propagateTags"] is True for r in plan().submits)


@pytest.mark.parametrize("name,expected", [
    ("job.sh", "job_sh"), ("my job!", "my_job_"), ("_hidden", "hidden"), ("--x", "x"),
    ("", "sbatch"), ("___", "sbatch"), ("a" * 200, "a" * 128), ("über", "ber"),
    ("run-1_ok", "run-1_ok"), ("7", "7"),
])
def test_sanitize_job_name(name, expected):
    out = T.sanitize_job_name(name)
    assert out == expected and JOB_NAME_RE.match(out)


def test_slurm_name_is_kept_in_the_descriptor():
    p = plan("-J", "my job!")
    assert p.submits[0]["jobName"] == "my_job_"
    assert p.descriptors[0]["name"] == "my job!"


# ------------------------------------------------------------------ delivery and sizes

def test_small_job_is_entirely_inline():
    p = plan()
    assert p.delivery == "inline" and p.uploads == {} and p.stage_script is None
    env = {e["name"]: e["value"] for e in _env_of(p.submits[0])}
    assert set(env) == {"SLURMSHIM_JOB", "SLURMSHIM_RUNTIME"}
    assert decode_inline(env["SLURMSHIM_JOB"])["script"] == SCRIPT
    assert env["SLURMSHIM_RUNTIME"] == FAKE_BUNDLE


def test_real_runtime_bundle_is_staged_once_by_content():
    bundle = real_bundle()
    p1, p2 = plan(bundle=bundle), plan("--array=0-9", bundle=bundle, job_id=200)
    assert p1.delivery == "runtime-staged"
    assert p1.runtime_key == p2.runtime_key and p1.runtime_key.startswith("slurmshim/runtime/")
    assert p1.uploads[p1.runtime_key] == base64.b64decode(bundle)
    env = {e["name"]: e["value"] for e in _env_of(p1.submits[0])}
    assert env["SLURMSHIM_RUNTIME_URL"] == f"s3://shim-bucket/{p1.runtime_key}"
    assert env["SLURMSHIM_S3_REGION"] == "us-east-1"
    assert_valid_plan(p1)


def test_big_script_is_staged_gzipped_and_named_in_the_descriptor():
    script = big_script()
    p = plan(script=script, bundle=BIG_BUNDLE)
    assert p.delivery == "script-staged"
    assert p.stage_key == "slurmshim/hpc1/jobs/100/script.gz"
    assert gzip.decompress(p.stage_script).decode() == script
    assert p.uploads[p.stage_key] == p.stage_script
    desc = p.descriptors[0]
    assert desc["script"] is None and desc["script_url"] == f"s3://shim-bucket/{p.stage_key}"
    assert_valid_plan(p)


def test_huge_environment_stages_the_whole_descriptor():
    env = {"PATH": "/usr/bin", "HOME": "/fsx/u"}
    env.update({f"V{i}": hashlib.sha256(str(i).encode()).hexdigest() for i in range(900)})
    p = plan("--array=0-10001", env=env)
    assert p.delivery == "descriptor-staged"
    keys = sorted(k for k in p.uploads if "/job-" in k)
    assert keys == ["slurmshim/hpc1/jobs/100/job-0.json.gz",
                    "slurmshim/hpc1/jobs/100/job-10000.json.gz"]
    staged = json.loads(gzip.decompress(p.uploads[keys[1]]))
    assert staged["array"]["offset"] == 10000 and staged["script"] == SCRIPT
    assert_valid_plan(p)


def test_too_big_without_a_bucket_is_refused():
    with pytest.raises(SubmitError) as exc:
        plan(script=big_script(), aws=AWS_NO_BUCKET)
    assert "s3_bucket" in exc.value.message
    with pytest.raises(SubmitError):
        plan(bundle=real_bundle(), aws=AWS_NO_BUCKET)
    assert plan(bundle=None, aws=AWS_NO_BUCKET).delivery == "inline"  # runtime in the image


def test_mounts_become_volumes_and_paths_are_rewritten():
    aws = AwsSettings(image="img", mounts={"/home": "/mnt/home", "/fsx": "/fsx"})
    spec = make_spec("-o", "/home/alice/out/%j.log", cwd="/home/alice/work")
    spec.partition = "cpu"
    p = T.plan_submission(spec, record_for(spec), CPU, aws, cluster_name="c")
    props = p.job_definition["containerProperties"]
    assert props["volumes"] == [{"name": "slurmshim-0", "host": {"sourcePath": "/fsx"}},
                                {"name": "slurmshim-1", "host": {"sourcePath": "/home"}}]
    assert props["mountPoints"] == [
        {"sourceVolume": "slurmshim-0", "containerPath": "/fsx", "readOnly": False},
        {"sourceVolume": "slurmshim-1", "containerPath": "/mnt/home", "readOnly": False}]
    d = p.descriptors[0]
    assert d["work_dir"] == "/mnt/home/alice/work"
    assert d["output"] == "/mnt/home/alice/out/%j.log"
    assert not p.warnings


def test_output_off_the_shared_filesystems_warns():
    spec = make_spec(cwd="/scratch/alice")
    spec.partition = "cpu"
    expected = ["sbatch: warning: the job's output is not on a filesystem shared with AWS Batch "
                "containers (/fsx): it will only be in CloudWatch Logs (slurmshim output "
                "<job id>)"]
    assert T.validate_for_batch(spec, CPU, AWS) == expected
    assert T.plan_submission(spec, record_for(spec), CPU, AWS, cluster_name="c").warnings == \
        expected
    assert T.validate_for_batch(make_spec("-o", "/fsx/u/o.txt"), CPU, AWS) == []
    assert T.validate_for_batch(make_spec("-o", "/tmp/o.txt"), CPU, AWS) == expected
    assert T.validate_for_batch(spec, CPU, AwsSettings(image="i")) == []  # no mounts at all


def test_container_gets_an_init_process_and_the_job_role():
    props = plan().job_definition["containerProperties"]
    assert props["linuxParameters"] == {"initProcessEnabled": True}
    assert "jobRoleArn" not in props
    part = Partition(name="r", backend="batch", job_queue="q",
                     extra={"job_role_arn": "arn:aws:iam::123456789012:role/slurmshim-job"})
    props = plan(part=part).job_definition["containerProperties"]
    assert props["jobRoleArn"] == "arn:aws:iam::123456789012:role/slurmshim-job"


def test_descriptor_is_set_for_batch():
    d = plan().descriptors[0]
    assert d["tee_output"] is True and d["enforce_time_limit"] is True
    assert d["stage"] is None and d["node_names"] == ["cpu-dy-01"]
    assert d["environment"]["PATH"] == "/usr/bin:/bin"
    assert plan("-N12").descriptors[0]["node_names"][-2:] == ["cpu-node11", "cpu-node12"]


# ------------------------------------------------------------------ test-only report

def test_test_only_report_is_stable_json_with_the_exact_requests():
    p = plan("--array=0-9%2", "--dependency=afterok:7", native={7: ["t7"]})
    text = T.test_only_report(p)
    assert text == T.test_only_report(p)
    data = json.loads(text)
    assert data["RegisterJobDefinition"] == p.job_definition
    assert data["SubmitJob"] == p.submits
    assert data["slurmshim"]["throttleLayout"] == "chains"
    assert data["slurmshim"]["holdReason"] == ""
    assert data["slurmshim"]["descriptor"]["array"]["indices"] == "0-9"
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    staged = json.loads(T.test_only_report(plan(script=big_script(), bundle=BIG_BUNDLE)))
    urls = [u["url"] for u in staged["slurmshim"]["uploads"]]
    assert "s3://shim-bucket/slurmshim/hpc1/jobs/100/script.gz" in urls


def test_resolve_submit_fills_in_earlier_job_ids():
    req = T.resolve_submit({"dependsOn": [{"type": "SEQUENTIAL"},
                                          {"jobId": T.submit_ref(0)},
                                          {"jobId": "x", "type": "N_TO_N"}]}, ["J0"])
    assert req["dependsOn"] == [{"type": "SEQUENTIAL"}, {"jobId": "J0"},
                                {"jobId": "x", "type": "N_TO_N"}]
    p = plan("--array=0-11%5")  # waves: submit 1 waits N_TO_N on submit 0
    assert p.submit_refs[1] == [0]
    resolved = T.resolve_submit(p.submits[1], ["J0", "J1"])
    assert resolved["dependsOn"] == [{"jobId": "J0", "type": "N_TO_N"}]
    assert p.submits[1]["dependsOn"] == [{"jobId": "{{submit[0].jobId}}", "type": "N_TO_N"}]


# ------------------------------------------------------------------ the bootstrap, for real

def _run_bootstrap(env: dict, cwd: str) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    base.update(env)
    return subprocess.run(T.BOOTSTRAP_COMMAND, env=base, cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def _bootstrap_plan(tmp_path, *argv, script, bundle, aws=None):
    spec = make_spec(*argv, script=script, cwd=str(tmp_path))
    spec.partition = "cpu"
    aws = aws or AwsSettings(image="img")
    return T.plan_submission(spec, record_for(spec), CPU, aws, cluster_name="c",
                             runtime_bundle=bundle)


def test_bootstrap_runs_the_job_from_an_inline_runtime(tmp_path):
    bundle = real_bundle()
    script = "#!/bin/sh\necho task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_JOB_ID\nexit 3\n"
    p = _bootstrap_plan(tmp_path, "--array=4,9", script=script, bundle=None)
    env = {e["name"]: e["value"] for e in _env_of(p.submits[0])}
    env.update(SLURMSHIM_RUNTIME=bundle, AWS_BATCH_JOB_ARRAY_INDEX="1",
               AWS_BATCH_JOB_ID="abc:1")
    r = _run_bootstrap(env, "/")  # "/" : slurmshim only comes from the bundle
    assert r.returncode == 3, r.stderr
    assert r.stdout == "task 9 of 100\n"  # tee_output: what CloudWatch Logs sees
    assert (tmp_path / "slurm-100_9.out").read_text() == "task 9 of 100\n"


def test_bootstrap_fetches_staged_runtime_and_script(tmp_path):
    bundle = real_bundle()
    script = big_script(60) + "echo staged ok\n"
    p = _bootstrap_plan(tmp_path, script=script, bundle=bundle,
                        aws=AwsSettings(image="img", s3_bucket="b"))
    assert p.delivery == "script-staged"
    (tmp_path / "rt.zip").write_bytes(p.uploads[p.runtime_key])
    (tmp_path / "script.gz").write_bytes(p.stage_script)
    env = {e["name"]: e["value"] for e in _env_of(p.submits[0])}
    env["SLURMSHIM_RUNTIME_URL"] = f"file://{tmp_path}/rt.zip"
    desc = decode_inline(env["SLURMSHIM_JOB"])
    desc["script_url"] = f"file://{tmp_path}/script.gz"
    env["SLURMSHIM_JOB"] = encode_inline(desc)
    r = _run_bootstrap(env, "/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("staged ok\n")


def test_bootstrap_reports_fetch_failures_and_missing_runtime(tmp_path):
    p = _bootstrap_plan(tmp_path, script="#!/bin/sh\ntrue\n", bundle=None)
    env = {e["name"]: e["value"] for e in _env_of(p.submits[0])}
    r = _run_bootstrap(dict(env, SLURMSHIM_RUNTIME_URL=f"file://{tmp_path}/missing.zip",
                            SLURMSHIM_FETCH_TRIES="1"), "/")
    assert r.returncode == 1
    assert "slurmstepd: error: slurmshim bootstrap: cannot fetch file://" in r.stderr
    # an image without slurmshim installed (-S: not even an editable install of this checkout)
    r = subprocess.run([sys.executable, "-S", "-c", T.BOOTSTRAP_PY], cwd="/", text=True,
                       env=dict(env, PATH=os.environ.get("PATH", "")), capture_output=True)
    assert r.returncode == 1 and "runtime is not available" in r.stderr, r.stderr


def test_bootstrap_downloads_from_s3_with_sigv4(tmp_path):
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    srv = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    srv.start()
    try:
        host, port = srv.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        aws = AwsSettings(image="img", s3_bucket="shim", region="us-east-1",
                          endpoint_url=endpoint)
        script = big_script(60) + "echo from s3\n"
        p = _bootstrap_plan(tmp_path, script=script, bundle=real_bundle(), aws=aws)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket="shim")
        for key, body in p.uploads.items():
            s3.put_object(Bucket="shim", Key=key, Body=body)
        env = {e["name"]: e["value"] for e in _env_of(p.submits[0])}
        assert env["SLURMSHIM_S3_ENDPOINT"] == endpoint
        env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_SESSION_TOKEN="tok")
        r = _run_bootstrap(env, "/")
        assert r.returncode == 0, r.stderr
        assert r.stdout.endswith("from s3\n")
    finally:
        srv.stop()


def test_bootstrap_without_python3_says_so(tmp_path):
    sh = Path("/bin/sh")
    if not sh.exists():  # pragma: no cover
        pytest.skip("no /bin/sh")
    r = subprocess.run(T.BOOTSTRAP_COMMAND, env={"PATH": str(tmp_path)}, capture_output=True,
                       text=True)
    assert r.returncode == 127
    assert "python3 not found in the job image" in r.stderr


def test_modules_are_pure():
    """translate and status never import boto3/botocore (the package __init__ may import the
    backend lazily; these modules themselves must not)."""
    for mod in ("translate", "status"):
        text = (REPO / "slurmshim" / "backends" / "batch" / f"{mod}.py").read_text()
        assert not re.search(r"^\s*(import|from)\s+(boto3|botocore)", text, re.M)
