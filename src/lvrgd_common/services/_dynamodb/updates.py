"""The ``updates`` of an update, checked and encoded into changes an expression can render.

Plain functions over plain data. Each key of ``updates`` is an attribute name (taken
literally) or a tuple path (``("address", "city")``, ``("tags", 0)``); each value is a plain
value (SET), None (REMOVE) or an update action. With a model class, keys are field names,
stored under their aliases, and values are validated against the field's type and encoded
as ``save`` encodes them.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from lvrgd_common.models.update_actions import (
    AddToSet,
    Append,
    IfNotExists,
    Increment,
    Prepend,
    RemoveFromSet,
)
from lvrgd_common.models.versioned_model import VERSION_FIELD, VersionedModel
from lvrgd_common.services._dynamodb.codec import (
    NEVER_STORED,
    AttributeValue,
    CodecError,
    InvalidInputError,
    describe_errors,
    encode_field,
    encode_value,
    is_utf8,
)
from lvrgd_common.services._dynamodb.codec.shape import shape_of

if TYPE_CHECKING:
    from collections.abc import Collection

__all__ = [
    "Change",
    "Path",
    "plan_updates",
    "render_path",
    "version_change",
    "version_name",
    "versioned_names",
]

Path = tuple[str | int, ...]
Kind = Literal["set", "remove", "increment", "append", "prepend", "if_not_exists", "add", "delete"]

_SET_TAGS: Final = frozenset({"SS", "NS", "BS"})
_UNIONS: Final = (typing.Union, types.UnionType)


@dataclass(frozen=True, slots=True)
class Change:
    """One clause of an update: what to do at ``path`` (stored names) with ``value``.

    ``guards``: what the attribute must hold before the change for the value after it to
    keep the field's bounds (``Field(ge=0)`` and an ``Increment(-1)``): ``(operator,
    value, absent_ok)``, rendered as conditions of the update.
    """

    kind: Kind
    path: Path
    value: AttributeValue | None = None
    guards: tuple[tuple[str, AttributeValue, bool], ...] = ()


def render_path(path: Path) -> str:
    """A path as people write it: ``address.city``, ``tags[0]``."""
    text = str(path[0])
    for segment in path[1:]:
        text += f"[{segment}]" if isinstance(segment, int) else f".{segment}"
    return text


def plan_updates(
    updates: object,
    key_attributes: Collection[str],
    model_class: type[BaseModel] | None = None,
) -> list[Change]:
    """The changes ``updates`` asks for, in order.

    Raises:
        InvalidInputError: Empty updates, a bad path, a key attribute, overlapping paths,
            a bad action, an unknown field or a value that does not fit the field.
    """
    if not isinstance(updates, dict) or not updates:
        msg = "updates must be a non-empty mapping of attribute name (or path) to value"
        raise InvalidInputError(msg)
    changes: list[Change] = []
    for key, value in updates.items():
        path = _path(key)
        if path[0] in key_attributes or (model_class is not None and path[0] in {"pk", "sk"}):
            msg = f"updates cannot change the key attribute {path[0]!r}"
            raise InvalidInputError(msg)
        _check_action(value, render_path(path))
        if model_class is None:
            changes.append(_change(path, value, _Plain()))
        else:
            stored, encoder = _Field.resolve(model_class, path)
            changes.append(_change(stored, value, encoder))
    _check_overlaps([change.path for change in changes])
    return changes


def version_change(
    updates: object, model_class: type[BaseModel] | None
) -> tuple[object, Change | None, int | None]:
    """Take the version out of the updates of a `VersionedModel`.

    Returns the other updates, the change that advances the stored version (to
    ``expected + 1``, or by one when ``updates`` names no version) and the version the
    stored item must have (None: any).

    Raises:
        InvalidInputError: A version that is not a whole number >= 0.
    """
    if not (isinstance(model_class, type) and issubclass(model_class, VersionedModel)):
        return updates, None, None
    if not isinstance(updates, dict) or not updates:
        return updates, None, None  # bad updates are refused by plan_updates
    stored = version_name(model_class)
    if VERSION_FIELD not in updates:
        return updates, Change("increment", (stored,), {"N": "1"}), None
    others = dict(updates)
    expected = others.pop(VERSION_FIELD)
    if isinstance(expected, bool) or not isinstance(expected, int) or expected < 0:
        msg = (
            f"updates of a VersionedModel name the version the stored item must have "
            f"(a whole number >= 0), got {expected!r}"
        )
        raise InvalidInputError(msg)
    return others, Change("set", (stored,), {"N": str(expected + 1)}), expected


def version_name(model_class: type[BaseModel]) -> str:
    """The attribute a `VersionedModel` class stores its version under (alias included)."""
    return shape_of(model_class).stored[VERSION_FIELD]


def versioned_names() -> tuple[str, ...]:
    """Every name a `VersionedModel` class of this process stores its version under.

    A plain update (no model class) cannot tell whether its item is versioned; the item
    holds a number under one of these names if it is.
    """
    names: set[str] = set()
    pending: list[type[VersionedModel]] = [VersionedModel]
    while pending:
        model_class = pending.pop()
        names.add(version_name(model_class))
        pending.extend(model_class.__subclasses__())
    return tuple(sorted(names))


def _path(key: object) -> Path:
    if isinstance(key, str):
        _check_name(key)
        return (key,)
    if not isinstance(key, tuple) or not key or not isinstance(key[0], str):
        msg = (
            "a key of updates must be an attribute name or a tuple path starting with one, "
            f"e.g. ('address', 'city'), got {key!r}"
        )
        raise InvalidInputError(msg)
    for segment in key:
        if isinstance(segment, str):
            _check_name(segment)
        elif isinstance(segment, bool) or not isinstance(segment, int) or segment < 0:
            msg = f"a path segment must be a name or a list index >= 0, got {segment!r} in {key!r}"
            raise InvalidInputError(msg)
    return key


def _check_name(name: str) -> None:
    if not name:
        msg = "attribute names must be non-empty strings"
        raise InvalidInputError(msg)
    if not is_utf8(name):
        msg = f"attribute name {name!r} is not valid Unicode (it holds a lone surrogate)"
        raise InvalidInputError(msg)


def _check_action(value: object, where: str) -> None:
    """Refuse what no field could take, before looking at types."""
    if isinstance(value, Increment):
        n = value.n
        if isinstance(n, bool) or not isinstance(n, (int, float, Decimal)):
            raise CodecError(where, f"Increment needs a number, got {n!r}")
    elif isinstance(value, (Append, Prepend)):
        if not isinstance(value.values, (list, tuple)):
            name = type(value).__name__
            raise CodecError(where, f"{name} needs a list or tuple, got {value.values!r}")
    elif isinstance(value, (AddToSet, RemoveFromSet)):
        name = type(value).__name__
        if not isinstance(value.values, (set, frozenset)):
            raise CodecError(where, f"{name} needs a set, got {value.values!r}")
        if not value.values:
            raise CodecError(where, f"{name} needs at least one member (an empty set)")


def _check_overlaps(paths: list[Path]) -> None:
    ordered = sorted(paths, key=lambda path: [(isinstance(s, int), str(s)) for s in path])
    for shorter, longer in pairwise(ordered):
        if longer[: len(shorter)] == shorter:
            msg = (
                f"update paths {render_path(shorter)!r} and {render_path(longer)!r} overlap; "
                "DynamoDB refuses two changes to one attribute in an update"
            )
            raise InvalidInputError(msg)


class _Plain:
    """Encodes values as they are (no model)."""

    def encode(self, value: Any, where: str) -> AttributeValue | None:  # noqa: ANN401
        return encode_value(value, where)

    def encode_part(self, value: Any, where: str, _action: str) -> AttributeValue | None:  # noqa: ANN401
        return encode_value(value, where)

    def remove(self, where: str) -> AttributeValue | None:  # noqa: ARG002
        return None

    def check_remove_from_set(self, where: str) -> None:
        pass


@dataclass(frozen=True, slots=True)
class _Field:
    """The end of a path into a model class, and how values stored there are encoded.

    ``owner``/``field``: the model class whose field the path ends on (None inside a list
    or dict). Whole values go through `encode_field`, the codec's one encoder for a
    field (the owner's validators, serializers and ``exclude``); the operands of update
    actions, which are parts of the value the field will hold, are checked against the
    field's type alone.
    """

    owner: type[BaseModel] | None
    field: str
    annotation: Any
    nested: bool
    own_serializer: bool
    bounds: tuple[tuple[str, Decimal], ...] = ()

    @classmethod
    def resolve(cls, model_class: type[BaseModel], path: Path) -> tuple[Path, _Field]:
        """The stored path and the field found at ``path``."""
        stored: list[str | int] = []
        annotation: Any = model_class
        owner: type[BaseModel] | None = None
        field = ""
        own_serializer = False
        bounds: tuple[tuple[str, Decimal], ...] = ()
        for depth, segment in enumerate(path):
            annotation = _unwrap(annotation)
            where = render_path(path[: depth + 1])
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                if not isinstance(segment, str) or segment not in annotation.model_fields:
                    msg = f"{annotation.__name__} has no field {segment!r} (at {where!r})"
                    raise InvalidInputError(msg)
                info = annotation.model_fields[segment]
                if info.exclude is True:
                    raise CodecError(where, NEVER_STORED)
                owner, field = annotation, segment
                own_serializer = _has_serializer(annotation, segment)
                bounds = _bounds(info.metadata)
                stored.append(shape_of(annotation).stored[segment])
                annotation = info.annotation
                continue
            origin, args = get_origin(annotation), get_args(annotation)
            if isinstance(segment, int) and origin in (list, tuple) and args:
                annotation = args[0]
            elif isinstance(segment, str) and origin is dict and len(args) == 2:  # noqa: PLR2004
                annotation = args[1]
            elif annotation is Any:
                pass
            else:
                msg = f"{model_class.__name__} has no attribute at {where!r}"
                raise InvalidInputError(msg)
            owner, own_serializer, bounds = None, False, ()
            stored.append(segment)
        return tuple(stored), cls(owner, field, annotation, len(path) > 1, own_serializer, bounds)

    def encode(self, value: Any, where: str) -> AttributeValue | None:  # noqa: ANN401
        """A whole value of the field, stored as ``save`` stores it (None: REMOVE)."""
        if self.owner is not None:
            try:
                return encode_field(self.owner, self.field, value, nested=self.nested)[1]
            except CodecError as exc:
                raise CodecError(where, exc.reason) from None
        # An element of a list or an entry of a dict: a save stores it inside its container.
        adapter = _adapter(self.annotation)
        try:
            checked = adapter.validate_python(value)
        except ValidationError as exc:
            problems = describe_errors(exc, of_input=True)
            raise CodecError(where, f"not a valid value: {problems}") from None
        plain = adapter.dump_python(checked, by_alias=True)
        encoded = encode_value(plain, where)
        return _EMPTY_LIST if encoded is None else encoded

    def encode_part(self, value: Any, where: str, action: str) -> AttributeValue | None:  # noqa: ANN401
        """An action's operand, checked against the field's type alone (no constraints).

        ``Increment(-1)`` on ``Field(ge=0)`` is not refused for its sign: the value the
        field will hold is not known before the update runs.
        """
        if self.own_serializer:
            msg = (
                "the field has its own serializer, so its stored form is not known to the "
                "action; set the whole value instead"
            )
            raise CodecError(where, msg)
        adapter = _adapter(self.annotation)
        try:
            checked = adapter.validate_python(value)
        except ValidationError as exc:
            problems = "; ".join(error["msg"] for error in exc.errors(include_input=False))
            msg = f"{action}, which the field's type does not take ({problems})"
            raise CodecError(where, msg) from None
        return encode_value(adapter.dump_python(checked, by_alias=True), where)

    def remove(self, where: str) -> AttributeValue | None:
        """None, stored as ``save`` stores it: REMOVE where absence reads back as None."""
        try:
            return self.encode(None, where)
        except CodecError as exc:
            msg = f"None would remove a value the field requires ({exc.reason})"
            raise CodecError(where, msg) from None

    def check_remove_from_set(self, where: str) -> None:
        """Refuse RemoveFromSet where removing the last member would read back otherwise.

        DynamoDB removes a set attribute whose last member is deleted: that reads back as
        an empty set only where the field's absence does.
        """
        owner = self.owner
        # Inside another model or a container, a removed attribute is simply missing.
        if (
            owner is None
            or self.nested
            or shape_of(owner).stored[self.field] not in (shape_of(owner).omit_empty_set)
        ):
            msg = (
                "RemoveFromSet could delete the set's last member, and DynamoDB then removes "
                "the attribute, which this field reads back as its default, not as an empty "
                "set; give the field an empty-set default (Field(default_factory=set)), or "
                "set the whole value"
            )
            raise CodecError(where, msg)


# An empty set inside a list or dict: a save stores it as an empty list.
_EMPTY_LIST: Final[AttributeValue] = {"L": []}


def _bounds(metadata: list[Any]) -> tuple[tuple[str, Decimal], ...]:
    """The numeric bounds of a field (``Field(ge=0, lt=10)``) as ``(operator, limit)``."""
    found: list[tuple[str, Decimal]] = []
    for entry in metadata:
        for attribute, operator in _BOUND_OPERATORS:
            limit = getattr(entry, attribute, None)
            if isinstance(limit, (int, float, Decimal)) and not isinstance(limit, bool):
                found.append((operator, Decimal(str(limit))))
    return tuple(found)


_BOUND_OPERATORS: Final = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
_HOLDS: Final = {
    ">=": Decimal.__ge__,
    ">": Decimal.__gt__,
    "<=": Decimal.__le__,
    "<": Decimal.__lt__,
}


def _increment_guards(
    bounds: tuple[tuple[str, Decimal], ...], delta: Decimal
) -> tuple[tuple[str, AttributeValue, bool], ...]:
    """What the attribute must hold now for ``now + delta`` to keep each bound.

    An absent attribute counts as 0: it passes where ``delta`` itself keeps the bound.
    """
    guards: list[tuple[str, AttributeValue, bool]] = []
    for operator, limit in bounds:
        now = encode_value(limit - delta, "Increment")
        assert now is not None  # noqa: S101 - a number always encodes
        guards.append((operator, now, bool(_HOLDS[operator](delta, limit))))
    return tuple(guards)


def _has_serializer(model_class: type[BaseModel], field: str) -> bool:
    serializers = model_class.__pydantic_decorators__.field_serializers.values()
    return any(field in info.info.fields or "*" in info.info.fields for info in serializers)


def _unwrap(annotation: Any) -> Any:  # noqa: ANN401
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in _UNIONS:
        options = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(options) == 1:
            return _unwrap(options[0])
    return annotation


_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def _adapter(annotation: Any) -> TypeAdapter[Any]:  # noqa: ANN401
    try:
        adapter = _ADAPTERS.get(annotation)
    except TypeError:  # an unhashable annotation
        return TypeAdapter(annotation)
    if adapter is None:
        adapter = _ADAPTERS[annotation] = TypeAdapter(annotation)
    return adapter


def _change(path: Path, value: object, encoder: _Plain | _Field) -> Change:
    where = render_path(path)
    if value is None:
        return _set_or_remove(path, encoder.remove(where))
    if isinstance(value, Increment):
        needs = "Increment needs a number field"
        encoded = encoder.encode_part(value.n, where, needs)
        if encoded is None or "N" not in encoded:
            raise CodecError(where, needs)
        bounds = encoder.bounds if isinstance(encoder, _Field) else ()
        guards = _increment_guards(bounds, Decimal(encoded["N"])) if bounds else ()
        return Change("increment", path, {"N": encoded["N"]}, guards)
    if isinstance(value, (Append, Prepend)):
        needs = f"{type(value).__name__} needs a list field"
        encoded = encoder.encode_part(list(value.values), where, needs)
        if encoded is None or "L" not in encoded:
            raise CodecError(where, needs)
        return Change("append" if isinstance(value, Append) else "prepend", path, encoded)
    if isinstance(value, IfNotExists):
        encoded = encoder.encode(value.value, where)
        if encoded is None:
            raise CodecError(where, "IfNotExists needs a value DynamoDB can store")
        return Change("if_not_exists", path, encoded)
    if isinstance(value, (AddToSet, RemoveFromSet)):
        return _set_change(path, value, encoder, where)
    return _set_or_remove(path, encoder.encode(value, where))


def _set_change(
    path: Path, value: AddToSet | RemoveFromSet, encoder: _Plain | _Field, where: str
) -> Change:
    needs = f"{type(value).__name__} needs a set field"
    encoded = encoder.encode_part(set(value.values), where, needs)
    if encoded is None or not _SET_TAGS & encoded.keys():
        raise CodecError(where, needs)
    if isinstance(value, RemoveFromSet):
        encoder.check_remove_from_set(where)
    return Change("add" if isinstance(value, AddToSet) else "delete", path, encoded)


def _set_or_remove(path: Path, encoded: AttributeValue | None) -> Change:
    return Change("remove", path) if encoded is None else Change("set", path, encoded)
