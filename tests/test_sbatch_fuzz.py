"""Property: whatever the command line, SBATCH_* variables and #SBATCH lines, build_spec returns a
JobSpec or raises a SlurmError that renders as Slurm-style lines -- never any other exception."""
from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slurmshim.errors import SlurmError
from slurmshim.model import JobSpec
from slurmshim.slurm import options as O
from slurmshim.slurm.sbatch_args import EarlyExit, build_spec

LONGS = sorted({name for row in O.rows_for("sbatch") for name in row.names})
SHORTS = sorted({row.short for row in O.rows_for("sbatch") if row.short})
ENV_VARS = [v for v, _ in O.SBATCH_EARLY_ENV + O.SBATCH_ENV_ORDER] + ["SLURM_EXIT_ERROR"]

VALUES = st.one_of(
    st.sampled_from(["", "0", "1", "2", "-1", "4-2", "1-10%2", "0-2000", "gpu:2", "a100:1",
                     "afterok:1", "afterok:", "4G", "1.5G", "0", "1-00:00:00", "abc", "none",
                     "ALL", "NONE", "FOO,BAR=1", "B:USR1@60", "now+1hour", "yes", "no", "user",
                     "node[1-3]", "node[", "x:y", "TOP", "99999999999999999999", "%", ":",
                     "--", "-", "'q'", '"', "\\", "#", "plane=2", "cyclic:block"]),
    st.text(alphabet=string.printable, max_size=12),
)


@st.composite
def option_token(draw):
    kind = draw(st.integers(0, 6))
    if kind == 0:
        return "-" + draw(st.sampled_from(SHORTS)) + draw(st.sampled_from(["", "2", "x"]))
    if kind == 1:
        name = draw(st.sampled_from(LONGS))
        cut = draw(st.integers(1, len(name)))
        return "--" + name[:cut]
    if kind == 2:
        return "--" + draw(st.sampled_from(LONGS)) + "=" + draw(VALUES)
    if kind == 3:
        return "-" + "".join(draw(st.lists(st.sampled_from(SHORTS + ["Z", "?"]), max_size=4)))
    if kind == 4:
        return draw(st.sampled_from(["--", ":", "-", "--bogus", "--wrap=hostname"]))
    return draw(VALUES)


EARLY = {"--help", "-h", "--usage", "--version", "-V"}


def directive_line(tokens):
    return "#SBATCH " + " ".join(tokens)


@st.composite
def script(draw):
    lines = ["#!/bin/bash"]
    for _ in range(draw(st.integers(0, 4))):
        choice = draw(st.integers(0, 5))
        if choice <= 2:
            lines.append(directive_line(draw(st.lists(option_token(), max_size=4))))
        elif choice == 3:
            lines.append(draw(st.sampled_from(["# comment", "", "#SLURM -N 2", "#SBATCH hetjob",
                                               '#SBATCH -J "unterminated', "  #SBATCH -N 9",
                                               "#PBS -l walltime=1:00:00"])))
        elif choice == 4:
            lines.append("#SBATCH " + draw(st.text(alphabet=string.printable, max_size=20)))
        else:
            lines.append("echo done")
    body = "\n".join(lines) + "\n"
    if draw(st.booleans()) and draw(st.integers(0, 9)) == 0:
        body = draw(st.sampled_from(["", "  \n", "no shebang\n", "#!/bin/sh\r\n", "#!/x\0"]))
    return body


def check_render(err: SlurmError) -> None:
    """Slurm-style: one or more `sbatch: ...` lines (getopt errors add the `Try "sbatch
    --help"` line; --test-only failures are `allocation failure: ...`).  A line may hold a
    newline the user typed (glibc prints `invalid option -- '<the character>'` as is)."""
    text = err.render("sbatch")
    assert text.endswith("\n") and len(text) > 1
    assert text.startswith(("sbatch: ", "allocation failure: ")), repr(text)
    lines = text[:-1].split("\n")
    if "sbatch: error: " not in text and "sbatch: fatal: " not in text and \
            not text.startswith("allocation failure: "):
        assert lines[-1] == 'Try "sbatch --help" for more information', repr(text)
    assert isinstance(err.exit_code, int) and err.exit_code != 0


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(argv=st.lists(option_token(), max_size=8), body=script(),
       env=st.dictionaries(st.sampled_from(ENV_VARS), VALUES, max_size=3),
       with_script=st.booleans())
def test_build_spec_never_crashes(argv, body, env, with_script):
    if with_script:
        argv = argv + ["job.sh"]

    def read_script(path):
        if path in (None, "-", "job.sh"):
            return body, "/w/job.sh"
        raise SlurmError(f"Unable to open file {path}", 1)

    messages: list[str] = []
    try:
        spec = build_spec(argv, env, read_script=read_script, cwd="/w", user="u", uid=1000,
                          group="g", gid=1000, host="h", pid=1, now=1.8e9, messages=messages)
    except EarlyExit as done:
        assert isinstance(done.stdout, str) and done.exit_code == 0
    except SlurmError as err:
        check_render(err)
    else:
        assert isinstance(spec, JobSpec)
        assert spec.job_name and spec.work_dir.startswith("/")
        for use in spec.options:
            assert use.support in O.SUPPORT_LEVELS and use.source in ("cli", "env", "script")
        JobSpec.from_dict(spec.to_dict())  # storable
    for line in messages:
        assert line.startswith("sbatch: "), line


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(st.text(alphabet="#SBATCH -Nt2'\"\\ :a\t", max_size=30), max_size=6))
def test_directive_soup(lines):
    body = "#!/bin/sh\n" + "\n".join(lines) + "\n"
    try:
        build_spec(["job.sh"], {}, read_script=lambda p: (body, "/w/job.sh"), cwd="/w", user="u",
                   uid=0, group="g", gid=0, host="h", pid=1, now=1.8e9)
    except EarlyExit:
        pass
    except SlurmError as err:
        check_render(err)
