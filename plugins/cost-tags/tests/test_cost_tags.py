"""The cost-tags plugin: its hooks on request dicts, the requests still valid for the Batch API,
and the hooks reached through slurmshim.plugins' helpers (the Batch backend's call path)."""
from __future__ import annotations

import pytest

import slurmshim_cost_tags as ct
from slurmshim import plugins
from slurmshim.config import Config
from slurmshim.model import JobSpec, Partition


def _spec(**kw) -> JobSpec:
    spec = JobSpec(user="alice", account="physics", wckey="fusion-sim")
    for k, v in kw.items():
        setattr(spec, k, v)
    return spec


def _submit_request() -> dict:
    return {"jobName": "solver", "jobQueue": "cpu-spot", "jobDefinition": "slurmshim-abc",
            "containerOverrides": {"environment": [{"name": "X", "value": "1"}]},
            "tags": {"slurmshim:cluster": "c1", "slurmshim:job_id": "42"},
            "propagateTags": True}


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


def _jobdef_request() -> dict:
    return _jobdef()


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURMSHIM_COST_TAGS", raising=False)
    conf = tmp_path / "slurmshim.toml"
    conf.write_text("")
    return Config(path=str(conf))


def test_submit_tags_default_keys(cfg):
    req = _submit_request()
    ct.batch_submit_job(request=req, spec=_spec(comment="run 7, project=ITER-42"),
                        partition=Partition("cpu"), config=cfg)
    assert req["tags"] == {"slurmshim:cluster": "c1", "slurmshim:job_id": "42",
                           "slurm:user": "alice", "slurm:account": "physics",
                           "slurm:wckey": "fusion-sim", "slurm:project": "ITER-42"}
    assert req["propagateTags"] is True


def test_project_sources_in_order(cfg):
    spec = _spec(comment="project=from-comment")
    spec.environment = {"SLURMSHIM_PROJECT": "from-env"}
    assert ct.project_of(spec, {}) == "from-env"
    spec.environment = {}
    assert ct.project_of(spec, {}) == "from-comment"
    spec.comment = "nothing here"
    assert ct.project_of(spec, {}) == "fusion-sim"       # falls back to --wckey
    spec.wckey = None
    assert ct.project_of(spec, {}) is None


def test_configured_keys_static_tags_and_sanitising(cfg, tmp_path):
    (tmp_path / "cost-tags.toml").write_text(
        '[keys]\naccount = "CostCenter"\nwckey = ""\nproject = "Project"\n'
        '[project]\nenv = "GRANT"\n[static]\nOwner = "hpc team"\n')
    spec = _spec(user="bob<script>", account="chem")
    spec.environment = {"GRANT": "ERC#2024"}
    req = _submit_request()
    ct.batch_submit_job(request=req, spec=spec, partition=Partition("cpu"), config=cfg)
    assert req["tags"]["CostCenter"] == "chem"
    assert req["tags"]["Project"] == "ERC_2024"
    assert req["tags"]["slurm:user"] == "bob_script_"
    assert "slurm:wckey" not in req["tags"]
    jd = _jobdef_request()
    ct.batch_job_definition(request=jd, spec=spec, partition=Partition("cpu"), config=cfg)
    assert jd["tags"]["Owner"] == "hpc team"
    assert jd["tags"]["slurmshim:cluster"] == "c1"
    assert jd["propagateTags"] is True


def test_tag_limit_is_respected(cfg):
    req = _submit_request()
    req["tags"] = {f"k{i}": "v" for i in range(48)}
    ct.batch_submit_job(request=req, spec=_spec(), partition=Partition("cpu"), config=cfg)
    assert len(req["tags"]) == 49            # one slot kept for the definition's tag


def test_requests_stay_valid_for_the_batch_api(cfg):
    botocore = pytest.importorskip("botocore.session")
    from botocore.validate import validate_parameters
    model = botocore.get_session().get_service_model("batch")
    req = _submit_request()
    ct.batch_submit_job(request=req, spec=_spec(comment="project=p1"), partition=Partition("c"),
                        config=cfg)
    validate_parameters(req, model.operation_model("SubmitJob").input_shape)
    jd = _jobdef_request()
    ct.batch_job_definition(request=jd, spec=_spec(), partition=Partition("c"), config=cfg)
    validate_parameters(jd, model.operation_model("RegisterJobDefinition").input_shape)


def test_through_the_plugin_manager(tmp_path, monkeypatch):
    """run_batch_submit_job / run_batch_job_definition: how the Batch backend calls the hooks."""
    pdir = tmp_path / "plugins"
    pdir.mkdir()
    (pdir / "cost_tags_shim.py").write_text(
        "from slurmshim_cost_tags import batch_job_definition, batch_submit_job  # noqa\n")
    conf = tmp_path / "slurmshim.toml"
    conf.write_text(f'plugins_dir = "{pdir}"\n')
    (tmp_path / "cost-tags.toml").write_text('[static]\nOwner = "hpc"\n')
    cfg = Config(path=str(conf), plugins_dir=str(pdir))
    monkeypatch.setenv("SLURMSHIM_PLUGINS", "cost_tags_shim")
    monkeypatch.delenv("SLURMSHIM_COST_TAGS", raising=False)
    plugins.reset()
    try:
        req = plugins.run_batch_submit_job(cfg, _submit_request(), _spec(), Partition("cpu"))
        assert req["tags"]["slurm:account"] == "physics"
        jd = plugins.run_batch_job_definition(cfg, _jobdef_request(), _spec(), Partition("cpu"))
        assert jd["tags"]["Owner"] == "hpc"
        assert dict(plugins.loaded_plugins(cfg))["cost_tags_shim"] == [
            "batch_job_definition", "batch_submit_job"]
    finally:
        plugins.reset()
