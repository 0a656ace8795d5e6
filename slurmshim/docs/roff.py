"""A tiny writer of man(7) roff.

Prose in :mod:`slurmshim.docs.pages` and in the description tables uses two inline marks:
```literal``` (bold: commands, options, file names, values the user types) and ``*placeholder*``
(italic).  Everything else is escaped so that it prints as written: backslashes, a leading ``.``
or ``'``, and dashes that belong to options or command lines (``\\-``, so that copy and paste of
``--time`` gives ASCII hyphen-minus characters).
"""
from __future__ import annotations

import re

__all__ = ["esc", "inline", "para", "paras", "tagged", "example", "bullets", "section", "sub"]

_ITALIC = re.compile(r"\*([A-Za-z_<\[][^*\n]*?[A-Za-z0-9_>\])])\*|\*([A-Za-z])\*")


def _dashes(text: str) -> str:
    """``-`` becomes ``\\-`` unless it joins two words (``multi-node``, ``on-demand``)."""
    out = []
    n = len(text)
    for i, c in enumerate(text):
        if c == "-":
            before = text[i - 1] if i else " "
            after = text[i + 1] if i + 1 < n else " "
            if before.isalnum() and after.isalpha() and not _in_option(text, i):
                out.append("-")
            else:
                out.append("\\-")
        else:
            out.append(c)
    return "".join(out)


def _in_option(text: str, i: int) -> bool:
    """Is the dash at ``i`` inside a ``--long-option`` token?"""
    j = i
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] in "-_"):
        j -= 1
    return text.startswith("-", j) and (j == 0 or not text[j - 1].isalnum())


def esc(text: str, *, literal: bool = False) -> str:
    """Escape plain text for roff (no inline marks).  ``literal`` turns every dash into
    ``\\-`` (command lines, option names)."""
    text = text.replace("\\", "\x00")  # backslashes print as themselves (\\e), later
    text = text.replace("-", "\\-") if literal else _dashes(text)
    return text.replace("\x00", "\\e")


def _line_start(text: str) -> str:
    """Protect lines that would start a roff request."""
    return "\n".join("\\&" + line if line[:1] in (".", "'") else line
                     for line in text.split("\n"))


def inline(text: str) -> str:
    """Marked-up prose -> roff (no trailing newline; lines kept as given)."""
    out: list[str] = []
    parts = re.split(r"(`[^`]*`)", text)
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) >= 2:
            body = esc(part[1:-1], literal=True)
            out.append("\\fB" + body + "\\fR")
            continue
        pieces = []
        last = 0
        for m in _ITALIC.finditer(part):
            pieces.append(esc(part[last:m.start()]))
            pieces.append("\\fI" + esc(m.group(1) or m.group(2)) + "\\fR")
            last = m.end()
        pieces.append(esc(part[last:]))
        out.append("".join(pieces))
    return _line_start("".join(out))


def _fill(text: str) -> str:
    """One input line per sentence-ish chunk keeps the roff diffable; roff fills anyway."""
    text = " ".join(text.split())
    return re.sub(r"([.;:?!]) (?=[A-Z`(*])", "\\1\n", text)


def para(text: str, *, macro: str = ".PP") -> str:
    """A paragraph of marked-up prose."""
    body = inline(_fill(text))
    return f"{macro}\n{body}\n" if macro else body + "\n"


def paras(text: str) -> str:
    """Blank-line separated paragraphs; a paragraph whose lines start with ``- `` is a bullet
    list, one indented with four spaces is an example block."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        lines = block.split("\n")
        if all(line.startswith("    ") for line in lines if line.strip()):
            out.append(example("\n".join(line[4:] for line in lines)))
        elif lines[0].startswith("- "):
            items, cur = [], []
            for line in lines:
                if line.startswith("- "):
                    if cur:
                        items.append(" ".join(cur))
                    cur = [line[2:]]
                else:
                    cur.append(line.strip())
            items.append(" ".join(cur))
            out.append(bullets(items))
        else:
            out.append(para(block))
    return "".join(out)


def tagged(tag: str, body: str) -> str:
    """A ``.TP`` entry: ``tag`` is already roff, ``body`` marked-up prose (paragraphs)."""
    chunks = [c for c in re.split(r"\n\s*\n", body.strip("\n")) if c.strip()]
    out = [f".TP\n{tag}\n"]
    for i, chunk in enumerate(chunks):
        lines = chunk.split("\n")
        if all(line.startswith("    ") for line in lines if line.strip()):
            out.append(example("\n".join(line[4:] for line in lines)))
        elif lines[0].startswith("- "):
            items = [ln[2:] if ln.startswith("- ") else ln for ln in lines]
            out.append(".RS\n" + bullets(items) + ".RE\n")
        else:
            out.append(para(chunk, macro=".IP" if i else ""))
    return "".join(out)


def example(code: str) -> str:
    """A verbatim block (no fill, indented); every character printed as typed."""
    lines = []
    for line in code.rstrip("\n").split("\n"):
        lines.append(_line_start(esc(line, literal=True)) if line else "")
    body = "\n".join(lines)
    # an empty line inside .nf prints an empty line; use .sp to keep groff quiet about it
    body = "\n".join(ln if ln else ".sp" for ln in body.split("\n"))
    return f".PP\n.RS 4\n.nf\n{body}\n.fi\n.RE\n"


def bullets(items: list[str]) -> str:
    return "".join(f".IP \\(bu 2\n{inline(_fill(item))}\n" for item in items)


def section(title: str) -> str:
    return f'.SH "{title}"\n'


def sub(title: str) -> str:
    return f'.SS "{title}"\n'
