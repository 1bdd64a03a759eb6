"""The records' direct ``__init__`` behaves exactly as the one ``@dataclass`` writes."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle

import pytest

from modelsummary import _records
from modelsummary._records import direct_init
from modelsummary._tree import nodes as _tree

DIRECT = [
    _records.TensorSpec,
    _records.OtherSpec,
    _records.SeqSpec,
    _records.MapSpec,
    _records.ParamInfo,
    _records.BufferInfo,
    _records.ModuleInfo,
    _records.CallRecord,
    _tree.SharedParam,
    _tree.SummaryNode,
    _tree.UnusedEntry,
]


def _reference(cls: type) -> type:
    """The same fields in a plain frozen dataclass, with the generated ``__init__``."""
    fields = [
        (f.name, f.type, dataclasses.field(default=f.default))
        if f.default is not dataclasses.MISSING
        else (f.name, f.type)
        for f in dataclasses.fields(cls)
    ]
    return dataclasses.make_dataclass(cls.__name__, fields, frozen=True, slots=True)


def _values(cls: type) -> dict[str, object]:
    """A distinct value per field (its position), whatever the field's type."""
    return {f.name: (i, f.name) for i, f in enumerate(dataclasses.fields(cls))}


@pytest.mark.parametrize("cls", DIRECT, ids=lambda c: c.__name__)
def test_direct_init_takes_the_generated_signature(cls):
    assert any(name.startswith("_set_") for name in cls.__init__.__code__.co_names)  # direct
    ours = inspect.signature(cls.__init__).parameters
    generated = inspect.signature(_reference(cls).__init__).parameters
    assert [(p.name, p.default, p.kind) for p in ours.values()] == [
        (p.name, p.default, p.kind) for p in generated.values()
    ]


@pytest.mark.parametrize("cls", DIRECT, ids=lambda c: c.__name__)
def test_direct_init_sets_every_field_positionally_and_by_keyword(cls):
    values = _values(cls)
    by_keyword, by_position = cls(**values), cls(*values.values())
    assert by_keyword == by_position
    assert dataclasses.asdict(by_keyword) == dataclasses.asdict(_reference(cls)(**values))
    assert hash(by_keyword) == hash(by_position)


@pytest.mark.parametrize("cls", DIRECT, ids=lambda c: c.__name__)
def test_direct_init_keeps_defaults_frozenness_replace_and_pickling(cls):
    required = {
        f.name: (0, f.name) for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING
    }
    record = cls(**required)
    reference = _reference(cls)(**required)
    assert dataclasses.astuple(record) == dataclasses.astuple(reference)  # the defaults
    first = dataclasses.fields(cls)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, first, "changed")
    changed = dataclasses.replace(record, **{first: "changed"})
    assert getattr(changed, first) == "changed" and getattr(record, first) == (0, first)
    assert pickle.loads(pickle.dumps(record)) == record == copy.deepcopy(record)
    assert repr(record).startswith(f"{cls.__name__}(")


def test_direct_init_refuses_default_factories():
    @dataclasses.dataclass(frozen=True, slots=True)
    class Listy:
        items: list[int] = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match="plain defaults only"):
        direct_init(Listy)


@pytest.mark.parametrize("cls", DIRECT, ids=lambda c: c.__name__)
def test_direct_init_leaves_an_instance_of_the_class_itself(cls):
    record = cls(*_values(cls).values())
    assert type(record) is cls and isinstance(record, cls)
    assert type(copy.copy(record)) is cls and type(dataclasses.replace(record)) is cls


def test_direct_init_fills_an_instance_of_a_subclass_through_the_descriptors():
    @direct_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Point:
        x: int
        y: int = 0

    class Named(Point):  # no __slots__: a __dict__, another layout
        def label(self) -> str:
            return f"({self.x}, {self.y})"

    @dataclasses.dataclass(frozen=True, slots=True)
    class Spatial(Point):
        z: int = 0

    named = Named(1, y=2)
    assert type(named) is Named and named.label() == "(1, 2)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        named.x = 5
    spatial = Spatial(1, 2, 3)  # its own generated __init__
    assert type(spatial) is Spatial and (spatial.x, spatial.y, spatial.z) == (1, 2, 3)


@pytest.mark.parametrize("cls", DIRECT, ids=lambda c: c.__name__)
def test_positional_builds_the_record_the_class_builds(cls):
    values = _values(cls)
    made = _records.positional(cls)(*values.values())
    assert type(made) is cls and made == cls(**values)
    assert dataclasses.asdict(made) == dataclasses.asdict(_reference(cls)(**values))
    assert hash(made) == hash(cls(**values))
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, dataclasses.fields(cls)[0].name, "changed")
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        _records.positional(cls)(*list(values.values())[:-1])  # no field left to its default


def test_positional_refuses_what_it_would_skip():
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        x: int

        def __post_init__(self) -> None:
            raise ValueError("never skipped")

    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived:
        x: int
        y: int = dataclasses.field(init=False, default=0)

    for cls in (Checked, Derived):
        with pytest.raises(TypeError, match="init fields only"):
            _records.positional(cls)
