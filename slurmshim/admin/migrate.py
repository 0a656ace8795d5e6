"""`slurmshim migrate slurm.conf`: a slurm.conf -> a slurmshim configuration plus a plan of the AWS
Batch resources that reproduce the cluster (and, on request, a CloudFormation template of it).

How the plan is laid out:

* **Node classes.**  Nodes are grouped by shape (CPUs, RealMemory, GPUs and type, Features);
  each class gets one instance type (see :mod:`slurmshim.admin.instances`) and two compute
  environments: `<prefix>-<class>-spot` (SPOT, SPOT_PRICE_CAPACITY_OPTIMIZED, the primary type
  plus same-size alternates) and `<prefix>-<class>-od` (EC2 on-demand, BEST_FIT_PROGRESSIVE).
  maxvCpus = nodes in the class x the instance's vCPUs (so every node of the old cluster can
  run at once; never below nodes x CPUs), minvCpus = 0 (nothing runs, nothing is paid).
  Partitions that share nodes share these compute environments, as they share nodes in Slurm.
  Classes with EFA (InfiniBand nodes) get a cluster placement group on their on-demand compute
  environment; classes whose instance has no Spot offer (hpc7a) get no Spot environment.
* **Partitions.**  Each becomes two job queues, `<prefix>-<partition>-spot` over the Spot
  environments of its classes and `<prefix>-<partition>-od` over the on-demand ones (at most 3
  environments per queue, a Batch limit), and a `[partitions.NAME]` table in the configuration:
  `job_queue` = the Spot queue, `mnp_queue` = the on-demand queue (Batch runs multi-node jobs
  on on-demand only), the node names, CPUs, memory, GPUs, MaxTime, DefaultTime, DefMemPerCPU,
  Default and State of the slurm.conf.  `--no-spot` makes on-demand queues only.
* **Global keys.**  ClusterName, MaxArraySize, MinJobAge, KillWait carry over.

The plan (JSON) is what `--apply` creates (idempotently, through
slurmshim.backends.batch.provision) and what `--cloudformation` renders.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..model import INFINITE
from . import instances as _inst
from .slurmconf import NodeGroup, SlurmConf

PLAN_VERSION = 1
MAX_CES_PER_QUEUE = 3
DEFAULT_INSTANCE_ROLE = "ecsInstanceRole"


@dataclass
class MigrateOptions:
    prefix: str | None = None          # resource name prefix (default: ClusterName)
    region: str | None = None
    image: str | None = None
    spot: bool = True
    subnets: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)
    instance_role: str | None = None
    service_role: str | None = None
    bucket: str | None = None


def _name(text: str) -> str:
    """A Batch-safe name part: letters, digits, '-', '_'."""
    s = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-_")
    return s or "x"


def _class_base(group: NodeGroup) -> str:
    first = group.names[0] if group.names else group.expr
    m = re.match(r"[A-Za-z_-]*[A-Za-z]", first)
    return _name(m.group(0) if m else first)


def build_plan(conf: SlurmConf, opts: MigrateOptions | None = None) -> dict[str, Any]:
    """The plan for a parsed slurm.conf.  Pure."""
    from ..slurm.hostlist import compress
    opts = opts or MigrateOptions()
    prefix = _name(opts.prefix or conf.cluster_name or "slurm").lower()
    warnings = list(conf.warnings)

    # -- node classes ------------------------------------------------------------------------
    shapes: dict[tuple, dict[str, Any]] = {}
    used = {n for p in conf.partitions.values() for n in p.nodes}
    for g in conf.node_groups:
        names = [n for n in g.names if n in used]
        if not names:
            continue
        key = g.shape()
        cls = shapes.get(key)
        if cls is None:
            cls = shapes[key] = {"group": g, "nodes": [], "bases": []}
        for n in names:
            if n not in cls["nodes"]:
                cls["nodes"].append(n)
        cls["bases"].append(_class_base(g))
    classes: list[dict[str, Any]] = []
    taken: set[str] = set()
    node_class: dict[str, str] = {}
    for key, cls in shapes.items():
        g: NodeGroup = cls["group"]
        base = cls["bases"][0]
        name = base
        i = 2
        while name in taken:
            name = f"{base}{i}"
            i += 1
        taken.add(name)
        gtype = g.gpu_types[0] if g.gpu_types else None
        if len(g.gpu_types) > 1:
            warnings.append(f"{g.where}: nodes {g.expr} mix GPU types {','.join(g.gpu_types)}: "
                            f"sized for {gtype}")
        choice = _inst.choose(g.cpus, g.real_memory, g.gpus, gtype, g.features)
        warnings.extend(f"node class {name} ({g.expr}): {w}" for w in choice.warnings)
        count = len(cls["nodes"])
        vcpus = max(choice.primary.vcpus, g.cpus)
        classes.append({
            "name": name, "nodes": compress(cls["nodes"]), "count": count,
            "cpus": g.cpus, "real_memory": g.real_memory, "gpus": g.gpus, "gpu_type": gtype,
            "features": g.features, "instance_type": choice.primary.name,
            "instance_vcpus": choice.primary.vcpus, "instance_memory_mib": choice.primary.mem_mib,
            "instance_gpus": choice.primary.gpus,
            "spot_instance_types": choice.spot_types if opts.spot else [],
            "efa": choice.efa, "max_vcpus": count * vcpus,
        })
        for n in cls["nodes"]:
            node_class[n] = name

    # -- compute environments and placement groups ------------------------------------------
    ces: list[dict[str, Any]] = []
    pgs: list[dict[str, Any]] = []
    ce_of: dict[tuple[str, str], str] = {}
    for c in classes:
        if c["efa"]:
            pg = f"{prefix}-{c['name']}-pg"
            pgs.append({"name": pg, "strategy": "cluster", "node_class": c["name"]})
        else:
            pg = None
        if c["spot_instance_types"]:
            name = f"{prefix}-{c['name']}-spot"
            ces.append({"name": name, "type": "SPOT", "node_class": c["name"],
                        "instanceTypes": list(c["spot_instance_types"]), "minvCpus": 0,
                        "maxvCpus": c["max_vcpus"],
                        "allocationStrategy": "SPOT_PRICE_CAPACITY_OPTIMIZED"})
            ce_of[(c["name"], "SPOT")] = name
        name = f"{prefix}-{c['name']}-od"
        ce = {"name": name, "type": "EC2", "node_class": c["name"],
              "instanceTypes": [c["instance_type"]], "minvCpus": 0, "maxvCpus": c["max_vcpus"],
              "allocationStrategy": "BEST_FIT_PROGRESSIVE"}
        if pg:
            ce["placementGroup"] = pg
        ces.append(ce)
        ce_of[(c["name"], "EC2")] = name

    # -- queues and partitions ---------------------------------------------------------------
    by_class = {c["name"]: c for c in classes}
    queues: list[dict[str, Any]] = []
    partitions: dict[str, dict[str, Any]] = {}
    defaults = [p.name for p in conf.partitions.values() if p.default]
    if len(defaults) > 1:
        warnings.append(f"several partitions are Default=YES ({', '.join(defaults)}): "
                        f"{defaults[0]} stays the default")
    for p in conf.partitions.values():
        if not p.nodes:
            warnings.append(f"{p.where}: partition {p.name} has no nodes: skipped")
            continue
        cls_names: list[str] = []
        for n in p.nodes:
            cn = node_class[n]
            if cn not in cls_names:
                cls_names.append(cn)
        if len(cls_names) > MAX_CES_PER_QUEUE:
            cls_names.sort(key=lambda cn: -by_class[cn]["max_vcpus"])
            warnings.append(f"partition {p.name} spans {len(cls_names)} node classes; a Batch "
                            f"queue takes {MAX_CES_PER_QUEUE} compute environments: kept "
                            f"{', '.join(cls_names[:MAX_CES_PER_QUEUE])}")
            cls_names = cls_names[:MAX_CES_PER_QUEUE]
        pcls = [by_class[cn] for cn in cls_names]
        if len({(c["cpus"], c["real_memory"], c["gpus"]) for c in pcls}) > 1:
            warnings.append(f"partition {p.name} mixes node shapes: slurmshim sizes it by the "
                            "largest (a job fits if it fits the largest node)")
        state = "ENABLED" if p.state == "UP" else "DISABLED"
        if state == "DISABLED":
            warnings.append(f"partition {p.name} is State={p.state}: its queues are created "
                            "DISABLED")
        od_q = f"{prefix}-{_name(p.name)}-od"
        queues.append({"name": od_q, "partition": p.name, "type": "EC2", "priority": 10,
                       "state": state,
                       "computeEnvironments": [ce_of[(cn, "EC2")] for cn in cls_names]})
        spot_ces = [ce_of[(cn, "SPOT")] for cn in cls_names if (cn, "SPOT") in ce_of]
        spot_q = None
        if opts.spot and spot_ces and len(spot_ces) == len(cls_names):
            spot_q = f"{prefix}-{_name(p.name)}-spot"
            queues.append({"name": spot_q, "partition": p.name, "type": "SPOT", "priority": 10,
                           "state": state, "computeEnvironments": spot_ces})
        elif opts.spot and spot_ces:
            warnings.append(f"partition {p.name}: some of its nodes have no Spot offer "
                            f"({', '.join(cn for cn in cls_names if (cn, 'SPOT') not in ce_of)}"
                            "): the partition runs on its on-demand queue only")
        part: dict[str, Any] = {
            "backend": "batch",
            "job_queue": spot_q or od_q,
            "spot": bool(spot_q),
        }
        if spot_q:
            part["mnp_queue"] = od_q
        if p.name == (defaults[0] if defaults else None):
            part["default"] = True
        if p.state != "UP":
            part["state"] = p.state
        part["max_time"] = "UNLIMITED" if p.max_time in (None, INFINITE) else \
            _fmt_minutes(p.max_time)
        if p.default_time is not None:
            part["default_time"] = _fmt_minutes(p.default_time)
        part["node_names"] = compress(p.nodes)
        part["cpus_per_node"] = max(c["cpus"] for c in pcls)
        part["mem_per_node"] = max(c["real_memory"] for c in pcls)
        gpus = max(c["gpus"] for c in pcls)
        if gpus:
            part["gpus_per_node"] = gpus
            types = sorted({c["gpu_type"] for c in pcls if c["gpu_type"]})
            if types:
                part["gpu_types"] = types
        if p.def_mem_per_cpu:
            part["def_mem_per_cpu"] = p.def_mem_per_cpu
        if pcls and all(c["efa"] for c in pcls):
            part["efa"] = True
        if p.max_nodes:
            warnings.append(f"partition {p.name}: MaxNodes={p.max_nodes} is not enforced by "
                            "slurmshim")
        partitions[p.name] = part

    return {
        "version": PLAN_VERSION,
        "source": conf.path,
        "cluster_name": conf.cluster_name or prefix,
        "prefix": prefix,
        "settings": {k: v for k, v in (("max_array_size", conf.max_array_size),
                                       ("min_job_age", conf.min_job_age),
                                       ("kill_wait", conf.kill_wait)) if v is not None},
        "aws": {"region": opts.region, "image": opts.image, "s3_bucket": opts.bucket},
        "network": {"subnets": list(opts.subnets), "security_groups": list(opts.security_groups),
                    "instance_role": opts.instance_role or DEFAULT_INSTANCE_ROLE,
                    "service_role": opts.service_role},
        "node_classes": classes,
        "placement_groups": pgs,
        "compute_environments": ces,
        "job_queues": queues,
        "partitions": partitions,
        "warnings": warnings,
    }


def _fmt_minutes(minutes: int) -> str:
    d, rem = divmod(int(minutes), 1440)
    h, m = divmod(rem, 60)
    return f"{d}-{h:02d}:{m:02d}:00" if d else f"{h:02d}:{m:02d}:00"


# ---------------------------------------------------------------- the slurmshim configuration

def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def config_text(plan: dict[str, Any]) -> str:
    """The slurmshim TOML for a plan (config.load_config_file accepts it)."""
    from .init import DEFAULT_IMAGE
    src = plan.get("source") or "slurm.conf"
    lines = [f"# slurmshim configuration migrated from {src} by `slurmshim migrate`.",
             "# Each partition runs on AWS Batch: job_queue is its Spot queue, mnp_queue the",
             "# on-demand queue for multi-node jobs.  Check it with `slurmshim doctor`.", ""]
    lines.append(f"cluster_name = {_toml_value(plan['cluster_name'])}")
    for k, v in plan.get("settings", {}).items():
        lines.append(f"{k} = {_toml_value(v)}")
    lines.append("")
    classes = {c["name"]: c for c in plan["node_classes"]}
    for name, part in plan["partitions"].items():
        used = sorted({ce["node_class"] for q in plan["job_queues"] if q["partition"] == name
                       for ce in plan["compute_environments"] if ce["name"] in q["computeEnvironments"]})
        desc = ", ".join(f"{classes[c]['instance_type']} for {classes[c]['nodes']}" for c in used)
        lines.append(f"# {desc}" if desc else "#")
        lines.append(f"[partitions.{json.dumps(name) if not re.match(r'^[A-Za-z0-9_-]+$', name) else name}]")
        for k, v in part.items():
            lines.append(f"{k} = {_toml_value(v)}")
        lines.append("")
    aws = plan.get("aws") or {}
    lines.append("[aws]")
    lines.append(f"region = {_toml_value(aws['region'])}" if aws.get("region")
                 else "# region = \"us-east-1\"   # else AWS_REGION or the profile's region")
    lines.append(f"image = {_toml_value(aws.get('image') or DEFAULT_IMAGE)}   # the container "
                 "jobs run in: put your software stack there")
    lines.append(f"s3_bucket = {_toml_value(aws['s3_bucket'])}" if aws.get("s3_bucket")
                 else "# s3_bucket = \"my-bucket\"   # stages scripts too large for SubmitJob")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- CloudFormation

def cloudformation(plan: dict[str, Any]) -> dict[str, Any]:
    """An equivalent CloudFormation template: subnets, security groups and roles are
    parameters; placement groups, compute environments and queues are resources."""
    net = plan.get("network") or {}

    def lid(name: str, kind: str) -> str:
        return kind + "".join(p.capitalize() for p in re.split(r"[^A-Za-z0-9]+", name) if p)

    params: dict[str, Any] = {
        "Subnets": {"Type": "List<AWS::EC2::Subnet::Id>",
                    "Description": "subnets the compute environments launch instances in"},
        "SecurityGroups": {"Type": "List<AWS::EC2::SecurityGroup::Id>",
                           "Description": "security groups of the instances (EFA: one that "
                                          "allows all traffic to and from itself)"},
        "InstanceRole": {"Type": "String", "Default": net.get("instance_role") or
                         DEFAULT_INSTANCE_ROLE,
                         "Description": "ECS instance profile (name or ARN)"},
        "ServiceRole": {"Type": "String", "Default": net.get("service_role") or "",
                        "Description": "AWS Batch service role ARN (empty: the service-linked "
                                       "role)"},
    }
    if net.get("subnets"):
        params["Subnets"]["Default"] = ",".join(net["subnets"])
    if net.get("security_groups"):
        params["SecurityGroups"]["Default"] = ",".join(net["security_groups"])
    resources: dict[str, Any] = {}
    for pg in plan["placement_groups"]:
        resources[lid(pg["name"], "PlacementGroup")] = {
            "Type": "AWS::EC2::PlacementGroup",
            "Properties": {"Strategy": pg.get("strategy", "cluster"),
                           "Tags": [{"Key": "Name", "Value": pg["name"]}]}}
    pg_ids = {pg["name"]: lid(pg["name"], "PlacementGroup") for pg in plan["placement_groups"]}
    for ce in plan["compute_environments"]:
        cr: dict[str, Any] = {
            "Type": ce["type"], "AllocationStrategy": ce["allocationStrategy"],
            "MinvCpus": ce["minvCpus"], "MaxvCpus": ce["maxvCpus"],
            "InstanceTypes": list(ce["instanceTypes"]),
            "Subnets": {"Ref": "Subnets"}, "SecurityGroupIds": {"Ref": "SecurityGroups"},
            "InstanceRole": {"Ref": "InstanceRole"},
            "Tags": {"slurmshim:cluster": plan["cluster_name"]},
        }
        if ce.get("placementGroup"):
            cr["PlacementGroup"] = {"Ref": pg_ids[ce["placementGroup"]]}
        resources[lid(ce["name"], "ComputeEnvironment")] = {
            "Type": "AWS::Batch::ComputeEnvironment",
            "Properties": {
                "ComputeEnvironmentName": ce["name"], "Type": "MANAGED", "State": "ENABLED",
                "ComputeResources": cr,
                "ServiceRole": {"Fn::If": ["HasServiceRole", {"Ref": "ServiceRole"},
                                           {"Ref": "AWS::NoValue"}]},
            }}
    for q in plan["job_queues"]:
        resources[lid(q["name"], "JobQueue")] = {
            "Type": "AWS::Batch::JobQueue",
            "Properties": {
                "JobQueueName": q["name"], "Priority": q["priority"], "State": q["state"],
                "ComputeEnvironmentOrder": [
                    {"Order": i + 1, "ComputeEnvironment": {"Ref": lid(ce, "ComputeEnvironment")}}
                    for i, ce in enumerate(q["computeEnvironments"])],
            }}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"AWS Batch resources for the Slurm cluster {plan['cluster_name']} "
                       f"(slurmshim migrate of {plan.get('source') or 'slurm.conf'})",
        "Parameters": params,
        "Conditions": {"HasServiceRole": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ServiceRole"},
                                                                      ""]}]}},
        "Resources": resources,
        "Outputs": {lid(q["name"], "JobQueue") + "Arn": {
            "Description": f"job queue of partition {q['partition']}",
            "Value": {"Ref": lid(q["name"], "JobQueue")}} for q in plan["job_queues"]},
    }


def to_yaml(data: Any, indent: int = 0) -> str:
    """A small YAML emitter for templates (strings double-quoted, JSON-style escapes)."""
    pad = "  " * indent
    if isinstance(data, dict):
        if not data:
            return "{}"
        out = []
        for k, v in data.items():
            key = k if re.match(r"^[A-Za-z0-9_:]+$", str(k)) else json.dumps(str(k))
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{key}:\n{to_yaml(v, indent + 1)}")
            else:
                out.append(f"{pad}{key}: {to_yaml(v, 0)}")
        return "\n".join(out)
    if isinstance(data, list):
        if not data:
            return "[]"
        out = []
        for v in data:
            if isinstance(v, dict) and v:
                body = to_yaml(v, indent + 1)
                out.append(f"{pad}- {body.lstrip()}")
            elif isinstance(v, list) and v:
                out.append(f"{pad}-\n{to_yaml(v, indent + 1)}")
            else:
                out.append(f"{pad}- {to_yaml(v, 0)}")
        return "\n".join(out)
    if isinstance(data, bool):
        return "true" if data else "false"
    if data is None:
        return "null"
    if isinstance(data, (int, float)):
        return str(data)
    return json.dumps(str(data))
