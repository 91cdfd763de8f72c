"""Integration fixtures: a real DynamoDB-compatible server and a table of the session's own.

The server is chosen with ``--backend``:

- ``moto`` (default): moto's server, started here on a free loopback port;
- ``dynalite``: dynalite (npm; ``npm ci`` in ``tools/dynalite``, which ``make test`` does),
  an independent and stricter implementation, started here on a free loopback port; where
  node or the package is missing every test is reported as skipped, naming why;
- ``env``: whatever ``DYNAMODB_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_DYNAMODB``) names,
  read from the environment or ``.env``, e.g. docker-compose's server or DynamoDB itself.

``--fast-path off`` runs the services of the session with ``DynamoDBConfig.fast_path=False``
(every request through the aioboto3 client) instead of the default lean path.

A set ``DYNAMODB_ENDPOINT_URL`` also selects ``env`` when ``--backend`` is not given.
Each session creates a uniquely named table (with a GSI and an LSI) and deletes it at the end;
each test writes under its own unique partition keys.
"""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from dotenv import load_dotenv

from faultproxy import FaultProxy
from lvrgd_common import DynamoDBConfig, DynamoDBService, LoggingService
from lvrgd_common.testing import (
    IndexSpec,
    LocalServer,
    create_table,
    delete_table,
    dynalite_server,
    moto_server,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from contextlib import AbstractAsyncContextManager

load_dotenv()

DYNALITE_DIR = Path(__file__).resolve().parent.parent / "tools" / "dynalite"

GSI = IndexSpec(name="gsi1", hash_key="gsi1pk", range_key="gsi1sk")
LSI = IndexSpec(name="lsi1", hash_key="pk", range_key="lsi1sk")


# What a backend cannot do, with the reason; tests that need it carry
# ``@pytest.mark.needs("capability")`` and are skipped there with that reason.
KILLABLE_REASON = (
    "the test kills and restarts a dynalite of its own on disk (moto keeps its data in "
    "memory only, so a killed moto could not be scanned); it runs in the dynalite session"
)
BACKEND_LACKS: dict[str, dict[str, str]] = {
    "moto": {
        "exact_item_size_limit": "moto refuses items over 405,000 bytes by its own count "
        "(DynamoDB's limit is 409,600 bytes)",
        "killable_server": KILLABLE_REASON,
    },
    "dynalite": {
        "time_to_live": "dynalite has no UpdateTimeToLive (it answers UnknownOperationException)",
        "transactions": "dynalite has no TransactWriteItems or TransactGetItems "
        "(it answers UnknownOperationException)",
        "streams": "dynalite has no DynamoDB Streams (no DescribeStream, GetShardIterator "
        "or GetRecords); the stream tests run in the moto session",
        "credential_checks": "dynalite never verifies signatures (any key and secret are "
        "accepted); the test runs in the moto session, on a moto of its own with IAM "
        "authentication switched on",
    },
    "env": {
        "killable_server": KILLABLE_REASON,
        "credential_checks": "the test starts a moto server of its own; it runs in the "
        "moto session",
    },
}


def dynalite_missing() -> str | None:
    """Why dynalite cannot run here, or None when node and the package are installed."""
    if shutil.which("node") is None:
        return "node is not on PATH (install Node.js >= 18 to run the dynalite backend)"
    if not (DYNALITE_DIR / "node_modules" / "dynalite" / "cli.js").is_file():
        return f"dynalite is not installed: run 'npm ci' in {DYNALITE_DIR} (make test does)"
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs(capability): skip on backends that lack the capability"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = _backend_of(config)
    if chosen == "dynalite" and (missing := dynalite_missing()):
        unavailable = pytest.mark.skip(reason=f"dynalite backend unavailable: {missing}")
        for item in items:
            item.add_marker(unavailable)
        return
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
        choices=["moto", "dynalite", "env"],
        help="server to run against (default: env when DYNAMODB_ENDPOINT_URL is set, else moto)",
    )
    parser.addoption(
        "--fast-path",
        default="on",
        choices=["on", "off"],
        help="DynamoDBConfig.fast_path of the session's configuration (default: on)",
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
    if backend == "moto" and (shared := os.environ.get("LVRGD_SHARED_MOTO_URL")):
        # make mutate (tools/mutation.py): one moto server for every mutant's test run.
        yield shared
        return
    server: LocalServer = dynalite_server(DYNALITE_DIR) if backend == "dynalite" else moto_server()
    with server:
        yield server.endpoint_url


@pytest.fixture(scope="session")
def base_config(
    endpoint_url: str | None, backend: str, request: pytest.FixtureRequest
) -> DynamoDBConfig:
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
            # Generous budgets: on a loaded machine a 5,000-item batch may take longer than
            # the default 10 s, and one answer of a busy server longer than 5 s. The tests
            # of the timeouts themselves set their own.
            "operation_timeout": 120.0,
            "read_timeout": 30.0,
            "connect_timeout": 10.0,
            "fast_path": request.config.getoption("--fast-path") == "on",
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


@asynccontextmanager
async def _own_table(base: DynamoDBConfig) -> AsyncIterator[DynamoDBConfig]:
    settings = base.model_copy(update={"table_name": f"lvrgd-it-{uuid.uuid4().hex[:12]}"})
    await create_table(settings, global_indexes=[GSI], local_indexes=[LSI])
    try:
        yield settings
    finally:
        await delete_table(settings)


@pytest.fixture(scope="session")
def own_table(
    base_config: DynamoDBConfig,
) -> Callable[[], AbstractAsyncContextManager[DynamoDBConfig]]:
    """A factory of fresh tables (same keys and indexes as the session's), deleted on exit.

    For tests that must see a whole table, e.g. scan it to prove nothing was written.
    """
    return lambda: _own_table(base_config)


@pytest.fixture
async def proxy(endpoint_url: str | None) -> AsyncIterator[FaultProxy]:
    """A fault-injecting proxy in front of the session's server (forwarding everything)."""
    if endpoint_url is None or not endpoint_url.startswith(
        ("http://127.0.0.1:", "http://localhost:")
    ):
        pytest.skip(f"the fault proxy only fronts a loopback server, not {endpoint_url!r}")
    async with FaultProxy(endpoint_url) as started:
        yield started
