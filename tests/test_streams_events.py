"""`decode_lambda_event` and `batch_item_failures` on events as AWS Lambda delivers them."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated, Any, Literal

import pytest
from pydantic import Field

from lvrgd_common import DynamoDBBaseModel, DynamoDBDecodeError, DynamoDBValidationError
from lvrgd_common.streams import batch_item_failures, decode_lambda_event


class Order(DynamoDBBaseModel):
    kind: Literal["order"] = "order"
    total: int = Field(alias="amount")
    tags: set[str] = set()
    blob: bytes = b""


class Refund(DynamoDBBaseModel):
    kind: Literal["refund"] = "refund"
    reason: str


Entry = Annotated[Order | Refund, Field(discriminator="kind")]

KEYS = {"pk": {"S": "o#1"}, "sk": {"S": "ORDER"}}
IMAGE = {
    **KEYS,
    "kind": {"S": "order"},
    "amount": {"N": "12"},
    "tags": {"SS": ["a", "b"]},
    "blob": {"B": base64.b64encode(b"\x00\x01").decode()},
}


def record(name: str, seq: str = "111", **change: Any) -> dict[str, Any]:
    return {
        "eventID": f"id-{seq}",
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_700_000_000,
            "Keys": KEYS,
            "SequenceNumber": seq,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
            **change,
        },
    }


def test_images_are_decoded_through_the_codec() -> None:
    (change,) = decode_lambda_event({"Records": [record("INSERT", NewImage=IMAGE)]}, Order)
    assert change.new == Order(pk="o#1", sk="ORDER", amount=12, tags={"a", "b"}, blob=b"\0\1")
    assert change.old is None
    assert change.keys == {"pk": "o#1", "sk": "ORDER"}
    assert change.sequence_number == "111"
    assert change.event_id == "id-111"
    assert change.approximate_creation_time == dt.datetime.fromtimestamp(1_700_000_000, dt.UTC)
    assert not change.expired


def test_a_union_gives_each_image_as_its_member() -> None:
    refund = {**KEYS, "kind": {"S": "refund"}, "reason": {"S": "late"}}
    event = {"Records": [record("MODIFY", NewImage=refund, OldImage=IMAGE)]}
    (change,) = decode_lambda_event(event, Entry)
    assert isinstance(change.new, Refund)
    assert isinstance(change.old, Order)


def test_a_time_to_live_deletion_is_expired() -> None:
    ttl = record("REMOVE", OldImage=IMAGE)
    ttl["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    by_user = record("REMOVE", "112", OldImage=IMAGE)
    by_other_service = record("REMOVE", "113", OldImage=IMAGE)
    by_other_service["userIdentity"] = {"type": "Service", "principalId": "s3.amazonaws.com"}
    changes = decode_lambda_event({"Records": [ttl, by_user, by_other_service]}, Order)
    assert [change.expired for change in changes] == [True, False, False]


def test_get_records_form_of_the_identity_is_read_too() -> None:
    ttl = record("REMOVE", OldImage=IMAGE)
    ttl["userIdentity"] = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    (change,) = decode_lambda_event({"Records": [ttl]}, Order)
    assert change.expired


def test_keys_only_and_new_image_views_give_none_images() -> None:
    keys_only = record("MODIFY", StreamViewType="KEYS_ONLY")
    new_only = record("MODIFY", "112", NewImage=IMAGE, StreamViewType="NEW_IMAGE")
    first, second = decode_lambda_event({"Records": [keys_only, new_only]}, Order)
    assert (first.new, first.old) == (None, None)
    assert first.keys == {"pk": "o#1", "sk": "ORDER"}
    assert second.new is not None
    assert second.old is None


def test_an_image_that_fits_no_model_names_the_sequence_number() -> None:
    bad = {**IMAGE, "amount": {"S": "twelve"}}
    event = {"Records": [record("INSERT", NewImage=IMAGE), record("MODIFY", "4242", NewImage=bad)]}
    with pytest.raises(DynamoDBDecodeError, match="4242") as raised:
        decode_lambda_event(event, Order)
    assert (raised.value.pk, raised.value.sk) == ("o#1", "ORDER")
    assert "twelve" not in str(raised.value)  # no stored value in the message


def test_other_key_names_are_renamed_to_pk_and_sk() -> None:
    image = {"PK": {"S": "o#1"}, "SK": {"S": "ORDER"}, "amount": {"N": "1"}}
    event = {"Records": [record("INSERT", NewImage=image, Keys={"PK": image["PK"]})]}
    (change,) = decode_lambda_event(event, Order, partition_key_name="PK", sort_key_name="SK")
    assert change.new == Order(pk="o#1", sk="ORDER", amount=1)


def test_not_a_streams_event_is_refused() -> None:
    with pytest.raises(DynamoDBValidationError):
        decode_lambda_event({"detail": {}}, Order)
    with pytest.raises(DynamoDBDecodeError):
        decode_lambda_event({"Records": [{"eventName": "INSERT"}]}, Order)
    with pytest.raises(DynamoDBValidationError):
        decode_lambda_event({"Records": []}, dict)


def test_batch_item_failures_names_the_records() -> None:
    (change,) = decode_lambda_event({"Records": [record("INSERT", "9", NewImage=IMAGE)]}, Order)
    assert batch_item_failures([change, "10"]) == {
        "batchItemFailures": [{"itemIdentifier": "9"}, {"itemIdentifier": "10"}]
    }
    assert batch_item_failures([]) == {"batchItemFailures": []}
