"""``fast_path`` picks who sends the item operations; the results are the same either way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from aiobotocore.endpoint import AioEndpoint

from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBService,
    LoggingService,
    TransactionWriteItem,
)
from lvrgd_common.exceptions.dynamodb_exceptions import DynamoDBItemNotFoundError

if TYPE_CHECKING:
    from lvrgd_common import DynamoDBConfig


class Note(DynamoDBBaseModel):
    text: str
    blob: bytes = b""


@pytest.fixture
def botocore_targets(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The operations botocore's endpoint sends while the test runs."""
    sent: list[str] = []
    original = AioEndpoint._send  # type: ignore[attr-defined]  # noqa: SLF001

    async def spy(self: AioEndpoint, request: Any) -> Any:
        sent.append(request.headers["X-Amz-Target"].decode().rpartition(".")[2])
        return await original(self, request)

    monkeypatch.setattr(AioEndpoint, "_send", spy)
    return sent


@pytest.mark.parametrize("fast_path", [True, False], ids=["lean", "botocore"])
@pytest.mark.needs("transactions")
async def test_fast_path_picks_the_sender_and_both_give_the_same_results(
    config: DynamoDBConfig,
    pk: str,
    fast_path: bool,  # noqa: FBT001 - the parameter of the test
    botocore_targets: list[str],
) -> None:
    settings = config.model_copy(update={"fast_path": fast_path})
    notes = [
        Note(pk=pk, sk=f"{index:02d}", text=f"n{index}", blob=bytes([index])) for index in range(5)
    ]
    async with DynamoDBService(LoggingService(), settings) as service:
        await service.save(notes[0])
        await service.batch_write(notes[1:4])
        await service.transact_write([TransactionWriteItem(operation="put", item=notes[4])])
        await service.update(pk, "00", {"text": "changed"})
        with pytest.raises(DynamoDBItemNotFoundError):
            await service.update(pk, "absent", {"text": "x"})
        one = await service.get_one(pk, "00", Note)
        page = await service.query_by_pk(pk, Note)
        some = await service.batch_get([(pk, "01"), (pk, "09")], Note)
        both = await service.transact_get([(pk, "02"), (pk, "03")], Note)
        await service.delete(pk, "04")
        assert await service.ping()
    assert one == notes[0].model_copy(update={"text": "changed"})
    assert page.items == [one, *notes[1:]]
    assert some == [notes[1]]
    assert both == notes[2:4]
    assert "DescribeTable" in botocore_targets  # every other call goes through the client
    item_targets = set(botocore_targets) - {"DescribeTable"}
    if fast_path:
        assert item_targets == set()
    else:
        assert item_targets == {
            "PutItem",
            "BatchWriteItem",
            "TransactWriteItems",
            "UpdateItem",
            "GetItem",
            "Query",
            "BatchGetItem",
            "TransactGetItems",
            "DeleteItem",
        }
