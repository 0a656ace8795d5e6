"""A progress bar for long operations (migrate --apply, check over a large tree, output of a big
array): drawn on stderr when both stdout and stderr are terminals, silent otherwise, so pipes
and --json stay clean.  SLURMSHIM_PROGRESS=1 forces it on, =0 off."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, TypeVar

T = TypeVar("T")


def enabled(stream: Any = None) -> bool:
    force = os.environ.get("SLURMSHIM_PROGRESS")
    if force is not None and force.strip() != "":
        return force.strip().lower() not in ("0", "no", "false", "off")
    try:
        return sys.stdout.isatty() and (stream or sys.stderr).isatty()
    except (AttributeError, ValueError):
        return False


class _Quiet:
    """The do-nothing bar used when piped."""

    def __init__(self, iterable: Iterable[Any] | None):
        self._it = iterable

    def __iter__(self) -> Iterator[Any]:
        return iter(self._it or ())

    def update(self, n: int = 1, current_item: Any = None) -> None:
        pass

    @property
    def label(self) -> str:
        return ""

    @label.setter
    def label(self, value: str) -> None:
        pass


@contextmanager
def bar(iterable: Iterable[T] | None = None, *, length: int | None = None, label: str = "",
        min_items: int = 2, item_show_func: Any = None) -> Iterator[Any]:
    """`with bar(items, label="checking") as it: for x in it: ...`.  The bar appears only for
    at least `min_items` items and when enabled() says so."""
    count = length
    if count is None and iterable is not None and hasattr(iterable, "__len__"):
        count = len(iterable)  # type: ignore[arg-type]
    if not enabled() or (count is not None and count < min_items):
        yield _Quiet(iterable)
        return
    import click
    with click.progressbar(iterable, length=count, label=label, file=sys.stderr,
                           item_show_func=item_show_func, show_pos=True) as b:
        yield b
