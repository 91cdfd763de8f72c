"""`EpochSeconds`: a datetime stored as a number of seconds since the epoch, for TTL."""

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer
from typing_extensions import TypeAliasType

__all__ = ["EpochSeconds"]


def _whole_utc_seconds(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        msg = "EpochSeconds needs a timezone-aware datetime, e.g. datetime.now(UTC)"
        raise ValueError(msg)
    return value.astimezone(dt.UTC).replace(microsecond=0)


def _epoch(value: dt.datetime) -> int:
    return int(value.timestamp())


EpochSeconds = TypeAliasType(
    "EpochSeconds",
    Annotated[
        dt.datetime,
        AfterValidator(_whole_utc_seconds),
        PlainSerializer(_epoch, return_type=int, when_used="always"),
    ],
)
"""A timezone-aware datetime stored as N, whole seconds since the epoch: DynamoDB's TTL.

It reads back as an aware UTC datetime. Fractions of a second are dropped when the model
is built, so the model equals what is stored; a naive datetime is refused. A number of
seconds is taken as input too (as pydantic reads one for a datetime).

Examples:
    >>> from datetime import UTC, datetime
    >>> class Session(DynamoDBBaseModel):
    ...     expires_at: EpochSeconds
    >>> session = Session(pk="S#1", sk="S", expires_at=datetime(2030, 1, 1, tzinfo=UTC))
    >>> session.model_dump()["expires_at"]
    1893456000
"""
