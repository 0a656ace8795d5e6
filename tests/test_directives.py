"""#SBATCH extraction and script checks (slurmshim.slurm.directives), as sbatch 25.11 does them
(src/sbatch/opt.c _opt_batch_script/get_argument, src/sbatch/sbatch.c _get_script_buffer)."""
from __future__ import annotations

import pytest

from slurmshim.errors import SlurmError
from slurmshim.slurm import directives as D

SH = "#!/bin/bash\n"


@pytest.mark.parametrize("body,tokens", [
    # column-0 rule
    ("#SBATCH -N 2\n", ["-N", "2"]),
    ("  #SBATCH -N 2\n", []),
    ("\t#SBATCH -N 2\n", []),
    ("# SBATCH -N 2\n", []),
    ("#sbatch -N 2\n", []),
    ("#SBATCH--time=5\n", ["--time=5"]),
    ("#SBATCH\t-J\tx\n", ["-J", "x"]),
    # several per line, all lines form one argv
    ("#SBATCH -N 2 -n 4 --mem=1G\n", ["-N", "2", "-n", "4", "--mem=1G"]),
    ("#SBATCH -J\n#SBATCH name\n", ["-J", "name"]),
    # stop rule: the first non-blank, non-comment line ends the scan
    ("echo hi\n#SBATCH -N 2\n", []),
    ("\n\n   \n#SBATCH -N 2\n", ["-N", "2"]),
    ("# comment\n  # indented comment\n#SBATCH -N 2\n", ["-N", "2"]),
    ("#SBATCH -N 2\nset -e\n#SBATCH -n 4\n", ["-N", "2"]),
    ("#SBATCH -N 2\n  x=1\n#SBATCH -n 4\n", ["-N", "2"]),
    ("#SBATCH -N 2\n#!/bin/sh\n#SBATCH -n 4\n", ["-N", "2", "-n", "4"]),
    # quotes
    ('#SBATCH -J "my job"\n', ["-J", "my job"]),
    ("#SBATCH -J 'my job'\n", ["-J", "my job"]),
    ("#SBATCH --comment='a \"b\" c'\n", ["--comment=a \"b\" c"]),
    ('#SBATCH -J a"b c"d\n', ["-J", "ab cd"]),
    ('#SBATCH -J "a#b"\n', ["-J", "a#b"]),
    ('#SBATCH "" -N 2\n', []),                      # an empty argument ends the line
    ("#SBATCH -J x '' -N 2\n", ["-J", "x"]),
    # escapes
    ("#SBATCH -J my\\ job\n", ["-J", "my job"]),
    ('#SBATCH -J \\"x\n', ["-J", '"x']),
    ("#SBATCH -J a\\#b\n", ["-J", "a#b"]),
    ("#SBATCH -J a\\\\b\n", ["-J", "a\\b"]),
    ('#SBATCH -J "a\\"b"\n', ["-J", 'a"b']),
    ("#SBATCH -J ab\\\n", ["-J", "ab"]),
    # comments
    ("#SBATCH -N 2 # two nodes\n", ["-N", "2"]),
    ("#SBATCH -N 2# two nodes\n", ["-N", "2"]),
    ("#SBATCH # -N 2\n", []),
    ("#SBATCH -J a#b -N 2\n", ["-J", "a"]),
    # hetjob/packjob words end a line; at the start they end the first component
    ("#SBATCH -N 2 hetjob -n 3\n", ["-N", "2"]),
    # #SLURM still works
    ("#SLURM -N 2\n", ["-N", "2"]),
    ("#SLURM_X -N 2\n", ["_X", "-N", "2"]),
])
def test_extract(body, tokens):
    assert D.extract(SH + body, "job.sh").tokens == tokens


def test_line_numbers_and_lines():
    got = D.extract(SH + "#SBATCH -N 2\n\n#SBATCH -J x\n", "job.sh").directives
    assert [(d.token, d.lineno) for d in got] == [("-N", 2), ("2", 2), ("-J", 4), ("x", 4)]
    assert got[0].line == "#SBATCH -N 2"


def test_slurm_prefix_prints_one_error_line():
    res = D.extract(SH + "#SLURM -N 2\n#SLURM -n 2\n", "job.sh")
    assert res.messages == ["sbatch: error: Change from #SLURM to #SBATCH in your script and "
                            "verify the options are valid in sbatch"]


def test_hetjob_separator():
    res = D.extract(SH + "#SBATCH -N 1\n#SBATCH hetjob\n#SBATCH -N 2\n", "job.sh")
    assert res.tokens == ["-N", "1"] and res.hetjob and res.hetjob_lineno == 3
    res = D.extract(SH + "#SBATCH packjob\n", "job.sh")
    assert res.hetjob
    res = D.extract(SH + "#SBATCH -N 1 packjob\n", "job.sh")
    assert not res.hetjob and res.messages == [
        'sbatch: warning: The "packjob" component separator is deprecated. Please use '
        '"hetjob" instead.']


@pytest.mark.parametrize("body,message", [
    ('#SBATCH -J "foo\n', 'job.sh: line 2: Unmatched `"` in [ "foo]'),
    ("#SBATCH -J 'foo\n", "job.sh: line 2: Unmatched `'` in [ 'foo]"),
    ("#SBATCH 'foo\n", "job.sh: line 2: Unmatched `'` in ['foo]"),
    ("\n#SBATCH -N 2 :x\n", "job.sh: line 3: Unexpected `:` in [ :x]"),
])
def test_fatal_errors(body, message):
    with pytest.raises(D.FatalError) as exc:
        D.extract(SH + body, "job.sh")
    assert exc.value.message == message
    assert exc.value.exit_code == 1
    assert exc.value.render("sbatch") == f"sbatch: fatal: {message}\n"


def test_no_trailing_newline_and_crlf_free_lines():
    assert D.extract(SH + "#SBATCH -N 2", "j").tokens == ["-N", "2"]
    assert D.next_lines("a\nb\n") == ["a", "b"]
    assert D.next_lines("a\nb") == ["a", "b"]
    assert D.next_lines("") == []


def test_foreign_directives():
    assert D.foreign_directives(SH + "#PBS -l walltime=1:00:00\n#BSUB -n 4\n") == ["#PBS", "#BSUB"]
    assert D.foreign_directives(SH + " #PBS -l x\n") == []


@pytest.mark.parametrize("script,lines", [
    ("", ["Batch script is empty!"]),
    ("   \n\t\n", ["Batch script contains only whitespace!"]),
    ("\0#!/bin/sh\n", ["Batch script contains only whitespace!"]),
    ("echo no shebang\n", ["This does not look like a batch script.  The first",
                           "line must start with #! followed by the path to an interpreter.",
                           "For instance: #!/bin/sh"]),
    (" #!/bin/sh\n", ["This does not look like a batch script.  The first",
                      "line must start with #! followed by the path to an interpreter.",
                      "For instance: #!/bin/sh"]),
    ("#!/bin/sh\necho \0\n", ["The Slurm controller does not allow scripts that",
                              "contain a NULL character '\\0'."]),
    ("#!/bin/sh\r\necho hi\r\n", ["Batch script contains DOS line breaks (\\r\\n)",
                                  "instead of expected UNIX line breaks (\\n)."]),
])
def test_script_checks(script, lines):
    with pytest.raises(SlurmError) as exc:
        D.check_script(script)
    assert exc.value.exit_code == 1
    assert exc.value.render("sbatch") == "".join(f"sbatch: error: {line}\n" for line in lines)


def test_good_scripts_pass():
    D.check_script("#!/bin/sh\n")
    D.check_script("#!/bin/sh\necho a\rb\n")  # a lone CR is not a DOS line break
    D.check_script("#!")


def test_wrap_script_text():
    assert D.wrap_script("hostname") == \
        "#!/bin/sh\n# This script was created by sbatch --wrap.\n\nhostname\n"
