"""Integration fixtures: a real DynamoDB-compatible server and a table of the session's own.

The server is chosen with ``--backend``:

- ``moto`` (default): moto's server, started here on a free loopback port;
- ``env``: whatever ``DYNAMODB_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_DYNAMODB``) names,
  read from the environment or ``.env``, e.g. docker-compose's server or DynamoDB itself.

A set ``DYNAMODB_ENDPOINT_URL`` also selects ``env`` when ``--backend`` is not given.
Each session creates a uniquely named table (with a GSI and an LSI) and deletes it at the end;
each test writes under its own unique partition keys.
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

import pytest
from dotenv import load_dotenv

from lvrgd_common import DynamoDBConfig, DynamoDBService, LoggingService
from lvrgd_common.testing import IndexSpec, LocalServer, create_table, delete_table, moto_server

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

load_dotenv()

GSI = IndexSpec(name="gsi1", hash_key="gsi1pk", range_key="gsi1sk")
LSI = IndexSpec(name="lsi1", hash_key="pk", range_key="lsi1sk")


# What a backend cannot do, with the reason; tests that need it carry
# ``@pytest.mark.needs("capability")`` and are skipped there with that reason.
BACKEND_LACKS: dict[str, dict[str, str]] = {
    "moto": {
        "isolated_transactions": (
            "a cancelled TransactWriteItems restores a copy of the whole table taken when it"
            " started, undoing writes that concurrent requests committed meanwhile"
        ),
    },
    "env": {},
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs(capability): skip on backends that lack the capability"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = _backend_of(config)
    lacks = BACKEND_LACKS.get(chosen, {})
    for item in items:
        for marker in item.iter_markers("needs"):
            for capability in marker.args:
                if capability in lacks:
                    reason = f"{chosen} backend: {lacks[capability]}"
                    item.add_marker(pytest.mark.skip(reason=reason))


def _backend_of(config: pytest.Config) -> str:
    chosen: str | None = config.getoption("--backend")
    if chosen is None:
        chosen = "env" if _configured_endpoint() else "moto"
    return chosen


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        default=None,
        choices=["moto", "env"],
        help="server to run against (default: env when DYNAMODB_ENDPOINT_URL is set, else moto)",
    )


def _configured_endpoint() -> str | None:
    return os.environ.get("DYNAMODB_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return _backend_of(request.config)


@pytest.fixture(scope="session")
def endpoint_url(backend: str) -> Iterator[str | None]:
    if backend == "env":
        yield _configured_endpoint()
        return
    server: LocalServer = moto_server()
    with server:
        yield server.endpoint_url


@pytest.fixture(scope="session")
def base_config(endpoint_url: str | None, backend: str) -> DynamoDBConfig:
    """Settings for the session's server; local servers get dummy credentials."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    key_id = os.environ.get("AWS_ACCESS_KEY_ID")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
    if backend != "env" and not (key_id and secret):
        key_id, secret = "testing", "testing-secret"
    return DynamoDBConfig.model_validate(
        {
            "table_name": f"lvrgd-it-{uuid.uuid4().hex[:12]}",
            "region": region,
            "endpoint_url": endpoint_url,
            "aws_access_key_id": key_id,
            "aws_secret_access_key": secret,
        }
    )


@pytest.fixture(scope="session")
async def config(base_config: DynamoDBConfig) -> AsyncIterator[DynamoDBConfig]:
    """The session's table, created with a GSI and an LSI, deleted at the end."""
    await create_table(base_config, global_indexes=[GSI], local_indexes=[LSI])
    yield base_config
    await delete_table(base_config)


@pytest.fixture
async def service(config: DynamoDBConfig) -> AsyncIterator[DynamoDBService]:
    async with DynamoDBService(LoggingService("lvrgd_common.tests"), config) as opened:
        yield opened


@pytest.fixture
def pk() -> str:
    """A partition key no other test uses."""
    return f"it#{uuid.uuid4().hex}"
