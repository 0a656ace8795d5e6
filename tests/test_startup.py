"""Start-up discipline: --help, completion and local-backend commands never import boto3
(users type squeue all day; the AWS SDK costs a few hundred milliseconds to import)."""
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
    heavy = sorted(n for n in sys.modules if n.split(".")[0] in ("boto3", "botocore", "pluggy"))
    print(",".join(heavy))
""")


@pytest.mark.parametrize("cmd,args", [
    ("sbatch", ["--help"]), ("squeue", ["--help"]), ("scancel", ["--help"]),
    ("sinfo", ["--help"]), ("sacct", ["--help"]), ("scontrol", ["--help"]),
    ("srun", ["--help"]), ("sattach", ["--help"]),
    ("squeue", []), ("sinfo", []), ("sacct", []), ("scontrol", ["show", "config"]),
    ("sbatch", ["--hold", "--wrap=true"]), ("scancel", ["1"]),
])
def test_no_boto3_on_the_local_path(tmp_path, cmd, args):
    conf = tmp_path / "empty.toml"
    conf.write_text("")
    res = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path), str(conf), cmd, *args],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "", f"{cmd} {args} imported {res.stdout.strip()}"
