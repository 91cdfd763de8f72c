"""Cursor tokens on a real server: opaque, URL-safe, bound to their query, signed on request."""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from typing import TYPE_CHECKING

import pytest
from boto3.dynamodb.conditions import Attr
from pydantic import SecretStr

from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBConfig,
    DynamoDBService,
    DynamoDBValidationError,
    LoggingService,
    SortKeyCondition,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

SECRET = "a-cursor-secret-of-some-length"
URL_SAFE = re.compile(r"^[A-Za-z0-9_\-.]+$")


class Note(DynamoDBBaseModel):
    n: int


@pytest.fixture(scope="module")
async def partitions(config: DynamoDBConfig) -> tuple[str, str]:
    """Two partitions of 10 notes each (written once: the cases only read)."""
    first, second = f"it#{uuid.uuid4().hex}", f"it#{uuid.uuid4().hex}"
    async with DynamoDBService(LoggingService(), config) as service:
        await service.batch_write(
            [Note(pk=pk, sk=f"{n:02d}", n=n) for pk in (first, second) for n in range(10)]
        )
    return first, second


@pytest.fixture
async def signing(config: DynamoDBConfig) -> AsyncIterator[DynamoDBService]:
    settings = config.model_copy(update={"cursor_secret": SecretStr(SECRET)})
    async with DynamoDBService(LoggingService("lvrgd_common.tests"), settings) as opened:
        yield opened


@pytest.mark.parametrize("signed", [False, True])
async def test_next_cursor_walks_the_same_pages_as_last_evaluated_key(
    service: DynamoDBService,
    signing: DynamoDBService,
    partitions: tuple[str, str],
    signed: bool,  # noqa: FBT001
) -> None:
    reader = signing if signed else service
    pk = partitions[0]
    seen: list[int] = []
    cursor = None
    while True:
        page = await reader.query_by_pk(pk, Note, limit=3, cursor=cursor)
        seen += [note.n for note in page.items]
        assert (page.next_cursor is None) == (page.last_evaluated_key is None)
        cursor = page.next_cursor
        if cursor is None:
            break
        assert URL_SAFE.match(cursor)
        assert ("." in cursor) == signed
    assert seen == list(range(10))


async def test_a_cursor_under_a_filter_and_condition_resumes_that_query(
    signing: DynamoDBService, partitions: tuple[str, str]
) -> None:
    pk = partitions[0]
    odd = Attr("n").is_in([1, 3, 5, 7, 9])
    above = SortKeyCondition(operator="gt", value="02")
    first = await signing.query_by_pk_and_sk(pk, above, Note, limit=2, filter_condition=odd)
    rest = await signing.query_by_pk_and_sk(
        pk, above, Note, filter_condition=odd, cursor=first.next_cursor
    )
    assert [note.n for note in [*first.items, *rest.items]] == [3, 5, 7, 9]
    assert rest.next_cursor is None
    # The same token given to the query without the filter is another query's token.
    with pytest.raises(DynamoDBValidationError, match="another query"):
        await signing.query_by_pk_and_sk(pk, above, Note, cursor=first.next_cursor)


@pytest.mark.parametrize("signed", [False, True])
async def test_a_token_of_another_partition_or_index_is_refused(
    service: DynamoDBService,
    signing: DynamoDBService,
    partitions: tuple[str, str],
    signed: bool,  # noqa: FBT001
) -> None:
    reader = signing if signed else service
    first, second = partitions
    token = (await reader.query_by_pk(first, Note, limit=1)).next_cursor
    with pytest.raises(DynamoDBValidationError, match="another query") as caught:
        await reader.query_by_pk(second, Note, limit=1, cursor=token)
    assert caught.value.operation == "query_by_pk"
    with pytest.raises(DynamoDBValidationError, match="another query"):
        await reader.query_by_pk(first, Note, limit=1, cursor=token, scan_forward=False)


def _tampered(token: str) -> str:
    """The token with its key moved to another item, signature kept."""
    payload, _, signature = token.partition(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["k"]["sk"] = "08"
    raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + signature


async def test_signed_tokens_refuse_alteration_forgery_and_foreign_secrets(
    service: DynamoDBService,
    signing: DynamoDBService,
    partitions: tuple[str, str],
    config: DynamoDBConfig,
) -> None:
    pk = partitions[0]
    token = (await signing.query_by_pk(pk, Note, limit=1)).next_cursor
    assert token is not None
    unsigned = (await service.query_by_pk(pk, Note, limit=1)).next_cursor
    foreign_settings = config.model_copy(
        update={"cursor_secret": SecretStr("another-secret-entirely")}
    )
    async with DynamoDBService(LoggingService(), foreign_settings) as foreign:
        foreign_token = (await foreign.query_by_pk(pk, Note, limit=1)).next_cursor
    cases = {
        "altered": (_tampered(token), "signature does not match"),
        "forged (unsigned)": (unsigned, "not signed"),
        "signed with another secret": (foreign_token, "signature does not match"),
        "garbage": ("%%%", "not signed"),
        "truncated signature": (token[:-3], "signature does not match"),
    }
    for name, (bad, says) in cases.items():
        with pytest.raises(DynamoDBValidationError, match=says):
            await signing.query_by_pk(pk, Note, limit=1, cursor=bad)
        assert name
    # Without a secret the same alteration is only an ordinary, valid position.
    assert (await service.query_by_pk(pk, Note, limit=1, cursor=_tampered(token))).items[0].n == 9


async def test_the_secret_is_never_shown_or_logged(
    signing: DynamoDBService, partitions: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    assert SECRET not in repr(signing.config)
    assert SECRET not in str(signing.config)
    with caplog.at_level(logging.DEBUG):
        page = await signing.query_by_pk(partitions[0], Note, limit=1)
        with pytest.raises(DynamoDBValidationError) as caught:
            await signing.query_by_pk(partitions[0], Note, cursor=f"{page.next_cursor}x")
    assert SECRET not in str(caught.value)
    assert all(SECRET not in record.getMessage() for record in caplog.records)


def test_a_short_cursor_secret_is_refused(config: DynamoDBConfig) -> None:
    fields = {**config.model_dump(), "cursor_secret": "too-short"}
    with pytest.raises(ValueError, match="cursor_secret must be at least 16 characters") as caught:
        DynamoDBConfig.model_validate(fields)
    assert "too-short" not in str(caught.value)
    assert "items" not in str(caught.value)
    sixteen = {**config.model_dump(), "cursor_secret": "x" * 16}
    assert DynamoDBConfig.model_validate(sixteen).cursor_secret is not None
