"""What a read decodes into: one model class, or a union of them (single-table reads).

A ``model_class`` may be a `DynamoDBBaseModel` subclass or a union of them, usually a
pydantic discriminated union such as ``Annotated[User | Order, Field(discriminator="kind")]``.
With a field-name discriminator each item is decoded as the member its tag names, so the
codec's read-back rules (omitted None and empty sets) hold for every member; any other
union is validated by a cached `pydantic.TypeAdapter`. An item that fits no member is an
error, never skipped.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, cast, get_args, get_origin

from pydantic import TypeAdapter, ValidationError

from lvrgd_common.models.dynamodb_base_model import DynamoDBBaseModel
from lvrgd_common.services._dynamodb.codec import (
    InvalidInputError,
    UnfitItemError,
    decode_item,
    describe_errors,
    model_decoder,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


__all__ = ["ItemReader", "UnfitItemError", "reader_of"]

_UNIONS: Final = (typing.Union, types.UnionType)


@dataclass(frozen=True, slots=True)
class ItemReader:
    """Decodes stored items into a model class or one member of a union."""

    label: str
    members: tuple[type[DynamoDBBaseModel], ...]
    decode: Callable[[Mapping[str, Any]], Any]


_readers: dict[object, ItemReader] = {}


def reader_of(model_class: object) -> ItemReader:
    """The (cached) reader for a model class or a union of model classes.

    A `pydantic.TypeAdapter` of either is read as the type it adapts (it is how a caller
    gives mypy the union's type: ``TypeAdapter[A | B]`` makes the results ``A | B``).

    Raises:
        InvalidInputError: Neither a `DynamoDBBaseModel` subclass nor a union of them.
    """
    if isinstance(model_class, TypeAdapter):
        model_class = model_class._type  # noqa: SLF001 - pydantic keeps the adapted type only there
    try:
        return _readers[model_class]
    except KeyError:
        pass
    except TypeError:  # unhashable metadata: build it each time
        return _build(model_class)
    reader = _build(model_class)
    _readers[model_class] = reader
    return reader


def _build(model_class: object) -> ItemReader:
    if isinstance(model_class, type) and issubclass(model_class, DynamoDBBaseModel):
        # The codec's decoder itself: its ItemDecodeError is an UnfitItemError.
        return ItemReader(model_class.__name__, (model_class,), model_decoder(model_class))
    members, discriminator = _union_members(model_class)
    label = " | ".join(member.__name__ for member in members)
    by_tag = _members_by_tag(members, discriminator) if discriminator else None
    if by_tag is not None:
        return ItemReader(label, members, _tag_decoder(discriminator or "", by_tag))
    adapter: TypeAdapter[Any] = TypeAdapter(cast("Any", model_class))

    def validate(raw: Mapping[str, Any]) -> Any:  # noqa: ANN401 - a member of the union
        try:
            return adapter.validate_python(decode_item(raw))
        except (KeyError, ValueError, TypeError, AttributeError, ArithmeticError) as exc:
            # The message names attributes and expected types, never a stored value.
            detail = describe_errors(exc) if isinstance(exc, ValidationError) else "malformed"
            msg = f"the stored item fits no member of {label}: {detail}"
            raise UnfitItemError(msg) from None

    return ItemReader(label, members, validate)


def _union_members(
    model_class: object,
) -> tuple[tuple[type[DynamoDBBaseModel], ...], str | None]:
    annotation, discriminator = model_class, None
    if get_origin(annotation) is Annotated:
        annotation, *metadata = get_args(annotation)
        for entry in metadata:
            found = getattr(entry, "discriminator", None)
            if isinstance(found, str):
                discriminator = found
    members = get_args(annotation) if get_origin(annotation) in _UNIONS else ()
    if not members or not all(
        isinstance(member, type) and issubclass(member, DynamoDBBaseModel) for member in members
    ):
        msg = (
            "model_class must be a DynamoDBBaseModel subclass or a union of them "
            f"(e.g. Annotated[User | Order, Field(discriminator='kind')]), got {model_class!r}"
        )
        raise InvalidInputError(msg)
    return members, discriminator


def _members_by_tag(
    members: tuple[type[DynamoDBBaseModel], ...], discriminator: str
) -> dict[Any, tuple[str, type[DynamoDBBaseModel]]] | None:
    """Tag value -> (stored attribute name, member); None when a member's tag is not a Literal."""
    by_tag: dict[Any, tuple[str, type[DynamoDBBaseModel]]] = {}
    for member in members:
        field = member.model_fields.get(discriminator)
        if field is None or get_origin(field.annotation) is not Literal:
            return None
        stored = field.serialization_alias or field.alias or discriminator
        for tag in get_args(field.annotation):
            by_tag[tag] = (stored, member)
    return by_tag


def _tag_decoder(
    discriminator: str, by_tag: Mapping[Any, tuple[str, type[DynamoDBBaseModel]]]
) -> Callable[[Mapping[str, Any]], DynamoDBBaseModel]:
    stored_names = tuple(dict.fromkeys(stored for stored, _ in by_tag.values()))
    known = ", ".join(repr(tag) for tag in by_tag)

    def decode(raw: Mapping[str, Any]) -> DynamoDBBaseModel:
        for name in stored_names:
            value = raw.get(name)
            if value is None:
                continue
            tag = decode_item({name: value})[name]
            entry = by_tag.get(tag) if isinstance(tag, (str, int, bool)) else None
            if entry is not None and entry[0] == name:
                return model_decoder(entry[1])(raw)
            # The stored tag is not quoted: decode errors name no stored value.
            msg = f"the stored item's {discriminator!r} is none of {known}"
            raise UnfitItemError(msg)
        msg = f"the stored item has no {discriminator!r} to choose among {known}"
        raise UnfitItemError(msg)

    return decode
