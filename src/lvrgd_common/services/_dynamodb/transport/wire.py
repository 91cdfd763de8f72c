"""botocore's JSON serializer and parser, with DynamoDB AttributeValues passed through.

The codec already builds and reads DynamoDB's AttributeValue form, which is also its JSON
wire form. botocore would walk every attribute of every item through its shape model once
more on the way out and once more on the way back, copying each: about half of a batch
write's client CPU and most of a query's. These subclasses hand AttributeValues to and from
``json`` as they are. The one difference on the way back: binary values (``B``, ``BS``) stay
base64 text, which `codec.decode_value` accepts as well as bytes. On the way out, an
AttributeValue holding bytes goes through botocore's own path, which base64-encodes them;
the item's other attributes still pass through one by one (the structure override). On the
way back every AttributeValue of a DynamoDB response sits in a map (``Item``, ``Items``,
``Attributes``, keys, ``Responses``), so the map override covers them all.

Everything else (other shapes, errors, signing, retries) is botocore's, unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from aiobotocore.parsers import AioJSONParser, AioResponseParserFactory
from botocore.serialize import JSONSerializer

if TYPE_CHECKING:
    from botocore.model import Shape

__all__ = ["PassThroughParser", "PassThroughParserFactory", "PassThroughSerializer", "json_ready"]

_ATTRIBUTE_VALUE: Final = "AttributeValue"
_BINARY: Final = frozenset({"B", "BS"})


def json_ready(value: Any) -> bool:  # noqa: ANN401 - an AttributeValue, or anything
    """Whether an AttributeValue is plain JSON already: no bytes anywhere inside."""
    if not isinstance(value, dict):
        return False
    for tag, raw in value.items():
        if tag in _BINARY:
            return False
        if tag == "M":
            if not all(json_ready(element) for element in raw.values()):
                return False
        elif tag == "L" and not all(json_ready(element) for element in raw):
            return False
    return True


def _holds_attribute_values(shape: Shape) -> bool:
    value = getattr(shape, "value", None)  # a MapShape's value shape
    return value is not None and value.name == _ATTRIBUTE_VALUE


class PassThroughSerializer(JSONSerializer):
    """botocore's JSON serializer, copying AttributeValues without walking them."""

    def _serialize_type_map(
        self, serialized: dict[str, Any], value: dict[str, Any], shape: Shape, key: str
    ) -> None:
        if _holds_attribute_values(shape) and all(json_ready(v) for v in value.values()):
            serialized[key] = value
            return
        super()._serialize_type_map(serialized, value, shape, key)  # type: ignore[misc]

    def _serialize_type_structure(
        self,
        serialized: dict[str, Any],
        value: Any,  # noqa: ANN401 - what the caller passed
        shape: Shape,
        key: str | None,
    ) -> None:
        if key is not None and shape.name == _ATTRIBUTE_VALUE and json_ready(value):
            serialized[key] = value
            return
        super()._serialize_type_structure(serialized, value, shape, key)  # type: ignore[misc]


class PassThroughParser(AioJSONParser):
    """aiobotocore's JSON parser, returning AttributeValues as ``json`` decoded them."""

    def _handle_map(self, shape: Shape, value: Any) -> Any:  # noqa: ANN401
        if _holds_attribute_values(shape) and isinstance(value, dict):
            return value
        return super()._handle_map(shape, value)  # type: ignore[misc]


class PassThroughParserFactory(AioResponseParserFactory):
    """Creates the pass-through parser for the JSON protocol, botocore's for the others."""

    def create_parser(self, protocol_name: str) -> Any:  # noqa: ANN401
        """A parser for ``protocol_name``."""
        if protocol_name == "json":
            return PassThroughParser(**self._defaults)  # type: ignore[attr-defined]
        return super().create_parser(protocol_name)
