"""Datetimes whose offset has seconds: what `make mutate-changed` showed unchecked."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from lvrgd_common import DynamoDBBaseModel
from lvrgd_common.services._dynamodb.codec import CodecError, encode_item

PARIS_1900 = dt.timezone(dt.timedelta(minutes=9, seconds=21))


class Stamp(DynamoDBBaseModel):
    at: dt.datetime


def test_an_offset_with_seconds_is_stored_in_utc_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In UTC, not in the machine's zone (astimezone() with no argument would give that).
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        item = encode_item(Stamp(pk="p", sk="s", at=dt.datetime(1900, 1, 1, 12, tzinfo=PARIS_1900)))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert item["at"] == {"S": "1900-01-01T11:50:39+00:00"}


def test_an_offset_with_seconds_out_of_range_in_utc_is_refused() -> None:
    earliest = dt.datetime(1, 1, 1, 0, 0, tzinfo=PARIS_1900)
    with pytest.raises(CodecError, match="out of range once in UTC"):
        encode_item(Stamp(pk="p", sk="s", at=earliest))
