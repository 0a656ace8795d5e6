"""`@dataclass` that builds a class's methods when they are first needed, not when its module is
imported.  For start-up speed: every command pays for its imports.

The standard decorator compiles __init__, __repr__ and __eq__ (and __hash__, __setattr__ and
__delattr__ when frozen) for each class as its module is imported.  The modules on the paths of
`squeue` and `sbatch` define some forty dataclasses, and compiling their methods took about 20 ms
of each command's ~50 ms of imports, although one command uses only a few of those classes, and
prints or compares almost none of them.

Here the decorator only marks the class.  The standard `dataclasses.dataclass` runs, unchanged,
the first time the class is instantiated or looked at through `dataclasses.fields()`,
`asdict()`, `astuple()`, `replace()` or `is_dataclass()` (they all read `__dataclass_fields__`);
it then makes __init__ (and a frozen class's __setattr__ and __delattr__).  __repr__ and __eq__
(and a frozen class's __hash__) are made by the standard decorator too, on a throwaway subclass
with no fields of its own, when one of them is first called; they are generic over the class of
`self`, so they are the very methods the class would have had.

Differences from the standard decorator: options other than `frozen` are not supported, and a
class that defines __init__, __repr__, __eq__ or __hash__ itself is decorated at once the standard
way; `__dataclass_params__` says `repr=False, eq=False`; before first use, a class-level read of
a field defined with `field(...)` gives the Field object.
"""
from __future__ import annotations

import dataclasses
import threading

_OWN = ("__init__", "__repr__", "__eq__", "__hash__")
# what the standard decorator sets on the class (dataclasses' own helpers read the first two)
_SET = ("__dataclass_fields__", "__dataclass_params__", "__match_args__")

_unbuilt: dict[type, bool] = {}      # class -> frozen: no __init__ yet
_unfinished: dict[type, bool] = {}   # class -> frozen: no __repr__ / __eq__ yet
_lock = threading.RLock()


def dataclass(cls=None, /, *, frozen: bool = False):
    """Drop-in for `dataclasses.dataclass` (with or without `frozen=True`)."""
    def wrap(cls):
        if any(name in cls.__dict__ for name in _OWN):
            return dataclasses.dataclass(cls, frozen=frozen)
        cls.__init__ = lambda self, *args, **kwargs: _build(cls).__init__(self, *args, **kwargs)
        for name in _SET:
            setattr(cls, name, _Unbuilt(cls, name))
        cls.__repr__ = lambda self: _finish(cls).__repr__(self)
        cls.__eq__ = lambda self, other: _finish(cls).__eq__(self, other)
        # as the standard decorator makes them: frozen classes hash their fields, others are
        # unhashable
        cls.__hash__ = (lambda self: _finish(cls).__hash__(self)) if frozen else None
        _unbuilt[cls] = _unfinished[cls] = frozen
        return cls
    return wrap if cls is None else wrap(cls)


class _Unbuilt:
    """Stands for a class attribute the standard decorator sets (`__dataclass_fields__`, ...)
    until the class is built: reading it builds the class."""

    def __init__(self, owner: type, name: str):
        self.owner = owner
        self.name = name

    def __get__(self, obj, objtype=None):
        _build(self.owner)
        return getattr(self.owner, self.name)


def _build(cls: type) -> type:
    """Run the standard decorator on a marked class for its fields and __init__ (once)."""
    with _lock:
        if cls in _unbuilt:
            frozen = _unbuilt.pop(cls)
            del cls.__init__
            for name in _SET:
                delattr(cls, name)
            # repr=False, eq=False: the stubs for those (and __hash__) stay until _finish
            dataclasses.dataclass(cls, repr=False, eq=False, frozen=frozen)
    return cls


def _finish(cls: type) -> type:
    """Give a marked class the standard __repr__ and __eq__ (and __hash__ when frozen)."""
    with _lock:
        if cls in _unfinished:
            _build(cls)
            frozen = _unfinished.pop(cls)
            ns = {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                  "__doc__": cls.__doc__}
            made = dataclasses.dataclass(type(cls.__name__, (cls,), ns), init=False,
                                         frozen=frozen).__dict__
            cls.__repr__ = made["__repr__"]
            cls.__eq__ = made["__eq__"]
            if frozen:
                cls.__hash__ = made["__hash__"]
    return cls
