"""`@dataclass` and `field()` that cost nothing at import: for start-up speed, since every command
pays for its imports.

The standard decorator compiles __init__, __repr__ and __eq__ (and __hash__, __setattr__ and
__delattr__ when frozen) for each class as its module is imported.  The modules on the paths of
`squeue` and `sbatch` define some forty dataclasses, and compiling their methods took about 20 ms
of each command's ~50 ms of imports, although one command uses only a few of those classes, and
prints or compares almost none of them.  Importing `dataclasses` itself (it imports `inspect`,
hence `ast`, `dis` and `tokenize`) and running its decorator on the dozen classes a command does
use cost another ~12 ms, so the common case does without the module altogether.

Here the decorator only marks the class, and `field()` only records its arguments.  The first
time a class is instantiated it gets an __init__ made here: the very text the standard decorator
would generate (positional-or-keyword parameters in field order, base classes' fields first,
`default_factory` called per instance, `__post_init__` called last, `object.__setattr__` when
frozen, with a frozen class's __setattr__ and __delattr__ raising FrozenInstanceError).  Anything
less common (`init=False`, `kw_only`, ClassVar/InitVar annotations, a real `dataclasses.Field`, a
mutable default, a base class decorated the standard way) is left to the standard decorator.

The standard `dataclasses.dataclass` still runs, unchanged, the first time the class is looked at
through `dataclasses.fields()`, `asdict()`, `astuple()`, `replace()` or `is_dataclass()` (they all
read `__dataclass_fields__`).  __repr__ and __eq__ (and a frozen class's __hash__) are made by the
standard decorator too, on a throwaway subclass with no fields of its own, when one of them is
first called; they are generic over the class of `self`, so they are the very methods the class
would have had.

Differences from the standard decorator: options other than `frozen` are not supported, and a
class that defines __init__, __repr__, __eq__ or __hash__ itself is decorated at once the standard
way; `__dataclass_params__` says `repr=False, eq=False`; until the standard decorator has run, a
class-level read of a field defined with `field(...)` gives the recorded arguments, and a class
without a docstring has none.
"""
from __future__ import annotations

import sys
import threading

_OWN = ("__init__", "__repr__", "__eq__", "__hash__")
# what the standard decorator sets on the class (dataclasses' own helpers read the first two)
_SET = ("__dataclass_fields__", "__dataclass_params__", "__match_args__")
# field() arguments that change nothing in __init__
_INIT_NEUTRAL = frozenset({"default", "default_factory", "repr", "hash", "compare", "metadata"})

_unbuilt: dict[type, bool] = {}      # class -> frozen: the standard decorator has not run
_unfinished: dict[type, bool] = {}   # class -> frozen: no __repr__ / __eq__ yet
_no_init: set[type] = set()          # marked classes still without any __init__
_field_args: dict[type, dict[str, "_FieldArgs"]] = {}   # class -> its own field() calls
_lock = threading.RLock()


class _FieldArgs:
    """What `field(...)` was called with; the standard decorator gets the real Field."""

    __slots__ = ("kwargs",)

    def __init__(self, kwargs: dict):
        self.kwargs = kwargs

    def real(self):
        import dataclasses
        return dataclasses.field(**self.kwargs)


def field(**kwargs):
    """Drop-in for `dataclasses.field` in classes decorated by `dataclass` below."""
    return _FieldArgs(kwargs)


def dataclass(cls=None, /, *, frozen: bool = False):
    """Drop-in for `dataclasses.dataclass` (with or without `frozen=True`)."""
    def wrap(cls):
        own_args = {k: v for k, v in cls.__dict__.items() if isinstance(v, _FieldArgs)}
        if any(name in cls.__dict__ for name in _OWN):
            import dataclasses
            for name, args in own_args.items():
                setattr(cls, name, args.real())
            return dataclasses.dataclass(cls, frozen=frozen)
        _field_args[cls] = own_args
        cls.__init__ = lambda self, *args, **kwargs: _make_init(cls).__init__(self, *args,
                                                                               **kwargs)
        for name in _SET:
            setattr(cls, name, _Unbuilt(cls, name))
        cls.__repr__ = lambda self: _finish(cls).__repr__(self)
        cls.__eq__ = lambda self, other: _finish(cls).__eq__(self, other)
        # as the standard decorator makes them: frozen classes hash their fields, others are
        # unhashable
        cls.__hash__ = (lambda self: _finish(cls).__hash__(self)) if frozen else None
        _unbuilt[cls] = _unfinished[cls] = frozen
        _no_init.add(cls)
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


# -- __init__ without the dataclasses module ----------------------------------------------------

_REQUIRED, _DEFAULT, _FACTORY = range(3)
_NOT_SET = object()


def _is_real_field(value) -> bool:
    mod = sys.modules.get("dataclasses")
    return mod is not None and isinstance(value, mod.Field)


def _own_fields(cls: type) -> dict[str, tuple[int, object]] | None:
    """name -> (kind, default or factory) for the fields a marked class declares itself, or
    None when the class needs the standard decorator."""
    out: dict[str, tuple[int, object]] = {}
    args = _field_args.get(cls, {})
    for name, ann in cls.__dict__.get("__annotations__", {}).items():
        text = ann if isinstance(ann, str) else repr(ann)
        if "ClassVar" in text or "InitVar" in text or "KW_ONLY" in text:
            return None
        fa = args.get(name)
        if fa is not None:
            kw = fa.kwargs
            if not _INIT_NEUTRAL.issuperset(kw) or ("default" in kw and "default_factory" in kw):
                return None
            if "default_factory" in kw:
                out[name] = (_FACTORY, kw["default_factory"])
            elif "default" in kw:
                if type(kw["default"]).__hash__ is None:
                    return None        # a mutable default: the standard way rejects it
                out[name] = (_DEFAULT, kw["default"])
            else:
                out[name] = (_REQUIRED, None)
            continue
        value = cls.__dict__.get(name, _NOT_SET)
        if value is _NOT_SET:
            out[name] = (_REQUIRED, None)
        elif _is_real_field(value) or type(value).__hash__ is None:
            return None            # a Field, or a mutable default the standard way rejects
        else:
            out[name] = (_DEFAULT, value)
    return out


def _all_fields(cls: type) -> dict[str, tuple[int, object]] | None:
    """Every field of a marked class in __init__ order (bases first, as the standard decorator
    collects them), or None when the standard decorator is needed."""
    fields: dict[str, tuple[int, object]] = {}
    for klass in cls.__mro__[::-1]:
        if klass in _unbuilt:
            own = _own_fields(klass)
        elif "__dataclass_fields__" in klass.__dict__:
            return None                 # a base built the standard way
        else:
            continue
        if own is None:
            return None
        fields.update(own)
    return fields


def _init_source(fields: dict[str, tuple[int, object]], frozen: bool, post_init: bool,
                 ns: dict) -> str | None:
    params, body = [], []
    seen_default = False
    for i, (name, (kind, value)) in enumerate(fields.items()):
        if kind == _REQUIRED:
            if seen_default:
                return None              # the standard decorator raises its TypeError
            params.append(name)
            expr = name
        elif kind == _DEFAULT:
            seen_default = True
            ns[f"_d{i}"] = value
            params.append(f"{name}=_d{i}")
            expr = name
        else:
            seen_default = True
            ns[f"_f{i}"] = value
            params.append(f"{name}=_FACTORY")
            expr = f"_f{i}() if {name} is _FACTORY else {name}"
        body.append(f"_setattr(self, {name!r}, {expr})" if frozen else f"self.{name} = {expr}")
    if post_init:
        body.append("self.__post_init__()")
    if not body:
        body.append("pass")
    return f"def __init__(self, {', '.join(params)}):\n" + \
        "".join(f"    {line}\n" for line in body)


def _frozen_setattr(cls: type, fields: frozenset):
    def __setattr__(self, name, value):
        if type(self) is cls or name in fields:
            from dataclasses import FrozenInstanceError
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self, name):
        if type(self) is cls or name in fields:
            from dataclasses import FrozenInstanceError
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)
    return __setattr__, __delattr__


def _make_init(cls: type) -> type:
    """Give a marked class its __init__ (once), here if its fields allow, else by the standard
    decorator."""
    with _lock:
        if cls not in _no_init:
            return cls
        frozen = _unbuilt.get(cls)
        fields = _all_fields(cls) if frozen is not None else None
        ns: dict = {"__name__": cls.__module__, "_FACTORY": _NOT_SET,
                    "_setattr": object.__setattr__}
        src = None if fields is None else _init_source(
            fields, bool(frozen), hasattr(cls, "__post_init__"), ns)
        if src is None:
            return _build(cls)
        exec(compile(src, f"<dataclass {cls.__qualname__}>", "exec"), ns)
        init = ns["__init__"]
        init.__qualname__ = f"{cls.__qualname__}.__init__"
        cls.__init__ = init
        if frozen:
            cls.__setattr__, cls.__delattr__ = _frozen_setattr(cls, frozenset(fields))
            for f in (cls.__setattr__, cls.__delattr__):
                f.__qualname__ = f"{cls.__qualname__}.{f.__name__}"
                f.made_here = True
        # class attributes as the standard decorator leaves them: a field's default, and none
        # for a field without one or with a default_factory
        for name, args in _field_args.get(cls, {}).items():
            if "default" in args.kwargs:
                setattr(cls, name, args.kwargs["default"])
            else:
                delattr(cls, name)
        _no_init.discard(cls)
    return cls


def asdict(obj) -> dict:
    """`dataclasses.asdict`, without running the standard decorator (or importing its module)
    when every dataclass in `obj` is a class marked here."""
    try:
        return _asdict_here(obj)
    except _NotHere:
        import dataclasses
        return dataclasses.asdict(obj)


def replace(obj, /, **changes):
    """`dataclasses.replace`, without running the standard decorator (or importing its module)
    for a class marked here."""
    cls = type(obj)
    fields = _fields_here(cls)
    if fields is None:
        import dataclasses
        return dataclasses.replace(obj, **changes)
    for name in fields:
        if name not in changes:
            changes[name] = getattr(obj, name)
    return cls(**changes)


def _fields_here(cls: type) -> dict[str, tuple[int, object]] | None:
    """The fields of a class marked here (and not built the standard way), else None."""
    return _all_fields(cls) if any(k in _unbuilt for k in cls.__mro__) else None


class _NotHere(Exception):
    pass


def _asdict_here(obj) -> dict:
    fields = _fields_here(type(obj))
    if fields is None:
        raise _NotHere                    # not ours: the standard function
    return {name: _asdict_value(getattr(obj, name)) for name in fields}


_ATOMS = frozenset({str, int, float, bool, type(None), bytes})


def _asdict_value(value):
    """What dataclasses' `_asdict_inner` makes of a field's value."""
    kind = type(value)
    if kind in _ATOMS:                    # deepcopy returns these unchanged
        return value
    if kind is list or kind is tuple:
        return kind(_asdict_value(v) for v in value)
    if kind is dict:
        return {_asdict_value(k): _asdict_value(v) for k, v in value.items()}
    return _asdict_here(value)            # a dataclass of ours, else _NotHere


# -- the standard decorator, when it is needed ---------------------------------------------------

def _build(cls: type) -> type:
    """Run the standard decorator on a marked class for its fields and __init__ (once)."""
    with _lock:
        if cls in _unbuilt:
            import dataclasses
            frozen = _unbuilt.pop(cls)
            _no_init.discard(cls)
            del cls.__init__
            for name in ("__setattr__", "__delattr__"):
                if getattr(cls.__dict__.get(name), "made_here", False):
                    delattr(cls, name)
            for name in _SET:
                delattr(cls, name)
            for name, args in _field_args.pop(cls, {}).items():
                setattr(cls, name, args.real())
            # repr=False, eq=False: the stubs for those (and __hash__) stay until _finish
            dataclasses.dataclass(cls, repr=False, eq=False, frozen=frozen)
    return cls


def _finish(cls: type) -> type:
    """Give a marked class the standard __repr__ and __eq__ (and __hash__ when frozen)."""
    with _lock:
        if cls in _unfinished:
            import dataclasses
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
