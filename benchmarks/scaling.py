"""Scaling of the library: client CPU per item from 1,000 to 100,000 items.

For each size, one ``batch_write`` of that many items into a partition of its own, then an
``iter_query`` walk of that partition (pages of 100), each timed as this process's CPU. The
items are built before the timing and dropped before the walk. Flat per-item figures mean
no step grows faster than the number of items (no quadratic bookkeeping, no collector
scanning a growing heap).
"""

from __future__ import annotations

import gc
import resource
from typing import TYPE_CHECKING, Any, Final

from benchmarks.items import BenchItem, make_item
from lvrgd_common import DynamoDBService, LoggingService

if TYPE_CHECKING:
    from lvrgd_common import DynamoDBConfig

SIZES: Final = (1_000, 10_000, 100_000)
PAGE: Final = 100


def scale_partition(size: int) -> str:
    """The partition a size writes and walks."""
    return f"bench#scale#{size}"


def cpu_seconds() -> float:
    """User plus system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_scaling(config: DynamoDBConfig, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    """Per-item client CPU of ``batch_write`` and of an ``iter_query`` walk, per size."""
    runs: list[dict[str, Any]] = []
    # operation_timeout bounds a whole operation: 100,000 items in one batch_write take
    # longer than the default 10 s against a single-threaded local server.
    config = config.model_copy(update={"operation_timeout": 900.0})
    async with DynamoDBService(LoggingService(), config) as service:
        for size in sizes:
            pk = scale_partition(size)
            models = [make_item(pk, index) for index in range(size)]
            gc.collect()
            started = cpu_seconds()
            await service.batch_write(models)
            write_cpu = cpu_seconds() - started
            del models
            gc.collect()
            started = cpu_seconds()
            count = 0
            async for _ in service.iter_query(pk, BenchItem, page_size=PAGE):
                count += 1
            walk_cpu = cpu_seconds() - started
            if count != size:
                msg = f"iter_query walked {count} items of {size}"
                raise RuntimeError(msg)
            runs.append(
                {
                    "items": size,
                    "batch_write": {
                        "cpu_s": round(write_cpu, 3),
                        "cpu_us_per_item": round(write_cpu / size * 1e6, 1),
                    },
                    "iter_query": {
                        "cpu_s": round(walk_cpu, 3),
                        "cpu_us_per_item": round(walk_cpu / size * 1e6, 1),
                    },
                }
            )
            print(
                f"  scaling {size:>7,} items: batch_write"
                f" {runs[-1]['batch_write']['cpu_us_per_item']:6.1f} us/item,"
                f" iter_query {runs[-1]['iter_query']['cpu_us_per_item']:6.1f} us/item",
                flush=True,
            )
    return {"runs": runs}
