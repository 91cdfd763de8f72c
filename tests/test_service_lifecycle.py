import pytest

from lvrgd_common import DynamoDBConfig, DynamoDBService, DynamoDBServiceError, LoggingService
from tests.fakes import FakeDynamoDB, FakeSessionFactory


async def test_constructor_does_no_io(config: DynamoDBConfig, sessions: FakeSessionFactory) -> None:
    DynamoDBService(LoggingService(), config)
    assert sessions.made == []


async def test_opening_creates_one_client_and_sends_nothing(
    config: DynamoDBConfig, sessions: FakeSessionFactory, fake: FakeDynamoDB
) -> None:
    async with DynamoDBService(LoggingService(), config) as service:
        await service.open()
        assert len(sessions.made) == 1
        assert fake.entered == 1
        assert fake.calls == []
    assert fake.exited == 1


async def test_client_is_configured_from_the_config(
    config: DynamoDBConfig, sessions: FakeSessionFactory
) -> None:
    async with DynamoDBService(LoggingService(), config):
        session = sessions.made[0]
    assert session.kwargs["aws_access_key_id"] == "AKIDUNIT"
    assert session.kwargs["aws_secret_access_key"] == "unit-secret-value"
    assert session.kwargs["region_name"] == "eu-west-1"
    assert session.client_kwargs["endpoint_url"] == "http://127.0.0.1:9"
    botocore_config = session.client_kwargs["config"]
    assert botocore_config.max_pool_connections == config.max_pool_connections
    assert botocore_config.connect_timeout == config.connect_timeout
    assert botocore_config.read_timeout == config.read_timeout
    # total_max_attempts counts the first try; botocore's max_attempts would not.
    assert botocore_config.retries == {
        "total_max_attempts": config.max_attempts,
        "mode": "standard",
    }


async def test_without_credentials_the_standard_chain_applies(
    sessions: FakeSessionFactory,
) -> None:
    config = DynamoDBConfig(table_name="table", region="eu-west-1", fast_path=False)
    async with DynamoDBService(LoggingService(), config):
        pass
    assert sessions.made[0].kwargs["aws_access_key_id"] is None
    assert sessions.made[0].kwargs["aws_secret_access_key"] is None


@pytest.mark.usefixtures("sessions")
async def test_use_before_open_raises(config: DynamoDBConfig) -> None:
    service = DynamoDBService(LoggingService(), config)
    with pytest.raises(DynamoDBServiceError, match="not open") as caught:
        await service.ping()
    assert caught.value.operation == "ping"


@pytest.mark.usefixtures("sessions")
async def test_use_after_close_raises_and_closing_twice_is_harmless(
    config: DynamoDBConfig, fake: FakeDynamoDB
) -> None:
    service = DynamoDBService(LoggingService(), config)
    await service.open()
    await service.close()
    await service.close()
    assert fake.exited == 1
    with pytest.raises(DynamoDBServiceError, match="closed") as caught:
        await service.delete("p", "s")
    assert caught.value.operation == "delete"
    with pytest.raises(DynamoDBServiceError, match="closed"):
        await service.open()


@pytest.mark.usefixtures("sessions")
async def test_repr_shows_state_and_no_secret(config: DynamoDBConfig) -> None:
    service = DynamoDBService(LoggingService(), config)
    assert "new" in repr(service)
    async with service:
        assert "open" in repr(service)
    assert "closed" in repr(service)
    assert "unit-secret-value" not in repr(service)
