"""`slurmshim migrate`: two realistic slurm.conf files (a CPU + high-memory cluster with
InfiniBand; a GPU cluster with Gres=gpu:a100:8 etc.) and the real one from the reference
cluster -> config, plan, CloudFormation, and --apply against moto (creates once, then nothing)."""
from __future__ import annotations

import json

import pytest
from test_admin_helpers import CONFS, fake_aws, isolate, placement_groups, run  # noqa: F401

from slurmshim.admin import instances, migrate
from slurmshim.admin.slurmconf import SlurmConfError, parse_file, parse_text
from slurmshim.config import load_config_file

CPU = CONFS / "cpu_himem.conf"
GPU = CONFS / "gpu.conf"
ORACLE = CONFS / "oracle.conf"


# ---------------------------------------------------------------- slurm.conf parsing

def test_parse_cpu_cluster():
    conf = parse_file(str(CPU))
    assert conf.cluster_name == "hydra"
    assert (conf.max_array_size, conf.min_job_age, conf.kill_wait, conf.def_mem_per_cpu) == \
        (50001, 600, 60, 3800)
    cn, hm, dbg = conf.node_groups
    assert (len(cn.names), cn.cpus, cn.real_memory, cn.tmp_disk, cn.weight) == \
        (128, 64, 250000, 400000, 10)                 # DEFAULT 2x16x2; continued line
    assert cn.features == ["skylake", "ib"]
    assert (hm.cpus, hm.real_memory, hm.sockets) == (64, 1540000, 2)
    assert (dbg.names, dbg.cpus) == (["dbg1", "dbg2"], 8)   # the second NodeName=DEFAULT
    parts = conf.partitions
    assert list(parts) == ["compute", "bigmem", "debug", "maint"]
    assert parts["compute"].default and parts["compute"].max_time == 3 * 1440
    assert parts["compute"].def_mem_per_cpu == 3900
    assert parts["bigmem"].other == {"oversubscribe": "NO", "allowaccounts": "genomics,chem"}
    assert parts["debug"].nodes == ["dbg1", "dbg2", "cn001", "cn002"]
    assert (parts["debug"].max_time, parts["debug"].default_time) == (30, 10)
    assert parts["debug"].def_mem_per_cpu == 3800     # the global DefMemPerCPU
    assert len(parts["maint"].nodes) == 138 and parts["maint"].state == "DOWN"
    assert parts["maint"].max_time == -1
    assert any("include /etc/slurm/topology-extra.conf: file not found" in w
               for w in conf.warnings)


def test_parse_gpu_cluster():
    conf = parse_file(str(GPU))
    a, h, viz, cpu = conf.node_groups
    assert (a.cpus, a.gpus, a.gpu_types) == (96, 8, ["a100"])
    assert (h.gpus, h.gpu_types) == (8, ["h100"])        # gpu:h100:4(S:0),gpu:h100:4(S:1)
    assert (viz.gpus, viz.gpu_types, cpu.gpus) == (1, ["l4"], 0)
    assert conf.partitions["cpu"].default


def test_parse_details(tmp_path):
    inc = tmp_path / "nodes.conf"
    inc.write_text("NodeName=n[1-4] CPUs=4 RealMemory=8000 Gres=gpu:2\n")
    text = ("ClusterName=tiny  # comment\ninclude nodes.conf\n"
            "NodeSet=evens Nodes=n[2,4]\n"
            "PartitionName=p Nodes=evens,n1 Default=yes MaxTime=1:00:00 \\\n  State=UP\n"
            "PartitionName=q Nodes=n[1-9]\n")
    path = tmp_path / "slurm.conf"
    path.write_text(text)
    conf = parse_file(str(path))
    assert conf.node_groups[0].gres == [("gpu", None, 2)]
    assert conf.partitions["p"].nodes == ["n2", "n4", "n1"]
    assert conf.partitions["p"].max_time == 60
    assert conf.partitions["q"].nodes == ["n1", "n2", "n3", "n4"]
    assert any("n[5-9] have no NodeName line" in w for w in conf.warnings)
    with pytest.raises(SlurmConfError, match=r"slurm.conf:1: CPUs=two is not a number"):
        parse_text("NodeName=x CPUs=two\n", "slurm.conf")
    with pytest.raises(SlurmConfError, match="invalid host list"):
        parse_text("NodeName=x[1-\n", "slurm.conf")


# ---------------------------------------------------------------- the plans

def _classes(plan):
    return {c["name"]: c for c in plan["node_classes"]}


def test_plan_cpu_cluster():
    plan = migrate.build_plan(parse_file(str(CPU)))
    cls = _classes(plan)
    assert {n: c["instance_type"] for n, c in cls.items()} == {
        "cn": "hpc7a.48xlarge",      # InfiniBand nodes need EFA: hpc7a (on-demand only)
        "hm": "r7i.48xlarge",        # 64 CPUs, 1.5 TB: the cheapest size holding it
        "dbg": "m7i.2xlarge"}        # 8 CPUs, 30 GB
    assert cls["cn"]["efa"] and cls["cn"]["spot_instance_types"] == []
    assert cls["cn"]["max_vcpus"] == 128 * 96
    assert cls["dbg"]["spot_instance_types"] == ["m7i.2xlarge", "m6i.2xlarge", "m7a.2xlarge"]
    ces = {c["name"]: c for c in plan["compute_environments"]}
    assert sorted(ces) == ["hydra-cn-od", "hydra-dbg-od", "hydra-dbg-spot", "hydra-hm-od",
                           "hydra-hm-spot"]
    assert ces["hydra-cn-od"]["placementGroup"] == "hydra-cn-pg"
    assert ces["hydra-dbg-spot"]["allocationStrategy"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    assert (ces["hydra-hm-od"]["type"], ces["hydra-hm-od"]["maxvCpus"]) == ("EC2", 8 * 192)
    queues = {q["name"]: q for q in plan["job_queues"]}
    assert queues["hydra-debug-od"]["computeEnvironments"] == ["hydra-dbg-od", "hydra-cn-od"]
    assert "hydra-debug-spot" not in queues             # part of it has no Spot offer
    assert queues["hydra-maint-od"]["state"] == "DISABLED"
    assert len(queues["hydra-maint-od"]["computeEnvironments"]) == 3
    p = plan["partitions"]
    assert p["compute"] == {"backend": "batch", "job_queue": "hydra-compute-od", "spot": False,
                            "default": True, "max_time": "3-00:00:00",
                            "node_names": "cn[001-128]", "cpus_per_node": 64,
                            "mem_per_node": 250000, "def_mem_per_cpu": 3900, "efa": True}
    assert p["bigmem"]["job_queue"] == "hydra-bigmem-spot"
    assert p["bigmem"]["mnp_queue"] == "hydra-bigmem-od"
    assert plan["settings"] == {"max_array_size": 50001, "min_job_age": 600, "kill_wait": 60}


def test_plan_gpu_cluster():
    plan = migrate.build_plan(parse_file(str(GPU)))
    cls = _classes(plan)
    assert {n: c["instance_type"] for n, c in cls.items()} == {
        "gpu-a": "p4d.24xlarge", "gpu-h": "p5.48xlarge", "viz": "g6.4xlarge",
        "cpu": "m7i.8xlarge"}
    assert [pg["name"] for pg in plan["placement_groups"]] == ["athena-gpu-a-pg",
                                                               "athena-gpu-h-pg"]
    assert not cls["viz"]["efa"]
    p = plan["partitions"]
    assert (p["a100"]["gpus_per_node"], p["a100"]["gpu_types"], p["a100"]["efa"]) == \
        (8, ["a100"], True)
    assert p["h100"]["cpus_per_node"] == 192
    assert p["viz"]["default_time"] == "01:00:00" and p["viz"]["max_time"] == "08:00:00"
    assert p["cpu"]["default"] and p["cpu"]["max_time"] == "UNLIMITED"
    assert len(plan["job_queues"]) == 8 and len(plan["compute_environments"]) == 8


def test_no_spot_and_prefix():
    plan = migrate.build_plan(parse_file(str(GPU)), migrate.MigrateOptions(spot=False,
                                                                          prefix="Lab 2"))
    assert all(ce["type"] == "EC2" for ce in plan["compute_environments"])
    assert all(q["name"].startswith("lab-2-") for q in plan["job_queues"])
    assert plan["partitions"]["cpu"] == {**plan["partitions"]["cpu"], "spot": False,
                                         "job_queue": "lab-2-cpu-od"}
    assert "mnp_queue" not in plan["partitions"]["cpu"]


@pytest.mark.parametrize("conf", [CPU, GPU, ORACLE], ids=["cpu", "gpu", "oracle"])
def test_written_config_loads(conf, tmp_path, monkeypatch):
    isolate(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    r = run("migrate", str(conf), "--region", "us-west-2", "--bucket", "b1")
    assert r.exit_code == 0, r.output
    assert "nothing created: run again with --apply" in r.stdout
    cfg = load_config_file(str(tmp_path / "slurmshim.toml"))
    plan = json.loads((tmp_path / "slurmshim-plan.json").read_text())
    assert set(cfg.partitions) == set(plan["partitions"])
    assert all(p.backend == "batch" for p in cfg.partitions.values())
    assert (cfg.aws.region, cfg.aws.s3_bucket) == ("us-west-2", "b1")
    if conf == GPU:
        a = cfg.partitions["a100"]
        assert (a.nodes, a.cpus_per_node, a.gpus_per_node, a.gpu_types, a.efa) == \
            (4, 96, 8, ("a100",), True)
        assert a.node_names == ("gpu-a01", "gpu-a02", "gpu-a03", "gpu-a04")
        assert cfg.default_partition == "cpu"
    if conf == ORACLE:
        assert cfg.cluster_name == "oracle" and cfg.default_partition == "debug"
        assert cfg.partitions["long"].max_time == 2880
        assert _classes(plan)["node"]["instance_type"] == "r7i.xlarge"
    again = run("migrate", str(conf))
    assert again.exit_code == 1 and "already exists; use --force" in again.output


def test_json_report(tmp_path, monkeypatch):
    isolate(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    r = run("migrate", str(GPU), "--json", "-o", "c.toml", "--plan", "p.json")
    data = json.loads(r.stdout)
    assert data["written"] == ["c.toml", "p.json"] and data["actions"] is None
    assert data["plan"]["cluster_name"] == "athena"


# ---------------------------------------------------------------- CloudFormation

def test_cloudformation_json_and_yaml(tmp_path, monkeypatch):
    isolate(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    r = run("migrate", str(GPU), "--cloudformation")
    assert r.exit_code == 0, r.output
    tpl = json.loads(r.stdout)
    assert not (tmp_path / "slurmshim.toml").exists()      # only what was asked for
    types = sorted(v["Type"] for v in tpl["Resources"].values())
    assert types.count("AWS::Batch::ComputeEnvironment") == 8
    assert types.count("AWS::Batch::JobQueue") == 8
    assert types.count("AWS::EC2::PlacementGroup") == 2
    ce = tpl["Resources"]["ComputeEnvironmentAthenaGpuAOd"]["Properties"]
    assert ce["ComputeResources"]["PlacementGroup"] == {"Ref": "PlacementGroupAthenaGpuAPg"}
    assert ce["ComputeResources"]["InstanceTypes"] == ["p4d.24xlarge"]
    q = tpl["Resources"]["JobQueueAthenaCpuSpot"]["Properties"]
    assert q["ComputeEnvironmentOrder"] == [
        {"Order": 1, "ComputeEnvironment": {"Ref": "ComputeEnvironmentAthenaCpuSpot"}}]
    ry = run("migrate", str(GPU), "--cloudformation", "--format", "yaml")
    yaml = pytest.importorskip("yaml")
    assert yaml.safe_load(ry.stdout) == tpl
    cfnlint = pytest.importorskip("cfnlint.api")
    assert cfnlint.lint_all(r.stdout) == []
    assert cfnlint.lint_all(ry.stdout) == []


def test_yaml_emitter_round_trips():
    yaml = pytest.importorskip("yaml")
    data = {"a": [1, {"b": "x: y", "c": [True, None, {"d": []}]}, [2, 3]], "e": {},
            "weird key": "quote \"me\"\n"}
    assert yaml.safe_load(migrate.to_yaml(data)) == data


# ---------------------------------------------------------------- the instance table

def test_instance_table_matches_ec2_data():
    """vCPUs, memory and GPUs of every catalog entry, against moto's copy of
    DescribeInstanceTypes (families moto lacks are skipped)."""
    pytest.importorskip("moto")
    from moto.ec2.models.instance_types import INSTANCE_TYPES
    checked = 0
    for name, vcpus, gib, gpus, efa, spot in instances.table_rows():
        info = INSTANCE_TYPES.get(name)
        if info is None:
            continue
        got_gpus = sum(g["Count"] for g in (info.get("GpuInfo") or {}).get("Gpus", []))
        assert info["VCpuInfo"]["DefaultVCpus"] == vcpus, name
        assert info["MemoryInfo"]["SizeInMiB"] // 1024 == gib, name
        assert got_gpus == gpus, name
        assert bool(info["NetworkInfo"].get("EfaSupported")) == efa, name
        assert ("spot" in info.get("SupportedUsageClasses", [])) == spot, name
        checked += 1
    assert checked > 60


@pytest.mark.parametrize("shape, expected", [
    ((2, 3000), "c7i.large"), ((16, 60000), "m7i.4xlarge"), ((8, 60000), "r7i.2xlarge"),
    ((2, 24105), "r7i.xlarge"), ((16, 900000), "x2iedn.8xlarge"),
    ((96, 1100000, 8, "a100"), "p4d.24xlarge"), ((96, 1100000, 8, "A100-SXM4-80GB"),
                                                 "p4de.24xlarge"),
    ((16, 200000, 1, "h100"), "p5.4xlarge"), ((4, 15000, 1, "t4"), "g4dn.xlarge"),
    ((48, 180000, 4, "a10g"), "g5.12xlarge"), ((8, 30000, 1, "l40s"), "g6e.2xlarge"),
    ((8, 30000, 2, "mystery"), "g5.12xlarge"),
])
def test_instance_choice(shape, expected):
    assert instances.choose(*shape).primary.name == expected


# ---------------------------------------------------------------- --apply against moto

def _iam(boto3):
    iam = boto3.client("iam", region_name="us-east-1")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})
    iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument=trust)
    iam.create_instance_profile(InstanceProfileName="ecsInstanceRole")


@pytest.fixture
def moto_aws(tmp_path, monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3
    isolate(monkeypatch, tmp_path)
    fake_aws(monkeypatch)
    monkeypatch.chdir(tmp_path)
    with moto.mock_aws(config={"batch": {"use_docker": False}}):
        yield boto3


def test_apply_creates_once(moto_aws, placement_groups, tmp_path, monkeypatch):  # noqa: F811
    boto3 = moto_aws
    _iam(boto3)
    args = ["migrate", str(GPU), "--apply", "--service-role", "batch-service", "--bucket",
            "athena-jobs", "--force", "--json"]
    first = run(*args)
    assert first.exit_code == 0, first.output
    acts = json.loads(first.stdout)["actions"]
    assert len(acts) == 18 and all(a["result"] == "created" for a in acts)
    batch = boto3.client("batch", region_name="us-east-1")
    ces = {c["computeEnvironmentName"]: c for c in batch.describe_compute_environments()[
        "computeEnvironments"]}
    assert len(ces) == 8
    a_od = ces["athena-gpu-a-od"]["computeResources"]
    assert (a_od["type"], a_od["instanceTypes"], a_od["maxvCpus"], a_od["placementGroup"]) == \
        ("EC2", ["p4d.24xlarge"], 384, "athena-gpu-a-pg")
    assert a_od["subnets"] and a_od["securityGroupIds"]     # the default VPC's
    cpu_spot = ces["athena-cpu-spot"]["computeResources"]
    assert cpu_spot["type"] == "SPOT"
    assert cpu_spot["allocationStrategy"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    qs = {q["jobQueueName"]: q for q in batch.describe_job_queues()["jobQueues"]}
    assert len(qs) == 8
    assert [o["computeEnvironment"].rsplit("/", 1)[-1]
            for o in qs["athena-h100-od"]["computeEnvironmentOrder"]] == ["athena-gpu-h-od"]
    assert set(placement_groups) == {"athena-gpu-a-pg", "athena-gpu-h-pg"}

    second = run(*args[:-1])
    assert second.exit_code == 0, second.output
    assert "nothing to do: every resource already exists" in second.stdout
    assert "created" not in second.stdout.split("RESOURCE")[1]
    assert len(batch.describe_compute_environments()["computeEnvironments"]) == 8

    # the migrated configuration passes the doctor
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="athena-jobs")
    monkeypatch.setenv("SLURMSHIM_CONF", str(tmp_path / "slurmshim.toml"))
    doc = run("doctor", "--json")
    checks = json.loads(doc.stdout)["checks"]
    assert doc.exit_code == 0, [c for c in checks if c["status"] != "OK"]
    assert {c["status"] for c in checks} == {"OK"}


def test_apply_reports_differences_and_needs_roles(moto_aws, placement_groups,  # noqa: F811
                                                   tmp_path):
    boto3 = moto_aws
    r = run("migrate", str(ORACLE), "--apply", "--force")
    assert r.exit_code == 1
    assert "ECS instance profile ecsInstanceRole not found" in r.output
    _iam(boto3)
    first = run("migrate", str(ORACLE), "--apply", "--force", "--service-role", "batch-service")
    assert first.exit_code == 0, first.output
    plan = json.loads((tmp_path / "slurmshim-plan.json").read_text())
    for ce in plan["compute_environments"]:
        ce["maxvCpus"] += 4
    (tmp_path / "changed.json").write_text(json.dumps(plan))
    from slurmshim.backends.batch.provision import AwsProbe, apply_plan
    acts = apply_plan(plan, AwsProbe())
    diffs = [a for a in acts if a.kind == "compute environment"]
    assert diffs and all("differs: maxvCpus 4 (plan 8); left unchanged" in a.result
                         for a in diffs)
    assert not any(a.changed for a in acts)


def test_bad_input(tmp_path, monkeypatch):
    isolate(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.conf"
    bad.write_text("NodeName=n1 CPUs=lots\n")
    r = run("migrate", str(bad))
    assert r.exit_code == 1 and "bad.conf:1: CPUs=lots is not a number" in r.output
    empty = tmp_path / "empty.conf"
    empty.write_text("ClusterName=x\nNodeName=n1 CPUs=2 RealMemory=1000\n")
    r = run("migrate", str(empty))
    assert r.exit_code == 1 and "no partition with nodes" in r.output
    assert run("migrate", str(GPU), "--apply", "--cloudformation").exit_code == 2
