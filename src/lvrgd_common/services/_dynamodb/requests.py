"""Request bodies for every operation, checked before sending.

Everything here is pure: it validates the input the way DynamoDB would (key sizes, item
size, limits, one operation per item) and raises `InvalidInputError` instead of letting a
request fail on the server. ``ReturnConsumedCapacity`` is not set here: the service adds
it in one place, to the requests of `CAPACITY_APIS`.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar

from lvrgd_common.models.dynamodb_base_model import KEY_ATTRIBUTES, DynamoDBBaseModel
from lvrgd_common.models.transaction_write_item import TransactionWriteItem
from lvrgd_common.models.versioned_model import VERSION_FIELD, VersionedModel
from lvrgd_common.services._dynamodb.apis import capacity_apis
from lvrgd_common.services._dynamodb.codec import (
    MAX_ITEM_BYTES,
    InvalidInputError,
    Item,
    encode_sized_item,
    item_size,
)
from lvrgd_common.services._dynamodb.codec.shape import shape_of
from lvrgd_common.services._dynamodb.errors import RefusedItemError
from lvrgd_common.services._dynamodb.expressions import ExpressionBuilder, named_attributes
from lvrgd_common.services._dynamodb.keys import Key, TableKeys
from lvrgd_common.services._dynamodb.reading import reader_of
from lvrgd_common.services._dynamodb.updates import (
    Change,
    plan_updates,
    version_change,
    version_name,
    versioned_names,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence

    from lvrgd_common.services._dynamodb.expressions import Conditions

__all__ = [
    "CAPACITY_APIS",
    "MAX_CLIENT_REQUEST_TOKEN",
    "MAX_TRANSACTION_ITEMS",
    "Key",
    "UpdateRequest",
    "batch_get_request",
    "batch_write_request",
    "check_keys",
    "check_model_class",
    "check_page_size",
    "check_unversioned",
    "delete_entry",
    "delete_request",
    "encoded_item",
    "encoded_keys",
    "get_request",
    "key_values",
    "put_entry",
    "put_request",
    "query_request",
    "refused_as_item",
    "save_request",
    "transact_get_items",
    "transact_get_request",
    "transact_write_items",
    "transact_write_request",
    "transaction_key_values",
    "unprocessed_get_keys",
    "unprocessed_write_keys",
    "update_request",
]

ModelT = TypeVar("ModelT", bound=DynamoDBBaseModel)

MAX_TRANSACTION_ITEMS: Final = 100
MAX_CLIENT_REQUEST_TOKEN: Final = 36

# The APIs that take ReturnConsumedCapacity (DescribeTable does not): `apis` says.
CAPACITY_APIS: Final = capacity_apis()


def check_model_class(model_class: object) -> None:
    """Refuse anything but a `DynamoDBBaseModel` subclass as the class to decode into."""
    if not (isinstance(model_class, type) and issubclass(model_class, DynamoDBBaseModel)):
        msg = f"model_class must be a DynamoDBBaseModel subclass, got {model_class!r}"
        raise InvalidInputError(msg)


def check_page_size(limit: object, name: str = "limit") -> None:
    """Refuse a page size that is not None or a positive int."""
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        msg = f"{name} must be None or a positive integer, got {limit!r}"
        raise InvalidInputError(msg)


def check_keys(table_keys: TableKeys, keys: Iterable[object]) -> list[Key]:
    """Every key as a checked ``(pk, sk)`` pair, in order (repeats kept).

    Raises:
        RefusedItemError: A key that is no pair or does not fit the schema, named by index.
    """
    checked: list[Key] = []
    for index, key in enumerate(keys):
        with refused_as_item(index, key):
            checked.append(table_keys.checked(*_pair(key)))
    return checked


def encoded_keys(table_keys: TableKeys, keys: Iterable[object]) -> dict[Key, Item]:
    """Each distinct ``(pk, sk)`` pair, checked, in order of first mention -> its stored key.

    Raises:
        RefusedItemError: A key that is no pair or does not fit the schema, named by index.
    """
    encoded: dict[Key, Item] = {}
    for index, key in enumerate(keys):
        with refused_as_item(index, key):
            pair = _pair(key)
            stored = table_keys.encode(*pair)  # checked before it is hashed: a list is refused
        encoded.setdefault(pair, stored)
    return encoded


@contextmanager
def refused_as_item(index: int, item: object) -> Iterator[None]:
    """Name the item (its index in the input and its keys) when it is refused."""
    try:
        yield
    except RefusedItemError:
        raise
    except InvalidInputError as exc:
        if isinstance(item, tuple) and len(item) == 2:  # noqa: PLR2004 - a key pair
            pk, sk = item
        else:
            pk, sk = getattr(item, "pk", None), getattr(item, "sk", None)
        raise RefusedItemError(index, pk, sk, exc) from exc


def _pair(key: object) -> Key:
    """A ``(pk, sk)`` pair, any bytes-like part as bytes (hashable, and compared as bytes)."""
    if not isinstance(key, tuple) or len(key) != 2:  # noqa: PLR2004 - a pair
        msg = f"keys must be (pk, sk) tuples, got {key!r}"
        raise InvalidInputError(msg)
    pk, sk = key
    if isinstance(pk, (bytearray, memoryview)):
        pk = bytes(pk)
    if isinstance(sk, (bytearray, memoryview)):
        sk = bytes(sk)
    return pk, sk


def key_values(keys: Iterable[object]) -> list[object]:
    """Every pk and sk value among ``keys`` (to tell whether the key schema is needed)."""
    return [value for key in keys if isinstance(key, tuple) for value in key]


def encoded_item(item: object, table_keys: TableKeys) -> tuple[Key, Item]:
    """The key and encoded form of a model, checked against DynamoDB's limits.

    Raises:
        InvalidInputError: Not a model, bad keys, unstorable values, or over 400 KB.
    """
    if not isinstance(item, DynamoDBBaseModel):
        msg = f"expected a DynamoDBBaseModel instance, got {type(item).__name__}"
        raise InvalidInputError(msg)
    pk, sk = item.pk, item.sk
    stored_key = table_keys.encode(pk, sk)
    encoded, size = encode_sized_item(item)
    # Whether the encoded model holds the stored key, names and values, compared in C.
    if not table_keys.is_default or not stored_key.items() <= encoded.items():
        # The table stores the key under other names or types than the model: measure
        # the item as it will be sent.
        stored = shape_of(type(item)).stored
        model_names = (stored["pk"], stored["sk"])
        size = item_size(table_keys.with_key(encoded, stored_key, model_names))
    if size > MAX_ITEM_BYTES:
        msg = f"the item is {size} bytes; DynamoDB stores at most {MAX_ITEM_BYTES}"
        raise InvalidInputError(msg)
    return (pk, sk), encoded


def _with_conditions(
    request: dict[str, Any],
    builder: ExpressionBuilder,
    table_keys: TableKeys,
    conditions: Conditions,
    required: Sequence[str] = (),
) -> dict[str, Any]:
    if conditions:
        table_keys.check_stored_names(named_attributes(conditions), "a condition")
    clauses = [*required, *builder.conditions(conditions)]
    if clauses:
        request["ConditionExpression"] = " AND ".join(clauses)
    return builder.apply(request)


def get_request(
    table: str, table_keys: TableKeys, key: Key, *, consistent_read: bool = False
) -> dict[str, Any]:
    """A GetItem of one key."""
    request: dict[str, Any] = {"TableName": table, "Key": table_keys.encode(*key)}
    if consistent_read:
        request["ConsistentRead"] = True
    return request


def query_request(
    table: str,
    index_name: str | None,
    *,
    is_global: bool,
    scan_forward: bool,
    consistent_read: bool,
) -> dict[str, Any]:
    """The part of a Query that every range and page of it shares.

    Raises:
        InvalidInputError: A consistent read asked of a global secondary index.
    """
    request: dict[str, Any] = {"TableName": table}
    if index_name is not None:
        request["IndexName"] = index_name
    if not scan_forward:
        request["ScanIndexForward"] = False
    if consistent_read:
        if is_global:
            msg = f"consistent reads are not supported on global secondary index {index_name!r}"
            raise InvalidInputError(msg)
        request["ConsistentRead"] = True
    return request


def put_entry(item: Item) -> dict[str, Any]:
    """A BatchWriteItem entry that puts an encoded item."""
    return {"PutRequest": {"Item": item}}


def delete_entry(table_keys: TableKeys, key: Key) -> dict[str, Any]:
    """A BatchWriteItem entry that deletes one (checked) key."""
    return {"DeleteRequest": {"Key": table_keys.encode(*key)}}


def batch_write_request(table: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A BatchWriteItem of at most 25 entries."""
    return {"RequestItems": {table: entries}}


def unprocessed_write_keys(
    response: Mapping[str, Any], table: str, table_keys: TableKeys
) -> list[Key]:
    """The keys of the BatchWriteItem entries DynamoDB left unprocessed."""
    keys: list[Key] = []
    for entry in response.get("UnprocessedItems", {}).get(table, []):
        if "PutRequest" in entry:
            item = entry["PutRequest"]["Item"]
        else:
            item = entry["DeleteRequest"]["Key"]
        keys.append(table_keys.key_of(item))
    return keys


def batch_get_request(
    table: str, keys: list[Item], *, consistent_read: bool = False
) -> dict[str, Any]:
    """A BatchGetItem of at most 100 stored keys (`encoded_keys`)."""
    request: dict[str, Any] = {"Keys": keys}
    if consistent_read:
        request["ConsistentRead"] = True
    return {"RequestItems": {table: request}}


def unprocessed_get_keys(
    response: Mapping[str, Any], table: str, table_keys: TableKeys
) -> list[Key]:
    """The keys of a BatchGetItem that DynamoDB left unprocessed."""
    unprocessed = response.get("UnprocessedKeys", {}).get(table, {})
    return [table_keys.key_of(key) for key in unprocessed.get("Keys", [])]


def put_request(
    table: str,
    table_keys: TableKeys,
    item: Item,
    conditions: Conditions = (),
    expected_version: int | None = None,
    version_attribute: str = VERSION_FIELD,
    model_class: type[DynamoDBBaseModel] | None = None,
) -> dict[str, Any]:
    """A Put (PutItem or transaction entry) of an encoded item.

    With ``expected_version``, the stored item must have that version (none, for 0) in
    ``version_attribute``. Condition values are sent in ``model_class``'s stored form.
    """
    builder = ExpressionBuilder(model_class)
    required = (
        []
        if expected_version is None
        else [_version_check(builder, version_attribute, expected_version)]
    )
    request = {"TableName": table, "Item": item}
    return _with_conditions(request, builder, table_keys, conditions, required)


def save_request(
    table: str, table_keys: TableKeys, item: ModelT, conditions: Conditions = ()
) -> tuple[ModelT, dict[str, Any]]:
    """The model as it will be stored, and the Put that stores it.

    A `VersionedModel` is stored with its version advanced by one, on condition that the
    stored version is the item's (optimistic locking).

    Raises:
        InvalidInputError: Not a model, bad keys, unstorable values, or over 400 KB.
    """
    if not isinstance(item, VersionedModel):
        _, encoded = encoded_item(item, table_keys)
        return item, put_request(table, table_keys, encoded, conditions, model_class=type(item))
    expected = item.version
    if isinstance(expected, bool) or not isinstance(expected, int) or expected < 0:
        msg = f"version must be a whole number >= 0, got {expected!r}"
        raise InvalidInputError(msg)
    saved = item.model_copy(update={VERSION_FIELD: expected + 1})
    _, encoded = encoded_item(saved, table_keys)
    return saved, put_request(
        table,
        table_keys,
        encoded,
        conditions,
        expected,
        version_name(type(item)),
        model_class=type(item),
    )


def check_unversioned(item: object) -> None:
    """Refuse a `VersionedModel` where no condition can be checked (batch writes)."""
    if isinstance(item, VersionedModel):
        msg = (
            f"batch_write cannot check the version of {type(item).__name__} items "
            "(BatchWriteItem takes no conditions); save them with save or transact_write"
        )
        raise InvalidInputError(msg)


def delete_request(
    table: str, table_keys: TableKeys, key: Key, conditions: Conditions = ()
) -> dict[str, Any]:
    """A Delete of one key."""
    request = {"TableName": table, "Key": table_keys.encode(*key)}
    return _with_conditions(request, ExpressionBuilder(), table_keys, conditions)


@dataclass(frozen=True, slots=True)
class UpdateRequest:
    """An UpdateItem request and how to read its failed condition.

    ``guarded``: the update may fail for more than the item's absence (the caller's
    conditions, a version check, a field's bounds). ``version_names``: a plain update is
    refused on a versioned item, which holds a number under one of these names (it would
    leave the version behind, and a save from a stale copy would then win), unless it sets
    that attribute itself.
    """

    request: dict[str, Any]
    guarded: bool
    version_names: tuple[str, ...] = ()


def update_request(
    table: str,
    table_keys: TableKeys,
    key: Key,
    updates: Mapping[Any, Any],
    conditions: Conditions = (),
    model_class: object = None,
) -> UpdateRequest:
    """An Update of an item that must exist: SET, REMOVE, ADD and DELETE as ``updates`` say.

    With ``model_class``, keys are field names and values are checked against the fields;
    the response carries the item as it is after the update. For a `VersionedModel`, the
    stored version advances by one, and must first equal ``updates["version"]`` if given.
    A union of model classes takes the updates its members store alike. Without it, the
    update holds on condition that the item is not versioned (see `UpdateRequest`).

    Raises:
        InvalidInputError: Bad updates (empty, a key attribute, overlapping paths, a bad
            action, an unknown field, a value the field does not take, members of a union
            that would store them differently).
    """
    encoded_key = table_keys.encode(*key)
    key_names = KEY_ATTRIBUTES | set(table_keys.names)
    if model_class is None:
        changes, expected = plan_updates(updates, key_names), None
    else:
        changes, expected = _planned_for_members(updates, key_names, reader_of(model_class).members)
    builder = ExpressionBuilder(model_class if isinstance(model_class, type) else None)
    request: dict[str, Any] = {
        "TableName": table,
        "Key": encoded_key,
        "UpdateExpression": builder.changes(changes),
    }
    if model_class is not None:
        request["ReturnValues"] = "ALL_NEW"
    required = [f"attribute_exists({builder.name(table_keys.partition_name)})"]
    if expected is not None:
        required.append(_version_check(builder, *expected))
    required += builder.guards(changes)
    guarded = len(required) > 1 or bool(conditions)
    # A plain update that sets a version attribute itself manages the version by hand.
    named = {key if isinstance(key, str) else key[0] for key in updates} if updates else set()
    names = tuple(n for n in versioned_names() if n not in named) if model_class is None else ()
    if names:
        number = builder.value({"S": "N"})
        required += [f"NOT attribute_type({builder.name(name)}, {number})" for name in names]
    request = _with_conditions(request, builder, table_keys, conditions, required)
    return UpdateRequest(request, guarded=guarded, version_names=names)


_Plan: TypeAlias = tuple[list[Change], tuple[str, int] | None]


def _planned_for_members(
    updates: Mapping[Any, Any],
    key_names: Collection[str],
    members: tuple[type[DynamoDBBaseModel], ...],
) -> _Plan:
    """The changes (and the version to check) that every member taking the updates agrees on.

    A member that cannot take them (no such field...) is left out: an item of that member
    would not be updated this way. At least one must take them, and those that do must
    store them alike.
    """
    plans: list[_Plan] = []
    refusals: list[InvalidInputError] = []
    for member in members:
        try:
            plans.append(_planned(updates, key_names, member))
        except InvalidInputError as exc:
            refusals.append(exc)
    if not plans:
        raise refusals[0]
    if any(plan != plans[0] for plan in plans[1:]):
        msg = (
            "the members of the model_class union would store these updates differently "
            "(other names, types or version handling); pass the member's own class"
        )
        raise InvalidInputError(msg)
    return plans[0]


def _planned(
    updates: Mapping[Any, Any], key_names: Collection[str], model_class: type[DynamoDBBaseModel]
) -> _Plan:
    others, version, expected = version_change(updates, model_class)
    # Only the version may be named: the update checks and advances it, nothing else.
    changes = (
        [] if version is not None and not others else plan_updates(others, key_names, model_class)
    )
    if version is not None:
        changes.append(version)
    check = None if expected is None else (version_name(model_class), expected)
    return changes, check


def _version_check(builder: ExpressionBuilder, attribute: str, expected: int) -> str:
    name = builder.name(attribute)
    if expected == 0:
        return f"attribute_not_exists({name})"
    return f"{name} = {builder.value({'N': str(expected)})}"


def _transaction_entry(
    table: str, table_keys: TableKeys, operation: TransactionWriteItem
) -> dict[str, Any]:
    if operation.item is not None:
        _, put = save_request(table, table_keys, operation.item, operation.conditions)
        return {"Put": put}
    key = operation.key
    if operation.operation == "update":
        updates = operation.updates or {}
        update = update_request(
            table, table_keys, key, updates, operation.conditions, operation.model_class
        ).request
        update.pop("ReturnValues", None)  # a transaction returns no items
        return {"Update": update}
    if operation.operation == "delete":
        return {"Delete": delete_request(table, table_keys, key, operation.conditions)}
    return {"ConditionCheck": delete_request(table, table_keys, key, operation.conditions)}


def transaction_key_values(operations: Sequence[object]) -> list[object]:
    """Every pk and sk value the operations name (to tell whether the schema is needed)."""
    values: list[object] = []
    for operation in operations:
        if isinstance(operation, TransactionWriteItem):
            values.extend(operation.key)
    return values


def transact_write_items(
    table: str, table_keys: TableKeys, operations: Sequence[TransactionWriteItem]
) -> list[dict[str, Any]]:
    """TransactItems for TransactWriteItems.

    Raises:
        InvalidInputError: Over 100 operations, an item named twice, or a bad operation.
    """
    _check_transaction_size(len(operations))
    seen: set[Key] = set()
    entries: list[dict[str, Any]] = []
    for index, operation in enumerate(operations):
        with refused_as_item(index, getattr(operation, "key", None)):
            if not isinstance(operation, TransactionWriteItem):
                msg = f"expected TransactionWriteItem, got {type(operation).__name__}"
                raise InvalidInputError(msg)
            key = table_keys.checked(*operation.key)
            if key in seen:
                msg = f"the transaction names item {key!r} more than once"
                raise InvalidInputError(msg)
            seen.add(key)
            entries.append(_transaction_entry(table, table_keys, operation))
    return entries


def transact_write_request(
    table: str,
    table_keys: TableKeys,
    operations: Sequence[TransactionWriteItem],
    client_request_token: str | None = None,
) -> dict[str, Any]:
    """A TransactWriteItems request.

    Raises:
        InvalidInputError: As `transact_write_items`, or a token of a bad length.
    """
    request: dict[str, Any] = {"TransactItems": transact_write_items(table, table_keys, operations)}
    if client_request_token is not None:
        if not 1 <= len(client_request_token) <= MAX_CLIENT_REQUEST_TOKEN:
            msg = f"client_request_token must be 1 to {MAX_CLIENT_REQUEST_TOKEN} characters"
            raise InvalidInputError(msg)
        request["ClientRequestToken"] = client_request_token
    return request


def transact_get_request(
    table: str, table_keys: TableKeys, keys: Sequence[object]
) -> dict[str, Any]:
    """A TransactGetItems request (with no items when ``keys`` is empty).

    Raises:
        InvalidInputError: As `transact_get_items`.
    """
    return {"TransactItems": transact_get_items(table, table_keys, keys)}


def transact_get_items(
    table: str, table_keys: TableKeys, keys: Sequence[object]
) -> list[dict[str, Any]]:
    """TransactItems for TransactGetItems.

    Raises:
        InvalidInputError: Over 100 keys, a key named twice, or a bad key.
    """
    _check_transaction_size(len(keys))
    checked = check_keys(table_keys, keys)
    if len(set(checked)) != len(checked):
        msg = "the transaction names an item more than once"
        raise InvalidInputError(msg)
    return [{"Get": {"TableName": table, "Key": table_keys.encode(pk, sk)}} for pk, sk in checked]


def _check_transaction_size(size: int) -> None:
    if size > MAX_TRANSACTION_ITEMS:
        msg = f"{size} operations; a DynamoDB transaction takes at most {MAX_TRANSACTION_ITEMS}"
        raise InvalidInputError(msg)
