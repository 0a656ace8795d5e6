"""Job dependencies: `--dependency=afterok:12:13,singleton`, `after:5+10`, `afterany:7_*`,
`afterok:9_[1-3]`, `?` for "any of", and the scontrol `Dependency=` display
(`afterok:7(unfulfilled)`).

Ported from slurmctld's `_parse_dependency_str`, `_xlate_array_dep` and `_depend_list2str`
(src/slurmctld/job_scheduler.c): sbatch passes the string through untouched and the controller
rejects bad syntax with ESLURM_DEPENDENCY, "Job dependency problem".  Pure, stdlib-only.
"""
from __future__ import annotations

import re
from typing import Callable

from ..model import INFINITE, Dependency, DependencyTerm

__all__ = ["DEPENDENCY_ERROR", "KINDS", "parse_dependency", "format_dependency", "term_text"]

DEPENDENCY_ERROR = "Job dependency problem"  # ESLURM_DEPENDENCY's strerror

# keyword (with its colon) -> kind; checked in Slurm's order
_KEYWORDS = (
    ("afternotok:", "afternotok"), ("aftercorr:", "aftercorr"), ("afterany:", "afterany"),
    ("afterok:", "afterok"), ("afterburstbuffer:", "afterburstbuffer"), ("after:", "after"),
)
KINDS = frozenset(k for _, k in _KEYWORDS) | {"singleton"}

_ARRAY_DEP = re.compile(r"(\d+)_\[([^\]]*)\]")
_RANGE_LIST = re.compile(r"\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*\Z")
_STEP_RANGE = re.compile(r"(\d+)-(\d+):(\d+)\Z")
_DIGITS = re.compile(r"\d+")


def _bad() -> ValueError:
    return ValueError(DEPENDENCY_ERROR)


def _array_tasks(spec: str, max_array_size: int) -> list[int]:
    """Task ids inside `_[...]` (`bitfmt2int`): `1-3,7` lists, or one `a-b:s` stride.
    Slurm's stride loop stops *before* b (`1-7:2` -> 1,3,5); kept for fidelity."""
    m = _STEP_RANGE.match(spec)
    if m:
        a, b, step = (int(x) for x in m.groups())
        if b < a or step <= 0:
            raise _bad()
        tasks = list(range(a, b, step))
    elif _RANGE_LIST.match(spec):
        tasks = []
        for part in spec.split(","):
            lo, _, hi = part.partition("-")
            tasks.extend(range(int(lo), int(hi or lo) + 1))
    else:
        raise _bad()
    if not tasks or max(tasks) >= max_array_size:
        raise _bad()
    return sorted(set(tasks))


def _xlate_array_dep(text: str, max_array_size: int) -> str:
    """`after:123_[4-5]` -> `after:123_4:123_5` (`_xlate_array_dep`)."""
    def repl(m: re.Match[str]) -> str:
        job = m.group(1)
        tasks = _array_tasks(m.group(2), max_array_size)
        return f"{job}_{tasks[0]}" + "".join(f":{job}_{t}" for t in tasks[1:])

    return _ARRAY_DEP.sub(repl, text)


def _job_array(s: str, i: int) -> tuple[int, int | None, int]:
    """`<job_id>[_(*|<task_id>)]` at s[i]: (job id, task or INFINITE for `*`, next index)."""
    m = _DIGITS.match(s, i)
    if m is None:
        raise _bad()
    job = int(m.group())
    i = m.end()
    task: int | None = None
    if s.startswith("_", i):
        i += 1
        if s.startswith("*", i):
            task = INFINITE
            i += 1
        else:
            m = _DIGITS.match(s, i)
            if m is None:
                raise _bad()
            task = int(m.group())
            i = m.end()
    if job == 0:
        raise _bad()
    return job, task, i


def _skip_state(s: str, i: int) -> int:
    """An optional `(unfulfilled)` / `(failed)` right after a term, as scontrol prints them:
    accepted (so `Dependency=` output can be pasted back) and ignored."""
    if s.startswith("(", i):
        close = s.find(")", i)
        if close < 0:
            raise _bad()
        return close + 1
    return i


def parse_dependency(text: str, *, max_array_size: int = 1001) -> Dependency:
    """Parse a `--dependency` value.

    Terms are `type:job[_task|_*][+minutes][:job...]` for type after, afterany, afterok,
    afternotok, aftercorr, afterburstbuffer (any case), `singleton`, or a bare job id (the
    old form, meaning afterany).  Terms are joined by `,` (all must hold) or `?` (any may
    hold); mixing the two is an error.  `job_[1-3]` expands to one term per task; `job_*`
    gives task=INFINITE.  Duplicate type/job/task terms are dropped (first kept).  Empty text
    and `0` mean "no dependency" (an empty Dependency, as `scontrol update Dependency=`
    clears it).  ValueError("Job dependency problem") otherwise (zero or non-numeric ids,
    `+0`, trailing separators, unknown types, and `expand:`, which needs a controller
    setting we do not offer)."""
    if text == "" or text == "0":
        return Dependency(terms=(), any_of=False, text=text)
    s = _xlate_array_dep(text, max_array_size) if "_[" in text else text
    n = len(s)
    terms: list[DependencyTerm] = []
    sep_type: str | None = None  # None = not decided yet, else "," or "?"
    i = 0

    def take_sep(i: int, expected: str | None) -> tuple[bool, int]:
        nonlocal sep_type
        if i >= n or s[i] not in ",?":
            return False, i
        if expected is not None and expected != s[i]:
            raise _bad()
        sep_type = s[i]
        return True, i + 1

    while True:
        if s[i:i + 9].lower() == "singleton":
            i = _skip_state(s, i + 9)
            terms.append(DependencyTerm(kind="singleton"))
            ok, i = take_sep(i, sep_type)
            if ok:
                continue
            break
        colon = s.find(":", i)
        if colon < 0:
            if i < n and "0" <= s[i] <= "9":  # old format: a bare job id = afterany
                job, task, i = _job_array(s, i)
                terms.append(DependencyTerm(kind="afterany", job_id=job, task=task))
                ok, i = take_sep(i, ",")
                if ok:
                    continue
                break
            raise _bad()
        head = s[i:colon + 1].lower()
        kind = next((k for kw, k in _KEYWORDS if head == kw), None)
        if kind is None:
            raise _bad()  # includes "expand:" (job expansion is not offered)
        i = colon + 1
        while True:
            job, task, i = _job_array(s, i)
            minutes = 0
            if s.startswith("+", i):
                m = _DIGITS.match(s, i + 1)
                if m is None or int(m.group()) <= 0:
                    raise _bad()
                minutes = int(m.group())
                i = m.end()
            i = _skip_state(s, i)
            terms.append(DependencyTerm(kind=kind, job_id=job, task=task, minutes=minutes))
            if not s.startswith(":", i):
                break
            i += 1
        ok, i = take_sep(i, sep_type)
        if not ok:
            break
    if i != n:
        raise _bad()
    seen: set[tuple[str, int | None, int | None]] = set()
    unique: list[DependencyTerm] = []
    for t in terms:
        key = (t.kind, t.job_id, t.task)
        if key not in seen:
            seen.add(key)
            unique.append(t)
    return Dependency(terms=tuple(unique), any_of=(sep_type == "?"), text=text)


def term_text(term: DependencyTerm) -> str:
    """One term without its state: `afterok:7`, `afterany:7_3`, `afterok:7_*`, `after:7+10`,
    `singleton`."""
    if term.kind == "singleton":
        return "singleton"
    if term.task == INFINITE:
        job = f"{term.job_id}_*"
    elif term.task is not None:
        job = f"{term.job_id}_{term.task}"
    else:
        job = str(term.job_id)
    text = f"{term.kind}:{job}"
    if term.minutes:
        text += f"+{term.minutes}"
    return text


def format_dependency(dep: Dependency | None,
                      satisfied: Callable[[DependencyTerm], bool | None] | None = None,
                      *, empty: str = "(null)") -> str:
    """scontrol `Dependency=` (`_depend_list2str`): each term not yet fulfilled as
    `type:job[_task|_*][+min](state)` (`singleton(state)`), joined by `,` or by `?` for an
    any-of dependency.  `satisfied(term)` says True = fulfilled (left out, as Slurm does),
    False = failed (`(failed)`), None = still waiting (`(unfulfilled)`); without it every term
    is unfulfilled.  When nothing is left (or dep is None) the result is `empty`, which
    scontrol prints as `(null)`.  For a dependency on a whole array, give the term
    task=INFINITE so it prints `_*` as slurmctld does after resolving the id."""
    if dep is None:
        return empty
    sep = "?" if dep.any_of else ","
    parts: list[str] = []
    for term in dep.terms:
        state = satisfied(term) if satisfied is not None else None
        if state is True:
            continue
        word = "failed" if state is False else "unfulfilled"
        parts.append(f"{term_text(term)}({word})")
    return sep.join(parts) if parts else empty
