"""Peak RSS growth of one 5,000-item ``batch_write``, in a fresh process of its own.

Run by the benchmark as ``python -m benchmarks.memory ENDPOINT TABLE COUNT``; prints JSON.
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

from benchmarks.items import make_item
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


async def measure(endpoint: str, table: str, count: int) -> dict[str, float]:
    """Peak RSS growth in MiB of one ``batch_write`` of ``count`` items."""
    config = DynamoDBConfig(
        table_name=table,
        region="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - dynalite takes any key
    )
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


def main() -> None:
    """Entry point: ENDPOINT TABLE COUNT."""
    endpoint, table, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(asyncio.run(measure(endpoint, table, count))))


if __name__ == "__main__":
    main()
