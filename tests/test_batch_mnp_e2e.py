"""Multi-node parallel jobs end to end on AWS Batch, emulated: moto's server on 127.0.0.1 with its
full Batch backend and the fake Docker client of tests/batch_fixtures.py, which runs each node of
a multi-node job as a local process with what real Batch gives it (nodeOverrides applied, the
AWS_BATCH_JOB_NODE_INDEX / _NUM_NODES / _MAIN_NODE_INDEX variables, the main node's address on
the other nodes).  The REAL commands (`python -m slurmshim.cli.X`) submit and watch; inside the
job the main node runs the batch script and the other nodes run the runtime's node agent, so
`srun` steps really fan out to the other "nodes".  Also here: a job that outlives its --time on
Batch (single node) ends TIMEOUT even when its script traps SIGTERM and exits 0.  No traffic
leaves loopback.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("moto")
pytest.importorskip("boto3")

sys.path.insert(0, os.path.dirname(__file__))
import batch_fixtures as bf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "slurmshim-mnp"


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    rec = tmp_path_factory.mktemp("moto") / "recording.jsonl"
    yield from bf.moto_with_fake_docker(str(rec))


class Site:
    """One test's world: fresh moto state and infrastructure, a config whose default partition
    `cloud` sends multi-node jobs to the on-demand queue, a state dir, the CLI."""

    def __init__(self, srv: bf.MotoServer, tmp: Path) -> None:
        import boto3
        self.srv = srv
        self.fake = srv.fake
        self.dir = tmp
        self.fake.kill_all()
        self.fake.clock_offset = 0.0
        self.fake.fail_nodes = set()
        srv.reset()
        self.inf = bf.make_infra(srv.endpoint)
        kw = dict(endpoint_url=srv.endpoint, region_name=bf.REGION)
        boto3.client("s3", **kw).create_bucket(Bucket=BUCKET)
        self.batch = boto3.client("batch", **kw)
        self.conf = bf.write_config(str(tmp / "slurmshim.toml"), self.inf, endpoint=srv.endpoint,
                                    s3_bucket=BUCKET)
        self.env = dict(os.environ)
        self.env.update(bf.AWS_TEST_ENV)
        self.env.update(SLURMSHIM_CONF=self.conf, SLURMSHIM_STATE_DIR=str(tmp / "state"),
                        AWS_ENDPOINT_URL=srv.endpoint, PYTHONPATH=str(ROOT),
                        SLURMSHIM_BATCH_POLL="0", AWS_EC2_METADATA_DISABLED="true")
        for k in ("AWS_PROFILE", "SLURM_JOB_ID", "SLURM_CONF"):
            self.env.pop(k, None)
        srv.start_recording()

    def run(self, cmd: str, *args: str, check: bool = True):
        p = subprocess.run([sys.executable, "-m", f"slurmshim.cli.{cmd}", *args], env=self.env,
                           cwd=self.dir, capture_output=True, text=True, timeout=180)
        if check and p.returncode != 0:
            raise AssertionError(f"{cmd} {' '.join(args)} -> {p.returncode}\n{p.stdout}"
                                 f"{p.stderr}")
        return p

    def sbatch(self, *args: str) -> int:
        out = self.run("sbatch", *args).stdout
        m = re.fullmatch(r"Submitted batch job (\d+)\n", out)
        assert m, out
        return int(m.group(1))

    def sacct(self, *args: str) -> dict[str, list[str]]:
        out = self.run("sacct", "-n", "-P", "-o", "JobID,State,ExitCode,NNodes,NodeList",
                       *args).stdout
        return {line.split("|")[0]: line.split("|")[1:] for line in out.splitlines() if line}

    def squeue(self) -> list[list[str]]:
        out = self.run("squeue", "-h", "-o", "%i|%t|%D|%N").stdout
        return [line.split("|") for line in out.splitlines() if line]

    def wait_state(self, job: int, states: set[str], timeout: float = 90.0) -> list[str]:
        def look():
            row = self.sacct("-j", str(job)).get(str(job))
            return row if row and row[0].split()[0] in states else None
        return bf.wait_for(look, timeout, 0.3, f"job {job} in {states}")

    def submits(self) -> list[dict]:
        return [r["body"] for r in self.srv.batch_requests("submitjob")]

    def node_runs(self, batch_id: str) -> list[dict]:
        """The containers the fake ran for one multi-node Batch job, by node index."""
        runs = [r for r in self.fake.runs if self.fake.mnp_node(r["name"]) and
                self.fake.mnp_node(r["name"])[0] == batch_id]
        return sorted(runs, key=lambda r: int(r["environment"]["AWS_BATCH_JOB_NODE_INDEX"]))


@pytest.fixture
def site(moto, tmp_path):
    return Site(moto, tmp_path)


# srun says so when a node takes more than two seconds to join (a loaded machine): not part of
# what the tests compare
_WAITING = re.compile(r"srun: (Job \d+ step creation temporarily disabled, retrying \(waiting "
                      r"for \S+ to join\)|Step created for StepId=\d+\.\d+)$")


def job_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if not _WAITING.match(line)]


def batch_id_of(site: Site, job: int) -> str:
    jobs = [j for j in site.batch.list_jobs(jobQueue=site.inf.od_queue)["jobSummaryList"]]
    ids = [j["jobId"] for j in jobs
           if site.batch.describe_jobs(jobs=[j["jobId"]])["jobs"][0]["tags"].get(
               "slurmshim:job_id") == str(job)]
    assert len(ids) == 1, jobs
    return ids[0]


# ---------------------------------------------------------------- the tests

MNP_SCRIPT = """#!/bin/bash
#SBATCH -N 2
#SBATCH --ntasks-per-node=2
#SBATCH -o mnp-%j.out
echo "batch on $SLURMD_NODENAME nodeid=$SLURM_NODEID nnodes=$SLURM_NNODES" \
     "nodelist=$SLURM_JOB_NODELIST"
srun -l hostname
srun -N2 -n4 -l bash -c 'echo "$SLURMD_NODENAME node=$SLURM_NODEID proc=$SLURM_PROCID" \
  "local=$SLURM_LOCALID nnodes=$SLURM_NNODES ntasks=$SLURM_NTASKS list=$SLURM_JOB_NODELIST" \
  "batchnode=$AWS_BATCH_JOB_NODE_INDEX launch=$SLURM_LAUNCH_NODE_IPADDR"'
echo done
"""


def test_two_node_job_runs_its_steps_on_both_nodes(site):
    (site.dir / "job.sh").write_text(MNP_SCRIPT)
    job = site.sbatch("job.sh")
    (sub,) = site.submits()
    assert sub["jobQueue"] == site.inf.od_queue and sub["nodeOverrides"]["numNodes"] == 2
    # every node gets the same descriptor, with the job's own random agent token
    from slurmshim.runtime.descriptor import decode_inline
    (env,) = [o["containerOverrides"]["environment"]
              for o in sub["nodeOverrides"]["nodePropertyOverrides"]]
    desc = decode_inline(next(e["value"] for e in env if e["name"] == "SLURMSHIM_JOB"))
    assert re.fullmatch(r"[0-9a-f]{32}", desc["agent_token"])
    row = site.wait_state(job, {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"})
    out = (site.dir / f"mnp-{job}.out").read_text()
    assert row[:2] == ["COMPLETED", "0:0"], out
    lines = job_lines(out)
    assert lines[0] == ("batch on cloud-dy-01 nodeid=0 nnodes=2 "
                        "nodelist=cloud-dy-[01-02]")
    host = socket.gethostname()
    # `srun -l hostname` with 2 tasks per node: 4 tasks, block layout, 2 on each node
    assert sorted(lines[1:5]) == [f"{r}: {host}" for r in range(4)]
    # (SLURM_LAUNCH_NODE_IPADDR: the main node's address, the one the other node reaches it on)
    assert sorted(lines[5:9]) == [
        f"{r}: cloud-dy-0{r // 2 + 1} node={r // 2} proc={r} local={r % 2} nnodes=2 "
        f"ntasks=4 list=cloud-dy-[01-02] batchnode={r // 2} launch=127.0.0.11"
        for r in range(4)]
    assert lines[9:] == ["done"]
    # two containers really ran, node 1 the runtime's node agent joined to node 0
    bid = batch_id_of(site, job)
    runs = site.node_runs(bid)
    assert [r["environment"]["AWS_BATCH_JOB_NODE_INDEX"] for r in runs] == ["0", "1"]
    assert "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS" not in runs[0]["environment"]
    assert runs[1]["environment"]["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"] == \
        "127.0.0.11"
    # each container's hosts file (its /etc/hosts) names both nodes, after what it had
    for r in runs:
        assert Path(r["environment"]["SLURMSHIM_HOSTS_FILE"]).read_text() == (
            "127.0.0.1\tlocalhost\n"
            f"127.0.0.11 cloud-dy-01 # slurmshim job {job}\n"
            f"127.0.0.12 cloud-dy-02 # slurmshim job {job}\n")
    rows = site.sacct("-j", str(job))
    assert rows[str(job)][:4] == ["COMPLETED", "0:0", "2", "cloud-dy-[01-02]"]
    assert rows[f"{job}.batch"][:4] == ["COMPLETED", "0:0", "1", "cloud-dy-01"]


def test_failing_task_on_another_node_fails_the_job_with_its_exit_code(site):
    """Three nodes (the job definition registers two: numNodes comes from nodeOverrides); the
    task on node 1 exits 7, srun reports it the way Slurm does, the script ends with srun's
    status, and the job is FAILED 7:0."""
    job = site.sbatch("-N", "3", "-o", "fail-%j.out", "--wrap",
                      "srun -l bash -c 'echo on $SLURMD_NODENAME; exit $(( SLURM_NODEID == 1 ? 7 "
                      ": 0 ))'")
    row = site.wait_state(job, {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"})
    out = (site.dir / f"fail-{job}.out").read_text()
    assert row[:4] == ["FAILED", "7:0", "3", "cloud-dy-[01-03]"], out
    lines = job_lines(out)
    assert sorted(lines[:3]) == ["0: on cloud-dy-01", "1: on cloud-dy-02", "2: on cloud-dy-03"]
    assert lines[3:] == ["srun: error: cloud-dy-02: task 1: Exited with exit code 7"]
    assert len(site.node_runs(batch_id_of(site, job))) == 3
    assert site.sacct("-j", str(job))[f"{job}.batch"][:2] == ["FAILED", "7:0"]


def test_main_node_ending_first_ends_the_job(site):
    """A two-node script that never calls srun: the job is over when the main node's script
    is, whether or not the other node's agent had joined yet (Batch stops the other nodes)."""
    job = site.sbatch("-N", "2", "-o", "quick-%j.out", "--wrap",
                      "echo $SLURM_NNODES nodes, this is $SLURMD_NODENAME")
    assert site.wait_state(job, {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"})[:2] == \
        ["COMPLETED", "0:0"]
    assert (site.dir / f"quick-{job}.out").read_text() == "2 nodes, this is cloud-dy-01\n"
    runs = site.node_runs(batch_id_of(site, job))
    assert len(runs) == 2
    procs = [c.proc for c in site.fake.containers if c.name in {r["name"] for r in runs}]
    assert len(procs) == 2
    assert bf.wait_for(lambda: all(p.poll() is not None for p in procs), 30, 0.2,
                       "both nodes gone")


def test_srun_outside_a_job_runs_on_two_nodes(site):
    """`srun -N2` from the submit host: a two-node Batch job whose one step spans both nodes;
    the output comes back through CloudWatch, srun exits with the tasks' worst code."""
    p = site.run("srun", "-N2", "-l", "bash", "-c",
                 "echo node $SLURM_NODEID proc $SLURM_PROCID of $SLURM_NTASKS on "
                 "$SLURMD_NODENAME; exit $SLURM_NODEID", check=False)
    assert p.returncode == 1, p.stderr
    lines = job_lines(p.stdout)
    assert sorted(lines[:2]) == ["0: node 0 proc 0 of 2 on cloud-dy-01",
                                 "1: node 1 proc 1 of 2 on cloud-dy-02"]
    assert lines[2:] == ["srun: error: cloud-dy-02: task 1: Exited with exit code 1"]
    (sub,) = site.submits()
    assert sub["jobQueue"] == site.inf.od_queue and sub["nodeOverrides"]["numNodes"] == 2
    job = int(sub["tags"]["slurmshim:job_id"])
    assert site.sacct("-j", str(job))[str(job)][:4] == ["FAILED", "1:0", "2", "cloud-dy-[01-02]"]


def test_node_dying_mid_job_ends_it(site):
    """A child node's container dies while a step runs on it (Batch itself would do nothing
    and let the job run on): srun says "Node failure on cloud-dy-02", the runtime says which
    node stopped responding and ends the job as Slurm ends it (NODE_FAIL: banner, script
    stopped, the main node exits non-zero), at once rather than when the step would have
    ended."""
    job = site.sbatch("-N", "2", "-o", "nf-%j.out", "--wrap",
                      "srun -l bash -c 'touch ready.$SLURM_NODEID; exec sleep 300'; echo rc=$?; "
                      "until [ -e never ]; do sleep 0.1; done")
    assert bf.wait_for(lambda: (site.dir / "ready.1").exists(), 90, 0.2, "the step on node 1")
    name = site.node_runs(batch_id_of(site, job))[1]["name"]
    (child,) = [c for c in site.fake.containers if c.name == name]
    from slurmshim.runtime.common import session_pids
    for pid in session_pids(child.proc.pid):     # the whole container, its task included
        os.kill(pid, signal.SIGKILL)
    row = site.wait_state(job, {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"},
                          timeout=60)
    out = job_lines((site.dir / f"nf-{job}.out").read_text())
    # (the main node's exit status is all Batch reports: 143, as for any job the runtime
    # stopped; the backend does not tell NODE_FAIL apart from it)
    assert row[0] in ("NODE_FAIL", "FAILED"), (row, out)
    assert "srun: error: Node failure on cloud-dy-02" in out
    assert "srun: error: cloud-dy-02: task 1: Exited with exit code 1" in out
    said = [i for i, line in enumerate(out) if re.fullmatch(
        r"\[\S+\] error: Nodes cloud-dy-02 not responding: its node agent's connection to "
        r"the main node was lost", line)]
    banner = [i for i, line in enumerate(out) if re.fullmatch(
        r"\[\S+\] error: \*\*\* JOB %d ON cloud-dy-01 CANCELLED AT \S+ DUE TO NODE "
        r"FAILURE, SEE SLURMCTLD LOG FOR DETAILS \*\*\*" % job, line)]
    assert len(said) == 1 and len(banner) == 1 and said[0] < banner[0], out
    main = [d for d in site.batch.list_jobs(jobQueue=site.inf.od_queue,
                                            jobStatus="FAILED")["jobSummaryList"]]
    assert [d["container"]["exitCode"] for d in main] == [143]


def test_node_that_never_starts_fails_the_job_after_the_join_timeout(site):
    """A child node whose container cannot start never joins: after the job's join timeout
    ($SLURMSHIM_NODE_JOIN_TIMEOUT, exported from the submit environment; 3 s here, 300 by
    default) srun fails naming it and the job ends NODE_FAIL, instead of srun waiting for it
    indefinitely."""
    site.fake.fail_nodes = {2}
    site.env["SLURMSHIM_NODE_JOIN_TIMEOUT"] = "4"
    job = site.sbatch("-N", "3", "-o", "nj-%j.out", "--wrap",
                      "srun -l hostname; echo rc=$?; until [ -e never ]; do sleep 0.1; done")
    row = site.wait_state(job, {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"},
                          timeout=90)
    out = job_lines((site.dir / f"nj-{job}.out").read_text())
    assert row[0] in ("NODE_FAIL", "FAILED"), (row, out)
    why = ("no node agent joined within 4 seconds of the job's start "
           "(SLURMSHIM_NODE_JOIN_TIMEOUT)")
    # (node 2 is named; node 1 too should moto have started its container that late)
    nodes = r"(cloud-dy-03|cloud-dy-\[02-03\])"
    port = site.fake.mnp[batch_id_of(site, job)]["port"]
    assert [line for line in out if line.startswith("srun: error:")] == [next(
        line for line in out if re.fullmatch(
            r"srun: error: Unable to create step for job %d: %s not responding: %s \(they "
            r"join the main node on TCP port %d\)" % (job, nodes, re.escape(why), port), line))]
    assert [line for line in out if "not responding" in line and line.startswith("[")] == [
        next(line for line in out if re.fullmatch(
            r"\[\S+\] error: Nodes %s not responding: %s" % (nodes, re.escape(why)), line))]
    assert sum("DUE TO NODE FAILURE" in line for line in out) == 1


TRAPPER = """#!/bin/bash
#SBATCH --time=1
#SBATCH -o to-%j.out
trap 'echo caught TERM; exit 0' TERM
echo started
while true; do sleep 0.2; done
"""


def test_job_outliving_its_time_limit_is_timeout_even_if_the_script_exits_0(site):
    """The runtime stops the job at its limit (Slurm's banner), the script traps SIGTERM and
    exits 0 -- Batch only sees the container's exit code, so the runtime must not exit 0.  The
    fake Docker backdates the job by 52 s (Batch's startedAt and the runtime's clock alike), so
    the one-minute limit falls due some seconds after the start.  (Should a very loaded machine
    start the script only once the limit is past, bash dies of the SIGTERM before its trap:
    the job is TIMEOUT all the same; tests/test_runtime_job.py has the trap deterministic.)"""
    site.fake.clock_offset = 52.0
    (site.dir / "to.sh").write_text(TRAPPER)
    job = site.sbatch("to.sh")
    row = site.wait_state(job, {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"})
    out = (site.dir / f"to-{job}.out").read_text()
    assert row[:2] == ["TIMEOUT", "0:0"], out
    # (bash says "Terminated" for its `sleep`, which got the SIGTERM too, as under Slurm)
    assert re.fullmatch(r"(started\n)?\[\S+\] error: \*\*\* JOB %d ON cloud-dy-01 CANCELLED AT "
                        r"\S+ DUE TO TIME LIMIT \*\*\*\n((Terminated\n)?caught TERM\n)?" % job,
                        out), out
    assert site.sacct("-j", str(job))[f"{job}.batch"][:2] == ["CANCELLED", "0:15"]
    detail = site.batch.list_jobs(jobQueue=site.inf.spot_queue,
                                  jobStatus="FAILED")["jobSummaryList"]
    assert [d["container"]["exitCode"] for d in detail] == [143]
    squeue = site.run("squeue", "-h", "-t", "all", "-o", "%i %T %r").stdout.split()
    assert squeue == [str(job), "TIMEOUT", "TimeLimit"]
