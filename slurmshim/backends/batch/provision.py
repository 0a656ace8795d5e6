"""AWS calls of the `slurmshim` admin command: what `doctor` looks at and what `migrate --apply`
creates.  The only admin module that imports boto3 (lazily, when the first client is built).

    AwsProbe                  read-only: credentials, queues, compute environments, placement
                              groups, the S3 bucket, the account's default network
    apply_plan(plan, ...)     create the plan's placement groups, compute environments and job
                              queues that do not exist yet; existing ones are left alone (a
                              difference is reported, never "fixed" behind the admin's back), so
                              a second run changes nothing

Endpoints: AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> (botocore reads them), else [aws]
endpoint_url for every service (a test server such as moto answers them all).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ...errors import BackendError, SlurmError
from .client import error_code, map_error, resolve_settings

if TYPE_CHECKING:  # pragma: no cover
    from ...config import AwsSettings


class AwsProbe:
    """Lazily built boto3 clients for batch, ec2, iam, s3 and sts, errors mapped to SlurmError."""

    def __init__(self, aws: "AwsSettings | None" = None, *, environ: dict | None = None,
                 clients: dict[str, Any] | None = None) -> None:
        self.aws = aws
        self.environ = os.environ if environ is None else environ
        self._session = None
        self._clients: dict[str, Any] = dict(clients or {})

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def settings(self) -> dict[str, Any]:
        return resolve_settings(self.aws, dict(self.environ))

    @property
    def region(self) -> str | None:
        if self._session is not None and self._session.region_name:
            return self._session.region_name
        reg = self.settings["region"]
        if reg:
            return reg
        try:
            return self.session.region_name
        except SlurmError:
            return None

    @property
    def session(self):
        if self._session is None:
            import boto3
            s = self.settings
            try:
                self._session = boto3.session.Session(profile_name=s["profile"],
                                                      region_name=s["region"])
            except Exception as exc:
                raise map_error(exc, "configuration") from None
        return self._session

    def client(self, service: str):
        c = self._clients.get(service)
        if c is None:
            from botocore.config import Config
            env = self.environ
            endpoint = None
            if not (env.get(f"AWS_ENDPOINT_URL_{service.upper()}") or env.get("AWS_ENDPOINT_URL")):
                endpoint = (self.aws.endpoint_url if self.aws else None) or None
            cfg = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10,
                         read_timeout=30, user_agent_extra="slurmshim-admin")
            try:
                c = self.session.client(service, endpoint_url=endpoint, config=cfg)
            except Exception as exc:
                raise map_error(exc, "configuration") from None
            self._clients[service] = c
        return c

    def call(self, service: str, operation: str, **params) -> dict:
        import re
        method = getattr(self.client(service), re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower())
        try:
            return method(**params)
        except SlurmError:
            raise
        except Exception as exc:
            err = map_error(exc, operation)
            err.aws_code = error_code(exc)  # type: ignore[attr-defined]
            raise err from exc

    # -- credentials ---------------------------------------------------------------------------
    def credentials(self) -> dict[str, Any]:
        """{"found": bool, "method": str|None, "account": str|None, "arn": str|None,
        "error": str|None}: whether credentials exist and whether STS accepts them."""
        out: dict[str, Any] = {"found": False, "method": None, "account": None, "arn": None,
                               "error": None}
        try:
            creds = self.session.get_credentials()
        except SlurmError as exc:
            out["error"] = exc.message
            return out
        except Exception as exc:  # SSO token missing and the like
            out["error"] = map_error(exc, "credentials").message
            return out
        if creds is None:
            from .client import CREDENTIALS_HELP
            out["error"] = CREDENTIALS_HELP
            return out
        out["found"] = True
        out["method"] = getattr(creds, "method", None)
        try:
            ident = self.call("sts", "GetCallerIdentity")
            out["account"], out["arn"] = ident.get("Account"), ident.get("Arn")
        except SlurmError as exc:
            out["error"] = exc.message
        return out

    # -- Batch ---------------------------------------------------------------------------------
    def job_queues(self, names: Iterable[str]) -> dict[str, dict]:
        """name -> JobQueueDetail for the queues that exist (names or ARNs accepted)."""
        names = [n for n in dict.fromkeys(names) if n]
        out: dict[str, dict] = {}
        for i in range(0, len(names), 100):
            resp = self.call("batch", "DescribeJobQueues", jobQueues=names[i:i + 100])
            for q in resp.get("jobQueues") or []:
                out[q["jobQueueName"]] = q
                out[q["jobQueueArn"]] = q
        return out

    def compute_environments(self, names: Iterable[str]) -> dict[str, dict]:
        names = [n for n in dict.fromkeys(names) if n]
        out: dict[str, dict] = {}
        for i in range(0, len(names), 100):
            resp = self.call("batch", "DescribeComputeEnvironments",
                             computeEnvironments=names[i:i + 100])
            for ce in resp.get("computeEnvironments") or []:
                out[ce["computeEnvironmentName"]] = ce
                out[ce["computeEnvironmentArn"]] = ce
        return out

    # -- EC2 -----------------------------------------------------------------------------------
    def placement_groups(self, names: Iterable[str]) -> dict[str, dict]:
        names = [n for n in dict.fromkeys(names) if n]
        if not names:
            return {}
        resp = self.call("ec2", "DescribePlacementGroups",
                         Filters=[{"Name": "group-name", "Values": names}])
        return {pg["GroupName"]: pg for pg in resp.get("PlacementGroups") or []
                if pg.get("State", "available") not in ("deleted", "deleting")}

    def create_placement_group(self, name: str, strategy: str = "cluster",
                               tags: dict[str, str] | None = None) -> None:
        params: dict[str, Any] = {"GroupName": name, "Strategy": strategy}
        if tags:
            params["TagSpecifications"] = [{"ResourceType": "placement-group", "Tags": [
                {"Key": k, "Value": v} for k, v in tags.items()]}]
        self.call("ec2", "CreatePlacementGroup", **params)

    def default_network(self) -> tuple[list[str], list[str]]:
        """(subnet ids, security group ids) of the default VPC; ([], []) when there is none."""
        vpcs = self.call("ec2", "DescribeVpcs",
                         Filters=[{"Name": "isDefault", "Values": ["true"]}]).get("Vpcs") or []
        if not vpcs:
            return [], []
        vpc = vpcs[0]["VpcId"]
        subnets = self.call("ec2", "DescribeSubnets",
                            Filters=[{"Name": "vpc-id", "Values": [vpc]}]).get("Subnets") or []
        sgs = self.call("ec2", "DescribeSecurityGroups",
                        Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                 {"Name": "group-name", "Values": ["default"]}]
                        ).get("SecurityGroups") or []
        return sorted(s["SubnetId"] for s in subnets), [g["GroupId"] for g in sgs]

    # -- IAM -----------------------------------------------------------------------------------
    def instance_profile_arn(self, name_or_arn: str) -> str | None:
        name = name_or_arn.rsplit("/", 1)[-1]
        try:
            resp = self.call("iam", "GetInstanceProfile", InstanceProfileName=name)
        except SlurmError as exc:
            if getattr(exc, "aws_code", "") in ("NoSuchEntity", "NoSuchEntityException"):
                return None
            raise
        return resp["InstanceProfile"]["Arn"]

    def role_arn(self, name_or_arn: str) -> str | None:
        name = name_or_arn.rsplit("/", 1)[-1]
        try:
            resp = self.call("iam", "GetRole", RoleName=name)
        except SlurmError as exc:
            if getattr(exc, "aws_code", "") in ("NoSuchEntity", "NoSuchEntityException"):
                return None
            raise
        return resp["Role"]["Arn"]

    # -- S3 ------------------------------------------------------------------------------------
    def bucket(self, name: str) -> tuple[bool, str]:
        """(reachable, detail) for an S3 bucket (HeadBucket)."""
        try:
            self.client("s3").head_bucket(Bucket=name)
            return True, "reachable"
        except SlurmError as exc:
            return False, exc.message
        except Exception as exc:
            code = error_code(exc)
            if code in ("404", "NoSuchBucket", "NotFound"):
                return False, "no such bucket"
            if code in ("403", "AccessDenied", "Forbidden"):
                return False, "access denied (HeadBucket returned 403)"
            return False, map_error(exc, "HeadBucket").message


# ---------------------------------------------------------------- migrate --apply

@dataclass
class Action:
    kind: str        # "placement group" | "compute environment" | "job queue"
    name: str
    result: str      # "created" | "exists" | "exists (differs: ...)"
    changed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "result": self.result,
                "changed": self.changed}


@dataclass
class Network:
    subnets: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)
    instance_role: str = ""
    service_role: str | None = None


def resolve_network(probe: AwsProbe, net: dict[str, Any]) -> Network:
    """Fill in what the plan leaves open: the default VPC's subnets and default security group,
    the instance profile's and service role's ARNs.  SlurmError with the fix when something is
    missing."""
    out = Network(subnets=list(net.get("subnets") or []),
                  security_groups=list(net.get("security_groups") or []))
    if not out.subnets or not out.security_groups:
        subnets, sgs = probe.default_network()
        out.subnets = out.subnets or subnets
        out.security_groups = out.security_groups or sgs
    if not out.subnets:
        raise BackendError("no subnets: this account has no default VPC; pass --subnet (and "
                           "--security-group) to slurmshim migrate")
    if not out.security_groups:
        raise BackendError("no security group: pass --security-group to slurmshim migrate")
    role = net.get("instance_role") or "ecsInstanceRole"
    arn = probe.instance_profile_arn(role)
    if arn is None:
        raise BackendError(f"ECS instance profile {role} not found: create it (see the AWS Batch "
                           "user guide, 'Amazon ECS instance role') or pass --instance-role")
    out.instance_role = arn
    if net.get("service_role"):
        srole = probe.role_arn(net["service_role"])
        if srole is None:
            raise BackendError(f"IAM role {net['service_role']} not found (--service-role)")
        out.service_role = srole
    return out


def _ce_request(ce: dict[str, Any], net: Network, cluster: str) -> dict[str, Any]:
    res: dict[str, Any] = {
        "type": ce["type"], "allocationStrategy": ce["allocationStrategy"],
        "minvCpus": ce["minvCpus"], "maxvCpus": ce["maxvCpus"],
        "instanceTypes": list(ce["instanceTypes"]), "subnets": list(net.subnets),
        "securityGroupIds": list(net.security_groups), "instanceRole": net.instance_role,
        "tags": {"slurmshim:cluster": cluster},
    }
    if ce.get("placementGroup"):
        res["placementGroup"] = ce["placementGroup"]
    req: dict[str, Any] = {"computeEnvironmentName": ce["name"], "type": "MANAGED",
                           "state": "ENABLED", "computeResources": res,
                           "tags": {"slurmshim:cluster": cluster}}
    if net.service_role:
        req["serviceRole"] = net.service_role
    return req


def _ce_differences(want: dict[str, Any], have: dict[str, Any]) -> list[str]:
    cr = have.get("computeResources") or {}
    diffs = []
    if cr.get("type") and cr["type"] != want["type"]:
        diffs.append(f"type {cr['type']} (plan {want['type']})")
    if "maxvCpus" in cr and int(cr["maxvCpus"]) != int(want["maxvCpus"]):
        diffs.append(f"maxvCpus {cr['maxvCpus']} (plan {want['maxvCpus']})")
    if cr.get("instanceTypes") and sorted(cr["instanceTypes"]) != sorted(want["instanceTypes"]):
        diffs.append(f"instanceTypes {','.join(cr['instanceTypes'])} "
                     f"(plan {','.join(want['instanceTypes'])})")
    if (cr.get("placementGroup") or None) != (want.get("placementGroup") or None):
        diffs.append(f"placementGroup {cr.get('placementGroup') or 'none'} "
                     f"(plan {want.get('placementGroup') or 'none'})")
    if have.get("state") == "DISABLED":
        diffs.append("state DISABLED")
    return diffs


def _queue_differences(want: dict[str, Any], have: dict[str, Any]) -> list[str]:
    order = sorted(have.get("computeEnvironmentOrder") or [], key=lambda o: o.get("order", 0))
    names = [o["computeEnvironment"].rsplit("/", 1)[-1] for o in order]
    diffs = []
    if names != list(want["computeEnvironments"]):
        diffs.append(f"compute environments {','.join(names)} "
                     f"(plan {','.join(want['computeEnvironments'])})")
    if have.get("state") and have["state"] != want.get("state", "ENABLED"):
        diffs.append(f"state {have['state']} (plan {want.get('state', 'ENABLED')})")
    return diffs


def _wait_valid(probe: AwsProbe, names: list[str], timeout: float) -> None:
    """Batch accepts a compute environment in a queue once it is VALID (CREATING first)."""
    from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_exponential

    def pending() -> list[str]:
        got = probe.compute_environments(names)
        bad = [n for n in names if got.get(n, {}).get("status") == "INVALID"]
        if bad:
            reasons = "; ".join(f"{n}: {got[n].get('statusReason', '')}" for n in bad)
            raise BackendError(f"compute environment INVALID: {reasons}")
        return [n for n in names if got.get(n, {}).get("status") != "VALID"]

    try:
        left = Retrying(stop=stop_after_delay(timeout), reraise=False,
                        wait=wait_exponential(multiplier=0.5, max=10),
                        retry=retry_if_result(bool))(pending)
    except RetryError:
        left = pending()
    if left:
        raise BackendError(f"compute environments not VALID after {int(timeout)} s: "
                           f"{', '.join(left)}")


def plan_steps(plan: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The resources of a plan in creation order: (kind, resource)."""
    return ([("placement group", pg) for pg in plan.get("placement_groups") or []]
            + [("compute environment", ce) for ce in plan.get("compute_environments") or []]
            + [("job queue", q) for q in plan.get("job_queues") or []])


def apply_plan(plan: dict[str, Any], probe: AwsProbe, *,
               on_step: Callable[[str, str], None] | None = None,
               wait_timeout: float = 900.0) -> list[Action]:
    """Create what the plan needs and does not exist.  Idempotent."""
    steps = plan_steps(plan)
    pg_names = [r["name"] for k, r in steps if k == "placement group"]
    ce_names = [r["name"] for k, r in steps if k == "compute environment"]
    q_names = [r["name"] for k, r in steps if k == "job queue"]
    have_pg = probe.placement_groups(pg_names)
    have_ce = probe.compute_environments(ce_names)
    have_q = probe.job_queues(q_names)
    net: Network | None = None
    cluster = str(plan.get("cluster_name") or plan.get("prefix") or "slurm")
    actions: list[Action] = []
    created_ces: list[str] = []
    for kind, res in steps:
        name = res["name"]
        if on_step:
            on_step(kind, name)
        if kind == "placement group":
            if name in have_pg:
                strat = have_pg[name].get("Strategy")
                diff = f" (differs: strategy {strat})" if strat and strat != res["strategy"] else ""
                actions.append(Action(kind, name, "exists" + diff))
                continue
            probe.create_placement_group(name, res["strategy"], {"slurmshim:cluster": cluster})
            actions.append(Action(kind, name, "created", True))
        elif kind == "compute environment":
            if name in have_ce:
                diffs = _ce_differences(res, have_ce[name])
                actions.append(Action(kind, name, "exists" + (
                    f" (differs: {'; '.join(diffs)}; left unchanged)" if diffs else "")))
                continue
            if net is None:
                net = resolve_network(probe, plan.get("network") or {})
            probe.call("batch", "CreateComputeEnvironment", **_ce_request(res, net, cluster))
            created_ces.append(name)
            actions.append(Action(kind, name, "created", True))
        else:
            if name in have_q:
                diffs = _queue_differences(res, have_q[name])
                actions.append(Action(kind, name, "exists" + (
                    f" (differs: {'; '.join(diffs)}; left unchanged)" if diffs else "")))
                continue
            waiting = [c for c in res["computeEnvironments"] if c in created_ces]
            if waiting:
                _wait_valid(probe, waiting, wait_timeout)
                for c in waiting:
                    created_ces.remove(c)
            probe.call("batch", "CreateJobQueue", jobQueueName=name,
                       state=res.get("state", "ENABLED"), priority=int(res.get("priority", 10)),
                       computeEnvironmentOrder=[{"order": i + 1, "computeEnvironment": c}
                                                for i, c in enumerate(res["computeEnvironments"])],
                       tags={"slurmshim:cluster": cluster,
                             "slurmshim:partition": str(res.get("partition", ""))})
            actions.append(Action(kind, name, "created", True))
    return actions

