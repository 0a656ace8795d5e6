"""A throwaway local "cluster" for end-to-end tests: its own state directory and working
directory, and the real commands run as subprocesses (`python -m slurmshim.cli.<cmd>`), as a
user would run them."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Cluster:
    def __init__(self, tmp: Path, config: str | None = None):
        self.state = tmp / "state"
        self.work = tmp / "work"
        self.work.mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("SLURM", "SBATCH_", "SQUEUE_", "SACCT_", "SINFO_"))}
        self.env["SLURMSHIM_STATE_DIR"] = str(self.state)
        self.env["PYTHONPATH"] = str(ROOT) + os.pathsep + self.env.get("PYTHONPATH", "")
        if config is not None:
            path = tmp / "slurmshim.toml"
            path.write_text(config)
            self.env["SLURMSHIM_CONF"] = str(path)
        else:
            self.env["SLURMSHIM_CONF"] = str(tmp / "none.toml")
            (tmp / "none.toml").write_text("")  # empty file: built-in defaults

    def run(self, prog: str, *args: str, input: str | None = None, timeout: float = 60,
            env: dict | None = None) -> subprocess.CompletedProcess:
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        return subprocess.run([sys.executable, "-m", f"slurmshim.cli.{prog}", *args],
                              cwd=self.work, env=full_env, input=input, capture_output=True,
                              text=True, timeout=timeout)

    def script(self, name: str, body: str) -> str:
        path = self.work / name
        path.write_text(body)
        path.chmod(0o755)
        return name

    def submit(self, *args: str) -> int:
        res = self.run("sbatch", "--parsable", *args)
        assert res.returncode == 0, res.stderr
        return int(res.stdout.strip().split(";")[0])

    def state_of(self, job: str) -> str:
        res = self.run("sacct", "-X", "-n", "-P", "-o", "State", "-j", job)
        return res.stdout.strip().split("\n")[0] if res.stdout.strip() else ""

    def wait_state(self, job: str, states: set[str], timeout: float = 30) -> str:
        deadline = time.time() + timeout
        st = ""
        while time.time() < deadline:
            st = self.state_of(job)
            if st.split(" ")[0] in states:
                return st
            time.sleep(0.2)
        raise AssertionError(f"job {job} still {st!r} after {timeout}s, wanted {states}")

    def squeue(self, *args: str) -> str:
        res = self.run("squeue", *args)
        assert res.returncode == 0, res.stderr
        return res.stdout

    def read(self, name: str) -> str:
        return (self.work / name).read_text()
