"""Cursor tokens: opaque, URL-safe, bound to one query, signed when a secret is set."""

from __future__ import annotations

import re

import pytest

from lvrgd_common.services._dynamodb.codec import InvalidInputError
from lvrgd_common.services._dynamodb.cursors import decode_cursor, encode_cursor, query_scope

KEY = {"pk": "USER#1", "sk": "ORDER#0042"}
SCOPE = query_scope([{"TableName": "t", "KeyConditionExpression": "#n0 = :v0"}])
SECRET = b"0123456789abcdef-secret"


@pytest.mark.parametrize("secret", [None, SECRET])
def test_a_token_round_trips_and_is_url_safe(secret: bytes | None) -> None:
    token = encode_cursor(KEY, SCOPE, secret)
    assert re.fullmatch(r"[A-Za-z0-9_\-.]+", token)
    assert decode_cursor(token, SCOPE, secret) == KEY


def test_the_scope_tells_queries_apart() -> None:
    other = query_scope([{"TableName": "t", "KeyConditionExpression": "#n0 = :v1"}])
    assert other != SCOPE
    token = encode_cursor(KEY, SCOPE, SECRET)
    with pytest.raises(InvalidInputError, match="another query"):
        decode_cursor(token, other, SECRET)


@pytest.mark.parametrize(
    ("token", "says"),
    [
        (encode_cursor(KEY, SCOPE, None), "not signed"),
        (encode_cursor(KEY, SCOPE, b"another-secret-of-16+"), "signature does not match"),
        (encode_cursor({"pk": "USER#2", "sk": "x"}, SCOPE, None) + ".AAAA", "does not match"),
        (encode_cursor(KEY, SCOPE, SECRET)[:-1], "signature does not match"),
    ],
)
def test_signed_tokens_refuse_what_they_did_not_sign(token: str, says: str) -> None:
    with pytest.raises(InvalidInputError, match=says):
        decode_cursor(token, SCOPE, SECRET)


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("", "a string of 1 to 4096"),
        (42, "a string of 1 to 4096"),
        ("x" * 4097, "a string of 1 to 4096"),
        ("!!!", "does not decode"),
        ("WzEsMl0", "unexpected content"),  # [1,2]
    ],
)
def test_garbage_is_refused(token: object, says: str) -> None:
    with pytest.raises(InvalidInputError, match=says):
        decode_cursor(token, SCOPE, None)
