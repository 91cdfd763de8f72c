"""Peak RSS growth of one ``batch_write`` or ``iter_query`` walk, in a fresh process.

Run by the benchmark as ``python -m benchmarks.memory ENDPOINT TABLE COUNT`` (a write of
COUNT items) or ``... COUNT --walk PK`` (an ``iter_query`` walk of partition PK, which
holds COUNT items, handling each item as it comes); prints JSON.
Growth is the peak RSS during the call minus the RSS just before it, with the items
already built and the client warmed up, so it is what the call itself adds. The kernel's
peak (VmHWM) is reset right before the call (``/proc/self/clear_refs``), since loading
botocore's service model earlier leaves a higher peak behind than the call ever reaches.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

from benchmarks.items import BenchItem, make_item
from lvrgd_common import DynamoDBConfig, DynamoDBService, LoggingService

_STATUS = Path("/proc/self/status")


def status_kib(field: str) -> int:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in KiB."""
    match = re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
    if match is None:
        msg = f"no {field} in {_STATUS}"
        raise RuntimeError(msg)
    return int(match.group(1))


def reset_peak() -> None:
    """Set the kernel's peak RSS (VmHWM) of this process back to its current RSS."""
    Path("/proc/self/clear_refs").write_text("5")


def bench_config(endpoint: str, table: str) -> DynamoDBConfig:
    """The benchmark's configuration: defaults, dummy credentials."""
    return DynamoDBConfig(
        table_name=table,
        region="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - dynalite takes any key
    )


async def measure(endpoint: str, table: str, count: int) -> dict[str, float]:
    """Peak RSS growth in MiB of one ``batch_write`` of ``count`` items."""
    config = bench_config(endpoint, table)
    models = [make_item("bench#memory", index) for index in range(count)]
    async with DynamoDBService(LoggingService(), config) as service:
        await service.batch_write(models[:100])  # warm: imports, connections, botocore models
        reset_peak()
        before = status_kib("VmRSS")
        await service.batch_write(models)
        peak = status_kib("VmHWM")
    return {
        "items": count,
        "rss_before_mib": round(before / 1024, 1),
        "peak_mib": round(peak / 1024, 1),
        "growth_mib": round(max(0, peak - before) / 1024, 1),
    }


async def measure_walk(endpoint: str, table: str, count: int, pk: str) -> dict[str, float]:
    """Peak RSS growth in MiB of an ``iter_query`` walk of ``pk`` (``count`` items)."""
    async with DynamoDBService(LoggingService(), bench_config(endpoint, table)) as service:
        async for _ in service.iter_query(pk, BenchItem, page_size=100):  # warm up
            break
        reset_peak()
        before = status_kib("VmRSS")
        walked = 0
        async for _ in service.iter_query(pk, BenchItem, page_size=100):
            walked += 1
        peak = status_kib("VmHWM")
    if walked != count:
        msg = f"walked {walked} items, expected {count}"
        raise RuntimeError(msg)
    return {
        "items": count,
        "rss_before_mib": round(before / 1024, 1),
        "peak_mib": round(peak / 1024, 1),
        "growth_mib": round(max(0, peak - before) / 1024, 1),
    }


def main() -> None:
    """Entry point: ENDPOINT TABLE COUNT [--walk PK]."""
    endpoint, table, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if len(sys.argv) == 6 and sys.argv[4] == "--walk":  # noqa: PLR2004 - the usage above
        result = asyncio.run(measure_walk(endpoint, table, count, sys.argv[5]))
    else:
        result = asyncio.run(measure(endpoint, table, count))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
