"""`slurmshim doctor`: is this site able to run jobs?  One line per check, OK / WARN / FAIL, and
for anything not OK the fix.  Any FAIL makes the command exit 1.

Checks, in order:

    config        the configuration file parses (or: none, the built-in local partition)
    state dir     the ledger's directory exists or can be created, and is writable
    plugins       every plugin loads (entry points and plugins_dir)
    image         each Batch partition has a container image (partition or [aws] image)
    region        an AWS region is configured
    credentials   AWS credentials are found, and STS accepts them
    queue Q       each job_queue / mnp_queue exists, is VALID and ENABLED
    ce C          each of their compute environments exists, is VALID and ENABLED
    spot P        the partition's `spot` setting matches its compute environments
    multi-node P  a partition with more than one node has an on-demand route for --nodes>1
                  (mnp_queue, or a job_queue without Spot/Fargate compute environments)
    efa P         an EFA partition's multi-node compute environments (mnp_queue, else
                  job_queue) have a cluster placement group that exists
    s3 B          the [aws] s3_bucket is reachable

Nothing AWS is touched (nor boto3 imported) when no partition is on Batch.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import SlurmError
from .output import FAIL, OK, SKIP, WARN


@dataclass
class Check:
    status: str
    name: str
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "check": self.name, "detail": self.detail,
                "fix": self.fix}


def _writable_dir(path: str) -> tuple[bool, str]:
    p = os.path.abspath(path)
    probe = p
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        return False, f"{probe} is not a directory"
    if not os.access(probe, os.W_OK | os.X_OK):
        return False, f"{probe} is not writable"
    return True, p if probe == p else f"{p} (will be created)"


def run_checks(env: dict | None = None,
               probe_factory: Callable[[Any], Any] | None = None) -> list[Check]:
    """Every check, in order.  `probe_factory(aws_settings)` builds the AWS probe (tests may
    pass their own; default slurmshim.backends.batch.provision.AwsProbe)."""
    from .. import config as _config
    env = dict(os.environ) if env is None else env
    checks: list[Check] = []
    try:
        cfg = _config.load_config(env)
    except SlurmError as exc:
        checks.append(Check(FAIL, "config", exc.message,
                            "fix the named key, or run `slurmshim init --force` for a fresh file"))
        return checks
    batch_parts = [p for p in cfg.partitions.values() if p.backend == "batch"]
    where = cfg.path or "built-in default (no configuration file)"
    checks.append(Check(OK, "config", f"{where}: {len(cfg.partitions)} partition(s), "
                        f"{len(batch_parts)} on AWS Batch"))

    ok, detail = _writable_dir(str(_config.state_dir(cfg, env)))
    checks.append(Check(OK if ok else FAIL, "state dir", detail,
                        "" if ok else "set $SLURMSHIM_STATE_DIR or state_dir to a writable "
                        "directory"))

    checks.append(_plugins_check(cfg))

    if not batch_parts:
        checks.append(Check(SKIP, "aws", "no partition uses the Batch backend: nothing to "
                            "check on AWS"))
        return checks

    for p in batch_parts:
        image = p.image or cfg.aws.image
        if image:
            checks.append(Check(OK, f"image {p.name}", image))
        else:
            checks.append(Check(FAIL, f"image {p.name}", "no container image: every job is "
                                "refused", f"set image in [partitions.{p.name}] or [aws]"))

    if probe_factory is None:
        from ..backends.batch.provision import AwsProbe

        def probe_factory(aws):
            return AwsProbe(aws, environ=env)
    probe = probe_factory(cfg.aws)

    region = probe.region
    if region:
        checks.append(Check(OK, "region", region))
    else:
        checks.append(Check(FAIL, "region", "no AWS region configured",
                            "set [aws] region, or AWS_REGION, or a region in your profile"))
        return checks

    creds = probe.credentials()
    if not creds["found"]:
        checks.append(Check(FAIL, "credentials", creds["error"] or "no credentials",
                            "run `aws configure` or `aws sso login`, or set AWS_PROFILE"))
        return checks
    if creds["error"]:
        checks.append(Check(FAIL, "credentials", f"found ({creds['method']}) but rejected: "
                            f"{creds['error']}", "refresh them (`aws sso login`, new keys)"))
        return checks
    checks.append(Check(OK, "credentials", f"{creds['method']}: {creds['arn']}"))

    checks.extend(_batch_checks(cfg, batch_parts, probe))

    if cfg.aws.s3_bucket:
        ok, detail = probe.bucket(cfg.aws.s3_bucket)
        checks.append(Check(OK if ok else FAIL, f"s3 {cfg.aws.s3_bucket}", detail,
                            "" if ok else "create the bucket in this region or fix [aws] "
                            "s3_bucket; the job role needs s3:GetObject on it"))
    else:
        checks.append(_no_bucket_check())
    return checks


def _no_bucket_check() -> Check:
    """Without a bucket, whatever does not fit in SubmitJob's 30 KiB is refused: that is every
    job when the slurmshim runtime itself does not fit (measured, not assumed)."""
    fix = "set [aws] s3_bucket to a bucket the jobs can read"
    try:
        from ..backends.batch.backend import runtime_bundle
        from ..backends.batch.translate import SUBMIT_BUDGET
        size, budget = len(runtime_bundle()), int(SUBMIT_BUDGET)
    except Exception:  # the backend's internals moved: say what is sure
        return Check(WARN, "s3", "no [aws] s3_bucket: scripts too large for a SubmitJob "
                     "request (30 KiB) are refused", fix)
    if size > budget:
        return Check(FAIL, "s3", f"no [aws] s3_bucket: the slurmshim runtime ({size // 1024} "
                     f"KiB) does not fit in a SubmitJob request ({budget // 1024} KiB), so "
                     "every job is refused", fix)
    return Check(WARN, "s3", "no [aws] s3_bucket: scripts too large for a SubmitJob request "
                 f"({budget // 1024} KiB) are refused", fix)


def _plugins_check(cfg) -> Check:
    from .. import plugins as _plugins
    try:
        _plugins.reset()
        loaded = _plugins.loaded_plugins(cfg)
    except SlurmError as exc:
        return Check(FAIL, "plugins", exc.message,
                     "fix the plugin, or leave it out with SLURMSHIM_PLUGINS=<the others>")
    if not loaded:
        return Check(OK, "plugins", "none")
    return Check(OK, "plugins", ", ".join(f"{n} ({len(h)} hooks)" for n, h in loaded))


_ONDEMAND = ("EC2",)


def _ce_type(ce: dict) -> str:
    return str((ce.get("computeResources") or {}).get("type") or
               ("UNMANAGED" if ce.get("type") == "UNMANAGED" else "?"))


def _batch_checks(cfg, parts, probe) -> list[Check]:
    out: list[Check] = []
    queue_names: list[str] = []
    for p in parts:
        for q in (p.job_queue, p.mnp_queue):
            if q and q not in queue_names:
                queue_names.append(q)
    try:
        queues = probe.job_queues(queue_names)
    except SlurmError as exc:
        return [Check(FAIL, "batch", exc.message, "check the region, endpoint and permissions "
                      "(batch:DescribeJobQueues)")]
    ce_names: list[str] = []
    for q in queue_names:
        for o in (queues.get(q) or {}).get("computeEnvironmentOrder") or []:
            if o["computeEnvironment"] not in ce_names:
                ce_names.append(o["computeEnvironment"])
    try:
        ces = probe.compute_environments(ce_names)
    except SlurmError as exc:
        return [Check(FAIL, "batch", exc.message, "check permissions "
                      "(batch:DescribeComputeEnvironments)")]

    used_by = {q: [p.name for p in parts if q in (p.job_queue, p.mnp_queue)] for q in queue_names}
    for q in queue_names:
        d = queues.get(q)
        who = ", ".join(used_by[q])
        if d is None:
            out.append(Check(FAIL, f"queue {q}", f"not found (partition {who})",
                             "create it (`slurmshim migrate --apply`) or fix job_queue/mnp_queue "
                             f"in [partitions.{used_by[q][0]}]"))
            continue
        problems = []
        if d.get("status") != "VALID":
            problems.append(f"status {d.get('status')}: {d.get('statusReason', '')}".rstrip(": "))
        if d.get("state") != "ENABLED":
            problems.append(f"state {d.get('state')}")
        if not d.get("computeEnvironmentOrder"):
            problems.append("no compute environment")
        if problems:
            out.append(Check(FAIL, f"queue {q}", "; ".join(problems),
                             f"aws batch update-job-queue --job-queue {q} --state ENABLED "
                             "(and fix its compute environments)"))
        else:
            n = len(d["computeEnvironmentOrder"])
            out.append(Check(OK, f"queue {q}", f"VALID, ENABLED, {n} compute environment(s) "
                             f"(partition {who})"))
    seen: set[str] = set()
    for name in ce_names:
        d = ces.get(name)
        short = name.rsplit("/", 1)[-1]
        if short in seen:
            continue
        seen.add(short)
        if d is None:
            out.append(Check(FAIL, f"ce {short}", "not found",
                             "create it or remove it from the queue's compute environment order"))
            continue
        problems = []
        if d.get("status") != "VALID":
            problems.append(f"status {d.get('status')}: {d.get('statusReason', '')}".rstrip(": "))
        if d.get("state") != "ENABLED":
            problems.append(f"state {d.get('state')}")
        cr = d.get("computeResources") or {}
        if problems:
            out.append(Check(FAIL, f"ce {short}", "; ".join(problems),
                             f"aws batch update-compute-environment --compute-environment "
                             f"{short} --state ENABLED (an INVALID one: read its statusReason)"))
        else:
            out.append(Check(OK, f"ce {short}", f"VALID, ENABLED, {_ce_type(d)}, "
                             f"maxvCpus {cr.get('maxvCpus', '?')}"))

    def ces_of(q: str | None) -> list[dict] | None:
        if not q or q not in queues:
            return None
        return [ces[o["computeEnvironment"]] for o in queues[q].get("computeEnvironmentOrder") or []
                if o["computeEnvironment"] in ces]

    for p in parts:
        main = ces_of(p.job_queue)
        if main:
            types = {_ce_type(c) for c in main}
            spotty = bool(types & {"SPOT", "FARGATE_SPOT"})
            if spotty and not p.spot:
                out.append(Check(WARN, f"spot {p.name}", f"queue {p.job_queue} runs on Spot but "
                                 "spot = false: reclaimed jobs are not retried",
                                 f"set spot = true in [partitions.{p.name}]"))
            elif p.spot and not spotty:
                out.append(Check(WARN, f"spot {p.name}", f"spot = true but queue {p.job_queue} "
                                 f"has no Spot compute environment ({', '.join(sorted(types))})",
                                 f"set spot = false in [partitions.{p.name}]"))
            else:
                out.append(Check(OK, f"spot {p.name}",
                                 "Spot, reclaimed jobs retried" if spotty else "on-demand"))
        if p.nodes > 1:
            out.append(_mnp_check(p, ces_of))
        if p.efa:
            out.append(_efa_check(p, ces_of, probe))
    return out


def _mnp_check(p, ces_of) -> Check:
    name = f"multi-node {p.name}"
    if p.mnp_queue:
        route = ces_of(p.mnp_queue)
        if route is None:
            return Check(FAIL, name, f"mnp_queue {p.mnp_queue} not found",
                         "create it on an on-demand (EC2) compute environment")
        bad = sorted({_ce_type(c) for c in route} - set(_ONDEMAND))
        if bad:
            return Check(FAIL, name, f"mnp_queue {p.mnp_queue} uses {', '.join(bad)} compute "
                         "environments: Batch runs multi-node jobs on EC2 on-demand only",
                         f"point mnp_queue of [partitions.{p.name}] at a queue of EC2 "
                         "(on-demand) compute environments")
        return Check(OK, name, f"--nodes>1 goes to {p.mnp_queue} (on-demand)")
    route = ces_of(p.job_queue)
    if route is None:
        return Check(FAIL, name, f"job_queue {p.job_queue} not found", "see the queue check")
    bad = sorted({_ce_type(c) for c in route} - set(_ONDEMAND))
    if bad or p.spot:
        what = ", ".join(bad) if bad else "spot = true"
        return Check(WARN, name, f"no on-demand route: job_queue {p.job_queue} is {what}, so "
                     f"--nodes>1 jobs are refused ({p.nodes} nodes configured)",
                     f"add mnp_queue = \"<on-demand queue>\" to [partitions.{p.name}]")
    return Check(OK, name, f"--nodes>1 runs on {p.job_queue} (on-demand)")


def _efa_check(p, ces_of, probe) -> Check:
    name = f"efa {p.name}"
    # EFA matters between the nodes of a multi-node job: where those run
    route = p.mnp_queue or p.job_queue
    envs: list[dict] = []
    for c in ces_of(route) or []:
        if c not in envs:
            envs.append(c)
    if not envs:
        return Check(FAIL, name, "no compute environment to check", "see the queue checks")
    missing = [c["computeEnvironmentName"] for c in envs
               if not (c.get("computeResources") or {}).get("placementGroup")]
    if missing:
        return Check(FAIL, name, f"no placement group on {', '.join(missing)}: EFA instances "
                     "must share a cluster placement group",
                     "create one (aws ec2 create-placement-group --strategy cluster) and set it "
                     "in the compute environment's computeResources.placementGroup (a new "
                     "compute environment: the field cannot be updated)")
    groups = sorted({(c.get("computeResources") or {})["placementGroup"] for c in envs})
    try:
        found = probe.placement_groups(groups)
    except SlurmError as exc:
        return Check(WARN, name, f"placement group {', '.join(groups)} set; could not "
                     f"describe it: {exc.message}", "allow ec2:DescribePlacementGroups")
    absent = [g for g in groups if g not in found]
    if absent:
        return Check(FAIL, name, f"placement group {', '.join(absent)} does not exist",
                     f"aws ec2 create-placement-group --group-name {absent[0]} "
                     "--strategy cluster")
    not_cluster = [g for g in groups if found[g].get("Strategy") != "cluster"]
    if not_cluster:
        return Check(WARN, name, f"placement group {', '.join(not_cluster)} is not of strategy "
                     "cluster", "EFA needs a cluster placement group")
    return Check(OK, name, f"placement group {', '.join(groups)} (cluster)")
