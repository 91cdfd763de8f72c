"""What the operation's records say about retries, and the tuning warning's version.

Gaps mutmut found (issue 27): nothing checked the batch retry's warning fields, the retry
count it adds to the operation's record, or the botocore version the tuning warning names.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any

import botocore

from lvrgd_common import DynamoDBBaseModel
from lvrgd_common.services._dynamodb.transport import tuning

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pytest

    from lvrgd_common import DynamoDBService
    from tests.fakes import FakeDynamoDB

TABLE = "unit-table"
LOGGER = "lvrgd_common.unit"


class Row(DynamoDBBaseModel):
    n: int


async def test_each_batch_retry_is_logged_and_counted(
    service: DynamoDBService,
    fake: FakeDynamoDB,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    left = iter([5, 2, 0])

    def handler(request: dict[str, Any]) -> dict[str, Any]:
        entries = request["RequestItems"][TABLE]
        keep = next(left)
        return {"UnprocessedItems": {TABLE: entries[:keep]}} if keep else {}

    fake.on("batch_write_item", handler)
    # A backoff of 3.449 ms: rounded to 0.1 ms it reads 3.4 (3.5 if scaled by 1001, 0.0
    # if divided, 3.45 at two places, 3 at none).
    monkeypatch.setattr(random, "uniform", lambda _low, _high: 0.003449)
    caplog.set_level(logging.INFO, logger=LOGGER)
    await service.batch_write([Row(pk="P", sk=f"{i:02d}", n=i) for i in range(10)])
    retries = [r for r in caplog.records if r.getMessage().startswith("dynamodb batch retrying")]
    assert [(r.levelno, r.fields) for r in retries] == [  # type: ignore[attr-defined]
        (logging.WARNING, {**fields, "attempt": attempt, "pending": pending})
        for fields in [{"operation": "batch_write", "table": TABLE, "delay_ms": 3.4}]
        for attempt, pending in [(1, 5), (2, 2)]
    ]
    (done,) = [r for r in caplog.records if r.getMessage().startswith("dynamodb operation")]
    assert done.fields["retries"] == 2  # type: ignore[attr-defined]


def test_the_tuning_warning_names_the_botocore_version() -> None:
    class Records:
        def __init__(self) -> None:
            self.warnings: list[dict[str, Any]] = []

        def debug(self, event: str, **fields: Any) -> None:
            pass

        def info(self, event: str, **fields: Any) -> None:
            pass

        def error(self, event: str, **fields: Any) -> None:
            pass

        def warning(self, event: str, **fields: Any) -> None:
            assert event
            self.warnings.append(fields)

    records = Records()
    # A client with none of the hooks, as with a botocore that moved its internals.
    assert tuning.check(object(), records) == ["parser", "signer", "serializer"]  # type: ignore[arg-type]
    assert records.warnings == [
        {"missing": ["parser", "signer", "serializer"], "botocore_version": botocore.__version__}
    ]


async def test_botocores_retries_add_up_over_the_requests_of_an_operation(
    service: DynamoDBService, fake: FakeDynamoDB, caplog: pytest.LogCaptureFixture
) -> None:
    pages: Iterator[dict[str, Any]] = iter(
        [
            {"Items": [], "LastEvaluatedKey": {"pk": {"S": "P"}, "sk": {"S": "1"}}},
            {"Items": []},
        ]
    )
    fake.on("query", lambda _request: {**next(pages), "ResponseMetadata": {"RetryAttempts": 1}})
    fake.on("get_item", lambda _request: {})  # no ResponseMetadata at all: no retries
    caplog.set_level(logging.INFO, logger=LOGGER)
    assert [row async for row in service.iter_query("P", Row)] == []
    assert await service.get_one("P", "1", Row) is None
    walked, got = [r for r in caplog.records if r.getMessage().startswith("dynamodb operation")]
    assert walked.fields["retries"] == 2  # type: ignore[attr-defined]
    assert got.fields["retries"] == 0  # type: ignore[attr-defined]
    warned = [r for r in caplog.records if r.getMessage().startswith("dynamodb request retried")]
    assert [r.fields["retries"] for r in warned] == [1, 1]  # type: ignore[attr-defined]
