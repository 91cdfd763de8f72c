"""Cyclic garbage made by user code during a large batch is collected as it goes.

A serializer that leaves a reference cycle behind for every item (as many real ones do,
through closures, tracebacks or parent links) must not pile up 5,000 cycles: the
application's collector runs during the library's encoding as it would anywhere else.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, ClassVar

import pytest
from pydantic import field_serializer

from lvrgd_common import DynamoDBBaseModel, DynamoDBService, LoggingService

if TYPE_CHECKING:
    from collections.abc import Iterator

    from lvrgd_common import DynamoDBConfig

ITEMS = 5_000


class Cycle:
    """An object in a reference cycle with itself; counts how many are alive."""

    alive: ClassVar[int] = 0
    peak: ClassVar[int] = 0

    def __init__(self) -> None:
        self.me = self
        Cycle.alive += 1
        Cycle.peak = max(Cycle.peak, Cycle.alive)

    def __del__(self) -> None:
        Cycle.alive -= 1


class Tagged(DynamoDBBaseModel):
    tag: str

    @field_serializer("tag")
    def leave_a_cycle(self, value: str) -> str:
        Cycle()  # unreachable at once, freed only by the cyclic collector
        return value


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    gc.collect()
    Cycle.alive = Cycle.peak = 0
    yield
    if not was:
        gc.disable()


@pytest.mark.usefixtures("collector_on")
async def test_cyclic_garbage_does_not_pile_up_with_the_size_of_a_batch_write(
    config: DynamoDBConfig, pk: str
) -> None:
    items = [Tagged(pk=pk, sk=f"{n:05d}", tag=f"t{n}") for n in range(ITEMS)]
    async with DynamoDBService(LoggingService(), config) as service:
        await service.batch_write(items)
        back = await service.batch_get([(pk, f"{n:05d}") for n in range(0, ITEMS, 50)], Tagged)
    assert len(back) == ITEMS // 50
    # With the collector held off through the encode, every one of the 5,000 was alive at
    # the end of it; with the collector running, each generation-0 pass frees them.
    assert Cycle.peak < ITEMS // 5
