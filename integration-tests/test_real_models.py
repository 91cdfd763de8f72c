"""Models as users write them round-trip exactly, or are refused at save (issue 10).

One case per problem seen with real models: aliases, None and empty sets against their
defaults, secrets, historic UTC offsets, computed fields, required ``Any``, numbers out of
range, unreadable items, stored values in errors and logs, and errors that said too
little or the wrong thing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import uuid
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import (
    AliasChoices,
    AliasGenerator,
    ConfigDict,
    Field,
    SecretBytes,
    SecretStr,
    computed_field,
)
from pydantic.alias_generators import to_camel

from faultproxy import Forward
from helpers import raw_client, through
from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBConfig,
    DynamoDBService,
    DynamoDBServiceError,
    DynamoDBValidationError,
    LoggingService,
)
from lvrgd_common.exceptions.dynamodb_exceptions import (
    DynamoDBDecodeError,
    DynamoDBItemNotFoundError,
    DynamoDBTableNotFoundError,
    DynamoDBUnavailableError,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from faultproxy import Exchange, FaultProxy, Json

LOGGER = "lvrgd_common.tests.real_models"


# --- the models -------------------------------------------------------------------------


class CamelCase(DynamoDBBaseModel):
    """The FastAPI habit: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    display_name: str
    retry_count: int = 0


class CamelOnTheWire(DynamoDBBaseModel):
    """camelCase written, snake_case read: the generator sets serialization aliases only."""

    model_config = ConfigDict(alias_generator=AliasGenerator(serialization_alias=to_camel))

    display_name: str = ""
    retry_count: int = 0


class SerializedAs(DynamoDBBaseModel):
    retries: int = Field(0, serialization_alias="retryCount")


class ValidatedAs(DynamoDBBaseModel):
    retries: int = Field(0, validation_alias=AliasChoices("retryCount", "retry_count"))


class WithDefaults(DynamoDBBaseModel):
    retries: int | None = 3
    roles: set[str] = Field(default_factory=lambda: {"viewer"})
    tags: set[str] | None = None
    note: str | None = None


class WithSecrets(DynamoDBBaseModel):
    password: SecretStr
    token: SecretBytes | None = None


class Stamped(DynamoDBBaseModel):
    at: dt.datetime


class Priced(DynamoDBBaseModel):
    model_config = ConfigDict(extra="forbid")

    price: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> int:
        return self.price * 2


class Holder(DynamoDBBaseModel):
    value: Any


class Excluded(DynamoDBBaseModel):
    kept: int = 0
    scratch: str = Field("", exclude=True)


class Numbers(DynamoDBBaseModel):
    count: int = 0
    amount: Decimal = Decimal(0)
    either: Decimal | float = 0.0


PARIS = zoneinfo.ZoneInfo("Europe/Paris")


# --- round trips ------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundTrip:
    """``model`` saved and read back equal; ``stored`` checks the raw item."""

    name: str
    model: Callable[[str], DynamoDBBaseModel]
    stored: Callable[[dict[str, Any]], bool] = lambda _: True


ROUND_TRIPS = [
    RoundTrip(
        "alias_generator=to_camel",
        lambda pk: CamelCase(pk=pk, sk="s", display_name="Ada", retry_count=3),
        lambda raw: raw["retryCount"] == {"N": "3"} and "displayName" in raw,
    ),
    RoundTrip(
        "AliasGenerator(serialization_alias=to_camel)",
        lambda pk: CamelOnTheWire(pk=pk, sk="s", display_name="Ada", retry_count=3),
        lambda raw: raw["retryCount"] == {"N": "3"},
    ),
    RoundTrip(
        "serialization_alias",
        lambda pk: SerializedAs(pk=pk, sk="s", retries=3),
        lambda raw: raw["retryCount"] == {"N": "3"},
    ),
    RoundTrip(
        "validation_alias only",
        lambda pk: ValidatedAs.model_validate({"pk": pk, "sk": "s", "retryCount": 3}),
        lambda raw: raw["retries"] == {"N": "3"},
    ),
    RoundTrip(
        "None on a field whose default is 3",
        lambda pk: WithDefaults(pk=pk, sk="s", retries=None),
        lambda raw: raw["retries"] == {"NULL": True} and "note" not in raw,
    ),
    RoundTrip(
        "an empty set on a field whose default is not empty",
        lambda pk: WithDefaults(pk=pk, sk="s", roles=set()),
    ),
    RoundTrip(
        "an empty set on a field whose default is None",
        lambda pk: WithDefaults(pk=pk, sk="s", tags=set()),
    ),
    RoundTrip(
        "SecretStr and SecretBytes store their secret",
        lambda pk: WithSecrets(
            pk=pk, sk="s", password=SecretStr("hunter2"), token=SecretBytes(b"\x01t")
        ),
        lambda raw: raw["password"] == {"S": "hunter2"},
    ),
    RoundTrip(
        "a datetime in Paris in 1890 (offset +00:09:21)",
        lambda pk: Stamped(pk=pk, sk="s", at=dt.datetime(1890, 6, 1, 12, 0, tzinfo=PARIS)),
    ),
    RoundTrip(
        "a datetime with an offset of 30 seconds",
        lambda pk: Stamped(
            pk=pk, sk="s", at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(seconds=30)))
        ),
    ),
    RoundTrip(
        "a computed field on an extra='forbid' model",
        lambda pk: Priced(pk=pk, sk="s", price=21),
        lambda raw: raw["total"] == {"N": "42"},
    ),
    RoundTrip("a required Any holding None", lambda pk: Holder(pk=pk, sk="s", value=None)),
    RoundTrip(
        "exclude=True is not stored",
        lambda pk: Excluded(pk=pk, sk="s", kept=1),
        lambda raw: "scratch" not in raw,
    ),
    RoundTrip(
        "Any holding a float, a Decimal finer than a float and a list",
        lambda pk: Holder(
            pk=pk, sk="s", value=[0.1, Decimal("0.1000000000000000000001"), {"n": 3}]
        ),
    ),
]


@pytest.mark.parametrize("case", ROUND_TRIPS, ids=[case.name for case in ROUND_TRIPS])
async def test_models_round_trip_exactly(
    case: RoundTrip, service: DynamoDBService, config: DynamoDBConfig, pk: str
) -> None:
    model = case.model(pk)
    await service.save(model)
    model_class = type(model)
    assert await service.get_one(pk, "s", model_class) == model
    # Every item of the partition reads back too (one bad item used to break queries).
    assert (await service.query_by_pk(pk, model_class)).items == [model]
    async with raw_client(config) as client:
        raw = (
            await client.get_item(
                TableName=config.table_name, Key={"pk": {"S": pk}, "sk": {"S": "s"}}
            )
        )["Item"]
    assert case.stored(raw)


async def test_a_secret_is_not_logged_when_saved_or_read(
    service: DynamoDBService, pk: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lvrgd_common")
    model = WithSecrets(pk=pk, sk="s", password=SecretStr("s3cr3t-4711"))
    await service.save(model)
    assert await service.get_one(pk, "s", WithSecrets) == model
    assert "s3cr3t-4711" not in library_log(caplog)


def library_log(caplog: pytest.LogCaptureFixture) -> str:
    """Everything this library logged: messages and structured fields.

    (botocore's own DEBUG records quote whole request and response bodies; a host
    application that turns them on has chosen to.)
    """
    return "\n".join(
        f"{record.getMessage()} {vars(record)}"
        for record in caplog.records
        if record.name.startswith("lvrgd_common")
    )


# --- refused at save, nothing written ---------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """``call`` raises a validation error naming ``attribute``; nothing is written."""

    name: str
    call: Callable[[DynamoDBService, str], Awaitable[object]]
    attribute: str


def _save(model: Callable[[str], DynamoDBBaseModel]) -> Callable[[DynamoDBService, str], Any]:
    return lambda service, pk: service.save(model(pk))


def _update(updates: dict[str, Any]) -> Callable[[DynamoDBService, str], Any]:
    async def call(service: DynamoDBService, pk: str) -> None:
        await service.save(Numbers(pk=pk, sk="s"))
        await service.update(pk, "s", updates)

    return call


REFUSED = [
    Refused(
        "save: Decimal('1E+1000000')",
        _save(lambda pk: Numbers(pk=pk, sk="s", amount=Decimal("1E+1000000"))),
        "amount",
    ),
    Refused("save: 10**5000", _save(lambda pk: Numbers(pk=pk, sk="s", count=10**5000)), "count"),
    Refused("update: Decimal('1E+1000000')", _update({"amount": Decimal("1E+1000000")}), "amount"),
    Refused("update: 10**5000", _update({"count": 10**5000}), "count"),
    Refused(
        "save: Decimal('0.1') in Decimal | float (would read back as the float 0.1)",
        _save(lambda pk: Numbers(pk=pk, sk="s", either=Decimal("0.1"))),
        "either",
    ),
    Refused(
        "save: the float 3.392512618192793e+16 held in Any (returned as an unequal int)",
        _save(lambda pk: Holder(pk=pk, sk="s", value=3.392512618192793e16)),
        "value",
    ),
    Refused(
        "save: a tuple held in Any (would read back as a list)",
        _save(lambda pk: Holder(pk=pk, sk="s", value=(1, 2))),
        "value",
    ),
]


@pytest.mark.parametrize("case", REFUSED, ids=[case.name for case in REFUSED])
async def test_what_cannot_be_stored_faithfully_is_refused(
    case: Refused, service: DynamoDBService, pk: str
) -> None:
    with pytest.raises(DynamoDBValidationError, match=case.attribute) as caught:
        await case.call(service, pk)
    assert caught.value.pk == pk
    stored = await service.get_one(pk, "s", Numbers)
    assert stored is None or stored == Numbers(pk=pk, sk="s")


# --- reading what does not fit ----------------------------------------------------------


async def test_decode_errors_name_key_attribute_and_type_but_never_the_value(
    service: DynamoDBService, config: DynamoDBConfig, pk: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lvrgd_common")
    async with raw_client(config) as client:
        await client.put_item(
            TableName=config.table_name,
            Item={"pk": {"S": pk}, "sk": {"S": "s"}, "retryCount": {"S": "ssn 078-05-1120"}},
        )
    with pytest.raises(DynamoDBDecodeError) as caught:
        await service.get_one(pk, "s", CamelCase)
    message = str(caught.value)
    assert pk in message
    assert "retryCount" in message
    assert "integer" in message
    assert "displayName" in message
    assert "078-05-1120" not in message
    assert "078-05-1120" not in library_log(caplog)
    with pytest.raises(DynamoDBDecodeError):
        await service.query_by_pk(pk, CamelCase)
    log = library_log(caplog)
    assert "DynamoDBDecodeError" in log
    assert "078-05-1120" not in log


def _break_items(answer: Json) -> Json:
    for item in [answer.get("Item"), *answer.get("Items", [])]:
        if item is not None:
            item["value"] = {"M": "not a map"}
    return answer


async def test_an_item_the_decoder_cannot_walk_is_a_decode_error(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str
) -> None:
    """As written by another tool or answered by a buggy server."""
    settings = through(config, proxy)
    async with DynamoDBService(LoggingService(LOGGER), settings) as service:
        await service.save(Holder(pk=pk, sk="s", value=1))

        def rule(exchange: Exchange) -> Forward:
            reads = exchange.target.endswith(("GetItem", "Query"))
            return Forward(rewrite=_break_items) if reads else Forward()

        proxy.rule = rule
        with pytest.raises(DynamoDBDecodeError, match="attribute-value form") as caught:
            await service.get_one(pk, "s", Holder)
        assert (caught.value.pk, caught.value.sk) == (pk, "s")
        with pytest.raises(DynamoDBDecodeError):
            await service.query_by_pk(pk, Holder)


# --- errors that said too little or the wrong thing -------------------------------------


async def test_using_a_service_from_another_event_loop_says_so(
    service: DynamoDBService, pk: str
) -> None:
    caught: list[BaseException] = []

    def elsewhere() -> None:
        try:
            asyncio.run(service.get_one(pk, "s", Holder))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            caught.append(exc)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    await asyncio.to_thread(thread.join)
    (error,) = caught
    assert type(error) is DynamoDBServiceError
    assert not isinstance(error, DynamoDBUnavailableError)
    assert "event loop" in str(error)
    # The service still works in its own loop.
    assert await service.get_one(pk, "s", Holder) is None


async def test_an_absent_table_names_table_region_and_endpoint(config: DynamoDBConfig) -> None:
    absent = config.model_copy(update={"table_name": f"absent-{uuid.uuid4().hex[:8]}"})
    async with DynamoDBService(LoggingService(LOGGER), absent) as service:
        with pytest.raises(DynamoDBTableNotFoundError) as caught:
            await service.get_one("p", "s", Holder)
    message = str(caught.value)
    assert absent.table_name in message
    assert absent.region in message
    assert str(absent.endpoint_url) in message


async def test_updating_an_absent_item_carries_the_aws_code_in_its_message(
    service: DynamoDBService, pk: str
) -> None:
    with pytest.raises(DynamoDBItemNotFoundError) as caught:
        await service.update(pk, "s", {"count": 1})
    assert caught.value.error_code == "ConditionalCheckFailedException"
    assert "ConditionalCheckFailedException" in str(caught.value)
