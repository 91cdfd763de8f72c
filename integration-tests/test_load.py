"""One service shared by 1,000 concurrent tasks mixing reads and writes (250 on moto)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from helpers import through
from lvrgd_common import DynamoDBBaseModel, DynamoDBConfig, DynamoDBService, LoggingService

if TYPE_CHECKING:
    import pytest

    from faultproxy import FaultProxy

# moto serves a few hundred requests a second, so it gets a quarter of the tasks; the full
# 1,000 run against dynalite (and a real endpoint).
TASKS = {"moto": 250}
FULL = 1000


class Doc(DynamoDBBaseModel):
    n: int
    touched_by: int | None = None


async def test_1000_tasks_share_one_service_without_errors(
    config: DynamoDBConfig,
    proxy: FaultProxy,
    pk: str,
    caplog: pytest.LogCaptureFixture,
    backend: str,
) -> None:
    """Each task writes its own item and reads another's; a quarter also update and query.

    Through the counting proxy, which shows the pool's bound held: 1,000 tasks share at
    most ``max_pool_connections`` connections, waiting for one instead of failing.
    """
    tasks = TASKS.get(backend, FULL)
    seeded = [Doc(pk=f"{pk}-seed-{n % 10}", sk=f"{n:04d}", n=n) for n in range(tasks)]
    settings = through(config, proxy)
    async with DynamoDBService(LoggingService(), settings) as service:
        await service.batch_write(seeded)

        async def work(n: int) -> tuple[Doc, Doc | None, int | None]:
            mine = Doc(pk=f"{pk}-task-{n % 20}", sk=f"{n:04d}", n=n)
            await service.save(mine)
            other = seeded[(n * 7) % tasks]
            read = await service.get_one(other.pk, other.sk, Doc, consistent_read=True)
            counted = None
            if n % 4 == 0:
                await service.update(mine.pk, mine.sk, {"touched_by": n})
                mine = mine.model_copy(update={"touched_by": n})
                counted = len((await service.query_by_pk(other.pk, Doc, limit=5)).items)
            assert read == other
            return mine, read, counted

        with caplog.at_level(logging.WARNING):
            results = await asyncio.gather(*(work(n) for n in range(tasks)), return_exceptions=True)
        failures = [result for result in results if isinstance(result, BaseException)]
        assert failures == []
        # A retry is the machine being busy (a slow answer is retried by design), not an
        # error; every operation must still have succeeded.
        failed = [
            r.getMessage()
            for r in caplog.records
            if r.name.startswith("lvrgd_common") and "retried" not in r.getMessage()
        ]
        assert failed == []

        done = [result for result in results if not isinstance(result, BaseException)]
        written = [mine for mine, _, _ in done]
        found = await service.batch_get(
            [(doc.pk, doc.sk) for doc in written], Doc, consistent_read=True
        )
    assert found == written
    counts = [counted for _, _, counted in done if counted is not None]
    assert counts == [5] * len(range(0, tasks, 4))
    assert proxy.peak_connections <= settings.max_pool_connections
