"""``#SBATCH`` directives and batch-script sanity checks, exactly as sbatch 25.11 does them.

Facts reproduced (``src/sbatch/opt.c`` ``_opt_batch_script``/``get_argument``/``next_line`` and
``src/sbatch/sbatch.c`` ``_get_script_buffer``/``_script_wrap``):

* Lines are split on ``\\n`` only.  A directive is a line *starting at column 0* with ``#SBATCH``
  (a plain prefix test: ``#SBATCH--time=5`` counts).  ``#SLURM`` still works in 25.11 but prints,
  once, ``error: Change from #SLURM to #SBATCH in your script and verify the options are valid in
  sbatch`` (an error line, yet sbatch goes on).
* Other lines: blank lines and lines whose first non-blank character is ``#`` (comments, the
  ``#!`` line, indented ``#SBATCH``) are skipped; the first other line ends the scan.
* A directive line holds any number of arguments.  ``'...'``/``"..."`` group (the quotes are
  dropped), a backslash makes the next character literal (``\\ `` is an escaped space), an
  unquoted ``#`` starts a comment, an empty argument (``""``) ends the line.  An unmatched quote is
  fatal: ``fatal: FILE: line N: Unmatched `"` in [REST]``; an argument starting with ``:`` is
  fatal: ``fatal: FILE: line N: Unexpected `:` in [REST]``.
* ``#SBATCH hetjob`` (or the deprecated ``packjob``) separates heterogeneous job components.
* The arguments of all directive lines form ONE argv for getopt (``-J`` at the end of a line takes
  the first argument of the next directive line).

Stdlib only; no I/O.
"""
from __future__ import annotations

from .._dataclass import dataclass, field
from ..errors import SlurmError

MAGIC = "#SBATCH"
MAGIC_OLD = "#SLURM"
SLURM_PREFIX_MESSAGE = ("Change from #SLURM to #SBATCH in your script and verify the options are "
                        "valid in sbatch")
PACKJOB_MESSAGE = 'The "packjob" component separator is deprecated. Please use "hetjob" instead.'

WRAP_HEADER = "#!/bin/sh\n# This script was created by sbatch --wrap.\n\n"
MAX_BATCH_SCRIPT_SIZE = 512 * 1024 * 1024

# C isspace() in the "C" locale
_CSPACE = " \t\n\v\f\r"


def _isspace(c: str) -> bool:
    return c != "" and c in _CSPACE


class FatalError(SlurmError):
    """A Slurm ``fatal()``: printed as ``<prog>: fatal: <message>``, exit 1."""

    exit_code = 1

    def render(self, prog: str) -> str:
        return "".join(f"{prog}: fatal: {line}\n" for line in self.message.split("\n"))


@dataclass(frozen=True)
class Directive:
    """One argument found in a directive line: its text, the 1-based line number and the line."""

    token: str
    lineno: int
    line: str


@dataclass
class Extracted:
    """The result of scanning a script: the arguments in order, the messages sbatch prints while
    scanning (full lines such as ``sbatch: error: Change from #SLURM ...``), whether a ``hetjob``
    separator ended the first component, and which foreign directives (``#PBS``, ``#BSUB``) the
    script holds (sbatch would translate them; see :func:`foreign_directives`)."""

    directives: list[Directive] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    hetjob: bool = False
    hetjob_lineno: int = 0

    @property
    def tokens(self) -> list[str]:
        return [d.token for d in self.directives]


def next_lines(body: str) -> list[str]:
    """sbatch's ``next_line``: split on ``\\n``; a trailing newline adds no empty line."""
    if body == "":
        return []
    lines = body.split("\n")
    if body.endswith("\n"):
        lines.pop()
    return lines


def is_het_separator(text: str) -> bool:
    """``hetjob`` or ``packjob`` (any case) followed by a blank or the end of the text."""
    low = text[:8].lower()
    for word in ("packjob", "hetjob"):
        if low.startswith(word) and (len(text) == len(word) or _isspace(text[len(word)])):
            return True
    return False


def get_argument(file: str, lineno: int, line: str, prog: str = "sbatch") -> tuple[str | None, int]:
    """One argument from ``line`` (the rest of a directive line): ``(argument or None, number of
    characters consumed)``.  Raises :class:`FatalError` on an unmatched quote or a leading ``:``."""
    n = len(line)
    i = 0
    while i < n and _isspace(line[i]):
        i += 1
    if is_het_separator(line[i:]):
        # sbatch blanks the word out and then finds no argument: the rest of the line is dropped
        return None, 0
    if i < n and line[i] == ":":
        raise FatalError(f"{file}: line {lineno}: Unexpected `:` in [{line}]")
    if i >= n:
        return None, 0
    out: list[str] = []
    escape = False
    quoted = False
    q_char = ""
    while i < n and (quoted or not _isspace(line[i])) and line[i] != "\n":
        c = line[i]
        if escape:
            escape = False
        elif c == "\\":
            i += 1
            if i < n and line[i] == " ":
                out.append(" ")
                i += 1
            else:
                escape = True
            continue
        elif quoted:
            if c == q_char:
                quoted = False
                i += 1
                continue
        elif c in "\"'":
            quoted = True
            q_char = c
            i += 1
            continue
        elif c == "#":
            break
        out.append(c)
        i += 1
    if quoted:
        raise FatalError(f"{file}: line {lineno}: Unmatched `{q_char}` in [{line}]")
    return ("".join(out) if out else None), i


def extract(script: str, file: str = "stdin", *, prog: str = "sbatch",
            magic: str = MAGIC, old_magic: str | None = MAGIC_OLD) -> Extracted:
    """Scan a batch script for directives exactly as sbatch does (first het component only)."""
    res = Extracted()
    warned = False
    packjob_warned = False
    # C strings end at the first NUL; the script checks reject NULs before we get here anyway
    for lineno, line in enumerate(next_lines(script.split("\0", 1)[0]), start=1):
        if line.startswith(magic):
            ptr = line[len(magic):]
        elif old_magic and line.startswith(old_magic):
            ptr = line[len(old_magic):]
            if not warned:
                res.messages.append(f"{prog}: error: {SLURM_PREFIX_MESSAGE}")
                warned = True
        else:
            stripped = line.lstrip(_CSPACE)
            if stripped and stripped[0] != "#":
                break
            continue
        k = 0
        while k < len(ptr) and _isspace(ptr[k]):
            k += 1
        ptr = ptr[k:]
        if is_het_separator(ptr):
            res.hetjob = True
            res.hetjob_lineno = lineno
            break
        while True:
            arg, skipped = get_argument(file, lineno, ptr, prog)
            if arg is None:
                rest = ptr.lstrip(_CSPACE)
                if rest[:7].lower() == "packjob" and is_het_separator(rest) and not packjob_warned:
                    res.messages.append(f"{prog}: warning: {PACKJOB_MESSAGE}")
                    packjob_warned = True
                break
            res.directives.append(Directive(arg, lineno, line))
            ptr = ptr[skipped:]
    return res


def foreign_directives(script: str) -> list[str]:
    """Which other schedulers' directives (``#PBS``, ``#BSUB``) appear at column 0: sbatch
    translates those when no ``--ignore-pbs`` is given; slurmshim reports them instead."""
    found: list[str] = []
    for line in next_lines(script.split("\0", 1)[0]):
        for magic in ("#BSUB", "#PBS"):
            if line.startswith(magic) and magic not in found:
                found.append(magic)
    return found


# -- script checks ----------------------------------------------------------------------------
MSG_EMPTY = "Batch script is empty!"
MSG_WHITESPACE = "Batch script contains only whitespace!"
MSG_NO_SHEBANG = ("This does not look like a batch script.  The first\n"
                  "line must start with #! followed by the path to an interpreter.\n"
                  "For instance: #!/bin/sh")
MSG_NUL = ("The Slurm controller does not allow scripts that\n"
           "contain a NULL character '\\0'.")
MSG_DOS = ("Batch script contains DOS line breaks (\\r\\n)\n"
           "instead of expected UNIX line breaks (\\n).")


def check_script(script: str, *, exit_code: int = 1) -> None:
    """sbatch's sanity tests on a script read from a file or stdin (not on ``--wrap`` scripts), in
    sbatch's order.  Raises :class:`SlurmError` with Slurm's exact message."""
    if script == "":
        raise SlurmError(MSG_EMPTY, exit_code)
    cstr = script.split("\0", 1)[0]
    if all(c in _CSPACE for c in cstr):
        raise SlurmError(MSG_WHITESPACE, exit_code)
    if not script.startswith("#!"):
        raise SlurmError(MSG_NO_SHEBANG, exit_code)
    if "\0" in script:
        raise SlurmError(MSG_NUL, exit_code)
    if "\r\n" in script:
        raise SlurmError(MSG_DOS, exit_code)


def wrap_script(command: str) -> str:
    """The script sbatch builds for ``--wrap=CMD``."""
    return f"{WRAP_HEADER}{command}\n"
