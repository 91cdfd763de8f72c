"""The pytest plugin of the ``[testing]`` extra: a DynamoDB server, tables and services.

Registered through the ``pytest11`` entry point, so it is active wherever lvrgd-common is
installed with pytest; a project needs no conftest of its own. The fixtures are lazy:
nothing starts until a test asks for one.

- ``dynamodb_server`` (session): the embedded moto server on a free loopback port, or the
  endpoint in ``DYNAMODB_ENDPOINT_URL`` when that is set (DynamoDB Local, dynalite, AWS).
- ``dynamodb_table``: a fresh, uniquely named table per test, deleted afterwards. Its key
  schema, indexes, stream and TTL come from the ``dynamodb_table_spec`` fixture, which reads
  the test's ``@pytest.mark.dynamodb_table(...)`` marker (the fields of `TableSpec`);
  override the fixture to choose for a whole module or project.
- ``dynamodb_table_factory``: a callable making more tables in one test (same arguments).
- ``dynamodb_config``: the `DynamoDBConfig` for ``dynamodb_table``.
- ``dynamodb_service``: an opened `DynamoDBService` on ``dynamodb_config``, per test, on
  pytest-asyncio's event loop (the test's own loop).
- ``dynamodb_env``: sets ``DYNAMODB_TABLE_NAME``, ``DYNAMODB_ENDPOINT_URL``, region and
  credentials for the test, so that an application calling ``DynamoDBConfig.from_env()``
  at startup finds ``dynamodb_table``.

Examples:
    ```python
    @pytest.mark.dynamodb_table(global_indexes=[IndexSpec(name="gsi1", hash_key="gsi1pk")])
    async def test_save(dynamodb_service: DynamoDBService) -> None:
        await dynamodb_service.save(Note(pk="n", sk="1", text="hi"))
    ```
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypeVar

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

from lvrgd_common.models.dynamodb_config import DynamoDBConfig
from lvrgd_common.services.dynamodb_service import DynamoDBService
from lvrgd_common.services.logging_service import LoggingService
from lvrgd_common.testing.servers import moto_server
from lvrgd_common.testing.tables import (
    IndexSpec,
    KeyType,
    StreamViewType,
    create_table,
    delete_table,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Coroutine, Iterator

__all__ = [
    "DynamoDBTestServer",
    "DynamoDBTestTable",
    "TableFactory",
    "TableSpec",
]

MARKER: Final = "dynamodb_table"
ENDPOINT_VARIABLE: Final = "DYNAMODB_ENDPOINT_URL"
_DEFAULT_REGION: Final = "us-east-1"
# moto and the local servers take any credentials; these only make the AWS chain stop looking.
_LOCAL_CREDENTIAL: Final = "testing"

_T = TypeVar("_T")


class TableSpec(BaseModel):
    """The shape of a test table: the ``@pytest.mark.dynamodb_table(...)`` arguments.

    Examples:
        ```python
        @pytest.mark.dynamodb_table(sort_key=None, stream="NEW_AND_OLD_IMAGES")
        async def test_events(dynamodb_service: DynamoDBService) -> None: ...
        ```
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    partition_key: str = "pk"
    """The partition key attribute."""
    sort_key: str | None = "sk"
    """The sort key attribute; None for a table with a partition key only."""
    partition_key_type: KeyType = "S"
    """The partition key's type: ``"S"``, ``"N"`` or ``"B"``."""
    sort_key_type: KeyType = "S"
    """The sort key's type."""
    global_indexes: tuple[IndexSpec, ...] = ()
    """Global secondary indexes."""
    local_indexes: tuple[IndexSpec, ...] = ()
    """Local secondary indexes (their hash key is the table's partition key)."""
    stream: StreamViewType | None = None
    """The table's stream view type; None for no stream."""
    ttl_attribute: str | None = None
    """An attribute of epoch seconds that DynamoDB's time to live reads."""
    table_prefix: str = "test"
    """The start of the table's name; a random suffix makes it unique."""


@dataclass(frozen=True)
class DynamoDBTestServer:
    """Where the session's DynamoDB-compatible server answers, and how to sign for it."""

    endpoint_url: str
    region: str = _DEFAULT_REGION
    aws_access_key_id: str = _LOCAL_CREDENTIAL
    aws_secret_access_key: str = field(default=_LOCAL_CREDENTIAL, repr=False)
    embedded: bool = True
    """True for the moto server this plugin started; False for ``DYNAMODB_ENDPOINT_URL``."""

    def config(self, table_name: str, **fields: Any) -> DynamoDBConfig:  # noqa: ANN401
        """A `DynamoDBConfig` for ``table_name`` on this server; ``fields`` win."""
        values: dict[str, Any] = {
            "table_name": table_name,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "aws_access_key_id": self.aws_access_key_id,
            "aws_secret_access_key": SecretStr(self.aws_secret_access_key),
            **fields,
        }
        return DynamoDBConfig(**values)


@dataclass(frozen=True)
class DynamoDBTestTable:
    """A table made for one test: its name, its shape and a configuration pointing at it."""

    name: str
    spec: TableSpec
    config: DynamoDBConfig

    def environ(self) -> dict[str, str]:
        """The variables that make ``DynamoDBConfig.from_env()`` find this table.

        ``from_env`` cannot say "no sort key", so a table without one also needs
        ``sort_key_name=None`` as an override.
        """
        secret = self.config.aws_secret_access_key
        variables = {
            "DYNAMODB_TABLE_NAME": self.name,
            "AWS_REGION": self.config.region,
            ENDPOINT_VARIABLE: self.config.endpoint_url or "",
            "AWS_ACCESS_KEY_ID": self.config.aws_access_key_id or "",
            "AWS_SECRET_ACCESS_KEY": "" if secret is None else secret.get_secret_value(),
            "DYNAMODB_PARTITION_KEY_NAME": self.config.partition_key_name,
        }
        if self.config.sort_key_name is not None:
            variables["DYNAMODB_SORT_KEY_NAME"] = self.config.sort_key_name
        return variables


class TableFactory:
    """Makes tables on the session's server (``dynamodb_table_factory``); deletes them after."""

    def __init__(self, server: DynamoDBTestServer) -> None:
        self._server = server
        self._made: list[DynamoDBTestTable] = []

    def __call__(self, spec: TableSpec | None = None, **fields: Any) -> DynamoDBTestTable:  # noqa: ANN401
        """A new table shaped by ``spec``, or by `TableSpec` ``fields``.

        Raises:
            pydantic.ValidationError: ``fields`` are not `TableSpec`'s.
            botocore.exceptions.ClientError: The server refused the table.
        """
        shape = spec if spec is not None else TableSpec(**fields)
        name = f"{shape.table_prefix}-{uuid.uuid4().hex[:12]}"
        config = self._server.config(
            name, partition_key_name=shape.partition_key, sort_key_name=shape.sort_key
        )
        _run(
            create_table(
                config,
                global_indexes=shape.global_indexes,
                local_indexes=shape.local_indexes,
                partition_key_type=shape.partition_key_type,
                sort_key_type=shape.sort_key_type,
                ttl_attribute=shape.ttl_attribute,
                stream=shape.stream,
            )
        )
        table = DynamoDBTestTable(name=name, spec=shape, config=config)
        self._made.append(table)
        return table

    def delete_all(self) -> None:
        """Delete every table made here (an absent one is fine)."""
        made, self._made = self._made, []
        for table in made:
            _run(delete_table(table.config))


def _run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coroutine`` to the end on a loop of its own, in a thread of its own.

    Table set-up is synchronous so that sync tests (FastAPI's ``TestClient``) can use it, and
    a thread keeps it clear of any event loop running in the test's thread.
    """
    result: list[_T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coroutine))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=target, name="lvrgd-dynamodb-table")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return result[0]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``dynamodb_table`` marker (``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**spec): the shape of the test's dynamodb_table (lvrgd_common TableSpec "
        "fields: partition_key, sort_key, global_indexes, local_indexes, stream, ...)",
    )


@pytest.fixture(scope="session")
def dynamodb_server() -> Iterator[DynamoDBTestServer]:
    """The session's server: ``DYNAMODB_ENDPOINT_URL`` when set, else an embedded moto."""
    endpoint = os.environ.get(ENDPOINT_VARIABLE)
    if endpoint:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        yield DynamoDBTestServer(
            endpoint_url=endpoint,
            region=region or _DEFAULT_REGION,
            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID") or _LOCAL_CREDENTIAL,
            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY") or _LOCAL_CREDENTIAL,
            embedded=False,
        )
        return
    with moto_server() as server:
        yield DynamoDBTestServer(endpoint_url=server.endpoint_url)


@pytest.fixture
def dynamodb_table_spec(request: pytest.FixtureRequest) -> TableSpec:
    """The test's table shape: its ``dynamodb_table`` marker (the closest wins), or pk/sk."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return TableSpec()
    if marker.args:
        msg = f"@pytest.mark.{MARKER} takes keyword arguments only (TableSpec fields)"
        raise TypeError(msg)
    return TableSpec(**marker.kwargs)


@pytest.fixture
def dynamodb_table_factory(dynamodb_server: DynamoDBTestServer) -> Iterator[TableFactory]:
    """``make(**spec)`` gives a fresh table; each is deleted when the test ends."""
    factory = TableFactory(dynamodb_server)
    try:
        yield factory
    finally:
        factory.delete_all()


@pytest.fixture
def dynamodb_table(
    dynamodb_table_factory: TableFactory, dynamodb_table_spec: TableSpec
) -> DynamoDBTestTable:
    """A fresh table for this test, shaped by ``dynamodb_table_spec``, deleted afterwards."""
    return dynamodb_table_factory(dynamodb_table_spec)


@pytest.fixture
def dynamodb_config(dynamodb_table: DynamoDBTestTable) -> DynamoDBConfig:
    """The `DynamoDBConfig` of ``dynamodb_table`` (copy it to change a setting)."""
    return dynamodb_table.config


@pytest.fixture
def dynamodb_env(
    dynamodb_table: DynamoDBTestTable, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Point ``DynamoDBConfig.from_env()`` at ``dynamodb_table`` for this test."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    variables = dynamodb_table.environ()
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return variables


def _service_fixture() -> Callable[..., Any]:
    try:
        import pytest_asyncio  # noqa: PLC0415 - optional: only this fixture needs it
    except ImportError:

        @pytest.fixture(name="dynamodb_service")
        def needs_pytest_asyncio() -> None:
            """Needs pytest-asyncio (``pip install 'lvrgd-common[testing]'``)."""
            pytest.fail(
                "the dynamodb_service fixture needs pytest-asyncio: "
                "pip install 'lvrgd-common[testing]'",
                pytrace=False,
            )

        return needs_pytest_asyncio

    @pytest_asyncio.fixture(name="dynamodb_service")
    async def opened_service(dynamodb_config: DynamoDBConfig) -> AsyncIterator[DynamoDBService]:
        """An opened `DynamoDBService` on ``dynamodb_config``, closed when the test ends."""
        logger = LoggingService("lvrgd_common.testing")
        async with DynamoDBService(logger, dynamodb_config) as service:
            yield service

    return opened_service


dynamodb_service = _service_fixture()
