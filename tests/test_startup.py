"""Start-up discipline: --help, completion and local-backend commands never import boto3
(users type squeue all day; the AWS SDK costs a few hundred milliseconds to import), and the
everyday commands never import `dataclasses` (with `inspect`, ast, dis and tokenize behind it,
about 10 ms of each command: slurmshim._dataclass does without it)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent("""
    import io, sys, os
    os.environ["SLURMSHIM_STATE_DIR"] = sys.argv[1]
    os.environ["SLURMSHIM_CONF"] = sys.argv[2]
    os.chdir(sys.argv[1])
    mod, args = sys.argv[3], sys.argv[4:]
    import importlib
    m = importlib.import_module("slurmshim.cli." + mod)
    sys.stdout = io.StringIO()
    try:
        m.main(args)
    except SystemExit:
        pass
    sys.stdout = sys.__stdout__
    print(",".join(sorted({n.split(".")[0] for n in sys.modules})))
""")


@pytest.mark.parametrize("cmd,args", [
    ("sbatch", ["--help"]), ("squeue", ["--help"]), ("scancel", ["--help"]),
    ("sinfo", ["--help"]), ("sacct", ["--help"]), ("scontrol", ["--help"]),
    ("srun", ["--help"]), ("sattach", ["--help"]),
    ("squeue", []), ("sinfo", []), ("sacct", []), ("scontrol", ["show", "config"]),
    ("sbatch", ["--hold", "--wrap=true"]), ("scancel", ["1"]),
])
def test_no_boto3_on_the_local_path(tmp_path, cmd, args):
    heavy = _imported(tmp_path, cmd, args) & {"boto3", "botocore", "pluggy"}
    assert not heavy, f"{cmd} {args} imported {heavy}"


def _imported(tmp_path, cmd: str, args: list[str], setup: list[list[str]] = ()) -> set[str]:
    """The top-level modules `cmd args` imports, after the `setup` commands have run."""
    conf = tmp_path / "empty.toml"
    conf.write_text("")
    res = None
    for c, *a in [*setup, [cmd, *args]]:
        res = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path), str(conf), c, *a],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
    return set(res.stdout.strip().split(","))


@pytest.mark.parametrize("cmd,args", [
    ("squeue", []), ("squeue", ["-l"]), ("sinfo", []), ("sacct", []), ("scancel", ["1"]),
    ("scontrol", ["show", "job"]), ("sbatch", ["--hold", "--wrap=true"]),
])
def test_everyday_commands_do_without_dataclasses(tmp_path, cmd, args):
    # a held job in the queue, so that the commands read records and refresh the backend
    got = _imported(tmp_path, cmd, args, setup=[["sbatch", "--hold", "--wrap=true"]])
    assert "dataclasses" not in got and "inspect" not in got


def test_the_job_runtime_does_not_load_an_http_client():
    """The local node daemon forks one runtime per task; what the runtime imports, each task
    pays for.  urllib.request (http, email, ssl) is only for a Batch job's step records."""
    probe = ("import sys; import slurmshim.runtime.job, slurmshim.runtime.stepsync, "
             "slurmshim.runtime.srun; "
             "print(','.join(sorted(m for m in ('urllib.request', 'http.client', 'ssl', 'email')"
             " if m in sys.modules)))")
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""
