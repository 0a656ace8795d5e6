"""One exception tree.  Each error carries the exact text Slurm prints (without the
`<prog>: error: ` prefix unless `raw` is set) and the exit code the command must return, so the
CLI layer only has to print and exit."""
from __future__ import annotations


class SlurmError(Exception):
    """Base: `message` is printed as `<prog>: error: <message>` (one line per message line),
    unless `raw`, in which case it is printed as is.  `exit_code` is the process exit status."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None, raw: bool = False):
        super().__init__(message)
        self.message = message
        self.raw = raw
        if exit_code is not None:
            self.exit_code = exit_code

    def render(self, prog: str) -> str:
        """The text for stderr, newline-terminated."""
        if self.raw:
            return self.message if self.message.endswith("\n") else self.message + "\n"
        return "".join(f"{prog}: error: {line}\n" for line in self.message.split("\n"))


class UsageError(SlurmError):
    """Bad command-line syntax (getopt level): Slurm exits 255 for these in sbatch/srun."""

    exit_code = 255


class InvalidSpec(SlurmError):
    """A value that does not parse (`Invalid --time specification`): exit 255 like sbatch."""

    exit_code = 255


class SubmitError(SlurmError):
    """The controller refused the job: printed as `Batch job submission failed: <reason>`."""

    def __init__(self, reason: str, exit_code: int | None = None, detail: str | None = None):
        msg = f"Batch job submission failed: {reason}"
        if detail:
            msg = f"{detail}\n{msg}"
        super().__init__(msg, exit_code)
        self.reason = reason


class InvalidJobId(SlurmError):
    """`slurm_load_jobs error: Invalid job id specified` (squeue -j, scontrol show job)."""

    def __init__(self, message: str = "slurm_load_jobs error: Invalid job id specified"):
        super().__init__(message, 1, raw=True)


class ConfigError(SlurmError):
    """A malformed config file: one line naming the file and the key."""

    def __init__(self, path: str, key: str | None, problem: str):
        where = f"{path}: {key}" if key else path
        super().__init__(f"invalid configuration {where}: {problem}", 1)
        self.path, self.key = path, key


class BackendError(SlurmError):
    """A backend failure (AWS API error, missing credentials) mapped to a Slurm-style message."""
