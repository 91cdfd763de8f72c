"""Cursor tokens: what mutmut showed untested (the length bounds, stable text, padding)."""

from __future__ import annotations

import base64

import pytest

from lvrgd_common.services._dynamodb.codec import InvalidInputError
from lvrgd_common.services._dynamodb.cursors import (
    MAX_CURSOR_CHARS,
    decode_cursor,
    encode_cursor,
    query_scope,
)

SECRET = b"a-secret-of-some-length"


@pytest.mark.parametrize("secret", [None, SECRET], ids=["plain", "signed"])
def test_every_key_round_trips_whatever_its_token_ends_with(secret: bytes | None) -> None:
    # Unpadded base64 of every length modulo 4 (0 to 2 "=" left off).
    paddings = set()
    for n in range(12):
        key = {"pk": {"S": "p" * n}, "sk": {"N": str(n * 7919)}}
        token = encode_cursor(key, "scope", secret)
        paddings.add(len(token.partition(".")[0]) % 4)
        assert decode_cursor(token, "scope", secret) == key
    assert paddings == {0, 2, 3}


def test_the_same_position_gives_the_same_token_whatever_the_key_order() -> None:
    one = encode_cursor({"pk": {"S": "a"}, "sk": {"S": "b"}}, "scope", SECRET)
    other = encode_cursor({"sk": {"S": "b"}, "pk": {"S": "a"}}, "scope", SECRET)
    assert one == other


def test_tokens_are_compact() -> None:
    # No spaces in the JSON inside: a token stays well under MAX_CURSOR_CHARS.
    token = encode_cursor({"pk": {"S": "a"}, "sk": {"S": "b"}}, "s" * 24, None)
    text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert text == b'{"k":{"pk":{"S":"a"},"sk":{"S":"b"}},"q":"ssssssssssssssssssssssss"}'


def test_the_length_bounds_are_one_to_max_cursor_chars() -> None:
    length_rule = "a string of 1 to"
    # One character and MAX_CURSOR_CHARS characters pass the length rule (and then fail to
    # decode); the empty string and one character more do not.
    for token in ("a", "a" * MAX_CURSOR_CHARS):
        with pytest.raises(InvalidInputError, match="does not decode"):
            decode_cursor(token, "scope", None)
    for token in ("", "a" * (MAX_CURSOR_CHARS + 1)):
        with pytest.raises(InvalidInputError, match=length_rule):
            decode_cursor(token, "scope", None)


REQUEST = {
    "TableName": "t",
    "KeyConditionExpression": "#k0 = :v0",
    "FilterExpression": "#n1 = :v1",
    "ExpressionAttributeNames": {"#k0": "pk", "#n1": "a"},
    "ExpressionAttributeValues": {":v0": {"S": "p"}, ":v1": {"N": "1"}},
}


def test_the_scope_of_a_query_does_not_depend_on_the_order_of_its_maps() -> None:
    reordered = {
        **REQUEST,
        "ExpressionAttributeNames": {"#n1": "a", "#k0": "pk"},
        "ExpressionAttributeValues": {":v1": {"N": "1"}, ":v0": {"S": "p"}},
    }
    assert query_scope([reordered]) == query_scope([REQUEST])


def test_the_scope_digest_is_stable_across_releases() -> None:
    # Cursors outlive a deploy (a client holds one across it): the digest of a query must
    # not change between versions, or every cursor in flight is refused after an upgrade.
    assert query_scope([REQUEST]) == "8c50b8a4e133109af0bb3285"
