"""The shared-fs plugin: volumes and mount points added to job definitions (single-node and
multi-node), validated against the Batch API model and accepted by moto."""
from __future__ import annotations

import json

import pytest

import slurmshim_shared_fs as sfs
from slurmshim.config import Config
from slurmshim.model import JobSpec, Partition

SETTINGS = """\
[[efs]]
name = "home"
file_system_id = "fs-0123456789abcdef0"
container_path = "/home"
access_point = "fsap-0123456789abcdef0"
iam = true

[[efs]]
name = "refdata"
file_system_id = "fs-00000000000000001"
container_path = "/refdata"
root_directory = "/genomes"
read_only = true
partitions = ["cpu"]

[[fsx_lustre]]
name = "scratch"
host_path = "/fsx"
container_path = "/fsx"
file_system_id = "fs-0abcdef0123456789"
"""


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURMSHIM_SHARED_FS", raising=False)
    conf = tmp_path / "slurmshim.toml"
    conf.write_text("")
    (tmp_path / "shared-fs.toml").write_text(SETTINGS)
    return Config(path=str(conf))


def _jobdef(multinode: bool = False, mounts: dict | None = None) -> dict:
    """A RegisterJobDefinition request as slurmshim's Batch backend builds it (hand-built if
    translate's builder changed shape)."""
    try:
        from slurmshim.backends.batch.translate import build_job_definition
        return build_job_definition(image="python:3.12-slim", multinode=multinode,
                                    efa=multinode, mounts=mounts or {}, cluster_name="c1")
    except (ImportError, TypeError):
        props = {"image": "python:3.12-slim", "command": ["/bin/sh", "-c", "true"],
                 "resourceRequirements": [{"type": "MEMORY", "value": "2048"},
                                          {"type": "VCPU", "value": "1"}]}
        if mounts:
            props["volumes"] = [{"name": f"slurmshim-{i}", "host": {"sourcePath": h}}
                                for i, h in enumerate(sorted(mounts))]
            props["mountPoints"] = [{"sourceVolume": f"slurmshim-{i}", "containerPath": c,
                                     "readOnly": False}
                                    for i, (_h, c) in enumerate(sorted(mounts.items()))]
        req = {"jobDefinitionName": "slurmshim-test", "platformCapabilities": ["EC2"],
               "propagateTags": True, "tags": {"slurmshim:cluster": "c1"}}
        if multinode:
            props["linuxParameters"] = {"devices": [
                {"hostPath": "/dev/infiniband/uverbs0",
                 "containerPath": "/dev/infiniband/uverbs0",
                 "permissions": ["READ", "WRITE", "MKNOD"]}]}
            req.update(type="multinode", nodeProperties={
                "numNodes": 2, "mainNode": 0,
                "nodeRangeProperties": [{"targetNodes": "0:", "container": props}]})
        else:
            req.update(type="container", containerProperties=props)
        return req


def test_single_node_definition(cfg):
    jd = _jobdef()
    sfs.batch_job_definition(request=jd, spec=JobSpec(), partition=Partition("cpu"), config=cfg)
    c = jd["containerProperties"]
    assert c["volumes"] == [
        {"name": "home", "efsVolumeConfiguration": {
            "fileSystemId": "fs-0123456789abcdef0", "transitEncryption": "ENABLED",
            "authorizationConfig": {"accessPointId": "fsap-0123456789abcdef0", "iam": "ENABLED"}}},
        {"name": "refdata", "efsVolumeConfiguration": {
            "fileSystemId": "fs-00000000000000001", "rootDirectory": "/genomes",
            "transitEncryption": "ENABLED"}},
        {"name": "scratch", "host": {"sourcePath": "/fsx"}}]
    assert c["mountPoints"] == [
        {"sourceVolume": "home", "containerPath": "/home", "readOnly": False},
        {"sourceVolume": "refdata", "containerPath": "/refdata", "readOnly": True},
        {"sourceVolume": "scratch", "containerPath": "/fsx", "readOnly": False}]


def test_partition_filter_and_multinode(cfg):
    jd = _jobdef(multinode=True)
    sfs.batch_job_definition(request=jd, spec=JobSpec(), partition=Partition("gpu"), config=cfg)
    ranges = jd["nodeProperties"]["nodeRangeProperties"]
    assert ranges
    for rng in ranges:
        names = [v["name"] for v in rng["container"]["volumes"]]
        assert names == ["home", "scratch"]          # refdata is for partition cpu only
        assert rng["container"]["linuxParameters"]["devices"]   # EFA devices kept


def test_existing_mounts_are_kept(cfg):
    jd = _jobdef(mounts={"/fsx": "/fsx"})             # [aws.mounts] already mounts /fsx
    sfs.batch_job_definition(request=jd, spec=JobSpec(), partition=Partition("cpu"), config=cfg)
    paths = [m["containerPath"] for m in jd["containerProperties"]["mountPoints"]]
    assert paths.count("/fsx") == 1
    again = json.loads(json.dumps(jd))
    sfs.batch_job_definition(request=again, spec=JobSpec(), partition=Partition("cpu"),
                             config=cfg)
    assert again == jd                                   # idempotent


@pytest.mark.parametrize("bad, message", [
    ('[[efs]]\nname = "x"\ncontainer_path = "/x"\n', "file_system_id"),
    ('[[efs]]\nname = "x y"\nfile_system_id = "fs-1"\ncontainer_path = "/x"\n', "name"),
    ('[[efs]]\nname = "x"\nfile_system_id = "fs-1"\ncontainer_path = "/x"\niam = true\n'
     'transit_encryption = false\n', "transit_encryption"),
    ('[[fsx_lustre]]\nname = "s"\ncontainer_path = "/fsx"\n', "host_path"),
    ('[[fsx_lustre]]\nname = "s"\nhost_path = "/a"\ncontainer_path = "/a"\n'
     '[[efs]]\nname = "s"\nfile_system_id = "fs-1"\ncontainer_path = "/b"\n', "twice"),
])
def test_bad_settings(cfg, tmp_path, bad, message):
    (tmp_path / "shared-fs.toml").write_text(bad)
    with pytest.raises(sfs.SharedFsError, match=message):
        sfs.filesystems(cfg)


def test_valid_for_the_batch_api_and_moto(cfg):
    botocore = pytest.importorskip("botocore.session")
    from botocore.validate import validate_parameters
    shape = botocore.get_session().get_service_model("batch").operation_model(
        "RegisterJobDefinition").input_shape
    for multinode in (False, True):
        jd = _jobdef(multinode=multinode)
        sfs.batch_job_definition(request=jd, spec=JobSpec(), partition=Partition("cpu"),
                                 config=cfg)
        validate_parameters(jd, shape)
    moto = pytest.importorskip("moto")
    import boto3
    jd = _jobdef()
    sfs.batch_job_definition(request=jd, spec=JobSpec(), partition=Partition("cpu"), config=cfg)
    with moto.mock_aws():
        batch = boto3.client("batch", region_name="us-east-1", aws_access_key_id="testing",
                             aws_secret_access_key="testing")
        batch.register_job_definition(**jd)
        got = batch.describe_job_definitions(jobDefinitionName=jd["jobDefinitionName"])
        vols = got["jobDefinitions"][0]["containerProperties"]["volumes"]
        assert [v["name"] for v in vols] == ["home", "refdata", "scratch"]
