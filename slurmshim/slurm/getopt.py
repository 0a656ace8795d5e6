"""A faithful, pure emulation of GNU ``getopt_long`` (glibc 2.36, the C library Slurm's clients
link against), driven by a table of options.

Everything a Slurm user can observe from glibc is reproduced: short option clusters (``-HQ``),
attached and separate arguments (``-N2``, ``-N 2``, ``--nodes=2``, ``--nodes 2``), optional
arguments that must be attached (``-k5``, ``--nice=5``), unambiguous abbreviations of long options
(an exact match wins; candidates that are really the same option are not ambiguous), ``--`` ending
the options, a lone ``-`` being an operand, argument permutation (``squeue``/``scancel``) or
stopping at the first operand (``sbatch``/``srun``: Slurm's optstrings start with ``+``), and the
exact wording of every diagnostic glibc prints::

    sbatch: unrecognized option '--bogus-option'
    sbatch: invalid option -- 'Z'
    sbatch: option requires an argument -- 'N'
    sbatch: option '--nodes' requires an argument
    sbatch: option '--foo' is ambiguous; possibilities: '--foo1' '--foo2'
    sbatch: option '--hold' doesn't allow an argument

glibc prints such a line and returns ``'?'``; what happens next is the program's business (Slurm's
clients print ``Try "sbatch --help" for more information`` and exit).  So :meth:`Getopt.iterate`
yields the options *and* the errors in order, and :meth:`Getopt.parse` is the convenience that stops
at the first error with :func:`usage_error`.

Stdlib only; no I/O.
"""
from __future__ import annotations

from typing import Any, Hashable, Iterable, Iterator, Sequence

from .._dataclass import dataclass, field
from ..errors import UsageError

NO_ARGUMENT = 0
REQUIRED_ARGUMENT = 1
OPTIONAL_ARGUMENT = 2

# how getopt treats operands (non-option arguments)
PERMUTE = "permute"              # GNU default: options may follow operands (squeue, scancel, ...)
REQUIRE_ORDER = "require_order"  # optstring "+..." or POSIXLY_CORRECT: stop at the first operand
RETURN_IN_ORDER = "return_in_order"  # optstring "-...": operands come back as options with key None


@dataclass(frozen=True)
class Option:
    """One getopt table entry.

    ``long`` is the long name without ``--`` (None for a short-only option), ``short`` the letter
    (None for a long-only option), ``has_arg`` one of NO_ARGUMENT / REQUIRED_ARGUMENT /
    OPTIONAL_ARGUMENT.  ``key`` is what the caller gets back (any hashable: a canonical name, a
    table row, ...).  Two entries with the same ``key`` and ``has_arg`` are the *same* option under
    two names (glibc compares has_arg, flag and val), so an abbreviation matching both of them is
    not ambiguous (``--cpu_bind`` / ``--cpu-bind``)."""

    long: str | None
    short: str | None
    has_arg: int
    key: Hashable

    def __post_init__(self) -> None:
        if self.long is None and self.short is None:
            raise ValueError("an option needs a long or a short name")
        if self.short is not None and (len(self.short) != 1 or self.short in ":;-"):
            raise ValueError(f"bad short option {self.short!r}")
        if self.has_arg not in (NO_ARGUMENT, REQUIRED_ARGUMENT, OPTIONAL_ARGUMENT):
            raise ValueError(f"bad has_arg {self.has_arg!r}")


@dataclass(frozen=True)
class Item:
    """One result of getopt: an option (``error`` is None) or a diagnostic (``error`` is glibc's
    line without the program name, ``option`` may still be set, e.g. for a missing argument).
    ``token`` is the argv element that carried the option (``-HN2``, ``--nod=2``), ``index`` its
    position in argv, ``name`` the spelling used (``-N`` or ``--nodes``, the full long name even
    when abbreviated)."""

    option: Option | None
    arg: str | None = None
    token: str = ""
    index: int = 0
    name: str = ""
    error: str | None = None

    @property
    def key(self) -> Any:
        return None if self.option is None else self.option.key


@dataclass
class Result:
    """What :meth:`Getopt.parse` returns: the options in order and the operands.  ``optind`` is the
    index in the (permuted) argv of the first operand, as glibc leaves it."""

    items: list[Item] = field(default_factory=list)
    operands: list[str] = field(default_factory=list)
    optind: int = 0


def usage_error(prog: str, message: str, exit_code: int = 255, *,
                help_hint: bool = True) -> UsageError:
    """The error a Slurm client produces after a getopt diagnostic: glibc's line prefixed with the
    program name, then ``Try "<prog> --help" for more information``."""
    text = f"{prog}: {message}"
    if help_hint:
        text += f'\nTry "{prog} --help" for more information'
    return UsageError(text, exit_code, raw=True)


class Getopt:
    """A compiled option table.  ``options`` is an ordered iterable of :class:`Option`; order
    matters exactly as in glibc (the listing of an ambiguity, which of several same-option
    abbreviations is picked)."""

    def __init__(self, options: Iterable[Option], *, mode: str = PERMUTE):
        if mode not in (PERMUTE, REQUIRE_ORDER, RETURN_IN_ORDER):
            raise ValueError(f"bad mode {mode!r}")
        self.mode = mode
        self.longopts: list[Option] = []
        self.shorts: dict[str, Option] = {}
        seen_long: set[str] = set()
        for opt in options:
            if opt.long is not None:
                if opt.long in seen_long:
                    continue  # like optz_add(): the first entry of a name wins
                seen_long.add(opt.long)
                self.longopts.append(opt)
            if opt.short is not None and opt.short not in self.shorts:
                self.shorts[opt.short] = opt

    # -- the engine ---------------------------------------------------------------------------
    def iterate(self, argv: Sequence[str], *, start: int = 0,
                posixly_correct: bool = False) -> Iterator[Item]:
        """Yield options and diagnostics in the order glibc returns them.  ``argv`` excludes the
        program name.  When the generator is exhausted, :attr:`operands` and :attr:`optind` hold
        the operands and the index where they start (in the permuted argv)."""
        args = list(argv)
        mode = self.mode
        if posixly_correct and mode == PERMUTE:
            mode = REQUIRE_ORDER
        argc = len(args)
        optind = start
        first_nonopt = last_nonopt = optind
        self.operands = []
        self.optind = optind

        def exchange() -> None:
            # move the skipped operands [first_nonopt, last_nonopt) after [last_nonopt, optind)
            nonlocal first_nonopt, last_nonopt
            nonopts = args[first_nonopt:last_nonopt]
            opts = args[last_nonopt:optind]
            args[first_nonopt:optind] = opts + nonopts
            first_nonopt += optind - last_nonopt
            last_nonopt = optind

        def is_nonopt(i: int) -> bool:
            a = args[i]
            return not a.startswith("-") or a == "-"

        while True:
            # ---- advance to the next ARGV element ----
            if last_nonopt > optind:
                last_nonopt = optind
            if first_nonopt > optind:
                first_nonopt = optind
            if mode == PERMUTE:
                if first_nonopt != last_nonopt and last_nonopt != optind:
                    exchange()
                elif last_nonopt != optind:
                    first_nonopt = optind
                while optind < argc and is_nonopt(optind):
                    optind += 1
                last_nonopt = optind
            if optind != argc and args[optind] == "--":
                optind += 1
                if first_nonopt != last_nonopt and last_nonopt != optind:
                    exchange()
                elif first_nonopt == last_nonopt:
                    first_nonopt = optind
                last_nonopt = argc
                optind = argc
            if optind == argc:
                if first_nonopt != last_nonopt:
                    optind = first_nonopt
                break
            if is_nonopt(optind):
                if mode == REQUIRE_ORDER:
                    break
                if mode == RETURN_IN_ORDER:
                    yield Item(None, args[optind], args[optind], optind, "")
                    optind += 1
                    continue
            token = args[optind]
            index = optind
            if token.startswith("--"):
                item, optind = self._long(args, optind)
                yield item
                continue
            # ---- a cluster of short options ----
            pos = 1
            while pos < len(token):
                c = token[pos]
                pos += 1
                last = pos >= len(token)
                if last:
                    optind += 1
                opt = self.shorts.get(c)
                if opt is None:
                    yield Item(None, None, token, index, f"-{c}",
                               error=f"invalid option -- '{c}'")
                    if last:
                        break
                    continue
                if opt.has_arg == NO_ARGUMENT:
                    yield Item(opt, None, token, index, f"-{c}")
                    if last:
                        break
                    continue
                if opt.has_arg == OPTIONAL_ARGUMENT:
                    if not last:
                        optind += 1
                        yield Item(opt, token[pos:], token, index, f"-{c}")
                    else:
                        yield Item(opt, None, token, index, f"-{c}")
                    break
                # required argument
                if not last:
                    optind += 1
                    yield Item(opt, token[pos:], token, index, f"-{c}")
                elif optind == argc:
                    yield Item(opt, None, token, index, f"-{c}",
                               error=f"option requires an argument -- '{c}'")
                else:
                    arg = args[optind]
                    optind += 1
                    yield Item(opt, arg, token, index, f"-{c}")
                break
        self.optind = optind
        self.operands = args[optind:]

    def _long(self, args: list[str], optind: int) -> tuple[Item, int]:
        token = args[optind]
        index = optind
        text = token[2:]                      # d->__nextchar
        name, eq, value = text.partition("=")
        found: Option | None = None
        for opt in self.longopts:
            if opt.long == name:
                found = opt
                break
        if found is None:
            ambiguous: list[Option] = []
            for opt in self.longopts:
                if opt.long.startswith(name):  # type: ignore[union-attr]
                    if found is None:
                        found = opt
                    elif found.has_arg != opt.has_arg or found.key != opt.key:
                        if not ambiguous:
                            ambiguous.append(found)
                        ambiguous.append(opt)
            if ambiguous:
                poss = " ".join(f"'--{o.long}'" for o in self.longopts if o in ambiguous)
                return (Item(None, None, token, index, f"--{text}",
                             error=f"option '--{text}' is ambiguous; possibilities: {poss}"),
                        optind + 1)
        if found is None:
            return (Item(None, None, token, index, f"--{text}",
                         error=f"unrecognized option '--{text}'"), optind + 1)
        optind += 1
        lname = f"--{found.long}"
        if eq:
            if found.has_arg != NO_ARGUMENT:
                return Item(found, value, token, index, lname), optind
            return (Item(found, None, token, index, lname,
                         error=f"option '{lname}' doesn't allow an argument"), optind)
        if found.has_arg == REQUIRED_ARGUMENT:
            if optind < len(args):
                return Item(found, args[optind], token, index, lname), optind + 1
            return (Item(found, None, token, index, lname,
                         error=f"option '{lname}' requires an argument"), optind)
        return Item(found, None, token, index, lname), optind

    # -- conveniences -------------------------------------------------------------------------
    def parse(self, argv: Sequence[str], prog: str, *, exit_code: int = 255,
              help_hint: bool = True, posixly_correct: bool = False) -> Result:
        """Run getopt to the end; the first diagnostic raises :func:`usage_error`."""
        res = Result()
        for item in self.iterate(argv, posixly_correct=posixly_correct):
            if item.error is not None:
                raise usage_error(prog, item.error, exit_code, help_hint=help_hint)
            res.items.append(item)
        res.operands = list(self.operands)
        res.optind = self.optind
        return res


def make_options(spec: str, longopts: Iterable[tuple[str, int, Hashable]] = ()) -> list[Option]:
    """Build a table from a classic optstring (``"hN:k::"``, a leading ``+``/``-`` is ignored)
    and ``(long_name, has_arg, key)`` tuples; a short letter whose key equals a long option's key
    becomes that option's short name (handy for tests and small tools)."""
    out: list[Option] = []
    shorts: dict[Hashable, tuple[str, int]] = {}
    s = spec.lstrip("+-")
    i = 0
    while i < len(s):
        c = s[i]
        i += 1
        has = NO_ARGUMENT
        if s[i:i + 2] == "::":
            has, i = OPTIONAL_ARGUMENT, i + 2
        elif s[i:i + 1] == ":":
            has, i = REQUIRED_ARGUMENT, i + 1
        shorts[c] = (c, has)
    used: set[str] = set()
    for name, has, key in longopts:
        short = key if isinstance(key, str) and len(key) == 1 and key in shorts else None
        if short is not None and short not in used and shorts[short][1] == has:
            used.add(short)
            out.append(Option(name, short, has, key))
        else:
            out.append(Option(name, None, has, key))
    for c, (_, has) in shorts.items():
        if c not in used:
            out.append(Option(None, c, has, c))
    return out
