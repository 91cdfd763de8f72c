"""Stream records -> `ChangeEvent`: the one codec's reader applied to each image.

A record comes in two forms: as AWS Lambda delivers it (JSON: binary values in base64,
``ApproximateCreationDateTime`` a number of epoch seconds, ``userIdentity`` with lower-case
keys) and as botocore parses GetRecords (bytes, an aware datetime, upper-case keys). Both
are decoded here; images go through `reading.reader_of`, the same reader every read uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypeVar, cast, overload

from lvrgd_common.exceptions.dynamodb_exceptions import (
    DynamoDBDecodeError,
    DynamoDBValidationError,
)
from lvrgd_common.services._dynamodb.codec import InvalidInputError, decode_item
from lvrgd_common.services._dynamodb.keys import TableKeys
from lvrgd_common.services._dynamodb.reading import UnfitItemError, reader_of

if TYPE_CHECKING:
    from lvrgd_common.services._dynamodb.reading import ItemReader

__all__ = [
    "ChangeEvent",
    "EventName",
    "batch_item_failures",
    "decode_lambda_event",
    "decode_record",
]

T = TypeVar("T")

EventName = Literal["INSERT", "MODIFY", "REMOVE"]
_EVENT_NAMES: Final = frozenset({"INSERT", "MODIFY", "REMOVE"})
# Who deletes an item whose time to live has passed (AWS: "Service" / this principal).
_TTL_PRINCIPAL: Final = "dynamodb.amazonaws.com"


@dataclass(frozen=True, slots=True)
class ChangeEvent(Generic[T]):
    """One change of one item, as DynamoDB Streams recorded it.

    Attributes:
        event_name: ``"INSERT"``, ``"MODIFY"`` or ``"REMOVE"``.
        keys: The item's key attributes as plain values, under their stored names.
        new: The item after the change; None for REMOVE and when the stream's view type
            carries no new image (``KEYS_ONLY``, ``OLD_IMAGE``).
        old: The item before the change; None for INSERT and when the view type carries
            no old image (``KEYS_ONLY``, ``NEW_IMAGE``).
        sequence_number: The record's sequence number within its shard (a string of
            digits): unique per change, so a handler can use it to make itself idempotent.
        approximate_creation_time: When the change was made (aware, UTC).
        expired: True for a REMOVE that DynamoDB's time to live made.
        event_id: The record's ``eventID``.
        shard_id: The shard the record was read from (None for Lambda events).
    """

    event_name: EventName
    keys: dict[str, Any]
    new: T | None
    old: T | None
    sequence_number: str
    approximate_creation_time: dt.datetime
    expired: bool = False
    event_id: str | None = None
    shard_id: str | None = None


@overload
def decode_lambda_event(
    event: Mapping[str, Any],
    model_class: type[T],
    *,
    partition_key_name: str = "pk",
    sort_key_name: str | None = "sk",
) -> list[ChangeEvent[T]]: ...
@overload
def decode_lambda_event(
    event: Mapping[str, Any],
    model_class: object,
    *,
    partition_key_name: str = "pk",
    sort_key_name: str | None = "sk",
) -> list[ChangeEvent[Any]]: ...


def decode_lambda_event(
    event: Mapping[str, Any],
    model_class: object,
    *,
    partition_key_name: str = "pk",
    sort_key_name: str | None = "sk",
) -> list[ChangeEvent[Any]]:
    """The records of a DynamoDB Streams event, as AWS Lambda delivers it, decoded.

    ``model_class`` is a model class or a union of them (each image comes back as its
    member). The key names are the table's, as in `DynamoDBConfig`.

    Examples:
        >>> def handler(event, context):
        ...     for change in decode_lambda_event(event, Order):
        ...         ...

    Raises:
        DynamoDBDecodeError: An image fits no model; the message names the record's
            sequence number (and ``pk``/``sk`` are its keys).
        DynamoDBValidationError: ``model_class`` is not a model class or a union of them,
            or the event is not a DynamoDB Streams event.
    """
    operation = "decode_lambda_event"
    try:
        reader = reader_of(model_class)
    except InvalidInputError as exc:
        raise DynamoDBValidationError(operation=operation, reason=str(exc)) from exc
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        raise DynamoDBValidationError(
            operation=operation, reason="the event has no 'Records' list (not a Streams event)"
        )
    keys = TableKeys(partition_key_name, sort_key_name)
    return [decode_record(record, reader, keys, operation) for record in records]


def decode_record(
    record: Mapping[str, Any],
    reader: ItemReader,
    table_keys: TableKeys,
    operation: str,
    shard_id: str | None = None,
) -> ChangeEvent[Any]:
    """One stream record (Lambda's JSON form or botocore's parsed form) as a `ChangeEvent`.

    Raises:
        DynamoDBDecodeError: An image fits no model, or the record is malformed.
    """
    change = record.get("dynamodb")
    sequence = str(change.get("SequenceNumber")) if isinstance(change, Mapping) else "?"
    name = record.get("eventName")
    if not isinstance(change, Mapping) or name not in _EVENT_NAMES:
        raise DynamoDBDecodeError(
            operation=operation,
            reason=f"record {sequence} is not a DynamoDB Streams record of an item change",
        )
    raw_keys = change.get("Keys") or {}
    pk, sk = table_keys.key_values_of(raw_keys)
    images: list[Any] = []
    for image_name in ("NewImage", "OldImage"):
        image = change.get(image_name)
        if image is None:
            images.append(None)
            continue
        try:
            images.append(reader.decode(table_keys.loaded(image)))
        except UnfitItemError as exc:
            reason = f"record {sequence} ({name}), {image_name}: {exc}"
            raise DynamoDBDecodeError(operation=operation, pk=pk, sk=sk, reason=reason) from exc
    try:
        plain_keys = decode_item(raw_keys)
        created = _creation_time(change.get("ApproximateCreationDateTime"))
    except (KeyError, ValueError, TypeError, AttributeError, OverflowError) as exc:
        reason = f"record {sequence} ({name}) is malformed: {type(exc).__name__}"
        raise DynamoDBDecodeError(operation=operation, pk=pk, sk=sk, reason=reason) from None
    return ChangeEvent(
        event_name=cast("EventName", name),
        keys=plain_keys,
        new=images[0],
        old=images[1],
        sequence_number=sequence,
        approximate_creation_time=created,
        expired=name == "REMOVE" and _by_time_to_live(record.get("userIdentity")),
        event_id=record.get("eventID"),
        shard_id=shard_id,
    )


def _creation_time(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    msg = "ApproximateCreationDateTime"
    raise TypeError(msg)


def _by_time_to_live(identity: object) -> bool:
    """Lambda writes ``type``/``principalId``; GetRecords ``Type``/``PrincipalId``."""
    if not isinstance(identity, Mapping):
        return False
    kind = identity.get("type", identity.get("Type"))
    principal = identity.get("principalId", identity.get("PrincipalId"))
    return bool(kind == "Service" and principal == _TTL_PRINCIPAL)


def batch_item_failures(failed: Iterable[ChangeEvent[Any] | str]) -> dict[str, Any]:
    """Lambda's partial batch response naming the failed records (events or sequence numbers).

    Return it from the handler (with ``ReportBatchItemFailures`` enabled on the event
    source mapping): Lambda then retries the batch from the earliest failed record, and the
    records before it count as done. An empty ``failed`` reports the whole batch done.

    Examples:
        >>> return batch_item_failures([change])
        {'batchItemFailures': [{'itemIdentifier': '4421584500000000017450439091'}]}
    """
    identifiers = [item if isinstance(item, str) else item.sequence_number for item in failed]
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in identifiers]}
