"""Local DynamoDB-compatible servers and table set-up, for development, demos and tests.

Nothing here is used by `DynamoDBService` itself: production code never creates tables.

Example:
    >>> with moto_server() as server:
    ...     config = DynamoDBConfig(
    ...         table_name="dev", region="us-east-1", endpoint_url=server.endpoint_url,
    ...         aws_access_key_id="test", aws_secret_access_key="test",
    ...     )
    ...     asyncio.run(create_table(config))
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, Literal, Self

import aioboto3
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence
    from types import TracebackType

    from types_aiobotocore_dynamodb import DynamoDBClient

    from lvrgd_common.models.dynamodb_config import DynamoDBConfig

__all__ = [
    "IndexSpec",
    "KeyType",
    "LocalServer",
    "create_table",
    "delete_table",
    "dynalite_server",
    "free_port",
    "moto_server",
]

_LOOPBACK = "127.0.0.1"
# How much of a server's stderr an error quotes, from its end.
_STDERR_TAIL: Final = 4000

KeyType = Literal["S", "N", "B"]
"""A key attribute's DynamoDB type: string, number or binary."""


def free_port(host: str = _LOOPBACK) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class LocalServer:
    """A server process on a loopback port, started and stopped by its owner."""

    def __init__(self, name: str, command: Sequence[str], host: str, port: int) -> None:
        self.name = name
        self.command = list(command)
        self.host = host
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        """The URL to give `DynamoDBConfig.endpoint_url`."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> Self:
        """Start the process and wait until it answers HTTP.

        Raises:
            RuntimeError: The process exited or did not answer within ``timeout``; the
                message ends with what the process wrote to stderr.
        """
        # stderr goes to a file, not a pipe: a chatty server never blocks on a full pipe.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(  # noqa: S603 - a fixed command of the project's own
            self.command, stdout=subprocess.DEVNULL, stderr=self._stderr
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                msg = f"{self.name} exited with code {self._process.returncode}"
                raise RuntimeError(self._with_stderr(msg))
            if self._answers():
                return self
            time.sleep(0.1)
        msg = f"{self.name} did not answer on {self.endpoint_url} within {timeout} s"
        msg = self._with_stderr(msg)
        self.stop()
        raise RuntimeError(msg)

    def _with_stderr(self, message: str) -> str:
        if self._stderr is None:
            return message
        self._stderr.seek(0, 2)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - _STDERR_TAIL))
        tail = self._stderr.read().decode(errors="replace").strip()
        self.stop()
        return f"{message}; its stderr:\n{tail}" if tail else f"{message} (no stderr)"

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.endpoint_url, timeout=1):  # noqa: S310 - loopback
                return True
        except urllib.error.HTTPError:
            return True  # any HTTP answer means it is serving
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """Stop the process (terminate, then kill after 5 s). Stopping twice is harmless."""
        process, self._process = self._process, None
        stderr, self._stderr = self._stderr, None
        if stderr is not None:
            stderr.close()
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def moto_server(host: str = _LOOPBACK, port: int | None = None) -> LocalServer:
    """Moto's DynamoDB-compatible server (``moto[server]``) in a subprocess.

    Use it as a context manager, or call ``start()`` and ``stop()``. Moto comes with
    ``pip install 'lvrgd-common[testing]'``. Connections are served concurrently, but moto
    handles one request at a time (`lvrgd_common._moto_server`): its backends are not
    thread-safe, and concurrent requests to a plain ``moto_server`` can lose writes.

    Raises:
        ModuleNotFoundError: moto's server is not installed (the message names the extra).
    """
    missing = [name for name in ("moto", "flask") if importlib.util.find_spec(name) is None]
    if missing:
        msg = (
            f"moto_server() needs moto's server ({', '.join(missing)} not installed): "
            "pip install 'lvrgd-common[testing]'"
        )
        raise ModuleNotFoundError(msg, name=missing[0])
    port = port or free_port(host)
    command = [sys.executable, "-m", "lvrgd_common._moto_server", "-H", host, "-p", str(port)]
    return LocalServer("moto server", command, host, port)


def dynalite_server(
    package_dir: str | os.PathLike[str], host: str = _LOOPBACK, port: int | None = None
) -> LocalServer:
    """Dynalite (npm), an independent, stricter DynamoDB implementation, in memory.

    ``package_dir`` is the folder whose ``node_modules`` holds dynalite (``npm ci`` there).

    Raises:
        FileNotFoundError: node or dynalite is not installed.
    """
    node = shutil.which("node")
    cli = Path(package_dir) / "node_modules" / "dynalite" / "cli.js"
    if node is None or not cli.is_file():
        msg = f"dynalite needs node and {cli} (run 'npm ci' in {package_dir})"
        raise FileNotFoundError(msg)
    port = port or free_port(host)
    command = [node, str(cli), "--host", host, "--port", str(port), "--createTableMs", "0"]
    command += ["--deleteTableMs", "0", "--updateTableMs", "0"]
    return LocalServer("dynalite", command, host, port)


class IndexSpec(BaseModel):
    """A secondary index for `create_table`: its key attributes, all attributes projected.

    Example:
        >>> by_email = IndexSpec(name="gsi1", hash_key="gsi1pk", range_key="gsi1sk")
        >>> by_date = IndexSpec(name="lsi1", hash_key="pk", range_key="created_at")
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=3)
    """The index name, as given to ``index_name=`` in queries."""
    hash_key: str
    """Partition key attribute; a local index must use the table's partition key."""
    range_key: str | None = None
    """Sort key attribute, if any."""
    hash_type: KeyType = "S"
    """DynamoDB type of ``hash_key``: string, number or binary."""
    range_type: KeyType = "S"
    """DynamoDB type of ``range_key``."""


async def create_table(
    config: DynamoDBConfig,
    *,
    global_indexes: Sequence[IndexSpec] = (),
    local_indexes: Sequence[IndexSpec] = (),
    partition_key_type: KeyType = "S",
    sort_key_type: KeyType = "S",
    active_within: float = 60.0,
    ttl_attribute: str | None = None,
) -> None:
    """Create the table (on-demand billing) and wait until ACTIVE.

    The keys are named as the configuration says (``pk``/``sk`` by default; no sort key
    when ``config.sort_key_name`` is None) and typed S, N or B as given (strings by
    default). For development, demos and tests: call it explicitly (the service never
    creates tables; production tables belong to infrastructure code). Local indexes share
    the table's partition key as their hash key.

    Example:
        >>> await create_table(
        ...     config,
        ...     global_indexes=[IndexSpec(name="gsi1", hash_key="gsi1pk", range_key="gsi1sk")],
        ...     local_indexes=[IndexSpec(name="lsi1", hash_key="pk", range_key="lsi1sk")],
        ... )
        >>> readings = config.model_copy(update={"partition_key_name": "device"})
        >>> await create_table(readings.model_copy(update={"sort_key_name": "at"}),
        ...                    sort_key_type="N")

    Args:
        config: Where to create it; ``config.table_name`` names the table.
        global_indexes: Global secondary indexes (on-demand, like the table).
        local_indexes: Local secondary indexes (only at creation time in DynamoDB).
        partition_key_type: The partition key's type: ``"S"``, ``"N"`` or ``"B"``.
        sort_key_type: The sort key's type (ignored without a sort key).
        active_within: Seconds to wait for the table to become ACTIVE.
        ttl_attribute: Enable DynamoDB's time to live on this attribute (a number of
            epoch seconds, e.g. an `EpochSeconds` field): items whose time has passed are
            deleted by DynamoDB, typically within a few days.

    Raises:
        botocore.exceptions.ClientError: From DynamoDB as is, e.g.
            ``ResourceInUseException`` when the table already exists.
        TimeoutError: The table was not ACTIVE within ``active_within`` seconds.
    """
    partition, sort = config.partition_key_name, config.sort_key_name
    definitions = {partition: partition_key_type}
    if sort is not None:
        definitions[sort] = sort_key_type
    for index in (*global_indexes, *local_indexes):
        # An index on a table key (every local index) keeps that key's type.
        definitions.setdefault(index.hash_key, index.hash_type)
        if index.range_key:
            definitions.setdefault(index.range_key, index.range_type)
    request: dict[str, object] = {
        "TableName": config.table_name,
        "KeySchema": _schema(partition, sort),
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind} for name, kind in definitions.items()
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if global_indexes:
        request["GlobalSecondaryIndexes"] = [_index(index) for index in global_indexes]
    if local_indexes:
        request["LocalSecondaryIndexes"] = [_index(index) for index in local_indexes]
    async with _client(config) as client:
        await client.create_table(**request)  # type: ignore[arg-type]
        await _wait_active(client, config.table_name, active_within)
        if ttl_attribute is not None:
            await client.update_time_to_live(
                TableName=config.table_name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
            )


async def delete_table(config: DynamoDBConfig) -> None:
    """Delete the table; an absent table is fine. For development and tests only."""
    async with _client(config) as client:
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            await client.delete_table(TableName=config.table_name)


def _schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


def _index(index: IndexSpec) -> dict[str, object]:
    return {
        "IndexName": index.name,
        "KeySchema": _schema(index.hash_key, index.range_key),
        "Projection": {"ProjectionType": "ALL"},
    }


async def _wait_active(client: DynamoDBClient, table: str, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        description = await client.describe_table(TableName=table)
        if description["Table"].get("TableStatus") == "ACTIVE":
            return
        await asyncio.sleep(0.1)
    msg = f"table {table!r} not ACTIVE within {within} s"
    raise TimeoutError(msg)


def _client(config: DynamoDBConfig) -> contextlib.AbstractAsyncContextManager[DynamoDBClient]:
    secret = config.aws_secret_access_key
    session = aioboto3.Session(
        aws_access_key_id=config.aws_access_key_id,
        aws_secret_access_key=None if secret is None else secret.get_secret_value(),
        aws_session_token=(
            None
            if config.aws_session_token is None
            else config.aws_session_token.get_secret_value()
        ),
        region_name=config.region,
    )
    client: contextlib.AbstractAsyncContextManager[DynamoDBClient] = session.client(
        "dynamodb", endpoint_url=config.endpoint_url
    )
    return client
