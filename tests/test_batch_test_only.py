"""`sbatch --test-only` on a Batch partition prints Slurm's line, the plan, and the exact
RegisterJobDefinition / SubmitJob requests (JSON on stderr); nothing is sent anywhere."""
from __future__ import annotations

import json

from slurm_cluster import Cluster

CONFIG = """
[partitions.cloud]
backend = "batch"
job_queue = "q-spot"
mnp_queue = "q-od"
spot = true
default = true
[aws]
region = "us-east-1"
image = "public.ecr.aws/amazonlinux/amazonlinux:2023"
s3_bucket = "bkt"
endpoint_url = "http://127.0.0.1:9"
"""


def test_test_only_prints_the_batch_requests(tmp_path):
    cl = Cluster(tmp_path, config=CONFIG)
    cl.script("j.sh", "#!/bin/bash\n#SBATCH -N 2 -t 30\necho hi\n")
    res = cl.run("sbatch", "--test-only", "j.sh",
                 env={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert lines[0].startswith("sbatch: Job 1 to start at ")
    assert lines[0].endswith(" a using 2 processors on nodes cloud-dy-[01-02] in partition cloud")
    assert "sbatch: plan: --nodes=2 (mapped): 2 nodes" in lines
    report = json.loads(res.stderr[res.stderr.index("\n{") + 1:])
    assert report["RegisterJobDefinition"]["type"] == "multinode"
    (submit,) = report["SubmitJob"]
    assert submit["jobQueue"] == "q-od"                      # multi-node: on-demand queue
    assert submit["nodeOverrides"]["numNodes"] == 2
    # nothing was submitted: squeue is empty, and the id was consumed as Slurm does
    assert cl.run("squeue", "-h").stdout == ""
    assert cl.submit("--hold", "j.sh") == 2


SITE_PLUGIN = '''\
import pluggy
hookimpl = pluggy.HookimplMarker("slurmshim")

@hookimpl
def batch_job_definition(request):
    props = request["containerProperties"]
    props.setdefault("environment", []).append({"name": "SITE", "value": "hpc1"})
    request.setdefault("tags", {})["site"] = "hpc1"

@hookimpl
def batch_submit_job(request, spec, partition):
    request.setdefault("tags", {})["cost-center"] = partition.name + "-" + spec.job_name
'''


def test_test_only_shows_the_plugins_requests(tmp_path):
    """The plugins' changes are in the requests --test-only prints, and the job definition
    is named by the content the plugins left (its hash), which the SubmitJob names."""
    from slurmshim.backends.batch.translate import DEFINITION_PREFIX, job_definition_hash
    pdir = tmp_path / "plugins"
    pdir.mkdir()
    (pdir / "site.py").write_text(SITE_PLUGIN)
    cl = Cluster(tmp_path, config=f'plugins_dir = "{pdir}"\n' + CONFIG)
    cl.script("j.sh", "#!/bin/bash\n#SBATCH -J sim -t 30\necho hi\n")
    env = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
    res = cl.run("sbatch", "--test-only", "j.sh", env=env)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stderr[res.stderr.index("\n{") + 1:])
    jd = report["RegisterJobDefinition"]
    assert {"name": "SITE", "value": "hpc1"} in jd["containerProperties"]["environment"]
    assert jd["tags"]["site"] == "hpc1"
    assert jd["jobDefinitionName"] == DEFINITION_PREFIX + job_definition_hash(jd)
    assert report["slurmshim"]["jobDefinitionName"] == jd["jobDefinitionName"]
    (submit,) = report["SubmitJob"]
    assert submit["jobDefinition"] == jd["jobDefinitionName"]
    assert submit["tags"]["cost-center"] == "cloud-sim"
    # without the plugin: another definition (another name), no tag
    res = cl.run("sbatch", "--test-only", "j.sh", env=dict(env, SLURMSHIM_PLUGINS=""))
    plain = json.loads(res.stderr[res.stderr.index("\n{") + 1:])
    assert plain["RegisterJobDefinition"]["jobDefinitionName"] != jd["jobDefinitionName"]
    assert "cost-center" not in plain["SubmitJob"][0]["tags"]
