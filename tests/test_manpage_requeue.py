"""What scontrol(1) says about requeue holds matches what the commands do (see
test_requeue_attempts.py): the reason a requeue-held job shows in scontrol and squeue, the
name sacct uses, and that `release` works while the job is still COMPLETING."""
from __future__ import annotations

import re
from pathlib import Path

MAN = Path(__file__).resolve().parents[1] / "man"


def _command(word: str) -> str:
    """The plain text of scontrol(1)'s entry for the command `word`."""
    page = (MAN / "scontrol.1").read_text(encoding="utf-8")
    entry = page.split(f".TP\n\\fB{word}\\fR\n", 1)[1].split("\n.TP\n", 1)[0]
    return " ".join(re.sub(r"\\f[BIR]", "", entry).replace("\\-", "-").split())


def test_requeuehold_names_the_reason_the_job_pends_with():
    text = _command("requeuehold")
    assert "pend with priority 0 and the reason job_requeued_in_held_state" in text
    assert "squeue prints job requeued in held state" in text
    assert "sacct, and squeue's line for the pending tasks of an array, show the reason " \
        "JobHeldUser" in text


def test_release_works_while_a_requeue_held_job_is_completing():
    text = _command("release")
    assert "released even while it is still COMPLETING" in text
