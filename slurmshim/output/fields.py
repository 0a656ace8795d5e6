"""Slurm's fixed-width field printing, shared by the squeue/sinfo style printers.

Slurm's clients (squeue `print.c` `_print_str`, sinfo the same) print every field with one
printf-based routine.  Its rules, reproduced here exactly:

* width 0 (no size given): the text at its natural width, no padding;
* width < 0 (only reachable through `-O name:-N`): the text followed by one space;
* left-justified (no `.`), width N: the text is ALWAYS cut to N characters (printf precision),
  then padded with spaces to N;
* right-justified (`.`), width N: the text is right-aligned in N columns and, when the field asks
  for it ("cut"), cut to its first N characters; fields that are never cut (node lists and
  the node-list half of NODELIST(REASON)) overflow instead;
* a NULL string prints as glibc prints it: `(null)`, or nothing at all when a precision smaller
  than 6 applies (left-justified with width < 6).

Format strings:

* `%[.][size]type[suffix]` (`-o`): text before the first `%` is a prefix printed on every line,
  text after the type letter up to the next `%` is a suffix.  `%` runs collapse (strtok), so
  `%%` is not an escape.  See `parse_percent_format`.
* `name[:[.][size][suffix]]` comma lists (`-O`): no size means 20 columns, left-justified.
  See `parse_long_format`.
"""
from __future__ import annotations

from typing import Callable

from .._dataclass import dataclass

NULL_TEXT = "(null)"


def fit(text: str | None, width: int, right: bool, cut: bool = True) -> str:
    """One field as Slurm's `_print_str(text, width, right, cut)` prints it."""
    if text is None:
        if width > 0 and not right and width < 6:
            return " " * width
        text = NULL_TEXT
    if width == 0:
        return text
    if width < 0:
        return text + " "
    n = len(text)
    if right:
        if n >= width:
            return text[:width] if cut else text
        return " " * (width - n) + text
    if n >= width:
        return text[:width]
    return text + " " * (width - n)


def make_fitter(width: int, right: bool, cut: bool = True) -> Callable[[str | None], str]:
    """A specialised `fit` for one column (cheaper in a loop over thousands of rows)."""
    if width == 0:
        return lambda t: NULL_TEXT if t is None else t
    if width < 0:
        return lambda t: (NULL_TEXT if t is None else t) + " "
    if right:
        if cut:
            def f(t: str | None) -> str:
                if t is None:
                    t = NULL_TEXT
                if len(t) >= width:
                    return t[:width]
                return t.rjust(width)
        else:
            def f(t: str | None) -> str:
                if t is None:
                    t = NULL_TEXT
                return t.rjust(width)
        return f

    null_text = " " * width if width < 6 else NULL_TEXT[:width].ljust(width)

    def g(t: str | None) -> str:
        if t is None:
            return null_text
        if len(t) >= width:
            return t[:width]
        return t.ljust(width)
    return g


@dataclass
class FieldToken:
    """One parsed format item.  `key` is the type letter (for `%` formats) or the name (for
    `-O` formats); `key` is None for the prefix pseudo-field (text only, in `suffix`)."""

    key: str | None
    width: int = 0
    right: bool = False
    suffix: str = ""
    valid: bool = True


def parse_percent_format(fmt: str, known: Callable[[str], bool]) -> tuple[list[FieldToken], list[str]]:
    """Split a `%` format as Slurm's `parse_format` does.

    Returns (tokens, bad) where `bad` lists the type characters that `known` rejected, in order
    (Slurm prints `Invalid ... format specification: <c>` for each and goes on: an invalid item
    prints `%` + its whole token text literally).  The first token may be a prefix
    (key None)."""
    tokens: list[FieldToken] = []
    bad: list[str] = []
    pos = fmt.find("%")
    if pos < 0:
        # everything is prefix, and the lone token is tossed
        return [FieldToken(None, suffix=fmt)], bad
    if pos > 0:
        tokens.append(FieldToken(None, suffix=fmt[:pos]))
    for tok in fmt[pos:].split("%"):
        if not tok:
            continue                      # strtok skips empty tokens: "%%" collapses
        i = 0
        right = False
        if tok[0] == ".":
            right = True
            i = 1
        width = 0
        n = len(tok)
        while i < n and "0" <= tok[i] <= "9":
            width = width * 10 + (ord(tok[i]) - 48)
            i += 1
        letter = tok[i] if i < n else "\0"
        suffix = tok[i + 1:]
        if known(letter):
            tokens.append(FieldToken(letter, width, right, suffix))
        else:
            bad.append(letter)
            tokens.append(FieldToken(letter, width, right, "%" + tok, valid=False))
    return tokens, bad


def _strtol(text: str) -> tuple[int, str]:
    """C strtol(text, &end, 10): leading blanks, optional sign, digits; returns (value, rest)."""
    i = 0
    n = len(text)
    while i < n and text[i] in " \t\n\r\f\v":
        i += 1
    j = i
    if j < n and text[j] in "+-":
        j += 1
    k = j
    while k < n and "0" <= text[k] <= "9":
        k += 1
    if k == j:
        return 0, text                    # no digits: end_ptr = text itself
    return int(text[i:k]), text[k:]


def parse_long_format(fmt: str, known: Callable[[str], bool],
                      default_width: int = 20) -> tuple[list[FieldToken], list[str]]:
    """Split a `-O` format as Slurm's `parse_long_format` does.  Names are returned as written;
    `known(name)` decides validity.  Returns (tokens, bad names)."""
    tokens: list[FieldToken] = []
    bad: list[str] = []
    for tok in fmt.split(","):
        if not tok:
            continue
        colon = tok.find(":")
        suffix = ""
        if colon >= 0:
            name = tok[:colon]
            rest = tok[colon + 1:]
            right = rest.startswith(".")
            if right:
                rest = rest[1:]
            width, suffix = _strtol(rest)
        else:
            name, right, width = tok, False, default_width
        if known(name):
            tokens.append(FieldToken(name, width, right, suffix))
        else:
            bad.append(name)
            tokens.append(FieldToken(name, width, right, suffix, valid=False))
    return tokens, bad
