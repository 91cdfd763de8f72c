"""Each botocore tuning is really taken; where a hook is missing, one warning and botocore's way.

A real aiobotocore client (no stub) against a scripted local server, ``fast_path`` off.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from unittest import mock

import botocore.auth
from aiobotocore.session import AioSession
from botocore.auth import SigV4Auth

from lvrgd_common import DynamoDBConfig
from lvrgd_common.services._dynamodb.transport import client, tuning, wire
from lvrgd_common.services._dynamodb.transport.client import open_client
from lvrgd_common.services._dynamodb.transport.signing import FastSigV4Auth
from lvrgd_common.services._dynamodb.transport.wire import PassThroughParser, PassThroughSerializer
from tests.http_server import answer

if TYPE_CHECKING:
    import pytest

    from tests.http_server import Server


@dataclass
class Records:
    warnings: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def debug(self, event: str, **fields: Any) -> None:
        pass

    def info(self, event: str, **fields: Any) -> None:
        pass

    def error(self, event: str, **fields: Any) -> None:
        pass

    def warning(self, event: str, **fields: Any) -> None:
        self.warnings.append((event, fields))


def settings(url: str) -> DynamoDBConfig:
    return DynamoDBConfig(
        table_name="tuned",
        region="eu-west-1",
        endpoint_url=url,
        aws_access_key_id="AKIDTUNED",
        aws_secret_access_key="tuned-secret",
        fast_path=False,
    )


ITEM = {"pk": {"S": "a"}, "sk": {"S": "b"}, "tags": {"L": [{"S": "x"}, {"N": "1"}]}}


async def put_and_get(server: Server, records: Records) -> dict[str, Any]:
    server.answers = [answer(200, {}), answer(200, {"Item": ITEM})]
    opened = await open_client(settings(server.url), records)
    try:
        await opened.client.put_item(TableName="tuned", Item=ITEM)  # type: ignore[arg-type]
        response = await opened.client.get_item(TableName="tuned", Key={"pk": {"S": "a"}})
    finally:
        await opened.stack.aclose()
    return dict(response)


async def test_every_tuned_path_is_taken_and_nothing_is_logged(server: Server) -> None:
    records = Records()
    with (
        mock.patch.object(wire, "json_ready", wraps=wire.json_ready) as serializer_shortcut,
        mock.patch.object(
            PassThroughParser,
            "_handle_map",
            autospec=True,
            side_effect=PassThroughParser._handle_map,  # noqa: SLF001
        ) as parser_map,
        mock.patch.object(SigV4Auth, "add_auth", autospec=True) as botocore_signer,
        mock.patch.object(
            FastSigV4Auth, "add_auth", autospec=True, side_effect=FastSigV4Auth.add_auth
        ) as one_pass_signer,
    ):
        response = await put_and_get(server, records)
    assert records.warnings == []
    assert response["Item"] == ITEM
    assert serializer_shortcut.called  # AttributeValues copied, not walked
    assert parser_map.called
    assert one_pass_signer.call_count == 2
    assert not botocore_signer.called
    put, get = server.received
    assert put.headers["User-Agent"].startswith("lvrgd-common aiobotocore/")
    assert json.loads(put.body)["Item"] == ITEM
    assert "Signature=" in get.headers["Authorization"]


async def test_the_tuned_client_has_every_hook(server: Server) -> None:
    opened = await open_client(settings(server.url), Records())
    try:
        assert tuning.missing_hooks(opened.client) == []
        assert isinstance(opened.client._serializer, PassThroughSerializer)  # type: ignore[attr-defined]  # noqa: SLF001
    finally:
        await opened.stack.aclose()


async def test_missing_hooks_log_one_record_and_botocore_does_the_work(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with a botocore that moved its internals, or the CRT signer installed."""

    class OtherSigner(SigV4Auth):
        pass

    class NotTheSerializer:
        pass

    monkeypatch.setitem(botocore.auth.AUTH_TYPE_MAPS, "v4", OtherSigner)
    monkeypatch.setattr(tuning, "JSONSerializer", NotTheSerializer)
    monkeypatch.setattr(client, "tuned_session", AioSession)
    records = Records()
    response = await put_and_get(server, records)
    assert response["Item"] == ITEM  # botocore's own serializer, parser and signer
    ((message, fields),) = records.warnings
    assert "botocore tuning not applied" in message
    assert fields["missing"] == ["parser", "signer", "serializer"]
