"""Table tests for slurmshim.slurm.dependency (--dependency and scontrol Dependency=)."""
from __future__ import annotations

import pytest

from slurmshim.model import INFINITE, Dependency
from slurmshim.model import DependencyTerm as T
from slurmshim.slurm.dependency import (DEPENDENCY_ERROR, format_dependency, parse_dependency,
                                        term_text)


@pytest.mark.parametrize("text, terms, any_of", [
    ("afterok:1", (T("afterok", 1),), False),                       # capture 10
    ("afterok:1:2", (T("afterok", 1), T("afterok", 2)), False),      # capture 10
    ("afterok:7", (T("afterok", 7),), False),
    ("after:5", (T("after", 5),), False),
    ("after:5+10", (T("after", 5, minutes=10),), False),
    ("afterany:5+1:6", (T("afterany", 5, minutes=1), T("afterany", 6)), False),
    ("afterany:3", (T("afterany", 3),), False),
    ("afternotok:3", (T("afternotok", 3),), False),
    ("aftercorr:3", (T("aftercorr", 3),), False),
    ("afterburstbuffer:3", (T("afterburstbuffer", 3),), False),
    ("AFTEROK:3", (T("afterok", 3),), False),                        # any case
    ("afterok:12_3", (T("afterok", 12, task=3),), False),
    ("afterok:12_*", (T("afterok", 12, task=INFINITE),), False),
    ("afterok:12_[1-3]", (T("afterok", 12, 1), T("afterok", 12, 2), T("afterok", 12, 3)),
     False),
    ("afterok:12_[1,4-5]", (T("afterok", 12, 1), T("afterok", 12, 4), T("afterok", 12, 5)),
     False),
    ("afterok:12_[1-7:2]", (T("afterok", 12, 1), T("afterok", 12, 3), T("afterok", 12, 5)),
     False),                                                         # Slurm's stride stops before 7
    ("singleton", (T("singleton"),), False),
    ("SINGLETON", (T("singleton"),), False),
    ("afterok:1,singleton", (T("afterok", 1), T("singleton")), False),
    ("singleton,afterany:2", (T("singleton"), T("afterany", 2)), False),
    ("afterok:1,afternotok:2", (T("afterok", 1), T("afternotok", 2)), False),
    ("afterok:1?afternotok:2", (T("afterok", 1), T("afternotok", 2)), True),
    ("afterok:1?afternotok:2?singleton",
     (T("afterok", 1), T("afternotok", 2), T("singleton")), True),
    ("123", (T("afterany", 123),), False),                           # old form: bare id
    ("123,456", (T("afterany", 123), T("afterany", 456)), False),
    ("123_4", (T("afterany", 123, 4),), False),
    ("afterok:1:1,afterok:1", (T("afterok", 1),), False),            # duplicates dropped
    ("afterok:1,afterany:1", (T("afterok", 1), T("afterany", 1)), False),
    ("afterok:7(unfulfilled)", (T("afterok", 7),), False),           # pasted from scontrol
    ("afterok:7(failed),singleton(unfulfilled)", (T("afterok", 7), T("singleton")), False),
    ("after:5+10(unfulfilled)", (T("after", 5, minutes=10),), False),
])
def test_parse_dependency(text, terms, any_of):
    dep = parse_dependency(text)
    assert dep.terms == terms
    assert dep.any_of is any_of
    assert dep.text == text


@pytest.mark.parametrize("text", ["", "0"])
def test_parse_dependency_empty_means_none(text):
    assert parse_dependency(text) == Dependency(terms=(), any_of=False, text=text)


@pytest.mark.parametrize("text", [
    "bogus",
    "afterok",
    "afterok:",
    "afterok:0",                  # job ids must be positive
    "afterok:-1",
    "afterok:abc",
    "afterok:1,",                 # trailing separator
    "afterok:1?",
    ",afterok:1",
    "afterok:1,afterok:2?afterok:3",   # mixing , and ?
    "afterok:1?afterok:2,afterok:3",
    "123?456",                    # the old form only joins with ,
    "123,afterok:5",              # an old-form id followed by a new-form term (Slurm quirk)
    "after:5+0",                  # +minutes must be positive
    "after:5+",
    "after:5+x",
    "afterok:12_",
    "afterok:12_x",
    "afterok:12_[",
    "afterok:12_[]",
    "afterok:12_[a]",
    "afterok:12_[5-3]",
    "afterok:12_[1-2000]",        # beyond MaxArraySize
    "afterok:1(unfulfilled",
    "afterok:1 ",
    "afterok: 1",
    "singletonx",
    "expand:5",                   # job expansion is not offered
    "afterokay:5",
    "afterok:1;afterok:2",
    "afterok:1::2",
])
def test_parse_dependency_invalid(text):
    with pytest.raises(ValueError, match=DEPENDENCY_ERROR):
        parse_dependency(text)


@pytest.mark.parametrize("term, text", [
    (T("afterok", 7), "afterok:7"),
    (T("afterany", 7, task=3), "afterany:7_3"),
    (T("afterok", 7, task=INFINITE), "afterok:7_*"),
    (T("after", 7, minutes=10), "after:7+10"),
    (T("singleton"), "singleton"),
])
def test_term_text(term, text):
    assert term_text(term) == text


@pytest.mark.parametrize("text, states, expected", [
    ("afterok:7", None, "afterok:7(unfulfilled)"),                   # capture 36
    ("afterok:1:2", None, "afterok:1(unfulfilled),afterok:2(unfulfilled)"),
    ("afterok:1:2", {1: True}, "afterok:2(unfulfilled)"),            # fulfilled terms vanish
    ("afterok:1:2", {1: True, 2: True}, "(null)"),                   # all done: (null)
    ("afterok:1:2", {2: False}, "afterok:1(unfulfilled),afterok:2(failed)"),
    ("afterok:1?afterany:2", None, "afterok:1(unfulfilled)?afterany:2(unfulfilled)"),
    ("afterok:1?afterany:2", {1: True}, "afterany:2(unfulfilled)"),
    ("after:5+10", None, "after:5+10(unfulfilled)"),
    ("afterany:12_*", None, "afterany:12_*(unfulfilled)"),
    ("afterok:12_[1-2]", None, "afterok:12_1(unfulfilled),afterok:12_2(unfulfilled)"),
    ("singleton", None, "singleton(unfulfilled)"),
    ("singleton,afterok:3", {3: False}, "singleton(unfulfilled),afterok:3(failed)"),
    ("", None, "(null)"),
])
def test_format_dependency(text, states, expected):
    dep = parse_dependency(text)
    satisfied = None
    if states is not None:
        satisfied = lambda term: states.get(term.job_id)  # noqa: E731
    assert format_dependency(dep, satisfied) == expected


def test_format_dependency_none_and_empty_override():
    assert format_dependency(None) == "(null)"
    assert format_dependency(parse_dependency("afterok:1"), lambda t: True, empty="") == ""


@pytest.mark.parametrize("text", [
    "afterok:1", "afterok:1:2,afterany:3_4", "after:5+10?afterok:6_*", "singleton",
])
def test_display_reparses_to_the_same_terms(text):
    dep = parse_dependency(text)
    again = parse_dependency(format_dependency(dep))
    assert again.terms == dep.terms and again.any_of == dep.any_of
