"""slurmshim._dataclass builds classes late (for start-up speed); what users of the classes see
must be exactly what `dataclasses.dataclass` makes, whatever is touched first."""
from __future__ import annotations

import copy
import dataclasses
import random
import threading
from dataclasses import field

import pytest

from slurmshim import _dataclass


def _classes(decorate, field=dataclasses.field):
    @decorate
    class A:
        """A plain dataclass."""

        x: int
        y: list = field(default_factory=list)
        z: str = "z"

    @decorate(frozen=True)
    class F:
        a: int
        b: tuple = ()

    class Sub(A):
        pass

    @decorate
    class Child(A):
        w: int = 0

    @decorate
    class Post:
        q: int = 1

        def __post_init__(self):
            self.q += 1

    return A, F, Sub, Child, Post


def _raw(cls, **attrs):
    """An instance made without __init__, as the ledger makes its records."""
    obj = object.__new__(cls)
    obj.__dict__.update(attrs)
    return obj


def _probes(A, F, Sub, Child, Post):
    def call(fn):
        try:
            return repr(fn())
        except Exception as exc:  # the same exception, with the same text
            return f"{type(exc).__name__}: {exc}"

    return {
        "repr": lambda: call(lambda: repr(A(1))),
        "eq": lambda: call(lambda: (A(1) == A(1, [], "z"), A(1) == Sub(1), A(1) != A(2),
                                    A(1) == 1)),
        "hash": lambda: call(lambda: hash(A(1))),
        "frozen hash": lambda: call(lambda: (hash(F(1)) == hash(F(1)), len({F(1), F(1), F(2)}))),
        "frozen set": lambda: call(lambda: setattr(F(1), "a", 2)),
        "frozen del": lambda: call(lambda: delattr(F(1), "a")),
        "fields": lambda: call(lambda: [f.name for f in dataclasses.fields(Child)]),
        "asdict": lambda: call(lambda: dataclasses.asdict(Child(1, [F(2)], "q", 3))),
        "our asdict": lambda: call(lambda: _dataclass.asdict(Child(1, [F(2), {"k": (F(3),)}],
                                                                   "q", 3))),
        "our asdict, other values": lambda: call(lambda: _dataclass.asdict(
            A(frozenset({1}), [F(type)]))),
        "astuple": lambda: call(lambda: dataclasses.astuple(F(1, (2,)))),
        "replace": lambda: call(lambda: dataclasses.replace(F(1, (2,)), a=5)),
        "our replace": lambda: call(lambda: (_dataclass.replace(F(1, (2,)), a=5),
                                             _dataclass.replace(Child(1, w=2), z="r"),
                                             _dataclass.replace(Post(), q=7).q)),
        "our replace, bad field": lambda: call(lambda: _dataclass.replace(A(1), nope=1)),
        "subclass": lambda: call(lambda: (Sub(3), Sub(3) == Sub(3))),
        "child": lambda: call(lambda: (Child(1, w=2), Child(1) == A(1), hash(Child(1)))),
        "deepcopy": lambda: call(lambda: copy.deepcopy(Child(1)) == Child(1)),
        "missing arg": lambda: call(lambda: A()),
        "extra arg": lambda: call(lambda: A(1, [], "z", 4)),
        "is_dataclass": lambda: call(lambda: (dataclasses.is_dataclass(A),
                                              dataclasses.is_dataclass(Sub),
                                              dataclasses.is_dataclass(A(1)))),
        "match_args": lambda: call(lambda: (A.__match_args__, Child.__match_args__)),
        "params": lambda: call(lambda: F.__dataclass_params__.frozen),
        "post_init": lambda: call(lambda: Post().q),
        "raw instance": lambda: call(lambda: (_raw(A, x=1, y=[], z="z") == A(1),
                                              repr(_raw(A, x=2, y=[], z="q")))),
        "doc": lambda: call(lambda: A.__doc__),
    }


@pytest.mark.parametrize("field_of", [_dataclass.field, dataclasses.field],
                         ids=["field here", "dataclasses.field"])
def test_same_behaviour_whatever_is_used_first(field_of):
    rnd = random.Random(0)
    names = list(_probes(*_classes(dataclasses.dataclass)))
    for _ in range(100):
        order = names[:]
        rnd.shuffle(order)
        want = _probes(*_classes(dataclasses.dataclass))
        got = _probes(*_classes(_dataclass.dataclass, field_of))
        for name in order:
            assert got[name]() == want[name](), name


def test_methods_are_built_only_when_needed():
    A, F, *_ = _classes(_dataclass.dataclass, _dataclass.field)
    assert not isinstance(vars(A)["__dataclass_fields__"], dict)
    a = A(1)                           # __init__ made here; the standard decorator has not run
    assert (a.x, a.y, a.z) == (1, [], "z") and a.y is not A(1).y
    assert not isinstance(vars(A)["__dataclass_fields__"], dict)
    assert _dataclass.asdict(a) == {"x": 1, "y": [], "z": "z"}
    assert not isinstance(vars(A)["__dataclass_fields__"], dict)
    assert A in _dataclass._unfinished
    assert repr(A(1)) == "_classes.<locals>.A(x=1, y=[], z='z')"
    assert A not in _dataclass._unfinished
    assert isinstance(vars(A)["__dataclass_fields__"], dict)
    assert F(1) == F(1) and F not in _dataclass._unfinished


def test_classes_with_their_own_methods_are_decorated_at_once():
    @_dataclass.dataclass
    class Own:
        a: int = 0

        def __repr__(self):
            return "mine"

    assert isinstance(vars(Own)["__dataclass_fields__"], dict)
    assert repr(Own()) == "mine" and Own(1) == Own(1)


def test_first_use_from_many_threads():
    A, *_ = _classes(_dataclass.dataclass)
    barrier = threading.Barrier(8)
    errors = []

    def use(i):
        barrier.wait()
        try:
            assert A(i) == A(i) and repr(A(i)).endswith(f"A(x={i}, y=[], z='z')")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=use, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize("module", ["model", "config", "controller", "scheduling", "output.squeue",
                                    "output.sacct", "output.sinfo", "output.fields",
                                    "slurm.getopt", "slurm.options", "slurm.directives",
                                    "slurm.sbatch_args", "slurm.states", "cli.squeue",
                                    "cli.sacct", "cli.scancel"])
def test_project_classes_match_the_standard_decorator(module):
    """Every lazily decorated class of the project has the fields, defaults and methods the
    standard decorator gives it."""
    import importlib
    mod = importlib.import_module(f"slurmshim.{module}")
    classes = [c for c in vars(mod).values()
               if isinstance(c, type) and c.__module__ == mod.__name__
               and "__dataclass_fields__" in vars(c)]
    assert classes
    for cls in classes:
        fields = dataclasses.fields(cls)
        for f in fields:
            assert isinstance(f, dataclasses.Field)
        for name in ("__init__", "__repr__", "__eq__"):
            assert callable(getattr(cls, name))
        frozen = cls.__dataclass_params__.frozen
        assert (cls.__hash__ is None) == (not frozen)
        # a default instance where every field has a default: repr and eq as generated
        if all(f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
               for f in fields):
            obj = cls()
            assert obj == cls() and repr(obj).startswith(cls.__qualname__ + "(")
            assert list(dataclasses.asdict(obj)) == [f.name for f in fields]
