"""What the codec needs to know about one model class, worked out once per class.

A model is written with ``model_dump(by_alias=True)``, so each attribute is stored under
the field's serialization name, and read back by field name (``by_name=True``), which
works whatever kind of alias the field has. A `ModelShape` holds what connects the two:

- which stored names map to which fields, which stored attributes a read must drop
  (computed fields; undeclared attributes on ``extra="forbid"`` models);
- readers that rename the keys of nested models and turn stored lists back into sets,
  only where a field's type needs it (most models need none);
- which None and empty-set values a write leaves out because the default reads back
  the same;
- the "loose" fields, whose declared type cannot tell how to read a stored value back
  (``Any``, ``Decimal | float``, ``datetime | str``...): a write checks that each reads
  back equal, or refuses it.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, get_args, get_origin
from uuid import UUID

from pydantic import BaseModel, PydanticUserError, SecretBytes, SecretStr, TypeAdapter

from lvrgd_common.models.dynamodb_base_model import DynamoDBBaseModel

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

__all__ = ["ModelShape", "Reader", "reads_back_equal", "shape_of"]

Reader = typing.Callable[[Any], Any]

_UNIONS: Final = (typing.Union, types.UnionType)
_SETS: Final = (set, frozenset)
_SEQUENCES: Final = (list, tuple)
_MAPPINGS: Final = (dict,)
_BARE_CONTAINERS: Final = (list, tuple, dict, set, frozenset)
_ABSTRACT_SEQUENCES: Final = frozenset(
    {typing.Sequence, typing.MutableSequence, typing.List, typing.Tuple}  # noqa: UP006
)
_ABSTRACT_MAPPINGS: Final = frozenset({typing.Mapping, typing.MutableMapping, typing.Dict})  # noqa: UP006
_ABSTRACT_SETS: Final = frozenset(
    {typing.AbstractSet, typing.MutableSet, typing.Set, typing.FrozenSet}  # noqa: UP006
)


class ModelShape:
    """How one model class is stored; built once by `shape_of`."""

    __slots__ = (
        "checks",
        "dropped",
        "fillers",
        "keep_extra",
        "name_bytes",
        "names",
        "needs_transform",
        "omit_empty_set",
        "omit_none",
        "readers",
        "stored",
    )

    def __init__(self) -> None:
        # stored attribute name -> field name, for every declared field.
        self.names: dict[str, str] = {}
        # field name -> stored attribute name.
        self.stored: dict[str, str] = {}
        # stored attribute name -> its size in UTF-8 bytes, for measuring items.
        self.name_bytes: dict[str, int] = {}
        # field name -> reader of its stored value, only where the type needs one.
        self.readers: dict[str, Reader] = {}
        # Whether reading must rename, drop or convert anything (False for most models).
        self.needs_transform = False
        # Keep undeclared attributes on read (``extra="allow"``), except computed fields,
        # which are stored (an index may be keyed on one) but are not input.
        self.keep_extra = False
        self.dropped: frozenset[str] = frozenset()
        # Stored names a write leaves out when None / an empty set (the default reads back
        # the same).
        self.omit_none: frozenset[str] = frozenset()
        self.omit_empty_set: frozenset[str] = frozenset()
        # (field name, value) to fill in when absent: items written before None and empty
        # sets were stored left them out.
        self.fillers: tuple[tuple[str, Any], ...] = ()
        # (stored name, field name, adapter) of the loose fields, checked on write.
        self.checks: tuple[tuple[str, str, TypeAdapter[Any]], ...] = ()

    def transform(self, data: dict[str, Any]) -> dict[str, Any]:
        """Stored attributes (decoded) -> model_validate input keyed by field name."""
        names = self.names
        readers = self.readers
        keep_extra = self.keep_extra
        out: dict[str, Any] = {}
        for key, value in data.items():
            name = names.get(key)
            if name is None:
                if keep_extra and key not in self.dropped:
                    out[key] = value
                continue
            reader = readers.get(name)
            out[name] = value if reader is None else reader(value)
        return out


_SHAPES: dict[type[BaseModel], ModelShape] = {}
# Classes whose shape is being built: a recursive model refers to itself through them.
_BUILDING: set[type[BaseModel]] = set()


def shape_of(model_class: type[BaseModel]) -> ModelShape:
    """The shape of ``model_class``, built on first use and kept."""
    shape = _SHAPES.get(model_class)
    if shape is None:
        shape = _build(model_class)
        _SHAPES[model_class] = shape
    return shape


def _build(model_class: type[BaseModel]) -> ModelShape:
    shape = ModelShape()
    _BUILDING.add(model_class)
    try:
        _fill(shape, model_class)
    finally:
        _BUILDING.discard(model_class)
    return shape


def _fill(shape: ModelShape, model_class: type[BaseModel]) -> None:
    config = model_class.model_config
    extra = config.get("extra")
    shape.keep_extra = extra == "allow"
    computed = {info.alias or name for name, info in model_class.model_computed_fields.items()}
    omit_none: set[str] = set()
    omit_empty: set[str] = set()
    fillers: list[tuple[str, Any]] = []
    checks: list[tuple[str, str, TypeAdapter[Any]]] = []
    renamed = False
    for name, info in model_class.model_fields.items():
        stored = _stored_name(name, info)
        shape.names[stored] = name
        shape.stored[name] = stored
        if stored.isascii():
            shape.name_bytes[stored] = len(stored)
        renamed = renamed or stored != name
        annotation = info.annotation
        reader = _reader(annotation)
        if reader is not None:
            shape.readers[name] = reader
        absent = _absent_value(info)
        if absent is _NONE_READS_BACK:
            omit_none.add(stored)
        elif absent is _EMPTY_SET_READS_BACK:
            omit_empty.add(stored)
        filler = _filler(info)
        if filler is not _NO_FILLER:
            fillers.append((name, filler))
        if _is_loose(annotation, set()):
            adapter = _adapter(annotation)
            if adapter is not None:
                checks.append((stored, name, adapter))
    renamed = _read_keys_by_field_name(shape, model_class) or renamed
    shape.omit_none = frozenset(omit_none)
    shape.omit_empty_set = frozenset(omit_empty)
    shape.fillers = tuple(fillers)
    shape.checks = tuple(checks)
    shape.dropped = frozenset(computed)
    shape.needs_transform = bool(renamed or computed or extra == "forbid" or shape.readers)


def _read_keys_by_field_name(shape: ModelShape, model_class: type[BaseModel]) -> bool:
    """Let an item's key attributes reach ``pk``/``sk`` under those names too.

    The table's key attributes reach a read as ``pk``/``sk`` (renamed from the table's own
    names, or so named on the default layout), whatever names an alias generator gives
    the key fields. Returns whether reading must rename.
    """
    if not issubclass(model_class, DynamoDBBaseModel):
        return False
    renamed = False
    for key_field in ("pk", "sk"):
        stored = shape.stored.get(key_field, key_field)
        if stored != key_field:
            shape.names.setdefault(key_field, key_field)
            renamed = True
    return renamed


def _adapter(annotation: Any) -> TypeAdapter[Any] | None:  # noqa: ANN401
    """A validator of the field's type alone, or None where pydantic cannot build one.

    (An arbitrary type allowed only by its model's config, say: its field goes unchecked.)
    """
    try:
        return TypeAdapter(Any if annotation is None else annotation)
    except PydanticUserError:
        return None


def _stored_name(name: str, info: FieldInfo) -> str:
    """The key ``model_dump(by_alias=True)`` writes the field under."""
    if info.serialization_alias is not None:
        return info.serialization_alias
    # An alias generator has set these already, when the class was built.
    return info.alias if info.alias is not None else name


# Markers for what reading an absent attribute gives.
_NONE_READS_BACK: Final = object()
_EMPTY_SET_READS_BACK: Final = object()
_OTHER: Final = object()
_NO_FILLER: Final = object()


def _absent_value(info: FieldInfo) -> object:
    """What reading an absent attribute gives, when a write may rely on it."""
    if info.is_required():
        return _EMPTY_SET_READS_BACK if isinstance(_filler(info), set) else _OTHER
    if info.default_factory is not None:
        return _EMPTY_SET_READS_BACK if info.default_factory in _SETS else _OTHER
    if info.default is None:
        return _NONE_READS_BACK
    if isinstance(info.default, (set, frozenset)) and not info.default:
        return _EMPTY_SET_READS_BACK
    return _OTHER


def _options(annotation: Any) -> tuple[Any, ...]:  # noqa: ANN401
    annotation = _unwrap(annotation)
    if get_origin(annotation) in _UNIONS:
        return tuple(_unwrap(arg) for arg in get_args(annotation))
    return (annotation,)


def _filler(info: FieldInfo) -> object:
    """For a required field: what an attribute left out by older writes stood for."""
    if not info.is_required():
        return _NO_FILLER
    options = _options(info.annotation)
    if type(None) in options or None in options:
        return None
    if any(_is_set_type(option) for option in options):
        return set()
    return _NO_FILLER


def _is_set_type(annotation: Any) -> bool:  # noqa: ANN401
    origin = get_origin(annotation)
    return annotation in _SETS or origin in _SETS or origin in _ABSTRACT_SETS


def _unwrap(annotation: Any) -> Any:  # noqa: ANN401
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


# --- readers: stored (decoded) values -> what validation by field name takes ------------


def _reader(annotation: Any) -> Reader | None:  # noqa: ANN401
    annotation = _unwrap(annotation)
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model_reader(annotation)
    if origin in _UNIONS:
        return _union_reader(get_args(annotation))
    if annotation in _SETS or origin in _SETS or origin in _ABSTRACT_SETS:
        kind = frozenset if frozenset in (annotation, origin) else set
        return partial(_as_set, kind)
    if origin in _SEQUENCES or origin in _ABSTRACT_SEQUENCES:
        return _sequence_reader(origin, get_args(annotation))
    if origin in _MAPPINGS or origin in _ABSTRACT_MAPPINGS:
        args = get_args(annotation)
        value = _reader(args[1]) if len(args) == 2 else None  # noqa: PLR2004 - key, value
        return None if value is None else partial(_read_values, value)
    return None


def _sequence_reader(origin: Any, args: tuple[Any, ...]) -> Reader | None:  # noqa: ANN401
    if origin in (tuple, typing.Tuple) and args and args[-1] is not Ellipsis:  # noqa: UP006
        readers = tuple(_reader(arg) for arg in args)
        if all(reader is None for reader in readers):
            return None
        return partial(_read_positions, readers)
    element = _reader(args[0]) if args else None
    return None if element is None else partial(_read_elements, element)


def _model_reader(model_class: type[BaseModel]) -> Reader | None:
    if model_class in _BUILDING:
        # A recursive model: decide when reading (its shape is complete by then).
        return partial(_read_model, model_class)
    if not shape_of(model_class).needs_transform:
        return None
    return partial(_read_model, model_class)


def _read_model(model_class: type[BaseModel], raw: Any) -> Any:  # noqa: ANN401
    if type(raw) is not dict:
        return raw
    shape = shape_of(model_class)
    return shape.transform(raw) if shape.needs_transform else raw


def _union_reader(args: tuple[Any, ...]) -> Reader | None:
    readers = [(arg, reader) for arg in args if (reader := _reader(arg)) is not None]
    if not readers:
        return None
    if len(readers) == 1:
        return readers[0][1]
    return partial(_read_union, tuple(readers))


def _read_union(members: tuple[tuple[Any, Reader], ...], raw: Any) -> Any:  # noqa: ANN401
    """Apply the reader of the first member the stored value can be."""
    for annotation, reader in members:
        target = _unwrap(annotation)
        if isinstance(target, type) and issubclass(target, BaseModel):
            if type(raw) is dict and set(raw) <= set(shape_of(target).names):
                return reader(raw)
        elif type(raw) is list:
            return reader(raw)
    for annotation, reader in members:
        target = _unwrap(annotation)
        if isinstance(target, type) and issubclass(target, BaseModel) and type(raw) is dict:
            return reader(raw)
    return raw


def _as_set(kind: type[set[Any] | frozenset[Any]], raw: Any) -> Any:  # noqa: ANN401
    # An empty set is stored as an empty list (DynamoDB has no empty set).
    if type(raw) is list and not raw:
        return kind()
    if type(raw) is set and kind is frozenset:
        return frozenset(raw)
    return raw


def _read_elements(reader: Reader, raw: Any) -> Any:  # noqa: ANN401
    return [reader(element) for element in raw] if type(raw) is list else raw


def _read_positions(readers: tuple[Reader | None, ...], raw: Any) -> Any:  # noqa: ANN401
    if type(raw) is not list or len(raw) != len(readers):
        return raw
    return [
        element if reader is None else reader(element)
        for reader, element in zip(readers, raw, strict=True)
    ]


def _read_values(reader: Reader, raw: Any) -> Any:  # noqa: ANN401
    if type(raw) is not dict:
        return raw
    return {key: reader(value) for key, value in raw.items()}


# --- loose types: the stored form does not say what the value was -----------------------


def _is_loose(annotation: Any, seen: set[type[BaseModel]]) -> bool:  # noqa: ANN401, PLR0911
    annotation = _unwrap(annotation)
    if annotation is Any or annotation is object or annotation in _BARE_CONTAINERS:
        return True
    if isinstance(annotation, typing.TypeVar):
        return True
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return False
        seen.add(annotation)
        return any(_is_loose(info.annotation, seen) for info in annotation.model_fields.values())
    if origin is None:
        return False
    if origin is Literal:
        return False
    args = [arg for arg in get_args(annotation) if arg is not Ellipsis]
    if origin in _UNIONS and _ambiguous_union(args):
        return True
    if origin in _ABSTRACT_SEQUENCES | _ABSTRACT_MAPPINGS | _ABSTRACT_SETS and not args:
        return True
    return any(_is_loose(arg, seen) for arg in args)


def _ambiguous_union(args: list[Any]) -> bool:
    """Whether two members of a union are stored alike but read back differently."""
    kinds: dict[str, set[Any]] = {}
    for arg in args:
        member = _unwrap(arg)
        if member is type(None) or member is None:
            continue
        kinds.setdefault(_stored_kind(member), set()).add(member)
    for kind, members in kinds.items():
        if len(members) < 2:  # noqa: PLR2004
            continue
        if kind == "N" and not (Decimal in members and float in members):
            continue  # int | float reads back equal (3 == 3.0); Decimal | int too
        if kind == "M" and all(_is_model(member) for member in members):
            continue  # nested models: pydantic picks the member that fits best
        return True
    return False


def _is_model(annotation: Any) -> bool:  # noqa: ANN401
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


# How each kind of Python value is stored: members of a union stored alike are ambiguous.
_KINDS: Final[tuple[tuple[tuple[type, ...], str], ...]] = (
    ((bool,), "BOOL"),
    ((int, float, Decimal), "N"),
    ((str, dt.date, dt.time, dt.timedelta, UUID, SecretStr), "S"),
    ((bytes, SecretBytes), "B"),
    ((dict, BaseModel), "M"),
    ((list, tuple), "L"),
    ((set, frozenset), "SET"),
)
_ABSTRACT_KINDS: Final = (
    (_ABSTRACT_MAPPINGS, "M"),
    (_ABSTRACT_SEQUENCES, "L"),
    (_ABSTRACT_SETS, "SET"),
)


def _stored_kind(annotation: Any) -> str:  # noqa: ANN401
    origin = get_origin(annotation)
    if origin is Literal:
        values = get_args(annotation)
        return _value_kind(values[0]) if values else "?"
    target = origin or annotation
    for abstract, abstract_kind in _ABSTRACT_KINDS:
        if target in abstract:
            return abstract_kind
    if not isinstance(target, type):
        return f"other:{annotation!r}"
    if issubclass(target, Enum):
        members = list(target)
        return _value_kind(members[0].value) if members else "S"
    for types_, kind in _KINDS:
        if issubclass(target, types_):
            return kind
    return f"other:{target.__qualname__}"


def _value_kind(value: object) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, (int, float, Decimal)):
        return "N"
    if isinstance(value, bytes):
        return "B"
    return "S"


def reads_back_equal(
    adapter: TypeAdapter[Any],
    reader: Reader | None,
    stored: Any,  # noqa: ANN401
    original: Any,  # noqa: ANN401
) -> bool:
    """Whether a stored value (decoded) validates back to one equal to ``original``."""
    value = stored if reader is None else reader(stored)
    try:
        restored = adapter.validate_python(value, by_alias=False, by_name=True)
    except ValueError:
        return False
    return bool(restored == original)
