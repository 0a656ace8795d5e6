"""End to end on AWS Batch, emulated: moto's server on 127.0.0.1 (ThreadedMotoServer, port 0, in
this process), its full Batch backend with a fake Docker client that runs each container as a
local process (tests/batch_fixtures.py), and the REAL commands (`python -m slurmshim.cli.X`)
pointed at it with AWS_ENDPOINT_URL and a TOML config.  Jobs really run: the job definition's
bootstrap under /bin/sh + python3, the runtime fetched from (moto's) S3, the script with its
SLURM_* environment.  The requests Batch received are read from moto's recorder (it keeps
fields moto ignores: retryStrategy, nodeOverrides, tags ...).  No traffic leaves loopback.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("moto")
pytest.importorskip("boto3")

sys.path.insert(0, os.path.dirname(__file__))
import batch_fixtures as bf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "slurmshim-e2e"
#: how long any wait may take before the test fails: generous, a loaded CI machine (load
#: average 14 on 2 cores) is slow, and a wait that succeeds returns as soon as it can
WAIT = 90.0


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    rec = tmp_path_factory.mktemp("moto") / "recording.jsonl"
    yield from bf.moto_with_fake_docker(str(rec))


class Site:
    """One test's world: fresh moto state, infrastructure, config, state dir, CLI runner."""

    def __init__(self, srv: bf.MotoServer, tmp: Path) -> None:
        import boto3
        self.srv = srv
        self.dir = tmp
        srv.fake.kill_all()
        srv.reset()
        self.inf = bf.make_infra(srv.endpoint)
        kw = dict(endpoint_url=srv.endpoint, region_name=bf.REGION)
        boto3.client("s3", **kw).create_bucket(Bucket=BUCKET)
        self.batch = boto3.client("batch", **kw)
        self.logs = boto3.client("logs", **kw)
        self.conf = bf.write_config(str(tmp / "slurmshim.toml"), self.inf, endpoint=srv.endpoint,
                                    s3_bucket=BUCKET)
        self.env = dict(os.environ)
        self.env.update(bf.AWS_TEST_ENV)
        self.env.update(SLURMSHIM_CONF=self.conf, SLURMSHIM_STATE_DIR=str(tmp / "state"),
                        AWS_ENDPOINT_URL=srv.endpoint, PYTHONPATH=str(ROOT),
                        SLURMSHIM_BATCH_POLL="0", AWS_EC2_METADATA_DISABLED="true",
                        SLURMSHIM_DEBUG="1")
        for k in ("AWS_PROFILE", "SLURM_JOB_ID", "SLURM_CONF"):
            self.env.pop(k, None)
        self.first_container = len(srv.fake.containers)   # this test's are the later ones
        self.gates: set[str] = set()
        srv.start_recording()

    def run(self, cmd: str, *args: str, check: bool = True, stdin: str | None = None):
        p = subprocess.run([sys.executable, "-m", f"slurmshim.cli.{cmd}", *args], env=self.env,
                           cwd=self.dir, capture_output=True, text=True, input=stdin,
                           timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"{cmd} {' '.join(args)} -> {p.returncode}\n{p.stdout}"
                                 f"{p.stderr}")
        return p

    def sbatch(self, *args: str) -> int:
        out = self.run("sbatch", *args).stdout
        m = re.fullmatch(r"Submitted batch job (\d+)\n", out)
        assert m, out
        return int(m.group(1))

    def sacct(self, *args: str) -> list[list[str]]:
        out = self.run("sacct", "-n", "-P", "-o", "JobID,State,ExitCode,Restarts", *args).stdout
        return [line.split("|") for line in out.splitlines() if line]

    def squeue(self, *args: str) -> list[list[str]]:
        out = self.run("squeue", "-h", "-o", "%i|%t|%r|%N", *args).stdout
        return [line.split("|") for line in out.splitlines() if line]

    def wait_state(self, job: str, states: set[str], timeout: float = WAIT) -> list[str]:
        def look():
            for row in self.sacct("-j", job.split("_")[0]):
                if row[0] == job and row[1].split()[0] in states:
                    return row
            return None
        return bf.wait_for(look, timeout, 0.3, f"job {job} in {states}")

    def running(self, job: int | str, what: str = "running") -> None:
        """Wait until squeue shows `job` (a job or `<job>_<task>`) in state R."""
        bf.wait_for(lambda: [str(job), "R"] in [r[:2] for r in self.squeue()], WAIT, 0.3,
                    f"{job} {what} (R in squeue)")

    def gate(self, name: str) -> str:
        """A shell command for a job's script: wait until the test calls `open_gate(name)`
        (bf.gate: the fake containers share this filesystem).  What the test checks while
        the job runs then does not depend on the machine's speed; a gate the test does not
        open keeps the job running until it is cancelled or reclaimed, and is opened when the
        test ends (`close`)."""
        self.gates.add(name)
        return bf.gate(self.dir / f"{name}.open")

    def open_gate(self, name: str) -> None:
        bf.open_gate(self.dir / f"{name}.open")

    def close(self) -> None:
        """Open every gate: a script the fake container's kill missed (the job runtime runs it
        in a session of its own: SIGKILLed before it has stopped the script, the runtime leaves
        it behind, where a real container would take it along) ends instead of waiting."""
        for name in self.gates:
            self.open_gate(name)

    def logged(self, text: str) -> bool:
        """Some container of this test wrote the line `text` on its stdout (what CloudWatch
        gets once the container ends)."""
        return any(which == "out" and line == text
                   for c in self.srv.fake.containers[self.first_container:]
                   for _, which, line in list(c.lines))

    def submits(self) -> list[dict]:
        return [r["body"] for r in self.srv.batch_requests("submitjob")]

    def ops(self) -> list[str]:
        return [r["operation"] for r in self.srv.batch_requests()]


@pytest.fixture
def site(moto, tmp_path):
    s = Site(moto, tmp_path)
    yield s
    s.close()


# ---------------------------------------------------------------- the tests

def test_plain_job_runs_and_completes(site):
    # the job runs until the test has seen it running (its gate), then ends
    (site.dir / "job.sh").write_text(
        "#!/bin/sh\n#SBATCH --job-name=hello\n#SBATCH --time=5\n#SBATCH -o out-%j.txt\n"
        "echo \"job $SLURM_JOB_ID on $SLURMD_NODENAME in $SLURM_JOB_PARTITION\"\n"
        f"echo \"cpus $SLURM_CPUS_ON_NODE name $SLURM_JOB_NAME\"\n{site.gate('hello')}\n")
    job = site.sbatch("job.sh")
    # what Batch received, including what moto ignores
    (sub,) = site.submits()
    assert sub["jobQueue"] == site.inf.spot_queue
    assert sub["jobName"] == "hello"
    assert sub["retryStrategy"] == {"attempts": 4, "evaluateOnExit": [
        {"onStatusReason": "Host EC2*", "action": "RETRY"}, {"onReason": "*", "action": "EXIT"}]}
    assert sub["timeout"]["attemptDurationSeconds"] >= 300
    assert sub["tags"]["slurmshim:job_id"] == str(job)
    assert sub["propagateTags"] is True
    assert {"type": "VCPU", "value": "1"} in sub["containerOverrides"]["resourceRequirements"]
    # squeue sees it running, then it completes
    site.running(job)
    site.open_gate("hello")
    row = site.wait_state(str(job), {"COMPLETED"})
    assert row[2] == "0:0"
    rows = {r[0]: r for r in site.sacct("-j", str(job))}
    assert rows[f"{job}.batch"][1] == "COMPLETED"
    text = (site.dir / f"out-{job}.txt").read_text()
    assert text == f"job {job} on cloud-dy-01 in cloud\ncpus 1 name hello\n"
    # the job's log went to CloudWatch too
    detail = site.batch.list_jobs(jobQueue=site.inf.spot_queue, jobStatus="SUCCEEDED")
    assert detail["jobSummaryList"]


def test_steady_state_sbatch_is_one_call_and_failures_keep_exit_codes(site):
    first = site.sbatch("--wrap", "exit 3")
    site.srv.start_recording()      # the job definition and runtime are known now
    second = site.sbatch("--wrap", "echo again; exit 0")
    assert site.ops() == ["submitjob"]
    # ... sent by the botocore-free fast path (credentials and endpoint in the environment)
    (req,) = site.srv.batch_requests("submitjob")
    assert req["headers"]["User-Agent"] == "slurmshim/fastpath"
    third = site.sbatch("--wrap", "kill -9 $$")
    assert site.wait_state(str(first), {"FAILED"})[2] == "3:0"
    assert site.wait_state(str(second), {"COMPLETED"})[2] == "0:0"
    assert site.wait_state(str(third), {"FAILED"})[2] == "0:9"


def test_dependency_failure(site):
    # A fails, but only once B and C were submitted (its gate): B's afterok then goes to
    # Batch as dependsOn, C's afternotok is held by slurmshim
    a = site.sbatch("--wrap", f"{site.gate('a')}; exit 1")
    b = site.sbatch(f"--dependency=afterok:{a}", "--wrap", "echo never")
    c = site.sbatch(f"--dependency=afternotok:{a}", "--wrap", "echo rescue")
    subs = site.submits()
    assert len(subs) == 2           # afternotok is held by slurmshim, not sent yet
    (dep,) = subs[1]["dependsOn"]   # afterok is native: Batch's dependsOn on A's Batch job
    (target,) = site.batch.describe_jobs(jobs=[dep["jobId"]])["jobs"]
    assert target["tags"]["slurmshim:job_id"] == str(a)
    site.open_gate("a")
    assert site.wait_state(str(a), {"FAILED"})[2] == "1:0"
    # Batch fails the afterok job without running it: Slurm keeps it PENDING, never satisfied
    bf.wait_for(lambda: [str(b), "PD", "DependencyNeverSatisfied", ""] in site.squeue(), WAIT,
                0.3, "DependencyNeverSatisfied")
    # afternotok is now satisfied: slurmshim submits it, it runs
    assert site.wait_state(str(c), {"COMPLETED"})
    assert (site.dir / f"slurm-{c}.out").read_text() == "rescue\n"
    site.run("scancel", str(b))
    assert site.wait_state(str(b), {"CANCELLED"})


def test_array_task_ids_are_exact(site):
    job = site.sbatch("--array=1,3,7-8", "-o", "arr-%A_%a.out", "--wrap",
                      "echo task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_JOB_ID id $SLURM_JOB_ID "
                      "count $SLURM_ARRAY_TASK_COUNT")
    (sub,) = site.submits()
    assert sub["arrayProperties"] == {"size": 4}
    for t in (1, 3, 7, 8):
        site.wait_state(f"{job}_{t}", {"COMPLETED"})
    raw = {1: job + 1, 3: job + 2, 7: job + 3, 8: job}
    for t in (1, 3, 7, 8):
        text = (site.dir / f"arr-{job}_{t}.out").read_text()
        assert text == f"task {t} of {job} id {raw[t]} count 4\n"
    ids = [r[0] for r in site.sacct("-j", str(job)) if "." not in r[0]]
    assert ids == [f"{job}_1", f"{job}_3", f"{job}_7", f"{job}_8"]


def test_scancel_terminates_a_running_job(site):
    # the job runs until it is cancelled (a gate never opened); cancelled once it has
    # written its first line, which must then be in the output before the banner
    job = site.sbatch("--wrap", f"echo started; {site.gate('never')}")
    out_file = site.dir / f"slurm-{job}.out"
    bf.wait_for(lambda: out_file.exists() and out_file.read_text().startswith("started\n"),
                WAIT, 0.2, "'started' in the job's output")
    site.running(job)
    site.run("scancel", str(job))
    terms = [r["body"] for r in site.srv.batch_requests("terminatejob")]
    assert terms and terms[0]["reason"] == f"Cancelled by slurmshim scancel (uid {os.getuid()})"
    row = site.wait_state(str(job), {"CANCELLED"})
    assert row[1].startswith("CANCELLED")
    out = out_file.read_text()
    assert out.startswith("started\n") and "CANCELLED AT" in out
    # a signal Batch cannot deliver is refused, not pretended
    other = site.sbatch("--wrap", site.gate("never"))
    site.running(other)
    p = site.run("scancel", "-s", "USR1", str(other), check=False)
    assert p.returncode == 1
    assert "scancel: error: Kill job error on job id" in p.stderr and "USR1" in p.stderr
    site.run("scancel", str(other))


def test_spot_reclaim_is_retried_and_visible_in_sacct(site):
    # the first attempt runs until it is reclaimed (a gate never opened); the requeued one
    # (Slurm sets SLURM_RESTART_COUNT once a job was restarted) runs through
    job = site.sbatch("--wrap", "echo attempt $SLURM_RESTART_COUNT; "
                      f"[ -n \"$SLURM_RESTART_COUNT\" ] || {site.gate('never')}")
    site.running(job)
    (first,) = [s["jobId"] for st in ("RUNNING", "STARTING")
                for s in site.batch.list_jobs(jobQueue=site.inf.spot_queue,
                                              jobStatus=st)["jobSummaryList"]]
    # EC2 reclaims the Spot instance
    site.batch.terminate_job(jobId=first, reason=bf.SPOT_INSTANCE_REASON)
    row = site.wait_state(str(job), {"COMPLETED"})
    assert row[3] == "1"           # Restarts
    rows = site.sacct("-D", "-j", str(job))
    states = [r[1] for r in rows if r[0] == str(job)]
    assert states == ["NODE_FAIL", "COMPLETED"]
    show = site.run("scontrol", "show", "job", str(job)).stdout
    assert "Restarts=1" in show
    assert len(site.submits()) == 2  # the requeue is a new SubmitJob


def test_sinfo_shows_the_partition(site):
    out = site.run("sinfo").stdout.splitlines()
    assert out[0].split() == ["PARTITION", "AVAIL", "TIMELIMIT", "NODES", "STATE", "NODELIST"]
    cloud = [line.split() for line in out[1:] if line.startswith("cloud*")]
    assert cloud == [["cloud*", "up", "1-00:00:00", "64", "idle~", "cloud-dy-[01-64]"]]
    od = [line.split() for line in out[1:] if line.startswith("od ")]
    assert od and od[0][3] == "16" and od[0][4] == "idle~"
    assert {"describejobqueues", "describecomputeenvironments"} <= set(site.ops())


def test_multinode_goes_to_the_on_demand_queue(site):
    job = site.sbatch("-N", "2", "--ntasks-per-node=2", "--wrap", "sleep 30")
    (sub,) = site.submits()
    assert sub["jobQueue"] == site.inf.od_queue
    assert sub["nodeOverrides"]["numNodes"] == 2
    assert "containerOverrides" not in sub
    over = sub["nodeOverrides"]["nodePropertyOverrides"]
    assert [o["targetNodes"] for o in over] == ["0:"]
    assert {"type": "VCPU", "value": "2"} in over[0]["containerOverrides"]["resourceRequirements"]
    # moto ignores nodeOverrides (no descriptor reaches the nodes), so the job fails at once
    # there; on AWS it runs -- the node lifecycle is covered with Stubber in test_batch_backend
    site.run("scancel", str(job))
    assert site.wait_state(str(job), {"FAILED", "CANCELLED"})


def test_sbatch_wait_and_sattach(site):
    # sbatch --wait returns the job's exit code once Batch has finished it, polling at
    # SLURMSHIM_BATCH_POLL (backing off while nothing changes), not at its own 0.5 s loop
    env = dict(site.env, SLURMSHIM_BATCH_POLL="1")
    start = time.time()
    p = subprocess.run([sys.executable, "-m", "slurmshim.cli.sbatch", "--wait", "--wrap",
                        "echo waited; sleep 1; exit 4"], env=env, cwd=site.dir,
                       capture_output=True, text=True, timeout=120)
    elapsed = time.time() - start
    assert p.returncode == 4 and re.match(r"Submitted batch job \d+\n", p.stdout), p.stderr
    describes = site.ops().count("describejobs")
    assert 1 <= describes <= elapsed + 1, (describes, elapsed)
    # sattach streams the job's CloudWatch log (moto writes it when the container ends); the
    # job waits at its gate until sattach follows it (sattach refuses a job that has ended)
    job = site.sbatch("-o", "/dev/null", "--wrap",
                      f"echo to the log; {site.gate('sattach')}; echo done")
    bf.wait_for(lambda: any(r[0] == str(job) for r in site.squeue()), WAIT, 0.3, "queued")
    site.srv.start_recording()
    att = subprocess.Popen([sys.executable, "-m", "slurmshim.cli.sattach", f"{job}.0"],
                           env=site.env, cwd=site.dir, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        # one DescribeJobs looks the job up (the refresh before sattach's "has already
        # completed" check), the next ones are its follower's: it is attached
        bf.wait_for(lambda: att.poll() is not None or site.ops().count("describejobs") >= 2,
                    WAIT, 0.1, "sattach following the job")
        site.open_gate("sattach")
        out, err = att.communicate(timeout=WAIT)
    finally:
        if att.poll() is None:
            att.kill()
    assert (att.returncode, out) == (0, "to the log\ndone\n"), err


def test_srun_streams_the_log_and_exits_with_the_command_code(site):
    """srun outside a job on a Batch partition: the output comes from CloudWatch through the
    backend (the container does not share srun's spool directory), stdout and stderr merged
    as CloudWatch has them; srun exits with the command's exit code."""
    p = site.run("srun", "-J", "interactive", "sh", "-c",
                 "echo from stdout; sleep 0.3; echo from stderr >&2; exit 3", check=False)
    assert p.returncode == 3, p.stderr
    # (srun's own "task 0: Exited" line comes from the srun inside the job: on its stderr,
    # so in the same merged stream)
    assert p.stdout == ("from stdout\nfrom stderr\n"
                        "srun: error: cloud-dy-01: task 0: Exited with exit code 3\n")
    (sub,) = site.submits()
    assert sub["jobName"] == "interactive"
    job = int(sub["tags"]["slurmshim:job_id"])
    assert site.sacct("-j", str(job))[0][1:3] == ["FAILED", "3:0"]
    assert list((site.dir / "state" / "srun").iterdir()) == []     # spool cleaned up
    # the follower's polls are all the Batch calls srun made after SubmitJob (its ledger
    # updates reuse them), and the output was read from CloudWatch Logs
    ops = site.ops()
    assert set(ops[ops.index("submitjob") + 1:]) <= {"describejobs", "listjobs"}
    logs = [r["body"] for r in site.srv.recorded()
            if (r["target"] or "").endswith("GetLogEvents")]
    assert logs and {b["logGroupName"] for b in logs} == {"/aws/batch/job"}


def test_srun_ctrl_c_cancels_the_batch_job(site):
    import signal
    # the command runs until it is cancelled (a gate never opened); Ctrl-C once its first
    # line is in the container's log, which srun must then print before the banner
    proc = subprocess.Popen([sys.executable, "-m", "slurmshim.cli.srun", "sh", "-c",
                             f"echo started; {site.gate('never')}"], env=site.env,
                            cwd=site.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        bf.wait_for(lambda: any(r[1] == "R" for r in site.squeue()), WAIT, 0.3, "running")
        (job,) = [int(r[0]) for r in site.squeue()]
        bf.wait_for(lambda: site.logged("started"), WAIT, 0.1, "'started' in the job's log")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    assert f"srun: Cancelled job {job}\n" in err
    assert out.startswith("started\n") and "CANCELLED AT" in out
    terms = [r["body"] for r in site.srv.batch_requests("terminatejob")]
    assert [t["reason"] for t in terms] == [f"Cancelled by slurmshim scancel (uid {os.getuid()})"]
    assert site.sacct("-j", str(job))[0][1].startswith("CANCELLED")


def test_slurmshim_output_writes_the_cloudwatch_log(site):
    job = site.sbatch("-o", "res-%j.out", "-e", "res-%j.err", "--wrap",
                      "echo to output; sleep 0.3; echo to error >&2")
    site.wait_state(str(job), {"COMPLETED"})
    out, err = site.dir / f"res-{job}.out", site.dir / f"res-{job}.err"
    # the fake containers share this filesystem: the job wrote its files itself; a real
    # container without a shared mount would not have, so take them away
    assert out.read_text() == "to output\n" and err.read_text() == "to error\n"
    out.unlink()
    err.unlink()
    p = site.run("admin", "output", str(job))
    assert p.stdout == f"job {job}: wrote {out}, {err}\n"
    # CloudWatch has one stream: stdout and stderr merged, in order, into --output
    assert out.read_text() == "to output\nto error\n"
    assert err.read_text() == ""
    p = site.run("admin", "output", str(job))
    assert p.stdout == f"job {job}: {out} already exists (kept; --force to overwrite)\n"
    out.write_text("stale\n")
    site.run("admin", "output", "--force", str(job))
    assert out.read_text() == "to output\nto error\n"


PLUGIN = '''\
import pluggy
hookimpl = pluggy.HookimplMarker("slurmshim")

@hookimpl
def batch_job_definition(request):
    request["containerProperties"].setdefault("environment", []).append(
        {"name": "SITE", "value": "hpc1"})

@hookimpl
def batch_submit_job(request, spec):
    request.setdefault("tags", {})["cost-center"] = "cc-" + spec.job_name
'''


def test_plugins_change_what_batch_receives(site):
    from slurmshim.backends.batch.translate import DEFINITION_PREFIX, job_definition_hash
    pdir = site.dir / "plugins"
    pdir.mkdir()
    (pdir / "site.py").write_text(PLUGIN)
    conf = Path(site.conf)
    conf.write_text(f'plugins_dir = "{pdir}"\n' + conf.read_text())
    site.sbatch("-J", "sim", "--wrap", "true")
    (reg,) = [r["body"] for r in site.srv.batch_requests("registerjobdefinition")]
    assert {"name": "SITE", "value": "hpc1"} in reg["containerProperties"]["environment"]
    assert reg["jobDefinitionName"] == DEFINITION_PREFIX + job_definition_hash(reg)
    (sub,) = site.submits()
    assert sub["jobDefinition"] == reg["jobDefinitionName"]
    assert sub["tags"]["cost-center"] == "cc-sim"
    (known,) = site.batch.describe_job_definitions(
        jobDefinitionName=reg["jobDefinitionName"])["jobDefinitions"]
    assert {"name": "SITE", "value": "hpc1"} in known["containerProperties"]["environment"]
    # --test-only shows the same requests; the definition is known: steady state is 1 call
    p = site.run("sbatch", "--test-only", "-J", "sim", "--wrap", "true")
    report = json.loads(p.stderr[p.stderr.index("\n{") + 1:])
    assert report["RegisterJobDefinition"]["jobDefinitionName"] == reg["jobDefinitionName"]
    assert report["SubmitJob"][0]["tags"]["cost-center"] == "cc-sim"
    site.srv.start_recording()
    site.sbatch("-J", "again", "--wrap", "true")
    assert site.ops() == ["submitjob"]
    assert site.submits()[0]["tags"]["cost-center"] == "cc-again"


def test_reclaimed_array_task_is_requeued(site):
    # first attempts wait at the gate: task 0's until it is reclaimed, task 1's until the
    # test opens it (once task 0 is done); the requeued task 0 runs through
    job = site.sbatch("--array=0-1", "-o", "arr-%A_%a.out", "--wrap",
                      "echo task $SLURM_ARRAY_TASK_ID restart $SLURM_RESTART_COUNT; "
                      f"[ -n \"$SLURM_RESTART_COUNT\" ] || {site.gate('tasks')}")
    (parent,) = [s["tags"] for s in site.submits()]

    def running_child():
        listed = site.batch.list_jobs(jobQueue=site.inf.spot_queue, jobStatus="RUNNING")
        return next((s["jobId"] for s in listed["jobSummaryList"]
                     if s["jobId"].endswith(":0")), None)

    child = bf.wait_for(running_child, WAIT, 0.3, "child 0 running")
    site.running(f"{job}_0", "task 0")
    site.batch.terminate_job(jobId=child, reason=bf.SPOT_INSTANCE_REASON)
    row = site.wait_state(f"{job}_0", {"COMPLETED"})
    assert row[3] == "1"                                       # Restarts
    site.open_gate("tasks")
    assert site.wait_state(f"{job}_1", {"COMPLETED"})[3] == "0"
    states = [r[1] for r in site.sacct("-D", "-j", f"{job}_0") if r[0] == f"{job}_0"]
    assert states == ["NODE_FAIL", "COMPLETED"]
    first, again = site.submits()
    assert first["arrayProperties"] == {"size": 2} and "arrayProperties" not in again
    assert again["tags"]["slurmshim:array_offset"] == "0"
    assert (site.dir / f"arr-{job}_0.out").read_text() == "task 0 restart 1\n"
    # (Slurm sets SLURM_RESTART_COUNT only once a job was restarted)
    assert (site.dir / f"arr-{job}_1.out").read_text() == "task 1 restart\n"
    assert parent["slurmshim:job_id"] == str(job)

