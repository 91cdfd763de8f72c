"""``DynamoDBConfig.profile_name`` and account-ID endpoint routing, on both paths."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBConfig,
    DynamoDBService,
    DynamoDBServiceError,
    LoggingService,
)
from lvrgd_common.services._dynamodb.transport.base import ClientTransport, open_transport
from lvrgd_common.services._dynamodb.transport.lean import LeanTransport

if TYPE_CHECKING:
    from pathlib import Path

    from tests.http_server import Server


class Note(DynamoDBBaseModel):
    text: str = "hi"


@pytest.fixture
def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two accounts' profiles in the shared files; no credentials in the environment."""
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[account-a]\naws_access_key_id = AKIDACCOUNTA\naws_secret_access_key = secret-a\n"
        "[account-b]\naws_access_key_id = AKIDACCOUNTB\naws_secret_access_key = secret-b\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("profiles")
@pytest.mark.parametrize("path", ["lean", "aioboto3"])
async def test_each_service_signs_with_its_own_profile(server: Server, path: str) -> None:
    for profile in ("account-a", "account-b"):
        config = DynamoDBConfig(
            table_name="profiles",
            region="eu-west-1",
            endpoint_url=server.url,
            profile_name=profile,
            fast_path=path == "lean",
        )
        async with DynamoDBService(LoggingService(), config) as service:
            assert await service.get_one("p", "s", Note) is None
    signed = [request.headers["Authorization"] for request in server.received]
    assert "Credential=AKIDACCOUNTA/" in signed[0]
    assert "Credential=AKIDACCOUNTB/" in signed[1]


@pytest.mark.usefixtures("profiles")
async def test_an_unknown_profile_fails_open_cleanly() -> None:
    config = DynamoDBConfig(table_name="profiles", region="eu-west-1", profile_name="nope")
    with pytest.raises(DynamoDBServiceError, match="nope") as caught:
        await DynamoDBService(LoggingService(), config).open()
    assert caught.value.operation == "open"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [(None, ClientTransport), ("required", ClientTransport), ("disabled", LeanTransport)],
)
async def test_account_id_endpoints_leave_the_item_operations_to_botocore(
    monkeypatch: pytest.MonkeyPatch, mode: str | None, expected: type
) -> None:
    """botocore sends to ``{account}.ddb.{region}.amazonaws.com``; the lean path does not."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDROUTED")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "routed-secret")
    monkeypatch.setenv("AWS_ACCOUNT_ID", "111122223333")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    if mode is None:
        monkeypatch.delenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", raising=False)
    else:
        monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", mode)
    config = DynamoDBConfig(table_name="routed", region="eu-west-1")
    transport, stack = await open_transport(config, LoggingService())
    try:
        assert type(transport) is expected
    finally:
        await stack.aclose()


async def test_without_an_account_id_the_lean_path_serves_aws_endpoints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDPLAIN")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "plain-secret")
    monkeypatch.delenv("AWS_ACCOUNT_ID", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    transport, stack = await open_transport(
        DynamoDBConfig(table_name="plain", region="eu-west-1"), LoggingService()
    )
    try:
        assert type(transport) is LeanTransport
    finally:
        await stack.aclose()
