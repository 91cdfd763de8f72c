"""The table's primary key: attribute names, types, and key values checked against them.

Models always call their key fields ``pk`` and ``sk``; the table stores them under the
names the configuration gives (``PK``/``SK``, ``user_id``...). Key values may be strings
(S), numbers (N: ``int`` or ``Decimal``) or bytes (B). Until DescribeTable has been read,
only the names are known and a value's type is taken from its Python type; once read,
every value is checked against the table's own types before anything is sent.

A key's identity (for de-duplicating and matching unprocessed batch keys) is its Python
value: numbers compare by value (``5 == Decimal("5.0")``), bytes as bytes.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from lvrgd_common.services._dynamodb.codec import (
    MAX_PARTITION_KEY_BYTES,
    MAX_SORT_KEY_BYTES,
    AttributeValue,
    CodecError,
    InvalidInputError,
    Item,
    encode_value,
    is_utf8,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from lvrgd_common.models.dynamodb_base_model import KeyValue
    from lvrgd_common.models.dynamodb_config import DynamoDBConfig

__all__ = [
    "DEFAULT_NAMES",
    "Key",
    "KeySchemaError",
    "TableKeys",
    "comparable",
    "decoded_key_value",
    "encode_key_value",
    "key_value_from_json",
    "key_value_to_json",
    "kind_of",
    "sendable_key",
]

Key: TypeAlias = tuple[Any, Any]
"""``(pk, sk)`` as Python values; ``sk`` is None on a table without a sort key."""

DEFAULT_NAMES: Final = ("pk", "sk")
_TYPE_NAMES: Final = {"S": "a string", "N": "a number (int or Decimal)", "B": "bytes"}
_STRING_TYPES: Final = frozenset({None, "S"})  # unknown until DescribeTable, or strings


class KeySchemaError(InvalidInputError):
    """A key that does not fit the table's key schema; the message names the schema."""


def kind_of(value: object) -> str | None:
    """The DynamoDB key type a Python value would be stored as: S, N, B, or None."""
    if isinstance(value, str):
        return "S"
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return "N"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "B"
    return None


def encode_key_value(value: object, attribute_type: str | None, role: str) -> AttributeValue:
    """``value`` as a key AttributeValue of ``attribute_type`` (None: by its Python type).

    Raises:
        InvalidInputError: The value is of another type, empty, too long or not storable.
    """
    kind = kind_of(value)
    expected = attribute_type or kind
    if kind is None or kind != expected:
        wanted = _TYPE_NAMES.get(expected or "", "a string, a number or bytes")
        msg = f"{role} must be {wanted}, got {value!r}"
        raise InvalidInputError(msg)
    limit = MAX_SORT_KEY_BYTES if role.startswith("sk") else MAX_PARTITION_KEY_BYTES
    if kind == "S":
        text: str = value  # type: ignore[assignment]
        if not text:
            msg = f"{role} must be a non-empty string"
            raise InvalidInputError(msg)
        if not is_utf8(text):
            msg = f"{role} must be valid Unicode (a lone surrogate has no UTF-8 form)"
            raise InvalidInputError(msg)
        # Cheap length test first: a string of n characters has at most 4n UTF-8 bytes.
        if len(text) * 4 > limit and len(text.encode()) > limit:
            msg = f"{role} is longer than {limit} bytes"
            raise InvalidInputError(msg)
        return {"S": text}
    if kind == "B":
        blob = bytes(value)  # type: ignore[call-overload]
        if not blob:
            msg = f"{role} must not be empty bytes"
            raise InvalidInputError(msg)
        if len(blob) > limit:
            msg = f"{role} is longer than {limit} bytes"
            raise InvalidInputError(msg)
        return {"B": blob}
    try:
        encoded = encode_value(value, role)
    except CodecError as exc:
        raise InvalidInputError(str(exc)) from exc
    assert encoded is not None  # noqa: S101 - a number always encodes
    return encoded


def decoded_key_value(value: AttributeValue) -> str | Decimal | bytes:
    """A stored key attribute as a Python value: str, Decimal or bytes."""
    if "S" in value:
        text: str = value["S"]
        return text
    if "N" in value:
        return Decimal(value["N"])
    raw = value["B"]
    return base64.b64decode(raw, validate=True) if isinstance(raw, str) else bytes(raw)


def comparable(value: AttributeValue) -> str | Decimal | bytes:
    """A key AttributeValue as a Python value that sorts the way DynamoDB sorts it."""
    return decoded_key_value(value)


def sendable_key(key: Mapping[str, AttributeValue] | None) -> Item | None:
    """A key from a response, ready to send back (``ExclusiveStartKey``).

    The pass-through parser leaves binary values as base64 text; sent as text, botocore
    would encode them once more and the server would not know the key.
    """
    if key is None:
        return None
    return {
        name: {"B": base64.b64decode(value["B"])}
        if "B" in value and isinstance(value["B"], str)
        else value
        for name, value in key.items()
    }


def key_value_to_json(value: AttributeValue) -> str | int:
    """A key attribute in a cursor's JSON form.

    S is the string itself; N an int when integral, else the number's text; B base64.
    The table's key types say how to read them back (`key_value_from_json`).
    """
    if "S" in value:
        text: str = value["S"]
        return text
    if "N" in value:
        number = Decimal(value["N"])
        return int(number) if number == number.to_integral_value() else str(value["N"])
    raw = value["B"]
    blob = base64.b64decode(raw, validate=True) if isinstance(raw, str) else bytes(raw)
    return base64.b64encode(blob).decode("ascii")


def key_value_from_json(value: object, attribute_type: str, role: str) -> AttributeValue:
    """The AttributeValue of a cursor's JSON key value, for an attribute of that type.

    Raises:
        InvalidInputError: The value is not of the attribute's JSON form.
    """
    if kind_of(value) is None:
        msg = f"{role} must be a string or an integer, as a page returned it, got {value!r}"
        raise InvalidInputError(msg)
    if attribute_type == "N" and isinstance(value, str):
        try:
            value = Decimal(value)
        except InvalidOperation:
            msg = f"{role} must be a number, got {value!r}"
            raise InvalidInputError(msg) from None
    elif attribute_type == "B" and isinstance(value, str):
        try:
            value = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            msg = f"{role} must be base64 text of a binary key, got {value!r}"
            raise InvalidInputError(msg) from None
    return encode_key_value(value, attribute_type, role)


@dataclass(frozen=True, slots=True)
class TableKeys:
    """The table's key attribute names and, once read from DescribeTable, their types.

    ``problem`` is set when the configured names contradict the table: every key
    operation is then refused with it.
    """

    partition_name: str
    sort_name: str | None
    partition_type: str | None = None
    sort_type: str | None = None
    known: bool = False
    problem: str | None = None

    @classmethod
    def configured(cls, config: DynamoDBConfig) -> TableKeys:
        """The names the configuration gives; types unknown until the table is read."""
        return cls(config.partition_key_name, config.sort_key_name)

    @classmethod
    def of_table(
        cls, config: DynamoDBConfig, key_schema: list[Mapping[str, str]], types: Mapping[str, str]
    ) -> TableKeys:
        """The table's keys as DescribeTable gives them, checked against the configuration."""
        roles = {element["KeyType"]: element["AttributeName"] for element in key_schema}
        hash_name = roles["HASH"]
        range_name = roles.get("RANGE")
        keys = cls(
            hash_name,
            range_name,
            types.get(hash_name, "S"),
            types.get(range_name, "S") if range_name else None,
            known=True,
        )
        configured = (config.partition_key_name, config.sort_key_name)
        if configured != (hash_name, range_name):
            problem = (
                f"the configuration names the keys {_names(*configured)}, but {keys.schema}; "
                "set DynamoDBConfig.partition_key_name and sort_key_name to the table's names"
            )
            return cls(
                hash_name,
                range_name,
                keys.partition_type,
                keys.sort_type,
                known=True,
                problem=problem,
            )
        return keys

    @property
    def is_default(self) -> bool:
        """Strings named ``pk``/``sk``: the layout that needs no DescribeTable."""
        return (self.partition_name, self.sort_name) == DEFAULT_NAMES

    @property
    def names(self) -> tuple[str, ...]:
        """The key attribute names, partition key first."""
        return (self.partition_name, self.sort_name) if self.sort_name else (self.partition_name,)

    @property
    def schema(self) -> str:
        """The key schema in words, for error messages."""
        partition = f"partition key {self.partition_name!r}"
        if self.partition_type:
            partition += f" ({self.partition_type})"
        if self.sort_name is None:
            sort = "no sort key"
        else:
            sort = f"sort key {self.sort_name!r}"
            if self.sort_type:
                sort += f" ({self.sort_type})"
        return f"the table's key schema is {partition}, {sort}"

    def check_stored_names(self, names: Collection[str], where: str) -> None:
        """Refuse ``pk``/``sk`` in a condition or filter where the table renames the keys.

        Such a name is never stored, so the check would silently hold (a create-only save
        would overwrite) or never match.

        Raises:
            InvalidInputError: ``names`` holds a model key field the table renames.
        """
        for field, stored in zip(DEFAULT_NAMES, (self.partition_name, self.sort_name), strict=True):
            if field not in names or field == stored:
                continue
            if stored is None:
                msg = f"{where} names {field!r}, but the table has no sort key ({self.schema})"
            else:
                msg = (
                    f"{where} names {field!r}, which this table stores as {stored!r}: "
                    f"conditions and filters name stored attributes, so write {stored!r}"
                )
            raise InvalidInputError(msg)

    def needs_schema(self, *values: object) -> bool:
        """Whether DescribeTable must be read before these key values can be checked.

        The default layout (``pk``/``sk`` with string values) is sent without it: a table
        of another schema refuses such a request, and nothing is stored.
        """
        if self.known:
            return False
        return not self.is_default or any(kind_of(value) in {"N", "B"} for value in values)

    def encode(self, pk: object, sk: object) -> Item:
        """The primary key of an item, checked against the schema.

        Raises:
            KeySchemaError: A value of the wrong type, or a sort key given or missing.
        """
        if (
            type(pk) is str
            and type(sk) is str
            and pk.isascii()
            and sk.isascii()
            and 0 < len(pk) <= MAX_PARTITION_KEY_BYTES
            and 0 < len(sk) <= MAX_SORT_KEY_BYTES
            and self.problem is None
            and self.sort_name is not None
            and self.partition_type in _STRING_TYPES
            and self.sort_type in _STRING_TYPES
        ):
            # The common key, two short ASCII strings: nothing left to check.
            return {self.partition_name: {"S": pk}, self.sort_name: {"S": sk}}
        return dict(zip(self.names, self.encoded_values(pk, sk), strict=True))

    def encoded_values(self, pk: object, sk: object) -> tuple[AttributeValue, ...]:
        """The key's AttributeValues, partition key first (one without a sort key)."""
        if self.problem is not None:
            raise KeySchemaError(self.problem)
        try:
            return self._encoded_values(pk, sk)
        except InvalidInputError as exc:
            msg = f"{exc} ({self.schema})"
            raise KeySchemaError(msg) from None

    def _encoded_values(self, pk: object, sk: object) -> tuple[AttributeValue, ...]:
        partition = encode_key_value(pk, self.partition_type, "pk")
        if self.sort_name is None:
            if sk is not None:
                msg = f"sk must be None: the table has no sort key, got {sk!r}"
                raise InvalidInputError(msg)
            return (partition,)
        if sk is None:
            msg = "sk is required: the table has a sort key"
            raise InvalidInputError(msg)
        return (partition, encode_key_value(sk, self.sort_type, "sk"))

    def checked(self, pk: object, sk: object) -> Key:
        """``(pk, sk)`` when it fits the schema.

        Raises:
            KeySchemaError: It does not.
        """
        self.encoded_values(pk, sk)
        return (pk, sk)

    def key_of(self, item: Mapping[str, AttributeValue]) -> Key:
        """The key of a stored (or sent) item as Python values, equal to the key given."""
        sort = None if self.sort_name is None else decoded_key_value(item[self.sort_name])
        return (decoded_key_value(item[self.partition_name]), sort)

    def with_key(
        self, encoded: Item, key: Item, model_names: tuple[str, str] = DEFAULT_NAMES
    ) -> Item:
        """An encoded model with ``key`` (from `encode`) in place of its own pk and sk.

        ``model_names``: the names the model dumps its key fields under (an alias
        generator renames them); where the table stores its keys under other names,
        those are dropped, so that a key is never stored twice.
        """
        for name in model_names:
            if name not in key:
                encoded.pop(name, None)
        encoded.update(key)
        return encoded

    def loaded(self, raw: Mapping[str, AttributeValue]) -> Mapping[str, AttributeValue]:
        """A stored item with its key attributes renamed to the model's ``pk``/``sk``."""
        if self.is_default:
            return raw
        item = dict(raw)
        partition = item.pop(self.partition_name, None)
        if partition is not None:
            item["pk"] = partition
        if self.sort_name is not None:
            sort = item.pop(self.sort_name, None)
            if sort is not None:
                item["sk"] = sort
        return item

    def key_values_of(
        self, raw: Mapping[str, AttributeValue]
    ) -> tuple[KeyValue | None, KeyValue | None]:
        """``(pk, sk)`` of a stored item for error messages; None where absent or odd."""
        values: list[KeyValue | None] = []
        for name in (self.partition_name, self.sort_name):
            value = raw.get(name) if name else None
            try:
                values.append(None if value is None else _plain(value))
            except (KeyError, ValueError, TypeError):
                values.append(None)
        return values[0], values[1]


def _plain(value: AttributeValue) -> KeyValue:
    decoded = decoded_key_value(value)
    if isinstance(decoded, Decimal) and decoded == decoded.to_integral_value():
        return int(decoded)
    return decoded


def _names(partition: str, sort: str | None) -> str:
    return f"{partition!r}/{sort!r}" if sort else f"{partition!r} (no sort key)"
