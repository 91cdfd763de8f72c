"""Unit-test fixtures: aioboto3 is replaced at one seam, its ``Session``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from lvrgd_common import DynamoDBConfig, DynamoDBService, LoggingService
from tests.fakes import FakeDynamoDB, FakeSessionFactory
from tests.http_server import Server, serving

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under mutmut (`make mutate`), unit tests before integration tests, each kept in order.

    mutmut orders a mutant's tests fastest first and stops at the first failure; most
    mutants then die in a unit test before a moto server is started for them.
    """
    if "MUTANT_UNDER_TEST" in os.environ:
        items.sort(key=lambda item: "integration-tests" in item.path.parts)


@pytest.fixture
def fake() -> FakeDynamoDB:
    return FakeDynamoDB()


@pytest.fixture
def sessions(fake: FakeDynamoDB, monkeypatch: pytest.MonkeyPatch) -> FakeSessionFactory:
    factory = FakeSessionFactory(fake)
    monkeypatch.setattr("aioboto3.Session", factory)
    return factory


@pytest.fixture
def config() -> DynamoDBConfig:
    return DynamoDBConfig(
        table_name="unit-table",
        region="eu-west-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="AKIDUNIT",
        aws_secret_access_key="unit-secret-value",
        batch_concurrency=4,
        batch_backoff_base=0.001,
        batch_backoff_max=0.004,
        batch_max_attempts=4,
        # The stub stands in for the aioboto3 client, so every request must go through it.
        fast_path=False,
    )


@pytest.fixture
async def service(
    config: DynamoDBConfig, sessions: FakeSessionFactory
) -> AsyncIterator[DynamoDBService]:
    async with DynamoDBService(LoggingService("lvrgd_common.unit"), config) as opened:
        assert len(sessions.made) == 1, "the service must talk to the stub"
        yield opened


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    """A scripted local HTTP server in DynamoDB's place."""
    async with serving() as started:
        yield started
