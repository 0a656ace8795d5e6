"""slurmshim.backends.batch.client: settings, error mapping, pagination, 100-id chunks, job
definition caching, semantic retries, throttling, call counting.  In-process moto (`mock_aws`)
where moto is faithful, botocore's Stubber where it is not.  No network beyond loopback."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("moto")
boto3 = pytest.importorskip("boto3")
from botocore.stub import ANY, Stubber  # noqa: E402
from moto import mock_aws  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import batch_fixtures as bf  # noqa: E402

from slurmshim.backends.batch import client as bc  # noqa: E402
from slurmshim.config import AwsSettings  # noqa: E402
from slurmshim.errors import BackendError, SlurmError, SubmitError  # noqa: E402
from slurmshim.ledger import Ledger  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch):
    for k, v in bf.AWS_TEST_ENV.items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BATCH"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("SLURMSHIM_AWS_FASTPATH", "0")  # in-process: moto patches botocore only


@pytest.fixture
def ledger(tmp_path):
    led = Ledger(tmp_path / "ledger.sqlite3")
    yield led
    led.close()


def stubbed(counter=None, ledger=None, service="batch"):
    """A BatchClient whose `service` client is a Stubber-driven boto3 client (no traffic)."""
    raw = boto3.client(service, region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    cli = bc.BatchClient(AwsSettings(region="us-east-1"), ledger=ledger,
                         counter=counter or bc.CallCounter(), clients={service: raw})
    stub = Stubber(raw)
    stub.activate()
    return cli, stub


JOBDEF = {"jobDefinitionName": "slurmshim-abc123", "type": "container",
          "containerProperties": {"image": "python:3.12-slim", "command": ["true"],
                                  "resourceRequirements": [{"type": "VCPU", "value": "1"},
                                                           {"type": "MEMORY", "value": "256"}]}}


# ---------------------------------------------------------------- settings

def test_settings_environment_over_config():
    aws = AwsSettings(region="eu-west-1", profile="site", endpoint_url="http://127.0.0.1:5000")
    s = bc.resolve_settings(aws, {})
    assert s == {"region": "eu-west-1", "profile": "site",
                 "endpoints": {"batch": "http://127.0.0.1:5000", "logs": "http://127.0.0.1:5000",
                               "s3": "http://127.0.0.1:5000"}}
    s = bc.resolve_settings(aws, {"AWS_REGION": "us-west-2", "AWS_PROFILE": "mine",
                                  "AWS_ENDPOINT_URL_BATCH": "http://127.0.0.1:1"})
    assert s["region"] == "us-west-2"
    assert s["profile"] is None            # boto3 reads AWS_PROFILE itself
    assert s["endpoints"]["batch"] is None  # botocore reads AWS_ENDPOINT_URL_BATCH itself
    assert s["endpoints"]["logs"] == "http://127.0.0.1:5000"
    assert bc.resolve_settings(aws, {"AWS_DEFAULT_REGION": "ap-south-1"})["region"] == "ap-south-1"
    assert bc.resolve_settings(None, {})["region"] is None


def test_environment_endpoint_reaches_botocore(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_BATCH", "http://127.0.0.1:4567")
    cli = bc.BatchClient(AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:1"))
    assert cli.batch.meta.endpoint_url == "http://127.0.0.1:4567"
    assert cli.logs.meta.endpoint_url == "http://127.0.0.1:1"
    assert cli.batch is cli.batch      # built once


def test_no_credentials_is_one_clear_line(monkeypatch, tmp_path):
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
              "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)
    cli = bc.BatchClient(AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:9"))
    with pytest.raises(BackendError) as ei:
        cli.submit_job({"jobName": "x", "jobQueue": "q", "jobDefinition": "d"})
    text = ei.value.render("sbatch")
    assert text.count("\n") == 1
    assert "credentials" in text and "aws configure" in text and "AWS_PROFILE" in text


def test_no_region(monkeypatch, tmp_path):
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(BackendError, match="region"):
        bc.BatchClient(AwsSettings()).batch


def test_unknown_profile(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    with pytest.raises(BackendError, match="profile not found: nosuch"):
        bc.BatchClient(AwsSettings(region="us-east-1", profile="nosuch")).batch


# ---------------------------------------------------------------- error mapping

def _client_error(code, message, op="SubmitJob", status=400):
    from botocore.exceptions import ClientError
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, op)


@pytest.mark.parametrize("code,message,op,submitting,expect", [
    ("ClientException", "Job queue nosuch does not exist", "SubmitJob", True,
     "sbatch: error: Batch job submission failed: Invalid partition name specified\n"),
    ("ClientException", "JobQueue arn:aws:batch:us-east-1:1:job-queue/x not found", "SubmitJob",
     True, "sbatch: error: Batch job submission failed: Invalid partition name specified\n"),
    ("ClientException", "Job Queue is DISABLED", "SubmitJob", True,
     "sbatch: error: Batch job submission failed: Partition in inactive state\n"),
    ("TooManyRequestsException", "Too Many Requests", "SubmitJob", True,
     "sbatch: error: Batch job submission failed: AWS Batch is throttling requests "
     "(TooManyRequestsException); try again shortly\n"),
    ("AccessDeniedException", "User: x is not authorized to perform: batch:SubmitJob",
     "SubmitJob", True, "sbatch: error: Batch job submission failed: Access denied by AWS for "
     "SubmitJob: User: x is not authorized to perform: batch:SubmitJob\n"),
    ("UnrecognizedClientException", "The security token included in the request is invalid.",
     "ListJobs", False, "sbatch: error: AWS credentials were rejected "
     "(UnrecognizedClientException): The security token included in the request is invalid.\n"),
    ("ClientException", "Job definition slurmshim-x does not exist", "SubmitJob", True,
     "sbatch: error: Batch job submission failed: Invalid job definition (it was deregistered?):"
     " Job definition slurmshim-x does not exist\n"),
    ("ServerException", "boom", "DescribeJobs", False,
     "sbatch: error: AWS Batch internal error during DescribeJobs: boom\n"),
    ("ClientException", "Array size must be between 2 and 10000", "SubmitJob", True,
     "sbatch: error: Batch job submission failed: AWS Batch rejected SubmitJob: Array size must "
     "be between 2 and 10000\n"),
])
def test_error_mapping(code, message, op, submitting, expect):
    err = bc.map_error(_client_error(code, message, op), op, submitting=submitting)
    assert isinstance(err, SubmitError if submitting and code not in bc._CRED_CODES
                      else SlurmError)
    assert err.render("sbatch") == expect


def test_connection_error_mapping():
    from botocore.exceptions import EndpointConnectionError
    err = bc.map_error(EndpointConnectionError(endpoint_url="http://127.0.0.1:9/v1/submitjob"),
                       "SubmitJob", submitting=True)
    assert err.render("sbatch") == ("sbatch: error: Batch job submission failed: Unable to "
                                    "contact AWS Batch at http://127.0.0.1:9/v1/submitjob "
                                    "(connect failure)\n")


# ---------------------------------------------------------------- moto: the real calls

@mock_aws(config={"batch": {"use_docker": False}})
def test_missing_queue_is_invalid_partition(ledger):
    cli = bc.BatchClient(AwsSettings(region="us-east-1"), ledger=ledger)
    arn = cli.ensure_job_definition(JOBDEF)
    with pytest.raises(SubmitError) as ei:
        cli.submit_job({"jobName": "job1", "jobQueue": "nosuch", "jobDefinition": arn})
    assert ei.value.reason == "Invalid partition name specified"


@mock_aws
def test_job_definition_registered_once_per_content(ledger):
    counter = bc.CallCounter()
    cli = bc.BatchClient(AwsSettings(region="us-east-1"), ledger=ledger, counter=counter)
    arn = cli.ensure_job_definition(JOBDEF)
    assert arn.endswith(":job-definition/slurmshim-abc123:1")
    assert counter.snapshot() == {"batch.DescribeJobDefinitions": 1,
                                  "batch.RegisterJobDefinition": 1}
    counter.reset()
    assert cli.ensure_job_definition(JOBDEF) == arn          # ledger kv: no call at all
    assert counter.total() == 0
    # another submit host (empty ledger) finds the ACTIVE revision by name instead of
    # registering revision 2
    other = Ledger(Path(ledger.path).parent / "other.sqlite3")
    cli2 = bc.BatchClient(AwsSettings(region="us-east-1"), ledger=other, counter=counter)
    assert cli2.ensure_job_definition(JOBDEF) == arn
    assert counter.snapshot() == {"batch.DescribeJobDefinitions": 1}
    # a deregistered definition is not reused
    boto3.client("batch", region_name="us-east-1").deregister_job_definition(jobDefinition=arn)
    cli2.forget_job_definition("slurmshim-abc123")
    assert cli2.ensure_job_definition(JOBDEF).endswith(":2")
    other.close()


@mock_aws(config={"batch": {"use_docker": False}})
def test_submit_describe_list_terminate(ledger):
    inf = bf.make_infra(None)
    cli = bc.BatchClient(AwsSettings(region="us-east-1"), ledger=ledger)
    arn = cli.ensure_job_definition(JOBDEF)
    ids = [cli.submit_job({"jobName": f"j{i}", "jobQueue": inf.spot_queue,
                           "jobDefinition": arn})["jobId"] for i in range(3)]
    found = cli.describe_jobs_eventually(ids + ["nosuch"], attempts=2)
    assert [d["jobId"] for d in found] == ids
    assert cli.describe_jobs([]) == []          # never DescribeJobs(jobs=[]): moto lists all
    listed = {s["jobId"] for st in bc.ALL_STATUSES
              for s in cli.list_jobs(status=st, job_queue=inf.spot_queue)}
    assert set(ids) <= listed
    cli.terminate_job(ids[0], "Cancelled by slurmshim scancel (uid 0)")
    with pytest.raises(ValueError):
        cli.list_jobs(status="RUNNING")
    with pytest.raises(ValueError):
        cli.list_jobs(status="DONE", job_queue=inf.spot_queue)


@mock_aws
def test_throttling_is_retried_by_botocore(monkeypatch):
    """TooManyRequestsException (HTTP 429) from Batch: botocore's standard mode retries it."""
    from moto.batch.responses import BatchResponse
    from moto.core.exceptions import AWSError

    class TooMany(AWSError):
        TYPE = "TooManyRequestsException"
        STATUS = 429

    orig = BatchResponse.describejobs
    left = {"n": 2}

    def flaky(self):
        if left["n"] > 0:
            left["n"] -= 1
            raise TooMany("Too Many Requests")
        return orig(self)

    monkeypatch.setattr(BatchResponse, "describejobs", flaky)
    counter = bc.CallCounter()
    cli = bc.BatchClient(AwsSettings(region="us-east-1"), counter=counter)
    assert cli.describe_jobs(["x"]) == []
    assert counter.calls["batch.DescribeJobs"] == 1
    assert counter.attempts["batch.DescribeJobs"] == 3
    # with retries exhausted the error surfaces, mapped
    left["n"] = 5
    one = bc.BatchClient(AwsSettings(region="us-east-1"), max_attempts=1, counter=counter)
    with pytest.raises(SlurmError, match="throttling"):
        one.describe_jobs(["x"])


# ---------------------------------------------------------------- Stubber: what moto lacks

def test_describe_jobs_chunks_of_100():
    counter = bc.CallCounter()
    cli, stub = stubbed(counter)
    ids = [f"job-{i:04d}" for i in range(250)]
    for lo, hi in ((0, 100), (100, 200), (200, 250)):
        stub.add_response("describe_jobs",
                          {"jobs": [{"jobId": i, "jobName": "n", "jobQueue": "q",
                                     "status": "RUNNING", "startedAt": 1,
                                     "jobDefinition": "d"} for i in ids[lo:hi]]},
                          {"jobs": ids[lo:hi]})
    got = cli.describe_jobs(ids + ids[:5])    # duplicates are asked once
    assert [d["jobId"] for d in got] == ids
    assert counter.calls["batch.DescribeJobs"] == 3
    stub.assert_no_pending_responses()


def test_list_jobs_paginates_with_explicit_status():
    cli, stub = stubbed()
    page = lambda ids, token=None: dict(  # noqa: E731
        {"jobSummaryList": [{"jobId": i, "jobName": "n", "status": "RUNNABLE"} for i in ids]},
        **({"nextToken": token} if token else {}))
    stub.add_response("list_jobs", page(["a", "b"], "t1"),
                      {"jobQueue": "q", "jobStatus": "RUNNABLE", "maxResults": 1000})
    stub.add_response("list_jobs", page(["c"]),
                      {"jobQueue": "q", "jobStatus": "RUNNABLE", "maxResults": 1000,
                       "nextToken": "t1"})
    got = cli.list_jobs(status="RUNNABLE", job_queue="q")
    assert [s["jobId"] for s in got] == ["a", "b", "c"]
    stub.assert_no_pending_responses()


def test_list_jobs_multinode_selector():
    cli, stub = stubbed()
    stub.add_response("list_jobs", {"jobSummaryList": [
        {"jobId": "m#0", "jobName": "n", "status": "RUNNING",
         "nodeProperties": {"isMainNode": True, "numNodes": 2, "nodeIndex": 0}},
        {"jobId": "m#1", "jobName": "n", "status": "RUNNING",
         "nodeProperties": {"isMainNode": False, "numNodes": 2, "nodeIndex": 1}}]},
        {"multiNodeJobId": "m", "jobStatus": "RUNNING", "maxResults": 1000})
    got = cli.list_jobs(status="RUNNING", multi_node_job_id="m")
    assert [s["nodeProperties"]["nodeIndex"] for s in got] == [0, 1]


def test_describe_eventually_waits_for_a_new_job():
    cli, stub = stubbed()
    stub.add_response("describe_jobs", {"jobs": []}, {"jobs": ["new"]})
    stub.add_response("describe_jobs", {"jobs": [{"jobId": "new", "jobName": "n",
                                                  "jobQueue": "q", "status": "SUBMITTED",
                                                  "startedAt": 0, "jobDefinition": "d"}]},
                      {"jobs": ["new"]})
    got = cli.describe_jobs_eventually(["new"], attempts=3, max_wait=0.05)
    assert [d["jobId"] for d in got] == ["new"]
    stub.assert_no_pending_responses()


def test_registration_race_retried(ledger):
    """Two submit hosts register the same content at once: the loser finds the winner's
    revision instead of failing."""
    cli, stub = stubbed(ledger=ledger)
    stub.add_response("describe_job_definitions", {"jobDefinitions": []},
                      {"jobDefinitionName": "slurmshim-abc123", "status": "ACTIVE"})
    stub.add_client_error("register_job_definition", "ClientException",
                          "Concurrent modification of job definition, try again")
    stub.add_response("describe_job_definitions", {"jobDefinitions": [
        {"jobDefinitionName": "slurmshim-abc123", "revision": 1, "status": "ACTIVE",
         "type": "container",
         "jobDefinitionArn": "arn:aws:batch:us-east-1:1:job-definition/slurmshim-abc123:1"}]},
        {"jobDefinitionName": "slurmshim-abc123", "status": "ACTIVE"})
    arn = cli.ensure_job_definition(JOBDEF)
    assert arn.endswith("slurmshim-abc123:1")
    assert ledger.kv_get(cli._jobdef_key("slurmshim-abc123")) == arn
    stub.assert_no_pending_responses()


def test_wait_for_status_polls_until_terminal():
    cli, stub = stubbed()
    for st in ("RUNNABLE", "RUNNING", "SUCCEEDED"):
        stub.add_response("describe_jobs", {"jobs": [{"jobId": "j", "jobName": "n",
                                                      "jobQueue": "q", "status": st,
                                                      "startedAt": 0, "jobDefinition": "d"}]},
                          {"jobs": ["j"]})
    seen = []
    d = cli.wait_for_status("j", interval=0.01, on_poll=lambda d: seen.append(d["status"]))
    assert d["status"] == "SUCCEEDED" and seen == ["RUNNABLE", "RUNNING", "SUCCEEDED"]


def test_counter_counts_operations():
    counter = bc.CallCounter()
    cli, stub = stubbed(counter)
    stub.add_response("terminate_job", {}, {"jobId": "j", "reason": ANY})
    stub.add_response("cancel_job", {}, {"jobId": "j", "reason": ANY})
    cli.terminate_job("j", "r")
    cli.cancel_job("j", "r")
    assert counter.snapshot() == {"batch.TerminateJob": 1, "batch.CancelJob": 1}
    assert counter.total("batch") == 2 and counter.total(operation="CancelJob") == 1


# ---------------------------------------------------------------- import discipline

def test_importing_the_backend_does_not_import_boto3():
    code = ("import sys; import slurmshim.backends.batch as b; b.BatchBackend; "
            "import slurmshim.backends.batch.client, slurmshim.backends.batch.logs; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('boto3', 'botocore', 'tenacity')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- the SubmitJob fast path

def test_fast_path_only_when_everything_is_in_the_environment(tmp_path):
    aws = AwsSettings(region="us-east-1")
    env = {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s",
           "AWS_CONFIG_FILE": str(tmp_path / "none")}
    fast = bc.FastBatch.from_environment(aws, env)
    assert fast.endpoint == "https://batch.us-east-1.amazonaws.com" and fast.token is None
    assert bc.FastBatch.from_environment(aws, dict(env, AWS_ENDPOINT_URL="http://127.0.0.1:1")) \
        .endpoint == "http://127.0.0.1:1"
    for extra in ({"AWS_PROFILE": "p"}, {"AWS_USE_FIPS_ENDPOINT": "true"},
                  {"SLURMSHIM_AWS_FASTPATH": "0"}):
        assert bc.FastBatch.from_environment(aws, dict(env, **extra)) is None
    assert bc.FastBatch.from_environment(AwsSettings(region="cn-north-1"), env) is None
    assert bc.FastBatch.from_environment(AwsSettings(region="us-gov-west-1"), env) is None
    assert bc.FastBatch.from_environment(AwsSettings(), env) is None          # no region
    assert bc.FastBatch.from_environment(AwsSettings(region="us-east-1", profile="p"), env) \
        is None
    assert bc.FastBatch.from_environment(aws, {"AWS_CONFIG_FILE": "/x"}) is None  # no keys
    (tmp_path / "config").write_text("[default]\nendpoint_url = http://127.0.0.1:2\n")
    assert bc.FastBatch.from_environment(aws, dict(env, AWS_CONFIG_FILE=str(
        tmp_path / "config"))) is None


@pytest.mark.parametrize("token", [None, "session-token"])
def test_fast_path_signature_matches_botocore(token):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    body = b'{"jobName":"x","jobQueue":"q","jobDefinition":"d"}'
    req = AWSRequest(method="POST", url="https://batch.eu-west-1.amazonaws.com/v1/submitjob",
                     data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("AKIDEXAMPLE", "secret/KEY", token), "batch", "eu-west-1") \
        .add_auth(req)
    fast = bc.FastBatch("AKIDEXAMPLE", "secret/KEY", token, "eu-west-1",
                        "https://batch.eu-west-1.amazonaws.com")
    mine = fast.sign("POST", "/v1/submitjob", body, {"Content-Type": "application/json"},
                     req.headers["X-Amz-Date"])
    assert mine["Authorization"] == req.headers["Authorization"]


def test_fast_path_errors_map_like_botocore_ones(monkeypatch):
    """Its error handling (mock_aws patches botocore only: the fast path itself runs against
    the ThreadedMotoServer in test_batch_e2e and the bench)."""
    import time as time_mod
    fast = bc.FastBatch("AKID", "s", None, "us-east-1", "http://127.0.0.1:9", max_attempts=2)
    monkeypatch.setattr(time_mod, "sleep", lambda s: None)
    counter = bc.CallCounter()
    with pytest.raises(bc._FastConnectError):
        fast.call("SubmitJob", "/v1/submitjob", {}, counter)
    assert counter.calls["batch.SubmitJob"] == 1 and counter.attempts["batch.SubmitJob"] == 2
    err = bc.map_error(bc._FastConnectError("http://127.0.0.1:9/v1/submitjob", OSError()),
                       "SubmitJob", submitting=True)
    assert err.render("sbatch") == ("sbatch: error: Batch job submission failed: Unable to "
                                    "contact AWS Batch at http://127.0.0.1:9/v1/submitjob "
                                    "(connect failure)\n")
    err = bc.map_error(bc.ServiceError("ClientException", "Job queue x does not exist", 400,
                                       "SubmitJob"), "SubmitJob", submitting=True)
    assert err.reason == "Invalid partition name specified"
