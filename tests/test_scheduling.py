"""The pure scheduling rules: dependency kinds, `,`/`?` combination, priority order, placement."""
from __future__ import annotations

import pytest

from slurmshim.model import Dependency, DependencyTerm, JobRecord, JobState, Partition
from slurmshim.scheduling import (NEVER, SATISFIED, WAITING, NodeUse, Request, dependency_status,
                                  never_fits, place, priority_key, term_status)

NOW = 1_000_000.0


def rec(state, start=None, end=None, **kw):
    return JobRecord(job_id=kw.pop("job_id", 7), state=JobState(state), start_time=start,
                     end_time=end, **kw)


@pytest.mark.parametrize("kind,minutes,target,expected", [
    ("after", 0, rec("PENDING"), WAITING),
    ("after", 0, rec("RUNNING", start=NOW - 5), SATISFIED),
    ("after", 1, rec("RUNNING", start=NOW - 5), WAITING),          # after:7+1 -> a minute later
    ("after", 1, rec("RUNNING", start=NOW - 61), SATISFIED),
    ("after", 0, rec("CANCELLED", end=NOW - 1), SATISFIED),        # never started, but gone
    ("afterany", 0, rec("RUNNING", start=NOW - 5), WAITING),
    ("afterany", 0, rec("FAILED", start=NOW - 9, end=NOW - 1), SATISFIED),
    ("afterok", 0, rec("COMPLETED", start=NOW - 9, end=NOW - 1), SATISFIED),
    ("afterok", 0, rec("FAILED", start=NOW - 9, end=NOW - 1), NEVER),
    ("afterok", 0, rec("TIMEOUT", start=NOW - 9, end=NOW - 1), NEVER),
    ("afternotok", 0, rec("FAILED", start=NOW - 9, end=NOW - 1), SATISFIED),
    ("afternotok", 0, rec("COMPLETED", start=NOW - 9, end=NOW - 1), NEVER),
    ("afternotok", 0, rec("RUNNING", start=NOW - 9), WAITING),
])
def test_term_status(kind, minutes, target, expected):
    assert term_status(DependencyTerm(kind, 7, None, minutes), [target], NOW) == expected


def test_whole_array_waits_for_pending_tasks():
    meta = rec("PENDING", array_job_id=7, array_pending=(3,))
    done = rec("COMPLETED", start=NOW - 5, end=NOW - 1, job_id=8, array_job_id=7,
               array_task_id=1)
    assert term_status(DependencyTerm("afterok", 7), [meta, done], NOW) == WAITING
    assert term_status(DependencyTerm("afterok", 7), [done], NOW) == SATISFIED


def test_aftercorr_looks_at_the_matching_task_only():
    me = rec("PENDING", job_id=20, array_job_id=20, array_task_id=2)
    t1 = rec("FAILED", start=1, end=2, job_id=8, array_job_id=7, array_task_id=1)
    t2 = rec("COMPLETED", start=1, end=2, job_id=9, array_job_id=7, array_task_id=2)
    assert term_status(DependencyTerm("aftercorr", 7), [t1, t2], NOW, me) == SATISFIED


def test_singleton():
    assert term_status(DependencyTerm("singleton"), [], NOW, same_name_active=True) == WAITING
    assert term_status(DependencyTerm("singleton"), [], NOW, same_name_active=False) == SATISFIED


@pytest.mark.parametrize("any_of,statuses,expected", [
    (False, [SATISFIED, SATISFIED], SATISFIED),
    (False, [SATISFIED, WAITING], WAITING),
    (False, [WAITING, NEVER], NEVER),
    (True, [NEVER, SATISFIED], SATISFIED),
    (True, [NEVER, WAITING], WAITING),
    (True, [NEVER, NEVER], NEVER),
])
def test_all_and_any(any_of, statuses, expected):
    dep = Dependency(terms=(), any_of=any_of)
    assert dependency_status(dep, statuses) == expected


def test_priority_order():
    a = rec("PENDING", job_id=1, priority=1, submit_time=5)
    b = rec("PENDING", job_id=2, priority=50, submit_time=6)
    c = rec("PENDING", job_id=3, priority=1, nice=100, submit_time=1)
    assert [r.job_id for r in sorted([a, b, c], key=priority_key)] == [2, 1, 3]


def test_placement_and_never_fits():
    part = Partition(name="p", node_names=("n1", "n2"), cpus_per_node=4, mem_per_node=1000)
    assert never_fits(Request(3, 1, 0, 0), part)
    assert never_fits(Request(1, 5, 0, 0), part)
    assert not never_fits(Request(2, 4, 1000, 0), part)
    use = {"n1": NodeUse(cpus=3, jobs=1)}
    assert place(Request(1, 2, 0, 0), part, use) == ["n2"]
    assert place(Request(2, 2, 0, 0), part, use) is None
    assert place(Request(1, 1, 0, 0, exclusive=True), part, use) == ["n2"]
