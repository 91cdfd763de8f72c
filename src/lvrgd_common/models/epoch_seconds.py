"""`EpochSeconds`: a datetime stored as a number of seconds since the epoch, for TTL."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Final

from pydantic import AfterValidator, BeforeValidator, PlainSerializer
from typing_extensions import TypeAliasType

__all__ = ["EpochSeconds"]


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SECOND: Final = dt.timedelta(seconds=1)


def _from_seconds(value: object) -> object:
    """A number is seconds since the epoch, whatever its size.

    (pydantic would take a number beyond about 2e10 for milliseconds, so 9999-12-31, the
    usual "never expires", or any year after ~2603 would read back as another date.)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return value
    try:
        return _EPOCH + dt.timedelta(seconds=float(value) if isinstance(value, Decimal) else value)
    except (OverflowError, ValueError):
        msg = "EpochSeconds takes seconds within the years 1 to 9999"
        raise ValueError(msg) from None


def _whole_utc_seconds(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        msg = "EpochSeconds needs a timezone-aware datetime, e.g. datetime.now(UTC)"
        raise ValueError(msg)
    return value.astimezone(dt.UTC).replace(microsecond=0)


def _epoch(value: dt.datetime) -> int:
    return (value - _EPOCH) // _SECOND


EpochSeconds = TypeAliasType(
    "EpochSeconds",
    Annotated[
        dt.datetime,
        BeforeValidator(_from_seconds),
        AfterValidator(_whole_utc_seconds),
        PlainSerializer(_epoch, return_type=int, when_used="always"),
    ],
)
"""A timezone-aware datetime stored as N, whole seconds since the epoch: DynamoDB's TTL.

It reads back as an aware UTC datetime, for any year 1 to 9999. Fractions of a second are
dropped when the model is built, so the model equals what is stored; a naive datetime is
refused. A number is taken as seconds since the epoch, however large (pydantic's own
datetime parsing would take a large one for milliseconds).

Examples:
    >>> from datetime import UTC, datetime
    >>> class Session(DynamoDBBaseModel):
    ...     expires_at: EpochSeconds
    >>> session = Session(pk="S#1", sk="S", expires_at=datetime(2030, 1, 1, tzinfo=UTC))
    >>> session.model_dump()["expires_at"]
    1893456000
"""
