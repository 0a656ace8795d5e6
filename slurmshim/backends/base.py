"""The small contract every backend implements.  The controller owns the ledger and the Slurm
semantics; a backend only starts, signals and observes jobs on its infrastructure."""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..model import JobRecord, JobSpec, NodeStatus, Partition

if TYPE_CHECKING:
    from ..controller import Controller


class Backend(Protocol):
    name: str

    def validate(self, ctl: "Controller", spec: JobSpec, part: Partition) -> list[str]:
        """Refuse (raise SubmitError) what this backend can never run; return warnings."""

    def submit(self, ctl: "Controller", rec: JobRecord, spec: JobSpec, part: Partition) -> None:
        """Hand a freshly stored job to the infrastructure (or schedule it)."""

    def kick(self, ctl: "Controller") -> None:
        """Something changed (release, update, dependency satisfied): reconsider pending jobs."""

    def refresh(self, ctl: "Controller", recs: list[JobRecord] | None) -> None:
        """Bring the ledger up to date for these active jobs (states, exit codes, steps);
        `recs` None means every active job of this backend (the backend reads only what it
        needs: it is on the path of every squeue)."""

    def cancel(self, ctl: "Controller", recs: list[JobRecord], signum: int, *,
               batch_only: bool = False, full: bool = False) -> None:
        """Deliver a signal to running jobs; for SIGKILL-style cancels also stop them."""

    def node_statuses(self, ctl: "Controller", part: Partition) -> list[NodeStatus]:
        """The partition's nodes as sinfo shows them."""
