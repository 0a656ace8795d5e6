"""A throwaway local "cluster" for end-to-end tests: its own state directory and working
directory, and the real commands run as subprocesses (`python -m slurmshim.cli.<cmd>`), as a
user would run them."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate, timeout: float = 60, what: str = "condition", poll: float = 0.1):
    """Poll `predicate` until it returns something true (returned), or fail after `timeout`
    seconds.  The way to wait for something to happen: never a fixed sleep, whose length
    depends on how loaded the machine is."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)


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

    def wait_state(self, job: str, states: set[str], timeout: float = 60) -> str:
        deadline = time.time() + timeout
        st = ""
        while time.time() < deadline:
            st = self.state_of(job)
            if st.split(" ")[0] in states:
                return st
            time.sleep(0.2)
        raise AssertionError(f"job {job} still {st!r} after {timeout}s, wanted {states}")

    def gate(self, name: str, before: str = "", after: str = "") -> str:
        """A job script (returned: its name) that runs the shell lines `before`, then waits
        until the test opens its gate (`open_gate(name)`), then runs `after`: what the test
        checks while the job runs (or before it reaches `after`) then does not depend on the
        machine's speed.  A gate left closed gives up after 10 minutes, so a failed test
        leaves no job behind for ever."""
        flag = shlex.quote(str(self.work / f"{name}.open"))   # wherever the job runs
        wait = (f"end=$((SECONDS + 600))\n"
                f"while [ ! -e {flag} ] && [ $SECONDS -lt $end ]; do sleep 0.05; done\n")
        return self.script(f"{name}.sh", f"#!/bin/bash\n{before}{wait}{after}")

    def open_gate(self, name: str) -> None:
        (self.work / f"{name}.open").touch()

    def wait_output(self, name: str, text: str, timeout: float = 60) -> str:
        """Wait until the file `name` (in the working directory) contains `text`; returns the
        file's content."""
        path = self.work / name

        def content() -> str | None:
            got = path.read_text() if path.exists() else ""
            return got if text in got else None
        return wait_for(content, timeout, f"{text!r} in {name}")

    def squeue(self, *args: str) -> str:
        res = self.run("squeue", *args)
        assert res.returncode == 0, res.stderr
        return res.stdout

    def read(self, name: str) -> str:
        return (self.work / name).read_text()
