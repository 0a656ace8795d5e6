"""A thin boto3 wrapper for the AWS Batch backend: one lazily built client per service (batch,
logs, s3), pagination everywhere, DescribeJobs in chunks of 100, job definitions registered once
per content, every AWS error mapped to a Slurm-style one, and a call counter.

Where settings come from (the AWS CLI's precedence: environment over configuration file):

    region     $AWS_REGION, $AWS_DEFAULT_REGION, [aws] region, the profile's region
    profile    $AWS_PROFILE / $AWS_DEFAULT_PROFILE, [aws] profile, the default chain
    endpoint   $AWS_ENDPOINT_URL_<SERVICE> / $AWS_ENDPOINT_URL (botocore reads them), else
               [aws] endpoint_url
    credentials  boto3's default chain (environment, profile, SSO, instance/task role)

Retries: botocore's standard mode (8 attempts) absorbs throttling (TooManyRequestsException,
HTTP 429) and 5xx; tenacity does the semantic retries (a job not yet visible to DescribeJobs
right after SubmitJob, job-definition registration races) and polling (`--wait`, srun, sattach:
PollBackoff, an exponential wait that starts over when the job changes).

Nothing here is imported before a Batch partition is touched, and boto3 itself is imported only
when the first client is built.
"""
from __future__ import annotations

import collections
import os
import re
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from ...errors import BackendError, SlurmError, SubmitError

if TYPE_CHECKING:  # pragma: no cover
    from ...config import AwsSettings
    from ...ledger import Ledger

DESCRIBE_CHUNK = 100          # DescribeJobs: at most 100 ids per call
LIST_PAGE = 1000              # ListJobs: at most 1,000 summaries per page (with jobStatus)
ACTIVE_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")
TERMINAL_STATUSES = ("SUCCEEDED", "FAILED")
ALL_STATUSES = ACTIVE_STATUSES + TERMINAL_STATUSES
MAX_ATTEMPTS = 8
PRESIGN_MAX = 7 * 24 * 3600   # SigV4 query authentication: X-Amz-Expires <= 604800

CREDENTIALS_HELP = ("Unable to locate AWS credentials: run `aws configure` (or `aws sso login`), "
                    "set AWS_PROFILE or [aws] profile in slurmshim.toml, or export "
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
REGION_HELP = ("No AWS region configured: set [aws] region in slurmshim.toml, or AWS_REGION, "
               "or a region in your AWS profile")


# ---------------------------------------------------------------- call counting

class CallCounter:
    """API calls made by this process, per "service.Operation" (`calls`: one per logical call,
    `attempts`: one per HTTP request, retries included).  Thread-safe; read it in tests and
    benches, reset it between measurements."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: collections.Counter[str] = collections.Counter()
        self.attempts: collections.Counter[str] = collections.Counter()

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.attempts.clear()

    def _count(self, which: collections.Counter, key: str) -> None:
        with self._lock:
            which[key] += 1

    def total(self, service: str | None = None, operation: str | None = None) -> int:
        with self._lock:
            return sum(n for k, n in self.calls.items() if _match(k, service, operation))

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.calls)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"CallCounter({dict(self.calls)!r})"


def _match(key: str, service: str | None, operation: str | None) -> bool:
    svc, _, op = key.partition(".")
    return (service is None or svc == service) and (operation is None or op == operation)


COUNTER = CallCounter()   # the process-wide counter every client reports to


# ---------------------------------------------------------------- polling

class PollBackoff:
    """A tenacity wait strategy for polling a job (`srun`, `sattach`, `sbatch --wait`):
    exponential from `initial` to `maximum` while nothing happens, back to `initial` when
    something does (`reset()`: a status change, new output, a Ctrl-C).  Usable wherever
    tenacity takes `wait=` (any callable of the retry state), or called with no argument.

    Why not a fixed interval: a job waits in RUNNABLE for minutes while Batch scales a compute
    environment up, and every DescribeJobs counts against the account's Batch API rate that
    every user's squeue shares.  Polling every 2 s for an hour is 1,800 calls; with this, the
    quiet stretches cost one call per `maximum` seconds."""

    def __init__(self, initial: float, maximum: float, factor: float = 1.5) -> None:
        self.initial = max(0.0, float(initial))
        self.maximum = max(self.initial, float(maximum))
        self.factor = max(1.0, float(factor))
        self.current = self.initial

    def __call__(self, retry_state: Any = None) -> float:
        delay = self.current
        self.current = min(self.maximum, max(self.current * self.factor, 0.0))
        return delay

    def reset(self, maximum: float | None = None) -> None:
        if maximum is not None:
            self.maximum = max(self.initial, float(maximum))
        self.current = self.initial


FIRST_POLL = 0.5   # seconds: the first look at a job that just changed (or was just submitted)


def poll_delays(poll: float) -> tuple[float, float, float]:
    """(first delay, longest delay while the job waits to start, longest delay while it runs)
    for a base poll interval (SLURMSHIM_BATCH_POLL, default 2 s).  The first look comes soon
    (FIRST_POLL, or the base if smaller: a job often moves right after it was submitted or
    changed); then waiting jobs back off to 8x the base (at most 30 s: capacity takes minutes
    to appear), running ones to 3x (at most 10 s: their output is being streamed)."""
    base = max(0.0, float(poll))
    first = min(FIRST_POLL, base)
    return first, min(30.0, max(first, 8 * base)), min(10.0, max(first, 3 * base))


# ---------------------------------------------------------------- errors

_QUEUE_MISSING = re.compile(r"job ?queue.*(does not exist|not found|is not valid|invalid)"
                            r"|(does not exist|not found).*job ?queue", re.I)
_JOBDEF_MISSING = re.compile(r"job ?definition.*(does not exist|not found|inactive|is not valid)"
                             r"|(does not exist|not found).*job ?definition", re.I)
_QUEUE_DISABLED = re.compile(r"queue.*(disabled|not enabled)", re.I)
_CRED_CODES = {"UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
               "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException",
               "RequestExpired", "AuthFailure", "IncompleteSignature"}
_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                 "UnauthorizedException"}
_THROTTLE_CODES = {"TooManyRequestsException", "ThrottlingException", "Throttling",
                   "RequestLimitExceeded", "SlowDown"}


def error_code(exc: BaseException) -> str:
    resp = getattr(exc, "response", None) or {}
    return str((resp.get("Error") or {}).get("Code") or "")


def error_message(exc: BaseException) -> str:
    resp = getattr(exc, "response", None) or {}
    msg = (resp.get("Error") or {}).get("Message") or str(exc)
    return " ".join(str(msg).split())


class ServiceError(Exception):
    """An AWS error response received without botocore (the SubmitJob fast path): shaped like
    botocore's ClientError (`response["Error"]`) so the same mapping applies."""

    def __init__(self, code: str, message: str, status: int, operation: str) -> None:
        super().__init__(f"An error occurred ({code}) when calling the {operation} operation: "
                         f"{message}")
        self.response = {"Error": {"Code": code, "Message": message},
                         "ResponseMetadata": {"HTTPStatusCode": status}}
        self.operation_name = operation


def _map_response_error(exc: BaseException, operation: str, fail) -> SlurmError:
    code, msg = error_code(exc), error_message(exc)
    if code in _CRED_CODES:
        return BackendError(f"AWS credentials were rejected ({code}): {msg}")
    if code in _DENIED_CODES:
        return fail(f"Access denied by AWS for {operation}: {msg}")
    if code in _THROTTLE_CODES:
        return fail("AWS Batch is throttling requests (TooManyRequestsException); "
                    "try again shortly")
    if operation in ("SubmitJob", "DescribeJobQueues", "ListJobs") and _QUEUE_MISSING.search(msg):
        return fail("Invalid partition name specified")
    if operation == "SubmitJob" and _QUEUE_DISABLED.search(msg):
        return fail("Partition in inactive state")
    if _JOBDEF_MISSING.search(msg):
        return fail("Invalid job definition (it was deregistered?): " + msg)
    if code == "ServerException" or str((getattr(exc, "response", {}) or {}).get(
            "ResponseMetadata", {}).get("HTTPStatusCode", "")).startswith("5"):
        return fail(f"AWS Batch internal error during {operation}: {msg}")
    return fail(f"AWS Batch rejected {operation}: {msg}")


def map_error(exc: BaseException, operation: str, *, submitting: bool = False) -> SlurmError:
    """An AWS failure as the Slurm-style error the commands print.  `submitting`: the error
    ends an sbatch (printed `Batch job submission failed: ...`)."""
    def fail(reason: str) -> SlurmError:
        return SubmitError(reason) if submitting else BackendError(reason)

    if isinstance(exc, SlurmError):
        return exc
    if isinstance(exc, ServiceError):
        return _map_response_error(exc, operation, fail)
    if isinstance(exc, _FastConnectError):
        return fail(f"Unable to contact AWS Batch at {exc.endpoint} (connect failure)")
    import botocore.exceptions as bex
    if isinstance(exc, (bex.NoCredentialsError, bex.PartialCredentialsError)):
        return BackendError(CREDENTIALS_HELP)
    if isinstance(exc, bex.NoRegionError):
        return BackendError(REGION_HELP)
    if isinstance(exc, bex.ProfileNotFound):
        return BackendError(f"AWS profile not found: {exc.kwargs.get('profile', '')} "
                            "(check AWS_PROFILE or [aws] profile in slurmshim.toml)")
    if isinstance(exc, (bex.SSOTokenLoadError, bex.UnauthorizedSSOTokenError,
                        bex.TokenRetrievalError)):
        return BackendError("AWS SSO session expired or missing: run `aws sso login`")
    if isinstance(exc, (bex.EndpointConnectionError, bex.ConnectTimeoutError,
                        bex.ReadTimeoutError, bex.ConnectionClosedError)):
        where = getattr(exc, "kwargs", {}).get("endpoint_url", "")
        return fail(f"Unable to contact AWS Batch{' at ' + where if where else ''} "
                    "(connect failure)")
    if isinstance(exc, bex.ParamValidationError):
        return fail(f"Invalid AWS Batch request: {' '.join(str(exc).split())}")
    if isinstance(exc, bex.ClientError):
        return _map_response_error(exc, operation, fail)
    if isinstance(exc, bex.BotoCoreError):
        return fail(f"AWS error during {operation}: {exc}")
    return fail(f"{type(exc).__name__} during {operation}: {exc}")


def is_client_error(exc: BaseException, *codes: str) -> bool:
    if isinstance(exc, ServiceError):
        return not codes or error_code(exc) in codes
    try:
        import botocore.exceptions as bex
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, bex.ClientError) and (not codes or error_code(exc) in codes)


# ---------------------------------------------------------------- the SubmitJob fast path

class _FastConnectError(Exception):
    def __init__(self, endpoint: str, cause: BaseException) -> None:
        super().__init__(f"{endpoint}: {cause}")
        self.endpoint = endpoint


_AWS_PARTITION_REGION = re.compile(r"^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d+$")
_RETRYABLE_STATUS = {429, 500, 502, 503, 504}


class FastBatch:
    """SubmitJob without botocore, for the one call a steady-state sbatch makes.

    Importing botocore and building a client costs ~0.3 s (module imports, the Batch model and
    the endpoint rules decoded from JSON) -- more than everything else sbatch does.  When the
    whole configuration is in the environment and slurmshim.toml (static credentials in
    AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN], no profile, a region, an
    endpoint that is explicit or the standard `https://batch.<region>.amazonaws.com`), this
    signs the request itself (SigV4, stdlib hmac/hashlib) and posts it with urllib, retrying
    throttling (429) and 5xx like botocore's standard mode.  Anything else -- profiles, SSO,
    instance or task roles, FIPS/dual-stack, other partitions, endpoints from ~/.aws/config --
    goes through botocore.  SLURMSHIM_AWS_FASTPATH=0 turns it off."""

    service = "batch"

    def __init__(self, key: str, secret: str, token: str | None, region: str, endpoint: str,
                 max_attempts: int = MAX_ATTEMPTS, ca_bundle: str | None = None) -> None:
        self.key, self.secret, self.token = key, secret, token
        self.region, self.endpoint = region, endpoint.rstrip("/")
        self.max_attempts = max_attempts
        self.ca_bundle = ca_bundle

    @classmethod
    def from_environment(cls, aws: "AwsSettings | None", environ: dict | None = None,
                         max_attempts: int = MAX_ATTEMPTS) -> "FastBatch | None":
        env = os.environ if environ is None else environ
        if env.get("SLURMSHIM_AWS_FASTPATH", "1").lower() in ("0", "false", "no", "off"):
            return None
        key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        if not key or not secret:
            return None
        if env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or (aws and aws.profile):
            return None   # an explicit profile makes botocore ignore environment credentials
        for flag in ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT",
                     "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
            if env.get(flag, "").lower() == "true":
                return None
        s = resolve_settings(aws, env)
        region = s["region"]
        if not region:
            return None
        endpoint = env.get("AWS_ENDPOINT_URL_BATCH") or env.get("AWS_ENDPOINT_URL") or \
            s["endpoints"].get("batch")
        if not endpoint:
            if not _AWS_PARTITION_REGION.match(region) or region.startswith("us-gov"):
                return None
            if _config_file_has_endpoints(env):
                return None
            endpoint = f"https://batch.{region}.amazonaws.com"
        token = env.get("AWS_SESSION_TOKEN") or env.get("AWS_SECURITY_TOKEN") or None
        return cls(key, secret, token, region, endpoint, max_attempts,
                   env.get("AWS_CA_BUNDLE") or None)

    # -- SigV4 ------------------------------------------------------------------------------
    def sign(self, method: str, path: str, body: bytes, headers: dict[str, str],
             amz_date: str) -> dict[str, str]:
        """Headers with X-Amz-Date, the token and Authorization added (AWS Signature V4)."""
        import hashlib
        import hmac
        from urllib.parse import quote, urlsplit
        host = urlsplit(self.endpoint).netloc
        out = dict(headers)
        out["X-Amz-Date"] = amz_date
        if self.token:
            out["X-Amz-Security-Token"] = self.token
        signed = {k.lower(): " ".join(str(v).split()) for k, v in out.items()}
        signed["host"] = host
        names = sorted(signed)
        canonical = "\n".join([
            method, quote(path, safe="/~"), "",
            "".join(f"{n}:{signed[n]}\n" for n in names), ";".join(names),
            hashlib.sha256(body).hexdigest()])
        day = amz_date[:8]
        scope = f"{day}/{self.region}/{self.service}/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        k = ("AWS4" + self.secret).encode()
        for part in (day, self.region, self.service, "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        out["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.key}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={sig}")
        return out

    def call(self, operation: str, path: str, params: dict, counter: CallCounter) -> dict:
        import json
        import random
        import urllib.error
        import urllib.request
        body = json.dumps(params, separators=(",", ":")).encode("utf-8")
        url = self.endpoint + path
        ctx = None
        if url.startswith("https://") and self.ca_bundle:
            import ssl
            ctx = ssl.create_default_context(cafile=self.ca_bundle)
        counter._count(counter.calls, f"batch.{operation}")
        attempt = 0
        while True:
            attempt += 1
            counter._count(counter.attempts, f"batch.{operation}")
            amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            headers = self.sign("POST", path, body, {"Content-Type": "application/json"},
                                amz_date)
            headers["User-Agent"] = "slurmshim/fastpath"  # not signed, as botocore does
            req = urllib.request.Request(url, data=body, method="POST", headers=headers)
            retry_error: BaseException | None = None
            try:
                with urllib.request.urlopen(req, timeout=60, context=ctx) as resp:
                    return json.loads(resp.read().decode("utf-8") or "{}")
            except urllib.error.HTTPError as exc:
                raw = exc.read().decode("utf-8", "replace")
                try:
                    data = json.loads(raw) if raw else {}
                except ValueError:
                    data = {}
                code = (exc.headers.get("x-amzn-ErrorType") or data.get("__type") or
                        data.get("code") or "").split(":")[0].split("#")[-1]
                code = code or ("TooManyRequestsException" if exc.code == 429 else
                                "ServerException" if exc.code >= 500 else "ClientException")
                err = ServiceError(code, data.get("message") or data.get("Message") or raw
                                   or exc.reason, exc.code, operation)
                if exc.code not in _RETRYABLE_STATUS and code not in _THROTTLE_CODES:
                    raise err from None
                retry_error = err
            except (urllib.error.URLError, OSError) as exc:
                retry_error = _FastConnectError(url, exc)
            if attempt >= self.max_attempts:
                raise retry_error
            # botocore's standard mode: full jitter, base 2 s cap 20 s (scaled down: the
            # first retries come quickly, as botocore's do)
            time.sleep(min(20.0, random.random() * (2 ** (attempt - 1)) * 0.5))


def _config_file_has_endpoints(env) -> bool:
    """~/.aws/config may set endpoint_url (or a services section) that botocore would use."""
    path = env.get("AWS_CONFIG_FILE") or os.path.join(os.path.expanduser("~"), ".aws", "config")
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return False
    return "endpoint_url" in text or "services" in text


# ---------------------------------------------------------------- settings

def resolve_settings(aws: "AwsSettings | None", environ: dict | None = None) -> dict[str, Any]:
    """Session and client arguments: environment over [aws] (see the module docstring)."""
    env = os.environ if environ is None else environ
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or \
        (aws.region if aws else None) or None
    if env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE"):
        profile = None   # boto3 reads it from the environment itself
    else:
        profile = (aws.profile if aws else None) or None
    endpoints: dict[str, str | None] = {}
    for service in ("batch", "logs", "s3"):
        specific = f"AWS_ENDPOINT_URL_{service.upper()}"
        if env.get(specific) or env.get("AWS_ENDPOINT_URL"):
            endpoints[service] = None   # botocore resolves the environment variables
        else:
            endpoints[service] = (aws.endpoint_url if aws else None) or None
    return {"region": region, "profile": profile, "endpoints": endpoints}


# ---------------------------------------------------------------- the client

class BatchClient:
    """Lazily built boto3 clients plus the Batch operations the backend needs."""

    def __init__(self, aws: "AwsSettings | None" = None, *, ledger: "Ledger | None" = None,
                 counter: CallCounter | None = None, max_attempts: int = MAX_ATTEMPTS,
                 environ: dict | None = None, clients: dict[str, Any] | None = None) -> None:
        self.aws = aws
        self.ledger = ledger
        self.counter = counter or COUNTER
        self.max_attempts = max_attempts
        self._environ = environ
        self._session = None
        self._clients: dict[str, Any] = dict(clients or {})
        for c in self._clients.values():
            self._instrument(c)
        self._lock = threading.Lock()

    # -- clients ---------------------------------------------------------------------------
    def _make_session(self):
        # botocore's session directly: boto3 adds ~0.1 s of imports to every sbatch and
        # nothing we use (clients, paginators, waiters are all botocore's)
        import botocore.session
        s = resolve_settings(self.aws, self._environ)
        try:
            session = botocore.session.Session(profile=s["profile"])
            session.user_agent_extra = "slurmshim"
            if s["profile"]:
                session.get_scoped_config()  # an unknown profile fails here, clearly
            return session
        except Exception as exc:  # ProfileNotFound and friends
            raise map_error(exc, "configuration") from None

    def client(self, service: str):
        c = self._clients.get(service)
        if c is not None:
            return c
        with self._lock:
            c = self._clients.get(service)
            if c is not None:
                return c
            from botocore.config import Config
            if self._session is None:
                self._session = self._make_session()
            s = resolve_settings(self.aws, self._environ)
            cfg = Config(retries={"mode": "standard", "max_attempts": self.max_attempts},
                         connect_timeout=10, read_timeout=60, user_agent_extra="slurmshim",
                         max_pool_connections=16)
            try:
                c = self._session.create_client(service, region_name=s["region"],
                                                endpoint_url=s["endpoints"].get(service),
                                                config=cfg)
            except Exception as exc:  # NoRegionError, bad endpoint, ...
                raise map_error(exc, "configuration") from None
            self._instrument(c)
            self._clients[service] = c
            return c

    def _instrument(self, client) -> None:
        if getattr(client, "_slurmshim_counted", False):
            return
        service = client.meta.service_model.service_name
        svc = {"batch": "batch", "logs": "logs", "s3": "s3"}.get(service, service)

        def before_call(model=None, **_kw):
            self.counter._count(self.counter.calls, f"{svc}.{model.name}")

        def before_send(event_name: str = "", **_kw):
            op = event_name.rsplit(".", 1)[-1] if event_name.count(".") >= 2 else "?"
            self.counter._count(self.counter.attempts, f"{svc}.{op}")

        client.meta.events.register("before-call.*.*", before_call)
        client.meta.events.register("before-send.*.*", before_send)
        try:
            client._slurmshim_counted = True
        except AttributeError:  # pragma: no cover
            pass

    @property
    def batch(self):
        return self.client("batch")

    @property
    def logs(self):
        return self.client("logs")

    @property
    def s3(self):
        return self.client("s3")

    # -- generic ---------------------------------------------------------------------------
    def call(self, service: str, operation: str, *, submitting: bool = False, **params) -> dict:
        """client.<operation>(**params) with errors mapped (operation in CamelCase)."""
        client = self.client(service)
        method = getattr(client, _snake(operation))
        try:
            return method(**params)
        except Exception as exc:
            if isinstance(exc, SlurmError):
                raise
            raise map_error(exc, operation, submitting=submitting) from exc

    def paginate(self, service: str, operation: str, result_key: str, **params) -> Iterator[dict]:
        """Every item of a paginated operation, page after page (errors mapped)."""
        client = self.client(service)
        name = _snake(operation)
        try:
            if client.can_paginate(name):
                for page in client.get_paginator(name).paginate(**params):
                    yield from page.get(result_key) or []
                return
            token_key = "nextToken"
            while True:
                page = getattr(client, name)(**params)
                yield from page.get(result_key) or []
                token = page.get(token_key)
                if not token:
                    return
                params = dict(params, **{token_key: token})
        except Exception as exc:
            if isinstance(exc, SlurmError):
                raise
            raise map_error(exc, operation) from exc

    # -- jobs ------------------------------------------------------------------------------
    def fast(self) -> FastBatch | None:
        """The botocore-free SubmitJob path, when the configuration allows it (see FastBatch).
        Only while botocore is not loaded yet: it exists to avoid that import, and a process
        that has botocore (a test under moto's mock_aws, a long-lived tool) keeps every call
        on the one code path botocore hooks see."""
        import sys
        if "botocore" in sys.modules or "batch" in self._clients:
            return None
        if not hasattr(self, "_fast"):
            self._fast = FastBatch.from_environment(self.aws, self._environ, self.max_attempts)
        return self._fast

    def submit_job(self, request: dict) -> dict:
        """SubmitJob; returns {"jobId", "jobArn", "jobName"}."""
        fast = self.fast()
        if fast is not None:
            try:
                return fast.call("SubmitJob", "/v1/submitjob", request, self.counter)
            except Exception as exc:
                if isinstance(exc, SlurmError):
                    raise
                raise map_error(exc, "SubmitJob", submitting=True) from exc
        return self.call("batch", "SubmitJob", submitting=True, **request)

    def describe_jobs(self, job_ids: Sequence[str]) -> list[dict]:
        """JobDetail for each id that Batch still knows (unknown ids are skipped), in chunks of
        100.  An empty list of ids is no call at all (moto would return every job)."""
        ids = list(dict.fromkeys(i for i in job_ids if i))
        out: list[dict] = []
        for i in range(0, len(ids), DESCRIBE_CHUNK):
            chunk = ids[i:i + DESCRIBE_CHUNK]
            resp = self.call("batch", "DescribeJobs", jobs=chunk)
            out.extend(resp.get("jobs") or [])
        return out

    def describe_jobs_eventually(self, job_ids: Sequence[str], *, attempts: int = 5,
                                 max_wait: float = 2.0) -> list[dict]:
        """DescribeJobs, retried (exponential backoff) while some ids are still missing: Batch is
        eventually consistent right after SubmitJob.  Returns what was found in the end."""
        from tenacity import (RetryError, retry, retry_if_result, stop_after_attempt,
                              wait_exponential)

        want = list(dict.fromkeys(job_ids))
        found: dict[str, dict] = {}

        @retry(stop=stop_after_attempt(attempts), reraise=False,
               wait=wait_exponential(multiplier=0.1, max=max_wait),
               retry=retry_if_result(lambda missing: bool(missing)))
        def attempt() -> list[str]:
            missing = [i for i in want if i not in found]
            for d in self.describe_jobs(missing):
                found[d["jobId"]] = d
            return [i for i in want if i not in found]

        try:
            attempt()
        except RetryError:
            pass
        return [found[i] for i in want if i in found]

    def list_jobs(self, *, status: str, job_queue: str | None = None,
                  array_job_id: str | None = None, multi_node_job_id: str | None = None,
                  filters: list[dict] | None = None, page_size: int = LIST_PAGE) -> list[dict]:
        """ListJobs with ONE selector and an explicit jobStatus (AWS defaults to RUNNING only,
        moto to everything: never rely on the default), every page."""
        if status not in ALL_STATUSES:
            raise ValueError(f"invalid Batch job status {status!r}")
        sel = [(k, v) for k, v in (("jobQueue", job_queue), ("arrayJobId", array_job_id),
                                   ("multiNodeJobId", multi_node_job_id)) if v]
        if len(sel) != 1:
            raise ValueError("list_jobs needs exactly one of job_queue, array_job_id, "
                             "multi_node_job_id")
        params: dict[str, Any] = {sel[0][0]: sel[0][1], "jobStatus": status}
        if filters:
            params["filters"] = filters
        params["PaginationConfig"] = {"PageSize": min(page_size, 100 if filters else LIST_PAGE)}
        return list(self.paginate("batch", "ListJobs", "jobSummaryList", **params))

    def terminate_job(self, job_id: str, reason: str) -> None:
        self.call("batch", "TerminateJob", jobId=job_id, reason=reason[:1024])

    def cancel_job(self, job_id: str, reason: str) -> None:
        self.call("batch", "CancelJob", jobId=job_id, reason=reason[:1024])

    def wait_for_status(self, job_id: str, statuses: Iterable[str] = TERMINAL_STATUSES, *,
                        timeout: float | None = None, interval: float = 2.0,
                        on_poll: Callable[[dict | None], None] | None = None) -> dict | None:
        """Poll DescribeJobs until the job is in one of `statuses` (tenacity; the interval
        grows from 1 s to `interval`).  Returns the last detail (None if Batch never knew it)."""
        from tenacity import (RetryError, Retrying, retry_if_result, stop_after_delay,
                              stop_never, wait_exponential)

        want = set(statuses)
        last: dict[str, Any] = {}

        def once():
            got = self.describe_jobs([job_id])
            last["d"] = got[0] if got else None
            if on_poll is not None:
                on_poll(last["d"])
            return last["d"]

        r = Retrying(stop=stop_after_delay(timeout) if timeout else stop_never,
                     wait=wait_exponential(multiplier=0.5, min=min(1.0, interval), max=interval),
                     retry=retry_if_result(lambda d: d is None or d.get("status") not in want),
                     reraise=False)
        try:
            return r(once)
        except RetryError:
            return last.get("d")

    # -- job definitions -------------------------------------------------------------------
    def cache_scope(self, service: str = "batch") -> str:
        """Where cached facts (registered definitions, uploaded objects) are valid: region and
        endpoint as configured, without building a client."""
        s = resolve_settings(self.aws, self._environ)
        env = os.environ if self._environ is None else self._environ
        endpoint = s["endpoints"].get(service) or env.get(
            f"AWS_ENDPOINT_URL_{service.upper()}") or env.get("AWS_ENDPOINT_URL") or "aws"
        return f"{s['region'] or '-'}:{s['profile'] or env.get('AWS_PROFILE') or '-'}:{endpoint}"

    def _jobdef_key(self, name: str) -> str:
        return f"batch:jobdef:{self.cache_scope('batch')}:{name}"

    def cached_job_definition(self, name: str) -> str | None:
        if self.ledger is None:
            return None
        try:
            return self.ledger.kv_get(self._jobdef_key(name))
        except Exception:  # pragma: no cover - a read-only ledger is no reason to fail
            return None

    def forget_job_definition(self, name: str) -> None:
        if self.ledger is not None:
            try:
                self.ledger.db.execute("DELETE FROM kv WHERE key=?", (self._jobdef_key(name),))
            except Exception:  # pragma: no cover
                pass

    def _remember(self, name: str, arn: str) -> None:
        if self.ledger is not None:
            try:
                self.ledger.kv_set(self._jobdef_key(name), arn)
            except Exception:  # pragma: no cover
                pass

    def find_job_definition(self, name: str) -> str | None:
        """The newest ACTIVE revision's ARN of `name`, or None (one paginated call)."""
        best: tuple[int, str] | None = None
        for jd in self.paginate("batch", "DescribeJobDefinitions", "jobDefinitions",
                                jobDefinitionName=name, status="ACTIVE"):
            if jd.get("status", "ACTIVE") != "ACTIVE" or jd.get("jobDefinitionName") != name:
                continue
            rev = int(jd.get("revision") or 0)
            if best is None or rev > best[0]:
                best = (rev, jd["jobDefinitionArn"])
        return best[1] if best else None

    def ensure_job_definition(self, request: dict) -> str:
        """The ARN of a job definition with exactly this content: from the ledger cache (no
        call), else the newest ACTIVE revision of its (content-hashed) name, else registered.
        Concurrent registrations of the same content are harmless (identical revisions)."""
        name = request["jobDefinitionName"]
        arn = self.cached_job_definition(name)
        if arn:
            return arn
        from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential
        arn = self.find_job_definition(name)
        if arn:
            self._remember(name, arn)
            return arn

        def racy(exc: BaseException) -> bool:
            # a concurrent registration or a definition still being created
            cause = exc.__cause__ or exc
            return is_client_error(cause, "ClientException", "ServerException") and bool(
                re.search(r"conflict|concurrent|already|in progress|try again",
                          error_message(cause), re.I))

        tries = [0]

        @retry(stop=stop_after_attempt(3), wait=wait_exponential(multiplier=0.2, max=2),
               retry=retry_if_exception(racy), reraise=True)
        def register() -> str:
            tries[0] += 1
            found = self.find_job_definition(name) if tries[0] > 1 else None
            if found:
                return found
            resp = self.call("batch", "RegisterJobDefinition", submitting=True, **request)
            return resp["jobDefinitionArn"]

        arn = register()
        self._remember(name, arn)
        return arn

    # -- queues and compute environments ---------------------------------------------------
    def describe_job_queues(self, names: Sequence[str]) -> list[dict]:
        names = list(dict.fromkeys(n for n in names if n))
        out: list[dict] = []
        for i in range(0, len(names), 100):
            out.extend(self.paginate("batch", "DescribeJobQueues", "jobQueues",
                                     jobQueues=names[i:i + 100]))
        return out

    def describe_compute_environments(self, names: Sequence[str]) -> list[dict]:
        names = list(dict.fromkeys(n for n in names if n))
        out: list[dict] = []
        for i in range(0, len(names), 100):
            out.extend(self.paginate("batch", "DescribeComputeEnvironments",
                                     "computeEnvironments", computeEnvironments=names[i:i + 100]))
        return out

    # -- S3 (scripts too large to travel in the request) -----------------------------------
    def put_object(self, bucket: str, key: str, body: bytes) -> str:
        self.call("s3", "PutObject", submitting=True, Bucket=bucket, Key=key, Body=body)
        return f"s3://{bucket}/{key}"

    def presign_get(self, bucket: str, key: str, expires: int = 7 * 24 * 3600) -> str:
        try:
            return self.s3.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                                        "Key": key},
                                                  ExpiresIn=expires)
        except Exception as exc:
            raise map_error(exc, "GetObject", submitting=True) from exc

    def get_object_or_none(self, bucket: str, key: str) -> bytes | None:
        """GetObject's body, None when there is no such object (or bucket)."""
        try:
            resp = self.s3.get_object(Bucket=bucket, Key=key)
            return resp["Body"].read()
        except Exception as exc:
            if isinstance(exc, SlurmError):
                raise
            if error_code(exc) in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
                return None
            raise map_error(exc, "GetObject") from exc

    def presign_put(self, bucket: str, key: str, expires: int = PRESIGN_MAX) -> str:
        """A presigned PUT URL for s3://bucket/key (SigV4 query auth, no API call), valid
        `expires` seconds, at most 7 days (SigV4's limit) -- and no longer than the credentials
        that sign it: temporary ones (SSO, an assumed role, a session token) end it sooner.
        Signed here with the standard library (sbatch's fast path loads no botocore) from
        static environment credentials, else from botocore's credential chain."""
        expires = max(1, min(int(expires), PRESIGN_MAX))
        env = os.environ if self._environ is None else self._environ
        s = resolve_settings(self.aws, env)
        key_id, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        token = env.get("AWS_SESSION_TOKEN") or env.get("AWS_SECURITY_TOKEN") or None
        region = s["region"]
        if not (key_id and secret) or env.get("AWS_PROFILE") or \
                env.get("AWS_DEFAULT_PROFILE") or (self.aws and self.aws.profile):
            try:
                if self._session is None:
                    self._session = self._make_session()
                creds = self._session.get_credentials()
                frozen = creds.get_frozen_credentials() if creds is not None else None
                region = region or self._session.get_config_variable("region")
            except SlurmError:
                raise
            except Exception as exc:
                raise map_error(exc, "PutObject", submitting=True) from exc
            if frozen is None or not frozen.access_key:
                raise SubmitError("Unable to contact slurm controller (connect failure)",
                                  detail=CREDENTIALS_HELP)
            key_id, secret, token = frozen.access_key, frozen.secret_key, frozen.token
        region = region or "us-east-1"
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or \
            (self.aws.endpoint_url if self.aws else None) or None
        return presign_s3(
            "PUT", s3_object_url(bucket, key, region, endpoint), region, key_id, secret,
            token, expires, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))

    # -- CloudWatch Logs -------------------------------------------------------------------
    def get_log_events(self, group: str, stream: str, token: str | None = None, *,
                       limit: int = 10000) -> dict:
        params: dict[str, Any] = {"logGroupName": group, "logStreamName": stream,
                                  "startFromHead": True, "limit": limit}
        if token:
            params["nextToken"] = token
        return self.call("logs", "GetLogEvents", **params)


# ---------------------------------------------------------------- S3 presigning (stdlib)



def s3_object_url(bucket: str, key: str, region: str, endpoint: str | None = None) -> str:
    """The URL of an S3 object: path style under an explicit endpoint (moto, MinIO, a VPC
    endpoint), else virtual-hosted `https://<bucket>.s3.<region>.amazonaws.com/<key>` (path
    style on s3.<region>.amazonaws.com for bucket names with dots, which TLS cannot cover)."""
    from urllib.parse import quote
    path = quote(key, safe="/~")
    if endpoint:
        return f"{endpoint.rstrip('/')}/{bucket}/{path}"
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    if "." in bucket:
        return f"https://s3.{region}.{suffix}/{bucket}/{path}"
    return f"https://{bucket}.s3.{region}.{suffix}/{path}"


def presign_s3(method: str, url: str, region: str, key_id: str, secret: str,
               token: str | None, expires: int, amz_date: str) -> str:
    """SigV4 query-string authentication of `method url` for S3 (UNSIGNED-PAYLOAD, only the
    host header signed): what botocore's generate_presigned_url makes, byte for byte."""
    import hashlib
    import hmac
    from urllib.parse import quote, urlsplit
    parts = urlsplit(url)
    day = amz_date[:8]
    scope = f"{day}/{region}/s3/aws4_request"
    params = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": f"{key_id}/{scope}",
              "X-Amz-Date": amz_date, "X-Amz-Expires": str(int(expires)),
              "X-Amz-SignedHeaders": "host"}
    if token:
        params["X-Amz-Security-Token"] = token
    def encode(items) -> str:
        return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in items)
    canonical = "\n".join([method, parts.path or "/", encode(sorted(params.items())),
                           f"host:{parts.netloc}\n", "host", "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, region, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    return (f"{parts.scheme}://{parts.netloc}{parts.path}?{encode(params.items())}"
            f"&X-Amz-Signature={sig}")


def _snake(op: str) -> str:
    """SubmitJob -> submit_job (botocore's method names)."""
    if "_" in op or op.islower():
        return op
    return re.sub(r"(?<!^)(?=[A-Z])", "_", op).lower()


def now_ms() -> int:
    return int(time.time() * 1000)
