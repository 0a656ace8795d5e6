"""Table tests for slurmshim.slurm.filenames (expand_stdio_fields)."""
from __future__ import annotations

import pytest

from slurmshim.slurm.filenames import NO_VAL, default_output_pattern, expand_pattern

PLAIN = dict(job_id=128)
TASK = dict(job_id=43, array_job_id=42, array_task_id=1)
FULL = dict(job_id=56, array_job_id=55, array_task_id=13, node_name="node01", node_id=2,
            task_id=3, user="root", job_name="hello", restart_count=1, sluid="s0ME1D")


@pytest.mark.parametrize("pattern, ids, expected", [
    ("slurm-%j.out", dict(job_id=1), "slurm-1.out"),                  # capture work/
    ("slurm-%A_%a.out", dict(job_id=15, array_job_id=9, array_task_id=0),
     "slurm-9_0.out"),                                                # raw id 15 is task 9_0
    ("slurm-%A_%a.out", dict(job_id=42), "slurm-42_4294967294.out"),  # capture 33 meta record
    ("%a", PLAIN, str(NO_VAL)),
    ("%b", PLAIN, "4"),                                               # NO_VAL % 10
    ("%A", PLAIN, "128"),                                             # not an array: job id
    ("%A.%a.%b", FULL, "55.13.3"),
    ("%j", TASK, "43"),                                               # the task's own raw id
    ("job%J.out", PLAIN, "job128.out"),                               # batch step: no .step
    ("job%J.out", dict(job_id=128, step_id="0"), "job128.0.out"),
    ("job%4j.out", PLAIN, "job0128.out"),                             # man page example
    ("job%2j-%2t.out", dict(job_id=128, task_id=1), "job128-01.out"),
    ("%s", PLAIN, "batch"),
    ("%s", dict(job_id=1, step_id="batch"), "batch"),
    ("%3s", dict(job_id=1, step_id="2"), "002"),
    ("%3s", PLAIN, "batch"),                                          # padding only for numbers
    ("%N-%n-%t-%u-%x", FULL, "node01-2-3-root-hello"),
    ("%5N|%5u|%5x", FULL, "node01|root|hello"),                       # text fields: no padding
    ("%r", FULL, "1"),
    ("%S", FULL, "s0ME1D"),
    ("%t", PLAIN, "0"),
    ("100%%.out", PLAIN, "100%.out"),
    ("%%j", PLAIN, "%j"),
    ("%q", PLAIN, "%q"),                                              # unknown: kept
    ("%4q", PLAIN, "%4q"),
    ("%4", PLAIN, "%4"),
    ("end%", PLAIN, "end"),                                           # lone trailing % dropped
    ("%12j", PLAIN, "0000000128"),                                    # padding capped at 10
    ("%010j", PLAIN, "0000000128"),
    ("%9j", PLAIN, "000000128"),
    ("%0j", PLAIN, "128"),
    ("%J", dict(job_id=5, step_id="3"), "5.3"),
    ("%2J", dict(job_id=5, step_id="3"), "05.3"),
    ("out\\%j", PLAIN, "out%j"),                                      # a backslash: no expansion
    ("a\\\\b%j", PLAIN, "ab%j"),
    ("/abs/%x-%j.log", FULL, "/abs/hello-56.log"),
    ("", PLAIN, ""),
])
def test_expand_pattern(pattern, ids, expected):
    assert expand_pattern(pattern, **ids) == expected


@pytest.mark.parametrize("pattern, work_dir, expected", [
    ("slurm-%j.out", "/home/user/work", "/home/user/work/slurm-7.out"),  # StdOut= in captures
    ("slurm-%j.out", "/home/user/work/", "/home/user/work/slurm-7.out"),
    ("/tmp/%j.out", "/home/user/work", "/tmp/7.out"),
    ("x\\%j", "/w", "/w/x%j"),
])
def test_expand_pattern_work_dir(pattern, work_dir, expected):
    assert expand_pattern(pattern, job_id=7, work_dir=work_dir) == expected


@pytest.mark.parametrize("pattern, expected", [
    ("%N-%n-%t-%u-%j", "%N-%n-%t-%u-7"),   # srun leaves per-task fields alone
    ("%2t.%x", "%2t.hello"),
])
def test_expand_pattern_srun(pattern, expected):
    assert expand_pattern(pattern, job_id=7, job_name="hello", is_srun=True) == expected


@pytest.mark.parametrize("is_array, pattern", [
    (False, "slurm-%j.out"), (True, "slurm-%A_%a.out"),
])
def test_default_output_pattern(is_array, pattern):
    assert default_output_pattern(is_array) == pattern
